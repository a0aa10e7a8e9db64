//! Function summaries and the context abstraction: what a function gives its caller in one
//! calling context, and how a function past its context budget is analysed once per argument
//! *shape* with placeholder labels, then instantiated at each call with the caller's labels.

use std::sync::Arc;

use super::{Engine, MAX_CALL_DEPTH, MAX_CONTEXTS_PER_FN};
use crate::graph::FnId;
use crate::taint::facts::{decode_placeholder, placeholder, PLACEHOLDER_BASE};
use crate::taint::lattice::{Label, Value, MAX_FIELD_DEPTH};
use crate::taint::Hit;

/// Field depth kept in the argument shapes of abstract summaries.
const ABSTRACT_FIELD_DEPTH: usize = 1;
/// Widened analyses of one function past [`MAX_CONTEXTS_PER_FN`] (shapes of labels only) before
/// a call falls back to the conservative summary.
const MAX_WIDENED_CONTEXTS: u32 = 8;

/// What a function gives back to its caller in one context.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The return value.
    pub ret: Value,
    /// Final values of parameters the callee may mutate (`&mut` and `&mut self`).
    pub params_out: Vec<Option<Value>>,
    /// For an abstract summary: the instance whose placeholder labels stand for the arguments.
    pub(super) instance: Option<u32>,
    /// For an abstract summary: sinks the arguments reach, with placeholder labels.
    pub(super) param_hits: Vec<Hit>,
    /// Hits carrying placeholders of enclosing abstract analyses, replayed on a memo hit.
    pub(super) nested_hits: Vec<Hit>,
}

/// A function and one calling context: the memo table's key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct MemoKey {
    pub(super) fid: FnId,
    pub(super) args: Vec<Value>,
    pub(super) guarded: bool,
}

impl<'p> Engine<'p> {
    /// Past its context budget a function is analysed once per argument *shape*: its arguments'
    /// labels are replaced by placeholders, and the summary is instantiated at each call with
    /// the caller's labels. Source-precise results without one analysis per label set.
    pub(super) fn analyze_abstract(&mut self, fid: FnId, args: &[Value], guarded: bool) -> Summary {
        let next = u32::try_from(self.instances.len()).unwrap_or(u32::MAX);
        let instance = *self.instances.entry(fid).or_insert(next);
        // Past the context limit the shapes widen instead of giving up: every argument folds
        // into its labels (no fields, no constants), so the few shapes left still carry each
        // label to the sinks inside (a hot generic wrapper every request passes through).
        let depth = if self.contexts[fid] >= MAX_CONTEXTS_PER_FN {
            0
        } else {
            ABSTRACT_FIELD_DEPTH
        };
        let abstract_args: Option<Vec<Value>> = args
            .iter()
            .enumerate()
            .map(|(i, a)| self.abstract_value(a, instance, i, depth))
            .collect();
        let Some(abstract_args) = abstract_args else {
            return conservative(args);
        };
        let key = MemoKey {
            fid,
            args: abstract_args,
            guarded: false,
        };
        let summary = if let Some(s) = self.memo.get(&key) {
            let s = s.clone();
            self.facts
                .placeholder_log
                .extend(s.nested_hits.iter().cloned());
            s
        } else {
            if self.in_progress.contains(&key)
                || self.depth >= MAX_CALL_DEPTH
                || self.contexts[fid] >= MAX_CONTEXTS_PER_FN + MAX_WIDENED_CONTEXTS
            {
                return conservative(args);
            }
            let mark = self.facts.placeholder_log.len();
            let mut s = self.run_analysis(fid, &key);
            let produced = self.facts.placeholder_log.split_off(mark);
            let (mine, others): (Vec<Hit>, Vec<Hit>) = produced.into_iter().partition(|h| {
                decode_placeholder(h.label.source).is_some_and(|(i, _, _)| i == instance)
            });
            s.instance = Some(instance);
            s.param_hits = mine;
            s.nested_hits.clone_from(&others);
            self.facts.placeholder_log.extend(others);
            self.memo.insert(key, s.clone());
            s
        };
        self.instantiate(&summary, args, guarded)
    }

    /// `v` with every label replaced by the placeholder of (instance, param, its category).
    pub(super) fn abstract_value(
        &self,
        v: &Value,
        instance: u32,
        param: usize,
        field_depth: usize,
    ) -> Option<Value> {
        let mut out = v.clone();
        // Shapes keep one level of fields: deeper taint folds into its top-level field, so the
        // number of shapes a hot function sees stays small.
        out.truncate(field_depth);
        if field_depth == 0 {
            out.text = None;
            out.endpoint = None;
        }
        self.abstract_in(&mut out, instance, param, 0)?;
        Some(out)
    }

    pub(super) fn abstract_in(
        &self,
        v: &mut Value,
        instance: u32,
        param: usize,
        depth: usize,
    ) -> Option<()> {
        if !v.labels.is_empty() {
            let mut labels = Vec::with_capacity(v.labels.len());
            for l in &v.labels {
                let source = placeholder(instance, param, self.facts.label_category(l))?;
                labels.push(Label { source, ..*l });
            }
            labels.sort();
            labels.dedup();
            v.labels = labels;
        }
        // The shape keeps what can change the callee's findings (labels, structure, kinds,
        // endpoints, URLs); other constants and flags would only multiply contexts.
        if v.text.as_deref().is_some_and(|t| !t.contains("://")) {
            v.text = None;
        }
        v.dynamic = true;
        v.consent_check = false;
        if depth < MAX_FIELD_DEPTH && !v.fields.is_empty() {
            let fields = Arc::make_mut(&mut v.fields);
            for f in fields.iter_mut().map(|(_, v)| v) {
                self.abstract_in(f, instance, param, depth + 1)?;
            }
            // A field that carries nothing the callee can report on adds nothing but contexts;
            // reading it falls back to its declared type.
            fields.retain(|_, f| !f.is_inert());
        }
        Some(())
    }

    /// An abstract summary made concrete for one call: placeholders become the arguments' labels.
    pub(super) fn instantiate(&mut self, s: &Summary, args: &[Value], guarded: bool) -> Summary {
        let Some(instance) = s.instance else {
            return s.clone();
        };
        let mut actual = ActualLabels::new(instance, args);
        let mut ret = s.ret.clone();
        self.substitute_in(&mut ret, &mut actual, 0);
        let params_out = s
            .params_out
            .iter()
            .map(|p| {
                p.as_ref().map(|v| {
                    let mut v = v.clone();
                    self.substitute_in(&mut v, &mut actual, 0);
                    v
                })
            })
            .collect();
        for h in &s.param_hits {
            let real = actual.of(&self.facts, h.label.source).unwrap_or_default();
            for l in real {
                let label = Label {
                    encrypted: l.encrypted || h.label.encrypted,
                    hashed: l.hashed || h.label.hashed,
                    ..*l
                };
                self.facts.record_hit(Hit {
                    label,
                    guarded: h.guarded || guarded,
                    ..h.clone()
                });
            }
        }
        Summary {
            ret,
            params_out,
            ..Summary::default()
        }
    }

    fn substitute_in(&self, v: &mut Value, actual: &mut ActualLabels<'_>, depth: usize) {
        if v.labels.iter().any(|l| l.source >= PLACEHOLDER_BASE) {
            let mut labels = Vec::new();
            for l in &v.labels {
                match actual.of(&self.facts, l.source) {
                    Some(real) => labels.extend(real.iter().map(|r| Label {
                        encrypted: r.encrypted || l.encrypted,
                        hashed: r.hashed || l.hashed,
                        ..*r
                    })),
                    None => labels.push(*l),
                }
            }
            labels.sort();
            labels.dedup();
            v.labels = labels;
        }
        if depth < MAX_FIELD_DEPTH && v.is_tainted() {
            for f in Arc::make_mut(&mut v.fields).iter_mut().map(|(_, v)| v) {
                self.substitute_in(f, actual, depth + 1);
            }
        }
    }
}

/// The labels each argument of one call carries, by category: what the placeholders of an
/// abstract summary stand for at that call. Each argument is flattened once per call, not once
/// per placeholder met in the summary (a summary holds the same placeholder in many fields).
struct ActualLabels<'a> {
    instance: u32,
    args: &'a [Value],
    /// `(param, category)` → the argument's labels of that category, filled on first use.
    by_param: rustc_hash::FxHashMap<(usize, usize), Vec<Label>>,
    /// Flattened labels of each argument, filled on first use.
    flat: Vec<Option<Vec<Label>>>,
}

impl<'a> ActualLabels<'a> {
    fn new(instance: u32, args: &'a [Value]) -> Self {
        ActualLabels {
            instance,
            args,
            by_param: rustc_hash::FxHashMap::default(),
            flat: vec![None; args.len()],
        }
    }

    /// The labels placeholder `source` stands for at this call; `None` for a label that is not
    /// a placeholder of this summary's instance.
    fn of(&mut self, facts: &crate::taint::facts::Facts, source: u32) -> Option<&[Label]> {
        let (i, param, category) = decode_placeholder(source)?;
        if i != self.instance {
            return None;
        }
        if param >= self.args.len() {
            return None;
        }
        if !self.by_param.contains_key(&(param, category)) {
            let flat =
                self.flat[param].get_or_insert_with(|| self.args[param].flatten(&|_, _| false));
            let of_category = flat
                .iter()
                .filter(|l| facts.label_category(l) == category)
                .copied()
                .collect();
            self.by_param.insert((param, category), of_category);
        }
        self.by_param.get(&(param, category)).map(Vec::as_slice)
    }
}

/// What an analysis that cannot go deeper assumes: the result carries every argument.
pub(super) fn conservative(args: &[Value]) -> Summary {
    let mut ret = Value::default();
    for a in args {
        ret.join_in(&a.folded());
    }
    ret.text = None;
    ret.dynamic = true;
    Summary {
        ret,
        params_out: Vec::new(),
        ..Summary::default()
    }
}
