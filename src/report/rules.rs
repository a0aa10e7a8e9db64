//! `idflow rules list` output: the active rule pack, grouped by kind, as text or JSON.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::rules::RawRuleFile;

/// The schema tag of the rule-pack JSON.
pub const SCHEMA: &str = "idflow-rules/1";

/// Renders every entry of `rules`, grouped (categories, kinds, constructors, sources, sinks,
/// sanitizers, guards, propagators), sorted by id, one line each with its id and what it
/// matches; ends with a newline.
#[must_use]
pub fn text(rules: &RawRuleFile, color: bool) -> String {
    let paint = |style: Style, s: &str| {
        if color {
            format!("{style}{s}{style:#}")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for (i, (name, mut rows)) in groups(rules).into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let _ = writeln!(
            out,
            "{}",
            paint(Style::new().bold(), &format!("{name} ({})", rows.len()))
        );
        let width = rows
            .iter()
            .map(|(id, _)| id.chars().count())
            .max()
            .unwrap_or(0);
        for (id, what) in rows {
            let padded = format!("{id:<width$}");
            let _ = writeln!(
                out,
                "  {}  {what}",
                paint(AnsiColor::Cyan.on_default(), &padded)
            );
        }
    }
    out
}

/// Each group's name and its (id, description) rows, in pack order.
fn groups(rules: &RawRuleFile) -> [(&'static str, Vec<(&str, String)>); 8] {
    [
        (
            "categories",
            rules
                .categories
                .iter()
                .map(|c| (c.id.as_str(), format!("{} ({})", c.name, c.fideslang)))
                .collect(),
        ),
        (
            "kinds",
            rules
                .kinds
                .iter()
                .map(|k| {
                    let what = match &k.transport {
                        Some(t) => format!("[{t}] {}", k.what),
                        None => k.what.clone(),
                    };
                    (k.id.as_str(), what)
                })
                .collect(),
        ),
        (
            "constructors",
            rules
                .constructors
                .iter()
                .map(|c| (c.id.as_str(), c.what.clone()))
                .collect(),
        ),
        (
            "sources",
            rules
                .sources
                .iter()
                .map(|s| (s.id.as_str(), format!("[{}] {}", s.category, s.what)))
                .collect(),
        ),
        (
            "sinks",
            rules
                .sinks
                .iter()
                .map(|s| (s.id.as_str(), s.what.clone()))
                .collect(),
        ),
        (
            "sanitizers",
            rules
                .sanitizers
                .iter()
                .map(|s| (s.id.as_str(), format!("[{}] {}", s.effect, s.what)))
                .collect(),
        ),
        (
            "guards",
            rules
                .guards
                .iter()
                .map(|g| (g.id.as_str(), g.what.clone()))
                .collect(),
        ),
        (
            "propagators",
            rules
                .propagators
                .iter()
                .map(|p| (p.id.as_str(), format!("[{}] {}", p.effect, p.what)))
                .collect(),
        ),
    ]
}

/// The document: the schema tag first, then the merged pack's lists.
#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    #[serde(flatten)]
    rules: &'a RawRuleFile,
}

/// Renders the merged pack as pretty JSON, in pack order, with a trailing newline.
///
/// # Panics
/// Never: the rule model has only string keys and serializable values.
#[must_use]
pub fn json(rules: &RawRuleFile) -> String {
    let mut out = serde_json::to_string_pretty(&Document {
        schema: SCHEMA,
        rules,
    })
    .expect("rule model serializes to JSON");
    out.push('\n');
    out
}
