//! The driver: abstract interpretation of the IR, one function and calling context at a time.
//!
//! Each function is analysed once per distinct abstract calling context (argument values and
//! whether the call is under a consent guard); the result ([`Summary`]: return value and the
//! final values of `&mut` parameters) is memoised, so a helper called a thousand times with
//! clean arguments costs one analysis. Environments are flow-sensitive: branches are analysed
//! separately and joined, loops are iterated until their environment stops growing (joins are
//! monotone and values have bounded depth, so this terminates), `let` shadowing and overwrites
//! are strong updates. Call effects of library functions come from the rule pack ([`transfer`]).
//!
//! [`transfer`]: super::transfer

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use super::lattice::{Label, Value, MAX_FIELD_DEPTH};
use super::{Hit, Source, TraceNode, NO_TRACE};
use crate::graph::{Ctx, FnId, Program};
use crate::ir::{BinOp, Block, Expr, FnIr, Name, Pat, Span, Stmt, TypeIr};
use crate::rules::index::{NameSite, RuleIndex};

/// Analyses of one function beyond this many distinct contexts fall back to a conservative
/// summary, bounding the cost of hot helpers.
const MAX_CONTEXTS_PER_FN: u32 = 16;
/// Distinct calling contexts a function is analysed in before its contexts are widened into one.
const CONTEXT_BUDGET: u32 = 6;
/// A method call on a receiver of unknown type dispatches to at most this many program methods
/// of that name; more means the name is too common to tell.
const MAX_UNTYPED_DISPATCH: usize = 8;
/// Field depth kept in the argument shapes of abstract summaries.
const ABSTRACT_FIELD_DEPTH: usize = 1;
/// Closure index that stands for the function itself (a function item used as a value).
const FN_ITEM: u32 = u32::MAX;
/// Deepest call chain analysed context-sensitively.
const MAX_CALL_DEPTH: usize = 48;
/// Loop bodies are re-analysed at most this many times before the environment is widened.
const MAX_LOOP_ROUNDS: usize = 4;

/// Wrapper types looked through when a type annotation gives a value its kind or user type.
const WRAPPER_TYPES: &[&str] = &[
    "Option",
    "Result",
    "Box",
    "Arc",
    "Rc",
    "Mutex",
    "RwLock",
    "RefCell",
    "Cell",
    "Pin",
    "Cow",
    "Vec",
    "VecDeque",
    "MutexGuard",
    "Weak",
    "ManuallyDrop",
    "io",
    "Self_",
];

/// What a function gives back to its caller in one context.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The return value.
    pub ret: Value,
    /// Final values of parameters the callee may mutate (`&mut` and `&mut self`).
    pub params_out: Vec<Option<Value>>,
    /// For an abstract summary: the instance whose placeholder labels stand for the arguments.
    instance: Option<u32>,
    /// For an abstract summary: sinks the arguments reach, with placeholder labels.
    param_hits: Vec<Hit>,
    /// Hits carrying placeholders of enclosing abstract analyses, replayed on a memo hit.
    nested_hits: Vec<Hit>,
}

/// Labels at or above this source id are placeholders: "whatever argument `i` carries" in an
/// abstract summary. Encoded as `base + (instance * 64 + param) * 64 + category`.
const PLACEHOLDER_BASE: u32 = 1 << 31;
const PLACEHOLDER_SLOTS: u32 = 64;

fn placeholder(instance: u32, param: usize, category: usize) -> Option<u32> {
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
fn decode_placeholder(source: u32) -> Option<(u32, usize, usize)> {
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

#[derive(Clone, PartialEq, Eq, Hash)]
struct MemoKey {
    fid: FnId,
    args: Vec<Value>,
    guarded: bool,
}

/// The flow-sensitive state inside a function.
#[derive(Debug, Clone, PartialEq)]
struct Env {
    vars: Vars,
    /// The current point is reached only under a consent guard.
    guarded: bool,
    /// The current point is reachable (false after `return`, `break`).
    live: bool,
}

impl Env {
    fn join(a: &Env, b: &Env) -> Env {
        match (a.live, b.live) {
            (true, false) => return a.clone(),
            (false, true) => return b.clone(),
            _ => {}
        }
        let mut vars = a.vars.clone();
        for (k, v) in &b.vars {
            match vars.get_mut(k) {
                Some(mine) => {
                    mine.join_in(v);
                }
                None => {
                    vars.insert(*k, v.clone());
                }
            }
        }
        Env {
            vars,
            guarded: a.guarded && b.guarded,
            live: a.live || b.live,
        }
    }
}

/// Local variables by name (a flat sorted map, see [`super::lattice::Fields`]).
type Vars = litemap::LiteMap<Name, Value>;

struct Frame<'p> {
    fid: FnId,
    f: &'p FnIr,
    ctx: Ctx,
    krate: usize,
    ret: Value,
    loop_exits: Vec<Vec<Env>>,
}

/// The analysis state shared by every function and context.
pub struct Engine<'p> {
    pub(super) prog: &'p Program,
    pub(super) rules: &'p RuleIndex,
    pub(super) sources: Vec<Source>,
    source_ids: HashMap<(usize, usize, Span), u32>,
    pub(super) traces: Vec<TraceNode>,
    pub(super) hits: Vec<Hit>,
    memo: HashMap<MemoKey, Summary>,
    instances: HashMap<FnId, u32>,
    cell_sites: HashMap<(usize, Span), u32>,
    pub(super) cells: HashMap<u32, Value>,
    pub(super) cells_grew: bool,
    /// Channels read so far.
    cells_read: HashSet<u32>,
    placeholder_log: Vec<Hit>,
    hit_keys: HashSet<HitKey>,
    trace_analyses: bool,
    in_progress: HashSet<MemoKey>,
    contexts: Vec<u32>,
    pub(super) analyzed: Vec<bool>,
    depth: usize,
    active_closures: Vec<(FnId, u32)>,
    /// Functions that can matter to a flow, and those that can reach a source (see
    /// [`super::relevance`]).
    relevance: Arc<super::relevance::Relevance>,
    /// The environment each closure was last created in, for calls from other functions.
    captures: HashMap<(FnId, u32), Vars>,
    consts: HashMap<(usize, u32, Name), Value>,
    /// Time per function, exclusive of callees (debugging aid behind `IDFLOW_DEBUG`).
    profile: Option<Profile>,
}

/// Exclusive analysis time per function.
#[derive(Default)]
struct Profile {
    exclusive: HashMap<FnId, (std::time::Duration, u32)>,
    /// Inclusive time of the callees of each open analysis, to subtract.
    children: Vec<std::time::Duration>,
}

impl Profile {
    fn record(&mut self, fid: FnId, inclusive: std::time::Duration) {
        let children = self.children.pop().unwrap_or_default();
        if let Some(parent) = self.children.last_mut() {
            *parent += inclusive;
        }
        let e = self.exclusive.entry(fid).or_default();
        e.0 += inclusive.saturating_sub(children);
        e.1 += 1;
    }
}

impl<'p> Engine<'p> {
    /// A fresh engine over `prog`.
    pub fn new(
        prog: &'p Program,
        rules: &'p RuleIndex,
        relevance: Arc<super::relevance::Relevance>,
    ) -> Engine<'p> {
        Engine {
            prog,
            rules,
            sources: Vec::new(),
            source_ids: HashMap::default(),
            traces: Vec::new(),
            hits: Vec::new(),
            memo: HashMap::default(),
            instances: HashMap::default(),
            cell_sites: HashMap::default(),
            cells: HashMap::default(),
            cells_grew: false,
            cells_read: HashSet::default(),
            placeholder_log: Vec::new(),
            hit_keys: HashSet::default(),
            trace_analyses: std::env::var_os("IDFLOW_TRACE").is_some(),
            in_progress: HashSet::default(),
            contexts: vec![0; prog.fns.len()],
            analyzed: vec![false; prog.fns.len()],
            depth: 0,
            active_closures: Vec::new(),
            relevance,
            captures: HashMap::default(),
            consts: HashMap::default(),
            profile: std::env::var_os("IDFLOW_DEBUG")
                .is_some()
                .then(Profile::default),
        }
    }

    /// Analyses every root (functions nobody calls), then every function no root reached, each
    /// with unknown arguments; only those that can reach a source, as no other can start a flow.
    pub fn run(&mut self) {
        for fid in self.prog.roots() {
            if self.relevance.reaches_source[fid] {
                self.analyze_root(fid);
            }
        }
        for fid in 0..self.prog.fns.len() {
            if !self.analyzed[fid] && self.relevance.reaches_source[fid] {
                self.analyze_root(fid);
            }
        }
    }

    /// Prints counters (debugging aid behind `IDFLOW_DEBUG`).
    #[allow(clippy::print_stderr)]
    pub fn debug_stats(&self) {
        let mut per_fn: Vec<(u32, FnId)> = self.contexts.iter().copied().zip(0..).collect();
        per_fn.sort_unstable_by(|a, b| b.cmp(a));
        eprintln!(
            "analyses={} memo={} traces={} hits={} sources={}",
            self.contexts.iter().map(|c| u64::from(*c)).sum::<u64>(),
            self.memo.len(),
            self.traces.len(),
            self.hits.len(),
            self.sources.len()
        );
        for (n, fid) in per_fn.iter().take(8) {
            eprintln!("  {n} contexts: {}", self.prog.func(*fid).name);
        }
        if let Some(p) = &self.profile {
            let mut by_time: Vec<_> = p.exclusive.iter().collect();
            by_time.sort_by_key(|e| std::cmp::Reverse(e.1 .0));
            let total: std::time::Duration = by_time.iter().map(|e| e.1 .0).sum();
            eprintln!("exclusive analysis time {total:.2?}; slowest functions:");
            for (fid, (t, n)) in by_time.iter().take(25) {
                let info = &self.prog.fns[**fid];
                eprintln!(
                    "  {t:>10.2?} {n:>3}x {} ({})",
                    self.prog.func(**fid).name,
                    self.prog.files[info.file].source.rel
                );
            }
        }
    }

    fn analyze_root(&mut self, fid: FnId) {
        let unknown = Value {
            dynamic: true,
            ..Value::default()
        };
        let args = vec![unknown; self.prog.func(fid).params.len()];
        self.analyze_fn(fid, args, false);
    }

    /// Analyses `fid` in one calling context, memoised.
    pub fn analyze_fn(&mut self, fid: FnId, mut args: Vec<Value>, guarded: bool) -> Summary {
        for a in &mut args {
            a.truncate(MAX_FIELD_DEPTH);
        }
        let key = MemoKey { fid, args, guarded };
        if let Some(s) = self.memo.get(&key) {
            let s = s.clone();
            self.placeholder_log.extend(s.nested_hits.iter().cloned());
            return s;
        }
        if self.contexts[fid] >= CONTEXT_BUDGET {
            return self.analyze_abstract(fid, &key.args, key.guarded);
        }
        if self.in_progress.contains(&key)
            || self.depth >= MAX_CALL_DEPTH
            || self.contexts[fid] >= MAX_CONTEXTS_PER_FN
        {
            return conservative(&key.args);
        }
        let mark = self.placeholder_log.len();
        let mut summary = self.run_analysis(fid, &key);
        summary.nested_hits = self.placeholder_log[mark..].to_vec();
        self.memo.insert(key, summary.clone());
        summary
    }

    fn run_analysis(&mut self, fid: FnId, key: &MemoKey) -> Summary {
        self.contexts[fid] += 1;
        if self.trace_analyses {
            eprintln!(
                "analyze {} #{} depth {} guarded {} args {:?}",
                self.prog.func(fid).name,
                self.contexts[fid],
                self.depth,
                key.guarded,
                key.args
            );
        }
        self.analyzed[fid] = true;
        self.in_progress.insert(key.clone());
        self.depth += 1;
        let started = self.profile.as_mut().map(|p| {
            p.children.push(std::time::Duration::ZERO);
            std::time::Instant::now()
        });
        let summary = self.interpret(fid, &key.args, key.guarded);
        if let (Some(p), Some(t)) = (self.profile.as_mut(), started) {
            p.record(fid, t.elapsed());
        }
        self.depth -= 1;
        self.in_progress.remove(key);
        summary
    }

    /// Past its context budget a function is analysed once per argument *shape*: its arguments'
    /// labels are replaced by placeholders, and the summary is instantiated at each call with
    /// the caller's labels. Source-precise results without one analysis per label set.
    fn analyze_abstract(&mut self, fid: FnId, args: &[Value], guarded: bool) -> Summary {
        let next = u32::try_from(self.instances.len()).unwrap_or(u32::MAX);
        let instance = *self.instances.entry(fid).or_insert(next);
        let abstract_args: Option<Vec<Value>> = args
            .iter()
            .enumerate()
            .map(|(i, a)| self.abstract_value(a, instance, i))
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
            self.placeholder_log.extend(s.nested_hits.iter().cloned());
            s
        } else {
            if self.in_progress.contains(&key)
                || self.depth >= MAX_CALL_DEPTH
                || self.contexts[fid] >= MAX_CONTEXTS_PER_FN
            {
                return conservative(args);
            }
            let mark = self.placeholder_log.len();
            let mut s = self.run_analysis(fid, &key);
            let produced = self.placeholder_log.split_off(mark);
            let (mine, others): (Vec<Hit>, Vec<Hit>) = produced.into_iter().partition(|h| {
                decode_placeholder(h.label.source).is_some_and(|(i, _, _)| i == instance)
            });
            s.instance = Some(instance);
            s.param_hits = mine;
            s.nested_hits.clone_from(&others);
            self.placeholder_log.extend(others);
            self.memo.insert(key, s.clone());
            s
        };
        self.instantiate(&summary, args, guarded)
    }

    /// `v` with every label replaced by the placeholder of (instance, param, its category).
    fn abstract_value(&self, v: &Value, instance: u32, param: usize) -> Option<Value> {
        let mut out = v.clone();
        // Shapes keep one level of fields: deeper taint folds into its top-level field, so the
        // number of shapes a hot function sees stays small.
        out.truncate(ABSTRACT_FIELD_DEPTH);
        self.abstract_in(&mut out, instance, param, 0)?;
        Some(out)
    }

    fn abstract_in(&self, v: &mut Value, instance: u32, param: usize, depth: usize) -> Option<()> {
        if !v.labels.is_empty() {
            let mut labels = Vec::with_capacity(v.labels.len());
            for l in &v.labels {
                let source = placeholder(instance, param, self.label_category(l))?;
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

    /// The labels argument `param` of this call carries in `category`, for placeholder `source`
    /// of `instance`; `None` for any other label.
    fn actual_labels(&self, source: u32, instance: u32, args: &[Value]) -> Option<Vec<Label>> {
        let (i, param, category) = decode_placeholder(source)?;
        if i != instance {
            return None;
        }
        let arg = args.get(param)?;
        Some(
            arg.flatten(&|_, _| false)
                .into_iter()
                .filter(|l| self.label_category(l) == category)
                .collect(),
        )
    }

    /// An abstract summary made concrete for one call: placeholders become the arguments' labels.
    fn instantiate(&mut self, s: &Summary, args: &[Value], guarded: bool) -> Summary {
        let Some(instance) = s.instance else {
            return s.clone();
        };
        let mut ret = s.ret.clone();
        self.substitute_in(&mut ret, instance, args, 0);
        let params_out = s
            .params_out
            .iter()
            .map(|p| {
                p.as_ref().map(|v| {
                    let mut v = v.clone();
                    self.substitute_in(&mut v, instance, args, 0);
                    v
                })
            })
            .collect();
        for h in &s.param_hits {
            for l in self
                .actual_labels(h.label.source, instance, args)
                .unwrap_or_default()
            {
                let label = Label {
                    encrypted: l.encrypted || h.label.encrypted,
                    hashed: l.hashed || h.label.hashed,
                    ..l
                };
                self.record_hit(Hit {
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

    fn substitute_in(&self, v: &mut Value, instance: u32, args: &[Value], depth: usize) {
        if v.labels.iter().any(|l| l.source >= PLACEHOLDER_BASE) {
            let mut labels = Vec::new();
            for l in &v.labels {
                match self.actual_labels(l.source, instance, args) {
                    Some(real) => labels.extend(real.into_iter().map(|r| Label {
                        encrypted: r.encrypted || l.encrypted,
                        hashed: r.hashed || l.hashed,
                        ..r
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
                self.substitute_in(f, instance, args, depth + 1);
            }
        }
    }

    /// The category of a label, placeholders included.
    fn label_category(&self, l: &Label) -> usize {
        match decode_placeholder(l.source) {
            Some((_, _, category)) => category,
            None => self.sources[l.source as usize].category,
        }
    }

    fn interpret(&mut self, fid: FnId, args: &[Value], guarded: bool) -> Summary {
        let prog = self.prog;
        let f = prog.func(fid);
        let ctx = prog.ctx_of(fid);
        let mut frame = Frame {
            fid,
            f,
            ctx,
            krate: prog.crate_of(ctx),
            ret: Value::default(),
            loop_exits: Vec::new(),
        };
        let mut env = Env {
            vars: Vars::new(),
            guarded,
            live: true,
        };
        for (param, arg) in f.params.iter().zip(args) {
            let typed = self.typed(arg.clone(), param.ty.as_ref(), &frame);
            self.bind(&param.pat, typed, &mut env, &frame, NameSite::Param);
        }
        let tail = self.block(&f.body, &mut env, &mut frame);
        if env.live {
            frame.ret.join_in(&tail);
        }
        let mut ret = std::mem::take(&mut frame.ret);
        if ret.kind.is_none() || ret.ty.is_none() {
            ret = self.typed(ret, f.ret.as_ref(), &frame);
        }
        self.name_source(&mut ret, &f.name, NameSite::Function, ctx.file, f.span, fid);
        let params_out = f
            .params
            .iter()
            .map(|p| match (&p.pat, &p.ty) {
                (Pat::Bind { name, .. }, Some(ty)) if ty.mutable_ref => env.vars.get(name).cloned(),
                _ => None,
            })
            .collect();
        Summary {
            ret,
            params_out,
            ..Summary::default()
        }
    }

    // ----- statements and blocks -------------------------------------------------------------

    fn block(&mut self, block: &Block, env: &mut Env, frame: &mut Frame<'p>) -> Value {
        let mut shadowed: Vec<(Name, Option<Value>)> = Vec::new();
        let mut value = Value::default();
        let last = block.stmts.len().saturating_sub(1);
        for (i, stmt) in block.stmts.iter().enumerate() {
            if !env.live {
                break;
            }
            match stmt {
                Stmt::Let(local) => {
                    let crate::ir::Local { pat, ty, init, els } = &**local;
                    let v = match init {
                        Some(e) => self.eval(e, env, frame),
                        None => Value::default(),
                    };
                    let v = self.typed(v, ty.as_ref(), frame);
                    if let Some(els) = els {
                        let mut else_env = env.clone();
                        self.block(els, &mut else_env, frame);
                    }
                    let mut names = Vec::new();
                    pat_names(pat, &mut names);
                    for n in names {
                        if !shadowed.iter().any(|(s, _)| s == &n) {
                            shadowed.push((n, env.vars.get(&n).cloned()));
                        }
                    }
                    self.bind(pat, v, env, frame, NameSite::Local);
                }
                Stmt::Expr { expr, semi } => {
                    let v = self.eval(expr, env, frame);
                    if i == last && !semi {
                        value = v;
                    }
                    // `consent.require(Purpose::Ads)?;`: a check whose failure returns early.
                    if let Expr::Wrap(inner) = expr {
                        if *semi && self.guard_polarity(inner, env) == Some(true) {
                            env.guarded = true;
                        }
                    }
                }
            }
        }
        for (name, old) in shadowed {
            match old {
                Some(v) => {
                    env.vars.insert(name, v);
                }
                None => {
                    env.vars.remove(&name);
                }
            }
        }
        value
    }

    /// Binds a pattern to a value: tuple and struct patterns take the matching fields.
    fn bind(&mut self, pat: &Pat, value: Value, env: &mut Env, frame: &Frame<'p>, site: NameSite) {
        match pat {
            Pat::Bind { name, span, sub } => {
                if let Some(sub) = sub {
                    self.bind(sub, value.clone(), env, frame, site);
                }
                let mut value = value;
                if name != "self" {
                    self.name_source(&mut value, name, site, frame.ctx.file, *span, frame.fid);
                }
                env.vars.insert(*name, value);
            }
            Pat::Tuple(elems) | Pat::Slice(elems) => {
                for (i, p) in elems.iter().enumerate() {
                    let v = if value.fields.is_empty() {
                        value.clone()
                    } else {
                        value.field(&i.to_string())
                    };
                    self.bind(p, v, env, frame, site);
                }
            }
            Pat::TupleStruct { elems, .. } => {
                for (i, p) in elems.iter().enumerate() {
                    let key = i.to_string();
                    let v = if value.fields.contains_key(key.as_str()) && value.ty.is_some() {
                        value.field(&key)
                    } else {
                        value.clone()
                    };
                    self.bind(p, v, env, frame, site);
                }
            }
            Pat::Struct { fields, .. } => {
                for (name, p) in fields {
                    let v = value.field(name);
                    self.bind(p, v, env, frame, site);
                }
            }
            Pat::Or(alts) => {
                if let Some(first) = alts.first() {
                    self.bind(first, value, env, frame, site);
                }
            }
            Pat::Ignore => {}
        }
    }

    // ----- expressions -----------------------------------------------------------------------

    #[allow(clippy::too_many_lines)]
    fn eval(&mut self, expr: &Expr, env: &mut Env, frame: &mut Frame<'p>) -> Value {
        if !env.live {
            return Value::default();
        }
        match expr {
            Expr::Lit(crate::ir::Lit::Str(s)) => Value::text(s),
            Expr::Lit(crate::ir::Lit::Other | crate::ir::Lit::Bool(_)) => Value::default(),
            Expr::Path { segs, span } => self.path_value(segs, *span, env, frame),
            Expr::Field { base, name, span } => {
                let b = self.eval(base, env, frame);
                let mut v = b.field(name);
                if v.kind.is_none() && v.ty.is_none() {
                    if let Some(ty) = b
                        .type_name()
                        .and_then(|t| self.field_type(frame.krate, t, name))
                    {
                        v = self.typed(v, Some(&ty), frame);
                    }
                }
                self.name_source(
                    &mut v,
                    name,
                    NameSite::Field,
                    frame.ctx.file,
                    *span,
                    frame.fid,
                );
                v.consent_check = self.rules.is_guard_name(name);
                v
            }
            Expr::Index { base, index } => {
                self.eval(index, env, frame);
                self.eval(base, env, frame)
            }
            Expr::Call { func, args, span } => {
                let mut v = self.call(func, args, *span, env, frame);
                if let Expr::Path { segs, .. } = &**func {
                    v.consent_check = segs.last().is_some_and(|n| self.rules.is_guard_name(n));
                }
                v
            }
            Expr::Method {
                recv,
                name,
                args,
                span,
            } => {
                let mut v = self.method(recv, name, args, *span, env, frame);
                v.consent_check = self.rules.is_guard_name(name);
                v
            }
            Expr::Macro {
                name,
                args,
                format,
                span,
            } => self.macro_call(name, args, format.as_deref(), *span, env, frame),
            Expr::Struct { path, fields, rest } => {
                let mut v = match rest {
                    Some(r) => self.eval(r, env, frame),
                    None => Value::default(),
                };
                v.text = None;
                for (name, e, span) in fields {
                    let mut fv = self.eval(e, env, frame);
                    self.name_source(
                        &mut fv,
                        name,
                        NameSite::Field,
                        frame.ctx.file,
                        *span,
                        frame.fid,
                    );
                    Arc::make_mut(&mut v.fields).insert(*name, fv);
                }
                v.ty = path.last().map(|l| {
                    if l == "Self" {
                        frame.f.self_ty.unwrap_or_default()
                    } else {
                        *l
                    }
                });
                v.truncate(MAX_FIELD_DEPTH);
                v
            }
            Expr::Tuple(elems) => {
                let mut v = Value::default();
                for (i, e) in elems.iter().enumerate() {
                    let ev = self.eval(e, env, frame);
                    Arc::make_mut(&mut v.fields).insert(i.to_string().into(), ev);
                }
                v.truncate(MAX_FIELD_DEPTH);
                v
            }
            Expr::Array(elems) => {
                let mut v = Value::default();
                for (i, e) in elems.iter().enumerate() {
                    let ev = self.eval(e, env, frame);
                    if i == 0 {
                        v = ev;
                    } else {
                        v.join_in(&ev);
                    }
                }
                v
            }
            Expr::Wrap(inner) | Expr::MutRef(inner) => self.eval(inner, env, frame),
            Expr::Not(inner) => {
                self.eval(inner, env, frame);
                Value::default()
            }
            Expr::Binary { op, l, r } => {
                let lv = self.eval(l, env, frame);
                let rv = self.eval(r, env, frame);
                match op {
                    BinOp::Compare | BinOp::NotEqual | BinOp::And | BinOp::Or => Value::default(),
                    BinOp::Combine => {
                        let mut v = lv.data_only().join(&rv.data_only());
                        v.text = match (&lv.text, &rv.text) {
                            (Some(a), Some(b)) => Some(format!("{a}{b}")),
                            _ => None,
                        };
                        v
                    }
                }
            }
            Expr::Assign {
                place,
                value,
                compound,
            } => {
                let v = self.eval(value, env, frame);
                if *compound {
                    let mut old = self.eval(place, env, frame);
                    let text = match (&old.text, &v.text) {
                        (Some(a), Some(b)) => Some(format!("{a}{b}")),
                        _ => None,
                    };
                    old.join_in(&v.data_only());
                    old.text = text;
                    self.write_place(place, old, env, true);
                } else {
                    self.write_place(place, v, env, true);
                }
                Value::default()
            }
            Expr::If { cond, then, els } => self.if_expr(cond, then, els.as_deref(), env, frame),
            Expr::Let { pat, expr } => {
                let v = self.eval(expr, env, frame);
                self.bind(pat, v, env, frame, NameSite::Local);
                Value::default()
            }
            Expr::Match { scrut, arms } => {
                let sv = self.eval(scrut, env, frame);
                let mut out_env: Option<Env> = None;
                let mut out = Value::default();
                for arm in arms {
                    let mut arm_env = env.clone();
                    if self.pat_is_guard(&arm.pat) {
                        arm_env.guarded = true;
                    }
                    self.bind(&arm.pat, sv.clone(), &mut arm_env, frame, NameSite::Local);
                    if let Some(g) = &arm.guard {
                        self.eval(g, &mut arm_env, frame);
                    }
                    let v = self.eval(&arm.body, &mut arm_env, frame);
                    if arm_env.live {
                        out.join_in(&v);
                    }
                    out_env = Some(match out_env {
                        Some(e) => Env::join(&e, &arm_env),
                        None => arm_env,
                    });
                }
                if let Some(e) = out_env {
                    *env = e;
                }
                out
            }
            Expr::For { pat, iter, body } => {
                let mut it = self.eval(iter, env, frame);
                if let Some(cell) = it.cell {
                    // `for msg in rx`: the loop receives from the channel.
                    let received = self.load_cell(cell);
                    it.join_in(&received);
                }
                self.looped(env, frame, |this, env, frame| {
                    this.bind(pat, it.clone(), env, frame, NameSite::Local);
                    this.block(body, env, frame);
                });
                Value::default()
            }
            Expr::While { cond, body } => {
                self.looped(env, frame, |this, env, frame| {
                    if let Some(c) = cond {
                        let guard = this.guard_polarity(c, env);
                        this.eval(c, env, frame);
                        if guard == Some(true) {
                            env.guarded = true;
                        }
                    }
                    this.block(body, env, frame);
                });
                Value::default()
            }
            Expr::Block(b) => self.block(b, env, frame),
            Expr::Closure(idx) => {
                self.captures.insert((frame.fid, *idx), env.vars.clone());
                Value {
                    closure: Some((frame.fid, *idx)),
                    ..Value::default()
                }
            }
            Expr::Return(e) => {
                let v = match e {
                    Some(e) => self.eval(e, env, frame),
                    None => Value::default(),
                };
                frame.ret.join_in(&v);
                env.live = false;
                Value::default()
            }
            Expr::Break(e) => {
                if let Some(e) = e {
                    self.eval(e, env, frame);
                }
                if let Some(exits) = frame.loop_exits.last_mut() {
                    exits.push(env.clone());
                }
                env.live = false;
                Value::default()
            }
            Expr::Unknown => Value::default(),
        }
    }

    fn if_expr(
        &mut self,
        cond: &Expr,
        then: &Block,
        els: Option<&Expr>,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let polarity = self.guard_polarity(cond, env);
        let mut else_env = env.clone();
        let mut then_env = env.clone();
        self.eval(cond, &mut then_env, frame);
        if polarity == Some(true) {
            then_env.guarded = true;
        }
        if polarity == Some(false) {
            else_env.guarded = true;
        }
        let tv = self.block(then, &mut then_env, frame);
        let ev = match els {
            Some(e) => self.eval(e, &mut else_env, frame),
            None => Value::default(),
        };
        let mut out = Value::default();
        if then_env.live {
            out.join_in(&tv);
        }
        if else_env.live {
            out.join_in(&ev);
        }
        *env = Env::join(&then_env, &else_env);
        out
    }

    /// Runs a loop body until the environment stops growing; breaks join into the exit.
    fn looped(
        &mut self,
        env: &mut Env,
        frame: &mut Frame<'p>,
        mut body: impl FnMut(&mut Self, &mut Env, &mut Frame<'p>),
    ) {
        let mut current = env.clone();
        for _ in 0..MAX_LOOP_ROUNDS {
            frame.loop_exits.push(Vec::new());
            let mut iteration = current.clone();
            body(self, &mut iteration, frame);
            let exits = frame.loop_exits.pop().unwrap_or_default();
            let mut next = Env::join(&current, &iteration);
            for e in &exits {
                next = Env::join(&next, e);
            }
            next.live = true;
            next.guarded = current.guarded;
            if next == current {
                break;
            }
            current = next;
        }
        *env = current;
    }

    /// A match arm taken only with consent (`Consent::Granted => ..`).
    fn pat_is_guard(&self, pat: &Pat) -> bool {
        match pat {
            Pat::TupleStruct { path, .. } | Pat::Struct { path, .. } => path
                .last()
                .is_some_and(|l| self.rules.is_guard_name(&snake(l))),
            Pat::Or(alts) => !alts.is_empty() && alts.iter().all(|p| self.pat_is_guard(p)),
            _ => false,
        }
    }

    /// `Some(true)`: the condition holds only with consent; `Some(false)`: only without.
    fn guard_polarity(&self, cond: &Expr, env: &Env) -> Option<bool> {
        match cond {
            Expr::Not(inner) => self.guard_polarity(inner, env).map(|b| !b),
            Expr::Wrap(inner) => self.guard_polarity(inner, env),
            Expr::Binary {
                op: BinOp::And,
                l,
                r,
            } => (self.guard_polarity(l, env) == Some(true)
                || self.guard_polarity(r, env) == Some(true))
            .then_some(true),
            // `if !consent || offline { return }`: false only when consent holds
            Expr::Binary {
                op: BinOp::Or,
                l,
                r,
            } => (self.guard_polarity(l, env) == Some(false)
                || self.guard_polarity(r, env) == Some(false))
            .then_some(false),
            Expr::Binary {
                op: BinOp::Compare,
                l,
                r,
            } => {
                // `consent == true`, `opted_in() == false`
                let flip = matches!(&**r, Expr::Lit(crate::ir::Lit::Bool(false)));
                self.guard_polarity(l, env)
                    .filter(|b| *b)
                    .map(|b| b != flip)
            }
            Expr::Binary {
                op: BinOp::NotEqual,
                l,
                r,
            } => {
                // `consent != Some(true)` holds without consent, `opted_in != false` with it
                let flip = matches!(&**r, Expr::Lit(crate::ir::Lit::Bool(false)));
                self.guard_polarity(l, env).filter(|b| *b).map(|_| flip)
            }
            Expr::Method { name, .. } | Expr::Field { name, .. } => {
                self.rules.is_guard_name(name).then_some(true)
            }
            Expr::Call { func, .. } => match &**func {
                Expr::Path { segs, .. } => segs
                    .last()
                    .filter(|n| self.rules.is_guard_name(n))
                    .map(|_| true),
                _ => None,
            },
            Expr::Let { pat, .. } => self.pat_is_guard(pat).then_some(true),
            Expr::Path { segs, .. } if segs.len() == 1 => {
                // `let ok = consent.is_granted(..); if ok { .. }`
                let checked = env.vars.get(&segs[0]).is_some_and(|v| v.consent_check);
                (checked || self.rules.is_guard_name(&segs[0])).then_some(true)
            }
            _ => None,
        }
    }

    fn path_value(
        &mut self,
        segs: &[Name],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        if segs.len() == 1 {
            if let Some(v) = env.vars.get(&segs[0]) {
                return v.clone();
            }
        }
        if let Some(v) = self.const_value(frame.ctx, segs) {
            return v;
        }
        let full = self.prog.expand(frame.ctx, segs);
        let rules: Vec<_> = self.rules.for_path(&full).collect();
        if !rules.is_empty() {
            return self
                .apply_rules(&rules, None, None, &[], &[], span, env, frame)
                .unwrap_or_default();
        }
        // A function item used as a value (`.filter_map(read_slot)`): callable like a closure.
        if let Some(&fid) = self
            .prog
            .resolve_fn(frame.ctx, segs, frame.f.self_ty.as_deref())
            .first()
        {
            return Value {
                closure: Some((fid, FN_ITEM)),
                ..Value::default()
            };
        }
        let last = segs.last().map_or("", Name::as_str);
        if last.chars().next().is_some_and(char::is_uppercase) {
            let ty = if last == "Self" {
                frame.f.self_ty
            } else {
                Some(Name::from(last))
            };
            return Value {
                ty,
                ..Value::default()
            };
        }
        Value::default()
    }

    fn const_value(&mut self, ctx: Ctx, segs: &[Name]) -> Option<Value> {
        let first = segs.first()?;
        if !first.chars().next().is_some_and(|c| c.is_uppercase()) && segs.len() == 1 {
            return None;
        }
        let (cctx, c) = self.prog.resolve_const(ctx, segs)?;
        let key = (cctx.file, cctx.scope, c.name);
        if let Some(v) = self.consts.get(&key) {
            return Some(v.clone());
        }
        // Consts are evaluated once, in an empty environment of no function.
        self.consts.insert(key, Value::default());
        let v = self.eval_detached(cctx, &c.init);
        self.consts.insert(key, v.clone());
        Some(v)
    }

    fn eval_detached(&mut self, ctx: Ctx, expr: &Expr) -> Value {
        static NO_FN: std::sync::LazyLock<FnIr> = std::sync::LazyLock::new(|| FnIr {
            name: String::new().into(),
            scope: 0,
            self_ty: None,
            trait_name: None,
            params: Vec::new(),
            ret: None,
            body: Block::default(),
            closures: Vec::new(),
            span: Span::default(),
            entry: false,
        });
        let mut frame = Frame {
            fid: 0,
            f: &NO_FN,
            ctx,
            krate: self.prog.crate_of(ctx),
            ret: Value::default(),
            loop_exits: Vec::new(),
        };
        let mut env = Env {
            vars: Vars::new(),
            guarded: false,
            live: true,
        };
        self.eval(expr, &mut env, &mut frame)
    }

    // ----- places ----------------------------------------------------------------------------

    /// Writes `value` to the place `place` names (a local and a field path); `strong` replaces.
    fn write_place(&mut self, place: &Expr, value: Value, env: &mut Env, strong: bool) {
        let Some((root, path)) = place_path(place) else {
            return;
        };
        let Some(slot) = env.vars.get_mut(&root) else {
            if path.is_empty() {
                env.vars.insert(root, value);
            }
            return;
        };
        let mut target = slot;
        for (i, seg) in path.iter().enumerate() {
            if i >= MAX_FIELD_DEPTH {
                target.join_in(&value.folded());
                return;
            }
            target = Arc::make_mut(&mut target.fields).entry(*seg).or_default();
        }
        if strong {
            *target = value;
        } else {
            target.join_in(&value);
        }
        if let Some(slot) = env.vars.get_mut(&root) {
            slot.truncate(MAX_FIELD_DEPTH);
        }
    }

    /// Joins `value` into the place `place` names (mutation through a method like `push_str`).
    fn merge_into_place(&mut self, place: &Expr, value: &Value, env: &mut Env) {
        if let Some((root, path)) = place_path(place) {
            if !env.vars.contains_key(&root) && path.is_empty() {
                return;
            }
            self.write_place(place, value.clone(), env, false);
        }
    }

    // ----- calls -----------------------------------------------------------------------------

    fn call(
        &mut self,
        func: &Expr,
        args: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let Expr::Path { segs, .. } = func else {
            let callee = self.eval(func, env, frame);
            let arg_values = self.eval_args(args, env, frame);
            return self.call_value(&callee, &arg_values, env, frame);
        };
        if segs.len() == 1 {
            if let Some(callee) = env.vars.get(&segs[0]).cloned() {
                let arg_values = self.eval_args(args, env, frame);
                return self.call_value(&callee, &arg_values, env, frame);
            }
        }
        let arg_values = self.eval_args(args, env, frame);
        let fids = self
            .prog
            .resolve_fn(frame.ctx, segs, frame.f.self_ty.as_deref());
        let fids: Vec<FnId> = fids
            .into_iter()
            .filter(|&f| self.prog.func(f).params.len() == args.len())
            .collect();
        if !fids.is_empty() {
            return self.call_user(&fids, arg_values, args, None, span, env, frame);
        }
        let full = self.prog.expand(frame.ctx, segs);
        let strings: Vec<Option<String>> = arg_values.iter().map(|v| v.text.clone()).collect();
        let rules: Vec<_> = self.rules.for_function(&full, &strings).collect();
        if let Some(v) = self.apply_rules(&rules, None, None, &arg_values, args, span, env, frame) {
            return v;
        }
        let last = segs.last().map_or("", Name::as_str);
        if let Some(v) = self.std_mem_call(&full, args, &arg_values, env) {
            return v;
        }
        // `Write::write_all(&mut stream, buf)`, `SinkExt::send(&mut ws, msg)`: a trait method
        // called with the receiver as first argument is that method call.
        let qualified =
            segs.len() >= 2 && segs[segs.len() - 2].starts_with(|c: char| c.is_ascii_uppercase());
        if let (true, Some((recv_value, rest))) = (qualified, arg_values.split_first()) {
            let rest_strings: Vec<Option<String>> = rest.iter().map(|v| v.text.clone()).collect();
            let rules: Vec<_> = self
                .rules
                .for_method(last, recv_value.kind, &rest_strings)
                .collect();
            if rules
                .iter()
                .any(|r| !matches!(r, crate::rules::index::RuleRef::Propagator(_)))
            {
                let recv_expr = args.first();
                let rest_exprs = args.get(1..).unwrap_or(&[]);
                if let Some(v) = self.apply_rules(
                    &rules,
                    recv_expr,
                    Some(recv_value),
                    rest,
                    rest_exprs,
                    span,
                    env,
                    frame,
                ) {
                    return v;
                }
            }
        }
        let mut v = self.unknown_call(last, &arg_values, env, frame);
        self.write_through_mut_args(args, &v, env);
        if last.chars().next().is_some_and(char::is_uppercase) {
            // A tuple struct or variant: `Wrapper(x)`, `Message::Text(x)`.
            if let Some(def) = self.prog.struct_def(frame.krate, last) {
                let mut s = Value {
                    ty: Some(def.name),
                    ..Value::default()
                };
                for (i, a) in arg_values.iter().enumerate() {
                    Arc::make_mut(&mut s.fields).insert(i.to_string().into(), a.clone());
                }
                return s;
            }
            if arg_values.len() == 1 {
                return arg_values[0].clone();
            }
        } else {
            self.name_source(
                &mut v,
                last,
                NameSite::Function,
                frame.ctx.file,
                span,
                frame.fid,
            );
        }
        v
    }

    fn eval_args(&mut self, args: &[Expr], env: &mut Env, frame: &mut Frame<'p>) -> Vec<Value> {
        args.iter().map(|a| self.eval(a, env, frame)).collect()
    }

    /// Calls a value: a closure of this function runs in the current environment.
    fn call_value(
        &mut self,
        callee: &Value,
        args: &[Value],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        match callee.closure {
            Some(c) => self.run_closure(c, args, env, frame),
            None => {
                let mut v = callee.data_only();
                for a in args {
                    v.join_in(&a.data_only());
                }
                v
            }
        }
    }

    fn run_closure(
        &mut self,
        closure: (FnId, u32),
        args: &[Value],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        // `let cb = move |x| cb(x)` calls the shadowed closure, but in the environment at the
        // call the name is the closure itself. Never recurse: the result is the arguments.
        if self.active_closures.contains(&closure) || self.active_closures.len() > MAX_CALL_DEPTH {
            return conservative(args).ret;
        }
        self.active_closures.push(closure);
        let v = self.run_closure_body(closure, args, env, frame);
        self.active_closures.pop();
        v
    }

    fn run_closure_body(
        &mut self,
        (cfid, idx): (FnId, u32),
        args: &[Value],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let owner = self.prog.func(cfid);
        if idx == FN_ITEM {
            let mut args = args.to_vec();
            args.resize(
                owner.params.len(),
                Value {
                    dynamic: true,
                    ..Value::default()
                },
            );
            return self.analyze_fn(cfid, args, env.guarded).ret;
        }
        let Some(closure) = owner.closures.get(idx as usize) else {
            return Value::default();
        };
        if cfid != frame.fid {
            // A closure from another function runs with the captures it was created with.
            let mut fresh = Env {
                vars: self.captures.get(&(cfid, idx)).cloned().unwrap_or_default(),
                guarded: env.guarded,
                live: true,
            };
            let mut other = Frame {
                fid: cfid,
                f: owner,
                ctx: self.prog.ctx_of(cfid),
                krate: self.prog.crate_of(self.prog.ctx_of(cfid)),
                ret: Value::default(),
                loop_exits: Vec::new(),
            };
            for (p, a) in closure.params.iter().zip(args) {
                self.bind(p, a.clone(), &mut fresh, &other, NameSite::Local);
            }
            return self.eval(&closure.body, &mut fresh, &mut other);
        }
        let mut names = Vec::new();
        for p in &closure.params {
            pat_names(p, &mut names);
        }
        let saved: Vec<(Name, Option<Value>)> = names
            .iter()
            .map(|n| (*n, env.vars.get(n).cloned()))
            .collect();
        for (i, p) in closure.params.iter().enumerate() {
            let a = args.get(i).cloned().unwrap_or_default();
            self.bind(p, a, env, frame, NameSite::Local);
        }
        let saved_ret = std::mem::take(&mut frame.ret);
        let live = env.live;
        let mut v = self.eval(&closure.body, env, frame);
        // `return` inside a closure returns from the closure.
        let closure_ret = std::mem::replace(&mut frame.ret, saved_ret);
        v.join_in(&closure_ret);
        env.live = live;
        for (n, old) in saved {
            match old {
                Some(o) => {
                    env.vars.insert(n, o);
                }
                None => {
                    env.vars.remove(&n);
                }
            }
        }
        v
    }

    fn method(
        &mut self,
        recv: &Expr,
        name: &str,
        args: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let rv = self.eval(recv, env, frame);
        let arg_values = self.eval_args(args, env, frame);
        // Methods defined in the program, dispatched on the receiver's type when known.
        // On a receiver of unknown type, a name the rule pack knows (`push`, `get`, `map`) is far
        // more often the library method than a same-named method of some program type.
        let untyped_dispatch = rv.type_name().is_none() && !self.rules.knows_method(name);
        if rv.kind.is_none() && (rv.type_name().is_some() || untyped_dispatch) {
            let fids: Vec<FnId> = self
                .prog
                .resolve_method(frame.krate, rv.type_name(), name)
                .into_iter()
                .filter(|&f| self.prog.func(f).params.len() == args.len() + 1)
                .collect();
            if !fids.is_empty() && (rv.type_name().is_some() || fids.len() <= MAX_UNTYPED_DISPATCH)
            {
                let mut all = Vec::with_capacity(args.len() + 1);
                all.push(rv);
                all.extend(arg_values);
                return self.call_user(&fids, all, args, Some(recv), span, env, frame);
            }
        }
        let strings: Vec<Option<String>> = arg_values.iter().map(|v| v.text.clone()).collect();
        let rules: Vec<_> = self.rules.for_method(name, rv.kind, &strings).collect();
        if let Some(v) = self.apply_rules(
            &rules,
            Some(recv),
            Some(&rv),
            &arg_values,
            args,
            span,
            env,
            frame,
        ) {
            return v;
        }
        self.unknown_method(name, &rv, &arg_values, args, span, env, frame)
    }

    /// A method no rule and no program function explains.
    #[allow(clippy::too_many_arguments)]
    fn unknown_method(
        &mut self,
        name: &str,
        rv: &Value,
        args: &[Value],
        arg_exprs: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let closure_args = closure_params(rv, args);
        let mut closure_results = Value::default();
        let mut others = Value::default();
        for a in args {
            if let Some(c) = a.closure {
                let r = self.run_closure(c, &closure_args, env, frame);
                closure_results.join_in(&r);
            } else {
                others.join_in(&a.data_only());
            }
        }
        let mut v = rv.clone();
        v.closure = None;
        v.join_in(&others);
        v.join_in(&closure_results);
        if !matches!(
            name,
            "to_string"
                | "to_owned"
                | "as_str"
                | "as_ref"
                | "into"
                | "clone"
                | "borrow"
                | "as_bytes"
                | "to_vec"
                | "into_bytes"
                | "as_slice"
                | "deref"
                | "trim"
                | "unwrap"
                | "expect"
                | "parse"
        ) {
            // The text is gone, but a URL's scheme and host still describe where a request
            // built from it goes (`"wss://..".into_client_request()`).
            if v.endpoint.is_none() {
                v.endpoint = rv
                    .text
                    .as_deref()
                    .map(super::transfer::endpoint_of)
                    .filter(|e| e.transport.is_some());
            }
            v.text = None;
            v.dynamic = v.dynamic || args.iter().any(|a| a.dynamic);
        }
        self.write_through_mut_args(arg_exprs, &rv.data_only(), env);
        if args.is_empty() {
            // A getter of a library type named for what it returns: `telephony.imei()`.
            self.name_source(
                &mut v,
                name,
                NameSite::Function,
                frame.ctx.file,
                span,
                frame.fid,
            );
        }
        v
    }

    /// `std::mem::take(&mut x)` and `std::mem::replace(&mut x, new)`: the result is `x`, which
    /// becomes empty (or `new`): a strong update, so a taken identifier no longer sits in `x`.
    fn std_mem_call(
        &mut self,
        full: &[Name],
        args: &[Expr],
        values: &[Value],
        env: &mut Env,
    ) -> Option<Value> {
        let name = full.last()?.as_str();
        let is_mem = full.len() < 2 || full[full.len() - 2] == "mem";
        if !is_mem || !matches!(name, "take" | "replace") {
            return None;
        }
        let Some(Expr::MutRef(place)) = args.first() else {
            return None;
        };
        let old = values.first().cloned().unwrap_or_default();
        let new = if name == "replace" {
            values.get(1).cloned().unwrap_or_default()
        } else {
            Value::default()
        };
        self.write_place(place, new, env, true);
        Some(old)
    }

    /// An unknown callee may write what it has into `&mut` arguments (`read_line(&mut buf)`).
    fn write_through_mut_args(&mut self, arg_exprs: &[Expr], data: &Value, env: &mut Env) {
        for e in arg_exprs {
            if let Expr::MutRef(inner) = e {
                if let Some((root, path)) = place_path(inner) {
                    let mut old = env.vars.get(&root).cloned().unwrap_or_default();
                    for seg in &path {
                        old = old.field(seg);
                    }
                    // The argument keeps what it is (a stream stays a stream) and gains the data.
                    let mut new = old;
                    new.join_in(&data.data_only());
                    new.text = None;
                    new.dynamic = true;
                    self.write_place(inner, new, env, true);
                }
            }
        }
    }

    /// A free function no rule and no program function explains: the result carries the arguments.
    fn unknown_call(
        &mut self,
        name: &str,
        args: &[Value],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let mut data = Value::default();
        for a in args.iter().filter(|a| a.closure.is_none()) {
            let serialized = self.serialized(a, frame.krate);
            data.join_in(&serialized);
        }
        let mut v = data.clone();
        for a in args {
            if let Some(c) = a.closure {
                let r = self.run_closure(c, &[data.clone()], env, frame);
                v.join_in(&r.data_only());
            }
        }
        // Conversions of constants stay constants; anything else (reading a file named by a
        // literal path) is data.
        let conversion = matches!(
            name,
            "from"
                | "new"
                | "parse"
                | "to_string"
                | "to_owned"
                | "into"
                | "default"
                | "with_capacity"
        );
        v.dynamic = !conversion || args.iter().any(|a| a.dynamic);
        if let [only] = args {
            // `String::from(URL)`, `Url::parse(URL)`: the text survives a one-argument call, and
            // a wrapped network object stays one (`tokio::io::split(stream)`, `Box::pin(ws)`).
            v.text.clone_from(&only.text);
            v.kind = only.kind;
            v.endpoint.clone_from(&only.endpoint);
        }
        if v.endpoint.is_none() {
            // `Url::parse_with_params(URL, &params)`: a URL argument still says where it goes.
            v.endpoint = args
                .iter()
                .find_map(|a| a.text.as_deref().filter(|t| t.contains("://")))
                .map(super::transfer::endpoint_of)
                .filter(|e| e.transport.is_some());
        }
        v
    }

    /// Calls program functions (several when dispatch is ambiguous) and joins their results.
    #[allow(clippy::too_many_arguments)]
    fn call_user(
        &mut self,
        fids: &[FnId],
        mut args: Vec<Value>,
        arg_exprs: &[Expr],
        recv: Option<&Expr>,
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        // A closure passed to another function runs there with the captures recorded when it
        // was created; what it returns without arguments also goes along as data, for callees
        // that hand it on to library code.
        for a in &mut args {
            if let Some(c) = a.closure {
                if c.0 == frame.fid {
                    let r = self.run_closure(c, &[], env, frame);
                    a.join_in(&r.data_only());
                }
            }
        }
        let mut out = Value::default();
        let mut first = true;
        let inert_args = args.iter().all(Value::is_deeply_inert);
        for &fid in fids {
            let callee = self.prog.func(fid);
            if inert_args && !self.relevance.relevant[fid] {
                // Nothing goes in that could flow, nothing inside could make a flow: only the
                // declared return type matters.
                self.analyzed[fid] = true;
                let ret = self.typed(
                    Value {
                        dynamic: true,
                        ..Value::default()
                    },
                    callee.ret.as_ref(),
                    frame,
                );
                if first {
                    out = ret;
                    first = false;
                } else {
                    out.join_in(&ret);
                }
                continue;
            }
            let note_in = format!("passed to `{}`", callee.name);
            let passed: Vec<Value> = args
                .iter()
                .map(|a| self.retag(a, frame.ctx.file, span, &note_in))
                .collect();
            let summary = self.analyze_fn(fid, passed, env.guarded);
            let note_out = format!("returned from `{}`", callee.name);
            let ret = self.retag(&summary.ret, frame.ctx.file, span, &note_out);
            if first {
                out = ret;
                first = false;
            } else {
                out.join_in(&ret);
            }
            for (i, new) in summary.params_out.iter().enumerate() {
                let Some(new) = new else { continue };
                let place = if recv.is_some() {
                    if i == 0 {
                        recv
                    } else {
                        arg_exprs.get(i - 1)
                    }
                } else {
                    arg_exprs.get(i)
                };
                if let Some(place) = place {
                    self.merge_into_place(place, new, env);
                }
            }
        }
        out
    }

    /// A copy of `v` whose labels point to a new trace node at `span`.
    fn retag(&mut self, v: &Value, file: usize, span: Span, note: &str) -> Value {
        if !v.is_tainted() {
            return v.clone();
        }
        let mut out = v.clone();
        self.retag_in(&mut out, file, span, note, 0);
        out
    }

    fn retag_in(&mut self, v: &mut Value, file: usize, span: Span, note: &str, depth: usize) {
        for l in &mut v.labels {
            let node = u32::try_from(self.traces.len()).unwrap_or(NO_TRACE);
            self.traces.push(TraceNode {
                parent: l.via,
                file,
                span,
                note: note.to_string(),
            });
            l.via = node;
        }
        if depth < MAX_FIELD_DEPTH {
            for f in Arc::make_mut(&mut v.fields).iter_mut().map(|(_, v)| v) {
                self.retag_in(f, file, span, note, depth + 1);
            }
        }
    }

    fn macro_call(
        &mut self,
        name: &str,
        args: &[Expr],
        format: Option<&str>,
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let values = self.eval_args(args, env, frame);
        match name {
            "print" | "println" | "eprint" | "eprintln" | "info" | "debug" | "warn" | "error"
            | "trace" | "log" | "assert" | "assert_eq" | "assert_ne" | "debug_assert"
            | "debug_assert_eq" | "panic" | "todo" | "unimplemented" | "unreachable"
            | "matches" => Value::default(),
            "write" | "writeln" => {
                let Some((dest, data)) = values.split_first() else {
                    return Value::default();
                };
                let rules: Vec<_> = self.rules.for_macro(name, dest.kind).collect();
                if rules.is_empty() {
                    // `write!` into a String buffer: the buffer carries the data.
                    let mut joined = Value::default();
                    for d in data {
                        joined.join_in(&d.data_only());
                    }
                    if let Some(d) = args.first() {
                        self.merge_into_place(d, &joined, env);
                    }
                } else {
                    self.apply_rules(
                        &rules,
                        args.first(),
                        Some(dest),
                        data,
                        args.get(1..).unwrap_or(&[]),
                        span,
                        env,
                        frame,
                    );
                }
                Value::default()
            }
            "vec" => {
                let mut v = Value::default();
                for x in &values {
                    v.join_in(x);
                }
                v
            }
            // `tokio::join!(a, b)` gives a tuple of the results, each in its place.
            "join" | "try_join" => {
                let mut v = Value::default();
                let fields = Arc::make_mut(&mut v.fields);
                for (i, x) in values.iter().enumerate() {
                    fields.insert(i.to_string().into(), x.clone());
                }
                v
            }
            "env" | "option_env" | "include_str" | "include_bytes" | "concat" | "stringify"
            | "line" | "file" | "column" => {
                let mut v = Value::default();
                if name == "concat" {
                    v.text = values
                        .iter()
                        .map(|x| x.text.clone())
                        .collect::<Option<Vec<_>>>()
                        .map(|p| p.concat());
                }
                v
            }
            _ => {
                let mut v = Value::default();
                for x in &values {
                    v.join_in(&x.data_only());
                }
                v.dynamic = values.iter().any(|x| x.dynamic);
                if let Some(fmt) = format {
                    v.text = Some(format_text(fmt, &values, env));
                }
                v
            }
        }
    }

    // ----- helpers ---------------------------------------------------------------------------

    /// Gives `v` the kind and user type its declared type says, when it has none.
    fn typed(&self, mut v: Value, ty: Option<&TypeIr>, frame: &Frame<'p>) -> Value {
        let Some(ty) = ty else { return v };
        let core = core_type(ty);
        if core.path.is_empty() {
            return v;
        }
        if core.path.len() == 1 && core.path[0] == "Self" {
            if v.ty.is_none() {
                v.ty.clone_from(&frame.f.self_ty);
            }
            return v;
        }
        if v.kind.is_none() {
            let full = self.prog.expand(frame.ctx, &core.path);
            v.kind = self.rules.kind_of_type(&full);
        }
        if v.ty.is_none() && v.kind.is_none() {
            if let Some(last) = core.path.last() {
                if self.prog.struct_def(frame.krate, last).is_some() {
                    v.ty = Some(*last);
                }
            }
        }
        v
    }

    /// The data of `v` as a serializer sees it: `#[serde(skip)]` fields left out.
    fn serialized(&self, v: &Value, krate: usize) -> Value {
        let has_skips = v
            .type_name()
            .and_then(|t| self.prog.struct_def(krate, t))
            .is_some_and(|d| d.fields.iter().any(|f| f.skip_serializing));
        if has_skips {
            Value {
                labels: v.flatten(&self.skip_field(krate)),
                ..Value::default()
            }
        } else {
            v.data_only()
        }
    }

    fn field_type(&self, krate: usize, ty: &str, field: &str) -> Option<TypeIr> {
        let def = self.prog.struct_def(krate, ty)?;
        def.fields
            .iter()
            .find(|f| f.name == field)
            .map(|f| f.ty.clone())
    }

    /// Adds a name-source label to `v` when `name` says it holds an identifier and `v` does not
    /// already carry that category (and is not a literal constant).
    fn name_source(
        &mut self,
        v: &mut Value,
        name: &str,
        site: NameSite,
        file: usize,
        span: Span,
        fid: FnId,
    ) {
        if !v.dynamic || v.closure.is_some() {
            return;
        }
        let matches: Vec<usize> = self
            .rules
            .name_sources(name, site)
            .map(|n| n.rule)
            .collect();
        for rule in matches {
            let category = self.rules.source_category(rule);
            let present = v
                .flatten(&|_, _| false)
                .iter()
                .any(|l| self.label_category(l) == category);
            if !present {
                let label = self.new_label(rule, file, span, fid);
                v.add_label(label);
            }
        }
    }

    /// A label for a fresh (or known) source occurrence.
    pub(super) fn new_label(&mut self, rule: usize, file: usize, span: Span, fid: FnId) -> Label {
        let category = self.rules.source_category(rule);
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
                note: format!("source: {}", self.rules.raw.sources[rule].id),
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

    pub(super) fn skip_field(&self, krate: usize) -> impl Fn(&Value, &str) -> bool + '_ {
        move |v: &Value, field: &str| {
            v.type_name()
                .and_then(|t| self.prog.struct_def(krate, t))
                .is_some_and(|d| {
                    d.fields
                        .iter()
                        .any(|f| f.name == field && f.skip_serializing)
                })
        }
    }

    /// Starts from what an earlier run learnt: its channel contents, and its source and trace
    /// tables, so the labels stored in the channels keep their meaning.
    pub(super) fn carry_over(&mut self, earlier: Engine<'p>) {
        self.cells = earlier.cells;
        self.cell_sites = earlier.cell_sites;
        self.sources = earlier.sources;
        self.source_ids = earlier.source_ids;
        self.traces = earlier.traces;
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

    /// Applies matched rules to a call; `None` when no rule matched.
    #[allow(clippy::too_many_arguments)]
    fn apply_rules(
        &mut self,
        rules: &[crate::rules::index::RuleRef],
        recv: Option<&Expr>,
        rv: Option<&Value>,
        args: &[Value],
        arg_exprs: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Option<Value> {
        if rules.is_empty() {
            return None;
        }
        let call = super::transfer::CallSite {
            recv: rv,
            args,
            span,
            file: frame.ctx.file,
            fid: frame.fid,
            krate: frame.krate,
            guarded: env.guarded,
        };
        let effect = super::transfer::apply(self, rules, &call);
        if let (Some(place), Some(update)) = (recv, effect.receiver_update) {
            self.write_place(place, update, env, true);
        }
        for (k, update) in effect.arg_updates {
            if let Some(Expr::MutRef(place)) = arg_exprs.get(k) {
                self.write_place(place, update, env, true);
            }
        }
        // `map(str::to_owned)` passes no closure: then the default (receiver and arguments) holds.
        let closure_result = effect.closure_result
            && effect.result.is_none()
            && args.iter().any(|a| a.closure.is_some());
        let mut result = match effect.result {
            Some(v) => v,
            None if closure_result => {
                let closure_args = closure_params(rv.unwrap_or(&Value::default()), args);
                let mut v = Value::default();
                for a in args {
                    match a.closure {
                        Some(c) => {
                            let r = self.run_closure(c, &closure_args, env, frame);
                            v.join_in(&r);
                        }
                        None => {
                            v.join_in(&a.data_only());
                        }
                    }
                }
                v
            }
            None => match rv {
                Some(r) => {
                    let r = r.clone();
                    let mut v = r.clone();
                    v.closure = None;
                    for a in args {
                        match a.closure {
                            Some(c) => {
                                let c = self.run_closure(c, std::slice::from_ref(&r), env, frame);
                                v.join_in(&c.data_only());
                            }
                            None => {
                                v.join_in(&a.data_only());
                            }
                        }
                    }
                    v.text = None;
                    v
                }
                None => self.unknown_call("", args, env, frame),
            },
        };
        for l in effect.labels {
            result.add_label(l);
        }
        Some(result)
    }
}

/// `OptedIn` → `opted_in`, so CamelCase variants match snake_case name patterns.
fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// What a library method passes to its closure argument: an element of the receiver, after an
/// accumulator when a plain argument comes first (`fold(init, |acc, x| ..)`, `scan(state, ..)`).
fn closure_params(receiver: &Value, args: &[Value]) -> [Value; 2] {
    let element = receiver.clone();
    match args.first() {
        Some(init) if init.closure.is_none() && args.iter().any(|a| a.closure.is_some()) => {
            [init.clone(), element]
        }
        _ => [element.clone(), element],
    }
}

/// What an analysis that cannot go deeper assumes: the result carries every argument.
fn conservative(args: &[Value]) -> Summary {
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

/// The type inside references and wrappers (`&Option<Arc<Client>>` → `Client`).
fn core_type(ty: &TypeIr) -> &TypeIr {
    let mut t = ty;
    for _ in 0..8 {
        let wrapper = t.path.is_empty()
            || t.path
                .last()
                .is_some_and(|l| WRAPPER_TYPES.contains(&l.as_str()));
        match t.args.first() {
            Some(inner) if wrapper => t = inner,
            _ => break,
        }
    }
    t
}

/// The local and field path an assignable expression names (`self.a.b` → `self`, `[a, b]`).
fn place_path(e: &Expr) -> Option<(Name, Vec<Name>)> {
    match e {
        Expr::Path { segs, .. } if segs.len() == 1 => Some((segs[0], Vec::new())),
        Expr::Field { base, name, .. } => {
            let (root, mut path) = place_path(base)?;
            path.push(*name);
            Some((root, path))
        }
        Expr::Wrap(inner) | Expr::MutRef(inner) | Expr::Index { base: inner, .. } => {
            place_path(inner)
        }
        Expr::Method {
            recv, name, args, ..
        } if args.is_empty()
            && matches!(
                name.as_str(),
                "as_mut" | "borrow_mut" | "lock" | "unwrap" | "get_mut" | "write"
            ) =>
        {
            place_path(recv)
        }
        _ => None,
    }
}

fn pat_names(p: &Pat, out: &mut Vec<Name>) {
    match p {
        Pat::Bind { name, sub, .. } => {
            out.push(*name);
            if let Some(s) = sub {
                pat_names(s, out);
            }
        }
        Pat::Tuple(ps) | Pat::Slice(ps) | Pat::Or(ps) | Pat::TupleStruct { elems: ps, .. } => {
            ps.iter().for_each(|p| pat_names(p, out))
        }
        Pat::Struct { fields, .. } => fields.iter().for_each(|(_, p)| pat_names(p, out)),
        Pat::Ignore => {}
    }
}

/// The text `format!(fmt, args)` produces, unknown parts marked.
fn format_text(fmt: &str, args: &[Value], env: &Env) -> String {
    let unknown = super::lattice::UNKNOWN_TEXT;
    // Inline arguments (`{BASE}`) were lowered as paths after the positional ones, in order.
    let inline = crate::ir::inline_format_args(fmt);
    let inline_base = args.len().saturating_sub(inline.len());
    let mut out = String::new();
    let mut next = 0;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut inner = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    inner.push(d);
                }
                let name = inner.split(':').next().unwrap_or("").trim();
                let text = if name.is_empty() {
                    next += 1;
                    args.get(next - 1).and_then(|v| v.text.clone())
                } else if let Ok(i) = name.parse::<usize>() {
                    args.get(i).and_then(|v| v.text.clone())
                } else if let Some(k) = inline.iter().position(|n| n == name) {
                    args.get(inline_base + k).and_then(|v| v.text.clone())
                } else {
                    env.vars.get(name).and_then(|v| v.text.clone())
                };
                match text {
                    Some(t) => out.push_str(&t),
                    None => out.push(unknown),
                }
            }
            other => out.push(other),
        }
    }
    out
}
