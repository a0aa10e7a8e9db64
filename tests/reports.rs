//! GDPR disclosure reports (`idflow report`): snapshots of every document kind and format for
//! both samples, and the guarantees a DPO relies on: code text is escaped, declarations errors
//! carry line and column, a user template replaces an embedded one, the CSV and plist parse, and
//! the same input gives byte-identical documents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use idflow::declarations::{Declarations, DeclarationsError};
use idflow::findings::{CategoryInfo, Finding, Location, ScanResult, Stats, Step, Transport};
use idflow::report::disclosure::{self, DocFormat, Kind};
use idflow::report::documents::{self, Document};
use idflow::report::provenance::{Provenance, ProvenanceInput};
use idflow::report::tables;
use idflow::report::tera::Templates;
use idflow::rules::RulePack;
use idflow::scan::{self, ScanOptions};

fn sample_root(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// A fixed provenance: no git, a pinned date, so snapshots do not move with commits.
fn provenance(result: &ScanResult, scanned: &str, declarations: Option<&str>) -> Provenance {
    Provenance::resolve(
        &ProvenanceInput {
            scanned: scanned.to_string(),
            date: Some("2026-01-01".to_string()),
            declarations: declarations.map(ToString::to_string),
            ..ProvenanceInput::default()
        },
        &result.tool_version,
        &result.rules_hash,
    )
    .expect("valid date")
}

/// The document of a bundled sample, with its `idflow.yaml`.
fn sample_doc(name: &str) -> Document {
    let root = sample_root(name);
    let result =
        scan::run(&ScanOptions::new(root.clone()), &RulePack::builtin()).expect("sample scans");
    let decl = Declarations::load(&root.join("idflow.yaml")).expect("sample declarations load");
    documents::build(
        &result,
        &decl,
        provenance(&result, name, Some("idflow.yaml")),
    )
}

/// Pins the tool version and the rule-pack hash.
fn redact(s: &str) -> String {
    let hash = RulePack::builtin().hash().to_string();
    s.replace(
        &format!("idflow {}", env!("CARGO_PKG_VERSION")),
        "idflow {VERSION}",
    )
    .replace(
        &format!("\"tool_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"tool_version\": \"{VERSION}\"",
    )
    .replace(&hash, "{RULES_HASH}")
}

fn every_document() -> Vec<(Kind, DocFormat)> {
    Kind::ALL
        .iter()
        .flat_map(|k| k.formats().iter().map(move |f| (*k, *f)))
        .collect()
}

fn snapshot_all(sample: &str) {
    let doc = sample_doc(sample);
    let templates = Templates::builtin().expect("embedded templates compile");
    for (kind, format) in every_document() {
        let text = disclosure::render(kind, format, &doc, &templates).expect("renders");
        let name = format!("{}_{}_{}", sample.replace('-', "_"), kind, format).replace('-', "_");
        insta::assert_snapshot!(name, redact(&text));
    }
}

/// Every kind in every format for the leaky sample: plaintext, no opt-in, gaps listed.
#[test]
fn cloud_messenger_documents() {
    snapshot_all("cloud-messenger");
}

/// Every kind in every format for the fixed sample: TLS, encrypted, opt-in, no gaps.
#[test]
fn cloud_messenger_fixed_documents() {
    snapshot_all("cloud-messenger-fixed");
}

/// The leaky sample's declarations leave gaps and its flows trip the DPIA screening; the fixed
/// sample's are complete and clean.
#[test]
fn gaps_and_dpia_follow_the_declarations() {
    let leaky = sample_doc("cloud-messenger");
    assert_eq!(leaky.gaps.len(), leaky.flows.len());
    assert!(leaky.dpia.iter().any(|d| d.criterion == "plaintext"));
    assert!(leaky.dpia.iter().any(|d| d.criterion == "no-opt-in"));
    assert!(leaky.document_gaps.iter().any(|g| g.contains("DPO")));
    let fixed = sample_doc("cloud-messenger-fixed");
    assert!(fixed.gaps.is_empty(), "{:#?}", fixed.gaps);
    assert!(fixed.document_gaps.is_empty());
    assert!(fixed.dpia.is_empty(), "{:#?}", fixed.dpia);
    assert!(fixed.flows.iter().all(|f| f.purpose.is_some()));
}

fn at(file: &str, line: u32, snippet: &str) -> Location {
    Location {
        file: file.to_string(),
        line,
        column: 5,
        function: Some("net::upload".to_string()),
        snippet: snippet.to_string(),
    }
}

/// A one-finding result whose code text is hostile to HTML, Markdown and CSV.
fn hostile_result() -> ScanResult {
    let source = at("src/a.rs", 3, r#"let imei = "<script>alert(1)</script>";"#);
    let sink = at(
        "src/b.rs",
        9,
        r#"client.post("http://x.example/?a=1&b=2").body(format!("\"{imei}\" | `x`"))"#,
    );
    ScanResult {
        tool_version: "0.0.0".to_string(),
        rules_hash: "feedface".to_string(),
        findings: vec![Finding {
            id: "0123456789abcdef".to_string(),
            category: "imei".to_string(),
            source_rule: "name-imei".to_string(),
            sink_rule: "reqwest-body".to_string(),
            path: vec![
                Step {
                    location: source.clone(),
                    note: "source: name-imei".to_string(),
                },
                Step {
                    location: sink.clone(),
                    note: "sink: reqwest-body".to_string(),
                },
            ],
            source,
            sink,
            encrypted: false,
            pseudonymized: false,
            consent: false,
            transport: Transport::Plaintext,
            recipient: Some("x.example".to_string()),
        }],
        skipped: Vec::new(),
        stats: Stats {
            files_found: 2,
            files_analyzed: 2,
            ..Stats::default()
        },
        categories: vec![CategoryInfo {
            id: "imei".to_string(),
            name: "IMEI".to_string(),
            gdpr: "An identifier <b>".to_string(),
            fideslang: "user.device.device_id".to_string(),
            play_data_safety: "Device or other IDs".to_string(),
            apple_privacy: "NSPrivacyCollectedDataTypeDeviceID".to_string(),
        }],
        network_dependencies: Vec::new(),
        unresolved: Vec::new(),
    }
}

fn hostile_doc(decl: &Declarations) -> Document {
    let result = hostile_result();
    let p = provenance(&result, "hostile", None);
    documents::build(&result, decl, p)
}

/// Code text with `<script>` and `"` is shown as text in every HTML document, never as markup.
#[test]
fn html_escapes_code_text() {
    let doc = hostile_doc(&Declarations::default());
    let templates = Templates::builtin().expect("templates");
    for kind in [Kind::Notice, Kind::Ropa, Kind::DataMap] {
        let html = disclosure::render(kind, DocFormat::Html, &doc, &templates).expect("renders");
        assert!(!html.contains("<script"), "{kind}: raw <script> in HTML");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
            "{kind}"
        );
        assert!(
            html.contains("&quot;&lt;script&gt;"),
            "{kind}: quote not escaped"
        );
        if kind == Kind::Notice {
            assert!(
                html.contains("An identifier &lt;b&gt;"),
                "category text not escaped"
            );
        }
        // Self-contained: no fetches of any kind.
        for needle in ["src=", "href=\"http", "url(", "@import"] {
            assert!(!html.contains(needle), "{kind}: found {needle}");
        }
    }
}

/// Markdown tables survive pipes and backticks in code text.
#[test]
fn markdown_escapes_pipes_and_backticks() {
    let doc = hostile_doc(&Declarations::default());
    let templates = Templates::builtin().expect("templates");
    let md = disclosure::render(Kind::Notice, DocFormat::Md, &doc, &templates).expect("renders");
    let line = md
        .lines()
        .find(|l| l.contains("src/b.rs:9") && l.starts_with("2. "))
        .expect("path step of the sink");
    assert!(line.contains("\\| `x`"), "{line}");
    assert!(
        line.contains("``"),
        "code span fence grows past backticks: {line}"
    );
}

/// A declarations file with an unknown key fails with its file, line and column.
#[test]
fn declarations_unknown_key_has_line_and_column() {
    let text = "controller:\n  name: Parley\npurposes:\n  - id: presence\n    description: x\n    legal_basic: a\n";
    let err = Declarations::parse(text, Path::new("idflow.yaml")).expect_err("unknown key");
    match &err {
        DeclarationsError::Syntax { line, column, .. } => {
            assert_eq!((*line, *column), (6, 5));
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.starts_with("idflow.yaml:6:5: "), "{message}");
    assert!(message.contains("legal_basic"), "{message}");
}

/// A legal basis outside a–f and a flow naming an undeclared purpose are rejected.
#[test]
fn declarations_bad_values_are_rejected() {
    let bad_basis = "purposes:\n  - id: p\n    description: x\n    legal_basis: g\n";
    let err = Declarations::parse(bad_basis, Path::new("d.yaml")).expect_err("bad basis");
    assert!(err.to_string().starts_with("d.yaml:4:"), "{err}");
    let bad_ref = "flows:\n  - { category: imei, recipient: a.example, purpose: nope }\n";
    let err = Declarations::parse(bad_ref, Path::new("d.yaml")).expect_err("bad reference");
    assert!(err.to_string().contains("purpose `nope`"), "{err}");
}

/// A user template directory replaces exactly the templates it names.
#[test]
fn user_template_overrides_one_template() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("notice.md.tera"),
        "Custom notice for {{ provenance.scanned }}: {{ summary.flows }} flows\n",
    )
    .expect("write");
    // A file that is no template name is ignored, never read as one.
    std::fs::write(dir.path().join("other.txt"), "{{ broken").expect("write");
    let templates = Templates::load(dir.path()).expect("loads");
    assert_eq!(templates.overridden(), ["notice.md.tera".to_string()]);
    let doc = hostile_doc(&Declarations::default());
    let md = disclosure::render(Kind::Notice, DocFormat::Md, &doc, &templates).expect("renders");
    assert_eq!(md, "Custom notice for hostile: 1 flows\n");
    let ropa = disclosure::render(Kind::Ropa, DocFormat::Md, &doc, &templates).expect("renders");
    assert!(ropa.starts_with("# Records of processing"));
}

/// A template that links outside the template directory is refused.
#[cfg(unix)]
#[test]
fn user_template_outside_directory_is_refused() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "secret").expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(&secret, dir.path().join("notice.md.tera")).expect("symlink");
    assert!(Templates::load(dir.path()).is_err());
}

/// Both CSV documents parse with a standard reader, one record per row, and no cell starts a
/// spreadsheet formula.
#[test]
fn csv_parses_and_is_formula_safe() {
    let decl = Declarations::parse(
        "purposes:\n  - id: p\n    description: \"=HYPERLINK(\\\"http://evil\\\")\"\n    legal_basis: f\nflows:\n  - { category: imei, recipient: x.example, purpose: p }\n",
        Path::new("d.yaml"),
    )
    .expect("valid");
    let doc = hostile_doc(&decl);
    let templates = Templates::builtin().expect("templates");
    for (kind, columns) in [(Kind::Ropa, 14), (Kind::DataSafety, 5)] {
        let csv = disclosure::render(kind, DocFormat::Csv, &doc, &templates).expect("renders");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(reader.headers().expect("header").len(), columns);
        let rows: Vec<csv::StringRecord> =
            reader.records().collect::<Result<_, _>>().expect("parses");
        assert!(!rows.is_empty(), "{kind}");
        for row in &rows {
            assert_eq!(row.len(), columns);
            for cell in row {
                assert!(!cell.starts_with(['=', '+', '-', '@']), "{kind}: {cell}");
            }
        }
    }
    assert_eq!(tables::safe("=1+1"), "'=1+1");
    assert_eq!(tables::safe("@SUM"), "'@SUM");
    assert_eq!(tables::safe("plain"), "plain");
    for formula in ["+1+1", "-1+1", "\t=1", "\r=1"] {
        assert_eq!(tables::safe(formula), format!("'{formula}"));
    }
    assert_eq!(tables::safe("a=1"), "a=1");
}

fn manifest_dict(doc: &Document) -> plist::Dictionary {
    let templates = Templates::builtin().expect("templates");
    let text = disclosure::render(Kind::PrivacyManifest, DocFormat::Plist, doc, &templates)
        .expect("renders");
    let value = plist::Value::from_reader_xml(text.as_bytes()).expect("well-formed plist");
    value.into_dictionary().expect("top-level dict")
}

/// The data types of a manifest, by `NSPrivacyCollectedDataType`.
fn manifest_types(dict: &plist::Dictionary) -> BTreeMap<String, plist::Dictionary> {
    dict.get("NSPrivacyCollectedDataTypes")
        .and_then(plist::Value::as_array)
        .expect("data types")
        .iter()
        .map(|t| {
            let t = t.as_dictionary().expect("a data type is a dict").clone();
            let name = t
                .get("NSPrivacyCollectedDataType")
                .and_then(plist::Value::as_string)
                .expect("data type key")
                .to_string();
            (name, t)
        })
        .collect()
}

/// The privacy manifest parses with the `plist` crate; tracking and linked come from the
/// declarations and are left out (never a silent `false`) when not declared; a contact's
/// phone number is Apple's `Contacts` type.
#[test]
fn privacy_manifest_is_a_plist_with_declared_answers_only() {
    let fixed = manifest_dict(&sample_doc("cloud-messenger-fixed"));
    assert_eq!(
        fixed.get("NSPrivacyTracking"),
        Some(&plist::Value::Boolean(false)),
        "declared `tracking: false`"
    );
    let types = manifest_types(&fixed);
    assert_eq!(
        types.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "NSPrivacyCollectedDataTypeContacts",
            "NSPrivacyCollectedDataTypeDeviceID",
            "NSPrivacyCollectedDataTypePhoneNumber",
        ],
        "the contacts' numbers are Contacts, the user's own number stays PhoneNumber"
    );
    for t in types.values() {
        assert_eq!(
            t.get("NSPrivacyCollectedDataTypeLinked"),
            Some(&plist::Value::Boolean(true)),
            "declared `linked_to_user: true`"
        );
        assert_eq!(
            t.get("NSPrivacyCollectedDataTypeTracking"),
            Some(&plist::Value::Boolean(false))
        );
    }

    let undeclared = manifest_dict(&hostile_doc(&Declarations::default()));
    assert_eq!(undeclared.get("NSPrivacyTracking"), None, "tracking not declared");
    assert_eq!(undeclared.get("NSPrivacyAccessedAPITypes"), None);
    for t in manifest_types(&undeclared).values() {
        assert_eq!(t.get("NSPrivacyCollectedDataTypeLinked"), None);
        assert_eq!(t.get("NSPrivacyCollectedDataTypeTracking"), None);
    }
}

/// The data-safety JSON is valid JSON.
#[test]
fn data_safety_json_parses() {
    let templates = Templates::builtin().expect("templates");
    for doc in [
        sample_doc("cloud-messenger"),
        hostile_doc(&Declarations::default()),
    ] {
        let text = disclosure::render(Kind::DataSafety, DocFormat::Json, &doc, &templates)
            .expect("renders");
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value["schema"], "idflow-play-data-safety/1");
    }
}

/// Same input, byte-identical documents: two scans and two renders of every document.
#[test]
fn documents_are_deterministic() {
    let templates = Templates::builtin().expect("templates");
    let (a, b) = (sample_doc("cloud-messenger"), sample_doc("cloud-messenger"));
    for (kind, format) in every_document() {
        let x = disclosure::render(kind, format, &a, &templates).expect("renders");
        let y = disclosure::render(kind, format, &b, &templates).expect("renders");
        assert!(x == y, "{kind}.{format} differs between runs");
    }
}

/// Without `--date` the date comes from `SOURCE_DATE_EPOCH`, then the commit; never the clock.
#[test]
fn date_never_comes_from_the_clock() {
    let resolve = |input: &ProvenanceInput| Provenance::resolve(input, "0", "h").expect("valid");
    let input = ProvenanceInput::default();
    assert_eq!(resolve(&input).date, "undated");
    let input = ProvenanceInput {
        source_date_epoch: Some("1767225600".to_string()),
        ..ProvenanceInput::default()
    };
    assert_eq!(resolve(&input).date, "2026-01-01");
}

/// Every embedded template compiles, and every kind's formats have a renderer.
#[test]
fn embedded_templates_cover_every_document() {
    let templates = Templates::builtin().expect("templates");
    let doc = hostile_doc(&Declarations::default());
    let mut rendered = BTreeMap::new();
    for (kind, format) in every_document() {
        let text = disclosure::render(kind, format, &doc, &templates).expect("renders");
        rendered.insert(kind.file_name(format), text.len());
    }
    assert_eq!(rendered.len(), 10);
    assert!(disclosure::render(Kind::Notice, DocFormat::Csv, &doc, &templates).is_err());
}

/// Every HTML document is self-contained: no scripts, no stylesheets, images or fonts fetched
/// from anywhere, and a CSP that forbids loading anything.
#[test]
fn html_is_self_contained() {
    let doc = sample_doc("cloud-messenger");
    let templates = Templates::builtin().expect("embedded templates compile");
    for (kind, format) in every_document() {
        if format != DocFormat::Html {
            continue;
        }
        let html = disclosure::render(kind, format, &doc, &templates).expect("renders");
        for needle in [
            "<script",
            "<link",
            "<iframe",
            "src=\"http",
            "href=\"http",
            "url(http",
            "@import",
        ] {
            assert!(!html.contains(needle), "{kind}: found {needle}");
        }
        assert!(html.contains("default-src 'none'"), "{kind}: no CSP");
    }
}

/// A crate that depends on network libraries the rule pack does not model (`tokio-websockets`,
/// `quiche`) and sends a phone number through one of them: a tree where idflow finds no flow
/// and must not say so as an all-clear.
fn blind_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"presence\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nreqwest = \"0.12\"\ntokio-websockets = \"0.4\"\nquiche = \"0.11\"\n",
    )
    .expect("write");
    std::fs::write(
        root.join("src/main.rs"),
        r#"use tokio_websockets::{ClientBuilder, Message};

fn phone_number() -> String {
    std::env::var("PHONE").unwrap_or_default()
}

async fn announce() -> Result<(), Box<dyn std::error::Error>> {
    let msisdn = phone_number();
    let (mut ws, _) = ClientBuilder::new()
        .uri("wss://presence.example.com/ws")?
        .connect()
        .await?;
    ws.send(Message::text(msisdn)).await?;
    Ok(())
}

fn main() {
    let _ = announce();
}
"#,
    )
    .expect("write");
    dir
}

/// Phrases that read as an all-clear; none may appear while the analysis is incomplete.
const ALL_CLEAR: &[&str] = &[
    "No screening criterion applies",
    "Nothing: every flow has",
    "idflow found no device identifier or phone number sent",
    "No processing of device identifiers",
    "class=\"fig good\"",
];

/// Unmodelled network dependencies make every document say the analysis is incomplete, list
/// them under "To be completed", and replace the green DPIA screening by "Cannot be screened";
/// the text output names them and its summary says "analysis incomplete".
#[test]
fn unmodelled_network_dependencies_are_never_an_all_clear() {
    let dir = blind_tree();
    let result = scan::run(&ScanOptions::new(dir.path()), &RulePack::builtin()).expect("scans");
    let unmodelled: Vec<&str> = result.unmodelled().map(|d| d.name.as_str()).collect();
    assert_eq!(unmodelled, ["quiche", "tokio-websockets"]);
    assert!(result.incomplete());
    insta::assert_snapshot!(
        "blind_tree_text",
        idflow::report::text::render(&result, false)
    );

    let doc = documents::build(
        &result,
        &Declarations::default(),
        provenance(&result, "presence", None),
    );
    assert!(!doc.coverage.complete);
    let templates = Templates::builtin().expect("embedded templates compile");
    for (kind, format) in every_document() {
        let text = disclosure::render(kind, format, &doc, &templates).expect("renders");
        for phrase in ALL_CLEAR {
            assert!(
                !text.contains(phrase),
                "{kind} {format} says `{phrase}`:\n{text}"
            );
        }
        let lower = text.to_lowercase();
        assert!(
            lower.contains("incomplete"),
            "{kind} {format} does not say the analysis is incomplete:\n{text}"
        );
        if kind != Kind::DataMap {
            assert!(
                text.contains("quiche"),
                "{kind} {format} does not name quiche"
            );
        }
    }
    for (kind, format, name) in [
        (Kind::Notice, DocFormat::Md, "blind_tree_notice_md"),
        (Kind::Ropa, DocFormat::Csv, "blind_tree_ropa_csv"),
        (
            Kind::DataSafety,
            DocFormat::Csv,
            "blind_tree_data_safety_csv",
        ),
        (
            Kind::PrivacyManifest,
            DocFormat::Plist,
            "blind_tree_privacy_manifest_plist",
        ),
    ] {
        let text = disclosure::render(kind, format, &doc, &templates).expect("renders");
        insta::assert_snapshot!(name, redact(&text));
    }
    let notice =
        disclosure::render(Kind::Notice, DocFormat::Md, &doc, &templates).expect("renders");
    assert!(notice.contains("**Cannot be screened:**"), "{notice}");
    assert!(
        notice.contains("**The analysis is incomplete.**"),
        "{notice}"
    );
    let plist = disclosure::render(Kind::PrivacyManifest, DocFormat::Plist, &doc, &templates)
        .expect("renders");
    plist::Value::from_reader_xml(plist.as_bytes()).expect("the manifest is still a plist");
}

/// An unresolved call (filled by the taint engine) is listed in every output with its category,
/// call text and place; its text is escaped like any code text.
#[test]
fn unresolved_calls_are_listed_and_escaped() {
    let mut result = hostile_result();
    result.findings.clear();
    result.categories.clear();
    result.unresolved = vec![idflow::findings::Unresolved {
        category: "phone_number".to_string(),
        call: "tokio_websockets::WebSocket::send::<`|<b>`>".to_string(),
        file: "src/main.rs".to_string(),
        line: 15,
        reason: "no model for tokio-websockets".to_string(),
    }];
    assert!(result.incomplete());
    let text = idflow::report::text::render(&result, false);
    assert!(
        text.contains("unresolved phone_number reaches tokio_websockets::WebSocket::send::<`|<b>`> at src/main.rs:15 (no model for tokio-websockets)"),
        "{text}"
    );
    assert!(
        text.contains("analysis incomplete: 1 unresolved call"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&idflow::report::json::render(&result)).expect("JSON");
    assert_eq!(json["complete"], false);
    assert_eq!(json["unresolved"][0]["line"], 15);
    let sarif: serde_json::Value =
        serde_json::from_str(&idflow::report::sarif::render(&result)).expect("SARIF");
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notes[0]["descriptor"]["id"], "unresolved-call");
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        15
    );
    assert_eq!(
        sarif["runs"][0]["properties"]["coverage"]["complete"],
        false
    );

    let doc = documents::build(
        &result,
        &Declarations::default(),
        provenance(&result, "x", None),
    );
    let templates = Templates::builtin().expect("embedded templates compile");
    let md = disclosure::render(Kind::Notice, DocFormat::Md, &doc, &templates).expect("renders");
    assert!(
        md.contains("- unresolved: phone\\_number reaches `` tokio_websockets::WebSocket::send::<`\\|<b>`> `` at `src/main.rs:15` (no model for tokio-websockets)"),
        "{md}"
    );
    assert!(md.contains("**Cannot be screened:**"), "{md}");
    let html =
        disclosure::render(Kind::Notice, DocFormat::Html, &doc, &templates).expect("renders");
    assert!(
        html.contains("tokio_websockets::WebSocket::send::&lt;`|&lt;b&gt;`&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>`"), "{html}");
}

/// A scan with no blind spot keeps the all-clear wording (the fixed sample declares a modelled
/// network crate only).
#[test]
fn complete_scan_keeps_the_all_clear() {
    let doc = sample_doc("cloud-messenger-fixed");
    assert!(doc.coverage.complete, "{:?}", doc.coverage.blind_spots);
    assert_eq!(doc.coverage.network_dependencies.len(), 1);
}
