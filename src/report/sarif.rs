//! SARIF 2.1.0 output, per the findings contract (DESIGN.md, `shared/bench/README.md`).
//!
//! One result per finding:
//! - `ruleId` `idflow/<category>`, described in `tool.driver.rules` (one rule per category
//!   that occurs, with its GDPR wording);
//! - `locations[0]` the sink: `uri` relative to the scanned root under `%SRCROOT%`, the sink
//!   line and column, and the sink's code line as the snippet;
//! - `relatedLocations[0]` the source;
//! - `properties`: `category`, `encrypted`, `pseudonymized`, `consent`, `transport`,
//!   `recipient` (host or null), `sourceRule`, `sinkRule`;
//! - `codeFlows[0].threadFlows[0].locations` the path, source first, sink last;
//! - `partialFingerprints["idflow/v1"]` the finding's stable id.
//!
//! Skipped files are `toolExecutionNotifications` (level `warning`) of `invocations[0]`, which
//! stays `executionSuccessful: true`: a skipped file never fails a scan. So are the blind spots:
//! each unmodelled network dependency (`warning`, descriptor `unmodelled-network-dependency`, on
//! its `Cargo.toml`) and each unresolved call (`note`, descriptor `unresolved-call`). The run's
//! `properties.coverage` carries files analysed and skipped, functions, every network
//! dependency, the unresolved calls, `complete` and the blind spots as sentences.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactContent, ArtifactLocation, CodeFlow, Invocation, Location as SarifLocation, Message,
    MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region,
    ReportingDescriptor, ReportingDescriptorReference, Result as SarifResult, ResultLevel, Run,
    Sarif, ThreadFlow, ThreadFlowLocation, Tool, ToolComponent,
};

use super::{category_name, protection, shorten, transport_phrase};
use crate::findings::{
    CategoryInfo, Finding, Location, NetworkDependency, ScanResult, Skipped, Unresolved,
};

/// The SARIF 2.1.0 JSON schema.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The base id every artifact URI is relative to: the scanned root.
pub const SRCROOT: &str = "%SRCROOT%";

/// The key of the stable finding id in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "idflow/v1";

/// The rule id of findings of `category`.
#[must_use]
pub fn rule_id(category: &str) -> String {
    format!("idflow/{category}")
}

/// Renders `result` as a pretty SARIF 2.1.0 log with a trailing newline.
///
/// # Panics
/// Never: the SARIF model has only string keys and serializable values.
#[must_use]
pub fn render(result: &ScanResult) -> String {
    let mut out =
        serde_json::to_string_pretty(&log(result)).expect("SARIF model serializes to JSON");
    out.push('\n');
    out
}

/// The SARIF log of `result`.
#[must_use]
pub fn log(result: &ScanResult) -> Sarif {
    let categories = rule_categories(result);
    let rules: Vec<ReportingDescriptor> = categories.iter().map(rule).collect();
    let results: Vec<SarifResult> = result
        .findings
        .iter()
        .map(|f| {
            let index = categories.iter().position(|c| c.id == f.category);
            finding_result(result, f, index)
        })
        .collect();

    let mut driver = ToolComponent::builder()
        .name("idflow")
        .version(result.tool_version.clone())
        .semantic_version(result.tool_version.clone())
        .rules(rules)
        .build();
    driver.information_uri = information_uri();

    let mut invocation = Invocation::builder().execution_successful(true).build();
    let notifications: Vec<Notification> = result
        .skipped
        .iter()
        .map(notification)
        .chain(result.unmodelled().map(unmodelled_notification))
        .chain(result.unresolved.iter().map(unresolved_notification))
        .collect();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }

    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .results(results)
        .column_kind(Value::from("unicodeCodePoints"))
        .properties(bag([
            ("rulesHash", Value::from(result.rules_hash.clone())),
            ("stats", json!(result.stats)),
            ("coverage", coverage(result)),
        ]))
        .build();
    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(Value::from("2.1.0"))
        .runs(vec![run])
        .build()
}

/// The package's homepage or repository, when `Cargo.toml` names one.
fn information_uri() -> Option<String> {
    [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|uri| !uri.is_empty())
        .map(str::to_string)
}

/// Every category that occurs in a finding, sorted by id, with its texts when the result
/// carries them (a bare id otherwise, so every `ruleId` resolves).
fn rule_categories(result: &ScanResult) -> Vec<CategoryInfo> {
    let mut ids: Vec<&str> = result
        .findings
        .iter()
        .map(|f| f.category.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            result
                .categories
                .iter()
                .find(|c| c.id == id)
                .cloned()
                .unwrap_or_else(|| CategoryInfo {
                    id: id.to_string(),
                    name: id.to_string(),
                    gdpr: String::new(),
                    fideslang: String::new(),
                    play_data_safety: String::new(),
                    apple_privacy: String::new(),
                })
        })
        .collect()
}

/// The SARIF rule of one category.
fn rule(category: &CategoryInfo) -> ReportingDescriptor {
    let short = format!("{} sent over the network", category.name);
    let full = if category.gdpr.is_empty() {
        short.clone()
    } else {
        category.gdpr.clone()
    };
    let mut help = if category.gdpr.is_empty() {
        format!(
            "{} is an online identifier (GDPR Art. 4(1)).",
            category.name
        )
    } else {
        category.gdpr.trim_end().to_string()
    };
    help.push_str(
        " Sending it off the device is processing of personal data: encrypt it, send it over \
         TLS, send it only after the user opted in, and declare the recipient.",
    );
    if !category.play_data_safety.is_empty() {
        let _ = write!(
            help,
            " Google Play data safety: {}.",
            category.play_data_safety
        );
    }
    if !category.apple_privacy.is_empty() {
        let _ = write!(help, " Apple privacy manifest: {}.", category.apple_privacy);
    }
    let mut properties = BTreeMap::from([
        ("category".to_string(), Value::from(category.id.clone())),
        ("tags".to_string(), json!(["privacy", "gdpr"])),
    ]);
    for (key, value) in [
        ("fideslang", &category.fideslang),
        ("playDataSafety", &category.play_data_safety),
        ("applePrivacy", &category.apple_privacy),
    ] {
        if !value.is_empty() {
            properties.insert(key.to_string(), Value::from(value.clone()));
        }
    }
    ReportingDescriptor::builder()
        .id(rule_id(&category.id))
        .name(pascal_case(&category.id))
        .short_description(text_message(&short))
        .full_description(text_message(&full))
        .help(text_message(&help))
        .properties(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build()
}

/// One SARIF result for one finding.
fn finding_result(result: &ScanResult, f: &Finding, rule_index: Option<usize>) -> SarifResult {
    let protected = (f.encrypted || f.transport == crate::findings::Transport::Tls) && f.consent;
    let mut out = SarifResult::builder()
        .rule_id(rule_id(&f.category))
        .level(if protected {
            ResultLevel::Note
        } else {
            ResultLevel::Warning
        })
        .message(Message::builder().text(message(result, f)).build())
        .locations(vec![location(&f.sink, None)])
        .related_locations(vec![location(
            &f.source,
            Some(format!("source of {} ({})", f.category, f.source_rule)),
        )])
        .code_flows(vec![code_flow(f)])
        .partial_fingerprints(BTreeMap::from([(
            FINGERPRINT_KEY.to_string(),
            f.id.clone(),
        )]))
        .properties(bag([
            ("category", Value::from(f.category.clone())),
            ("encrypted", Value::from(f.encrypted)),
            ("pseudonymized", Value::from(f.pseudonymized)),
            ("consent", Value::from(f.consent)),
            ("transport", Value::from(f.transport.as_str())),
            (
                "recipient",
                f.recipient.clone().map_or(Value::Null, Value::from),
            ),
            ("sourceRule", Value::from(f.source_rule.clone())),
            ("sinkRule", Value::from(f.sink_rule.clone())),
        ]
        .into_iter()
        // Only code that does not ship is marked, so the common case stays as it was.
        .chain((!f.shipping).then(|| ("shipping", Value::from(false))))))
        .build();
    out.rule_index = rule_index.and_then(|i| i64::try_from(i).ok());
    if let Some(first) = out.related_locations.as_mut().and_then(|l| l.first_mut()) {
        first.id = Some(0);
    }
    out
}

/// "IMEI from `read_imei()` (src/main.rs:16) reaches reqwest-body unencrypted over plaintext
/// to api.example.com, without consent".
fn message(result: &ScanResult, f: &Finding) -> String {
    format!(
        "{} from `{}` ({}:{}) reaches {} {} over {} to {}, {}",
        category_name(result, &f.category),
        shorten(&f.source.snippet, 60),
        f.source.file,
        f.source.line,
        f.sink_rule,
        protection(f),
        transport_phrase(f.transport),
        f.recipient.as_deref().unwrap_or("an unknown recipient"),
        if f.consent {
            "with consent"
        } else {
            "without consent"
        },
    )
}

/// The finding's path as a thread flow; a finding without steps gets source → sink.
fn code_flow(f: &Finding) -> CodeFlow {
    let steps: Vec<ThreadFlowLocation> = if f.path.is_empty() {
        vec![
            thread_step(&f.source, format!("source: {}", f.source_rule)),
            thread_step(&f.sink, format!("sink: {}", f.sink_rule)),
        ]
    } else {
        f.path
            .iter()
            .map(|step| thread_step(&step.location, step.note.clone()))
            .collect()
    };
    CodeFlow::builder()
        .thread_flows(vec![ThreadFlow::builder().locations(steps).build()])
        .build()
}

/// One step of a thread flow.
fn thread_step(loc: &Location, note: String) -> ThreadFlowLocation {
    ThreadFlowLocation::builder()
        .location(location(loc, Some(note)))
        .build()
}

/// A SARIF location at `loc`, with its code line as the snippet.
fn location(loc: &Location, message: Option<String>) -> SarifLocation {
    let region = Region::builder()
        .start_line(i64::from(loc.line))
        .start_column(i64::from(loc.column))
        .snippet(ArtifactContent::builder().text(loc.snippet.clone()).build())
        .build();
    let physical = PhysicalLocation::builder()
        .artifact_location(artifact(&loc.file))
        .region(region)
        .build();
    let mut out = SarifLocation::builder().physical_location(physical).build();
    out.message = message.map(|text| Message::builder().text(text).build());
    out
}

/// A file under the scanned root.
fn artifact(file: &str) -> ArtifactLocation {
    ArtifactLocation::builder()
        .uri(file.to_string())
        .uri_base_id(SRCROOT)
        .build()
}

/// A skipped file as a tool execution notification.
fn notification(skipped: &Skipped) -> Notification {
    let mut region = None;
    if let Some(line) = skipped.line {
        let mut r = Region::builder().start_line(i64::from(line)).build();
        r.start_column = skipped.column.map(i64::from);
        region = Some(r);
    }
    let text = format!("skipped {}", super::text::skipped_line(skipped));
    located_notification(
        "warning",
        text,
        &skipped.file,
        region,
        skipped.reason.code(),
    )
}

/// A notification of `level` at `file` (and `region`), with descriptor `id`.
fn located_notification(
    level: &str,
    text: String,
    file: &str,
    region: Option<Region>,
    id: &str,
) -> Notification {
    let mut physical = PhysicalLocation::builder()
        .artifact_location(artifact(file))
        .build();
    physical.region = region;
    Notification::builder()
        .level(Value::from(level))
        .message(Message::builder().text(text).build())
        .locations(vec![SarifLocation::builder()
            .physical_location(physical)
            .build()])
        .descriptor(ReportingDescriptorReference::builder().id(id).build())
        .build()
}

/// The run's coverage: what was analysed and what the analysis could not see.
fn coverage(result: &ScanResult) -> Value {
    json!({
        "filesAnalyzed": result.stats.files_analyzed,
        "filesSkipped": result.files_skipped(),
        "functionsAnalyzed": result.stats.functions,
        "networkDependencies": result.network_dependencies,
        "unresolved": result.unresolved,
        "complete": !result.incomplete(),
        "blindSpots": result.blind_spots(),
    })
}

/// A warning at a direct network dependency the rule pack does not model, on its first
/// manifest.
fn unmodelled_notification(dep: &NetworkDependency) -> Notification {
    let text = format!(
        "network dependency `{}` ({}) is not modelled by the rule pack: data handed to it is not seen",
        dep.name, dep.family
    );
    let mut n = Notification::builder()
        .level(Value::from("warning"))
        .message(Message::builder().text(text).build())
        .descriptor(
            ReportingDescriptorReference::builder()
                .id("unmodelled-network-dependency")
                .build(),
        )
        .build();
    if let Some(manifest) = dep.declared_in.iter().find(|d| *d != "Cargo.lock") {
        n.locations = Some(vec![SarifLocation::builder()
            .physical_location(
                PhysicalLocation::builder()
                    .artifact_location(artifact(manifest))
                    .build(),
            )
            .build()]);
    }
    n
}

/// A note at a call the analysis could not follow with a tainted argument.
fn unresolved_notification(u: &Unresolved) -> Notification {
    let text = format!(
        "unresolved: {} reaches `{}` ({})",
        u.category, u.call, u.reason
    );
    let region = Some(Region::builder().start_line(i64::from(u.line)).build());
    located_notification("note", text, &u.file, region, "unresolved-call")
}

/// A property bag; keys come out sorted.
fn bag<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> PropertyBag {
    PropertyBag::builder()
        .additional_properties(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<BTreeMap<_, _>>(),
        )
        .build()
}

/// A plain-text SARIF message string.
fn text_message(text: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(text).build()
}

/// `phone_number` → `PhoneNumber`: SARIF rule names are identifier-like.
fn pascal_case(id: &str) -> String {
    id.split(['_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}
