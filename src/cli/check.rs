//! `idflow check` (the CI gate) and `idflow baseline`: scan, evaluate the policies, render,
//! exit 0 (pass), 1 (violation) or 2 (usage, config, rule or git error).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use super::args::{BaselineArgs, CheckArgs, CheckFormat, CommonArgs};
use super::git::git;
use super::{load_rules, note, output, warning, ExitStatus};
use crate::declarations::{Declarations, DEFAULT_FILE_NAME};
use crate::findings::ScanResult;
use crate::policy::{self, Baseline, CheckInput};
use crate::report;
use crate::rules::RulePack;

/// Loads the rules and scans `path`.
fn scan(path: &Path, common: &CommonArgs) -> Result<ScanResult> {
    let rules = load_rules(common.rules.as_deref())?;
    scan_with(path, common, &rules)
}

/// Scans `path` with `rules`; findings in code that does not ship are left out unless
/// `--include-non-shipping`.
fn scan_with(path: &Path, common: &CommonArgs, rules: &RulePack) -> Result<ScanResult> {
    let mut result =
        super::scan::scan_tree(path, &common.exclude, &common.tuning, common.quiet, rules)?;
    if !common.include_non_shipping {
        result.leave_out_non_shipping();
    }
    Ok(result)
}

/// `idflow baseline`: records every current finding as accepted.
///
/// # Errors
/// Rule errors, a missing root, output errors.
pub(crate) fn baseline(args: &BaselineArgs) -> Result<ExitStatus> {
    super::scan::check_config(&args.path, args.config.as_deref(), args.common.quiet)?;
    let config = super::find_config(&args.path, args.config.as_deref());
    output::refuse_inputs(
        Some(&args.output),
        &args.path,
        &[("declarations file", config.as_deref())],
    )?;
    let result = scan(&args.path, &args.common)?;
    for skipped in &result.skipped {
        warning(&format!("skipped {}", report::text::skipped_line(skipped)));
    }
    let baseline = Baseline::from_result(&result);
    let mut text = serde_json::to_string_pretty(&baseline)?;
    text.push('\n');
    output::emit(Some(&args.output), &text)?;
    if !args.common.quiet {
        note(&format!(
            "wrote {}: {} accepted flow{}; {}",
            args.output.display(),
            baseline.entries.len(),
            if baseline.entries.len() == 1 { "" } else { "s" },
            report::text::summary(&result)
        ));
    }
    Ok(super::scan::strict(
        &args.common.tuning,
        &result,
        ExitStatus::Pass,
    ))
}

/// The declarations file (`--config`, else `idflow.yaml` in PATH or an ancestor up to the
/// repository root, see [`super::find_config`]) and how to name it.
fn declarations(args: &CheckArgs, rules: &RulePack) -> Result<Option<(Declarations, String)>> {
    let Some(path) = super::find_config(&args.path, args.config.as_deref()) else {
        return Ok(None);
    };
    let known = rules
        .rules()
        .categories
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let decl = Declarations::load_checked(&path, &known)?;
    Ok(Some((decl, super::config_name(&args.path, &path))))
}

/// The scanned directory relative to the root of its git repository (`core/`), or `None`
/// outside a repository or at its root (and for a single file, whose paths are relative to its
/// directory).
fn repository_prefix(path: &Path) -> Option<String> {
    if !path.is_dir() {
        return None;
    }
    let out = git(path)
        .args(["rev-parse", "--show-prefix"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let prefix = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!prefix.is_empty()).then_some(prefix)
}

/// Reads and parses the baseline file.
fn read_baseline(path: &Path) -> Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    let baseline: Baseline = serde_json::from_str(&text)
        .with_context(|| format!("invalid baseline {}", path.display()))?;
    if baseline.schema != policy::BASELINE_SCHEMA {
        bail!(
            "baseline {} has schema `{}`, expected `{}`",
            path.display(),
            baseline.schema,
            policy::BASELINE_SCHEMA
        );
    }
    Ok(baseline)
}

/// Lines changed since `rev` in the git repository at `root`, relative to `root`.
fn changed_lines(root: &Path, rev: &str) -> Result<policy::ChangedLines> {
    let git = |args: &[&str]| {
        git(root)
            .args(args)
            .output()
            .context("cannot run git (is it installed?)")
    };
    let inside = git(&["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() {
        bail!(
            "--diff-base needs a git repository, and {} is not inside one",
            root.display()
        );
    }
    let verify = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])?;
    if !verify.status.success() {
        bail!(
            "--diff-base: revision `{rev}` is not in the repository at {}; in a shallow CI checkout fetch it first \
             (actions/checkout with `fetch-depth: 0`, or `git fetch origin {rev}`)",
            root.display()
        );
    }
    // `--relative` makes paths relative to the scanned root, like finding paths; the prefixes
    // are spelled out because `diff.noprefix` and `diff.mnemonicPrefix` would change them.
    let diff = git(&[
        "diff",
        "--unified=0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--relative",
        rev,
    ])?;
    if !diff.status.success() {
        bail!(
            "git diff {rev} failed: {}",
            String::from_utf8_lossy(&diff.stderr).trim()
        );
    }
    Ok(policy::parse_diff(&String::from_utf8_lossy(&diff.stdout)))
}

/// `https://github.com/<owner>/<repo>/blob/<sha>` in a GitHub Actions run (its documented
/// default variables), so a PR comment links to the lines of the commit checked.
fn github_link_base() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(format!(
        "{}/{}/blob/{}",
        var("GITHUB_SERVER_URL")?.trim_end_matches('/'),
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_SHA")?
    ))
}

/// The formats whose paths code scanning, workflow annotations and PR links resolve against
/// the repository root.
fn repository_relative(format: CheckFormat) -> bool {
    matches!(
        format,
        CheckFormat::Sarif | CheckFormat::Github | CheckFormat::Markdown
    )
}

fn render(format: CheckFormat, outcome: &policy::CheckOutcome) -> String {
    match format {
        CheckFormat::Text => report::check::text(outcome),
        CheckFormat::Json => report::check::json(outcome),
        CheckFormat::Sarif => report::check::sarif(outcome),
        CheckFormat::Markdown => report::check::markdown(outcome),
        CheckFormat::Github => report::check::github(outcome),
    }
}

/// Each `--format` with where it goes: its own `=FILE`, else `--output`, else stdout. At most
/// one format may go without a file of its own, and no file may be written twice.
fn output_targets(args: &CheckArgs) -> Result<Vec<(CheckFormat, Option<PathBuf>)>> {
    let unnamed = args.format.iter().filter(|o| o.file.is_none()).count();
    if unnamed > 1 {
        bail!("--format: at most one format may go to stdout or --output; give the others a file (--format sarif=idflow.sarif)");
    }
    let targets: Vec<(CheckFormat, Option<PathBuf>)> = args
        .format
        .iter()
        .map(|o| (o.format, o.file.clone().or_else(|| args.output.clone())))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for file in targets.iter().filter_map(|(_, f)| f.as_ref()) {
        if !seen.insert(file) {
            bail!("--format: {} is the output of two formats", file.display());
        }
    }
    Ok(targets)
}

/// `idflow check`: the CI gate.
///
/// # Errors
/// Rule, declarations, baseline and git errors, output errors (all exit 2).
pub(crate) fn run(args: &CheckArgs) -> Result<ExitStatus> {
    let config_path = super::find_config(&args.path, args.config.as_deref());
    let targets = output_targets(args)?;
    let files = targets.iter().filter_map(|(_, f)| f.as_deref());
    for file in files.chain(args.output.as_deref()) {
        output::refuse_inputs(
            Some(file),
            &args.path,
            &[
                ("baseline", args.baseline.as_deref()),
                ("declarations file", config_path.as_deref()),
            ],
        )?;
    }
    let rules = load_rules(args.common.rules.as_deref())?;
    let found = declarations(args, &rules)?;
    let config = found.as_ref().map(|(_, name)| name.clone());
    let declarations = found.map(|(decl, _)| decl);
    let baseline = args.baseline.as_deref().map(read_baseline).transpose()?;
    let changed = args
        .diff_base
        .as_deref()
        .map(|rev| changed_lines(&args.path, rev))
        .transpose()?;
    let result = scan_with(&args.path, &args.common, &rules)?;
    if !args.common.quiet {
        match &config {
            Some(name) => note(&format!("config: {name}")),
            None => warning(&format!(
                "no {DEFAULT_FILE_NAME} in {} or its ancestors up to the repository root: the default policies apply, with no declarations (see --config)",
                args.path.display()
            )),
        }
    }
    let root: PathBuf = args.path.clone();
    let mut outcome = policy::check(
        &result,
        &CheckInput {
            root: Some(&root),
            declarations: declarations.as_ref(),
            baseline: baseline.as_ref(),
            changed: changed.as_ref(),
        },
    );
    outcome.config = config;
    outcome.link_base = args.link_base.clone().or_else(github_link_base);
    // Code scanning, annotations and PR links place files relative to the repository.
    let mut repository = None;
    if targets.iter().any(|(f, _)| repository_relative(*f)) {
        if let Some(prefix) = repository_prefix(&args.path) {
            let mut relative = outcome.clone();
            relative.relative_to_repository(&prefix);
            repository = Some(relative);
        }
    }
    let rendered: Vec<(Option<PathBuf>, String)> = targets
        .iter()
        .map(|(format, file)| {
            let outcome = match &repository {
                Some(relative) if repository_relative(*format) => relative,
                _ => &outcome,
            };
            (file.clone(), render(*format, outcome))
        })
        .collect();
    let mut files = Vec::new();
    for (file, text) in rendered {
        match file {
            Some(path) => files.push((path, text)),
            // The verdict does not depend on who reads it: a reader that stops early
            // (`| head -n 5`) must not turn a failing gate into a pass, so a closed stdout
            // still exits with it.
            None => match output::emit(None, &text) {
                Err(err) if super::is_broken_pipe(&err) => {}
                other => other?,
            },
        }
    }
    output::emit_all(&files)?;
    let text_on_stdout = targets
        .iter()
        .any(|(f, file)| *f == CheckFormat::Text && file.is_none());
    if !args.common.quiet {
        // The text outcome lists skipped files itself; the other formats carry them in their own
        // fields, and the person running them still sees them here.
        if !text_on_stdout {
            for skipped in &result.skipped {
                warning(&format!("skipped {}", report::text::skipped_line(skipped)));
            }
            for id in &outcome.stale_baseline {
                note(&format!(
                    "note: baseline entry {id} matches no finding any more (stale)"
                ));
            }
            note(&report::check::summary(&outcome));
        }
    }
    let status = if outcome.violations.is_empty() {
        ExitStatus::Pass
    } else {
        ExitStatus::Violation
    };
    Ok(super::scan::strict(&args.common.tuning, &result, status))
}
