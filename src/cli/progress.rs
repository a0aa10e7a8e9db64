//! The progress bar on stderr: only on a terminal, never with `--quiet` or in CI, and only once
//! a scan has run long enough to be worth watching.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::scan::{Progress, Stage};

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
