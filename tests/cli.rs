//! The `idflow` binary as a user sees it: `--help` of every subcommand, exit codes, `rules list`,
//! and the SARIF, JSON and text renderers on a hand-built scan result.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use idflow::findings::{
    CategoryInfo, Finding, Location, ScanResult, SkipReason, Skipped, Stats, Step, Transport,
};
use idflow::report::{self, Format};
use serde_json::Value;

/// Runs the binary with `args` in the repository root.
fn idflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the idflow binary runs")
}

/// Replaces the absolute repository path with `{ROOT}` and the version with `{VERSION}`, so
/// snapshots hold across machines and releases.
fn redact(s: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let root_uri = format!("file://{root}");
    s.replace(&root_uri, "file://{ROOT}")
        .replace(root, "{ROOT}")
        .replace(env!("CARGO_PKG_VERSION"), "{VERSION}")
}

/// stdout of `out` as text.
fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr of `out` as text.
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `--help` of the top level and of every subcommand.
#[test]
fn help_snapshots() {
    for (name, args) in [
        ("help", &["--help"][..]),
        ("help_scan", &["scan", "--help"][..]),
        ("help_rules", &["rules", "--help"][..]),
        ("help_rules_list", &["rules", "list", "--help"][..]),
        ("help_report", &["report", "--help"][..]),
        ("help_check", &["check", "--help"][..]),
        ("help_baseline", &["baseline", "--help"][..]),
        ("help_explain", &["explain", "--help"][..]),
    ] {
        let out = idflow(args);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        insta::assert_snapshot!(name, redact(&stdout(&out)));
    }
}

/// `--version` prints the name and the package version.
#[test]
fn version() {
    let out = idflow(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(redact(&stdout(&out)), "idflow {VERSION}\n");
}

/// Exit codes: 0 for help and a good command, 2 for usage, path and rule errors; every error
/// message names what is wrong.
#[test]
fn exit_codes() {
    let broken = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        broken.path().join("broken.yaml"),
        "sinks:\n  - id: x-body\n    what: x\n    bogus_key: 1\n",
    )
    .expect("write rule file");
    let broken_dir = broken.path().to_str().expect("utf-8 temp path");
    let missing = "no/such/dir-idflow-test";

    // (args, expected exit code, text stderr must contain)
    let table: &[(&[&str], i32, &str)] = &[
        (&["--help"], 0, ""),
        (&["--version"], 0, ""),
        (&["rules", "list"], 0, ""),
        (&[], 2, "Usage"),
        (&["--bogus"], 2, "--bogus"),
        (&["scan", "--bogus"], 2, "--bogus"),
        (&["scan", ".", "--format", "xml"], 2, "xml"),
        (&["rules", "list", "--format", "sarif"], 2, "sarif"),
        (&["rules"], 2, "Usage"),
        (&["scan", missing], 2, missing),
        (&["scan", ".", "--rules", missing], 2, missing),
        (&["rules", "list", "--rules", missing], 2, missing),
        (&["rules", "list", "--rules", broken_dir], 2, "broken.yaml:"),
        (&["scan", ".", "--rules", broken_dir], 2, "broken.yaml:"),
    ];
    for (args, code, needle) in table {
        let out = idflow(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(*code), "idflow {args:?}: {err}");
        assert!(
            err.contains(needle),
            "idflow {args:?}: {err:?} lacks {needle:?}"
        );
        if *code == 2 {
            assert!(!err.contains("panicked"), "idflow {args:?} panicked: {err}");
        }
    }
}

/// A rule-file error is reported as `error:` with `file:line:col` of the problem.
#[test]
fn rule_error_names_file_line_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "sinks:\n  - id: x-body\n    what: x\n    bogus_key: 1\n",
    )
    .expect("write rule file");
    let out = idflow(&[
        "rules",
        "list",
        "--rules",
        dir.path().to_str().expect("utf-8"),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    let re = regex::Regex::new(r"bad\.yaml:\d+:\d+: ").expect("regex");
    assert!(re.is_match(&err), "no file:line:col in {err:?}");
}

/// `rules list` shows every group and every category id of the default pack, in text and JSON.
#[test]
fn rules_list_shows_every_category() {
    let out = idflow(&["rules", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for group in [
        "categories",
        "kinds",
        "constructors",
        "sources",
        "sinks",
        "sanitizers",
        "guards",
        "propagators",
    ] {
        assert!(
            text.contains(&format!("\n{group} (")) || text.starts_with(group),
            "{group}"
        );
    }
    let pack = idflow::rules::RulePack::builtin();
    for category in &pack.rules().categories {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(category.id.as_str())),
            "category {} missing from rules list",
            category.id
        );
    }
    let json: Value =
        serde_json::from_slice(&idflow(&["rules", "list", "--format", "json"]).stdout)
            .expect("rules list --format json is JSON");
    assert_eq!(json["schema"], "idflow-rules/1");
    assert_eq!(
        json["categories"].as_array().map(Vec::len),
        Some(pack.rules().categories.len())
    );
}

/// A closed stdout (`idflow rules list | head -0`) exits 0 without an error message.
#[test]
fn broken_pipe_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(["rules", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn idflow");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for idflow");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

/// `--output` writes the report to the file and leaves no temporary file beside it.
#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("src")).expect("mkdir");
    std::fs::write(tree.join("src/main.rs"), "fn main() {}\n").expect("write");
    let report = dir.path().join("out.json");
    let out = idflow(&[
        "scan",
        tree.to_str().expect("utf-8"),
        "--format",
        "json",
        "--output",
        report.to_str().expect("utf-8"),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report written"))
            .expect("report is JSON");
    assert_eq!(json["schema"], "idflow-findings/1");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| Path::new(n).extension().is_none_or(|e| e != "tmp")),
        "temporary file left: {names:?}"
    );
}

// ---- renderers on a hand-built result ----

/// A location in `file` at `line`.
fn at(file: &str, line: u32, column: u32, function: &str, snippet: &str) -> Location {
    Location {
        file: file.to_string(),
        line,
        column,
        function: Some(function.to_string()),
        snippet: snippet.to_string(),
    }
}

/// A scan result with two findings (plaintext and protected) and one skipped file.
fn sample_result() -> ScanResult {
    let source = at(
        "src/device.rs",
        11,
        9,
        "device::read_imei",
        "let imei: String = env.get_string(&raw)?.into();",
    );
    let sink = at(
        "src/presence.rs",
        28,
        10,
        "presence::who_is_online",
        ".json(&query)",
    );
    let call = at(
        "src/main.rs",
        38,
        5,
        "main",
        "let online = presence::who_is_online(&client, &imei, &contacts)?;",
    );
    let plaintext = Finding {
        id: "3f2a9c0d1b7e4a65".to_string(),
        category: "imei".to_string(),
        source_rule: "jni-telephony-imei".to_string(),
        sink_rule: "reqwest-json-body".to_string(),
        source: source.clone(),
        sink: sink.clone(),
        path: vec![
            Step {
                location: source.clone(),
                note: "source: jni-telephony-imei".to_string(),
            },
            Step {
                location: call,
                note: "call who_is_online".to_string(),
            },
            Step {
                location: sink.clone(),
                note: "sink: reqwest-json-body".to_string(),
            },
        ],
        encrypted: false,
        pseudonymized: false,
        consent: false,
        transport: Transport::Plaintext,
        recipient: Some("presence.example.com".to_string()),
        shipping: true,
    };
    let protected = Finding {
        id: "9e1c77aa05d24b10".to_string(),
        category: "phone_number".to_string(),
        source_rule: "name-phone-number".to_string(),
        sink_rule: "reqwest-body".to_string(),
        source: at(
            "src/contacts.rs",
            7,
            13,
            "contacts::numbers",
            "let msisdn = c.phone_number.clone();",
        ),
        sink: at("src/sync.rs", 40, 14, "sync::upload", ".body(sealed)"),
        path: Vec::new(),
        encrypted: true,
        pseudonymized: false,
        consent: true,
        transport: Transport::Tls,
        recipient: None,
        shipping: true,
    };
    ScanResult {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        rules_hash: "0123456789abcdef".to_string(),
        findings: vec![plaintext, protected],
        skipped: vec![Skipped {
            file: "src/broken.rs".to_string(),
            line: Some(3),
            column: Some(7),
            reason: SkipReason::ParseError,
            message: "expected `;`".to_string(),
        }],
        stats: Stats {
            files_found: 6,
            files_analyzed: 5,
            files_skipped: 1,
            lines: 420,
            functions: 17,
            non_shipping_left_out: 0,
        },
        categories: sample_categories(),
        network_dependencies: Vec::new(),
        unresolved: Vec::new(),
    }
}

/// The texts of the two categories in [`sample_result`].
fn sample_categories() -> Vec<CategoryInfo> {
    vec![
        CategoryInfo {
            id: "imei".to_string(),
            name: "IMEI".to_string(),
            gdpr: "A device identifier: an online identifier under GDPR Art. 4(1).".to_string(),
            fideslang: "user.device.device_id".to_string(),
            play_data_safety: "Device or other IDs".to_string(),
            apple_privacy: "NSPrivacyCollectedDataTypeDeviceID".to_string(),
        },
        CategoryInfo {
            id: "phone_number".to_string(),
            name: "Phone number".to_string(),
            gdpr: "Contact data that identifies a person (GDPR Art. 4(1)).".to_string(),
            fideslang: "user.contact.phone_number".to_string(),
            play_data_safety: "Phone number".to_string(),
            apple_privacy: "NSPrivacyCollectedDataTypePhoneNumber".to_string(),
        },
    ]
}

/// SARIF carries every field of the findings contract, and the skipped file as a notification.
#[test]
fn sarif_has_contract_fields() {
    let result = sample_result();
    let sarif: Value =
        serde_json::from_str(&report::render(&result, Format::Sarif, false)).expect("JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "idflow");
    assert_eq!(run["tool"]["driver"]["version"], env!("CARGO_PKG_VERSION"));
    let rule_ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("rule id"))
        .collect();
    assert_eq!(rule_ids, ["idflow/imei", "idflow/phone_number"]);

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    let r = &results[0];
    assert_eq!(r["ruleId"], "idflow/imei");
    let phys = &r["locations"][0]["physicalLocation"];
    assert_eq!(phys["artifactLocation"]["uri"], "src/presence.rs");
    assert_eq!(phys["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(phys["region"]["startLine"], 28);
    assert_eq!(phys["region"]["startColumn"], 10);
    assert_eq!(phys["region"]["snippet"]["text"], ".json(&query)");
    let props = &r["properties"];
    assert_eq!(props["category"], "imei");
    assert_eq!(props["encrypted"], false);
    assert_eq!(props["pseudonymized"], false);
    assert_eq!(props["consent"], false);
    assert_eq!(props["transport"], "plaintext");
    assert_eq!(props["recipient"], "presence.example.com");
    assert_eq!(props["sourceRule"], "jni-telephony-imei");
    assert_eq!(props["sinkRule"], "reqwest-json-body");
    assert_eq!(r["partialFingerprints"]["idflow/v1"], "3f2a9c0d1b7e4a65");
    let flow = r["codeFlows"][0]["threadFlows"][0]["locations"]
        .as_array()
        .expect("thread flow");
    let lines: Vec<i64> = flow
        .iter()
        .map(|l| {
            l["location"]["physicalLocation"]["region"]["startLine"]
                .as_i64()
                .expect("line")
        })
        .collect();
    assert_eq!(lines, [11, 38, 28], "source first, sink last");
    assert_eq!(flow[1]["location"]["message"]["text"], "call who_is_online");
    let message = r["message"]["text"].as_str().expect("message");
    assert!(message.starts_with("IMEI from `let imei"), "{message}");
    assert!(message.contains("(src/device.rs:11)"), "{message}");
    assert!(
        message.contains("presence.example.com, without consent"),
        "{message}"
    );

    // A finding with no path still gets source → sink; an unknown recipient is null.
    let r = &results[1];
    assert_eq!(r["properties"]["recipient"], Value::Null);
    assert_eq!(r["properties"]["transport"], "tls");
    assert_eq!(
        r["codeFlows"][0]["threadFlows"][0]["locations"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "warning");
    assert_eq!(
        note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/broken.rs"
    );
    assert_eq!(
        note["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    assert!(note["message"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("parse-error")));
}

/// SARIF and text output of the hand-built result, as snapshots of the user-facing formats.
#[test]
fn renderer_snapshots() {
    let result = sample_result();
    insta::assert_snapshot!(
        "sarif_sample",
        redact(&report::render(&result, Format::Sarif, false))
    );
    insta::assert_snapshot!(
        "text_sample",
        redact(&report::render(&result, Format::Text, false))
    );
}

/// Rendering twice gives the same bytes.
#[test]
fn renderers_are_deterministic() {
    let result = sample_result();
    for format in [Format::Text, Format::Json, Format::Sarif] {
        assert_eq!(
            report::render(&result, format, false),
            report::render(&result.clone(), format, false)
        );
    }
}

/// JSON carries the schema tag and deserializes back into the same result.
#[test]
fn json_round_trips() {
    let result = sample_result();
    let json = report::render(&result, Format::Json, false);
    let value: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(value["schema"], "idflow-findings/1");
    assert!(
        json.starts_with("{\n  \"schema\": "),
        "schema tag first: {json}"
    );
    let back: ScanResult = serde_json::from_str(&json).expect("deserializes into ScanResult");
    assert_eq!(back, result);
}

/// Text has no ANSI codes without colour, has them with it, and ends with the summary line.
#[test]
fn text_colour_and_summary() {
    let result = sample_result();
    let plain = report::render(&result, Format::Text, false);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(plain.starts_with(
        "imei → reqwest-json-body  plaintext, unencrypted, no consent → presence.example.com\n"
    ));
    assert!(plain.contains(
        "  path    src/device.rs:11 → src/main.rs:38 (call who_is_online) → src/presence.rs:28\n"
    ));
    assert!(plain.contains("skipped src/broken.rs:3:7: parse-error: expected `;`"));
    assert!(
        plain.ends_with(
            "2 findings (1 plaintext, 1 without consent) in 5 files analysed, 1 skipped, 17 functions; analysis incomplete: 1 skipped file\n"
        ),
        "{plain}"
    );
    let colored = report::render(&result, Format::Text, true);
    assert!(colored.contains("\u{1b}["), "{colored}");
}

/// `redact` hides the checkout path and the version.
#[test]
fn redact_hides_root_and_version() {
    let root = env!("CARGO_MANIFEST_DIR");
    let s = format!("{root}/src/main.rs idflow {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(redact(&s), "{ROOT}/src/main.rs idflow {VERSION}");
    assert!(Path::new(root).is_absolute());
}

/// A file that does not parse is listed with its line (in the text report, and on stderr for
/// machine formats) and the scan still exits 0.
#[test]
fn skipped_file_is_reported_and_scan_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() {\n    let x = ;\n}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("src/lib.rs"), "pub fn ok() {}\n").expect("write");
    let root = dir.path().to_str().expect("utf-8");

    let out = idflow(&["scan", root]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("skipped src/main.rs:2:"), "{text}");
    assert!(
        text.ends_with(
            "in 1 file analysed, 1 skipped, 1 function; analysis incomplete: 1 skipped file\n"
        ),
        "{text}"
    );

    let out = idflow(&["scan", root, "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("warning: skipped src/main.rs:2:"));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let note = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(
        note["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );

    let out = idflow(&["scan", root, "--format", "json", "--quiet"]);
    assert_eq!(stderr(&out), "", "--quiet keeps stderr empty");
}

/// A small tree with one flow, for the output tests of issue 15.
#[cfg(unix)]
fn one_flow_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("src")).expect("mkdir");
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() {\n    let imei = std::fs::read_to_string(\"/run/imei\").unwrap();\n    let _ = reqwest::blocking::Client::new().post(\"http://x.example\").body(imei).send();\n}\n",
    )
    .expect("write");
    dir
}

/// Issue 15, item 12: `-o` onto a FIFO writes through it and leaves it a FIFO (the same path
/// replaced `/dev/null` with a regular file); onto a symbolic link it writes the link's target
/// and keeps the link; an existing file keeps its mode.
#[cfg(unix)]
#[test]
fn issue_15_output_onto_special_files_writes_through() {
    use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
    let tree = one_flow_tree();
    let root = tree.path().to_str().expect("utf-8");
    let out_dir = tempfile::tempdir().expect("tempdir");

    let fifo = out_dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read the fifo"))
    };
    let out = idflow(&[
        "scan",
        root,
        "--format",
        "json",
        "-o",
        fifo.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let through = reader.join().expect("reader");
    assert!(through.contains("\"findings\""), "{through}");
    let kind = std::fs::symlink_metadata(&fifo).expect("meta").file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");

    let target = out_dir.path().join("target.json");
    std::fs::write(&target, "old").expect("write");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let link = out_dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = idflow(&[
        "scan",
        root,
        "--format",
        "json",
        "-o",
        link.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link)
        .expect("meta")
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&target)
        .expect("read")
        .contains("\"findings\""));
    let mode = std::fs::metadata(&target)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640, "the mode of the file written over");
}

/// Issue 15, item 12: `-o` onto a file the command reads (a scanned source file, the baseline,
/// the declarations file) is refused with exit 2 and the file is left alone.
#[cfg(unix)]
#[test]
fn issue_15_output_onto_an_input_is_refused() {
    let tree = tempfile::tempdir().expect("tempdir");
    let root = tree.path();
    std::fs::create_dir(root.join("src")).expect("mkdir");
    std::fs::write(root.join("src/main.rs"), "fn main() {}\n").expect("write");
    std::fs::write(root.join("idflow.yaml"), "flows: []\n").expect("write");
    let baseline = root.join("baseline.json");
    let path = root.to_str().expect("utf-8");
    let made = idflow(&["baseline", path, "-o", baseline.to_str().expect("utf-8")]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let main_rs = root.join("src/main.rs");
    let config = root.join("idflow.yaml");
    for (args, victim) in [
        (
            vec!["scan", path, "-o", main_rs.to_str().expect("utf-8")],
            &main_rs,
        ),
        (
            vec!["scan", path, "-o", config.to_str().expect("utf-8")],
            &config,
        ),
        (
            vec![
                "check",
                path,
                "--baseline",
                baseline.to_str().expect("utf-8"),
                "-o",
                baseline.to_str().expect("utf-8"),
            ],
            &baseline,
        ),
        (
            vec!["report", path, "-o", config.to_str().expect("utf-8")],
            &config,
        ),
    ] {
        let before = std::fs::read(victim).expect("read");
        let out = idflow(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("refusing to write"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(victim).expect("read"), before, "{args:?}");
    }
}

/// `idflow explain` prints the documented section of a policy, a SARIF rule id, a skip reason
/// and a rule id, and an unknown id is an error (exit 2).
#[test]
fn explain_prints_the_documentation() {
    let out = idflow(&["explain", "idflow-policy/deny-plaintext"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("deny-plaintext\n\nAn identifier is sent without TLS"),
        "{text}"
    );
    assert!(text.ends_with("(from docs/diagnostics.md)\n"), "{text}");
    let out = idflow(&["explain", "reqwest-json-body"]);
    assert!(
        stdout(&out).contains("(from docs/rules.md)"),
        "{}",
        stdout(&out)
    );
    let out = idflow(&["explain", "no-such-code"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`no-such-code` is no diagnostic code"),
        "{}",
        stderr(&out)
    );
}

/// `--edition public` renders the user-facing notice (marked DRAFT for the leaky sample, with
/// a warning on stderr) and is refused, with exit 2, for documents that have no public edition.
#[test]
fn report_edition_public_is_for_the_notice() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/cloud-messenger");
    let out = idflow(&[
        "report",
        sample,
        "--kind",
        "notice",
        "--edition",
        "public",
        "--date",
        "2026-01-01",
        "--no-cache",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let notice = String::from_utf8_lossy(&out.stdout);
    assert!(
        notice.contains("**DRAFT, not for publication.**"),
        "{notice}"
    );
    assert!(!notice.contains("src/"), "{notice}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("marked DRAFT"));
    let out = idflow(&[
        "report",
        sample,
        "--kind",
        "ropa",
        "--edition",
        "public",
        "--no-cache",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--edition public"));
}
