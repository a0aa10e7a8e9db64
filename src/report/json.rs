//! JSON output: the [`ScanResult`] as it is, tagged with a schema name.
//!
//! Field order is the declaration order of the findings model, so the output is stable, and
//! it deserializes back into a [`ScanResult`] (the `schema` key is ignored).

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
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("findings model serializes to JSON");
    out.push('\n');
    out
}
