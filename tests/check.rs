//! `idflow check` and `idflow baseline` as CI runs them: the binary on temporary git
//! repositories, the samples, every output format, and the SARIF against the official schema.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const FLOW_FILE: &str = "\
fn read_imei() -> String {
    std::fs::read_to_string(\"/run/modem/imei\").unwrap_or_default()
}

pub fn upload() {
    let imei = read_imei();
    let client = reqwest::blocking::Client::new();
    let _ = client
        .post(\"http://api.example.com/hello\")
        .body(imei)
        .send();
}
";

/// Runs `idflow` with `args` in `dir`.
fn idflow_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // Outside GitHub Actions whatever runs the tests: PR-comment links stay relative.
        .env_remove("GITHUB_SERVER_URL")
        .env_remove("GITHUB_REPOSITORY")
        .env_remove("GITHUB_SHA")
        .output()
        .expect("run idflow")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

/// A git repository with a crate whose `src/lib.rs` is `lib`, committed.
fn repo(lib: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("write");
    std::fs::write(root.join("src/lib.rs"), lib).expect("write");
    git(root, &["init", "-q"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "init"]);
    dir
}

/// A baseline of the current flows makes `check --baseline` pass; a new plaintext IMEI flow
/// then fails naming its file and line, and the old one stays accepted.
#[test]
fn baseline_then_new_flow_fails() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    let out = idflow_in(root, &["baseline", ".", "--output", "idflow-baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let baseline: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("idflow-baseline.json")).expect("read"),
    )
    .expect("baseline is JSON");
    assert_eq!(baseline["schema"], "idflow-baseline/1");
    assert_eq!(baseline["entries"].as_array().map(Vec::len), Some(1));

    let out = idflow_in(root, &["check", ".", "--baseline", "idflow-baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    add_second_flow(root);
    let out = idflow_in(root, &["check", ".", "--baseline", "idflow-baseline.json"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("src/extra.rs:10:"), "{all}");
    assert!(all.contains("deny-new"), "{all}");
    assert!(all.contains("deny-plaintext"), "{all}");
    assert!(
        !all.contains("src/lib.rs:11:"),
        "the baselined flow is not reported: {all}"
    );
}

/// Stable ids survive unrelated edits: lines inserted above and a new function elsewhere.
#[test]
fn baseline_survives_line_shifts() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    let out = idflow_in(root, &["baseline", ".", "-o", "b.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shifted = format!(
        "// a comment\n\nconst X: u32 = 1;\n\n{FLOW_FILE}\npub fn unrelated() -> u32 {{ X }}\n"
    );
    std::fs::write(root.join("src/lib.rs"), shifted).expect("write");
    let out = idflow_in(root, &["check", ".", "--baseline", "b.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The flow removed: its entry is stale, a notice that does not fail the gate.
    std::fs::write(root.join("src/lib.rs"), "pub fn nothing() {}\n").expect("write");
    let out = idflow_in(root, &["check", ".", "--baseline", "b.json"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("(stale)"), "{all}");
    assert!(all.contains("1 stale baseline entries"), "{all}");
}

/// Without a baseline the default policies fail a plaintext, unguarded IMEI flow at its sink.
#[test]
fn plaintext_imei_fails_with_file_and_line() {
    let dir = repo(FLOW_FILE);
    let out = idflow_in(dir.path(), &["check", "."]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("error[deny-plaintext, require-consent]"),
        "{all}"
    );
    assert!(all.contains("src/lib.rs:10:"), "{all}");
    assert!(all.contains(".body(imei)"), "sink snippet shown: {all}");
    assert!(
        all.contains("check failed: 1 violation (1 finding)"),
        "{all}"
    );
}

/// A suppression with a reason passes; without one it is itself a violation.
#[test]
fn suppressions_need_a_reason() {
    let with_reason = FLOW_FILE.replace(
        ".body(imei)",
        ".body(imei) // idflow: allow(imei) reason=\"test device only\"",
    );
    let dir = repo(&with_reason);
    let out = idflow_in(dir.path(), &["check", "."]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("suppressed: test device only"), "{all}");

    // On the line above the sink, with no reason.
    let without = FLOW_FILE.replace(
        "        .body(imei)",
        "        // idflow: allow(imei)\n        .body(imei)",
    );
    let dir = repo(&without);
    let out = idflow_in(dir.path(), &["check", "."]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("suppression-without-reason"), "{all}");
    assert!(!all.contains("deny-plaintext"), "{all}");
}

/// Diff mode ignores a flow committed before REV and catches one added since.
#[test]
fn diff_mode_ignores_old_and_catches_new() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    let out = idflow_in(root, &["check", ".", "--diff-base", "HEAD"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    add_second_flow(root);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "new flow"]);
    let out = idflow_in(root, &["check", ".", "--diff-base", "HEAD~1"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("src/extra.rs:10:"), "{all}");
    assert!(!all.contains("--> src/lib.rs"), "old flow ignored: {all}");
}

/// A diff base missing from the clone is a usage error naming the rev and the fix.
#[test]
fn diff_mode_missing_rev_exits_2() {
    let dir = repo(FLOW_FILE);
    let out = idflow_in(dir.path(), &["check", ".", "--diff-base", "origin/nope"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("origin/nope"), "{all}");
    assert!(all.contains("fetch-depth: 0"), "{all}");

    let plain = tempfile::tempdir().expect("temp dir");
    let out = idflow_in(plain.path(), &["check", ".", "--diff-base", "HEAD"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("needs a git repository"), "{all}");
}

/// A broken rules file, declarations file or baseline exits 2; rule errors name file:line:col.
#[test]
fn config_errors_exit_2() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    std::fs::create_dir(root.join("rules")).expect("mkdir");
    std::fs::write(
        root.join("rules/bad.yaml"),
        "sinks:\n  - id: x-body\n    what: x\n    bogus_key: 1\n",
    )
    .expect("write");
    let out = idflow_in(root, &["check", ".", "--rules", "rules"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    let re = regex::Regex::new(r"bad\.yaml:\d+:\d+: ").expect("regex");
    assert!(re.is_match(&all), "no file:line:col in {all:?}");

    std::fs::write(
        root.join("idflow.yaml"),
        "policies:\n  deny-plaintext: maybe\n",
    )
    .expect("write");
    let out = idflow_in(root, &["check", "."]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("idflow.yaml:2:"), "{all}");
    std::fs::remove_file(root.join("idflow.yaml")).expect("rm");

    std::fs::write(root.join("b.json"), "{").expect("write");
    let out = idflow_in(root, &["check", ".", "--baseline", "b.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// Policies configured in idflow.yaml: consent off, encryption required for imei.
#[test]
fn policies_section_configures_the_gate() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    std::fs::write(
        root.join("idflow.yaml"),
        "policies:\n  deny-plaintext: false\n  require-consent: []\n  require-encryption: [imei]\n  deny-undeclared: false\n",
    )
    .expect("write");
    let out = idflow_in(root, &["check", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let policies: Vec<&str> = json["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|v| v["policy"].as_str())
        .collect();
    assert_eq!(policies, ["require-encryption"]);
    assert_eq!(json["passed"], false);
}

fn sample(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// The vulnerable sample fails on every plaintext, unguarded flow; the fixed one passes.
#[test]
fn samples_default_policies() {
    let out = idflow_in(&sample("cloud-messenger"), &["check", "."]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    for needle in [
        "src/delivery.rs:80:",
        "src/presence.rs:58:",
        "error[deny-plaintext, require-consent]: imei",
        "error[deny-plaintext, require-consent]: phone_number",
    ] {
        assert!(all.contains(needle), "{needle} missing: {all}");
    }
    let out = idflow_in(&sample("cloud-messenger-fixed"), &["check", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Markdown links `file#Lline`; GitHub annotations carry file and line.
#[test]
fn markdown_and_github_formats() {
    let root = sample("cloud-messenger");
    let out = idflow_in(&root, &["check", ".", "--format", "markdown"]);
    let md = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(md.contains("| Policy |"), "{md}");
    // Relative to the repository when the sample sits in a git checkout (`samples/..`).
    assert!(md.contains("src/presence.rs#L58)"), "{md}");
    let out = idflow_in(&root, &["check", ".", "--format", "github"]);
    let gh = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(gh.contains("src/presence.rs,line=58,col="), "{gh}");
    assert_eq!(out.status.code(), Some(1));
}

/// A minimal draft-07 validator for the keywords the SARIF schema uses (type, required,
/// properties, additionalProperties, items, enum, minimum, minItems, $ref, oneOf, anyOf);
/// `format`, `pattern` and `uniqueItems` are not checked.
fn validate(schema: &Value, root: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/definitions/");
        validate(&root["definitions"][name], root, value, at, errors);
        return;
    }
    if let Some(ty) = schema.get("type") {
        let types: Vec<&str> = match ty {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => true,
        });
        if !ok {
            errors.push(format!("{at}: expected {types:?}, got {value}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{at}: {value} not in {options:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n < min {
            errors.push(format!("{at}: {n} < {min}"));
        }
    }
    for (key, any) in [("oneOf", false), ("anyOf", true)] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let passing = options
                .iter()
                .filter(|o| {
                    let mut e = Vec::new();
                    validate(o, root, value, at, &mut e);
                    e.is_empty()
                })
                .count();
            if (any && passing == 0) || (!any && passing != 1) {
                errors.push(format!("{at}: {key} matched {passing}"));
            }
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = required.as_str() {
                if !object.contains_key(key) {
                    errors.push(format!("{at}: missing required `{key}`"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, child) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => validate(sub, root, child, &format!("{at}.{key}"), errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{at}: unknown key `{key}`")),
                    Some(sub @ Value::Object(_)) => {
                        validate(sub, root, child, &format!("{at}.{key}"), errors);
                    }
                    _ => {}
                },
            }
        }
    }
    if let Some(array) = value.as_array() {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if (array.len() as u64) < min {
                errors.push(format!("{at}: fewer than {min} items"));
            }
        }
        if let Some(items) = schema.get("items") {
            for (i, item) in array.iter().enumerate() {
                validate(items, root, item, &format!("{at}[{i}]"), errors);
            }
        }
    }
}

/// The SARIF of `check` validates against the official SARIF 2.1.0 schema (vendored from the
/// serde-sarif crate, `$id` oasis-tcs sarif-schema-2.1.0.json) and deserializes with serde_sarif.
#[test]
fn check_sarif_is_valid_sarif_2_1_0() {
    let schema: Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).expect("schema is JSON");
    let out = idflow_in(
        &sample("cloud-messenger"),
        &["check", ".", "--format", "sarif"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let mut errors = Vec::new();
    validate(&schema, &schema, &log, "$", &mut errors);
    assert!(errors.is_empty(), "schema errors: {errors:#?}");
    let _: serde_sarif::sarif::Sarif =
        serde_json::from_value(log.clone()).expect("serde_sarif reads it");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    let first = &results[0];
    assert!(first["ruleId"]
        .as_str()
        .is_some_and(|r| r.starts_with("idflow-policy/")));
    assert!(first["codeFlows"][0]["threadFlows"][0]["locations"]
        .as_array()
        .is_some_and(|l| l.len() >= 2));
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(rules.iter().all(|r| r["help"]["text"].is_string()));

    // A self-test of the validator: an unknown key in a result is caught.
    let mut broken = log;
    broken["runs"][0]["results"][0]["bogus"] = Value::Bool(true);
    let mut errors = Vec::new();
    validate(&schema, &schema, &broken, "$", &mut errors);
    assert!(!errors.is_empty());
}

/// `docs/diagnostics.md` documents every policy id.
#[test]
fn every_policy_is_documented() {
    let docs = include_str!("../docs/diagnostics.md");
    for policy in idflow::policy::Policy::ALL {
        assert!(
            docs.contains(&format!("### `{}`", policy.id())),
            "docs/diagnostics.md lacks {}",
            policy.id()
        );
    }
}

/// Adds a second plaintext IMEI flow in a new module `src/extra.rs`.
fn add_second_flow(root: &Path) {
    std::fs::write(
        root.join("src/extra.rs"),
        FLOW_FILE
            .replace("upload", "upload_again")
            .replace("/hello", "/v2"),
    )
    .expect("write");
    std::fs::write(root.join("src/lib.rs"), format!("mod extra;\n{FLOW_FILE}")).expect("write");
}

/// A tree with no Rust file is an error in every command that scans, never a pass.
#[test]
fn no_rust_files_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("README.md"), "# not rust\n").expect("write");
    for args in [
        &["scan", "."][..],
        &["check", "."],
        &["report", ".", "--kind", "notice"],
        &["baseline", ".", "--output", "b.json"],
    ] {
        let out = idflow_in(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no Rust files under ."),
            "{args:?}: {}",
            text(&out)
        );
    }
    assert!(!dir.path().join("b.json").exists());
}

/// The finding ids of `idflow scan --format json` in `root`.
fn finding_ids(root: &Path) -> Vec<String> {
    let out = idflow_in(root, &["scan", ".", "--format", "json", "--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_string())
        .collect()
}

/// A comment added on the source or sink line (a trailing `// TODO`, the suppression comment
/// itself) or on the line before does not change a finding's id: only code tokens count, so
/// baselines and SARIF fingerprints survive it.
#[test]
fn comments_keep_finding_ids() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    let before = finding_ids(root);
    assert_eq!(before.len(), 1);
    let edited = FLOW_FILE
        .replace(
            "unwrap_or_default()\n",
            "unwrap_or_default() // TODO: read it once\n",
        )
        .replace(
            "        .body(imei)\n",
            "        // idflow: allow(imei) reason=\"legacy endpoint, removed in 2.0\"\n        .body(imei) /* TODO */ // idflow: allow(imei) reason=\"x\"\n",
        );
    assert_ne!(edited, FLOW_FILE);
    std::fs::write(root.join("src/lib.rs"), edited).expect("write");
    assert_eq!(finding_ids(root), before);
    // The suppression is honoured, by the same id.
    let out = idflow_in(root, &["check", ".", "--format", "json", "--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["suppressed"][0]["finding_id"], before[0].as_str());
}

/// `idflow.yaml` is found in PATH's nearest ancestor up to the repository root, `check` says
/// which one it used, and `--config` works on scan, check, baseline and report.
#[test]
fn config_is_found_from_a_subdirectory() {
    let dir = repo("");
    let root = dir.path();
    std::fs::create_dir_all(root.join("core/src")).expect("mkdir");
    std::fs::write(
        root.join("core/Cargo.toml"),
        "[package]\nname = \"core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("write");
    std::fs::write(root.join("core/src/lib.rs"), FLOW_FILE).expect("write");
    // Without a config the default policies fail the plaintext flow, and check says so.
    let out = idflow_in(root, &["check", "core", "--no-cache"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no idflow.yaml in core"),
        "{}",
        text(&out)
    );
    // At the repository root, it is found from `core/` and turns the policies off.
    std::fs::write(
        root.join("idflow.yaml"),
        "policies:\n  deny-plaintext: false\n  require-consent: []\n  deny-undeclared: false\n",
    )
    .expect("write");
    let out = idflow_in(root, &["check", "core", "--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("config: idflow.yaml"),
        "{}",
        text(&out)
    );
    let out = idflow_in(
        &root.join("core"),
        &["check", ".", "--no-cache", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["config"], "../idflow.yaml");
    // `--config` wins, on every command; a broken one is an error everywhere.
    std::fs::write(
        root.join("strict.yaml"),
        "policies:\n  deny-plaintext: true\n",
    )
    .expect("write");
    let out = idflow_in(
        root,
        &["check", "core", "--config", "strict.yaml", "--no-cache"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("config: strict.yaml"), "{}", text(&out));
    std::fs::write(root.join("broken.yaml"), "controler: x\n").expect("write");
    for args in [
        &["scan", "core", "--config", "broken.yaml"][..],
        &["check", "core", "--config", "broken.yaml"],
        &[
            "baseline",
            "core",
            "--config",
            "broken.yaml",
            "-o",
            "b.json",
        ],
        &["report", "core", "--config", "broken.yaml"],
    ] {
        let out = idflow_in(root, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    // Outside a repository only PATH itself is looked at.
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::write(outside.path().join("idflow.yaml"), "controler: x\n").expect("write");
    std::fs::create_dir_all(outside.path().join("app/src")).expect("mkdir");
    std::fs::write(outside.path().join("app/src/lib.rs"), "pub fn f() {}\n").expect("write");
    let out = idflow_in(outside.path(), &["check", "app", "--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A passing gate still says what it could not see: an unmodelled network dependency is a
/// warning in text, an annotation in GitHub format, a notification in SARIF, and makes the
/// summary say "analysis incomplete".
#[test]
fn gate_lists_unmodelled_network_dependencies() {
    let dir = repo("pub fn f() {}\n");
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nquiche = \"0.11\"\n",
    )
    .expect("write");
    let out = idflow_in(root, &["check", ".", "--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("warning: network dependency quiche (quic) is not modelled by the rule pack: data handed to it is not seen (Cargo.toml)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("check passed: 0 violations (0 findings) in 1 file analysed, 0 skipped; analysis incomplete: 1 unmodelled network dependency (quiche)"),
        "{stdout}"
    );
    let out = idflow_in(root, &["check", ".", "--no-cache", "--format", "github"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "::warning file=Cargo.toml,title=idflow blind spot::network dependency quiche"
        ),
        "{}",
        text(&out)
    );
    let out = idflow_in(root, &["check", ".", "--no-cache", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let run = &sarif["runs"][0];
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"][0]["descriptor"]["id"],
        "unmodelled-network-dependency"
    );
    assert_eq!(
        run["properties"]["unmodelledNetworkDependencies"][0]["crate"],
        "quiche"
    );
}

/// A crate in `core/` of a git repository: SARIF URIs, GitHub annotations and PR-comment links
/// of `check` are relative to the repository root (`core/src/lib.rs`), so GitHub places them;
/// ids stay the same.
#[test]
fn paths_are_relative_to_the_repository() {
    let dir = repo("");
    let root = dir.path();
    std::fs::create_dir_all(root.join("core/src")).expect("mkdir");
    std::fs::write(
        root.join("core/Cargo.toml"),
        "[package]\nname = \"core\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("write");
    std::fs::write(root.join("core/src/lib.rs"), FLOW_FILE).expect("write");
    let out = idflow_in(root, &["check", "core", "--no-cache", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "core/src/lib.rs"
    );
    let out = idflow_in(
        &root.join("core"),
        &["check", ".", "--no-cache", "--format", "github"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("::error file=core/src/lib.rs,line=10,"),
        "{}",
        text(&out)
    );
    let out = idflow_in(
        root,
        &["check", "core", "--no-cache", "--format", "markdown"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("[core/src/lib.rs:10](core/src/lib.rs#L10)"),
        "{}",
        text(&out)
    );
    // The text output for a person in `core/` keeps paths relative to what was scanned.
    let out = idflow_in(&root.join("core"), &["check", ".", "--no-cache"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("--> src/lib.rs:10:"),
        "{}",
        text(&out)
    );
}

/// Issue 15, items 9 and 13: the gate fails on a new flow in a file whose name git quotes
/// (`gerät.rs`), whatever the user's config says about diff prefixes, and git runs no command
/// the scanned repository's `.git/config` names (`core.fsmonitor` would write a marker file).
#[test]
fn issue_15_diff_base_sees_quoted_names_and_runs_no_repository_command() {
    let dir = repo("pub fn nothing() {}\n");
    let root = dir.path();
    std::fs::write(root.join("src/gerät.rs"), FLOW_FILE).expect("write");
    std::fs::write(root.join("src/lib.rs"), "pub mod gerät;\n").expect("write");
    git(root, &["add", "."]);
    // The hostile settings last: the test's own git would run them.
    let marker = root.join("MARKER");
    for (key, value) in [
        ("diff.noprefix", "true".to_string()),
        ("diff.mnemonicPrefix", "true".to_string()),
        ("core.quotepath", "true".to_string()),
        ("core.pager", format!("touch '{}'; cat", marker.display())),
        (
            "core.fsmonitor",
            format!("touch '{}'; false", marker.display()),
        ),
    ] {
        git(root, &["config", key, &value]);
    }
    let out = idflow_in(root, &["check", ".", "--diff-base", "HEAD"]);
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the new flow fails the gate: {all}"
    );
    assert!(all.contains("src/gerät.rs:"), "{all}");
    let out = idflow_in(root, &["report", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !marker.exists(),
        "a command from the repository's .git/config ran"
    );
}

/// Issue 15, item 10: the exit status of `check` is its verdict even when the reader of its
/// output stops early (`idflow check --format github | head -n 5` under `pipefail`).
#[test]
fn issue_15_a_closed_stdout_keeps_the_verdict() {
    let dir = repo(FLOW_FILE);
    for format in ["github", "text", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idflow"))
            .args(["check", ".", "--format", format])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run idflow");
        // The reader goes away before anything is written.
        drop(child.stdout.take());
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(1), "{format}");
    }
}

/// Issue 15, item 11: a policy or flow naming an unknown category (`require-consent: [imeii]`)
/// is an error at its file, line and column (it silently switched the policy off).
#[test]
fn issue_15_unknown_category_in_a_policy_is_an_error_at_its_position() {
    let dir = repo(FLOW_FILE);
    for (yaml, at) in [
        (
            "policies:\n  require-consent: [imei, imeii]\n",
            "idflow.yaml:2:27",
        ),
        (
            "policies:\n  require-encryption:\n    - phone_number\n    - imeii\n",
            "idflow.yaml:4:7",
        ),
    ] {
        std::fs::write(dir.path().join("idflow.yaml"), yaml).expect("write");
        let out = idflow_in(dir.path(), &["check", "."]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{all}");
        assert!(all.contains(at), "{at} in {all}");
        assert!(all.contains("unknown category `imeii`"), "{all}");
    }
}

/// A crate that depends on an unmodelled websocket library (`tokio-websockets`) and hands a
/// phone number to its socket: no flow, one edge-of-model finding.
const BLIND_MAIN: &str = r#"use tokio_websockets::{ClientBuilder, Message};

fn phone_number() -> String {
    std::env::var("PHONE").unwrap_or_default()
}

pub async fn announce() -> Result<(), Box<dyn std::error::Error>> {
    let msisdn = phone_number();
    let (mut ws, _) = ClientBuilder::new()
        .uri("wss://presence.example.com/ws")?
        .connect()
        .await?;
    ws.send(Message::text(msisdn)).await?;
    Ok(())
}
"#;

fn blind_repo() -> tempfile::TempDir {
    let dir = repo(BLIND_MAIN);
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\ntokio-websockets = \"0.4\"\n",
    )
    .expect("write");
    dir
}

/// An edge-of-model finding is a review result (`kind: review`, level `note`, its own rule) in
/// the gate's SARIF and does not fail the gate; with `deny-unresolved: true` it is a violation.
#[test]
fn unresolved_calls_are_reviews_unless_denied() {
    let dir = blind_repo();
    let root = dir.path();
    let out = idflow_in(root, &["check", ".", "--no-cache", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["kind"], "review");
    assert_eq!(results[0]["level"], "note");
    assert_eq!(results[0]["ruleId"], "idflow/unresolved-call");
    assert_eq!(results[0]["properties"]["category"], "phone_number");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        13
    );

    std::fs::write(
        root.join("idflow.yaml"),
        "policies:\n  deny-unresolved: true\n",
    )
    .expect("write");
    let out = idflow_in(root, &["check", ".", "--no-cache", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let violations = json["violations"].as_array().expect("violations");
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0]["policy"], "deny-unresolved");
    assert_eq!(violations[0]["sink"]["line"], 13);

    // A baseline accepts it like any finding.
    let out = idflow_in(root, &["baseline", ".", "--no-cache", "--output", "b.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = idflow_in(root, &["check", ".", "--no-cache", "--baseline", "b.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A finding that violates several policies is one annotation and one SARIF result naming them
/// all, not one per policy.
#[test]
fn one_annotation_per_finding() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    let out = idflow_in(root, &["check", ".", "--no-cache", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let gh = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = gh.lines().filter(|l| l.starts_with("::error")).collect();
    assert_eq!(errors.len(), 1, "{gh}");
    assert!(
        errors[0].contains("title=idflow deny-plaintext%2C require-consent::imei is sent to api.example.com without TLS; imei is sent to api.example.com without a consent check"),
        "{gh}"
    );
    let out = idflow_in(root, &["check", ".", "--no-cache", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["properties"]["policies"],
        serde_json::json!(["deny-plaintext", "require-consent"])
    );
}

/// The text, Markdown and GitHub outputs of `check` on the leaky sample, as users see them.
#[test]
fn check_output_snapshots() {
    let root = sample("cloud-messenger");
    for (format, name) in [
        ("text", "check_sample_text"),
        ("markdown", "check_sample_markdown"),
        ("github", "check_sample_github"),
    ] {
        let out = idflow_in(&root, &["check", ".", "--no-cache", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}

/// One run writes several formats: `--format sarif=FILE --format github` gives the SARIF file
/// and the annotations on stdout from the same scan; two formats without a file is an error.
#[test]
fn one_scan_writes_sarif_and_github() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    let out = idflow_in(
        root,
        &[
            "check",
            ".",
            "--no-cache",
            "--format",
            "sarif=out.sarif",
            "--format",
            "github",
            "--format",
            "markdown=out.md",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let gh = String::from_utf8_lossy(&out.stdout);
    assert!(gh.starts_with("::error file=src/lib.rs,line=10,"), "{gh}");
    let sarif: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("out.sarif")).expect("SARIF written"),
    )
    .expect("SARIF");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(1)
    );
    let md = std::fs::read_to_string(root.join("out.md")).expect("Markdown written");
    assert!(md.contains("[src/lib.rs:10](src/lib.rs#L10)"), "{md}");

    let out = idflow_in(
        root,
        &["check", ".", "--format", "sarif", "--format", "github"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("at most one format may go to stdout"),
        "{}",
        text(&out)
    );
}

/// PR-comment links point to the commit's lines on GitHub: from `--link-base`, or from the
/// GitHub Actions environment.
#[test]
fn markdown_links_to_the_commit() {
    let dir = repo(FLOW_FILE);
    let root = dir.path();
    let out = idflow_in(
        root,
        &[
            "check",
            ".",
            "--no-cache",
            "--format",
            "markdown",
            "--link-base",
            "https://github.com/o/r/blob/abc",
        ],
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("[src/lib.rs:10](https://github.com/o/r/blob/abc/src/lib.rs#L10)"),
        "{md}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(["check", ".", "--no-cache", "--format", "markdown"])
        .current_dir(root)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_SHA", "def")
        .output()
        .expect("run idflow");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("[src/lib.rs:10](https://github.com/o/r/blob/def/src/lib.rs#L10)"),
        "{md}"
    );
}

/// A flow in a crate's `tests/` is still found by `scan`, marked `shipping: false` (JSON,
/// SARIF, a text tag), and left out of `check` and the documents unless
/// `--include-non-shipping`; the gate counts it.
#[test]
fn non_shipping_code_is_marked_and_left_out() {
    let dir = repo("pub fn nothing() {}\n");
    let root = dir.path();
    std::fs::create_dir(root.join("tests")).expect("mkdir");
    std::fs::write(root.join("tests/upload.rs"), FLOW_FILE).expect("write");

    let out = idflow_in(root, &["scan", ".", "--no-cache", "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["findings"][0]["sink"]["file"], "tests/upload.rs");
    assert_eq!(json["findings"][0]["shipping"], false);
    let out = idflow_in(root, &["scan", ".", "--no-cache", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    assert_eq!(
        sarif["runs"][0]["results"][0]["properties"]["shipping"],
        false
    );
    let out = idflow_in(root, &["scan", ".", "--no-cache"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("[non-shipping]"),
        "{}",
        text(&out)
    );

    let out = idflow_in(root, &["check", ".", "--no-cache"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out)
            .contains("check passed: 0 violations (0 findings, 1 in non-shipping code left out)"),
        "{}",
        text(&out)
    );
    let out = idflow_in(
        root,
        &["check", ".", "--no-cache", "--include-non-shipping"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let notice = |extra: &[&str]| {
        let mut args = vec![
            "report",
            ".",
            "--no-cache",
            "--kind",
            "notice",
            "--date",
            "2026-01-01",
        ];
        args.extend_from_slice(extra);
        let out = idflow_in(root, &args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert!(!notice(&[]).contains("IMEI"), "{}", notice(&[]));
    assert!(notice(&["--include-non-shipping"]).contains("IMEI"));
}
