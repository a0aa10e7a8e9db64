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
//! The driver is split into rooms: this file runs functions and contexts to a fixpoint;
//! `summary` holds function summaries and the context abstraction, `interp` the expression
//! interpreter, `dispatch` calls, `macros` macro calls, `names` what names and types say,
//! and `guards` consent guards. What the analysis finds goes to [`Facts`].
//!
//! [`transfer`]: super::transfer

mod closures;
mod dispatch;
mod guards;
mod interp;
mod library;
mod macros;
mod names;
mod summary;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

use super::facts::Facts;
use super::state::{Env, Vars};
use crate::graph::{Ctx, FnId, Program};
use crate::ir::{FnIr, Name, Pat};
use crate::rules::index::{NameSite, RuleIndex};
use crate::taint::lattice::{Value, MAX_FIELD_DEPTH};

use interp::{pat_names, place_path};
pub use summary::Summary;
use summary::{conservative, MemoKey};

/// Analyses of one function beyond this many distinct contexts fall back to a conservative
/// summary, bounding the cost of hot helpers.
const MAX_CONTEXTS_PER_FN: u32 = 16;
/// Distinct calling contexts a function is analysed in before its contexts are widened into one.
const CONTEXT_BUDGET: u32 = 6;
/// Closure index that stands for the function itself (a function item used as a value).
const FN_ITEM: u32 = u32::MAX;
/// Deepest call chain analysed context-sensitively.
const MAX_CALL_DEPTH: usize = 48;

/// The function (or closure body, or const initializer) being interpreted.
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
    /// What the analysis has found so far.
    pub(super) facts: Facts,
    memo: HashMap<MemoKey, Summary>,
    instances: HashMap<FnId, u32>,
    trace_analyses: bool,
    /// Where debugging events go (traces as they happen).
    observe: &'p dyn Fn(&super::DebugEvent<'_>),
    in_progress: HashSet<MemoKey>,
    contexts: Vec<u32>,
    pub(super) analyzed: Vec<bool>,
    /// Also analyse the entry points that reach no source but may send (a re-run after an
    /// identifier was stored in the heap).
    pub(super) heap_roots: bool,
    depth: usize,
    active_closures: Vec<(FnId, u32)>,
    /// Functions that can matter to a flow, and those that can reach a source (see
    /// [`super::relevance`]).
    relevance: Arc<super::relevance::Relevance>,
    /// The environment each closure was last created in, for calls from other functions.
    captures: HashMap<(FnId, u32), Vars>,
    consts: HashMap<(usize, u32, Name), Value>,
    /// Time per function, exclusive of callees (a debugging aid, with [`DebugOptions::stats`]).
    ///
    /// [`DebugOptions::stats`]: super::DebugOptions::stats
    profile: Option<Profile>,
}

/// One analysis of a function in a context, as the trace records it.
#[derive(Debug, Clone)]
pub struct AnalysisTrace {
    /// The function.
    pub function: String,
    /// How many contexts of it have been analysed, this one included.
    pub context: u32,
    /// Call depth.
    pub depth: usize,
    /// Under a consent guard.
    pub guarded: bool,
    /// The argument values, debug-printed.
    pub args: String,
}

/// Counters of one run of the engine (a debugging aid; `cli` prints them).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Analyses of a function in a context.
    pub analyses: u64,
    /// Memoised summaries.
    pub memo: usize,
    /// Trace nodes.
    pub traces: usize,
    /// Hops taken by labels (trace node look-ups), in this run.
    pub hops: u64,
    /// Hits.
    pub hits: usize,
    /// Sources.
    pub sources: usize,
    /// The functions analysed in the most contexts, with their counts.
    pub busiest: Vec<(u32, String)>,
    /// Exclusive analysis time, when profiled.
    pub profile: Option<ProfileReport>,
}

/// Exclusive analysis time: the total and the slowest functions.
#[derive(Debug, Clone)]
pub struct ProfileReport {
    /// Sum over every function.
    pub total: std::time::Duration,
    /// The slowest functions, slowest first.
    pub slowest: Vec<FnTime>,
}

/// One function's exclusive analysis time.
#[derive(Debug, Clone)]
pub struct FnTime {
    /// Time spent in the function itself, callees excluded.
    pub time: std::time::Duration,
    /// Analyses of it.
    pub analyses: u32,
    /// The function.
    pub function: String,
    /// Its file.
    pub file: String,
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
        debug: super::DebugOptions,
        observe: &'p dyn Fn(&super::DebugEvent<'_>),
    ) -> Engine<'p> {
        Engine {
            prog,
            rules,
            facts: Facts::default(),
            memo: HashMap::default(),
            instances: HashMap::default(),
            trace_analyses: debug.trace,
            observe,
            in_progress: HashSet::default(),
            contexts: vec![0; prog.fns.len()],
            analyzed: vec![false; prog.fns.len()],
            heap_roots: false,
            depth: 0,
            active_closures: Vec::new(),
            relevance,
            captures: HashMap::default(),
            consts: HashMap::default(),
            profile: debug.stats.then(Profile::default),
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
        if self.heap_roots {
            // An identifier sits in the heap: an entry point that reaches no source itself may
            // still read it from a field and send it.
            for fid in self.prog.roots() {
                if !self.analyzed[fid] && self.relevance.relevant[fid] {
                    self.analyze_root(fid);
                }
            }
        }
    }

    /// Counters of this run, and the profile when it was kept (a debugging aid).
    pub fn stats(&self) -> Stats {
        let mut per_fn: Vec<(u32, FnId)> = self.contexts.iter().copied().zip(0..).collect();
        per_fn.sort_unstable_by(|a, b| b.cmp(a));
        let mut stats = Stats {
            analyses: self.contexts.iter().map(|c| u64::from(*c)).sum::<u64>(),
            memo: self.memo.len(),
            traces: self.facts.traces.len(),
            hops: self.facts.hops,
            hits: self.facts.hits.len(),
            sources: self.facts.sources.len(),
            busiest: (per_fn.iter().take(8))
                .map(|(n, fid)| (*n, self.prog.func(*fid).name.to_string()))
                .collect(),
            profile: None,
        };
        if let Some(p) = &self.profile {
            let mut by_time: Vec<_> = p.exclusive.iter().collect();
            by_time.sort_by_key(|e| std::cmp::Reverse(e.1 .0));
            let total: std::time::Duration = by_time.iter().map(|e| e.1 .0).sum();
            let slowest = (by_time.iter().take(25))
                .map(|(fid, (t, n))| {
                    let info = &self.prog.fns[**fid];
                    FnTime {
                        time: *t,
                        analyses: *n,
                        function: self.prog.func(**fid).name.to_string(),
                        file: self.prog.files[info.file].source.rel.clone(),
                    }
                })
                .collect();
            stats.profile = Some(ProfileReport { total, slowest });
        }
        stats
    }

    fn analyze_root(&mut self, fid: FnId) {
        // A public function the program also calls is analysed as an entry point too (its users
        // may call it without the program's own checks). A parameter's own name still says what
        // a user passes (`device_id: &str`), but the fields of a struct it takes hold what the
        // callers put there, and those callers the analysis sees: a field's name alone must not
        // make a configured value an identifier (`request.machine_id` of a server-side
        // resource). Such fields are treated like configuration by the name sources.
        let called = self.prog.has_callers(fid);
        let f = self.prog.func(fid);
        let krate = self.prog.crate_of(self.prog.ctx_of(fid));
        let args = f
            .params
            .iter()
            .map(|p| {
                let of_struct = p.ty.as_ref().is_some_and(|t| {
                    crate::graph::core_type(t)
                        .path
                        .last()
                        .is_some_and(|n| self.prog.struct_def(krate, n).is_some())
                });
                Value {
                    dynamic: true,
                    env_only: called && of_struct,
                    ..Value::default()
                }
            })
            .collect();
        self.analyze_fn(fid, args, false);
    }

    /// Analyses `fid` in one calling context, memoised.
    pub fn analyze_fn(&mut self, fid: FnId, mut args: Vec<Value>, guarded: bool) -> Summary {
        for a in &mut args {
            a.truncate(MAX_FIELD_DEPTH);
        }
        if self.depth > 0 {
            // A call of the program, not an entry point's unknown arguments.
            self.facts.note_call_args(fid, &args);
        }
        let key = MemoKey { fid, args, guarded };
        if let Some(s) = self.memo.get(&key) {
            let s = s.clone();
            self.facts
                .placeholder_log
                .extend(s.nested_hits.iter().cloned());
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
        let mark = self.facts.placeholder_log.len();
        let mut summary = self.run_analysis(fid, &key);
        summary.nested_hits = self.facts.placeholder_log[mark..].to_vec();
        self.memo.insert(key, summary.clone());
        summary
    }

    fn run_analysis(&mut self, fid: FnId, key: &MemoKey) -> Summary {
        self.contexts[fid] += 1;
        if self.trace_analyses {
            // Told as it happens: a trace is most wanted when an analysis never ends.
            (self.observe)(&super::DebugEvent::Analysis(&AnalysisTrace {
                function: self.prog.func(fid).name.to_string(),
                context: self.contexts[fid],
                depth: self.depth,
                guarded: key.guarded,
                args: format!("{:?}", key.args),
            }));
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
            let mut typed = self.typed(arg.clone(), param.ty.as_ref(), &frame);
            if typed.ty.is_none() && matches!(&param.pat, Pat::Bind { name, .. } if name == "self")
            {
                // `self` is a value of the impl's type, whoever the caller is.
                typed.ty = f.self_ty;
            }
            if let Pat::Bind { span, name, .. } = &param.pat {
                self.type_source(&mut typed, param.ty.as_ref(), *span, &frame);
                self.param_source(&mut typed, name, *span, &frame);
            }
            self.bind(&param.pat, typed, &mut env, &frame, NameSite::Param);
        }
        let tail = self.block(&f.body, &mut env, &mut frame);
        if env.live {
            frame.ret.join_in(&tail);
        }
        let mut ret = std::mem::take(&mut frame.ret);
        if ret.ty.is_some() && ret.type_name().is_none() {
            // Values of several types met (an `Ok(Self { .. })` and an `Err(e)`): the declared
            // return type says which one a caller dispatches on.
            ret.ty = None;
        }
        if ret.kind.is_none() || ret.ty.is_none() {
            ret = self.typed(ret, f.ret.as_ref(), &frame);
        }
        self.type_source(&mut ret, f.ret.as_ref(), f.span, &frame);
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

    /// Starts from what an earlier run learnt: its channel contents, and its source and trace
    /// tables, so the labels stored in the channels keep their meaning.
    pub(super) fn carry_over(&mut self, earlier: Engine<'p>) {
        self.facts = earlier.facts.carried_over();
    }
}
