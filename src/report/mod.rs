//! Renderers: a [`ScanResult`] in, a `String` out.
//!
//! Pure functions, no IO: the CLI decides where the text goes and whether it is coloured.
//! Every format renders from the findings model alone, never from analysis internals, and in
//! the order the pipeline sorted the findings, so output is byte-identical across runs.
//!
//! Architecture Invariant: only this module knows the SARIF and JSON output shapes.

pub mod check;
pub mod datamap;
pub mod disclosure;
pub mod documents;
pub mod json;
pub mod provenance;
mod purposes;
pub mod rules;
pub mod sarif;
mod stores;
pub mod tables;
pub mod tera;
pub mod text;

use crate::findings::{Finding, ScanResult, Transport};

/// An output format of `idflow scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For humans: one block per finding, then a summary line.
    Text,
    /// The findings model, with a `schema` tag.
    Json,
    /// SARIF 2.1.0 per the findings contract.
    Sarif,
}

/// Renders `result` in `format`; `color` (ANSI) applies to [`Format::Text`] only.
#[must_use]
pub fn render(result: &ScanResult, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(result, color),
        Format::Json => json::render(result),
        Format::Sarif => sarif::render(result),
    }
}

/// The human name of a category id, falling back to the id.
fn category_name<'a>(result: &'a ScanResult, id: &'a str) -> &'a str {
    result
        .categories
        .iter()
        .find(|c| c.id == id)
        .map_or(id, |c| c.name.as_str())
}

/// How the data was protected before the sink: `encrypted`, `pseudonymized` or `unencrypted`.
fn protection(finding: &Finding) -> &'static str {
    if finding.encrypted {
        "encrypted"
    } else if finding.pseudonymized {
        "pseudonymized"
    } else {
        "unencrypted"
    }
}

/// The transport as a phrase after "over".
fn transport_phrase(transport: Transport) -> &'static str {
    match transport {
        Transport::Tls => "TLS",
        Transport::Plaintext => "plaintext",
        Transport::Unknown => "an unknown transport",
    }
}

/// `s` cut to at most `max` characters, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// `n thing` or `n things`.
fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("{n} {thing}")
    } else {
        format!("{n} {thing}s")
    }
}
