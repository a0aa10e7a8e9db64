//! idflow finds where device identifiers and phone numbers flow into network sinks in Rust code.
//!
//! The pipeline, one module per stage, in order:
//!
//! 1. [`discover`]: walk the tree, find crates, their module trees and the `.rs` files to read.
//! 2. [`parse`]: parse every file with `syn`, in parallel; bad files become [`findings::Skipped`].
//! 3. [`ir`]: lower each function to a small expression IR (macro bodies such as `format!` and
//!    `json!` lowered as expressions).
//! 4. [`graph`]: index the program (functions, impls, `use` maps, consts) and build its call graph.
//! 5. [`taint`]: propagate identifier labels through the program, context-sensitively, with
//!    per-context summaries so each function and calling context is analysed once.
//! 6. [`classify`]: turn each source → sink hit into a [`findings::Finding`] with its attributes.
//! 7. [`report`]: render findings as SARIF, JSON or text.
//!
//! [`policy`] evaluates the CI gate's policies (`idflow check`) on a scan's findings.
//!
//! [`rules`] holds the rule pack (YAML, embedded), [`findings`] the serializable model every
//! output renders from, [`progress`] the observer a scan reports its stages to, and [`cli`] the
//! command-line front end. Which module may import which is the layer order of
//! `ARCHITECTURE.md` ("Layers"), held by `tests/architecture.rs`.

pub mod cache;
pub mod classify;
pub mod cli;
pub mod declarations;
pub mod deps;
pub mod diag;
pub mod discover;
pub mod findings;
pub mod graph;
pub mod incremental;
pub mod ir;
pub mod parse;
pub mod policy;
pub mod progress;
pub mod report;
pub mod rules;
pub mod scan;
pub mod taint;

/// Entry points for the fuzz targets under `fuzz/` and for the regression tests that replay
/// the inputs those targets ever crashed on (`tests/regressions.rs`); not a stable API. Each
/// takes arbitrary bytes, goes through the same code path as the CLI, and must return without
/// panicking whatever the bytes are.
#[doc(hidden)]
pub mod fuzzing {
    use std::path::Path;
    use std::sync::OnceLock;

    use crate::discover::SourceFile;
    use crate::ir::FileIr;
    use crate::parse::ParsedFile;
    use crate::rules::index::RuleIndex;
    use crate::rules::RulePack;

    /// A rule file as `--rules DIR` loads it (on top of the default pack): loaded, validated,
    /// indexed, or its errors rendered as the CLI renders them.
    pub fn rules(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let extra = vec![("extra/fuzz.yaml".into(), text.to_string())];
        match RulePack::with_extra_texts(extra) {
            Ok(pack) => {
                let _ = RuleIndex::new(pack.rules());
            }
            Err(errors) => {
                let _ = crate::diag::render_rule_errors(&errors, false);
            }
        }
    }

    /// An `idflow.yaml`: parsed, validated, or its error printed.
    pub fn declarations(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        match crate::declarations::Declarations::parse(text, Path::new("idflow.yaml")) {
            Ok(decl) => {
                let _ = decl.validate();
            }
            Err(err) => {
                let _ = err.to_string();
            }
        }
    }

    /// `data` as the body of each macro whose body idflow lowers as expressions (`format!`,
    /// `json!`, `vec!`, `write!`, ...), in a function that is parsed and lowered.
    pub fn macros(data: &[u8]) {
        let Ok(body) = std::str::from_utf8(data) else {
            return;
        };
        on_scan_stack(|| macro_bodies(body));
    }

    /// [`macros`], on the current thread.
    fn macro_bodies(body: &str) {
        for mac in [
            "format",
            "json",
            "serde_json::json",
            "vec",
            "write",
            "writeln",
            "println",
            "format_args",
            "concat",
            "panic",
        ] {
            for (open, close) in [("(", ")"), ("[", "]"), ("{", "}")] {
                let file = format!("fn f() {{ let _x = {mac}!{open}{body}{close}; }}");
                if let Ok(syntax) = crate::parse::syntax(&file) {
                    let _ = crate::ir::lower::lower_file(&syntax);
                }
            }
        }
    }

    /// One source file as a scan handles it: parsed with `syn` (a leading BOM stripped, as
    /// [`crate::parse`] does), lowered, and the whole analysis run on it.
    pub fn lower(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        on_scan_stack(|| {
            if let Ok(syntax) = crate::parse::syntax(text) {
                analyze_file(crate::ir::lower::lower_file(&syntax));
            }
        });
    }

    /// Runs `work` on a thread with the stack of the scan's workers, as a scan would (on the
    /// fuzzer's or a test's own thread, nesting a scan handles overflowed).
    fn on_scan_stack(work: impl FnOnce() + Send) {
        std::thread::scope(|s| {
            let spawned = std::thread::Builder::new()
                .stack_size(crate::scan::STACK_BYTES)
                .spawn_scoped(s, work);
            if let Ok(handle) = spawned {
                if let Err(panic) = handle.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
    }

    /// Indexes one lowered file as a program and runs the propagation and classification on it.
    pub fn analyze_file(ir: FileIr) {
        static RULES: OnceLock<RuleIndex> = OnceLock::new();
        let rules = RULES.get_or_init(|| RuleIndex::new(RulePack::builtin().rules()));
        let file = ParsedFile {
            source: SourceFile {
                crate_aliases: Vec::new(),
                path: "fuzz/input.rs".into(),
                rel: "input.rs".into(),
                crate_key: String::new(),
                crate_name: None,
                module: Vec::new(),
            },
            ir,
            lines: 0,
            fingerprint: None,
        };
        let program = crate::graph::Program::build(vec![file]);
        let analysis = crate::taint::analyze(&program, rules);
        let _ = crate::classify::classify(&program, rules, &analysis);
    }
}
