//! How a scan reports its progress: the [`Stage`]s of the pipeline and the [`Progress`]
//! observer that [`crate::scan`] tells about them (the CLI's progress bar, the benchmark
//! harness's timer, tests). A leaf: it imports nothing of the pipeline, so every stage may take a
//! `&dyn Progress` without depending on the module that wires the stages together.

/// A stage of the pipeline, as [`Progress`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Walking the tree.
    Discover,
    /// Reading, parsing and lowering files (or loading them from the cache).
    Parse,
    /// Indexing the program and building its call graph.
    Graph,
    /// Taint propagation.
    Propagate,
    /// Turning hits into findings.
    Classify,
}

impl Stage {
    /// Lower-case name, as the benchmark harness and `IDFLOW_TIMING` print it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Stage::Discover => "discover",
            Stage::Parse => "parse",
            Stage::Graph => "graph",
            Stage::Propagate => "propagate",
            Stage::Classify => "classify",
        }
    }
}

/// Observes a scan: the CLI draws a progress bar with it, the benchmark harness times stages.
/// Every method has an empty default; calls come from worker threads too, hence `Sync`.
pub trait Progress: Sync {
    /// `stage` starts, with `total` units of work (files for [`Stage::Parse`], else 0).
    fn start(&self, stage: Stage, total: u64) {
        let _ = (stage, total);
    }
    /// `n` more units of the current stage are done.
    fn advance(&self, n: u64) {
        let _ = n;
    }
    /// `stage` ended after `elapsed`.
    fn done(&self, stage: Stage, elapsed: std::time::Duration) {
        let _ = (stage, elapsed);
    }
}

/// A [`Progress`] that ignores everything.
pub struct Silent;

impl Progress for Silent {}
