//! `idflow scan`: loads the rules, runs the pipeline, renders and writes the report.

use std::io::IsTerminal as _;

use anyhow::{Context as _, Result};

use super::args::{ScanArgs, ScanFormat};
use super::{load_rules, note, output, warning, ExitStatus};
use crate::report::{self, Format};
use crate::scan::ScanOptions;

/// Scans `args.path` and writes the report.
///
/// # Errors
/// Rule errors, a missing root, a bad glob, output errors.
pub(crate) fn run(args: &ScanArgs) -> Result<ExitStatus> {
    let rules = load_rules(args.rules.as_deref())?;
    // Checked here too so the message names the path even before the pipeline looks at it.
    std::fs::metadata(&args.path)
        .with_context(|| format!("cannot scan {}", args.path.display()))?;
    let options = ScanOptions {
        root: args.path.clone(),
        excludes: args.exclude.clone(),
    };
    let result = crate::scan::run(&options, &rules)?;

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
    Ok(ExitStatus::Pass)
}

/// Colour on stdout: only on a terminal, and never when `NO_COLOR` is set.
pub(crate) fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
