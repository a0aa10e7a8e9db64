//! The abstract values the analysis computes, and their join.
//!
//! A [`Value`] is what the analysis knows about one Rust value: the identifier labels it may
//! carry, its fields (field-sensitive, bounded depth), its network kind and endpoint when it is a
//! network object, its user type, its constant text, and the closure it is. Values form a
//! join-semilattice ordered by "may carry more": labels and fields grow by union, facts that can
//! disagree (kind, type, text, endpoint parts) fall to unknown.
//!
//! ```text
//!            {labels ∪, fields ∪}            ← join
//!           /                    \
//!   {imei@src/a.rs:3}     {phone_number@src/b.rs:9, enc}
//!           \                    /
//!                 Value::default()           ← bottom: carries nothing
//! ```
//!
//! Every join is monotone: `a ⊑ a.join(b)`, which lets loops reach a fixpoint.

use std::sync::Arc;

use crate::findings::Transport;
use crate::ir::Name;
use crate::rules::index::KindId;

/// Deepest field nesting kept; deeper structure is folded into the labels.
pub const MAX_FIELD_DEPTH: usize = 5;

/// One identifier a value may carry: which source, and what happened to it on the way.
#[derive(Debug, Clone, Copy)]
pub struct Label {
    /// Index in the analysis' source table.
    pub source: u32,
    /// Passed an encryption call.
    pub encrypted: bool,
    /// Passed a hash.
    pub hashed: bool,
    /// Trace node of the latest hop, for the finding's path. Not part of identity.
    pub via: u32,
}

impl Label {
    fn key(&self) -> (u32, bool, bool) {
        (self.source, self.encrypted, self.hashed)
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Label {}
impl PartialOrd for Label {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Label {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}
impl std::hash::Hash for Label {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

/// Where a network object connects to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Transport, when known.
    pub transport: Option<Transport>,
    /// Host, when known.
    pub host: Option<String>,
}

/// Marks a part of a constant string the analysis does not know.
pub const UNKNOWN_TEXT: char = '\u{fffd}';

/// Fields of a value by name. A flat sorted map: most values have a handful of fields, and a
/// B-tree node is sized for eleven, which made clones of small maps the largest allocation of
/// the propagation.
pub type Fields = litemap::LiteMap<Name, Value>;

/// What the analysis knows about a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Value {
    /// Identifiers the value may carry (sorted, unique).
    pub labels: Vec<Label>,
    /// Known fields (struct fields by name, tuple elements by index).
    pub fields: Arc<Fields>,
    /// Network kind.
    pub kind: Option<KindId>,
    /// Endpoint of a network object or a configuration value (transport marker).
    pub endpoint: Option<Endpoint>,
    /// User type (last path segment), for method dispatch and serde attributes; empty when
    /// joins of different types met (use [`Value::type_name`]).
    pub ty: Option<Name>,
    /// Constant text, with [`UNKNOWN_TEXT`] for unknown parts.
    pub text: Option<String>,
    /// May hold data computed at run time; false for literal constants, which are never
    /// identifiers whatever their name says. A "may" fact: joins by `||`, bottom is false.
    pub dynamic: bool,
    /// The value is the result of a consent / opt-in check (a must-fact: joins by `&&`).
    pub consent_check: bool,
    /// Every run-time part of the value comes from the process environment (`env::var`): it
    /// is configuration, not read from the device. A must-fact over the dynamic parts: a join
    /// keeps it when each dynamic side has it (literal constants do not count); never set on a
    /// value that is not `dynamic`.
    pub env_only: bool,
    /// The channel this value is a half of (an abstract cell, one per creating call site).
    pub cell: Option<u32>,
    /// The closure this value is: (function id, closure index).
    pub closure: Option<(usize, u32)>,
}

/// Fields below this depth do not feed the hash: values are memo keys, and hashing whole trees
/// would cost more than the rare collision it avoids (equality still compares everything).
const HASH_DEPTH: usize = 2;

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.hash_to(state, HASH_DEPTH);
    }
}

impl Value {
    fn hash_to<H: std::hash::Hasher>(&self, state: &mut H, depth: usize) {
        use std::hash::Hash;
        self.labels.hash(state);
        self.kind.hash(state);
        self.ty.hash(state);
        self.text.hash(state);
        self.dynamic.hash(state);
        self.closure.hash(state);
        self.cell.hash(state);
        self.endpoint.hash(state);
        self.fields.len().hash(state);
        if depth > 0 {
            for (k, v) in self.fields.iter() {
                k.hash(state);
                v.hash_to(state, depth - 1);
            }
        }
    }

    /// Folds fields nested deeper than `depth` into their parent's labels, keeping values small
    /// whatever the program builds (a linked list built in a loop).
    pub fn truncate(&mut self, depth: usize) {
        if self.fields.is_empty() {
            return;
        }
        if depth == 0 {
            let folded = self.flatten(&|_, _| false);
            self.fields = Arc::default();
            self.add_labels(&folded);
            return;
        }
        if self.exceeds(depth) {
            for v in Arc::make_mut(&mut self.fields).iter_mut().map(|(_, v)| v) {
                v.truncate(depth - 1);
            }
        }
    }

    /// Whether fields nest deeper than `depth`; looks no deeper than that.
    fn exceeds(&self, depth: usize) -> bool {
        if self.fields.is_empty() {
            false
        } else if depth == 0 {
            true
        } else {
            self.fields.values().any(|v| v.exceeds(depth - 1))
        }
    }

    /// A string constant.
    #[must_use]
    pub fn text(s: &str) -> Value {
        Value {
            text: Some(s.to_string()),
            ..Value::default()
        }
    }

    /// Carries no label, no structure, no network object and no constant text.
    #[must_use]
    pub fn is_inert(&self) -> bool {
        self.labels.is_empty()
            && self.fields.is_empty()
            && self.kind.is_none()
            && self.endpoint.is_none()
            && self.cell.is_none()
            && self.closure.is_none()
            && self.text.is_none()
    }

    /// Carries, in itself and in every field, no label, network object, channel, closure or
    /// constant text: nothing that could make or shape a flow (a user type may remain).
    #[must_use]
    pub fn is_deeply_inert(&self) -> bool {
        self.labels.is_empty()
            && self.kind.is_none()
            && self.endpoint.is_none()
            && self.cell.is_none()
            && self.closure.is_none()
            && self.text.is_none()
            && self.fields.values().all(Value::is_deeply_inert)
    }

    /// The user type, when there is exactly one.
    #[must_use]
    pub fn type_name(&self) -> Option<&str> {
        self.ty.as_deref().filter(|t| !t.is_empty())
    }

    /// The least value: knows and carries nothing.
    #[must_use]
    pub fn is_bottom(&self) -> bool {
        *self == Value::default()
    }

    /// Whether the value carries any label, in itself or in a field.
    #[must_use]
    pub fn is_tainted(&self) -> bool {
        !self.labels.is_empty() || self.fields.values().any(Value::is_tainted)
    }

    /// Adds a label (keeps the list sorted and unique; the first `via` wins).
    pub fn add_label(&mut self, label: Label) {
        if let Err(pos) = self.labels.binary_search(&label) {
            self.labels.insert(pos, label);
        }
    }

    /// Adds labels.
    pub fn add_labels(&mut self, labels: &[Label]) {
        for l in labels {
            self.add_label(*l);
        }
    }

    /// All labels, fields included, except fields `skip` says to leave out.
    #[must_use]
    pub fn flatten(&self, skip: &dyn Fn(&Value, &str) -> bool) -> Vec<Label> {
        let mut out = Vec::new();
        self.flatten_into(skip, &mut out, 0);
        out.sort();
        out.dedup();
        out
    }

    fn flatten_into(
        &self,
        skip: &dyn Fn(&Value, &str) -> bool,
        out: &mut Vec<Label>,
        depth: usize,
    ) {
        out.extend(self.labels.iter().copied());
        if depth > MAX_FIELD_DEPTH {
            return;
        }
        for (name, v) in self.fields.iter() {
            if !skip(self, name) {
                v.flatten_into(skip, out, depth + 1);
            }
        }
    }

    /// Only the data: labels and fields, no kind, type, text or closure.
    #[must_use]
    pub fn data_only(&self) -> Value {
        Value {
            labels: self.labels.clone(),
            fields: if self.fields.is_empty() {
                Arc::clone(&self.fields)
            } else {
                Arc::new(
                    self.fields
                        .iter()
                        .map(|(k, v)| (*k, v.data_only()))
                        .collect(),
                )
            },
            dynamic: self.dynamic,
            env_only: self.env_only,
            ..Value::default()
        }
    }

    /// Folds every field into the labels (for values whose structure is lost).
    #[must_use]
    pub fn folded(&self) -> Value {
        let mut v = Value {
            labels: self.flatten(&|_, _| false),
            dynamic: self.dynamic,
            env_only: self.env_only,
            ..Value::default()
        };
        v.text.clone_from(&self.text);
        v
    }

    /// The value of field `name`: its own entry joined with the labels of the whole.
    ///
    /// A field the analysis has no entry for is unknown data, never a constant: the value may
    /// be of another type than the code the analysis saw built it (a joined `Ok`/`Err`, an
    /// element of a collection), and constants are only what the code literally writes. Only
    /// a literal text (a constant string has no fields) keeps its fields constant.
    #[must_use]
    pub fn field(&self, name: &str) -> Value {
        let mut v = self.fields.get(name).cloned().unwrap_or_else(|| Value {
            dynamic: self.dynamic || self.text.is_none(),
            env_only: self.env_only,
            ..Value::default()
        });
        v.add_labels(&self.labels);
        v
    }

    /// Least upper bound.
    #[must_use]
    pub fn join(&self, other: &Value) -> Value {
        let mut out = self.clone();
        out.join_in(other);
        out
    }

    /// Joins `other` into `self`; returns whether `self` changed.
    pub fn join_in(&mut self, other: &Value) -> bool {
        self.join_depth(other, 0)
    }

    fn join_depth(&mut self, other: &Value, depth: usize) -> bool {
        if self == other || other.is_bottom() {
            return false;
        }
        if self.is_bottom() {
            *self = other.clone();
            return true;
        }
        let before = self.clone();
        self.add_labels(&other.labels);
        if depth >= MAX_FIELD_DEPTH {
            let folded = other.flatten(&|_, _| false);
            self.add_labels(&folded);
        } else {
            if other.fields.is_empty() {
                // nothing to add
            } else if self.fields.is_empty() {
                self.fields = Arc::clone(&other.fields);
            } else if !Arc::ptr_eq(&self.fields, &other.fields) {
                let fields = Arc::make_mut(&mut self.fields);
                for (k, v) in other.fields.iter() {
                    match fields.get_mut(k) {
                        Some(mine) => {
                            mine.join_depth(v, depth + 1);
                        }
                        None => {
                            fields.insert(*k, v.clone());
                        }
                    }
                }
            }
        }
        self.kind = flat(self.kind, other.kind, CONFLICT_KIND);
        self.ty = flat_ref(self.ty.take(), other.ty.as_ref());
        self.closure = self.closure.or(other.closure);
        self.cell = flat(self.cell, other.cell, u32::MAX);
        self.env_only = (self.env_only || !self.dynamic) && (other.env_only || !other.dynamic);
        self.dynamic = self.dynamic || other.dynamic;
        self.env_only = self.env_only && self.dynamic;
        self.consent_check = self.consent_check && other.consent_check;
        self.text = match (&self.text, &other.text) {
            (Some(a), Some(b)) if a == b => Some(a.clone()),
            _ => None,
        };
        self.endpoint = match (self.endpoint.take(), &other.endpoint) {
            (Some(a), Some(b)) => Some(Endpoint {
                transport: flat(a.transport, b.transport, Transport::Unknown),
                host: flat_ref(a.host, b.host.as_ref()),
            }),
            (a, b) => a.or_else(|| b.clone()),
        };
        *self != before
    }
}

/// A kind that stands for "several kinds": joins of different kinds end here and stay here.
pub const CONFLICT_KIND: KindId = KindId::MAX;

/// Join in a flat lattice: unset < one value < conflict (absorbing), so loops converge.
fn flat<T: PartialEq + Copy>(a: Option<T>, b: Option<T>, conflict: T) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) if x != y => Some(conflict),
        (x, y) => x.or(y),
    }
}

/// [`flat`] for names; the empty name is the conflict.
fn flat_ref<T: PartialEq + Clone + Default>(a: Option<T>, b: Option<&T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) if &x != y => Some(T::default()),
        (x, y) => x.or_else(|| y.cloned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(source: u32) -> Label {
        Label {
            source,
            encrypted: false,
            hashed: false,
            via: 0,
        }
    }

    /// Join is an upper bound of both sides and idempotent.
    #[test]
    fn join_is_upper_bound() {
        let mut a = Value::default();
        a.add_label(label(1));
        let mut b = Value::default();
        Arc::make_mut(&mut b.fields).insert(
            "imei".into(),
            Value {
                labels: vec![label(2)],
                ..Value::default()
            },
        );
        let j = a.join(&b);
        assert_eq!(j.labels, vec![label(1)]);
        assert_eq!(j.fields.get("imei").expect("field").labels, vec![label(2)]);
        assert_eq!(j.join(&j), j);
        let mut c = j.clone();
        assert!(!c.join_in(&a));
    }

    /// Disagreeing constant texts fall to unknown.
    #[test]
    fn texts_disagree_to_unknown() {
        let j = Value::text("https://a").join(&Value::text("https://b"));
        assert_eq!(j.text, None);
    }
}
