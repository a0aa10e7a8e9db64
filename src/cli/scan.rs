//! `idflow scan`: loads the rules, runs the pipeline, renders and writes the report.

use std::io::IsTerminal as _;

use anyhow::{bail, Context as _, Result};

use std::path::{Path, PathBuf};

use super::args::{ScanArgs, ScanFormat, ScanTuning};
use super::progress::Watch;
use super::{load_rules, note, output, warning, ExitStatus};
use crate::cache::Cache;
use crate::findings::ScanResult;
use crate::report::{self, Format};
use crate::rules::RulePack;
use crate::scan::ScanOptions;

/// Scans `args.path` and writes the report.
///
/// # Errors
/// Rule errors, a missing root, a bad glob, output errors.
pub(crate) fn run(args: &ScanArgs) -> Result<ExitStatus> {
    let rules = load_rules(args.rules.as_deref())?;
    check_config(&args.path, args.config.as_deref(), args.quiet)?;
    let config = super::find_config(&args.path, args.config.as_deref());
    output::refuse_inputs(
        args.output.as_deref(),
        &args.path,
        &[("declarations file", config.as_deref())],
    )?;
    let result = scan_tree(&args.path, &args.exclude, &args.tuning, args.quiet, &rules)?;

    let format = match args.format {
        ScanFormat::Text => Format::Text,
        ScanFormat::Json => Format::Json,
        ScanFormat::Sarif => Format::Sarif,
    };
    let color = format == Format::Text && args.output.is_none() && stdout_color();
    let rendered = report::render(&result, format, color);
    output::emit(args.output.as_deref(), &rendered)?;

    if !args.quiet {
        // The text report lists skipped files itself; the machine formats carry them in their
        // own fields, and a person running them still deserves to see them.
        if format != Format::Text {
            for skipped in &result.skipped {
                warning(&format!("skipped {}", report::text::skipped_line(skipped)));
            }
        }
        if let Some(path) = &args.output {
            note(&format!(
                "wrote {}: {}",
                path.display(),
                report::text::summary(&result)
            ));
        }
    }
    Ok(strict(&args.tuning, &result, ExitStatus::Pass))
}

/// Scans `path` as every command does: the tuning options applied, the cache opened (or a
/// warning once when it cannot be used), a progress bar when it is wanted.
///
/// # Errors
/// A missing root or a bad glob.
pub(crate) fn scan_tree(
    path: &Path,
    excludes: &[String],
    tuning: &ScanTuning,
    quiet: bool,
    rules: &RulePack,
) -> Result<ScanResult> {
    // Checked here too so the message names the path even before the pipeline looks at it.
    std::fs::metadata(path).with_context(|| format!("cannot scan {}", path.display()))?;
    let mut options = ScanOptions::new(path);
    options.excludes = excludes.to_vec();
    options.threads = tuning.threads.map(usize::from);
    options.max_file_bytes = tuning.max_file_size;
    options.cache = open_cache(tuning, rules, quiet);
    let watch = Watch::for_stderr(quiet);
    options.debug = watch.debug_options();
    let result = crate::scan::run_with(&options, rules, &watch)?;
    // An empty result from a tree with nothing to analyse is not an all-clear: a mistyped path,
    // an exclude that matches everything or a checkout without the Rust code would pass.
    if result.stats.files_found == 0 {
        bail!(
            "no Rust files under {} (nothing to analyse; check PATH and --exclude)",
            path.display()
        );
    }
    Ok(result)
}

/// Checks `--config FILE` when given (scan and baseline do not use the declarations, but a
/// broken file should fail here, not first in `check`); says which file on stderr.
///
/// # Errors
/// A declarations file that cannot be read or is invalid.
pub(crate) fn check_config(path: &Path, config: Option<&Path>, quiet: bool) -> Result<()> {
    if let Some(config) = config {
        crate::declarations::Declarations::load(config)?;
        if !quiet {
            note(&format!("config: {}", super::config_name(path, config)));
        }
    }
    Ok(())
}

/// The cache the options ask for, if it can be written; a cache is an optimisation, so a
/// problem with it is a warning, never an error.
fn open_cache(tuning: &ScanTuning, rules: &RulePack, quiet: bool) -> Option<Cache> {
    if tuning.no_cache {
        return None;
    }
    let root = tuning
        .cache
        .clone()
        .or_else(|| std::env::var_os("IDFLOW_CACHE_DIR").map(PathBuf::from))
        .or_else(Cache::default_root)?;
    let cache = Cache::new(&root, rules.hash());
    match cache.ensure_writable() {
        Ok(()) => Some(cache),
        Err(err) => {
            if !quiet {
                warning(&format!(
                    "cache {} is not writable ({err}); scanning without it (--no-cache silences this)",
                    cache.dir().display()
                ));
            }
            None
        }
    }
}

/// `status`, or the error status with `--strict` when files were skipped: a skipped file must
/// not pass for an "all clear". The output is written before, either way.
pub(crate) fn strict(tuning: &ScanTuning, result: &ScanResult, status: ExitStatus) -> ExitStatus {
    if tuning.strict && !result.skipped.is_empty() {
        super::error(&format!(
            "{} file{} skipped (listed above or in the output); --strict makes that an error",
            result.skipped.len(),
            if result.skipped.len() == 1 {
                " was"
            } else {
                "s were"
            }
        ));
        return ExitStatus::Error;
    }
    status
}

/// Colour on stdout: only on a terminal, and never when `NO_COLOR` is set.
pub(crate) fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
