//! Replays, on the stable toolchain and without cargo-fuzz, every input kept under
//! `tests/data/fuzz-regressions/<target>/` through the entry point of the fuzz target of the same
//! name (`idflow::fuzzing::<target>`, which `fuzz/fuzz_targets/<target>.rs` calls). Inputs that
//! made a fuzz target crash, hang or blow up go there, next to hand-written edge cases (billion
//! laughs, deep YAML nesting, unbalanced macro bodies); each must run to the end without a panic.

use std::path::{Path, PathBuf};

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("rules", idflow::fuzzing::rules),
    ("declarations", idflow::fuzzing::declarations),
    ("macros", idflow::fuzzing::macros),
    ("lower", idflow::fuzzing::lower),
];

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz-regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `entry` on `input` on a thread with a scan worker's stack (the CLI analyses files on
/// threads with big stacks; the default 2 MiB of a test thread is not what ships), and says
/// which input failed.
fn replay(target: &str, entry: Entry, input: &Path) {
    let bytes = std::fs::read(input).expect("read input");
    let name = input.display().to_string();
    let outcome = std::thread::Builder::new()
        .name(format!("{target}: {name}"))
        .stack_size(512 << 20)
        .spawn(move || entry(&bytes))
        .expect("spawn")
        .join();
    assert!(outcome.is_ok(), "fuzz target `{target}` panicked on {name}");
}

#[test]
fn every_kept_fuzz_input_runs_without_a_panic() {
    for (target, entry) in TARGETS {
        let files = inputs(target);
        assert!(
            !files.is_empty(),
            "no kept inputs for fuzz target `{target}`"
        );
        for file in files {
            replay(target, *entry, &file);
        }
    }
}

/// The YAML loaders refuse alias bombs instead of expanding them: both files are errors, not
/// gigabytes of memory.
#[test]
fn yaml_alias_bombs_are_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let bomb = std::fs::read_to_string(dir.join("declarations/billion-laughs.yaml")).expect("read");
    assert!(
        idflow::declarations::Declarations::parse(&bomb, Path::new("idflow.yaml")).is_err(),
        "an alias bomb is not a declarations file"
    );
    for name in ["billion-laughs.yaml", "billion-laughs-in-unknown-key.yaml"] {
        let bomb = std::fs::read_to_string(dir.join("rules").join(name)).expect("read");
        let loaded =
            idflow::rules::RulePack::with_extra_texts(vec![("extra/bomb.yaml".into(), bomb)]);
        assert!(loaded.is_err(), "{name} is not a rule file");
    }
}
