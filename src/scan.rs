//! The whole pipeline behind one call: options in, [`ScanResult`] out.

use std::path::PathBuf;

use crate::findings::{CategoryInfo, Finding, ScanResult, Stats};
use crate::rules::index::RuleIndex;
use crate::rules::RulePack;
use crate::{classify, discover, graph, incremental, parse, taint};

/// The types of [`run_with`]'s observer, re-exported so a caller needs one module.
pub use crate::progress::{Progress, Silent, Stage};

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Root of the tree; finding paths are relative to it.
    pub root: PathBuf,
    /// Extra exclude globs, matched against paths relative to the root.
    pub excludes: Vec<String>,
    /// Files larger than this are skipped with [`crate::findings::SkipReason::TooLarge`].
    pub max_file_bytes: u64,
    /// Worker threads for reading, parsing and lowering (`None`: one per core).
    pub threads: Option<usize>,
    /// The incremental cache (`None`: parse every file).
    pub cache: Option<crate::cache::Cache>,
    /// Debugging aids of the propagation; what they gather goes to [`Observer::debug`].
    pub debug: taint::DebugOptions,
}

impl ScanOptions {
    /// Scans `root` with the defaults: no excludes, the default size limit, every core, no cache.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> ScanOptions {
        ScanOptions {
            root: root.into(),
            excludes: Vec::new(),
            max_file_bytes: parse::DEFAULT_MAX_FILE_BYTES,
            threads: None,
            cache: None,
            debug: taint::DebugOptions::default(),
        }
    }
}

/// A [`Progress`] that also hears what the scan tells about itself for debugging
/// (`IDFLOW_DEBUG` and friends in `cli`). Kept apart from the leaf [`Progress`], whose notes
/// may not name the stages' own types.
pub trait Observer: Progress {
    /// This observer as a plain [`Progress`], for the stages that only report progress.
    fn progress(&self) -> &dyn Progress;
    /// A debugging note of the scan.
    fn debug(&self, note: &DebugNote<'_>) {
        let _ = note;
    }
}

impl Observer for Silent {
    fn progress(&self) -> &dyn Progress {
        self
    }
}

/// A debugging note of a scan, for [`Observer::debug`].
#[derive(Debug)]
pub enum DebugNote<'a> {
    /// The record of the previous scan could not be reused because of this edit.
    FullAnalysis(&'a incremental::Why),
    /// The propagation's timings, and the counters and traces [`ScanOptions::debug`] asks for.
    Propagation(&'a taint::DebugEvent<'a>),
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
    run_with(options, rules, &Silent)
}

/// [`run`], reporting stages and progress to `progress`.
///
/// # Errors
/// As [`run`].
pub fn run_with(
    options: &ScanOptions,
    rules: &RulePack,
    progress: &dyn Observer,
) -> Result<ScanResult, ScanError> {
    // Every stage runs in one pool of `options.threads` workers. Deeply nested code recurses
    // deeply in the parser, the lowering and the analysis; big stacks (reserved, not committed)
    // keep hostile input from overflowing them.
    let mut pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("idflow-{i}"))
        .stack_size(STACK_BYTES);
    if let Some(n) = options.threads {
        pool = pool.num_threads(n);
    }
    let pool = pool.build().map_err(|e| ScanError::Root {
        path: options.root.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    pool.install(|| run_in_pool(options, rules, progress))
}

/// Stack of each worker thread.
pub(crate) const STACK_BYTES: usize = 1 << 30;

fn run_in_pool(
    options: &ScanOptions,
    rules: &RulePack,
    progress: &dyn Observer,
) -> Result<ScanResult, ScanError> {
    let mut clock = StageClock::new(progress);
    clock.start(Stage::Discover, 0);
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
            crate_aliases: Vec::new(),
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
    clock.start(Stage::Parse, files_found as u64);
    let parse::Parsed {
        files: parsed,
        skipped: parse_skips,
        to_cache,
        cache_hits,
        misses,
    } = parse::parse_all(
        &files,
        options.max_file_bytes,
        options.cache.as_ref(),
        progress.progress(),
    );
    skipped.extend(parse_skips);
    skipped.sort();
    let stats = Stats {
        files_found,
        files_analyzed: parsed.len(),
        files_skipped: skipped.len(),
        lines: parsed.iter().map(|p| p.lines).sum(),
        functions: parsed.iter().map(|p| p.ir.fns.len()).sum(),
        non_shipping_left_out: 0,
    };
    let index = RuleIndex::new(rules.rules());
    let record_path = options.cache.as_ref().map(|c| {
        incremental::record_path(c.dir(), root, &options.excludes, options.max_file_bytes)
    });
    clock.start(Stage::Graph, 0);
    let mut writes = CacheWrites {
        cache: options.cache.as_ref(),
        new: to_cache,
        hits: cache_hits,
        misses,
    };
    let record = record_path.as_deref().and_then(incremental::Record::load);
    let verdict = record
        .as_ref()
        .map_or(incremental::Verdict::Stale, |r| r.check(&parsed));
    if let incremental::Verdict::Edited(why) = &verdict {
        progress.debug(&DebugNote::FullAnalysis(why));
    }
    let (findings, categories, calls) = match (record, verdict) {
        (Some(record), incremental::Verdict::Holds) => {
            clock.finish();
            writes.write(&parsed);
            free_beside(parsed);
            record.reused().into_parts()
        }
        (Some(record), incremental::Verdict::IfUnseen(changed)) => {
            let program = graph::Program::indexed(parsed);
            let confirmed = record.confirm(&program, &index, &changed);
            if let Err(why) = &confirmed {
                progress.debug(&DebugNote::FullAnalysis(why));
            }
            if confirmed.is_ok() {
                clock.finish();
                writes.write(&program.files);
                free_beside(program);
                record.reused().into_parts()
            } else {
                let full = FullScan {
                    index: &index,
                    rules,
                    record_path: record_path.as_deref(),
                    debug: options.debug,
                };
                full.run(program, None, writes, &mut clock)
            }
        }
        _ => {
            // With nothing to reuse, the functions are scanned for relevance beside the
            // indexing, which leaves a core free.
            let (program, scans) = graph::Program::indexed_beside(parsed, |files| {
                taint::relevance::scan_files(files, &index)
            });
            let full = FullScan {
                index: &index,
                rules,
                record_path: record_path.as_deref(),
                debug: options.debug,
            };
            full.run(program, Some(scans), writes, &mut clock)
        }
    };
    let network_dependencies =
        crate::deps::network_dependencies(root, &excludes, &rules.network_crates());
    Ok(ScanResult {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        rules_hash: rules.hash().to_string(),
        findings,
        skipped,
        stats,
        categories,
        unresolved: edge_of_model(calls, &network_dependencies),
        network_dependencies,
    })
}

/// The unexplained calls an unmodelled network library may explain: a call into that
/// library's own API (`reqwest_websocket::connect(..)`), or any unexplained call inside a crate
/// whose `Cargo.toml` declares such a library (the socket's `send` method, whose type the code
/// does not say). Sorted by file, line, column, category.
fn edge_of_model(
    calls: Vec<classify::UnresolvedCall>,
    dependencies: &[crate::findings::NetworkDependency],
) -> Vec<crate::findings::Unresolved> {
    let unmodelled: Vec<&crate::findings::NetworkDependency> = dependencies
        .iter()
        .filter(|d| !d.modelled && d.direct())
        .collect();
    if unmodelled.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<crate::findings::Unresolved> = calls
        .into_iter()
        .filter_map(|c| {
            let library = c.library.as_deref();
            let reason = if let Some(d) = unmodelled
                .iter()
                .find(|d| library == Some(d.name.replace('-', "_").as_str()))
            {
                format!("no model for {}", d.name)
            } else {
                let manifest = crate_manifest(&c.crate_key);
                let declared: Vec<&str> = unmodelled
                    .iter()
                    .filter(|d| d.declared_in.contains(&manifest))
                    .map(|d| d.name.as_str())
                    .collect();
                if declared.is_empty() {
                    return None;
                }
                format!(
                    "no rule or program function explains it; {manifest} depends on unmodelled {}",
                    declared.join(", ")
                )
            };
            Some(crate::findings::Unresolved { reason, ..c.edge })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.category, &a.call).cmp(&(
            &b.file,
            b.line,
            b.column,
            &b.category,
            &b.call,
        ))
    });
    out
}

/// The `Cargo.toml` of a crate key (its directory relative to the root, with `#bin/..`,
/// `#tests/..` for the other targets), relative to the root.
fn crate_manifest(crate_key: &str) -> String {
    let dir = crate_key.split('#').next().unwrap_or("");
    if dir.is_empty() || dir == "." {
        "Cargo.toml".to_string()
    } else {
        format!("{dir}/Cargo.toml")
    }
}

/// New cache entries and the keys of those used, to write once the files are lowered.
struct CacheWrites<'a> {
    cache: Option<&'a crate::cache::Cache>,
    new: Vec<crate::cache::Pending>,
    hits: Vec<crate::cache::ContentHash>,
    misses: Vec<(usize, crate::cache::ContentHash)>,
}

impl CacheWrites<'_> {
    /// Encodes the files lowered afresh and writes every new entry (errors only cost the next
    /// scan time; entries are atomic either way).
    fn write(&mut self, files: &[parse::ParsedFile]) {
        if let Some(cache) = self.cache {
            cache.write(
                &self.new,
                parse::miss_entries(files, &self.misses),
                &self.hits,
            );
        }
    }
}

/// The analysis of a scan that could not reuse a previous one.
struct FullScan<'a> {
    index: &'a RuleIndex,
    rules: &'a RulePack,
    record_path: Option<&'a std::path::Path>,
    debug: taint::DebugOptions,
}

impl FullScan<'_> {
    /// Call graph, propagation, classification; the cache written beside the analysis, the
    /// scan's record stored after it.
    fn run(
        &self,
        mut program: graph::Program,
        scans: Option<taint::relevance::Scans>,
        mut writes: CacheWrites<'_>,
        clock: &mut StageClock<'_>,
    ) -> (
        Vec<Finding>,
        Vec<CategoryInfo>,
        Vec<classify::UnresolvedCall>,
    ) {
        program.build_call_graph();
        let (findings, calls, analysis, read_back) = std::thread::scope(|s| {
            let files = &program.files;
            // Encoding deep IR recurses as deeply as lowering did: the writer needs a big stack.
            let writer = std::thread::Builder::new()
                .name("idflow-cache".into())
                .stack_size(STACK_BYTES)
                .spawn_scoped(s, move || writes.write(files));
            let out = analyze(&program, self.index, scans, self.debug, clock);
            if let Ok(writer) = writer {
                let _ = writer.join();
            }
            out
        });
        let categories = categories_of(self.rules, &findings);
        // A file edited during the scan gave its snippets (and ids) from its new bytes: a
        // record would hand them to every later scan of the old bytes.
        let record_path = self.record_path.filter(|_| read_back);
        if let Some(path) = record_path {
            if let Some(record) =
                incremental::Record::new(&program, &analysis, &findings, &categories, &calls)
            {
                record.store(path);
            }
        }
        free_beside((program, analysis));
        (findings, categories, calls)
    }
}

/// Drops `value` on a thread of its own: freeing millions of small IR nodes takes a noticeable
/// part of a large scan, and nothing waits for it. Dropping deep IR recurses as deeply as
/// building it did, so the thread gets the workers' big stack; if it cannot be spawned, the
/// value is dropped here.
fn free_beside<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("idflow-free".into())
        .stack_size(STACK_BYTES)
        .spawn(move || drop(value));
}

/// The propagation and the classification of a full scan over `program` (with its call graph),
/// and whether the files quoted still had the bytes they were parsed from.
fn analyze(
    program: &graph::Program,
    index: &RuleIndex,
    scans: Option<taint::relevance::Scans>,
    debug: taint::DebugOptions,
    clock: &mut StageClock<'_>,
) -> (
    Vec<Finding>,
    Vec<classify::UnresolvedCall>,
    taint::Analysis,
    bool,
) {
    clock.start(Stage::Propagate, 0);
    let progress = clock.progress;
    let observe = |e: &taint::DebugEvent<'_>| progress.debug(&DebugNote::Propagation(e));
    let analysis = taint::analyze_with(program, index, scans, debug, &observe);
    clock.start(Stage::Classify, 0);
    let (findings, read_back) = classify::classify_checked(program, index, &analysis);
    let calls = classify::unresolved_calls(program, index, &analysis);
    clock.finish();
    (findings, calls, analysis, read_back)
}

/// The categories that occur in `findings`, with their texts, sorted by id.
fn categories_of(rules: &RulePack, findings: &[Finding]) -> Vec<CategoryInfo> {
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
    categories
}

/// Tells `progress` when stages start and end, and how long they took.
struct StageClock<'a> {
    progress: &'a dyn Observer,
    current: Option<(Stage, std::time::Instant)>,
}

impl<'a> StageClock<'a> {
    fn new(progress: &'a dyn Observer) -> StageClock<'a> {
        StageClock {
            progress,
            current: None,
        }
    }

    fn start(&mut self, stage: Stage, total: u64) {
        self.finish();
        self.progress.start(stage, total);
        self.current = Some((stage, std::time::Instant::now()));
    }

    fn finish(&mut self) {
        let Some((stage, started)) = self.current.take() else {
            return;
        };
        self.progress.done(stage, started.elapsed());
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), if the platform tells.
#[must_use]
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
