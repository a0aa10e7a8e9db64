//! The facts the propagation accumulates: the source table, the trace nodes, the hits, the
//! contents of channels, and the heap: what the fields of each program type may hold.
//!
//! These only ever grow, whatever function or context the driver is in, so they live apart from
//! the driver's own bookkeeping (memo table, context counters, call stack): [`super::transfer`]
//! writes library effects here without seeing the engine, and a second run (when channels grew)
//! starts from the first run's facts.
//!
//! Source ids share one space with placeholders: ids at or above `PLACEHOLDER_BASE` stand for
//! "whatever argument `i` carries" in an abstract summary (see `engine::summary`).

use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::lattice::{Label, Value};
use super::{Hit, Source, TraceNode, NO_TRACE};
use crate::graph::{FnId, Program};
use crate::ir::{Name, Pat, Span};
use crate::rules::index::RuleIndex;

/// Labels at or above this source id are placeholders: "whatever argument `i` carries" in an
/// abstract summary. Encoded as `base + (instance * 64 + param) * 64 + category`.
pub(super) const PLACEHOLDER_BASE: u32 = 1 << 31;
const PLACEHOLDER_SLOTS: u32 = 64;

/// The placeholder label id of (instance, param, category); `None` past the encodable range.
pub(super) fn placeholder(instance: u32, param: usize, category: usize) -> Option<u32> {
    let param = u32::try_from(param)
        .ok()
        .filter(|p| *p < PLACEHOLDER_SLOTS)?;
    let category = u32::try_from(category)
        .ok()
        .filter(|c| *c < PLACEHOLDER_SLOTS)?;
    let slot = instance
        .checked_mul(PLACEHOLDER_SLOTS)?
        .checked_add(param)?;
    slot.checked_mul(PLACEHOLDER_SLOTS)?
        .checked_add(category)?
        .checked_add(PLACEHOLDER_BASE)
}

/// (instance, param, category) of a placeholder label.
pub(super) fn decode_placeholder(source: u32) -> Option<(u32, usize, usize)> {
    let rest = source.checked_sub(PLACEHOLDER_BASE)?;
    let category = (rest % PLACEHOLDER_SLOTS) as usize;
    let slot = rest / PLACEHOLDER_SLOTS;
    Some((
        slot / PLACEHOLDER_SLOTS,
        (slot % PLACEHOLDER_SLOTS) as usize,
        category,
    ))
}

/// Identity of a hit for de-duplication.
type HitKey = (
    u32,
    bool,
    bool,
    usize,
    usize,
    Span,
    bool,
    crate::findings::Transport,
    Option<String>,
);

/// Everything the analysis has found so far.
#[derive(Default)]
pub struct Facts {
    /// Sources by id.
    pub(super) sources: Vec<Source>,
    source_ids: HashMap<(usize, usize, Span), u32>,
    /// Trace nodes.
    pub(super) traces: Vec<TraceNode>,
    /// Hits in analysis order, each once.
    pub(super) hits: Vec<Hit>,
    hit_keys: HashSet<HitKey>,
    /// Hits with placeholder labels, for the enclosing abstract analyses to claim.
    pub(super) placeholder_log: Vec<Hit>,
    /// Channel cells by creation site.
    cell_sites: HashMap<(usize, Span), u32>,
    /// What each channel may hold.
    cells: HashMap<u32, Value>,
    /// A channel grew after it was read: another run is needed.
    pub(super) cells_grew: bool,
    /// Channels read so far.
    cells_read: HashSet<u32>,
    /// What field `.1` of values of program type `.0` may hold anywhere in the program: a
    /// field-based heap, so a value stored by one method (`new`, a setter, `setup(&mut
    /// options)`) is seen by another that reads the field with no caller linking the two.
    heap: HashMap<(Name, Name), Value>,
    /// Heap slots read so far.
    heap_read: HashSet<(Name, Name)>,
    /// Trace nodes by (label identity, file, span, note): the first time a label takes a hop,
    /// it gets a node whose parent is the hop it came from; taken again (from another calling
    /// context, another path, or a later run) it reuses that node. The trace table grows with
    /// the hops each source takes, not with the number of paths (on a tree where identifiers
    /// flow everywhere, paths are millions, hops a few hundred thousand). A flow's path is then
    /// the chain of first arrivals: every link is a hop its source really took.
    trace_ids: HashMap<TraceKey, u32>,
    /// Hops taken by labels in this run (a debugging counter).
    pub(super) hops: u64,
    /// The distinct trace notes, each stored once; [`NoteId`] indexes it.
    notes: Vec<Arc<str>>,
    note_ids: HashMap<Arc<str>, NoteId>,
    /// What the program's own call sites pass to each parameter: a parameter that only ever
    /// receives environment values is configuration, whatever its name says.
    param_feeds: HashMap<(FnId, usize), ParamFeed>,
    /// Calls nothing explains that received a tainted argument, each once.
    pub(super) unexplained: HashSet<Unexplained>,
}

/// What the call sites of the program pass to one parameter.
#[derive(Debug, Default, Clone, Copy)]
struct ParamFeed {
    /// Some call passes a value read only from the process environment.
    environment: bool,
    /// Some call passes another run-time value.
    other: bool,
}

/// A call that resolves to no program function and no rule, with a tainted argument: where an
/// identifier may leave the program unseen. `scan` keeps those that a network library the
/// rule pack does not model may explain (the edge-of-model findings).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unexplained {
    /// File index of the call.
    pub file: usize,
    /// The call's name or method name.
    pub span: Span,
    /// Enclosing function.
    pub func: FnId,
    /// The call as the code names it: `reqwest_websocket::connect`, `WebSocket::send`, or
    /// `.send()` on a value of unknown type.
    pub call: String,
    /// The first segment of a path call into another crate (`reqwest_websocket`), `None` for a
    /// method call.
    pub library: Option<String>,
    /// The source of a tainted argument (one real label; placeholders are left out).
    pub source: u32,
}

/// What identifies a trace node: the label's source and protections, the site and the note.
type TraceKey = (u32, bool, bool, usize, Span, NoteId);

/// An interned trace note (see [`Facts::note`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct NoteId(u32);

impl Facts {
    /// What a later run starts from: the channel contents, and the source and trace tables, so
    /// the labels stored in the channels keep their meaning.
    pub(super) fn carried_over(self) -> Facts {
        Facts {
            cells: self.cells,
            cell_sites: self.cell_sites,
            heap: self.heap,
            sources: self.sources,
            source_ids: self.source_ids,
            traces: self.traces,
            trace_ids: self.trace_ids,
            notes: self.notes,
            note_ids: self.note_ids,
            param_feeds: self.param_feeds,
            ..Facts::default()
        }
    }

    /// Notes what a call of the program passes to the parameters of `fid`.
    pub(super) fn note_call_args(&mut self, fid: FnId, args: &[Value]) {
        for (i, arg) in args.iter().enumerate().filter(|(_, a)| a.dynamic) {
            let feed = self.param_feeds.entry((fid, i)).or_default();
            if arg.env_only {
                feed.environment = true;
            } else {
                feed.other = true;
            }
        }
    }

    /// Records a call nothing explains, once per (call site, source) of its tainted arguments.
    pub(super) fn unexplained_call(&mut self, site: Unexplained, args: &[Value]) {
        for a in args.iter().filter(|a| a.is_tainted()) {
            for label in a.flatten(&|_, _| false) {
                if label.source < PLACEHOLDER_BASE {
                    self.unexplained.insert(Unexplained {
                        source: label.source,
                        ..site.clone()
                    });
                }
            }
        }
    }

    /// Drops the hits whose source is a parameter that a `not_from: [environment]` name rule
    /// names and that every call of the program fills from the environment: a public
    /// `new(.., machine_id: String)` whose only caller passes `env::var("MACHINE_ID")` takes
    /// a configured server-side id, not one read from the device. Done once all runs are over,
    /// because the call that says so may be analysed after the function's own entry-point run.
    pub(super) fn drop_hits_from_configured_params(&mut self, prog: &Program, rules: &RuleIndex) {
        let mut hits = std::mem::take(&mut self.hits);
        hits.retain(|h| !self.source_is_configured_param(h.label.source, prog, rules));
        self.hits = hits;
    }

    fn source_is_configured_param(&self, source: u32, prog: &Program, rules: &RuleIndex) -> bool {
        let Some(src) = self.sources.get(source as usize) else {
            return false;
        };
        if !rules.name_rule_not_from_env(src.rule) {
            return false;
        }
        let params = &prog.func(src.func).params;
        let Some(i) = params
            .iter()
            .position(|p| matches!(&p.pat, Pat::Bind { span, .. } if *span == src.span))
        else {
            return false;
        };
        self.param_feeds
            .get(&(src.func, i))
            .is_some_and(|f| f.environment && !f.other)
    }

    /// A label for a fresh (or known) source occurrence.
    pub(super) fn new_label(
        &mut self,
        rules: &RuleIndex,
        rule: usize,
        file: usize,
        span: Span,
        fid: FnId,
    ) -> Label {
        let category = rules.source_category(rule);
        let next = u32::try_from(self.sources.len()).unwrap_or(u32::MAX);
        let id = *self.source_ids.entry((rule, file, span)).or_insert(next);
        if id == next {
            self.sources.push(Source {
                rule,
                category,
                file,
                span,
                func: fid,
                trace: NO_TRACE,
            });
            self.traces.push(TraceNode {
                parent: NO_TRACE,
                file,
                span,
                note: format!("source: {}", rules.raw.sources[rule].id).into(),
            });
            self.sources.last_mut().expect("just pushed").trace =
                u32::try_from(self.traces.len() - 1).unwrap_or(NO_TRACE);
        }
        let trace = self.sources[id as usize].trace;
        Label {
            source: id,
            encrypted: false,
            hashed: false,
            via: trace,
        }
    }

    /// The category of a label, placeholders included.
    pub(super) fn label_category(&self, l: &Label) -> usize {
        match decode_placeholder(l.source) {
            Some((_, _, category)) => category,
            None => self.sources[l.source as usize].category,
        }
    }

    /// Records a hit: placeholder hits go to the enclosing abstract analysis, the rest are kept
    /// once each.
    pub(super) fn record_hit(&mut self, hit: Hit) {
        if hit.label.source >= PLACEHOLDER_BASE {
            self.placeholder_log.push(hit);
            return;
        }
        let key: HitKey = (
            hit.label.source,
            hit.label.encrypted,
            hit.label.hashed,
            hit.sink_rule,
            hit.file,
            hit.span,
            hit.guarded,
            hit.transport,
            hit.host.clone(),
        );
        if self.hit_keys.insert(key) {
            self.hits.push(hit);
        }
    }

    /// The id of a trace note, interned: one retagging of a value labels every hop with the same
    /// note, so the note is looked up once, not once per label.
    pub(super) fn note(&mut self, note: &str) -> NoteId {
        if let Some(&id) = self.note_ids.get(note) {
            return id;
        }
        let id = NoteId(u32::try_from(self.notes.len()).unwrap_or(u32::MAX));
        let note: Arc<str> = note.into();
        self.notes.push(Arc::clone(&note));
        self.note_ids.insert(note, id);
        id
    }

    /// The trace node of `label` taking a hop at `span`: the existing one when this label took
    /// this hop before, else a new one whose parent is the label's latest hop.
    pub(super) fn trace_node(
        &mut self,
        label: &Label,
        file: usize,
        span: Span,
        note: NoteId,
    ) -> u32 {
        self.hops += 1;
        let key = (
            label.source,
            label.encrypted,
            label.hashed,
            file,
            span,
            note,
        );
        let next = u32::try_from(self.traces.len()).unwrap_or(NO_TRACE);
        let id = *self.trace_ids.entry(key).or_insert(next);
        if id == next {
            self.traces.push(TraceNode {
                parent: label.via,
                file,
                span,
                note: Arc::clone(&self.notes[note.0 as usize]),
            });
        }
        id
    }

    /// The abstract cell of the channel created at a call site.
    pub(super) fn cell_at(&mut self, file: usize, span: Span) -> u32 {
        let next = u32::try_from(self.cell_sites.len()).unwrap_or(u32::MAX - 1);
        *self.cell_sites.entry((file, span)).or_insert(next)
    }

    /// Joins `data` into a channel's contents.
    pub(super) fn store_cell(&mut self, cell: u32, data: &Value) {
        let slot = self.cells.entry(cell).or_default();
        // Only a channel read before it grew was read too early and calls for another run.
        if slot.join_in(data) && self.cells_read.contains(&cell) {
            self.cells_grew = true;
        }
    }

    /// What a channel may hold.
    pub(super) fn load_cell(&mut self, cell: u32) -> Value {
        self.cells_read.insert(cell);
        self.cells.get(&cell).cloned().unwrap_or_default()
    }

    /// Joins what is stored into field `field` of a value of type `ty` into the heap. Only what
    /// can make or shape a flow is kept (identifiers, network objects, channels, closures,
    /// endpoints), and only concrete labels: a placeholder means an argument of one abstract
    /// analysis and has no meaning elsewhere.
    pub(super) fn store_heap(&mut self, ty: Name, field: Name, data: &Value) {
        // Most stored values carry nothing worth keeping: decide before copying.
        if !carries_flow(data) {
            return;
        }
        let data = concrete(data);
        if !carries_flow(&data) {
            return;
        }
        let key = (ty, field);
        let slot = self.heap.entry(key).or_default();
        if slot.join_in(&data) && self.heap_read.contains(&key) {
            self.cells_grew = true;
        }
    }

    /// Whether some field of the heap holds an identifier.
    pub(super) fn heap_tainted(&self) -> bool {
        self.heap.values().any(Value::is_tainted)
    }

    /// What field `field` of a value of type `ty` may hold, as stored anywhere so far.
    pub(super) fn load_heap(&mut self, ty: Name, field: Name) -> Option<Value> {
        let key = (ty, field);
        self.heap_read.insert(key);
        self.heap.get(&key).cloned()
    }
}

/// `v` without placeholder labels.
fn concrete(v: &Value) -> Value {
    let mut out = v.clone();
    strip_placeholders(&mut out, 0);
    out
}

fn strip_placeholders(v: &mut Value, depth: usize) {
    v.labels.retain(|l| l.source < PLACEHOLDER_BASE);
    if depth < super::lattice::MAX_FIELD_DEPTH && !v.fields.is_empty() {
        for (_, f) in Arc::make_mut(&mut v.fields).iter_mut() {
            strip_placeholders(f, depth + 1);
        }
    }
}

/// Whether a stored value can make or shape a flow where it is read.
fn carries_flow(v: &Value) -> bool {
    !v.labels.is_empty()
        || v.kind.is_some()
        || v.endpoint.is_some()
        || v.cell.is_some()
        || v.closure.is_some()
        || v.fields.values().any(carries_flow)
}
