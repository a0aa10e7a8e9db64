//! Taint propagation: which identifier sources reach which sinks, and how.
//!
//! Takes the [`Program`] and the [`RuleIndex`]; gives [`Analysis`]: the source table, the hits
//! (one per label reaching a sink in one calling context) and the trace nodes that let
//! `classify` rebuild each flow's path. Architecture Invariant: this module sees the IR and the
//! program index only, never `syn` and never the file system.
//!
//! - [`lattice`]: abstract values and their join.
//! - `state`: the flow-sensitive state inside a function, and its join.
//! - [`transfer`]: the effect of a library call, from the rule pack.
//! - [`facts`]: what the analysis accumulates (sources, traces, hits, channel contents).
//! - [`engine`]: the interpreter that drives everything to a fixpoint.

pub mod engine;
pub mod facts;
pub mod lattice;
pub mod relevance;
mod state;
pub mod transfer;

use crate::findings::Transport;
use crate::graph::{FnId, Program};
use crate::ir::Span;
use crate::rules::index::RuleIndex;

use lattice::Label;

/// No trace node.
pub const NO_TRACE: u32 = u32::MAX;

/// One place an identifier comes from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Source rule index.
    pub rule: usize,
    /// Category index.
    pub category: usize,
    /// File index.
    pub file: usize,
    /// Where.
    pub span: Span,
    /// Enclosing function.
    pub func: FnId,
    /// Its trace node.
    pub trace: u32,
}

/// One hop of a flow's path.
#[derive(Debug, Clone)]
pub struct TraceNode {
    /// Previous hop, or [`NO_TRACE`] at the source.
    pub parent: u32,
    /// File index.
    pub file: usize,
    /// Where.
    pub span: Span,
    /// What happens there (interned: a few hundred distinct notes label millions of hops).
    pub note: std::sync::Arc<str>,
}

/// A label reaching a sink in one calling context.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The label (source and protections).
    pub label: Label,
    /// Sink rule index.
    pub sink_rule: usize,
    /// File index of the sink.
    pub file: usize,
    /// The sink's method or function name.
    pub span: Span,
    /// Enclosing function.
    pub func: FnId,
    /// Transport at the sink.
    pub transport: Transport,
    /// Recipient host, when known.
    pub host: Option<String>,
    /// The sink is reached under a consent guard in this context.
    pub guarded: bool,
}

/// Everything the propagation found.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Sources by id.
    pub sources: Vec<Source>,
    /// Hits in analysis order.
    pub hits: Vec<Hit>,
    /// Trace nodes.
    pub traces: Vec<TraceNode>,
    /// Functions analysed at least once.
    pub functions_analyzed: usize,
    /// `touched[f]`: the analysis looked at `f` (analysed it, or skipped a call to it).
    pub touched: Vec<bool>,
    /// Which functions could matter, as the analysis saw it.
    pub relevance: std::sync::Arc<relevance::Relevance>,
    /// Calls nothing explains that received a tainted argument, sorted.
    pub unexplained: Vec<facts::Unexplained>,
}

/// Debugging aids of the propagation, off by default (the CLI sets them from `IDFLOW_TRACE`
/// and `IDFLOW_DEBUG`). They cost time and memory; they never change a result.
#[derive(Debug, Clone, Copy, Default)]
pub struct DebugOptions {
    /// Tell every analysis of a function in a context ([`DebugEvent::Analysis`]).
    pub trace: bool,
    /// Count and profile ([`DebugEvent::Relevance`] counts, [`DebugEvent::Stats`]).
    pub stats: bool,
}

/// What the propagation tells about itself for debugging, as it runs; `cli` prints it.
#[derive(Debug)]
pub enum DebugEvent<'a> {
    /// The relevance pre-pass is done: its time, and with [`DebugOptions::stats`] what it kept.
    Relevance {
        /// Time it took.
        time: std::time::Duration,
        /// What it kept.
        counts: Option<&'a relevance::Counts>,
    },
    /// An analysis of a function in a context starts (with [`DebugOptions::trace`]).
    Analysis(&'a engine::AnalysisTrace),
    /// Channels grew in the first run, which ended this long after the start; a second runs.
    Rerun {
        /// Time from the start of the propagation to the end of the first run.
        first_run: std::time::Duration,
    },
    /// Counters and profile of one run, told at its end (with [`DebugOptions::stats`]).
    Stats(&'a engine::Stats),
}

/// Runs the propagation over the whole program.
#[must_use]
pub fn analyze(prog: &Program, rules: &RuleIndex) -> Analysis {
    analyze_with(prog, rules, None, DebugOptions::default(), &|_| {})
}

/// Runs of the propagation at most: the first, and re-runs while channels or the heap grew
/// after they were read.
const MAX_RUNS: usize = 2;

/// [`analyze`], with the functions' [`relevance::Scans`] when the caller already has them, and
/// the debugging aids `debug` asks for told to `observe` as they happen.
#[must_use]
pub fn analyze_with(
    prog: &Program,
    rules: &RuleIndex,
    scans: Option<relevance::Scans>,
    debug: DebugOptions,
    observe: &dyn Fn(&DebugEvent<'_>),
) -> Analysis {
    let started = std::time::Instant::now();
    let (relevance, counts) = relevance::analyze(prog, rules, scans, debug.stats);
    let relevance = std::sync::Arc::new(relevance);
    observe(&DebugEvent::Relevance {
        time: started.elapsed(),
        counts: counts.as_ref(),
    });
    let mut engine = engine::Engine::new(prog, rules, relevance.clone(), debug, observe);
    engine.run();
    let mut runs = 1;
    let mut touched = vec![false; prog.fns.len()];
    while (engine.facts.cells_grew || (!engine.heap_roots && engine.facts.heap_tainted()))
        && runs < MAX_RUNS
    {
        // Channels and the heap are flow-insensitive cells: a receive or a field read analysed
        // before the matching send or store saw less. Run again with the cells' contents from
        // the run before (a few runs reach what chains of channels and fields carry in
        // practice; each run starts from everything the last one stored).
        runs += 1;
        if debug.stats {
            observe(&DebugEvent::Stats(&engine.stats()));
        }
        observe(&DebugEvent::Rerun {
            first_run: started.elapsed(),
        });
        // Every run analyses everything again (a function reached only as an entry point of
        // its own must be analysed in the last run too, or its hits are lost); what any run
        // looked at counts as touched.
        let mut again = engine::Engine::new(prog, rules, relevance.clone(), debug, observe);
        again.heap_roots = engine.heap_roots || engine.facts.heap_tainted();
        for (t, a) in touched.iter_mut().zip(&engine.analyzed) {
            *t |= *a;
        }
        again.carry_over(engine);
        engine = again;
        engine.run();
    }
    for (t, a) in touched.iter_mut().zip(&engine.analyzed) {
        *t |= *a;
    }
    if debug.stats {
        observe(&DebugEvent::Stats(&engine.stats()));
    }
    engine.facts.drop_hits_from_configured_params(prog, rules);
    Analysis {
        functions_analyzed: touched.iter().filter(|a| **a).count(),
        touched,
        relevance,
        sources: engine.facts.sources,
        hits: engine.facts.hits,
        traces: engine.facts.traces,
        unexplained: {
            let mut calls: Vec<_> = engine.facts.unexplained.into_iter().collect();
            calls.sort();
            calls
        },
    }
}
