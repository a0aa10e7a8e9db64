//! The progress bar on stderr: only on a terminal, never with `--quiet` or in CI, and only once
//! a scan has run long enough to be worth watching.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::scan::{DebugNote, Observer, Progress, Stage};

/// Scans shorter than this draw nothing: a bar that flashes for 50 ms is noise.
const SHOW_AFTER: Duration = Duration::from_millis(400);

/// An indicatif bar behind [`Progress`].
pub(crate) struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar on stderr when it is wanted: stderr is a terminal, not `--quiet`, not CI.
    pub(crate) fn for_stderr(quiet: bool) -> Option<Bar> {
        let wanted = !quiet
            && std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false");
        wanted.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            Bar { bar }
        })
    }

    fn reveal_when_slow(&self) {
        if self.bar.is_hidden() && self.bar.elapsed() >= SHOW_AFTER {
            self.bar
                .set_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        }
    }
}

impl Progress for Bar {
    fn start(&self, stage: Stage, total: u64) {
        let (style, message) = match stage {
            Stage::Discover => (spinner(), "finding files"),
            Stage::Parse => (files_bar(), "parsing"),
            Stage::Graph => (spinner(), "building the call graph"),
            Stage::Propagate => (spinner(), "propagating identifiers"),
            Stage::Classify => (spinner(), "classifying flows"),
        };
        self.bar.set_style(style);
        self.bar.set_message(message);
        self.bar.set_length(total);
        self.bar.set_position(0);
        if total == 0 {
            self.bar.enable_steady_tick(Duration::from_millis(120));
        } else {
            self.bar.disable_steady_tick();
        }
        self.reveal_when_slow();
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
        self.reveal_when_slow();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn spinner() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn files_bar() -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} files (eta {eta})")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// What a scan reports to the user while it runs: the progress bar when it is wanted, and the
/// debugging aids the environment asks for (`IDFLOW_TIMING`: stage times and peak memory;
/// `IDFLOW_DEBUG`: counters, the profile and why a previous scan was not reused, its value
/// when longer than one character picking the files whose source-mentioning functions are
/// listed; `IDFLOW_TRACE`: every analysis of a function in a context). The flags that make the
/// library gather more are in [`Watch::debug_options`].
pub(crate) struct Watch {
    bar: Option<Bar>,
    timing: bool,
    debug: Option<String>,
    trace: bool,
}

impl Watch {
    /// The bar as [`Bar::for_stderr`] decides, and the debugging flags from the environment.
    pub(crate) fn for_stderr(quiet: bool) -> Watch {
        let debug = std::env::var_os("IDFLOW_DEBUG")
            .map(|_| std::env::var("IDFLOW_DEBUG").unwrap_or_default());
        Watch {
            bar: Bar::for_stderr(quiet),
            timing: std::env::var_os("IDFLOW_TIMING").is_some(),
            debug,
            trace: std::env::var_os("IDFLOW_TRACE").is_some(),
        }
    }

    /// What the library should gather for these flags.
    pub(crate) fn debug_options(&self) -> crate::taint::DebugOptions {
        crate::taint::DebugOptions {
            trace: self.trace,
            stats: self.debug.is_some(),
        }
    }

    fn propagation(&self, event: &crate::taint::DebugEvent<'_>) {
        use crate::taint::DebugEvent;
        match event {
            DebugEvent::Relevance { time, counts } => {
                if let (Some(filter), Some(c)) = (&self.debug, counts) {
                    super::note(&format!(
                        "functions={} relevant={} mention-source={} reach-source={}",
                        c.functions, c.relevant, c.mention_source, c.reach_source
                    ));
                    for (name, rel) in &c.mentioning {
                        if filter.len() > 1 && rel.contains(filter.as_str()) {
                            super::note(&format!("  mentions a source: {name} ({rel})"));
                        }
                    }
                }
                if self.timing {
                    super::note(&format!("idflow:   relevance took {time:.2?}"));
                }
            }
            DebugEvent::Analysis(t) => super::note(&format!(
                "analyze {} #{} depth {} guarded {} args {}",
                t.function, t.context, t.depth, t.guarded, t.args
            )),
            DebugEvent::Rerun { first_run } => {
                if self.timing {
                    super::note(&format!(
                        "idflow:   first run took {first_run:.2?}; channels grew, running again"
                    ));
                }
            }
            DebugEvent::Stats(s) => {
                super::note(&format!(
                    "analyses={} memo={} traces={} hops={} hits={} sources={}",
                    s.analyses, s.memo, s.traces, s.hops, s.hits, s.sources
                ));
                for (n, name) in &s.busiest {
                    super::note(&format!("  {n} contexts: {name}"));
                }
                if let Some(p) = &s.profile {
                    super::note(&format!(
                        "exclusive analysis time {:.2?}; slowest functions:",
                        p.total
                    ));
                    for f in &p.slowest {
                        super::note(&format!(
                            "  {:>10.2?} {:>3}x {} ({})",
                            f.time, f.analyses, f.function, f.file
                        ));
                    }
                }
            }
        }
    }
}

impl Progress for Watch {
    fn start(&self, stage: Stage, total: u64) {
        if let Some(bar) = &self.bar {
            bar.start(stage, total);
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.advance(n);
        }
    }

    fn done(&self, stage: Stage, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.done(stage, elapsed);
        }
        if self.timing {
            let peak = crate::scan::peak_rss_bytes()
                .map_or(String::new(), |b| format!(", peak RSS {} MiB", b >> 20));
            super::note(&format!(
                "idflow: {} took {elapsed:.2?}{peak}",
                stage.name()
            ));
        }
    }
}

impl Observer for Watch {
    fn progress(&self) -> &dyn Progress {
        self
    }

    fn debug(&self, note: &DebugNote<'_>) {
        match note {
            DebugNote::FullAnalysis(why) => {
                if self.debug.is_some() {
                    super::note(&format!(
                        "idflow: full analysis: {} changed and was {}",
                        why.file, why.why
                    ));
                }
            }
            DebugNote::Propagation(event) => self.propagation(event),
        }
    }
}
