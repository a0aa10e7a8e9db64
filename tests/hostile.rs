//! A hostile tree, generated into a temporary directory by [`corpus`]: broken, huge, deeply nested, looping and
//! adversarial files beside good ones. The CLI must skip every bad file with its reason, never
//! crash, escape everything it quotes from the code, and find in the good files exactly what it
//! finds when they are scanned alone.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

#[path = "hostile/corpus.rs"]
mod corpus;
use corpus::{reads_anything, write_bad_files, write_good_files, Unlock, HOSTILE_DECLARATIONS};

fn idflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("the idflow binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// (category, file, sink line) of every finding.
fn flows(report: &Value) -> BTreeSet<(String, String, u64)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["category"].as_str().unwrap_or_default().to_string(),
                f["sink"]["file"].as_str().unwrap_or_default().to_string(),
                f["sink"]["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// Renders Markdown as GitHub would (CommonMark with tables) and fails if anything quoted from
/// the code or the declarations came out as an element or a link.
fn assert_markdown_inert(name: &str, markdown: &str) {
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    for needle in [
        "<img",
        "<script",
        "<i>",
        "href=\"http:evil",
        "href=\"http://evil",
        "href=\"b\"",
    ] {
        assert!(
            !html.contains(needle),
            "{name}: `{needle}` in the rendered Markdown:\n{html}"
        );
    }
}

/// No raw terminal control character or bidi override in text meant for a terminal or a log.
fn assert_terminal_safe(name: &str, text: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}'] {
        assert!(
            !text.contains(c),
            "{name}: raw {:?} in the output:\n{text}",
            c
        );
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one tree, every output: splitting it would rebuild the tree
fn hostile_tree_is_scanned_skipped_and_escaped() {
    let tree = tempfile::tempdir().expect("tempdir");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    write_good_files(&root.join("src"));
    let good_alone = json(&idflow(&[
        "scan",
        root.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "--no-cache",
    ]));
    write_bad_files(root, elsewhere.path());
    let _unlock = Unlock(root);
    let path = root.to_str().expect("utf-8 path");

    let out = idflow(&["scan", path, "--format", "json", "--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let report = json(&out);

    // Every bad file is listed with its reason.
    let skipped_of = |report: &Value| -> BTreeSet<(String, String)> {
        report["skipped"]
            .as_array()
            .expect("skipped")
            .iter()
            .map(|s| {
                (
                    s["file"].as_str().unwrap_or_default().to_string(),
                    s["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let mut expected: BTreeSet<(String, String)> = [
        ("src/not_utf8.rs", "not-utf8"),
        ("src/syntax.rs", "parse-error"),
        ("src/huge.rs", "too-large"),
        ("src/deeper_than_the_stack.rs", "parse-error"),
    ]
    .iter()
    .map(|(f, r)| ((*f).to_string(), (*r).to_string()))
    .collect();
    if cfg!(unix) {
        for link in [
            "src/loop",
            "src/alias.rs",
            "src/gone.rs",
            "src/outside",
            "src/lib.rs",
        ] {
            expected.insert((link.into(), "symlink".into()));
        }
        if reads_anything(root) {
            eprintln!(
                "note: running as root, the unreadable file and directory are readable; \
                 their skip entries are not checked"
            );
        } else {
            expected.insert(("src/unreadable.rs".into(), "unreadable".into()));
            expected.insert(("src/locked".into(), "unreadable".into()));
        }
    }
    assert_eq!(skipped_of(&report), expected);
    assert_eq!(
        report["stats"]["files_skipped"].as_u64(),
        Some(expected.len() as u64)
    );
    // Each reason says what happened, and no message carries the machine's path.
    let message = |file: &str| -> String {
        report["skipped"]
            .as_array()
            .expect("skipped")
            .iter()
            .find(|s| s["file"] == file)
            .and_then(|s| s["message"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let syntax = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .find(|s| s["file"] == "src/syntax.rs")
        .expect("syntax.rs skipped");
    assert_eq!(
        (syntax["line"].as_u64(), syntax["column"].as_u64()),
        (Some(1), Some(12)),
        "a syntax error says where: {syntax}"
    );
    assert!(message("src/huge.rs").contains("limit"), "{report}");
    if cfg!(unix) {
        assert!(
            message("src/loop").contains("enclosing directory"),
            "{report}"
        );
        assert!(message("src/alias.rs").contains("src/plain.rs"), "{report}");
        assert!(message("src/gone.rs").contains("dangling"), "{report}");
        assert!(message("src/outside").contains("outside"), "{report}");
    }
    assert!(
        !report["skipped"].to_string().contains(path),
        "absolute path in a skip message: {report}"
    );

    // The good files' findings are what they are alone: the bad files change nothing.
    assert_eq!(flows(&report), flows(&good_alone));
    assert!(
        flows(&report).len() >= 6,
        "a flow in each good file: {:?}",
        flows(&report)
    );

    // With a cache, cold then warm: the same findings and the same skip list (skip entries come
    // from the cache too). The runs below use the warm cache.
    let cache = root.join(".cache");
    let cache = cache.to_str().expect("utf-8 path");
    for run in ["cold", "warm"] {
        let out = idflow(&["scan", path, "--format", "json", "--cache", cache]);
        assert_eq!(out.status.code(), Some(0), "{run}: {}", stderr(&out));
        let cached = json(&out);
        assert_eq!(flows(&cached), flows(&good_alone), "{run} cache");
        assert_eq!(skipped_of(&cached), expected, "{run} cache");
    }

    // --strict turns skipped files into exit 2, after writing the output, in every command.
    let out = idflow(&[
        "scan", path, "--format", "json", "--cache", cache, "--strict",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(flows(&json(&out)), flows(&good_alone));
    assert!(stderr(&out).contains("--strict"), "{}", stderr(&out));
    let notice = root.join("notice.md");
    let out = idflow(&[
        "report",
        path,
        "--kind",
        "notice",
        "--output",
        notice.to_str().expect("utf-8"),
        "--cache",
        cache,
        "--date",
        "2026-01-01",
        "--strict",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        notice.is_file(),
        "report --strict still writes the document"
    );
    let baseline = root.join("baseline.json");
    let out = idflow(&[
        "baseline",
        path,
        "--output",
        baseline.to_str().expect("utf-8"),
        "--cache",
        cache,
        "--strict",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        baseline.is_file(),
        "baseline --strict still writes the file"
    );

    // SARIF lists every skipped file as a tool execution notification.
    let out = idflow(&["scan", path, "--format", "sarif", "--cache", cache]);
    let sarif = json(&out);
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert_eq!(notes.len(), expected.len());

    // The text summary says how many files were analysed and how many skipped, and shows
    // control characters from the code instead of sending them to the terminal.
    let out = idflow(&["scan", path, "--cache", cache]);
    let text = String::from_utf8_lossy(&out.stdout);
    let analysed = report["stats"]["files_analyzed"].as_u64().expect("count");
    assert!(
        text.contains(&format!(
            "in {analysed} files analysed, {} skipped",
            expected.len()
        )),
        "{text}"
    );
    assert!(text.contains("\\u{1b}[2J"), "{text}");
    assert_terminal_safe("scan text", &text);
    assert_terminal_safe("scan stderr", &stderr(&out));

    // The gate: violations (exit 1), or 2 with --strict; every format lists the skipped files.
    let out = idflow(&["check", path, "--cache", cache]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_terminal_safe("check text", &text);
    assert!(
        text.contains(&format!("{} skipped", expected.len())),
        "{text}"
    );
    let out = idflow(&[
        "check", path, "--cache", cache, "--format", "json", "--strict",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(skipped_of(&json(&out)), expected);
    let out = idflow(&["check", path, "--cache", cache, "--format", "sarif"]);
    let notes = json(&out)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(notes, expected.len());
    let out = idflow(&["check", path, "--cache", cache, "--format", "github"]);
    assert_terminal_safe("check github", &String::from_utf8_lossy(&out.stdout));
    let out = idflow(&["check", path, "--cache", cache, "--format", "markdown"]);
    let comment = String::from_utf8_lossy(&out.stdout);
    assert!(comment.contains("not analysed"), "{comment}");
    assert_markdown_inert("check markdown", &comment);

    // Every document quotes the code, the file names and the declarations as text.
    std::fs::write(root.join("idflow.yaml"), HOSTILE_DECLARATIONS).expect("w");
    let docs = root.join("docs-out");
    let out = idflow(&[
        "report",
        path,
        "--kind",
        "all",
        "--output",
        docs.to_str().expect("utf-8"),
        "--cache",
        cache,
        "--date",
        "2026-01-01",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut kinds = BTreeSet::new();
    for entry in std::fs::read_dir(&docs).expect("docs") {
        let file = entry.expect("entry").path();
        let text = std::fs::read_to_string(&file).expect("read");
        let name = file.display().to_string();
        assert!(
            !text.contains(root.to_str().expect("utf-8")),
            "{name} holds an absolute path"
        );
        let ext = file
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_string();
        match ext.as_str() {
            "html" => {
                assert!(!text.contains("<script"), "{name}");
                assert!(!text.contains("<img"), "{name}");
                assert!(!text.contains("<i>"), "{name}");
                assert!(
                    text.contains("&lt;img src=x onerror=alert(1)&gt;"),
                    "{name}"
                );
            }
            "csv" => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_path(&file)
                    .expect("csv");
                for record in reader.records() {
                    for cell in record.expect("record").iter() {
                        assert!(
                            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                            "{name}: formula cell {cell:?}"
                        );
                    }
                }
            }
            "md" => assert_markdown_inert(&name, &text),
            "json" => {
                let _: Value = serde_json::from_str(&text).expect("the JSON document parses");
            }
            _ => {}
        }
        kinds.insert(ext);
    }
    assert_eq!(
        kinds,
        ["csv", "html", "json", "md", "xcprivacy"]
            .iter()
            .map(ToString::to_string)
            .collect::<BTreeSet<_>>()
    );
    // The declarations' formulas reached the CSV files (and were neutralised there).
    let ropa = std::fs::read_to_string(docs.join("ropa.csv")).expect("ropa.csv");
    assert!(ropa.contains("'=cmd|"), "{ropa}");
    assert!(ropa.contains("'@evil"), "{ropa}");
}

/// Bad input of every kind: exit 2 with a message naming what and where, never a panic.
#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(rules.join("bad.yaml"), "sources:\n  - id: [unclosed\n").expect("w");
    let garbage = d.join("garbage");
    std::fs::create_dir_all(&garbage).expect("mkdir");
    std::fs::write(garbage.join("x.yaml"), b"\x00\xff\xfe garbage \x01").expect("w");
    let tree = d.join("tree");
    std::fs::create_dir_all(tree.join("src")).expect("mkdir");
    std::fs::write(tree.join("src/main.rs"), "fn main() {}\n").expect("w");
    std::fs::write(tree.join("idflow.yaml"), "controller: [1, 2\n").expect("w");
    let good = d.join("good");
    std::fs::create_dir_all(good.join("src")).expect("mkdir");
    std::fs::write(good.join("src/main.rs"), "fn main() {}\n").expect("w");
    let unref = d.join("unref.yaml");
    std::fs::write(
        &unref,
        "flows:\n  - { category: imei, recipient: a.example, purpose: nope }\n",
    )
    .expect("w");
    let baseline = d.join("baseline.json");
    std::fs::write(&baseline, "not json\n").expect("w");
    let a_file = d.join("a-file");
    std::fs::write(&a_file, "x\n").expect("w");
    let a_dir = d.join("a-dir");
    std::fs::create_dir_all(&a_dir).expect("mkdir");
    let g = good.to_str().expect("utf-8");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    let (unref, baseline, a_file, a_dir) = (s(&unref), s(&baseline), s(&a_file), s(&a_dir));
    let in_file = format!("{a_file}/out.json");
    let t = tree.to_str().expect("utf-8");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["scan", "/nonexistent/tree"], "/nonexistent/tree"),
        (vec!["report", "/nonexistent/tree"], "/nonexistent/tree"),
        (vec!["scan", g, "--rules", &a_file], &a_file),
        (
            vec!["scan", g, "--rules", "/nonexistent/rules"],
            "/nonexistent/rules",
        ),
        (vec!["scan", g, "--threads", "0"], "--threads"),
        (vec!["scan", g, "--output", &a_dir], &a_dir),
        (vec!["scan", g, "--output", &in_file], &a_file),
        (vec!["check", g, "--output", &a_dir], &a_dir),
        (vec!["check", g, "--config", &unref], "purpose `nope`"),
        (
            vec!["check", g, "--config", "/nonexistent/d.yaml"],
            "/nonexistent/d.yaml",
        ),
        (vec!["check", g, "--baseline", &baseline], &baseline),
        (
            vec!["check", g, "--baseline", "/nonexistent/b.json"],
            "/nonexistent/b.json",
        ),
        (vec!["check", g, "--diff-base", "HEAD"], "git"),
        (vec!["report", g, "--config", &unref], "purpose `nope`"),
        (vec!["report", g, "--kind", "all"], "--output"),
        (
            vec!["report", g, "--kind", "all", "--output", &a_file],
            &a_file,
        ),
        (vec!["report", g, "--date", "2026-13-45"], "2026-13-45"),
        (
            vec!["report", g, "--templates", "/nonexistent/tpl"],
            "/nonexistent/tpl",
        ),
        (
            vec!["report", g, "--kind", "notice", "--format", "plist"],
            "plist",
        ),
        (
            vec!["rules", "list", "--rules", rules.to_str().expect("utf-8")],
            "bad.yaml",
        ),
        (
            vec!["scan", t, "--rules", rules.to_str().expect("utf-8")],
            "bad.yaml",
        ),
        (
            vec!["scan", t, "--rules", garbage.to_str().expect("utf-8")],
            "x.yaml",
        ),
        (vec!["scan", t, "--exclude", "a[b"], "a[b"),
        (vec!["scan", t, "--max-file-size", "ten"], "ten"),
        (
            vec!["scan", t, "--output", "/nonexistent/dir/out.json"],
            "/nonexistent/dir",
        ),
        (vec!["report", t, "--kind", "notice"], "idflow.yaml"),
        (vec!["check", t], "idflow.yaml"),
        (
            vec!["baseline", t, "--output", "/nonexistent/dir/b.json"],
            "/nonexistent/dir",
        ),
    ];
    #[cfg(target_os = "linux")]
    let cases = {
        // A directory no file can be created in, whoever runs the test.
        let mut cases = cases;
        cases.push((
            vec!["scan", g, "--output", "/proc/idflow.json"],
            "/proc/idflow.json",
        ));
        cases.push((
            vec!["baseline", g, "--output", "/proc/b.json"],
            "/proc/b.json",
        ));
        cases
    };
    for (args, named) in cases {
        let out = idflow(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.contains(named), "{args:?} should name {named}: {err}");
    }
}

/// A run that fails writes nothing, and an existing output survives it untouched.
#[test]
fn failing_runs_leave_outputs_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/cloud-messenger");
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(rules.join("bad.yaml"), "sinks: 3\n").expect("w");
    let old = d.join("out.json");
    std::fs::write(&old, "OLD").expect("w");
    let out = idflow(&[
        "scan",
        sample,
        "--rules",
        rules.to_str().expect("utf-8"),
        "--format",
        "json",
        "--output",
        old.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&old).expect("read"), "OLD");

    // Every command that writes a file, failing on bad rules, bad declarations or a missing
    // root: the existing output is left exactly as it was, and no temporary file stays behind.
    let bad_rules = rules.to_str().expect("utf-8");
    let unref = d.join("unref.yaml");
    std::fs::write(
        &unref,
        "flows:\n  - { category: imei, recipient: a.example, purpose: nope }\n",
    )
    .expect("w");
    let unref = unref.to_str().expect("utf-8");
    let outputs = d.join("outputs");
    std::fs::create_dir_all(&outputs).expect("mkdir");
    let target = outputs.join("existing");
    let target = target.to_str().expect("utf-8");
    let failing: Vec<Vec<&str>> = vec![
        vec!["scan", "/nonexistent/tree", "--output", target],
        vec!["report", sample, "--rules", bad_rules, "--output", target],
        vec!["report", sample, "--config", unref, "--output", target],
        vec!["report", "/nonexistent/tree", "--output", target],
        vec!["check", sample, "--rules", bad_rules, "--output", target],
        vec!["check", sample, "--config", unref, "--output", target],
        vec!["baseline", sample, "--rules", bad_rules, "--output", target],
        vec!["baseline", "/nonexistent/tree", "--output", target],
    ];
    for args in failing {
        std::fs::write(target, "OLD").expect("w");
        let out = idflow(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(target).expect("read"),
            "OLD",
            "{args:?} touched its output"
        );
        let left: Vec<_> = std::fs::read_dir(&outputs)
            .expect("outputs")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("existing")], "{args:?}");
    }

    // One document of `--kind all` that cannot be written (a directory is in its place): none
    // is replaced, and no temporary file stays behind.
    let blocked = d.join("blocked");
    std::fs::create_dir_all(blocked.join("ropa.csv")).expect("mkdir");
    std::fs::write(blocked.join("notice.md"), "OLD").expect("w");
    let out = idflow(&[
        "report",
        sample,
        "--kind",
        "all",
        "--output",
        blocked.to_str().expect("utf-8"),
        "--date",
        "2026-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("ropa.csv"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(blocked.join("notice.md")).expect("read"),
        "OLD"
    );
    let mut left: Vec<_> = std::fs::read_dir(&blocked)
        .expect("blocked")
        .map(|e| e.expect("entry").file_name())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            std::ffi::OsString::from("notice.md"),
            std::ffi::OsString::from("ropa.csv")
        ]
    );

    // A template that fails to render: no document of `--kind all` is written.
    let templates = d.join("templates");
    std::fs::create_dir_all(&templates).expect("mkdir");
    std::fs::write(templates.join("ropa.md.tera"), "{{ broken").expect("w");
    let docs = d.join("docs");
    std::fs::create_dir_all(&docs).expect("mkdir");
    std::fs::write(docs.join("notice.md"), "OLD").expect("w");
    let out = idflow(&[
        "report",
        sample,
        "--kind",
        "all",
        "--templates",
        templates.to_str().expect("utf-8"),
        "--output",
        docs.to_str().expect("utf-8"),
        "--date",
        "2026-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    let written: Vec<_> = std::fs::read_dir(&docs)
        .expect("docs")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(written, vec![std::ffi::OsString::from("notice.md")]);
    assert_eq!(
        std::fs::read_to_string(docs.join("notice.md")).expect("read"),
        "OLD"
    );
}

/// Markup in the code stays text in a browser: headless Chromium, when installed, builds the
/// report's DOM and no element comes out of the quoted code. (Without Chromium the HTML checks
/// of `hostile_tree_is_scanned_skipped_and_escaped` still hold; `docs/report-xss-check.png` is
/// the rendered page.)
#[test]
fn browser_shows_markup_in_code_as_text() {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(browser) = browser else {
        eprintln!("note: no headless Chromium here; DOM check not run");
        return;
    };
    let tree = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(tree.path().join("src")).expect("mkdir");
    write_good_files(&tree.path().join("src"));
    let html = tree.path().join("notice.html");
    let out = idflow(&[
        "report",
        tree.path().to_str().expect("utf-8"),
        "--kind",
        "notice",
        "--format",
        "html",
        "--output",
        html.to_str().expect("utf-8"),
        "--no-cache",
        "--date",
        "2026-01-01",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let profile = tempfile::tempdir().expect("tempdir");
    let dom = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("onerror=alert(1)"),
        "the quoted code is in the page"
    );
    assert!(
        !dom.contains("<img"),
        "no image element came out of the code"
    );
    assert!(
        !dom.contains("<script>alert"),
        "no script element came out of the code"
    );
    assert!(!dom.contains("<i>"), "no element came out of a file name");
}

/// Deep IR on the scan's helper threads: 10,000 nested parentheses, blocks, prefix operators,
/// chained calls and additions, scanned without and with a cache. Encoding cache entries and freeing the program recurse as
/// deeply as lowering did; they run beside the analysis on threads of their own, which need the
/// workers' big stacks (with the default 2 MiB, the process aborted with "has overflowed its
/// stack" after writing its output).
#[test]
fn deep_ir_on_helper_threads_does_not_overflow() {
    let tree = tempfile::tempdir().expect("tempdir");
    let src = tree.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    let depth = 10_000;
    std::fs::write(
        src.join("deep.rs"),
        format!(
            "pub fn deep() -> i32 {{ {}1{} }}\n",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
    )
    .expect("w");
    std::fs::write(
        src.join("blocks.rs"),
        format!(
            "pub fn blocks() {{ {}{} }}\n",
            "{".repeat(depth),
            "}".repeat(depth)
        ),
    )
    .expect("w");
    // Deep without brackets: prefix operators, a method chain, a sum.
    let ops = format!(
        "pub fn neg(x: i32) -> i32 {{ {}x }}\npub fn chain(x: String) -> String {{ x{} }}\npub fn sum(x: i32) -> i32 {{ x{} }}\n",
        "-".repeat(depth),
        ".clone()".repeat(depth),
        " + 1".repeat(depth)
    );
    std::fs::write(src.join("ops.rs"), ops).expect("w");
    let cache = tree.path().join(".cache");
    let path = tree.path().to_str().expect("utf-8");
    for args in [
        vec!["scan", path, "--no-cache"],
        vec!["scan", path, "--cache", cache.to_str().expect("utf-8")],
        vec!["scan", path, "--cache", cache.to_str().expect("utf-8")],
    ] {
        let out = idflow(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("3 files analysed"),
            "{args:?}"
        );
    }
}

/// Issue 15, item 1 and 2: files nested deeply by operators, keywords and chains (800 KB of
/// `!`, a 3-million-term sum, `return return ..`, `a = a = ..`, `..=..=`, `|| ||`, prefix `&*-`,
/// casts, an 80 KB `x()()()..`) are skipped with a reason and a position while the rest of the
/// tree is analysed; a 20 KB call chain is analysed quickly (its lowering was quadratic: 100 s).
#[test]
fn issue_15_operator_chains_are_skipped_with_a_position() {
    let tree = tempfile::tempdir().expect("tempdir");
    let src = tree.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    write_good_files(&src);
    let deep = corpus::write_operator_chains(&src);
    let started = std::time::Instant::now();
    let out = idflow(&[
        "scan",
        tree.path().to_str().expect("utf-8"),
        "--format",
        "json",
        "--no-cache",
    ]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let skipped: Vec<&Value> = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .collect();
    for name in &deep {
        let file = format!("src/{name}");
        let entry = skipped
            .iter()
            .find(|s| s["file"] == file.as_str())
            .unwrap_or_else(|| panic!("{file} is not skipped: {report}"));
        assert_eq!(entry["reason"], "parse-error", "{entry}");
        assert!(
            entry["message"]
                .as_str()
                .unwrap_or_default()
                .contains("nested"),
            "{entry}"
        );
        assert_eq!(entry["line"], 1, "{entry}");
        assert!(entry["column"].as_u64().is_some_and(|c| c > 1), "{entry}");
    }
    assert_eq!(skipped.len(), deep.len(), "{report}");
    assert!(
        flows(&report).len() >= 6,
        "the good files are analysed: {report}"
    );
    // Generating and reading 10 MB of chains included; the quadratic lowering alone took 100 s.
    assert!(took.as_secs() < 30, "the scan took {took:?}");
}

/// Runs idflow with `args` under `timeout`, so that a hang fails the test instead of stalling it.
#[cfg(unix)]
fn idflow_within(seconds: u32, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg(seconds.to_string())
        .arg(env!("CARGO_BIN_EXE_idflow"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("timeout and the idflow binary run")
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Issue 15, item 4: a FIFO named `*.rs` in the tree is listed as skipped (it was dropped
/// silently); a FIFO among the cache's packs, in place of the scan record, or in a `--rules`
/// directory does not hang the run (each hung it).
#[cfg(unix)]
#[test]
fn issue_15_fifos_are_skipped_never_opened() {
    let tree = tempfile::tempdir().expect("tempdir");
    let src = tree.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    write_good_files(&src);
    mkfifo(&src.join("pipe.rs"));
    let path = tree.path().to_str().expect("utf-8");
    let cache = tempfile::tempdir().expect("tempdir");
    let cache_dir = cache.path().to_str().expect("utf-8");
    let cold = idflow_within(
        120,
        &["scan", path, "--format", "json", "--cache", cache_dir],
    );
    assert_eq!(cold.status.code(), Some(0), "{}", stderr(&cold));
    let report = json(&cold);
    let pipe = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .find(|s| s["file"] == "src/pipe.rs")
        .unwrap_or_else(|| panic!("the FIFO is listed: {report}"));
    assert!(
        pipe["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not a regular file"),
        "{pipe}"
    );
    // FIFOs beside the packs and in place of the scan record.
    for entry in walkdir::WalkDir::new(cache.path()) {
        let entry = entry.expect("walk");
        let name = entry.file_name().to_string_lossy();
        if name.ends_with(".pack") {
            mkfifo(&entry.path().with_file_name("zz-fifo.pack"));
        } else if name.ends_with(".json") {
            std::fs::remove_file(entry.path()).expect("rm");
            mkfifo(entry.path());
        }
    }
    let warm = idflow_within(
        120,
        &["scan", path, "--format", "json", "--cache", cache_dir],
    );
    assert_eq!(
        warm.status.code(),
        Some(0),
        "a FIFO in the cache hung or failed the scan: {}",
        stderr(&warm)
    );
    assert_eq!(flows(&json(&warm)), flows(&report));
    // A FIFO in a rules directory is an error naming it, not a hang.
    let rules = tempfile::tempdir().expect("tempdir");
    mkfifo(&rules.path().join("evil.yaml"));
    let out = idflow_within(
        120,
        &[
            "scan",
            path,
            "--no-cache",
            "--rules",
            rules.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("evil.yaml") && stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

/// Issue 15, item 14: an `idflow.yaml` or a rule file that is a symbolic link out of the tree
/// (to a credentials file) is refused and its content never printed; a declarations file that
/// is not YAML shows at most a line of it.
#[cfg(unix)]
#[test]
fn issue_15_config_symlinks_out_of_the_tree_are_not_read() {
    let tree = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let src = tree.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    write_good_files(&src);
    let secret = outside.path().join("credentials");
    std::fs::write(&secret, "TOKEN=hunter2-secret\nOTHER=second-line-secret\n").expect("write");
    std::os::unix::fs::symlink(&secret, tree.path().join("idflow.yaml")).expect("symlink");
    let rules = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(&secret, rules.path().join("leak.yaml")).expect("symlink");
    let path = tree.path().to_str().expect("utf-8");
    for args in [
        vec!["check", path, "--no-cache"],
        vec!["report", path, "--no-cache"],
        vec![
            "scan",
            path,
            "--no-cache",
            "--rules",
            rules.path().to_str().expect("utf-8"),
        ],
    ] {
        let out = idflow_within(120, &args);
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(all.contains("symbolic link out of"), "{args:?}: {all}");
        assert!(
            !all.contains("hunter2") && !all.contains("second-line"),
            "{args:?}: {all}"
        );
    }
    // Not YAML at all, inside the tree: at most the first line's worth is quoted.
    std::fs::remove_file(tree.path().join("idflow.yaml")).expect("rm");
    let lines: String = (0..50).map(|i| format!("SECRET_{i}=value-{i}\n")).collect();
    std::fs::write(tree.path().join("idflow.yaml"), lines).expect("write");
    let out = idflow_within(120, &["check", path, "--no-cache"]);
    let all = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        !all.contains("SECRET_1=") && !all.contains("value-49"),
        "{all}"
    );
}

/// Issue 15, item 15: report templates cannot call `get_env`, `now()` or `get_random`: a
/// document must be reproducible and must not leak the machine's secrets.
#[test]
fn issue_15_templates_cannot_read_the_environment_clock_or_randomness() {
    let tree = tempfile::tempdir().expect("tempdir");
    let src = tree.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    write_good_files(&src);
    let path = tree.path().to_str().expect("utf-8");
    for call in [
        "get_env(name=\"IDFLOW_TEST_SECRET\")",
        "now()",
        "get_random(end=10)",
    ] {
        let templates = tempfile::tempdir().expect("tempdir");
        for name in ["notice.md.tera", "notice.html.tera"] {
            std::fs::write(
                templates.path().join(name),
                format!("leak: {{{{ {call} }}}}\n"),
            )
            .expect("write");
        }
        let out = Command::new(env!("CARGO_BIN_EXE_idflow"))
            .args(["report", path, "--no-cache", "--templates"])
            .arg(templates.path())
            .env("IDFLOW_TEST_SECRET", "hunter2")
            .env("NO_COLOR", "1")
            .output()
            .expect("idflow runs");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{call}: {all}");
        assert!(
            all.contains("is not available in idflow templates"),
            "{call}: {all}"
        );
        assert!(!all.contains("hunter2"), "{call}: {all}");
    }
}
