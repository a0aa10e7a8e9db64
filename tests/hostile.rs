//! A hostile tree, generated into a temporary directory: broken, huge, deeply nested, looping and
//! adversarial files beside good ones. The CLI must skip every bad file with its reason, never
//! crash, escape everything it quotes from the code, and find in the good files exactly what it
//! finds when they are scanned alone.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

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

/// Good files: flows idflow must find, some in CRLF, with a BOM or non-ASCII identifiers.
fn write_good_files(src: &Path) {
    let flow = |name: &str, url: &str| {
        format!(
            "pub fn {name}(imei: &str) {{\n    let client = reqwest::blocking::Client::new();\n    let _ = client.post(\"{url}\").body(imei.to_string()).send();\n}}\n"
        )
    };
    std::fs::write(
        src.join("plain.rs"),
        flow("upload", "http://collect.example/a"),
    )
    .expect("w");
    std::fs::write(
        src.join("crlf.rs"),
        flow("upload_crlf", "https://collect.example/b").replace('\n', "\r\n"),
    )
    .expect("w");
    let mut bom = "\u{feff}".to_string();
    bom.push_str(&flow("upload_bom", "http://collect.example/c"));
    std::fs::write(src.join("bom.rs"), bom).expect("w");
    std::fs::write(
        src.join("unicode.rs"),
        "pub fn envoyer(numéro_imei: &str) {\n    let données = numéro_imei.to_string();\n    let _ = reqwest::blocking::Client::new().post(\"http://collect.example/é\").body(données).send();\n}\n",
    )
    .expect("w");
    // Code the reports quote: markup, a formula, Markdown syntax.
    std::fs::write(
        src.join("xss.rs"),
        "pub fn send_imei(imei: &str) {\n    let client = reqwest::blocking::Client::new();\n    let _ = client.post(\"http://x.example/<script>alert(1)</script><img src=x onerror=alert(1)>\").body(format!(\"=cmd|' /C calc'!A0 {imei} | `x` [a](b)\")).send();\n}\n",
    )
    .expect("w");
}

/// Bad files, each of which must be skipped or survived.
fn write_bad_files(root: &Path) {
    let src = root.join("src");
    std::fs::write(
        src.join("not_utf8.rs"),
        b"fn f() { let s = \"\xff\xfe\"; }\n",
    )
    .expect("w");
    std::fs::write(src.join("syntax.rs"), "fn broken( {\n").expect("w");
    let depth = 10_000;
    let deep = format!(
        "pub fn deep() -> i32 {{ {}1{} }}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    std::fs::write(src.join("deep.rs"), deep).expect("w");
    let mut huge = String::from("pub const BLOB: &str = \"");
    huge.push_str(&"x".repeat(20 << 20));
    huge.push_str("\";\n");
    std::fs::write(src.join("huge.rs"), huge).expect("w");
    let mut long = String::new();
    for i in 0..100_000 {
        let _ = writeln!(long, "pub fn f{i}(x: u32) -> u32 {{ x + {i} }}");
    }
    std::fs::write(src.join("long.rs"), long).expect("w");
    let mut macros = String::new();
    for i in 0..20_000 {
        let _ = writeln!(macros, "m!{{ {i} => [a b c] ({{ }}) }}");
    }
    std::fs::write(src.join("macros_only.rs"), macros).expect("w");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(".", src.join("loop")).expect("symlink");
        let locked = src.join("unreadable.rs");
        std::fs::write(&locked, "pub fn f() {}\n").expect("w");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    }
}

/// Whether this process can read a file it has no permission for (root can).
fn reads_anything(root: &Path) -> bool {
    std::fs::read(root.join("src/unreadable.rs")).is_ok()
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

#[test]
fn hostile_tree_is_scanned_skipped_and_escaped() {
    let tree = tempfile::tempdir().expect("tempdir");
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
    write_bad_files(root);
    let path = root.to_str().expect("utf-8 path");

    let out = idflow(&["scan", path, "--format", "json", "--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let report = json(&out);

    // Every bad file is listed with its reason.
    let skipped: BTreeSet<(String, String)> = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap_or_default().to_string(),
                s["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut expected: BTreeSet<(String, String)> = [
        ("src/not_utf8.rs", "not-utf8"),
        ("src/syntax.rs", "parse-error"),
        ("src/huge.rs", "too-large"),
        ("src/loop", "symlink"),
    ]
    .iter()
    .map(|(f, r)| ((*f).to_string(), (*r).to_string()))
    .collect();
    if reads_anything(root) {
        eprintln!("note: running as root, the unreadable file is readable; not checked");
    } else {
        expected.insert(("src/unreadable.rs".into(), "unreadable".into()));
    }
    assert_eq!(skipped, expected);
    assert_eq!(
        report["stats"]["files_skipped"].as_u64(),
        Some(expected.len() as u64)
    );

    // The good files' findings are what they are alone: the bad files change nothing.
    assert_eq!(flows(&report), flows(&good_alone));
    assert!(
        flows(&report).len() >= 5,
        "a flow in each good file: {:?}",
        flows(&report)
    );

    // --strict turns skipped files into exit 2, after writing the output.
    let out = idflow(&["scan", path, "--format", "json", "--no-cache", "--strict"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(flows(&json(&out)), flows(&good_alone));
    assert!(stderr(&out).contains("--strict"));

    // SARIF lists every skipped file as a tool execution notification.
    let out = idflow(&["scan", path, "--format", "sarif", "--no-cache"]);
    let sarif = json(&out);
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert_eq!(notes.len(), expected.len());

    // The text summary says how many files were analysed and how many skipped.
    let out = idflow(&["scan", path, "--no-cache"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{} skipped", expected.len())),
        "{text}"
    );

    // Every document quotes the code as text.
    let docs = root.join("docs-out");
    let out = idflow(&[
        "report",
        path,
        "--kind",
        "all",
        "--output",
        docs.to_str().expect("utf-8"),
        "--no-cache",
        "--date",
        "2026-01-01",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for entry in std::fs::read_dir(&docs).expect("docs") {
        let file = entry.expect("entry").path();
        let text = std::fs::read_to_string(&file).expect("read");
        let name = file.display().to_string();
        assert!(
            !text.contains(root.to_str().expect("utf-8")),
            "{name} holds an absolute path"
        );
        match file.extension().and_then(|e| e.to_str()) {
            Some("html") => {
                assert!(!text.contains("<script>alert"), "{name}");
                assert!(!text.contains("<img src=x"), "{name}");
                assert!(
                    text.contains("&lt;img src=x onerror=alert(1)&gt;"),
                    "{name}"
                );
            }
            Some("csv") => {
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
            Some("md") => {
                for line in text.lines().filter(|l| l.contains("onerror")) {
                    // Quoted code sits in a code span, so Markdown shows it and runs nothing.
                    assert!(line.contains("`` "), "{name}: {line}");
                }
            }
            _ => {}
        }
    }
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
    let t = tree.to_str().expect("utf-8");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["scan", "/nonexistent/tree"], "/nonexistent/tree"),
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
}
