//! The notice's purposes and the gaps by article: what Art. 13, 14 and 30 ask for, per purpose
//! and for the document, joined from the flows and the declarations.
//!
//! Takes the declarations and the numbered flows, gives the [`PurposeNotice`] entries (each
//! pairing a purpose's data, basis, legitimate interests, data subjects and their source,
//! recipients, transfers, retention and requirement) and the missing items, each naming its
//! article. Never fills a gap by guessing.

use std::collections::BTreeSet;

use super::documents::{host_label, recipients_of, FlowView, PurposeNotice, SubjectView};
use crate::declarations::{in_eea, Declarations, LegalBasis, Purpose, SubjectKind};

/// Whether Art. 27 asks for a representative: only a controller established outside the EEA.
pub(super) fn representative_needed(decl: &Declarations) -> &'static str {
    match decl.controller.as_ref().and_then(|c| c.country.as_deref()) {
        None => "unknown",
        Some(c) if in_eea(c) => "not-required",
        Some(_) => "required",
    }
}

/// What the declarations leave open for the document as a whole, each naming its article.
pub(super) fn document_gaps(decl: &Declarations) -> Vec<String> {
    let mut gaps = Vec::new();
    match &decl.controller {
        None => gaps.push(
            "controller: name, address and contact (Art. 13(1)(a), Art. 14(1)(a), Art. 30(1)(a))"
                .to_string(),
        ),
        Some(c) if c.country.is_none() => gaps.push(
            "country where the controller is established (Art. 27: whether a representative in the Union is required)"
                .to_string(),
        ),
        Some(_) => {}
    }
    if representative_needed(decl) == "required" && decl.representative.is_none() {
        gaps.push(
            "representative in the Union of a controller established outside it (Art. 27, Art. 13(1)(a), Art. 30(1)(a))"
                .to_string(),
        );
    }
    if decl.dpo.is_none() {
        gaps.push(
            "DPO contact (Art. 13(1)(b), Art. 14(1)(b), Art. 30(1)(a)), if a data protection officer is designated"
                .to_string(),
        );
    }
    match &decl.automated_decision_making {
        None => gaps.push(
            "whether decisions are automated, profiling included (Art. 13(2)(f), Art. 14(2)(g))"
                .to_string(),
        ),
        Some(a) if a.used && a.logic.is_none() => gaps.push(
            "the logic, significance and consequences of the automated decisions (Art. 13(2)(f), Art. 14(2)(g))"
                .to_string(),
        ),
        Some(_) => {}
    }
    if decl.tracking.is_none() {
        gaps.push(
            "whether data is used for tracking (Apple privacy manifest NSPrivacyTracking)"
                .to_string(),
        );
    }
    gaps
}

/// Every GDPR item the notice or the records need and the declarations leave open: the
/// document's and each purpose's, without code locations, each once, in a fixed order.
pub(super) fn required_missing(decl: &Declarations, purposes: &[PurposeNotice]) -> Vec<String> {
    let mut out: Vec<String> = document_gaps(decl)
        .into_iter()
        .filter(|g| g.contains("Art. "))
        .collect();
    for p in purposes {
        for m in &p.missing {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
    }
    out
}

/// The notice's purposes: each declared purpose with the flows that serve it, then one entry
/// for flows without a declared purpose.
pub(super) fn purpose_notices(decl: &Declarations, flows: &[FlowView]) -> Vec<PurposeNotice> {
    let mut out: Vec<PurposeNotice> = decl
        .purposes
        .iter()
        .map(|p| {
            let of: Vec<&FlowView> = flows
                .iter()
                .filter(|f| f.purpose.as_ref().is_some_and(|v| v.id == p.id))
                .collect();
            purpose_notice(decl, Some(p), &of)
        })
        .collect();
    let undeclared: Vec<&FlowView> = flows.iter().filter(|f| f.purpose.is_none()).collect();
    if !undeclared.is_empty() {
        out.push(purpose_notice(decl, None, &undeclared));
    }
    out
}

fn purpose_notice(decl: &Declarations, p: Option<&Purpose>, of: &[&FlowView]) -> PurposeNotice {
    let categories: Vec<String> = unique(of.iter().map(|f| f.category_name.clone()));
    let (recipients, undeclared_hosts) = recipients_of(of);
    let subjects = subjects(decl, p, of);
    let consented = of.iter().filter(|f| f.consent).count();
    let protections: BTreeSet<&str> = of.iter().map(|f| f.protection.as_str()).collect();
    let name = p.map_or_else(
        || "flows without a declared purpose".to_string(),
        |p| format!("“{}”", p.id),
    );
    let mut missing = Vec::new();
    match p {
        None => {
            for f in of {
                let m = format!(
                    "purpose and legal basis of sending {} to {} (Art. 13(1)(c), Art. 30(1)(b))",
                    f.category_name,
                    host_label(f)
                );
                if !missing.contains(&m) {
                    missing.push(m);
                }
            }
        }
        Some(p) => {
            if p.legal_basis.is_none() {
                missing.push(format!(
                    "legal basis (Art. 6(1) a–f) of purpose {name} (Art. 13(1)(c), Art. 14(1)(c))"
                ));
            }
            if p.legal_basis == Some(LegalBasis::F) && p.legitimate_interest.is_none() {
                missing.push(format!(
                    "legitimate interests pursued by purpose {name} (Art. 13(1)(d), Art. 14(2)(b))"
                ));
            }
            if p.retention.is_none() {
                missing.push(format!(
                    "retention period of purpose {name} (Art. 13(2)(a), Art. 14(2)(a), Art. 30(1)(f))"
                ));
            }
            if p.requirement.is_none() {
                missing.push(format!(
                    "whether providing the data for purpose {name} is a statutory or contractual requirement, and the consequences of not providing it (Art. 13(2)(e))"
                ));
            }
        }
    }
    if subjects.is_empty() {
        missing.push(format!(
            "categories of data subjects of {name} (Art. 30(1)(c))"
        ));
    }
    for s in subjects
        .iter()
        .filter(|s| s.third_party_source && s.source.is_none())
    {
        missing.push(format!(
            "source of the data of {} for {name}, who do not provide it themselves (Art. 14(2)(f))",
            s.who
        ));
    }
    for h in &undeclared_hosts {
        missing.push(format!(
            "recipient behind {h} for {name}: name, role and country (Art. 13(1)(e), Art. 30(1)(d))"
        ));
    }
    for r in &recipients {
        if r.country.is_none() {
            missing.push(format!(
                "country of recipient {} (Art. 13(1)(f), Art. 30(1)(e))",
                r.name
            ));
        } else if r.outside_eea == "yes" && r.safeguard.is_none() {
            missing.push(format!(
                "transfer safeguard for recipient {} outside the EEA (Art. 13(1)(f), Art. 30(1)(e), Art. 44–46)",
                r.name
            ));
        }
    }
    PurposeNotice {
        id: p.map(|p| p.id.clone()).unwrap_or_default(),
        description: p.map_or_else(
            || "Flows without a declared purpose".to_string(),
            |p| p.description.clone(),
        ),
        legal_basis: p.and_then(|p| p.legal_basis).map(LegalBasis::citation),
        legitimate_interests_basis: p.is_some_and(|p| p.legal_basis == Some(LegalBasis::F)),
        legitimate_interest: p.and_then(|p| p.legitimate_interest.clone()),
        categories,
        subjects,
        recipients: recipients.into_iter().collect(),
        undeclared_hosts: undeclared_hosts.into_iter().collect(),
        retention: p.and_then(|p| p.retention.clone()),
        requirement: p
            .and_then(|p| p.requirement.as_ref())
            .map(|r| r.kind.label().to_string()),
        consequences: p
            .and_then(|p| p.requirement.as_ref())
            .map(|r| r.consequences.clone()),
        protection: protections.into_iter().collect::<Vec<_>>().join("; "),
        plaintext: of
            .iter()
            .any(|f| f.transport == "plaintext" && !f.encrypted),
        transport_unknown: of.iter().any(|f| f.transport == "unknown" && !f.encrypted),
        opt_in: opt_in_phrase(consented, of.len()),
        all_opt_in: !of.is_empty() && consented == of.len(),
        flows: of.iter().map(|f| f.number.clone()).collect(),
        missing,
        undeclared: p.is_none(),
    }
}

/// The data subjects of a purpose: its own `subjects`, else the document-level list, whose
/// kind is not declared (so no Art. 14 source is asked for, and none is claimed).
pub(super) fn subjects(
    decl: &Declarations,
    p: Option<&Purpose>,
    of: &[&FlowView],
) -> Vec<SubjectView> {
    let name_of = |id: &str| {
        of.iter()
            .find(|f| f.category == id)
            .map_or_else(|| id.to_string(), |f| f.category_name.clone())
    };
    let declared = p.map(|p| p.subjects.as_slice()).unwrap_or_default();
    if declared.is_empty() {
        return decl
            .data_subjects
            .iter()
            .map(|who| SubjectView {
                who: who.clone(),
                kind: String::new(),
                third_party_source: false,
                source: None,
                categories: String::new(),
            })
            .collect();
    }
    declared
        .iter()
        .map(|s| SubjectView {
            who: s.who.clone(),
            kind: match s.kind {
                SubjectKind::User => "user",
                SubjectKind::Contact => "contact",
                SubjectKind::Other => "other",
            }
            .to_string(),
            third_party_source: s.kind.third_party_source(),
            source: s.source.clone(),
            categories: if s.categories.is_empty() {
                unique(of.iter().map(|f| f.category_name.clone())).join(", ")
            } else {
                s.categories
                    .iter()
                    .map(|c| name_of(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
        .collect()
}

pub(super) fn opt_in_phrase(consented: usize, total: usize) -> String {
    if total == 0 {
        "No flow found in the code".to_string()
    } else if consented == total {
        "Yes: sent only after the user opts in".to_string()
    } else if consented == 0 {
        "No: sent without asking for consent".to_string()
    } else {
        format!(
            "Partly: {} of {total} flows are sent without asking for consent",
            total - consented
        )
    }
}

/// The distinct items of `items`, in first-seen order.
pub(super) fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
