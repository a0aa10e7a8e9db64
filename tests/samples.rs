//! Snapshots of the user-facing outputs (text, JSON, SARIF) for both bundled samples, and the
//! guarantees a release manager relies on: same input, byte-identical output; findings in the
//! JSON carry stable ids; the leaky sample's flows are plaintext and unguarded, the fixed one's
//! encrypted, TLS and opt-in.

use std::path::PathBuf;

use idflow::findings::{ScanResult, Transport};
use idflow::report::{self, Format};
use idflow::rules::RulePack;
use idflow::scan::{self, ScanOptions};

fn scan_sample(name: &str) -> ScanResult {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    scan::run(&ScanOptions::new(root), &RulePack::builtin()).expect("sample scans")
}

/// Pins the tool version and the rule-pack hash so snapshots only change with the findings.
fn redact(s: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let hash = RulePack::builtin().hash().to_string();
    s.replace(root, "{ROOT}")
        .replace(env!("CARGO_PKG_VERSION"), "{VERSION}")
        .replace(&hash, "{RULES_HASH}")
}

/// Text, JSON and SARIF of the leaky sample.
#[test]
fn cloud_messenger_outputs() {
    let result = scan_sample("cloud-messenger");
    insta::assert_snapshot!(
        "cloud_messenger_text",
        redact(&report::render(&result, Format::Text, false))
    );
    insta::assert_snapshot!(
        "cloud_messenger_json",
        redact(&report::render(&result, Format::Json, false))
    );
    insta::assert_snapshot!(
        "cloud_messenger_sarif",
        redact(&report::render(&result, Format::Sarif, false))
    );
}

/// Text, JSON and SARIF of the fixed sample.
#[test]
fn cloud_messenger_fixed_outputs() {
    let result = scan_sample("cloud-messenger-fixed");
    insta::assert_snapshot!(
        "cloud_messenger_fixed_text",
        redact(&report::render(&result, Format::Text, false))
    );
    insta::assert_snapshot!(
        "cloud_messenger_fixed_json",
        redact(&report::render(&result, Format::Json, false))
    );
    insta::assert_snapshot!(
        "cloud_messenger_fixed_sarif",
        redact(&report::render(&result, Format::Sarif, false))
    );
}

/// The leaky sample sends the IMEI and phone numbers in plaintext, without consent, to the
/// presence and relay servers.
#[test]
fn leaky_sample_flows_are_plaintext_and_unguarded() {
    let result = scan_sample("cloud-messenger");
    for category in ["imei", "phone_number"] {
        for host in ["presence.parley.example", "relay.parley.example"] {
            assert!(
                result
                    .findings
                    .iter()
                    .any(|f| f.category == category && f.recipient.as_deref() == Some(host)),
                "no {category} flow to {host}"
            );
        }
    }
    for f in &result.findings {
        assert_eq!(f.transport, Transport::Plaintext, "{}", f.id);
        assert!(!f.encrypted && !f.consent, "{}", f.id);
    }
}

/// The fixed sample sends the same categories encrypted, over TLS, only after opt-in.
#[test]
fn fixed_sample_flows_are_encrypted_tls_and_opt_in() {
    let result = scan_sample("cloud-messenger-fixed");
    assert!(result.findings.iter().any(|f| f.category == "imei"));
    assert!(result.findings.iter().any(|f| f.category == "phone_number"));
    for f in &result.findings {
        assert_eq!(f.transport, Transport::Tls, "{}", f.id);
        assert!(f.encrypted && f.consent, "{}", f.id);
    }
}

/// Two scans of the same tree render byte-identical reports, and finding ids are unique.
#[test]
fn outputs_are_deterministic_and_ids_unique() {
    let a = scan_sample("cloud-messenger");
    let b = scan_sample("cloud-messenger");
    for format in [Format::Text, Format::Json, Format::Sarif] {
        assert_eq!(
            report::render(&a, format, false),
            report::render(&b, format, false)
        );
    }
    let mut ids: Vec<&str> = a.findings.iter().map(|f| f.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), a.findings.len());
}

/// A finding's id survives lines shifting above it (a comment added at the top of each file).
#[test]
fn ids_survive_line_shifts() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/cloud-messenger");
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&src, dir.path(), true);
    let original = scan_sample("cloud-messenger");
    let shifted = scan::run(
        &ScanOptions::new(dir.path().to_path_buf()),
        &RulePack::builtin(),
    )
    .expect("shifted sample scans");
    let ids = |r: &ScanResult| {
        let mut v: Vec<String> = r.findings.iter().map(|f| f.id.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(&original), ids(&shifted));
    assert!(shifted
        .findings
        .iter()
        .zip(&original.findings)
        .all(|(s, o)| s.sink.line == o.sink.line + 2));
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path, shift: bool) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target, shift);
        } else if shift && entry.path().extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(entry.path()).expect("read");
            std::fs::write(&target, format!("// shifted\n// by two lines\n{text}")).expect("write");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A single file can be scanned on its own; its path is reported relative to its directory.
#[test]
fn single_file_scan() {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/cloud-messenger/src/presence.rs");
    let result = scan::run(&ScanOptions::new(file), &RulePack::builtin()).expect("file scans");
    assert_eq!(result.stats.files_analyzed, 1);
    assert!(result.findings.iter().all(|f| f.sink.file == "presence.rs"));
}

/// `(source, sink, category)` rows of the "Every finding" table of a sample's `EXPECTED.md`.
fn expected_rows(name: &str) -> std::collections::BTreeSet<(String, String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
        .join("EXPECTED.md");
    let text = std::fs::read_to_string(&path).expect("EXPECTED.md");
    let table = text
        .split("## Every finding")
        .nth(1)
        .expect("EXPECTED.md has an `## Every finding` table");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| l.contains('`'))
        .map(|l| {
            let cells: Vec<String> = l
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .filter(|c| !c.is_empty())
                .collect();
            assert_eq!(cells.len(), 3, "row `{l}` of {}", path.display());
            (cells[0].clone(), cells[1].clone(), cells[2].clone())
        })
        .collect()
}

/// Every finding of each sample is listed in its `EXPECTED.md`, source *and* sink, and every
/// listed flow is found: the README's story is what the scan reports.
#[test]
fn samples_match_expected_md() {
    for name in ["cloud-messenger", "cloud-messenger-fixed"] {
        let found: std::collections::BTreeSet<(String, String, String)> = scan_sample(name)
            .findings
            .iter()
            .map(|f| {
                (
                    format!("{}:{}", f.source.file, f.source.line),
                    format!("{}:{}", f.sink.file, f.sink.line),
                    f.category.clone(),
                )
            })
            .collect();
        let expected = expected_rows(name);
        let missing: Vec<_> = expected.difference(&found).collect();
        let unlisted: Vec<_> = found.difference(&expected).collect();
        assert!(
            missing.is_empty() && unlisted.is_empty(),
            "{name}: missing {missing:?}, not in EXPECTED.md {unlisted:?}"
        );
    }
}
