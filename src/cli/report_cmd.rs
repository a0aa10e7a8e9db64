//! `idflow report`: scans, joins the findings with the declarations file, renders documents.
//!
//! The glue that does IO: reads `idflow.yaml` (or `--config`), the `--templates` directory,
//! asks git for the scanned commit and its date, reads `SOURCE_DATE_EPOCH`, writes the files.
//! Everything else is the library ([`crate::report::documents`], [`crate::report::disclosure`]).

use std::path::Path;

use anyhow::{bail, Context as _, Result};

use super::args::{ReportArgs, ReportEdition, ReportFormat, ReportKind};
use super::{load_rules, note, output, warning, ExitStatus};
use crate::declarations::{Declarations, DEFAULT_FILE_NAME};
use crate::report::disclosure::{self, DocFormat, Kind};
use crate::report::documents::{self, Edition};
use crate::report::provenance::{Provenance, ProvenanceInput};
use crate::report::tera::Templates;

/// Renders the documents `args` asks for.
///
/// # Errors
/// Rule, declarations, template, date and output errors.
pub(crate) fn run(args: &ReportArgs) -> Result<ExitStatus> {
    let rules = load_rules(args.common.rules.as_deref())?;
    std::fs::metadata(&args.path)
        .with_context(|| format!("cannot scan {}", args.path.display()))?;
    if args.kind != ReportKind::All {
        let config = super::find_config(&args.path, args.config.as_deref());
        output::refuse_inputs(
            args.output.as_deref(),
            &args.path,
            &[("declarations file", config.as_deref())],
        )?;
    }
    let (decl, decl_name) = declarations(args)?;
    let templates = match &args.templates {
        Some(dir) => {
            if !dir.is_dir() {
                bail!("templates directory {} does not exist", dir.display());
            }
            let templates = Templates::load(dir)?;
            if templates.overridden().is_empty() && !args.common.quiet {
                warning(&format!(
                    "{} holds no file named like an embedded template (e.g. notice.html.tera)",
                    dir.display()
                ));
            }
            templates
        }
        None => Templates::builtin()?,
    };
    let jobs = jobs(args)?;
    if args.edition == ReportEdition::Public && args.kind != ReportKind::Notice {
        bail!(
            "--edition public is an edition of the notice (--kind notice); records of processing, data maps and store labels are not published to users as they are"
        );
    }

    let common = &args.common;
    let mut result = super::scan::scan_tree(
        &args.path,
        &common.exclude,
        &common.tuning,
        common.quiet,
        &rules,
    )?;
    // The documents describe what ships; tests, benches, examples and build scripts do not.
    if !common.include_non_shipping {
        result.leave_out_non_shipping();
    }
    let input = ProvenanceInput {
        scanned: scanned_name(&args.path),
        commit: git(&args.path, &["rev-parse", "HEAD"]),
        commit_date: git(&args.path, &["log", "-1", "--format=%cs"]),
        dirty: git(
            &args.path,
            &["status", "--porcelain", "--untracked-files=no", "--", "."],
        )
        .is_some_and(|s| !s.is_empty()),
        date: args.date.clone(),
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
        declarations: decl_name,
    };
    let provenance = Provenance::resolve(&input, &result.tool_version, &result.rules_hash)?;
    let edition = match args.edition {
        ReportEdition::Audit => Edition::Audit,
        ReportEdition::Public => Edition::Public,
    };
    let doc = documents::build(&result, &decl, provenance).in_edition(edition);

    if !args.common.quiet {
        for skipped in &result.skipped {
            warning(&format!(
                "skipped {}",
                crate::report::text::skipped_line(skipped)
            ));
        }
    }
    if args.kind == ReportKind::All {
        let Some(dir) = &args.output else {
            bail!("--kind all writes several files: give a directory with --output DIR");
        };
        // Every document is rendered before any is written: a template that fails leaves the
        // directory as it was, not half-updated.
        let rendered = jobs
            .iter()
            .map(|(kind, format)| {
                let text = disclosure::render(*kind, *format, &doc, &templates)?;
                Ok((dir.join(kind.file_name(*format)), text))
            })
            .collect::<Result<Vec<_>>>()?;
        if dir.exists() && !dir.is_dir() {
            bail!(
                "--output {} is a file; --kind all writes several documents into a directory",
                dir.display()
            );
        }
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // All written to temporary files before any replaces its document.
        output::emit_all(&rendered)?;
        if !args.common.quiet {
            for (path, _) in &rendered {
                note(&format!("wrote {}", path.display()));
            }
        }
    } else {
        let (kind, format) = jobs[0];
        let text = disclosure::render(kind, format, &doc, &templates)?;
        output::emit(args.output.as_deref(), &text)?;
        if let (Some(path), false) = (&args.output, args.common.quiet) {
            note(&format!("wrote {}", path.display()));
        }
    }
    if !args.common.quiet {
        note(&format!(
            "scanned: {}",
            crate::report::text::summary(&result)
        ));
    }
    if doc.draft && !args.common.quiet {
        warning(&format!(
            "the public notice is marked DRAFT: {} required item{} missing{}",
            doc.required_missing.len(),
            if doc.required_missing.len() == 1 {
                " is"
            } else {
                "s are"
            },
            if doc.coverage.complete {
                ""
            } else {
                " and the analysis is incomplete"
            }
        ));
    }
    if !args.common.quiet && !doc.gaps.is_empty() {
        note(&format!(
            "{} of {} flows have declarations to complete (see \"To be completed\")",
            doc.gaps.len(),
            doc.flows.len()
        ));
    }
    Ok(super::scan::strict(
        &args.common.tuning,
        &result,
        ExitStatus::Pass,
    ))
}

/// The (kind, format) pairs to render.
fn jobs(args: &ReportArgs) -> Result<Vec<(Kind, DocFormat)>> {
    let format = args.format.map(|f| match f {
        ReportFormat::Md => DocFormat::Md,
        ReportFormat::Html => DocFormat::Html,
        ReportFormat::Csv => DocFormat::Csv,
        ReportFormat::Json => DocFormat::Json,
        ReportFormat::Plist => DocFormat::Plist,
    });
    let kind = match args.kind {
        ReportKind::Notice => Kind::Notice,
        ReportKind::Ropa => Kind::Ropa,
        ReportKind::DataSafety => Kind::DataSafety,
        ReportKind::PrivacyManifest => Kind::PrivacyManifest,
        ReportKind::DataMap => Kind::DataMap,
        ReportKind::All => {
            let jobs: Vec<(Kind, DocFormat)> = Kind::ALL
                .iter()
                .flat_map(|k| k.formats().iter().map(move |f| (*k, *f)))
                .filter(|(_, f)| format.is_none_or(|want| want == *f))
                .collect();
            if jobs.is_empty() {
                bail!("no document kind comes in that format");
            }
            return Ok(jobs);
        }
    };
    let format = format.unwrap_or(kind.formats()[0]);
    if !kind.formats().contains(&format) {
        return Err(disclosure::DocumentError::Unsupported { kind, format }.into());
    }
    Ok(vec![(kind, format)])
}

/// The declarations and how the report should name their file.
fn declarations(args: &ReportArgs) -> Result<(Declarations, Option<String>)> {
    let Some(path) = super::find_config(&args.path, args.config.as_deref()) else {
        if !args.common.quiet {
            warning(&format!(
                "no {DEFAULT_FILE_NAME} in {} or its ancestors up to the repository root: every flow is reported as a gap (see --config)",
                args.path.display()
            ));
        }
        return Ok((Declarations::default(), None));
    };
    let decl = Declarations::load(&path)?;
    if args.config.is_none() && !path.starts_with(&args.path) {
        // Found in an ancestor: named relative to the scanned root (`../idflow.yaml`).
        return Ok((decl, Some(super::config_name(&args.path, &path))));
    }
    // Inside the scanned tree the file is named relative to it, outside it by its file name
    // (or the relative path it was given as), so the report never carries an absolute path of
    // the machine it was made on.
    let name = match path.strip_prefix(&args.path) {
        Ok(inside) => inside.display().to_string(),
        Err(_) if path.is_absolute() => path.file_name().map_or_else(
            || DEFAULT_FILE_NAME.to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        Err(_) => path.display().to_string(),
    };
    Ok((decl, Some(name)))
}

/// The scanned directory's own name.
fn scanned_name(root: &Path) -> String {
    root.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.display().to_string())
}

/// Trimmed stdout of `git args` run in `dir`, when git exists and succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = super::git::git(dir).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
