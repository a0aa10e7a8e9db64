//! CSV documents: Art. 30 records and the Google Play data-safety answers (in the Play Console
//! "Import from CSV" format), written with the `csv` crate.
//!
//! Takes a [`Document`], gives RFC 4180 text. A CSV file has no room for an appendix, so every
//! Art. 30 row carries its evidence (the `file:line` of each flow's sink) and the provenance,
//! with the scan's coverage (files analysed and skipped); the Play file, whose columns Play
//! Console fixes, carries them in the human-readable label column the importer ignores. A cell
//! that starts with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`, so a
//! spreadsheet never evaluates code text as a formula. When the analysis is incomplete
//! (unmodelled network dependencies, unresolved calls, skipped files), the Art. 30 file ends
//! with a row that says so, its `evidence` cell listing why, and the Play file says it in the
//! label of its first question.

use std::fmt::Write as _;

use super::documents::{Document, FlowView};

/// Art. 30(1) records, one row per processing activity.
///
/// # Errors
/// Only if the CSV writer fails (it writes to memory).
pub fn ropa(doc: &Document) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "purpose_id",
        "purpose",
        "legal_basis",
        "legitimate_interest",
        "categories_of_personal_data",
        "categories_of_data_subjects",
        "recipients",
        "third_country_transfers",
        "retention",
        "security_measures",
        "flows",
        "evidence",
        "controller",
        "provenance",
    ])?;
    let controller = doc.controller.as_ref().map_or_else(
        || "To be completed".to_string(),
        |c| {
            [
                Some(c.name.as_str()),
                c.address.as_deref(),
                c.contact.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
        },
    );
    let provenance = provenance(doc);
    for a in &doc.activities {
        let evidence = evidence(doc, &a.flows);
        w.write_record(
            [
                &a.purpose_id,
                &a.purpose,
                &a.legal_basis,
                &a.legitimate_interest,
                &a.categories,
                &a.data_subjects,
                &a.recipients,
                &a.transfers,
                &a.retention,
                &a.security,
                &a.flows,
                &evidence,
                &controller,
                &provenance,
            ]
            .map(|s| safe(s)),
        )?;
    }
    if let Some(why) = incomplete(doc) {
        let mut row = vec![String::new(); 14];
        row[1] = INCOMPLETE.to_string();
        row[11] = why;
        row[12].clone_from(&controller);
        row[13].clone_from(&provenance);
        w.write_record(row.iter().map(|s| safe(s)))?;
    }
    finish(w)
}

/// The first cell of the row a CSV document ends with when the analysis is incomplete: a
/// spreadsheet with only a header (or only the flows found) must not read as "nothing else".
pub const INCOMPLETE: &str = "To be completed: analysis incomplete";

/// The blind spots in one cell, when there are any.
fn incomplete(doc: &Document) -> Option<String> {
    (!doc.coverage.complete).then(|| doc.coverage.blind_spots.join("; "))
}

/// The header of the Play Console "Import from CSV" file of the Data safety form, as Play
/// Console exports it; the importer reads the first three columns, the label is for people.
pub const PLAY_CSV_HEADER: [&str; 5] = [
    "Question ID (machine readable)",
    "Response ID (machine readable)",
    "Response value",
    "Answer requirement",
    "Human-friendly question label",
];

/// Google Play data-safety answers in the Play Console import format: one row per question
/// and response. An answer idflow cannot know stays empty (Play Console asks for it after the
/// import) and its label says why; the first row's label carries the provenance and, when the
/// analysis is incomplete, its blind spots.
///
/// # Errors
/// Only if the CSV writer fails.
pub fn data_safety(doc: &Document) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(PLAY_CSV_HEADER)?;
    let mut first_label =
        "Does your app collect or share any of the required user data types?".to_string();
    let _ = write!(first_label, " [idflow: {}]", provenance(doc));
    if let Some(why) = incomplete(doc) {
        let _ = write!(first_label, " [{INCOMPLETE}: {why}]");
    }
    for r in doc.data_safety.iter().filter(|r| r.play_ids.is_none()) {
        let _ = write!(
            first_label,
            " [to be completed by hand: Play data type `{}` ({}) has no import id]",
            r.data_type, r.categories
        );
    }
    let collects = if !doc.data_safety.is_empty() {
        "TRUE"
    } else if doc.coverage.complete {
        "FALSE"
    } else {
        ""
    };
    let mut rows: Vec<[String; 5]> = vec![play_row(
        "PSL_DATA_COLLECTION_COLLECTS_PERSONAL_DATA",
        "",
        collects,
        "REQUIRED",
        &first_label,
    )];
    let all_encrypted = all_flags(doc.data_safety.iter().map(|r| r.encrypted_flag));
    rows.push(play_row(
        "PSL_DATA_COLLECTION_ENCRYPTED_IN_TRANSIT",
        "",
        flag(all_encrypted),
        "MAYBE_REQUIRED",
        &answer_label(
            "Is all of the user data collected by your app encrypted in transit?",
            all_encrypted.is_none(),
        ),
    ));
    for r in &doc.data_safety {
        let Some((group, id)) = &r.play_ids else {
            continue;
        };
        rows.extend(data_type_rows(doc, r, group, id));
    }
    for row in &rows {
        w.write_record(row.iter().map(|s| safe(s)))?;
    }
    finish(w)
}

/// The rows of one data type: selected, collected/shared, ephemeral, user control, purposes.
fn data_type_rows(
    doc: &Document,
    r: &super::documents::DataSafetyRow,
    group: &str,
    id: &str,
) -> Vec<[String; 5]> {
    let usage = |q: &str| format!("PSL_DATA_USAGE_RESPONSES:{id}:{q}");
    let label = &r.data_type;
    let mut rows = vec![
        play_row(
            group,
            id,
            "TRUE",
            "MULTIPLE_CHOICE",
            &format!(
                "Data types / {label} [idflow: {}; flows {}: {}]",
                r.categories,
                r.flows,
                evidence(doc, &r.flows)
            ),
        ),
        play_row(
            &usage("PSL_DATA_USAGE_COLLECTION_AND_SHARING"),
            "PSL_DATA_USAGE_ONLY_COLLECTED",
            "TRUE",
            "MULTIPLE_CHOICE",
            &format!("{label} / Collected"),
        ),
        play_row(
            &usage("PSL_DATA_USAGE_COLLECTION_AND_SHARING"),
            "PSL_DATA_USAGE_ONLY_SHARED",
            if r.shared_flag == Some(true) {
                "TRUE"
            } else {
                ""
            },
            "MULTIPLE_CHOICE",
            &answer_label(&format!("{label} / Shared"), r.shared_flag.is_none()),
        ),
        // Whether data is processed ephemerally is a fact about the server, not the app.
        play_row(
            &usage("PSL_DATA_USAGE_EPHEMERAL"),
            "",
            "",
            "MAYBE_REQUIRED",
            &answer_label(&format!("{label} / Processed ephemerally?"), true),
        ),
    ];
    let (control, control_label) = if r.optional == "Optional" {
        ("PSL_DATA_USAGE_USER_CONTROL_OPTIONAL", "Users can choose")
    } else {
        ("PSL_DATA_USAGE_USER_CONTROL_REQUIRED", "Required")
    };
    rows.push(play_row(
        &usage("DATA_USAGE_USER_CONTROL"),
        control,
        "TRUE",
        "SINGLE_CHOICE",
        &format!("{label} / Is this data required? / {control_label}"),
    ));
    if r.purpose_ids.is_empty() {
        rows.push(play_row(
            &usage("DATA_USAGE_COLLECTION_PURPOSE"),
            "",
            "",
            "MULTIPLE_CHOICE",
            &answer_label(&format!("{label} / Why is this data collected?"), true),
        ));
    }
    for purpose in &r.purpose_ids {
        rows.push(play_row(
            &usage("DATA_USAGE_COLLECTION_PURPOSE"),
            purpose,
            "TRUE",
            "MULTIPLE_CHOICE",
            &answer_label(
                &format!("{label} / Why is this data collected?"),
                r.purpose_missing,
            ),
        ));
        if r.shared_flag == Some(true) {
            rows.push(play_row(
                &usage("DATA_USAGE_SHARING_PURPOSE"),
                purpose,
                "TRUE",
                "MULTIPLE_CHOICE",
                &format!("{label} / Why is this data shared?"),
            ));
        }
    }
    rows
}

fn play_row(question: &str, response: &str, value: &str, need: &str, label: &str) -> [String; 5] {
    [question, response, value, need, label].map(str::to_string)
}

fn answer_label(label: &str, to_complete: bool) -> String {
    if to_complete {
        format!("{label} [to be completed: idflow cannot tell from the code and declarations]")
    } else {
        label.to_string()
    }
}

/// True when every flag is true, false when one is false, unknown otherwise.
fn all_flags(flags: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let flags: Vec<Option<bool>> = flags.into_iter().collect();
    if flags.contains(&Some(false)) {
        Some(false)
    } else if flags.iter().all(|f| *f == Some(true)) && !flags.is_empty() {
        Some(true)
    } else {
        None
    }
}

fn flag(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "TRUE",
        Some(false) => "FALSE",
        None => "",
    }
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = w.into_inner().map_err(|err| err.into_error())?;
    // Every cell is a Rust `String`, so the output is UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `F1 src/a.rs:3 → src/b.rs:9; ...` for the flow numbers in `numbers`.
fn evidence(doc: &Document, numbers: &str) -> String {
    let wanted: Vec<&str> = numbers.split(", ").collect();
    doc.flows
        .iter()
        .filter(|f| wanted.contains(&f.number.as_str()))
        .map(|f: &FlowView| format!("{} {} → {}", f.number, f.source_at, f.sink_at))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Provenance and coverage in one cell: a row says what produced it and what the scan did not
/// look at.
fn provenance(doc: &Document) -> String {
    let p = &doc.provenance;
    let c = &doc.coverage;
    let mut cell = format!(
        "idflow {}; rules {}; commit {}; date {}; {} of {} Rust files analysed, {} skipped",
        p.tool_version,
        p.rules_hash,
        p.commit,
        p.date,
        c.files_analyzed,
        c.files_found,
        c.files_skipped
    );
    for s in &c.skipped {
        let _ = write!(cell, "; skipped {} ({})", s.at, s.reason);
    }
    cell
}

/// A cell a spreadsheet shows as text, never evaluates.
#[must_use]
pub fn safe(cell: &str) -> String {
    // Escape codes and bidi controls from the code are shown as `\u{..}`, not acted on;
    // tabs and line breaks are ordinary in a quoted CSV cell.
    let mut shown = String::with_capacity(cell.len() + 1);
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        shown.push('\'');
    }
    for c in cell.chars() {
        if super::text::unsafe_char(c) && !matches!(c, '\t' | '\n' | '\r') {
            let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
        } else {
            shown.push(c);
        }
    }
    shown
}
