//! The whole pipeline behind one call: options in, [`ScanResult`] out.

use std::path::PathBuf;

use crate::findings::{CategoryInfo, ScanResult, Stats};
use crate::rules::index::RuleIndex;
use crate::rules::RulePack;
use crate::{classify, discover, graph, parse, taint};

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Root of the tree; finding paths are relative to it.
    pub root: PathBuf,
    /// Extra exclude globs, matched against paths relative to the root.
    pub excludes: Vec<String>,
}

/// A scan that could not run at all (per-file problems are [`crate::findings::Skipped`] instead).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The root does not exist or is not readable.
    #[error("cannot scan {path}: {source}")]
    Root {
        /// The root given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An exclude glob is malformed.
    #[error("invalid --exclude glob `{glob}`: {message}")]
    BadGlob {
        /// The glob.
        glob: String,
        /// Why.
        message: String,
    },
}

/// Runs the pipeline on `options.root` with `rules`.
///
/// # Errors
/// Only when the scan cannot start (missing root, bad glob); unreadable or broken files are
/// reported in [`ScanResult::skipped`] and the scan goes on.
pub fn run(options: &ScanOptions, rules: &RulePack) -> Result<ScanResult, ScanError> {
    // Deeply nested code recurses deeply in the parser, the lowering and the analysis; a big
    // stack (reserved, not committed) keeps hostile input from overflowing it.
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("idflow-scan".into())
            .stack_size(ANALYSIS_STACK_BYTES)
            .spawn_scoped(s, || run_on_this_thread(options, rules))
            .map_err(|source| ScanError::Root {
                path: options.root.clone(),
                source,
            })?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Stack of the analysis thread and of each parser thread.
const ANALYSIS_STACK_BYTES: usize = 1 << 30;

fn run_on_this_thread(options: &ScanOptions, rules: &RulePack) -> Result<ScanResult, ScanError> {
    let mut clock = StageClock::new();
    let root = &options.root;
    let meta = std::fs::metadata(root).map_err(|source| ScanError::Root {
        path: root.clone(),
        source,
    })?;
    let excludes = discover::exclude_set(&options.excludes)
        .map_err(|(glob, message)| ScanError::BadGlob { glob, message })?;
    let (files, mut skipped) = if meta.is_file() {
        // One file: scanned alone, as a crate root, its path relative to its directory.
        let parent = root.parent().map(PathBuf::from).unwrap_or_default();
        let file = discover::SourceFile {
            path: root.clone(),
            rel: discover::relative(&parent, root),
            crate_key: String::new(),
            crate_name: None,
            module: Vec::new(),
        };
        (vec![file], Vec::new())
    } else {
        discover::discover(root, &excludes)
    };
    let files_found = files.len();
    clock.lap("discover");
    let (parsed, parse_skips) = parse::parse_all(&files, parse::DEFAULT_MAX_FILE_BYTES);
    clock.lap("parse+lower");
    skipped.extend(parse_skips);
    skipped.sort();
    let lines = parsed.iter().map(|p| p.lines).sum();
    let program = graph::Program::build(parsed);
    clock.lap("graph");
    let index = RuleIndex::new(rules.rules());
    let analysis = taint::analyze(&program, &index);
    clock.lap("propagate");
    let findings = classify::classify(&program, &index, &analysis);
    clock.lap("classify");
    let mut categories: Vec<CategoryInfo> = rules
        .rules()
        .categories
        .iter()
        .filter(|c| findings.iter().any(|f| f.category == c.id))
        .map(|c| CategoryInfo {
            id: c.id.clone(),
            name: c.name.clone(),
            gdpr: c.gdpr.clone(),
            fideslang: c.fideslang.clone(),
            play_data_safety: c.play_data_safety.clone(),
            apple_privacy: c.apple_privacy.clone(),
        })
        .collect();
    categories.sort_by(|a, b| a.id.cmp(&b.id));
    let stats = Stats {
        files_found,
        files_analyzed: program.files.len(),
        files_skipped: skipped.len(),
        lines,
        functions: program.fns.len(),
    };
    Ok(ScanResult {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        rules_hash: rules.hash().to_string(),
        findings,
        skipped,
        stats,
        categories,
    })
}

/// Stage timings on stderr when `IDFLOW_TIMING` is set (a debugging aid; the benchmark harness of
/// a later stage reports them properly).
struct StageClock {
    enabled: bool,
    last: std::time::Instant,
}

impl StageClock {
    fn new() -> StageClock {
        StageClock {
            enabled: std::env::var_os("IDFLOW_TIMING").is_some(),
            last: std::time::Instant::now(),
        }
    }

    #[allow(clippy::print_stderr)]
    fn lap(&mut self, stage: &str) {
        if self.enabled {
            eprintln!("idflow: {stage} took {:.2?}", self.last.elapsed());
        }
        self.last = std::time::Instant::now();
    }
}
