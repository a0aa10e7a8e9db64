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
    /// Output format
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Write the report to FILE (atomically) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing on stderr but errors
    #[arg(long, short)]
    pub quiet: bool,
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
