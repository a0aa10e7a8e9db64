//! CSV documents: Art. 30 records and Google Play data-safety answers, written with the `csv`
//! crate.
//!
//! Takes a [`Document`], gives RFC 4180 text. A CSV file has no room for an appendix, so every
//! row carries its evidence (the `file:line` of each flow's sink) and the provenance, with the
//! scan's coverage (files analysed and skipped). A cell that starts with `=`, `+`, `-`, `@`, tab
//! or carriage return is prefixed with `'`, so a spreadsheet never evaluates code text as a
//! formula. When the analysis is incomplete (unmodelled network dependencies, unresolved calls,
//! skipped files), the last row says so, its `evidence` cell listing why.

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
        let mut row = vec![String::new(); 13];
        row[1] = INCOMPLETE.to_string();
        row[10] = why;
        row[11].clone_from(&controller);
        row[12].clone_from(&provenance);
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

/// Google Play data-safety answers, one row per Play data type.
///
/// # Errors
/// Only if the CSV writer fails.
pub fn data_safety(doc: &Document) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "data_type",
        "idflow_categories",
        "collected",
        "shared",
        "encrypted_in_transit",
        "optional_or_required",
        "purposes",
        "flows",
        "evidence",
        "provenance",
    ])?;
    let provenance = provenance(doc);
    for r in &doc.data_safety {
        let evidence = evidence(doc, &r.flows);
        w.write_record(
            [
                &r.data_type,
                &r.categories,
                &r.collected,
                &r.shared,
                &r.encrypted_in_transit,
                &r.optional,
                &r.purposes,
                &r.flows,
                &evidence,
                &provenance,
            ]
            .map(|s| safe(s)),
        )?;
    }
    if let Some(why) = incomplete(doc) {
        let mut row = vec![String::new(); 10];
        row[0] = INCOMPLETE.to_string();
        row[8] = why;
        row[9].clone_from(&provenance);
        w.write_record(row.iter().map(|s| safe(s)))?;
    }
    finish(w)
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
