//! `idflow explain ID`: the documentation of a diagnostic code, a policy or a rule id, as
//! `docs/diagnostics.md` and `docs/rules.md` hold it (embedded, so the binary explains the codes
//! it prints; `tests/rules.rs` keeps `docs/rules.md` equal to the built-in pack).

use anyhow::{bail, Result};

use super::args::ExplainArgs;
use super::{output, ExitStatus};

/// The documents searched, in order, with the name printed under a section.
const DOCS: [(&str, &str); 2] = [
    (
        "docs/diagnostics.md",
        include_str!("../../docs/diagnostics.md"),
    ),
    ("docs/rules.md", include_str!("../../docs/rules.md")),
];

/// Prints the section of `ID`.
///
/// # Errors
/// An id no document has a section for (exit 2).
pub(crate) fn run(args: &ExplainArgs) -> Result<ExitStatus> {
    // SARIF rule ids carry a namespace: `idflow-policy/deny-plaintext`, `idflow/unresolved-call`.
    let id = args.id.rsplit('/').next().unwrap_or(&args.id);
    for (name, text) in DOCS {
        if let Some(body) = section(text, id) {
            output::emit(None, &format!("{id}\n\n{body}\n\n(from {name})\n"))?;
            return Ok(ExitStatus::Pass);
        }
    }
    bail!(
        "`{}` is no diagnostic code, policy or rule id (see docs/diagnostics.md, and `idflow rules list` for rule ids)",
        args.id
    )
}

/// The text under the heading ``### `id` `` up to the next heading, trimmed.
fn section<'t>(text: &'t str, id: &str) -> Option<&'t str> {
    let heading = format!("### `{id}`\n");
    let start = text.find(&heading)? + heading.len();
    let rest = &text[start..];
    let end = rest
        .match_indices("\n#")
        .map(|(i, _)| i)
        .find(|&i| rest[i + 1..].starts_with("## ") || rest[i + 1..].starts_with("### "))
        .unwrap_or(rest.len());
    Some(rest[..end].trim())
}

#[cfg(test)]
mod tests {
    use super::{section, DOCS};

    /// Policies, skip reasons, rule-file codes and rule ids all have a section; a section ends
    /// at the next heading.
    #[test]
    fn every_kind_of_id_has_a_section() {
        let find = |id: &str| DOCS.iter().find_map(|(_, text)| section(text, id));
        for id in [
            "deny-plaintext",
            "deny-unresolved",
            "parse-error",
            "rule-unknown-key",
            "unresolved-call",
            "reqwest-json-body",
        ] {
            let body = find(id).unwrap_or_else(|| panic!("no section for {id}"));
            assert!(!body.is_empty() && !body.contains("\n### "), "{id}: {body}");
        }
        assert!(find("no-such-code").is_none());
    }
}
