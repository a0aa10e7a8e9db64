//! `idflow rules list`: shows the active rule pack (the default pack plus `--rules DIR`).

use anyhow::Result;

use super::args::{ListFormat, RulesListArgs};
use super::{load_rules, output, ExitStatus};
use crate::report;

/// Lists every entry of the active pack, grouped by kind.
///
/// # Errors
/// Rule errors (each at `file:line:col`) and output errors.
pub(crate) fn list(args: &RulesListArgs) -> Result<ExitStatus> {
    let pack = load_rules(args.rules.as_deref())?;
    let text = match args.format {
        ListFormat::Text => report::rules::text(pack.rules(), super::scan::stdout_color()),
        ListFormat::Json => report::rules::json(pack.rules()),
    };
    output::emit(None, &text)?;
    Ok(ExitStatus::Pass)
}
