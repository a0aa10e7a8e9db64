//! `idflow-bench TREE`: how fast idflow scans a tree, against the physical yardstick of only
//! parsing it.
//!
//! Runs, each in a child process of its own (so peak memory is measured per run):
//!
//! 1. `parse-only`: discovery, then read + `syn::parse_file` of every file on all threads;
//! 2. `cold`: a full scan with an empty cache (what a first run, or CI, pays);
//! 3. `no-cache`: a full scan with `--no-cache` semantics;
//! 4. `warm`: a re-scan with the cache of run 2 after one file was edited (a comment appended,
//!    then restored).
//!
//! Prints files, bytes, lines, wall seconds per stage, MB/s and peak memory of each run, then
//! the ratios the performance goals are stated in (scan / parse-only, warm / cold), and whether
//! every scan found the same findings.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use idflow::cache::Cache;
use idflow::report::{self, Format};
use idflow::rules::RulePack;
use idflow::scan::{self, Observer, Progress, ScanOptions, Stage};

/// The same allocator as the `idflow` binary, for the scans and the parse-only baseline alike.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Times idflow on a tree against a parse-only baseline.
#[derive(Debug, Parser)]
#[command(name = "idflow-bench")]
struct Args {
    /// Tree to measure (e.g. DIR/big from ../shared/corpus/make-corpus.sh DIR)
    tree: PathBuf,
    /// Worker threads (default: one per core)
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the warm re-scan (it appends a comment to one file of TREE and restores it)
    #[arg(long)]
    no_warm: bool,
    /// Runs of each mode; the median is reported
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Write the runs as JSON to FILE as well
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Internal: run one measurement in this process and print it as JSON.
    #[arg(long, hide = true)]
    child: Option<Mode>,
    /// Internal: cache directory of a child scan.
    #[arg(long, hide = true)]
    cache: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    ParseOnly,
    Cold,
    NoCache,
    Warm,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::ParseOnly => "parse-only",
            Mode::Cold => "scan, cold cache",
            Mode::NoCache => "scan, --no-cache",
            Mode::Warm => "scan, warm (1 file edited)",
        }
    }
}

/// One run, as a child prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    mode: Mode,
    files: usize,
    bytes: u64,
    lines: usize,
    wall: f64,
    stages: Vec<(String, f64)>,
    peak_bytes: u64,
    findings: usize,
    skipped: usize,
    /// xxh3 of the JSON findings report, to compare runs.
    digest: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    match args.child {
        Some(Mode::ParseOnly) => print_run(&parse_only(&args.tree, args.threads)?),
        Some(mode) => print_run(&full_scan(mode, &args)?),
        None => orchestrate(&args),
    }
}

#[allow(clippy::print_stdout)]
fn print_run(run: &Run) -> Result<()> {
    println!("{}", serde_json::to_string(run)?);
    Ok(())
}

/// Discovery plus read + `syn::parse_file` of every file, nothing else.
fn parse_only(tree: &Path, threads: Option<usize>) -> Result<Run> {
    let started = Instant::now();
    let (files, _) = idflow::discover::discover(tree, &globset::GlobSet::empty());
    let discovered = started.elapsed();
    let bytes = AtomicU64::new(0);
    let lines = AtomicU64::new(0);
    let parsed = AtomicU64::new(0);
    let work = || {
        files.par_iter().for_each(|f| {
            let Ok(data) = std::fs::read(&f.path) else {
                return;
            };
            bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            lines.fetch_add(bytecount_lines(&data), Ordering::Relaxed);
            if data.len() as u64 > idflow::parse::DEFAULT_MAX_FILE_BYTES {
                return;
            }
            if let Ok(text) = std::str::from_utf8(&data) {
                let text = text.strip_prefix('\u{feff}').unwrap_or(text);
                // As the scan does: the span table of earlier files is freed (see src/parse/mod.rs).
                proc_macro2::extra::invalidate_current_thread_spans();
                if syn::parse_file(text).is_ok() {
                    parsed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    };
    // The same pool shape as the scan's parser: big stacks, the same thread count.
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(256 << 20);
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    pool.build()?.install(work);
    let wall = started.elapsed();
    Ok(Run {
        mode: Mode::ParseOnly,
        files: files.len(),
        bytes: bytes.into_inner(),
        lines: usize::try_from(lines.into_inner()).unwrap_or(usize::MAX),
        wall: wall.as_secs_f64(),
        stages: vec![
            ("discover".into(), discovered.as_secs_f64()),
            ("read+parse".into(), (wall - discovered).as_secs_f64()),
        ],
        peak_bytes: scan::peak_rss_bytes().unwrap_or(0),
        findings: 0,
        skipped: files.len() - usize::try_from(parsed.into_inner()).unwrap_or(0),
        digest: String::new(),
    })
}

fn bytecount_lines(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Stage times reported by the scan.
#[derive(Default)]
struct Stages(Mutex<Vec<(String, f64)>>);

impl Progress for Stages {
    fn done(&self, stage: Stage, elapsed: Duration) {
        if let Ok(mut v) = self.0.lock() {
            v.push((stage.name().to_string(), elapsed.as_secs_f64()));
        }
    }
}

impl Observer for Stages {
    fn progress(&self) -> &dyn Progress {
        self
    }
}

/// A full scan plus rendering of the JSON and SARIF reports.
fn full_scan(mode: Mode, args: &Args) -> Result<Run> {
    let rules =
        RulePack::load(None).map_err(|e| anyhow::anyhow!("rule pack: {} errors", e.len()))?;
    let mut options = ScanOptions::new(&args.tree);
    options.threads = args.threads;
    if mode != Mode::NoCache {
        let dir = args.cache.as_ref().context("a cached scan needs --cache")?;
        options.cache = Some(Cache::new(dir, rules.hash()));
    }
    let stages = Stages::default();
    let started = Instant::now();
    let result = scan::run_with(&options, &rules, &stages)?;
    let render_started = Instant::now();
    let rendered =
        [Format::Json, Format::Sarif, Format::Text].map(|f| report::render(&result, f, false));
    let render = render_started.elapsed();
    let wall = started.elapsed();
    let mut stages = stages.0.into_inner().unwrap_or_default();
    stages.push(("render".into(), render.as_secs_f64()));
    let bytes = tree_bytes(&args.tree);
    drop(rendered);
    Ok(Run {
        mode,
        files: result.stats.files_found,
        bytes,
        lines: result.stats.lines,
        wall: wall.as_secs_f64(),
        stages,
        peak_bytes: scan::peak_rss_bytes().unwrap_or(0),
        findings: result.findings.len(),
        skipped: result.skipped.len(),
        digest: findings_digest(&result)?,
    })
}

/// What must not change between runs: the findings and the skipped files (the JSON report also
/// holds line counts, which the warm run's edit changes).
fn findings_digest(result: &idflow::findings::ScanResult) -> Result<String> {
    let json = serde_json::to_vec(&(&result.findings, &result.skipped))?;
    Ok(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&json)))
}

fn tree_bytes(tree: &Path) -> u64 {
    let (files, _) = idflow::discover::discover(tree, &globset::GlobSet::empty());
    files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum()
}

fn child(mode: Mode, args: &Args, cache: &Path) -> Result<Run> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.arg(&args.tree)
        .arg("--child")
        .arg(
            clap::ValueEnum::to_possible_value(&mode)
                .map_or_else(String::new, |v| v.get_name().to_string()),
        )
        .arg("--cache")
        .arg(cache);
    if let Some(n) = args.threads {
        cmd.arg("--threads").arg(n.to_string());
    }
    let out = cmd.output()?;
    settle();
    if !out.status.success() {
        bail!(
            "{} run failed: {}",
            mode.label(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    let line = text.lines().last().context("child printed nothing")?;
    Ok(serde_json::from_str(line)?)
}

/// The lowest and highest scan / parse-only ratio over the rounds (each round's scans against
/// that round's baseline): on a shared machine the spread says as much as the median.
struct RatioSpread {
    cold: (f64, f64),
    no_cache: (f64, f64),
}

impl RatioSpread {
    fn of(rounds: &[Vec<Run>]) -> RatioSpread {
        let range = |mode: usize| {
            rounds[0]
                .iter()
                .zip(&rounds[mode])
                .map(|(base, run)| run.wall / base.wall)
                .fold((f64::INFINITY, 0.0_f64), |(lo, hi), r| {
                    (lo.min(r), hi.max(r))
                })
        };
        RatioSpread {
            cold: range(1),
            no_cache: range(2),
        }
    }
}

/// Writes dirty pages to disk before the next run: the kernel otherwise flushes a cold scan's
/// hundreds of megabytes of cache files during the run after it, which then pays for them
/// (the `--no-cache` scan, measured right after the cold one, took 10% longer).
fn settle() {
    let _ = Command::new("sync").status();
}

/// The run with the median wall time.
fn median(mut runs: Vec<Run>) -> Option<Run> {
    runs.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let mid = runs.len() / 2;
    (!runs.is_empty()).then(|| runs.swap_remove(mid))
}

/// Appends a comment to one file for the warm run and restores it when dropped.
struct EditedFile {
    path: PathBuf,
    original: Vec<u8>,
}

impl EditedFile {
    fn edit(tree: &Path) -> Result<EditedFile> {
        let (files, _) = idflow::discover::discover(tree, &globset::GlobSet::empty());
        let file = files
            .get(files.len() / 2)
            .context("no Rust file in the tree")?;
        let original = std::fs::read(&file.path)?;
        let mut edited = original.clone();
        edited.extend_from_slice(b"\n// edited by idflow-bench\n");
        std::fs::write(&file.path, edited)?;
        Ok(EditedFile {
            path: file.path.clone(),
            original,
        })
    }
}

impl Drop for EditedFile {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.original);
    }
}

#[allow(clippy::print_stdout)]
fn orchestrate(args: &Args) -> Result<()> {
    // Rounds interleave the modes, so a slow spell of the machine hits them alike; each mode
    // reports its median run.
    let mut rounds: Vec<Vec<Run>> = vec![Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut edited_path = None;
    // Every round's cache is kept to the end: deleting one just before a run slowed that run.
    let mut caches = Vec::new();
    for _ in 0..args.runs.max(1) {
        let cache = tempfile::tempdir()?;
        rounds[0].push(child(Mode::ParseOnly, args, cache.path())?);
        rounds[1].push(child(Mode::Cold, args, cache.path())?);
        rounds[2].push(child(Mode::NoCache, args, cache.path())?);
        if !args.no_warm {
            let edited = EditedFile::edit(&args.tree)?;
            edited_path = Some(edited.path.clone());
            let warm = child(Mode::Warm, args, cache.path());
            drop(edited);
            rounds[3].push(warm?);
        }
        caches.push(cache);
    }
    let spread = RatioSpread::of(&rounds);
    let all_runs = rounds.clone();
    let runs: Vec<Run> = rounds.into_iter().filter_map(median).collect();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let base = &runs[0];
    println!(
        "tree {}: {} files, {:.1} MB, {} lines; {threads} threads; median of {} runs",
        args.tree.display(),
        base.files,
        base.bytes as f64 / 1e6,
        base.lines,
        args.runs.max(1)
    );
    println!(
        "{:<28} {:>8} {:>8} {:>9}  stages (s)",
        "run", "wall s", "MB/s", "peak MiB"
    );
    for r in &runs {
        let stages: Vec<String> = r
            .stages
            .iter()
            .map(|(n, s)| format!("{n} {s:.2}"))
            .collect();
        println!(
            "{:<28} {:>8.2} {:>8.1} {:>9}  {}",
            r.mode.label(),
            r.wall,
            base.bytes as f64 / 1e6 / r.wall,
            r.peak_bytes >> 20,
            stages.join(", ")
        );
    }
    let cold = &runs[1];
    println!(
        "scan (cold) / parse-only: {:.2}x   scan (--no-cache) / parse-only: {:.2}x",
        cold.wall / base.wall,
        runs[2].wall / base.wall
    );
    if args.runs > 1 {
        println!(
            "per round: cold / parse-only {:.2}x to {:.2}x, --no-cache / parse-only {:.2}x to {:.2}x",
            spread.cold.0, spread.cold.1, spread.no_cache.0, spread.no_cache.1
        );
    }
    if let (Some(warm), Some(path)) = (runs.get(3), &edited_path) {
        println!(
            "warm re-scan / cold scan: {:.1}%   (edited: {}, {})",
            100.0 * warm.wall / cold.wall,
            path.display(),
            if warm.stages.iter().any(|(s, _)| s == "propagate") {
                "the analysis ran again"
            } else {
                "the previous analysis still held"
            }
        );
    }
    let scans = &runs[1..];
    let same = scans.iter().all(|r| r.digest == scans[0].digest);
    println!(
        "findings: {} in every scan: {}",
        scans[0].findings,
        if same { "identical" } else { "DIFFERENT" }
    );
    if let Some(path) = &args.json {
        let json = serde_json::json!({ "medians": &runs, "rounds": &all_runs });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
    }
    if !same {
        bail!("the scans disagree on the findings");
    }
    Ok(())
}
