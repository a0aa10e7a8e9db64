//! Store labels: the Google Play data-safety answers and the Apple privacy-manifest draft.
//!
//! Takes the scan result (for each category's store data types), the declarations and the
//! numbered flows, gives one [`DataSafetyRow`] per Play data type and the [`Manifest`]. Data of
//! a user's contacts is the stores' contacts type; linked, tracking and purposes come from the
//! declarations only, and stay unknown (never a silent `false`) when not declared.

use std::collections::{BTreeMap, BTreeSet};

use super::documents::{join, DataSafetyRow, FlowView, Manifest, ManifestType};
use crate::declarations::{Declarations, Purpose, SubjectKind};
use crate::findings::ScanResult;

/// Apple's and Play's data type for the data of a user's contacts: a contact's phone number
/// is "Contacts" data, not the user's own phone number.
const APPLE_CONTACTS: &str = "NSPrivacyCollectedDataTypeContacts";
const PLAY_CONTACTS: &str = "Contacts";

/// Groups flows by store data type: the category's own type, or the contacts type when the
/// flow's purpose declares the category as data of the user's contacts (both when it
/// declares it for contacts and for others).
fn store_groups<'a>(
    result: &ScanResult,
    decl: &Declarations,
    flows: &'a [FlowView],
    key: impl Fn(&crate::findings::CategoryInfo) -> String,
    contacts_type: &str,
) -> BTreeMap<String, Vec<&'a FlowView>> {
    let mut groups: BTreeMap<String, Vec<&FlowView>> = BTreeMap::new();
    for f in flows {
        let own = result
            .categories
            .iter()
            .find(|c| c.id == f.category)
            .map_or_else(|| f.category_name.clone(), &key);
        let (contact, other) = subject_kinds(decl, f);
        if contact {
            groups.entry(contacts_type.to_string()).or_default().push(f);
        }
        if other || !contact {
            groups.entry(own).or_default().push(f);
        }
    }
    groups
}

/// Whether the flow's data belongs to contacts of the user, and whether to anyone else.
fn subject_kinds(decl: &Declarations, f: &FlowView) -> (bool, bool) {
    let subjects = f
        .purpose
        .as_ref()
        .and_then(|p| decl.purpose(&p.id))
        .map(|p| p.subjects.as_slice())
        .unwrap_or_default();
    let covering: Vec<SubjectKind> = subjects
        .iter()
        .filter(|s| s.categories.is_empty() || s.categories.contains(&f.category))
        .map(|s| s.kind)
        .collect();
    let contact = covering.contains(&SubjectKind::Contact);
    let other = covering.is_empty() || covering.iter().any(|k| *k != SubjectKind::Contact);
    (contact, other)
}

/// The declared purposes of the flows `of`, when they are declarations.
fn declared_purposes<'d>(decl: &'d Declarations, of: &[&FlowView]) -> Vec<Option<&'d Purpose>> {
    of.iter()
        .map(|f| f.purpose.as_ref().and_then(|p| decl.purpose(&p.id)))
        .collect()
}

/// A yes/no the store asks for per data type, from the flows' purposes: true when any says
/// true, false only when every one says false, unknown otherwise.
fn any_true(values: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let values: Vec<Option<bool>> = values.into_iter().collect();
    if values.contains(&Some(true)) {
        Some(true)
    } else if !values.is_empty() && values.iter().all(|v| *v == Some(false)) {
        Some(false)
    } else {
        None
    }
}

pub(super) fn data_safety(
    result: &ScanResult,
    decl: &Declarations,
    flows: &[FlowView],
) -> Vec<DataSafetyRow> {
    store_groups(
        result,
        decl,
        flows,
        |c| c.play_data_safety.clone(),
        PLAY_CONTACTS,
    )
    .into_iter()
    .map(|(data_type, of)| {
        let roles: BTreeSet<Option<&str>> = of
            .iter()
            .map(|f| f.recipient.as_ref().map(|r| r.role.as_str()))
            .collect();
        // Play: transfers to service providers (processors) and to the developer's own
        // servers are not "sharing"; transfers to third parties are.
        let shared_flag = if roles.contains(&Some("third-party")) {
            Some(true)
        } else if roles.contains(&None) {
            None
        } else {
            Some(false)
        };
        let encrypted_flag = if of.iter().all(|f| f.transport == "tls") {
            Some(true)
        } else if of.iter().any(|f| f.transport == "plaintext") {
            Some(false)
        } else {
            None
        };
        let purposes: BTreeSet<&str> = of
            .iter()
            .filter_map(|f| f.purpose.as_ref()?.play_purpose.as_deref())
            .collect();
        let purpose_ids: BTreeSet<&str> = declared_purposes(decl, &of)
            .into_iter()
            .filter_map(|p| Some(p?.store_purpose?.play_id()))
            .collect();
        let purpose_missing = of
            .iter()
            .any(|f| f.purpose.as_ref().is_none_or(|p| p.play_purpose.is_none()));
        let mut purposes = join(purposes);
        if purpose_missing {
            purposes = if purposes.is_empty() {
                "To be completed".to_string()
            } else {
                format!("{purposes}; to be completed for some flows")
            };
        }
        let yes_no = |v: Option<bool>| match v {
            Some(true) => "Yes",
            Some(false) => "No",
            None => "To be completed",
        };
        DataSafetyRow {
            play_ids: play_ids(&data_type).map(|(q, r)| (q.to_string(), r.to_string())),
            data_type,
            categories: join(
                of.iter()
                    .map(|f| f.category_name.as_str())
                    .collect::<BTreeSet<_>>(),
            ),
            collected: "Yes".to_string(),
            shared: yes_no(shared_flag).to_string(),
            shared_flag,
            encrypted_in_transit: yes_no(encrypted_flag).to_string(),
            encrypted_flag,
            optional: if of.iter().all(|f| f.consent) {
                "Optional"
            } else {
                "Required"
            }
            .to_string(),
            purposes,
            purpose_ids: purpose_ids.into_iter().map(str::to_string).collect(),
            purpose_missing,
            flows: of
                .iter()
                .map(|f| f.number.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    })
    .collect()
}

/// The Play Console CSV ids (question group, response id) of a Play data type label, for
/// the labels the rule pack's categories use (and Contacts).
fn play_ids(label: &str) -> Option<(&'static str, &'static str)> {
    Some(match label {
        "Device or other IDs" => ("PSL_DATA_TYPES_IDENTIFIERS", "PSL_DEVICE_ID"),
        "Phone number" => ("PSL_DATA_TYPES_PERSONAL", "PSL_PHONE"),
        "Email address" => ("PSL_DATA_TYPES_PERSONAL", "PSL_EMAIL"),
        "User IDs" => ("PSL_DATA_TYPES_PERSONAL", "PSL_USER_IDS"),
        "Name" => ("PSL_DATA_TYPES_PERSONAL", "PSL_NAME"),
        "Contacts" => ("PSL_DATA_TYPES_CONTACTS", "PSL_CONTACTS"),
        "Approximate location" => ("PSL_DATA_TYPES_LOCATION", "PSL_APPROX_LOCATION"),
        "Precise location" => ("PSL_DATA_TYPES_LOCATION", "PSL_PRECISE_LOCATION"),
        _ => return None,
    })
}

pub(super) fn manifest(result: &ScanResult, decl: &Declarations, flows: &[FlowView]) -> Manifest {
    Manifest {
        tracking: decl.tracking.unwrap_or(false),
        tracking_declared: decl.tracking.is_some(),
        data_types: store_groups(
            result,
            decl,
            flows,
            |c| c.apple_privacy.clone(),
            APPLE_CONTACTS,
        )
        .into_iter()
        .map(|(data_type, of)| {
            let purposes = declared_purposes(decl, &of);
            ManifestType {
                data_type,
                categories: join(
                    of.iter()
                        .map(|f| f.category_name.as_str())
                        .collect::<BTreeSet<_>>(),
                ),
                linked: any_true(purposes.iter().map(|p| p.and_then(|p| p.linked_to_user))),
                tracking: any_true(
                    purposes
                        .iter()
                        .map(|p| p.and_then(|p| p.tracking).or(decl.tracking)),
                ),
                purposes: of
                    .iter()
                    .filter_map(|f| f.purpose.as_ref()?.apple_purpose.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                purpose_missing: of
                    .iter()
                    .any(|f| f.purpose.as_ref().is_none_or(|p| p.apple_purpose.is_none())),
            }
        })
        .collect(),
    }
}
