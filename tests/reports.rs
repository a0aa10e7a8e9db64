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
            shipping: true,
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
    assert_eq!(
        undeclared.get("NSPrivacyTracking"),
        None,
        "tracking not declared"
    );
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

/// Unmodelled network dependencies and the unresolved call make every document say the
/// analysis is incomplete, list them under "To be completed", and replace the green DPIA screening by "Cannot be screened";
/// the text output names them and its summary says "analysis incomplete".
#[test]
fn unmodelled_network_dependencies_are_never_an_all_clear() {
    let dir = blind_tree();
    let result = scan::run(&ScanOptions::new(dir.path()), &RulePack::builtin()).expect("scans");
    let unmodelled: Vec<&str> = result.unmodelled().map(|d| d.name.as_str()).collect();
    assert_eq!(unmodelled, ["quiche", "tokio-websockets"]);
    // The phone number handed to the websocket's `send` is the one edge of the model: no flow,
    // one unresolved call (the `Message::text` constructor is not one, the data goes on).
    assert!(result.findings.is_empty());
    let edges: Vec<(&str, &str, u32)> = result
        .unresolved
        .iter()
        .map(|u| (u.category.as_str(), u.call.as_str(), u.line))
        .collect();
    assert_eq!(edges, [("phone_number", ".send()", 13)]);
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
        ..idflow::findings::Unresolved::default()
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

/// The leaky sample's scan, memoised: the checklist renders it under many declarations.
fn leaky_scan() -> &'static ScanResult {
    static SCAN: std::sync::OnceLock<ScanResult> = std::sync::OnceLock::new();
    SCAN.get_or_init(|| {
        scan::run(
            &ScanOptions::new(sample_root("cloud-messenger")),
            &RulePack::builtin(),
        )
        .expect("sample scans")
    })
}

const COMPLETE_DECLARATIONS: &str = include_str!("data/declarations/cloud-messenger-complete.yaml");

/// `text` (YAML) with the entry at `path` (`purposes.0.legal_basis`) removed.
fn without(text: &str, path: &str) -> String {
    let mut root: serde_yaml::Value = serde_yaml::from_str(text).expect("YAML");
    let (parent, last) = path.rsplit_once('.').unwrap_or(("", path));
    let mut node = &mut root;
    for key in parent.split('.').filter(|k| !k.is_empty()) {
        node = match key.parse::<usize>() {
            Ok(i) => node.get_mut(i),
            Err(_) => node.get_mut(key),
        }
        .unwrap_or_else(|| panic!("{path}: no {key}"));
    }
    let removed = match (last.parse::<usize>(), node) {
        (Ok(i), serde_yaml::Value::Sequence(seq)) => (i < seq.len()).then(|| seq.remove(i)),
        (_, serde_yaml::Value::Mapping(map)) => map.remove(last),
        _ => None,
    };
    assert!(removed.is_some(), "{path} is not in the declarations");
    serde_yaml::to_string(&root).expect("YAML")
}

/// The notice (audit edition, Markdown) and the records of the leaky sample under `yaml`.
fn checklist_documents(yaml: &str) -> (Document, String, String) {
    let decl = Declarations::parse(yaml, Path::new("idflow.yaml")).expect("valid declarations");
    let result = leaky_scan();
    let doc = documents::build(
        result,
        &decl,
        provenance(result, "cloud-messenger", Some("idflow.yaml")),
    );
    let templates = Templates::builtin().expect("templates");
    let notice =
        disclosure::render(Kind::Notice, DocFormat::Md, &doc, &templates).expect("renders");
    let ropa = disclosure::render(Kind::Ropa, DocFormat::Md, &doc, &templates).expect("renders");
    (doc, notice, ropa)
}

/// One item of Art. 13(1)–(2), 14(1)–(2) or 30(1): what the document must show with the
/// complete declarations, and, for items that come from the declarations, which entry to
/// remove and the article the gap list must then name.
struct Item {
    article: &'static str,
    shows: &'static str,
    in_records: bool,
    remove: Option<&'static str>,
    gap: &'static str,
}

const fn item(
    article: &'static str,
    shows: &'static str,
    remove: &'static str,
    gap: &'static str,
) -> Item {
    Item {
        article,
        shows,
        in_records: false,
        remove: Some(remove),
        gap,
    }
}

const fn from_code(article: &'static str, shows: &'static str) -> Item {
    Item {
        article,
        shows,
        in_records: false,
        remove: None,
        gap: "",
    }
}

const fn records(
    article: &'static str,
    shows: &'static str,
    remove: &'static str,
    gap: &'static str,
) -> Item {
    Item {
        article,
        shows,
        in_records: true,
        remove: Some(remove),
        gap,
    }
}

const CHECKLIST: &[Item] = &[
    item(
        "13(1)(a) controller",
        "**Controller:** Parley Inc.",
        "controller",
        "Art. 13(1)(a)",
    ),
    item(
        "13(1)(a), 27 representative",
        "Parley EU Representative GmbH",
        "representative",
        "Art. 27",
    ),
    item("13(1)(b) DPO", "dpo@parley.example", "dpo", "Art. 13(1)(b)"),
    item(
        "13(1)(c) purpose",
        "Purpose: Keep spammers from using the message relay",
        "flows.2",
        "Art. 13(1)(c)",
    ),
    item(
        "13(1)(c) legal basis",
        "Art. 6(1)(b) GDPR (performance of a contract)",
        "purposes.2.legal_basis",
        "Art. 13(1)(c)",
    ),
    item(
        "13(1)(d), 14(2)(b) legitimate interests",
        "blocking devices that send spam",
        "purposes.1.legitimate_interest",
        "Art. 13(1)(d)",
    ),
    item(
        "13(1)(e) recipients",
        "Relaycloud Inc.",
        "recipients.1",
        "Art. 13(1)(e)",
    ),
    item(
        "13(1)(f) transfers",
        "outside the EEA (US), safeguard: Standard contractual clauses",
        "recipients.1.safeguard",
        "Art. 13(1)(f)",
    ),
    item(
        "13(1)(f) transfers: country",
        "within the EEA (DE)",
        "recipients.0.country",
        "Art. 13(1)(f)",
    ),
    item(
        "13(2)(a), 14(2)(a) retention",
        "90 days after the last message",
        "purposes.1.retention",
        "Art. 13(2)(a)",
    ),
    from_code("13(2)(b), 14(2)(c) rights", "access your data (Art. 15)"),
    from_code(
        "13(2)(c), 14(2)(d) withdraw consent",
        "withdraw it at any time",
    ),
    from_code(
        "13(2)(d), 14(2)(e) complaint",
        "supervisory authority (Art. 77)",
    ),
    item(
        "13(2)(e) requirement",
        "the relay does not accept your messages",
        "purposes.1.requirement",
        "Art. 13(2)(e)",
    ),
    item(
        "13(2)(f), 14(2)(g) automated decisions",
        "taken by automated means",
        "automated_decision_making",
        "Art. 13(2)(f)",
    ),
    from_code(
        "14(1)(d) categories of personal data",
        "**Personal data:** IMEI, Phone number",
    ),
    item(
        "14(2)(f) source",
        "from the address book on the phone of a Parley user",
        "purposes.0.subjects.1.source",
        "Art. 14(2)(f)",
    ),
    records(
        "30(1)(a) controller",
        "**Controller:** Parley Inc.",
        "controller",
        "Art. 30(1)(a)",
    ),
    records(
        "30(1)(a) DPO",
        "**DPO:** dpo@parley.example",
        "dpo",
        "Art. 30(1)(a)",
    ),
    records(
        "30(1)(b) purposes",
        "Deliver a message over the Parley cloud to its recipient",
        "flows.3",
        "Art. 30(1)(b)",
    ),
    records(
        "30(1)(c) data subjects",
        "contacts in the users' address books (source: the address book",
        "purposes.2.subjects",
        "Art. 30(1)(c)",
    ),
    records(
        "30(1)(d) recipients",
        "Relaycloud Inc. (message relay hosting) (processor (Art. 28), US)",
        "recipients.1",
        "Art. 30(1)(d)",
    ),
    records(
        "30(1)(e) transfers",
        "safeguard: Standard contractual clauses",
        "recipients.1.safeguard",
        "Art. 30(1)(e)",
    ),
    records(
        "30(1)(f) retention",
        "Until delivered, at most 30 days",
        "purposes.2.retention",
        "Art. 30(1)(f)",
    ),
];

/// Art. 13/14/30 checklist on the leaky sample: with complete declarations the notice and the
/// records show every item and nothing required is missing; with one item removed, the gap
/// list ("To be completed") names its article.
#[test]
fn gdpr_checklist_on_the_leaky_sample() {
    let (doc, notice, ropa) = checklist_documents(COMPLETE_DECLARATIONS);
    assert!(
        doc.required_missing.is_empty(),
        "{:#?}",
        doc.required_missing
    );
    for item in CHECKLIST {
        let text = if item.in_records { &ropa } else { &notice };
        assert!(
            text.contains(item.shows),
            "Art. {}: `{}` missing from the {}:\n{text}",
            item.article,
            item.shows,
            if item.in_records { "records" } else { "notice" }
        );
    }
    assert!(
        ropa.contains("no transport encryption (plaintext)"),
        "30(1)(g) security:\n{ropa}"
    );
    for item in CHECKLIST {
        let Some(path) = item.remove else { continue };
        let (doc, notice, _) = checklist_documents(&without(COMPLETE_DECLARATIONS, path));
        let gaps = notice
            .split_once("## To be completed")
            .map(|(_, rest)| rest)
            .expect("the audit notice has a gap list");
        assert!(
            gaps.contains(item.gap),
            "Art. {}: without `{path}` the gap list does not name {}:\n{gaps}",
            item.article,
            item.gap
        );
        assert!(
            doc.required_missing.iter().any(|g| g.contains(item.gap)),
            "{path}: {:#?}",
            doc.required_missing
        );
    }
}

/// A commit hash the provenance could carry, so the public edition can be checked for it.
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn public_notices(doc: Document) -> Vec<String> {
    let templates = Templates::builtin().expect("templates");
    let doc = doc.in_edition(documents::Edition::Public);
    [DocFormat::Md, DocFormat::Html]
        .into_iter()
        .map(|f| disclosure::render(Kind::Notice, f, &doc, &templates).expect("renders"))
        .collect()
}

/// The public notice of both samples shows no source code, file path or commit hash, no gap
/// table and no DPIA; the leaky sample's is marked DRAFT, the fixed sample's is not until a
/// required item is removed from its declarations.
#[test]
fn public_edition_has_no_code_and_marks_drafts() {
    for sample in ["cloud-messenger", "cloud-messenger-fixed"] {
        let root = sample_root(sample);
        let result =
            scan::run(&ScanOptions::new(root.clone()), &RulePack::builtin()).expect("scans");
        let decl_text = std::fs::read_to_string(root.join("idflow.yaml")).expect("read");
        let decl = Declarations::parse(&decl_text, Path::new("idflow.yaml")).expect("valid");
        let p = Provenance::resolve(
            &ProvenanceInput {
                scanned: sample.to_string(),
                commit: Some(COMMIT.to_string()),
                date: Some("2026-01-01".to_string()),
                declarations: Some("idflow.yaml".to_string()),
                ..ProvenanceInput::default()
            },
            &result.tool_version,
            &result.rules_hash,
        )
        .expect("valid date");
        let doc = documents::build(&result, &decl, p.clone());
        for text in public_notices(doc.clone()) {
            assert!(
                !text.contains(COMMIT),
                "{sample}: commit hash in the public notice"
            );
            assert!(!text.contains(&COMMIT[..12]), "{sample}: short commit hash");
            assert!(
                !text.contains(".rs"),
                "{sample}: a file path in the public notice:\n{text}"
            );
            for f in &result.findings {
                for step in &f.path {
                    let code = step.location.snippet.trim();
                    assert!(
                        !code.is_empty() && !text.contains(code),
                        "{sample}: code `{code}`"
                    );
                }
            }
            for needle in [
                "DPIA",
                "Findings appendix",
                "idflow.yaml",
                "F1",
                "Provenance",
            ] {
                assert!(
                    !text.contains(needle),
                    "{sample}: `{needle}` in the public notice"
                );
            }
            assert_eq!(
                text.contains("DRAFT"),
                sample == "cloud-messenger",
                "{sample}: DRAFT mark"
            );
        }
        if sample == "cloud-messenger-fixed" {
            let decl = Declarations::parse(
                &without(&decl_text, "purposes.0.retention"),
                Path::new("idflow.yaml"),
            )
            .expect("valid");
            for text in public_notices(documents::build(&result, &decl, p)) {
                assert!(
                    text.contains("DRAFT"),
                    "a missing retention period must mark a draft"
                );
                assert!(text.contains("Art. 13(2)(a)"), "{text}");
            }
        }
    }
}

/// The Play data-safety CSV has exactly the Play Console import header, every question id is
/// one of the documented families, and the fixed sample answers the data types it sends.
#[test]
fn play_csv_has_the_play_console_import_columns() {
    let doc = sample_doc("cloud-messenger-fixed");
    let templates = Templates::builtin().expect("templates");
    let text =
        disclosure::render(Kind::DataSafety, DocFormat::Csv, &doc, &templates).expect("renders");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header,
        [
            "Question ID (machine readable)",
            "Response ID (machine readable)",
            "Response value",
            "Answer requirement",
            "Human-friendly question label",
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parses");
    for row in &rows {
        let question = &row[0];
        assert!(
            question.starts_with("PSL_DATA_COLLECTION_")
                || question.starts_with("PSL_DATA_TYPES_")
                || question.starts_with("PSL_DATA_USAGE_RESPONSES:"),
            "undocumented question id {question}"
        );
        assert!(
            ["", "TRUE", "FALSE"].contains(&&row[2]),
            "value {}",
            &row[2]
        );
        assert!(
            [
                "REQUIRED",
                "MAYBE_REQUIRED",
                "MULTIPLE_CHOICE",
                "SINGLE_CHOICE"
            ]
            .contains(&&row[3]),
            "requirement {}",
            &row[3]
        );
    }
    let selected: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r[0].starts_with("PSL_DATA_TYPES_") && &r[2] == "TRUE")
        .map(|r| (r.get(0).unwrap_or_default(), r.get(1).unwrap_or_default()))
        .collect();
    assert_eq!(
        selected,
        [
            ("PSL_DATA_TYPES_CONTACTS", "PSL_CONTACTS"),
            ("PSL_DATA_TYPES_IDENTIFIERS", "PSL_DEVICE_ID"),
            ("PSL_DATA_TYPES_PERSONAL", "PSL_PHONE"),
        ]
    );
    assert!(rows
        .iter()
        .any(|r| &r[0] == "PSL_DATA_COLLECTION_ENCRYPTED_IN_TRANSIT" && &r[2] == "TRUE"));
}

/// `html` without its `<code>` elements (code text may hold backticks).
fn outside_code(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<code") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .split_once("</code>")
            .map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

/// HTML shows no Markdown syntax: no backtick outside code elements, in any HTML document of
/// either sample; notes that name code in backticks become `<code>`.
#[test]
fn html_has_no_markdown_syntax() {
    let templates = Templates::builtin().expect("templates");
    for sample in ["cloud-messenger", "cloud-messenger-fixed"] {
        let doc = sample_doc(sample);
        for (kind, format) in every_document() {
            if format != DocFormat::Html {
                continue;
            }
            let html = disclosure::render(kind, format, &doc, &templates).expect("renders");
            let text = outside_code(&html);
            assert!(
                !text.contains('`'),
                "{sample} {kind}: a backtick outside code"
            );
            assert!(!text.contains("**"), "{sample} {kind}: Markdown bold");
        }
    }
}

/// A transport idflow could not determine is amber, never green; the DPIA has one row per
/// criterion whatever the number of categories and hosts.
#[test]
fn unknown_transport_is_amber_and_dpia_rows_are_per_criterion() {
    let mut result = hostile_result();
    result.findings[0].transport = Transport::Unknown;
    let mut second = result.findings[0].clone();
    second.recipient = Some("y.example".to_string());
    second.sink.line = 12;
    result.findings.push(second);
    let doc = documents::build(
        &result,
        &Declarations::default(),
        provenance(&result, "x", None),
    );
    let criteria: Vec<&str> = doc.dpia.iter().map(|d| d.criterion.as_str()).collect();
    assert_eq!(criteria, ["transport-unknown", "no-opt-in"]);
    assert_eq!(doc.dpia[0].host, "x.example, y.example");
    let templates = Templates::builtin().expect("templates");
    let html =
        disclosure::render(Kind::Notice, DocFormat::Html, &doc, &templates).expect("renders");
    assert!(
        html.contains("<span class=\"pill warn\">transport not determined</span>"),
        "{html}"
    );
    assert!(
        !html.contains("pill good\">transport not determined"),
        "{html}"
    );
}
