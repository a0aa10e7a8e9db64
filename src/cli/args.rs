//! The command-line definition (clap derive): what `idflow` accepts, and nothing else.
//!
//! Takes argv, gives a [`Cli`]. Defaults live here so `--help` shows them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Finds where device identifiers and phone numbers flow into network sinks in Rust code.
#[derive(Debug, Parser)]
#[command(
    name = "idflow",
    version,
    about,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a Rust tree and report every identifier → network flow
    Scan(ScanArgs),
    /// Inspect the active rule pack
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Render GDPR disclosure documents (privacy notice, Art. 30 records, store labels, data map)
    Report(ReportArgs),
    /// CI gate: exit 1 when a policy is violated (plaintext, no consent, undeclared, new flows)
    Check(CheckArgs),
    /// Record every current flow as accepted, for `idflow check --baseline`
    Baseline(BaselineArgs),
    /// Print the documentation of a diagnostic code, policy or rule id
    Explain(ExplainArgs),
}

/// Arguments of `idflow explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A diagnostic code (`parse-error`, `rule-unknown-key`), a policy (`deny-plaintext`) or a
    /// rule id (`reqwest-json-body`), also as a SARIF rule id (`idflow-policy/deny-plaintext`)
    #[arg(value_name = "ID")]
    pub id: String,
}

/// `idflow rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List every category, kind, constructor, source, sink, sanitizer, guard and propagator
    List(RulesListArgs),
}

/// Arguments of `idflow scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Root of the tree to scan; finding paths are relative to it
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// Directory of extra rule files (*.yaml) that add to or override the default pack by id
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Skip paths matching GLOB, relative to PATH (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Declarations file (idflow.yaml) to check for errors; `check` and `report` find one in
    /// PATH or its nearest ancestor up to the repository root
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Write the report to FILE (atomically) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing on stderr but errors
    #[arg(long, short)]
    pub quiet: bool,
    /// Cache, threads and size limit.
    #[command(flatten)]
    pub tuning: ScanTuning,
}

/// How a scan runs: cache, parallelism, size limit (shared by every command that scans).
#[derive(Debug, Args)]
pub struct ScanTuning {
    /// Cache directory for parsed files (default: idflow/ under the user's cache directory, or
    /// $IDFLOW_CACHE_DIR)
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache: Option<PathBuf>,
    /// Parse every file, neither reading nor writing the cache
    #[arg(long)]
    pub no_cache: bool,
    /// Worker threads for parsing (default: one per core)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Skip files larger than SIZE (bytes, or with a K, M or G suffix)
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Exit 2 when any file was skipped (after writing the output as usual)
    #[arg(long)]
    pub strict: bool,
}

/// `4096`, `512K`, `10M`, `1G` (powers of 1024; `KiB`, `MB`... accepted too).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 4096, 512K or 10M"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        other => return Err(format!("unknown size unit `{other}` (use K, M or G)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Output formats of `idflow scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// One block per finding, for humans (coloured on a terminal)
    Text,
    /// The findings model as JSON (schema `idflow-findings/1`)
    Json,
    /// SARIF 2.1.0, for code scanning and the benchmark
    Sarif,
}

/// Arguments of `idflow rules list`.
#[derive(Debug, Args)]
pub struct RulesListArgs {
    /// Directory of extra rule files (*.yaml) that add to or override the default pack by id
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// Output formats of `idflow rules list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Grouped, one rule per line with its id and what it matches
    Text,
    /// The merged rule pack as JSON (schema `idflow-rules/1`)
    Json,
}

/// Arguments of `idflow report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Root of the tree to scan; its `idflow.yaml` holds the declarations
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// Which document (`all` writes every kind in every format into the --output directory)
    #[arg(long, value_enum, default_value_t = ReportKind::Notice)]
    pub kind: ReportKind,
    /// Output format (default: the kind's first format; with --kind all, every format)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write to FILE (a DIRECTORY with --kind all, created if missing) instead of stdout
    #[arg(long, short, value_name = "FILE_OR_DIR")]
    pub output: Option<PathBuf>,
    /// Directory of templates that replace embedded ones with the same file name
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Declarations file (default: idflow.yaml in PATH or its nearest ancestor up to the
    /// repository root)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Date printed in the documents (default: SOURCE_DATE_EPOCH, else the commit date)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Edition of the notice: `audit` (with gaps, DPIA screening and the code evidence) or
    /// `public` (what a user reads; marked DRAFT while required items are missing)
    #[arg(long, value_enum, default_value_t = ReportEdition::Audit)]
    pub edition: ReportEdition,
    /// Rule pack, excludes and verbosity, as for `scan`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Editions of the privacy notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportEdition {
    /// Everything, with the evidence from the code
    Audit,
    /// The notice a user reads: no code, paths, commit, gaps table or DPIA
    Public,
}

/// Document kinds of `idflow report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportKind {
    /// Privacy notice (Art. 13/14): md, html
    Notice,
    /// Records of processing activities (Art. 30): md, html, csv
    Ropa,
    /// Google Play data-safety answers: csv, json
    DataSafety,
    /// Apple PrivacyInfo.xcprivacy draft: plist
    PrivacyManifest,
    /// The flow graph: md (Mermaid), html (SVG)
    DataMap,
    /// Every kind in every format, into a directory
    All,
}

/// Output formats of `idflow report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown
    Md,
    /// One self-contained HTML file
    Html,
    /// CSV
    Csv,
    /// JSON
    Json,
    /// XML property list
    Plist,
}

/// Arguments of `idflow check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Root of the tree to scan; its `idflow.yaml` holds the declarations and policies
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// Baseline file: findings in it are accepted, any other finding violates `deny-new`
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Declarations file (default: idflow.yaml in PATH or its nearest ancestor up to the
    /// repository root)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format, repeatable: FORMAT, or FORMAT=FILE to write it to FILE (one scan,
    /// several outputs)
    ///
    /// text: one block per violation with source and sink code, then a summary line; json: the
    /// outcome (schema `idflow-check/1`); sarif: SARIF 2.1.0 for code scanning, one result per
    /// violation on the sink; markdown: a table for a pull-request comment; github: GitHub
    /// Actions workflow commands (`::error file=..,line=..::`). At most one format goes without
    /// a file of its own (to --output, else stdout).
    #[arg(long, value_name = "FORMAT[=FILE]", value_parser = parse_check_output, default_value = "text")]
    pub format: Vec<CheckOutput>,
    /// Write the format given without a file to FILE (atomically) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only flows whose source, sink or path touches lines changed since REV (git)
    #[arg(long, value_name = "REV")]
    pub diff_base: Option<String>,
    /// Markdown links point to URL/<path>#L<line> (e.g. https://github.com/o/r/blob/<sha>);
    /// default: from GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_SHA when all are set
    #[arg(long, value_name = "URL")]
    pub link_base: Option<String>,
    /// Rule pack, excludes and verbosity, as for `scan`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Output formats of `idflow check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One block per violation with source and sink code, then a summary line
    Text,
    /// The outcome as JSON (schema `idflow-check/1`)
    Json,
    /// SARIF 2.1.0 for code scanning: one result per violation, on the sink
    Sarif,
    /// A Markdown table for a pull-request comment
    Markdown,
    /// GitHub Actions workflow commands (`::error file=..,line=..::`)
    Github,
}

/// One `--format` of `idflow check`: a format and, with `FORMAT=FILE`, its own output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutput {
    /// The format.
    pub format: CheckFormat,
    /// Where it goes; `None`: `--output`, else stdout.
    pub file: Option<PathBuf>,
}

/// `sarif`, `sarif=out.sarif`.
fn parse_check_output(text: &str) -> Result<CheckOutput, String> {
    let (name, file) = match text.split_once('=') {
        Some((name, file)) if !file.is_empty() => (name, Some(PathBuf::from(file))),
        Some((name, _)) => return Err(format!("`{name}=` names no file")),
        None => (text, None),
    };
    let format = CheckFormat::from_str(name, true).map_err(|_| {
        let names: Vec<String> = CheckFormat::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        format!("unknown format `{name}` (one of {})", names.join(", "))
    })?;
    Ok(CheckOutput { format, file })
}

/// Arguments of `idflow baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Root of the tree to scan
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// Where to write the baseline (atomically)
    #[arg(
        long,
        short,
        value_name = "FILE",
        default_value = "idflow-baseline.json"
    )]
    pub output: PathBuf,
    /// Declarations file (idflow.yaml) to check for errors; `check` and `report` find one in
    /// PATH or its nearest ancestor up to the repository root
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Rule pack, excludes and verbosity, as for `scan`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every command that scans takes after its own (`report`, `check`, `baseline`).
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Directory of extra rule files (*.yaml) that add to or override the default pack by id
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Skip paths matching GLOB, relative to PATH (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Print nothing on stderr but errors
    #[arg(long, short)]
    pub quiet: bool,
    /// Keep findings whose source or sink is in tests/, benches/, examples/ or build.rs (left
    /// out by default: they do not ship)
    #[arg(long)]
    pub include_non_shipping: bool,
    /// Cache, threads and size limit, as for `scan`.
    #[command(flatten)]
    pub tuning: ScanTuning,
}

#[cfg(test)]
mod tests {
    use super::{parse_check_output, parse_size, CheckFormat};

    /// `--format FORMAT[=FILE]`: a format alone, with its file, and the errors.
    #[test]
    fn check_outputs_take_a_file() {
        let plain = parse_check_output("github").expect("parses");
        assert_eq!((plain.format, plain.file), (CheckFormat::Github, None));
        let sarif = parse_check_output("sarif=out/idflow.sarif").expect("parses");
        assert_eq!(sarif.format, CheckFormat::Sarif);
        assert_eq!(
            sarif.file.as_deref(),
            Some(std::path::Path::new("out/idflow.sarif"))
        );
        assert!(parse_check_output("sarif=").is_err());
        assert!(parse_check_output("xml=a.xml")
            .expect_err("unknown")
            .contains("one of text, json, sarif, markdown, github"));
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10X").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
