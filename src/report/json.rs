//! JSON output: the [`ScanResult`] as it is, tagged with a schema name.
//!
//! Field order is the declaration order of the findings model, so the output is stable, and
//! it deserializes back into a [`ScanResult`] (the `schema`, `complete` and `blind_spots` keys,
//! derived from the rest, are ignored). `network_dependencies` and `unresolved` are the scan's
//! blind spots; `complete` is false when any applies.

use serde::Serialize;

use crate::findings::ScanResult;

/// The schema tag of the findings JSON; bump it when a field changes meaning or goes away.
pub const SCHEMA: &str = "idflow-findings/1";

/// The document: the schema tag first, then the scan result's fields.
#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    #[serde(flatten)]
    result: &'a ScanResult,
    /// False when the analysis could not see everything (see `blind_spots`).
    complete: bool,
    /// Why the findings may be incomplete, one sentence each.
    blind_spots: Vec<String>,
}

/// Renders `result` as pretty JSON with a trailing newline.
///
/// # Panics
/// Never: the model has only string keys and serializable values.
#[must_use]
pub fn render(result: &ScanResult) -> String {
    let doc = Document {
        schema: SCHEMA,
        result,
        complete: !result.incomplete(),
        blind_spots: result.blind_spots(),
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("findings model serializes to JSON");
    out.push('\n');
    out
}
