//! The document model: findings joined with declarations, the one context every report template
//! renders from.
//!
//! Takes a [`ScanResult`] (never re-analysed), the [`Declarations`] and the [`Provenance`], gives
//! a [`Document`]: flows numbered `F1`, `F2`, ... in the findings' order, each with its declared
//! purpose and recipient when there is one; the notice's entries per purpose (each pairing its
//! data, basis, subjects, recipients, transfers and retention) and its per-category table;
//! Art. 30 activities; the gaps (what the declarations leave open, never filled in by guessing,
//! each naming the article that asks for it); the DPIA screening; the store answers; the data
//! map. Every list is in a fixed order, so rendering is deterministic. [`Document::in_edition`]
//! picks the audit or the public edition of the notice.
//!
//! The field names below are the template API, documented in `docs/reports.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::datamap::{self, DataMap};
use super::provenance::Provenance;
use super::purposes::{
    document_gaps, opt_in_phrase, purpose_notices, representative_needed, required_missing,
    subjects, unique,
};
use super::stores::{data_safety, manifest};
use crate::declarations::{
    in_eea, AutomatedDecisions, Controller, Declarations, Dpo, LegalBasis, Purpose, Recipient,
    Representative,
};
use crate::findings::{Finding, Location, NetworkDependency, ScanResult, Transport, Unresolved};

/// Which notice: the one a user reads, or the one an auditor checks against the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    /// Everything, with the evidence: gaps, DPIA screening, findings with code, provenance.
    #[default]
    Audit,
    /// What a data subject reads: no code, paths, commit hashes, gaps table or DPIA; marked
    /// DRAFT while a required item is missing.
    Public,
}

/// Everything a report template sees.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// `audit` or `public` (see [`Edition`]).
    pub edition: Edition,
    /// True in the public edition while `required_missing` is not empty or the analysis is
    /// incomplete: the notice says it is a draft, not for publication.
    pub draft: bool,
    /// How the report was made.
    pub provenance: Provenance,
    /// The controller, when declared.
    pub controller: Option<Controller>,
    /// The representative in the Union (Art. 27), when declared.
    pub representative: Option<Representative>,
    /// `required`, `not-required` (controller in the EEA) or `unknown` (country not declared).
    pub representative_needed: String,
    /// The DPO, when declared.
    pub dpo: Option<Dpo>,
    /// Automated decision-making (Art. 13(2)(f)), when declared.
    pub automated_decision_making: Option<AutomatedDecisions>,
    /// Declared data subjects, joined, or empty.
    pub data_subjects: String,
    /// Headline figures.
    pub summary: Summary,
    /// The notice's main structure: one entry per declared purpose (plus one for flows without
    /// a purpose), each pairing its data, basis, recipients, transfers and retention.
    pub purposes: Vec<PurposeNotice>,
    /// Some purpose rests on consent (Art. 6(1)(a)): the notice states the right to withdraw it.
    pub any_consent: bool,
    /// Some purpose rests on legitimate interests (Art. 6(1)(f)): the notice states the right
    /// to object.
    pub any_legitimate_interest: bool,
    /// Every item Art. 13, 14 or 30 asks for that the declarations leave open, each naming its
    /// article and no code location (the public edition lists these).
    pub required_missing: Vec<String>,
    /// What the store labels need and the declarations leave open (not a GDPR item).
    pub store_gaps: Vec<String>,
    /// One entry per category found: the notice's secondary, per-category table.
    pub categories: Vec<CategoryView>,
    /// Art. 30(1) processing activities, one per purpose (plus one for undeclared flows).
    pub activities: Vec<Activity>,
    /// Every flow, numbered.
    pub flows: Vec<FlowView>,
    /// Flows with missing declarations.
    pub gaps: Vec<Gap>,
    /// Missing document-level declarations (controller, data subjects, ...).
    pub document_gaps: Vec<String>,
    /// Art. 35 screening results.
    pub dpia: Vec<DpiaItem>,
    /// Files analysed and skipped.
    pub coverage: Coverage,
    /// Google Play data-safety answers, one per Play data type.
    pub data_safety: Vec<DataSafetyRow>,
    /// Apple privacy-manifest draft.
    pub privacy_manifest: Manifest,
    /// The flow graph as Mermaid and SVG.
    pub data_map: DataMap,
}

/// Headline figures.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Number of flows.
    pub flows: usize,
    /// Number of categories.
    pub categories: usize,
    /// Flows over plaintext transport.
    pub plaintext: usize,
    /// Flows not behind a consent check.
    pub without_consent: usize,
    /// Flows encrypted at application level.
    pub encrypted: usize,
    /// Distinct recipient hosts.
    pub recipients: usize,
    /// Flows with at least one gap.
    pub flows_with_gaps: usize,
    /// DPIA screening items.
    pub dpia_items: usize,
}

/// One purpose in the notice (Art. 13(1)(c)–(f), 13(2)(a),(e), 14(1)(d), 14(2)(f)).
#[derive(Debug, Clone, Serialize)]
pub struct PurposeNotice {
    /// Purpose id, empty for the entry of flows without a declared purpose.
    pub id: String,
    /// What the processing is for.
    pub description: String,
    /// `Art. 6(1)(a) GDPR (consent)`, when declared.
    pub legal_basis: Option<String>,
    /// True when the basis is Art. 6(1)(f).
    pub legitimate_interests_basis: bool,
    /// The legitimate interests pursued, when declared.
    pub legitimate_interest: Option<String>,
    /// Names of the categories of personal data the code sends for this purpose.
    pub categories: Vec<String>,
    /// Whose data, and where it comes from.
    pub subjects: Vec<SubjectView>,
    /// Declared recipients of this purpose's flows.
    pub recipients: Vec<RecipientView>,
    /// Hosts of this purpose's flows with no declared recipient.
    pub undeclared_hosts: Vec<String>,
    /// Retention, when declared.
    pub retention: Option<String>,
    /// Whether providing the data is required (the sentence), when declared.
    pub requirement: Option<String>,
    /// Consequences of not providing the data, when declared.
    pub consequences: Option<String>,
    /// How the data travels, one phrase per distinct protection.
    pub protection: String,
    /// Some flow of this purpose travels in plaintext.
    pub plaintext: bool,
    /// Some flow of this purpose has a transport idflow could not determine.
    pub transport_unknown: bool,
    /// Whether the user must opt in, one phrase.
    pub opt_in: String,
    /// Every flow of this purpose waits for opt-in.
    pub all_opt_in: bool,
    /// Flow numbers (evidence, audit edition).
    pub flows: Vec<String>,
    /// What this purpose's declarations leave open, each naming its article.
    pub missing: Vec<String>,
    /// True for the entry of flows without a declared purpose.
    pub undeclared: bool,
}

/// A category of data subjects of a purpose.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectView {
    /// Who.
    pub who: String,
    /// `user`, `contact` or `other`.
    pub kind: String,
    /// The data is not obtained from the person (Art. 14 applies).
    pub third_party_source: bool,
    /// Where the data comes from, when declared.
    pub source: Option<String>,
    /// Names of the categories of their data, joined.
    pub categories: String,
}

/// A declared purpose as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PurposeView {
    /// Id.
    pub id: String,
    /// Description.
    pub description: String,
    /// `Art. 6(1)(a) GDPR (consent)`, when declared.
    pub legal_basis: Option<String>,
    /// Retention, when declared.
    pub retention: Option<String>,
    /// Google Play purpose label, when declared.
    pub play_purpose: Option<String>,
    /// Apple purpose key, when declared.
    pub apple_purpose: Option<String>,
}

/// A declared recipient as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RecipientView {
    /// Name.
    pub name: String,
    /// `controller`, `processor` or `third-party`.
    pub role: String,
    /// Human role.
    pub role_label: String,
    /// ISO country code, when declared.
    pub country: Option<String>,
    /// Transfer safeguard, when declared.
    pub safeguard: Option<String>,
    /// Whether the data leaves the EEA: `no`, `yes` or `unknown`.
    pub outside_eea: String,
    /// One phrase about the transfer.
    pub transfer: String,
}

/// One flow.
#[derive(Debug, Clone, Serialize)]
pub struct FlowView {
    /// `F1`, `F2`, ...
    pub number: String,
    /// The finding's stable id.
    pub id: String,
    /// Category id.
    pub category: String,
    /// Category name.
    pub category_name: String,
    /// Source rule id.
    pub source_rule: String,
    /// Sink rule id.
    pub sink_rule: String,
    /// Where the identifier is obtained.
    pub source: Location,
    /// Where it is sent.
    pub sink: Location,
    /// `file:line` of the source.
    pub source_at: String,
    /// `file:line` of the sink.
    pub sink_at: String,
    /// The path, source first.
    pub path: Vec<StepView>,
    /// `tls`, `plaintext` or `unknown`.
    pub transport: String,
    /// Application-level encryption before the sink.
    pub encrypted: bool,
    /// Hashed before the sink.
    pub pseudonymized: bool,
    /// Sent only under a consent check.
    pub consent: bool,
    /// One phrase: how the data is protected in transit.
    pub protection: String,
    /// The host, when the code tells.
    pub host: Option<String>,
    /// The declared recipient for the host.
    pub recipient: Option<RecipientView>,
    /// The declared purpose.
    pub purpose: Option<PurposeView>,
    /// What the declarations leave open for this flow.
    pub missing: Vec<String>,
}

/// One step of a flow's path.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    /// `file:line`.
    pub at: String,
    /// What happens there.
    pub note: String,
    /// The code line.
    pub snippet: String,
}

/// A category in the privacy notice.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// GDPR wording.
    pub gdpr: String,
    /// fideslang category.
    pub fideslang: String,
    /// Flow numbers.
    pub flows: Vec<String>,
    /// Declared purposes.
    pub purposes: Vec<PurposeView>,
    /// Some flow of this category has no declared purpose.
    pub purpose_missing: bool,
    /// Declared recipients.
    pub recipients: Vec<RecipientView>,
    /// Hosts with no declared recipient (or `unknown host`).
    pub undeclared_hosts: Vec<String>,
    /// How it travels, one phrase.
    pub protection: String,
    /// Whether the user must opt in, one phrase.
    pub opt_in: String,
}

/// An Art. 30(1) processing activity.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    /// Purpose id, or empty for the undeclared activity.
    pub purpose_id: String,
    /// Purpose description.
    pub purpose: String,
    /// Legal basis.
    pub legal_basis: String,
    /// Categories of personal data.
    pub categories: String,
    /// Categories of data subjects, each with its source when not the person.
    pub data_subjects: String,
    /// The legitimate interests, when the basis is Art. 6(1)(f) (empty otherwise).
    pub legitimate_interest: String,
    /// Recipients.
    pub recipients: String,
    /// Transfers to third countries and their safeguards.
    pub transfers: String,
    /// Retention.
    pub retention: String,
    /// Technical measures, derived from the flows.
    pub security: String,
    /// Flow numbers.
    pub flows: String,
    /// True for the row that collects flows without a declared purpose.
    pub undeclared: bool,
}

/// A flow with missing declarations.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// Flow number.
    pub flow: String,
    /// Category name.
    pub category_name: String,
    /// Host or `unknown host`.
    pub host: String,
    /// `file:line` of the sink.
    pub sink_at: String,
    /// What is missing.
    pub missing: Vec<String>,
}

/// A DPIA screening item (Art. 35).
#[derive(Debug, Clone, Serialize)]
pub struct DpiaItem {
    /// `plaintext`, `no-opt-in`, `transfer-without-safeguard` or `transport-unknown`.
    pub criterion: String,
    /// Short title.
    pub title: String,
    /// Names of the categories it applies to, joined.
    pub category_name: String,
    /// Hosts (or `unknown host`) it applies to, joined.
    pub host: String,
    /// Flow numbers.
    pub flows: String,
    /// Why it matters.
    pub why: String,
}

/// Files analysed and skipped.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Rust files found.
    pub files_found: usize,
    /// Files analysed.
    pub files_analyzed: usize,
    /// Files skipped.
    pub files_skipped: usize,
    /// Lines analysed.
    pub lines: usize,
    /// Functions analysed.
    pub functions: usize,
    /// Each skipped file.
    pub skipped: Vec<SkippedView>,
    /// Every network dependency of the tree (from `Cargo.toml` / `Cargo.lock`), modelled or not.
    pub network_dependencies: Vec<NetworkDependency>,
    /// The direct network dependencies the rule pack does not model.
    pub unmodelled: Vec<NetworkDependency>,
    /// Tainted values handed to calls the analysis cannot follow.
    pub unresolved: Vec<Unresolved>,
    /// True when the analysis saw everything it knows how to look at: no unmodelled network
    /// dependency, no unresolved call, no skipped file. Documents never say "nothing is sent"
    /// or show a green screening unless this holds.
    pub complete: bool,
    /// Why the analysis is incomplete, one sentence each (empty when `complete`).
    pub blind_spots: Vec<String>,
}

/// A skipped file.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedView {
    /// `file` or `file:line:column`.
    pub at: String,
    /// Reason code.
    pub reason: String,
    /// Message.
    pub message: String,
}

/// Google Play data-safety answers for one data type.
#[derive(Debug, Clone, Serialize)]
pub struct DataSafetyRow {
    /// Play data type, e.g. "Device or other IDs".
    pub data_type: String,
    /// idflow categories behind it.
    pub categories: String,
    /// `Yes`: the data leaves the device.
    pub collected: String,
    /// `Yes`, `No` or `To be completed`.
    pub shared: String,
    /// `Yes`, `No` or `To be completed`.
    pub encrypted_in_transit: String,
    /// `Optional` or `Required`.
    pub optional: String,
    /// Play purposes, or `To be completed`.
    pub purposes: String,
    /// Flow numbers.
    pub flows: String,
    /// Play Console CSV ids: (data type question, response id), when Play has one.
    pub play_ids: Option<(String, String)>,
    /// Shared with a third party: unknown when a recipient is not declared.
    pub shared_flag: Option<bool>,
    /// Encrypted in transit: unknown when a transport is not determined.
    pub encrypted_flag: Option<bool>,
    /// Play Console purpose ids (`PSL_APP_FUNCTIONALITY`, ...).
    pub purpose_ids: Vec<String>,
    /// Some flow has no declared store purpose.
    pub purpose_missing: bool,
}

/// Apple privacy-manifest draft.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Declared `tracking` (false when not declared).
    pub tracking: bool,
    /// Whether `tracking` is declared at all.
    pub tracking_declared: bool,
    /// One entry per Apple data type.
    pub data_types: Vec<ManifestType>,
}

/// One `NSPrivacyCollectedDataTypes` entry.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestType {
    /// Apple data type key.
    pub data_type: String,
    /// idflow categories behind it.
    pub categories: String,
    /// Declared `linked_to_user` of the purposes (true if any says so; none when some purpose
    /// leaves it open and none says true): the manifest omits the key and says so.
    pub linked: Option<bool>,
    /// Declared tracking of the purposes (or the document's), as `linked`.
    pub tracking: Option<bool>,
    /// Apple purpose keys.
    pub purposes: Vec<String>,
    /// Some flow has no declared store purpose.
    pub purpose_missing: bool,
}

/// Builds the document for `result` under `decl`.
#[must_use]
pub fn build(result: &ScanResult, decl: &Declarations, provenance: Provenance) -> Document {
    let flows: Vec<FlowView> = result
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| flow_view(i, f, result, decl))
        .collect();
    let gaps: Vec<Gap> = flows
        .iter()
        .filter(|f| !f.missing.is_empty())
        .map(|f| Gap {
            flow: f.number.clone(),
            category_name: f.category_name.clone(),
            host: host_label(f),
            sink_at: f.sink_at.clone(),
            missing: f.missing.clone(),
        })
        .collect();
    let purposes = purpose_notices(decl, &flows);
    let document_gaps = document_gaps(decl);
    let required_missing = required_missing(decl, &purposes);
    let dpia = dpia(&flows);
    let categories = categories(result, &flows);
    let summary = Summary {
        flows: flows.len(),
        categories: categories.len(),
        plaintext: flows.iter().filter(|f| f.transport == "plaintext").count(),
        without_consent: flows.iter().filter(|f| !f.consent).count(),
        encrypted: flows.iter().filter(|f| f.encrypted).count(),
        recipients: flows
            .iter()
            .filter_map(|f| f.host.as_deref())
            .collect::<BTreeSet<_>>()
            .len(),
        flows_with_gaps: gaps.len(),
        dpia_items: dpia.len(),
    };
    Document {
        edition: Edition::Audit,
        draft: false,
        representative: decl.representative.clone(),
        representative_needed: representative_needed(decl).to_string(),
        automated_decision_making: decl.automated_decision_making.clone(),
        any_consent: decl
            .purposes
            .iter()
            .any(|p| p.legal_basis == Some(LegalBasis::A)),
        any_legitimate_interest: decl
            .purposes
            .iter()
            .any(|p| p.legal_basis == Some(LegalBasis::F)),
        store_gaps: document_gaps
            .iter()
            .filter(|g| !g.contains("Art. "))
            .cloned()
            .collect(),
        required_missing,
        purposes,
        activities: activities(decl, &flows),
        data_safety: data_safety(result, decl, &flows),
        privacy_manifest: manifest(result, decl, &flows),
        data_map: datamap::build(&flows),
        coverage: coverage(result),
        controller: decl.controller.clone(),
        dpo: decl.dpo.clone(),
        data_subjects: decl.data_subjects.join("; "),
        provenance,
        summary,
        categories,
        flows,
        gaps,
        document_gaps,
        dpia,
    }
}

impl Document {
    /// The same document in `edition`; the public edition is a draft while a required item
    /// is missing or the analysis is incomplete.
    #[must_use]
    pub fn in_edition(mut self, edition: Edition) -> Document {
        self.edition = edition;
        self.draft = edition == Edition::Public
            && (!self.required_missing.is_empty() || !self.coverage.complete);
        self
    }
}

fn flow_view(i: usize, f: &Finding, result: &ScanResult, decl: &Declarations) -> FlowView {
    let host = f.recipient.clone();
    let recipient = host.as_deref().and_then(|h| decl.recipient_for(h));
    let flow_decl = decl.flow_for(&f.category, host.as_deref(), &f.sink.file);
    let purpose = flow_decl.and_then(|d| decl.purpose(&d.purpose));
    let mut missing = Vec::new();
    match (&host, recipient) {
        (None, _) => missing.push(
            "recipient: the code does not tell the host; declare the flow's recipient (Art. 13(1)(e))".to_string(),
        ),
        (Some(h), None) => missing.push(format!(
            "recipient: no declared recipient matches host “{h}” (name, role, country; Art. 13(1)(e))"
        )),
        (Some(_), Some(r)) => {
            if r.country.is_none() {
                missing.push(format!(
                    "recipient country of “{}” (Art. 13(1)(f))",
                    r.name
                ));
            }
        }
    }
    match purpose {
        None => missing.push(format!(
            "purpose: no flow declaration for {} to {} (Art. 13(1)(c))",
            f.category,
            host.as_deref().unwrap_or("this recipient")
        )),
        Some(p) => {
            if p.legal_basis.is_none() {
                missing.push(format!(
                    "legal basis (Art. 6(1) a–f) of purpose “{}” (Art. 13(1)(c))",
                    p.id
                ));
            }
            if p.retention.is_none() {
                missing.push(format!(
                    "retention period of purpose “{}” (Art. 13(2)(a))",
                    p.id
                ));
            }
        }
    }
    FlowView {
        number: format!("F{}", i + 1),
        id: f.id.clone(),
        category: f.category.clone(),
        category_name: super::category_name(result, &f.category).to_string(),
        source_rule: f.source_rule.clone(),
        sink_rule: f.sink_rule.clone(),
        source_at: at(&f.source),
        sink_at: at(&f.sink),
        source: f.source.clone(),
        sink: f.sink.clone(),
        path: f
            .path
            .iter()
            .map(|s| StepView {
                at: at(&s.location),
                note: s.note.clone(),
                snippet: s.location.snippet.clone(),
            })
            .collect(),
        transport: f.transport.as_str().to_string(),
        encrypted: f.encrypted,
        pseudonymized: f.pseudonymized,
        consent: f.consent,
        protection: protection(f),
        host,
        recipient: recipient.map(recipient_view),
        purpose: purpose.map(purpose_view),
        missing,
    }
}

fn at(l: &Location) -> String {
    format!("{}:{}", l.file, l.line)
}

/// The declared recipients of `flows`, and the hosts of those that no declaration names.
pub(super) fn recipients_of(flows: &[&FlowView]) -> (BTreeSet<RecipientView>, BTreeSet<String>) {
    let recipients = flows.iter().filter_map(|f| f.recipient.clone()).collect();
    let undeclared_hosts = flows
        .iter()
        .filter(|f| f.recipient.is_none())
        .map(|f| host_label(f))
        .collect();
    (recipients, undeclared_hosts)
}

pub(super) fn host_label(f: &FlowView) -> String {
    f.host.clone().unwrap_or_else(|| "unknown host".to_string())
}

fn protection(f: &Finding) -> String {
    let transport = match f.transport {
        Transport::Tls => "TLS",
        Transport::Plaintext => "plaintext (no transport encryption)",
        Transport::Unknown => "transport not determined",
    };
    let extra = if f.encrypted {
        ", additionally encrypted by the app"
    } else if f.pseudonymized {
        ", pseudonymized (hashed) by the app"
    } else {
        ""
    };
    format!("{transport}{extra}")
}

fn purpose_view(p: &Purpose) -> PurposeView {
    PurposeView {
        id: p.id.clone(),
        description: p.description.clone(),
        legal_basis: p.legal_basis.map(|b| b.citation()),
        retention: p.retention.clone(),
        play_purpose: p.store_purpose.map(|s| s.play().to_string()),
        apple_purpose: p.store_purpose.map(|s| s.apple().to_string()),
    }
}

fn recipient_view(r: &Recipient) -> RecipientView {
    let outside = r.country.as_deref().map(|c| !in_eea(c));
    let transfer = match (r.country.as_deref(), outside, r.safeguard.as_deref()) {
        (None, _, _) => "country to be completed".to_string(),
        (Some(c), Some(false), _) => format!("within the EEA ({c})"),
        (Some(c), _, Some(s)) => format!("outside the EEA ({c}), safeguard: {s}"),
        (Some(c), _, None) => format!("outside the EEA ({c}), no safeguard declared"),
    };
    RecipientView {
        name: r.name.clone(),
        role: serde_yaml::to_string(&r.role)
            .unwrap_or_default()
            .trim()
            .to_string(),
        role_label: r.role.label().to_string(),
        country: r.country.clone(),
        safeguard: r.safeguard.clone(),
        outside_eea: match outside {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        }
        .to_string(),
        transfer,
    }
}

fn categories(result: &ScanResult, flows: &[FlowView]) -> Vec<CategoryView> {
    // Categories in the order the findings first mention them, so the notice follows the code.
    let mut order: Vec<&str> = Vec::new();
    for f in flows {
        if !order.contains(&f.category.as_str()) {
            order.push(&f.category);
        }
    }
    order
        .into_iter()
        .map(|id| {
            let of: Vec<&FlowView> = flows.iter().filter(|f| f.category == id).collect();
            let info = result.categories.iter().find(|c| c.id == id);
            let purposes: BTreeSet<PurposeView> =
                of.iter().filter_map(|f| f.purpose.clone()).collect();
            let (recipients, undeclared_hosts) = recipients_of(&of);
            let protections: BTreeSet<&str> = of.iter().map(|f| f.protection.as_str()).collect();
            let consented = of.iter().filter(|f| f.consent).count();
            let opt_in = opt_in_phrase(consented, of.len());
            CategoryView {
                id: id.to_string(),
                name: info.map_or_else(|| id.to_string(), |c| c.name.clone()),
                gdpr: info.map(|c| c.gdpr.clone()).unwrap_or_default(),
                fideslang: info.map(|c| c.fideslang.clone()).unwrap_or_default(),
                flows: of.iter().map(|f| f.number.clone()).collect(),
                purposes: purposes.into_iter().collect(),
                purpose_missing: of.iter().any(|f| f.purpose.is_none()),
                recipients: recipients.into_iter().collect(),
                undeclared_hosts: undeclared_hosts.into_iter().collect(),
                protection: protections.into_iter().collect::<Vec<_>>().join("; "),
                opt_in,
            }
        })
        .collect()
}

fn activities(decl: &Declarations, flows: &[FlowView]) -> Vec<Activity> {
    let subjects = |p: Option<&Purpose>, of: &[&FlowView]| {
        let list: Vec<String> = subjects(decl, p, of)
            .into_iter()
            .map(|s| match (s.third_party_source, s.source) {
                (true, Some(src)) => format!("{} (source: {src})", s.who),
                (true, None) => format!("{} (source: to be completed)", s.who),
                (false, _) => s.who,
            })
            .collect();
        or_none(join(list), "To be completed")
    };
    let row = |of: &[&FlowView]| {
        let categories: BTreeSet<&str> = of.iter().map(|f| f.category_name.as_str()).collect();
        let mut recipients = BTreeSet::new();
        let mut transfers = BTreeSet::new();
        for f in of {
            match &f.recipient {
                Some(r) => {
                    recipients.insert(format!(
                        "{} ({}, {})",
                        r.name,
                        r.role_label,
                        r.country.as_deref().unwrap_or("country to be completed")
                    ));
                    transfers.insert(r.transfer.clone());
                }
                None => {
                    recipients.insert(format!("To be completed: {}", host_label(f)));
                    transfers.insert(format!("To be completed: {}", host_label(f)));
                }
            }
        }
        let mut security = BTreeSet::new();
        for f in of {
            security.insert(match f.transport.as_str() {
                "tls" => "TLS in transit",
                "plaintext" => "no transport encryption (plaintext)",
                _ => "transport not determined",
            });
            if f.encrypted {
                security.insert("application-level encryption");
            }
            if f.pseudonymized {
                security.insert("pseudonymization (hash)");
            }
            security.insert(if f.consent {
                "sent only after opt-in"
            } else {
                "sent without opt-in"
            });
        }
        (
            join(categories),
            join(recipients),
            join(transfers),
            join(security),
            of.iter()
                .map(|f| f.number.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    let mut out = Vec::new();
    for p in &decl.purposes {
        let of: Vec<&FlowView> = flows
            .iter()
            .filter(|f| f.purpose.as_ref().is_some_and(|v| v.id == p.id))
            .collect();
        let (categories, recipients, transfers, security, numbers) = row(&of);
        out.push(Activity {
            purpose_id: p.id.clone(),
            purpose: p.description.clone(),
            legal_basis: p
                .legal_basis
                .map_or_else(|| "To be completed".to_string(), |b| b.citation()),
            categories: or_none(categories, "none found in the code"),
            data_subjects: subjects(Some(p), &of),
            legitimate_interest: match (p.legal_basis, &p.legitimate_interest) {
                (Some(LegalBasis::F), Some(i)) => i.clone(),
                (Some(LegalBasis::F), None) => "To be completed".to_string(),
                _ => String::new(),
            },
            recipients: or_none(recipients, "none found in the code"),
            transfers: or_none(transfers, "none"),
            retention: p
                .retention
                .clone()
                .unwrap_or_else(|| "To be completed".to_string()),
            security: or_none(security, "none found in the code"),
            flows: or_none(numbers, "none"),
            undeclared: false,
        });
    }
    let undeclared: Vec<&FlowView> = flows.iter().filter(|f| f.purpose.is_none()).collect();
    if !undeclared.is_empty() {
        let (categories, recipients, transfers, security, numbers) = row(&undeclared);
        out.push(Activity {
            purpose_id: String::new(),
            purpose: "To be completed: flows without a declared purpose".to_string(),
            legal_basis: "To be completed".to_string(),
            categories,
            data_subjects: subjects(None, &undeclared),
            legitimate_interest: String::new(),
            recipients,
            transfers,
            retention: "To be completed".to_string(),
            security,
            flows: numbers,
            undeclared: true,
        });
    }
    out
}

pub(super) fn join<'a>(set: impl IntoIterator<Item = impl AsRef<str> + 'a>) -> String {
    set.into_iter()
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn or_none(s: String, none: &str) -> String {
    if s.is_empty() {
        none.to_string()
    } else {
        s
    }
}

fn dpia(flows: &[FlowView]) -> Vec<DpiaItem> {
    // One row per criterion (a screening answers "does this criterion apply", once), with the
    // categories, hosts and flows it applies to; the BTreeMap keeps the criteria in order.
    let mut items: BTreeMap<u8, Vec<&FlowView>> = BTreeMap::new();
    for f in flows {
        if f.transport == "plaintext" && !f.encrypted {
            items.entry(0).or_default().push(f);
        }
        if f.transport == "unknown" && !f.encrypted {
            items.entry(1).or_default().push(f);
        }
        if !f.consent {
            items.entry(2).or_default().push(f);
        }
        if let Some(r) = &f.recipient {
            if r.outside_eea == "yes" && r.safeguard.is_none() {
                items.entry(3).or_default().push(f);
            }
        }
    }
    items
        .into_iter()
        .map(|(n, of)| {
            let category_name = unique(of.iter().map(|f| f.category_name.as_str())).join(", ");
            let host = unique(of.iter().map(|f| host_label(f))).join(", ");
            let numbers: Vec<&str> = of.iter().map(|f| f.number.as_str()).collect();
            let (criterion, title, why) = match n {
                0 => (
                    "plaintext",
                    "Identifier sent in plaintext",
                    "anyone on the network path can read and link it (Art. 32(1)(a), Art. 35(1))",
                ),
                1 => (
                    "transport-unknown",
                    "Transport encryption not determined",
                    "the endpoint comes from configuration; confirm it is TLS (Art. 32)",
                ),
                2 => (
                    "no-opt-in",
                    "Sent without opt-in",
                    "processing happens by default, before any choice of the user (Art. 25(2), Art. 7)",
                ),
                _ => (
                    "transfer-without-safeguard",
                    "Transfer outside the EEA without a safeguard",
                    "Chapter V requires an adequacy decision or appropriate safeguards (Art. 44–46)",
                ),
            };
            DpiaItem {
                criterion: criterion.to_string(),
                title: title.to_string(),
                category_name,
                host,
                flows: numbers.join(", "),
                why: why.to_string(),
            }
        })
        .collect()
}

fn coverage(result: &ScanResult) -> Coverage {
    Coverage {
        files_found: result.stats.files_found,
        files_analyzed: result.stats.files_analyzed,
        files_skipped: result.stats.files_skipped,
        lines: result.stats.lines,
        functions: result.stats.functions,
        skipped: result
            .skipped
            .iter()
            .map(|s| SkippedView {
                at: match (s.line, s.column) {
                    (Some(l), Some(c)) => format!("{}:{l}:{c}", s.file),
                    (Some(l), None) => format!("{}:{l}", s.file),
                    _ => s.file.clone(),
                },
                reason: s.reason.code().to_string(),
                message: s.message.clone(),
            })
            .collect(),
        network_dependencies: result.network_dependencies.clone(),
        unmodelled: result.unmodelled().cloned().collect(),
        unresolved: result.unresolved.clone(),
        complete: !result.incomplete(),
        blind_spots: result.blind_spots(),
    }
}
