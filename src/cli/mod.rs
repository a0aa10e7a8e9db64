//! The command-line front end: CLI definition plus glue.
//!
//! Takes argv, gives an exit status. Parses the arguments ([`args`]), loads the rule pack, calls
//! the library ([`crate::scan::run`], [`crate::report`]) and writes the result ([`output`]).
//!
//! Architecture Invariant: this is the only module that prints, reads the terminal, or uses
//! `anyhow`; every other layer returns values and typed errors.
//!
//! Exit statuses: 0 after a scan ([`ExitStatus::Pass`]), 1 when a policy is violated
//! ([`ExitStatus::Violation`], for `idflow check`), 2 on usage, config and rule errors
//! ([`ExitStatus::Error`]). A closed stdout (`idflow scan | head`) exits 0 quietly.

pub mod args;
mod check;
mod explain;
mod git;
mod output;
mod progress;
mod report_cmd;
mod rules_cmd;
mod scan;

use std::io::{self, Write as _};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser as _;

use crate::rules::RulePack;
use args::{Cli, Command, RulesCommand};

/// How a run of `idflow` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did its work (a scan exits 0 whatever it found).
    Pass = 0,
    /// A policy is violated (`idflow check`).
    Violation = 1,
    /// Usage, config or rule error, or an internal error.
    Error = 2,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// Runs `idflow` with the process's arguments.
#[must_use]
pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints `--help`/`--version` to stdout (exit 0) and usage errors to stderr
            // (exit 2); a failed print has nowhere left to be reported.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    // A bug in the pipeline must not leave a user with a raw panic and exit 101: the hook has
    // already said what happened, and the status is the error status.
    match std::panic::catch_unwind(AssertUnwindSafe(|| run(&cli))) {
        Ok(Ok(status)) => status.into(),
        Ok(Err(err)) if is_broken_pipe(&err) => ExitStatus::Pass.into(),
        Ok(Err(err)) => {
            error(&format!("{err:#}"));
            ExitStatus::Error.into()
        }
        Err(_) => ExitStatus::Error.into(),
    }
}

/// Runs one parsed command.
///
/// # Errors
/// Usage, config, rule and I/O errors, with context, for `main` to print.
pub fn run(cli: &Cli) -> Result<ExitStatus> {
    match &cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Rules(RulesCommand::List(args)) => rules_cmd::list(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Check(args) => check::run(args),
        Command::Baseline(args) => check::baseline(args),
        Command::Explain(args) => explain::run(args),
    }
}

/// Loads the default pack plus `dir`, turning every rule error into one message that lists
/// each problem as `file:line:col: message`.
fn load_rules(dir: Option<&Path>) -> Result<RulePack> {
    if let Some(dir) = dir {
        // The loader walks what exists; a mistyped directory must not silently mean "no rules".
        if !dir.is_dir() {
            bail!("rules directory {} does not exist", dir.display());
        }
    }
    RulePack::load(dir).map_err(|errors| {
        let count = errors.len();
        let mut message = format!(
            "invalid rule pack ({count} error{})",
            if count == 1 { "" } else { "s" }
        );
        message.push_str("\n\n");
        let color =
            io::IsTerminal::is_terminal(&io::stderr()) && std::env::var_os("NO_COLOR").is_none();
        message.push_str(crate::diag::render_rule_errors(&errors, color).trim_end());
        anyhow::anyhow!(message)
    })
}

/// The declarations file a command uses: `explicit` (`--config`) when given, else the first
/// `idflow.yaml` found in `path` (its directory, for a file) or an ancestor, up to the root of
/// the git repository that holds it (the directory with `.git`). Outside a repository only
/// `path` itself is looked at, so a stray file higher up is never picked.
#[must_use]
pub fn find_config(path: &Path, explicit: Option<&Path>) -> Option<std::path::PathBuf> {
    use crate::declarations::DEFAULT_FILE_NAME;
    if let Some(explicit) = explicit {
        return Some(explicit.to_path_buf());
    }
    let start = if path.is_file() {
        path.parent().unwrap_or(Path::new("."))
    } else {
        path
    };
    let direct = start.join(DEFAULT_FILE_NAME);
    if direct.is_file() {
        return Some(direct);
    }
    let start = start.canonicalize().ok()?;
    let repo = start.ancestors().find(|d| d.join(".git").exists())?;
    for dir in start.ancestors().skip(1) {
        let candidate = dir.join(DEFAULT_FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir == repo {
            break;
        }
    }
    None
}

/// How to name the config file `path` in messages and reports: relative to the scanned `root`
/// when inside it, relative to the current directory when under it, else as given. Never an
/// absolute path when a relative one will do.
#[must_use]
pub fn config_name(root: &Path, path: &Path) -> String {
    if let Ok(inside) = path.strip_prefix(root) {
        return inside.display().to_string();
    }
    if let (Ok(cwd), Ok(abs)) = (std::env::current_dir(), path.canonicalize()) {
        if let Ok(rel) = abs.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
        if let Ok(root) = root.canonicalize() {
            // An ancestor of the scanned root: `../idflow.yaml`.
            if let Ok(up) = abs
                .parent()
                .map_or(Err(()), |p| root.strip_prefix(p).map_err(|_| ()))
            {
                let ups = up.components().count();
                let mut name = "../".repeat(ups);
                name.push_str(&abs.file_name().unwrap_or_default().to_string_lossy());
                return name;
            }
        }
    }
    path.display().to_string()
}

/// True when `err` comes from writing to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `error: message` on stderr.
fn error(message: &str) {
    // stderr itself may be closed; there is nowhere left to report that.
    let _ = writeln!(io::stderr().lock(), "error: {message}");
}

/// Prints `warning: message` on stderr.
fn warning(message: &str) {
    let _ = writeln!(io::stderr().lock(), "warning: {message}");
}

/// Prints an informational line on stderr.
fn note(message: &str) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}

/// Reports a panic as an internal error, in the same `error: ...` shape as every other error.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        error(&format!(
            "internal error: {payload}{location}\nthis is a bug in idflow; please report it with the input that triggers it"
        ));
    }));
}
