//! Renderers of `idflow check`: a [`CheckOutcome`] in, text, JSON, Markdown, GitHub workflow
//! commands or SARIF 2.1.0 out.
//!
//! One violation per finding, naming every policy it violates (one annotation, one SARIF
//! result). SARIF: one result per violation, on the sink, `ruleId` `idflow-policy/<policy>` of
//! its first policy and `properties.policies` with all of them, one rule per policy with its
//! help text, the path as `codeFlows`, the finding id as a partial fingerprint; each
//! edge-of-model finding that is no violation is a result of `kind: review`, level `note`,
//! rule `idflow/unresolved-call`.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::tera::md_escape;
use super::text::{printable, skipped_line};
use crate::findings::{Location, Skipped, Unresolved};
use crate::policy::{CheckOutcome, Policy, Violation};

/// The one-line summary, e.g.
/// `check failed: 3 violations (6 findings, 1 suppressed) in 12 files analysed, 1 skipped`.
#[must_use]
pub fn summary(outcome: &CheckOutcome) -> String {
    let n = outcome.violations.len();
    let verdict = if n == 0 {
        "check passed"
    } else {
        "check failed"
    };
    let mut extra = format!("{} finding{}", outcome.findings, plural(outcome.findings));
    for (count, what) in [
        (outcome.suppressed.len(), "suppressed"),
        (outcome.baselined, "in baseline"),
        (outcome.outside_diff, "outside the diff"),
        (outcome.stale_baseline.len(), "stale baseline entries"),
        (
            outcome.non_shipping_left_out,
            "in non-shipping code left out",
        ),
    ] {
        if count > 0 {
            let _ = write!(extra, ", {count} {what}");
        }
    }
    let mut line = format!(
        "{verdict}: {n} violation{} ({extra}) in {} file{} analysed, {} skipped",
        plural(n),
        outcome.files_analyzed,
        plural(outcome.files_analyzed),
        outcome.skipped.len()
    );
    if let Some(incomplete) = incomplete(outcome) {
        let _ = write!(line, "; {incomplete}");
    }
    line
}

/// `analysis incomplete: 1 unmodelled network dependency (quinn), 2 unresolved calls`, or
/// `None` (skipped files are already counted in the summary).
fn incomplete(outcome: &CheckOutcome) -> Option<String> {
    let mut parts = Vec::new();
    if !outcome.unmodelled.is_empty() {
        let names: Vec<String> = outcome
            .unmodelled
            .iter()
            .map(|d| printable(&d.name).into_owned())
            .collect();
        parts.push(format!(
            "{} unmodelled network dependenc{} ({})",
            names.len(),
            if names.len() == 1 { "y" } else { "ies" },
            names.join(", ")
        ));
    }
    if !outcome.unresolved.is_empty() {
        parts.push(format!(
            "{} unresolved call{}",
            outcome.unresolved.len(),
            plural(outcome.unresolved.len())
        ));
    }
    (!parts.is_empty()).then(|| format!("analysis incomplete: {}", parts.join(", ")))
}

/// One sentence per blind spot (unmodelled dependency, unresolved call), with where it is.
fn blind_spots(outcome: &CheckOutcome) -> Vec<(String, Option<(String, u32)>)> {
    let mut out = Vec::new();
    for d in &outcome.unmodelled {
        let manifest = d.declared_in.iter().find(|m| *m != "Cargo.lock").cloned();
        out.push((
            format!(
                "network dependency {} ({}) is not modelled by the rule pack: data handed to it is not seen",
                d.name, d.family
            ),
            manifest.map(|m| (m, 0)),
        ));
    }
    for u in &outcome.unresolved {
        out.push((
            format!(
                "unresolved: {} reaches {} ({})",
                u.category, u.call, u.reason
            ),
            Some((u.file.clone(), u.line)),
        ));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `deny-plaintext, require-consent`: every policy a violation names.
fn policy_list(v: &Violation) -> String {
    policies_of(v)
        .iter()
        .map(|p| p.id())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The policies of a violation (an outcome written before `policies` existed has its one
/// `policy`).
fn policies_of(v: &Violation) -> Vec<Policy> {
    if v.policies.is_empty() {
        vec![v.policy]
    } else {
        v.policies.clone()
    }
}

fn at(loc: &Location) -> String {
    format!("{}:{}:{}", printable(&loc.file), loc.line, loc.column)
}

/// Text for humans: one block per violation with the source and sink lines, then the summary.
#[must_use]
pub fn text(outcome: &CheckOutcome) -> String {
    let mut out = String::new();
    for v in &outcome.violations {
        let _ = writeln!(out, "error[{}]: {}", policy_list(v), printable(&v.message));
        let _ = writeln!(out, "  --> {}  (finding {})", at(&v.sink), v.finding_id);
        let _ = writeln!(out, "   | source {}", at(&v.source));
        let _ = writeln!(out, "   |   {}", printable(&v.source.snippet));
        let _ = writeln!(out, "   | sink   {} ({})", at(&v.sink), v.sink_rule);
        let _ = writeln!(out, "   |   {}", printable(&v.sink.snippet));
        for p in policies_of(v) {
            let _ = writeln!(out, "   = help: {}", p.help());
        }
        out.push('\n');
    }
    for s in &outcome.suppressed {
        let _ = writeln!(
            out,
            "note: {} flow at {} suppressed: {}",
            s.category,
            at(&s.sink),
            if s.reason.is_empty() {
                "(no reason)".into()
            } else {
                printable(&s.reason)
            }
        );
    }
    for skipped in &outcome.skipped {
        let _ = writeln!(out, "warning: skipped {}", skipped_line(skipped));
    }
    for (message, at) in blind_spots(outcome) {
        let at = match at {
            Some((file, 0)) => format!(" ({})", printable(&file)),
            Some((file, line)) => format!(" ({}:{line})", printable(&file)),
            None => String::new(),
        };
        let _ = writeln!(out, "warning: {}{at}", printable(&message));
    }
    if let Some(config) = &outcome.config {
        let _ = writeln!(out, "config: {}", printable(config));
    }
    for id in &outcome.stale_baseline {
        let _ = writeln!(
            out,
            "note: baseline entry {id} matches no finding any more (stale)"
        );
    }
    let _ = writeln!(out, "{}", summary(outcome));
    out
}

/// The outcome as JSON (schema `idflow-check/1`).
///
/// # Panics
/// Never: the model has only string keys.
#[must_use]
pub fn json(outcome: &CheckOutcome) -> String {
    let mut value = serde_json::to_value(outcome).expect("check outcome serializes");
    if let Value::Object(map) = &mut value {
        map.insert("schema".into(), json!("idflow-check/1"));
        map.insert("passed".into(), json!(outcome.violations.is_empty()));
        map.insert("summary".into(), json!(summary(outcome)));
    }
    let mut out = serde_json::to_string_pretty(&value).expect("JSON value serializes");
    out.push('\n');
    out
}

/// A Markdown link to `file` (line `line`) whose text and destination are both inert: the
/// text escaped, the destination percent-encoded, so a file name cannot open a link, an image
/// or markup of its own. With a link base (`https://github.com/o/r/blob/<sha>`), the
/// destination is absolute, so the link works in a PR comment.
fn md_link(base: Option<&str>, file: &str, line: u32) -> String {
    let mut dest = String::with_capacity(file.len());
    if let Some(base) = base {
        for b in base.trim_end_matches('/').bytes() {
            if b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'/' | b'.'
                        | b'-'
                        | b'_'
                        | b'~'
                        | b':'
                        | b'@'
                        | b'%'
                        | b'+'
                        | b'='
                        | b'&'
                        | b'?'
                )
            {
                dest.push(char::from(b));
            } else {
                let _ = write!(dest, "%{b:02X}");
            }
        }
        dest.push('/');
    }
    for b in file.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_' | b'~') {
            dest.push(char::from(b));
        } else {
            let _ = write!(dest, "%{b:02X}");
        }
    }
    format!("[{}:{line}]({dest}#L{line})", md_escape(file))
}

/// A Markdown PR comment: a table of violations with `file#Lline` links (absolute under the
/// outcome's link base, when known).
#[must_use]
pub fn markdown(outcome: &CheckOutcome) -> String {
    let base = outcome.link_base.as_deref();
    let mut out = String::from("## idflow check\n\n");
    let _ = writeln!(out, "**{}**\n", summary(outcome));
    if !outcome.violations.is_empty() {
        out.push_str("| Policy | Category | Sink | Source | Message |\n|---|---|---|---|---|\n");
        for v in &outcome.violations {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                policy_list(v),
                md_escape(&v.category),
                md_link(base, &v.sink.file, v.sink.line),
                md_link(base, &v.source.file, v.source.line),
                md_escape(&v.message),
            );
        }
    }
    if !outcome.suppressed.is_empty() {
        out.push_str("\n<details><summary>Suppressed flows</summary>\n\n");
        for s in &outcome.suppressed {
            let _ = writeln!(
                out,
                "- {} at {}: {}",
                md_escape(&s.category),
                md_link(base, &s.sink.file, s.sink.line),
                md_escape(&s.reason),
            );
        }
        out.push_str("\n</details>\n");
    }
    if !outcome.skipped.is_empty() {
        let _ = write!(
            out,
            "\n<details><summary>{} file{} not analysed</summary>\n\n",
            outcome.skipped.len(),
            plural(outcome.skipped.len())
        );
        for skipped in &outcome.skipped {
            let _ = writeln!(out, "- {}", md_escape(&skipped_line(skipped)));
        }
        out.push_str("\n</details>\n");
    }
    let blind = blind_spots(outcome);
    if !blind.is_empty() {
        out.push_str("\n**Not seen by the analysis** (a pass does not cover these):\n\n");
        for (message, at) in blind {
            let at = match at {
                Some((file, 0)) => format!(" ({})", md_link(base, &file, 1)),
                Some((file, line)) => format!(" ({})", md_link(base, &file, line)),
                None => String::new(),
            };
            let _ = writeln!(out, "- {}{at}", md_escape(&message));
        }
    }
    out
}

/// Escapes a GitHub workflow-command message (`%`, CR, LF, and terminal controls).
fn gh_escape(text: &str) -> String {
    let text = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    printable(&text).into_owned()
}

/// Escapes a workflow-command property value (also `,` and `:`).
fn gh_property(text: &str) -> String {
    gh_escape(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands: `::error file=..,line=..,col=..,title=..::message`.
#[must_use]
pub fn github(outcome: &CheckOutcome) -> String {
    let mut out = String::new();
    for v in &outcome.violations {
        let _ = writeln!(
            out,
            "::error file={},line={},col={},title=idflow {}::{}",
            gh_property(&v.sink.file),
            v.sink.line,
            v.sink.column,
            gh_property(&policy_list(v)),
            gh_escape(&format!(
                "{} (source {}:{}, finding {})",
                v.message, v.source.file, v.source.line, v.finding_id
            ))
        );
    }
    for id in &outcome.stale_baseline {
        let _ = writeln!(
            out,
            "::notice title=idflow stale baseline::baseline entry {id} matches no finding"
        );
    }
    for skipped in &outcome.skipped {
        let _ = writeln!(
            out,
            "::warning file={},title=idflow skipped file::{}",
            gh_property(&skipped.file),
            gh_escape(&format!("skipped {}", skipped_line(skipped)))
        );
    }
    for (message, at) in blind_spots(outcome) {
        let at = match at {
            Some((file, 0)) => format!("file={},", gh_property(&file)),
            Some((file, line)) => format!("file={},line={line},", gh_property(&file)),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "::warning {at}title=idflow blind spot::{}",
            gh_escape(&message)
        );
    }
    let _ = writeln!(out, "{}", summary(outcome));
    out
}

fn sarif_location(loc: &Location, message: Option<&str>) -> Value {
    let mut value = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": loc.file, "uriBaseId": super::sarif::SRCROOT },
            "region": {
                "startLine": loc.line,
                "startColumn": loc.column,
                "snippet": { "text": loc.snippet }
            }
        }
    });
    if let Some(message) = message {
        value["message"] = json!({ "text": message });
    }
    value
}

fn sarif_result(v: &Violation) -> Value {
    let flow: Vec<Value> = v
        .path
        .iter()
        .map(|l| json!({ "location": sarif_location(l, None) }))
        .collect();
    let mut result = json!({
        "ruleId": format!("idflow-policy/{}", v.policy.id()),
        "level": "error",
        "message": { "text": v.message },
        "locations": [sarif_location(&v.sink, None)],
        "relatedLocations": [ {
            "id": 0,
            "physicalLocation": sarif_location(&v.source, None)["physicalLocation"].clone(),
            "message": { "text": "source" }
        } ],
        "partialFingerprints": { super::sarif::FINGERPRINT_KEY: v.finding_id },
        "properties": {
            "category": v.category,
            "policy": v.policy.id(),
            "policies": policies_of(v).iter().map(|p| p.id()).collect::<Vec<_>>(),
            "sinkRule": v.sink_rule
        }
    });
    if !flow.is_empty() {
        result["codeFlows"] = json!([{ "threadFlows": [{ "locations": flow }] }]);
    }
    result
}

/// The SARIF rule id of edge-of-model findings that no policy turned into a violation.
pub const UNRESOLVED_RULE_ID: &str = "idflow/unresolved-call";

/// An edge-of-model finding as a SARIF result of `kind: review`, level `note`: not a violation
/// (unless `deny-unresolved` is on, which makes it one), but a place a reviewer must look at.
fn sarif_review(u: &Unresolved) -> Value {
    let at = u.location();
    let mut result = json!({
        "ruleId": UNRESOLVED_RULE_ID,
        "kind": "review",
        "level": "note",
        "message": { "text": format!("unresolved: {} reaches `{}` ({})", u.category, u.call, u.reason) },
        "locations": [sarif_location(&at, None)],
        "partialFingerprints": { super::sarif::FINGERPRINT_KEY: u.id },
        "properties": { "category": u.category, "call": u.call }
    });
    if let Some(source) = &u.source {
        result["relatedLocations"] = json!([{
            "id": 0,
            "physicalLocation": sarif_location(source, None)["physicalLocation"].clone(),
            "message": { "text": "source" }
        }]);
    }
    result
}

/// A skipped file as a SARIF tool execution notification, as the scan's SARIF has them.
fn sarif_notification(skipped: &Skipped) -> Value {
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": skipped.file, "uriBaseId": super::sarif::SRCROOT }
        }
    });
    if let Some(line) = skipped.line {
        let mut region = json!({ "startLine": line });
        if let Some(column) = skipped.column {
            region["startColumn"] = json!(column);
        }
        location["physicalLocation"]["region"] = region;
    }
    json!({
        "level": "warning",
        "message": { "text": format!("skipped {}", skipped_line(skipped)) },
        "descriptor": { "id": skipped.reason.code() },
        "locations": [location]
    })
}

/// A blind spot as a SARIF tool execution notification (`warning`), on its manifest or call.
fn blind_notification(message: &str, at: Option<(String, u32)>) -> Value {
    let mut n = json!({
        "level": "warning",
        "message": { "text": message },
        "descriptor": { "id": if at.as_ref().is_some_and(|(_, l)| *l > 0) { "unresolved-call" } else { "unmodelled-network-dependency" } }
    });
    if let Some((file, line)) = at {
        let mut location = json!({
            "physicalLocation": {
                "artifactLocation": { "uri": file, "uriBaseId": super::sarif::SRCROOT }
            }
        });
        if line > 0 {
            location["physicalLocation"]["region"] = json!({ "startLine": line });
        }
        n["locations"] = json!([location]);
    }
    n
}

/// SARIF 2.1.0 for code scanning.
///
/// # Panics
/// Never: the log has only string keys.
#[must_use]
pub fn sarif(outcome: &CheckOutcome) -> String {
    let rules: Vec<Value> = Policy::ALL
        .iter()
        .map(|p| {
            json!({
                "id": format!("idflow-policy/{}", p.id()),
                "name": p.id(),
                "shortDescription": { "text": p.id() },
                "fullDescription": { "text": p.help() },
                "help": { "text": p.help() },
                "defaultConfiguration": { "level": "error" }
            })
        })
        .chain(std::iter::once(json!({
            "id": UNRESOLVED_RULE_ID,
            "name": "unresolved-call",
            "shortDescription": { "text": "unresolved call" },
            "fullDescription": { "text": "A tainted value is handed to a call that no rule and no program function explains, in code that uses a network library the rule pack does not model: the identifier may leave the program unseen." },
            "help": { "text": Policy::DenyUnresolved.help() },
            "defaultConfiguration": { "level": "note" }
        })))
        .collect();
    // Edge-of-model findings a `deny-unresolved` violation does not already report.
    let violated: std::collections::BTreeSet<&str> = outcome
        .violations
        .iter()
        .filter(|v| v.policy == Policy::DenyUnresolved)
        .map(|v| v.finding_id.as_str())
        .collect();
    let reviews = outcome
        .unresolved
        .iter()
        .filter(|u| !violated.contains(u.id.as_str()))
        .map(sarif_review);
    let log = json!({
        "$schema": super::sarif::SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "idflow",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            } },
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications":
                    outcome.skipped.iter().map(sarif_notification)
                        .chain(blind_spots(outcome).into_iter().map(|(m, at)| blind_notification(&m, at)))
                        .collect::<Vec<_>>()
            }],
            "properties": {
                "filesAnalyzed": outcome.files_analyzed,
                "filesSkipped": outcome.skipped.len(),
                "functionsAnalyzed": outcome.functions,
                "unmodelledNetworkDependencies": outcome.unmodelled,
                "unresolved": outcome.unresolved,
                "config": outcome.config
            },
            "originalUriBaseIds": { super::sarif::SRCROOT: { "description": { "text": match &outcome.repository_prefix {
                Some(prefix) => format!("The repository root (the scanned root is {prefix})"),
                None => "The scanned root".to_string(),
            } } } },
            "results": outcome.violations.iter().map(sarif_result).chain(reviews).collect::<Vec<_>>()
        }]
    });
    let mut out = serde_json::to_string_pretty(&log).expect("SARIF value serializes");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file name cannot open a link, an image or markup of its own in a PR comment.
    #[test]
    fn markdown_links_are_inert() {
        assert_eq!(md_link(None, "src/a.rs", 3), "[src/a.rs:3](src/a.rs#L3)");
        assert_eq!(
            md_link(Some("https://github.com/o/r/blob/abc/"), "src/a.rs", 3),
            "[src/a.rs:3](https://github.com/o/r/blob/abc/src/a.rs#L3)"
        );
        assert_eq!(
            md_link(Some("https://x.example/a) ![i](y"), "a.rs", 1),
            "[a.rs:1](https://x.example/a%29%20%21%5Bi%5D%28y/a.rs#L1)"
        );
        let link = md_link(None, "src/x](http://evil) <img src=x>.rs", 7);
        assert_eq!(
            link,
            "[src/x\\](http://evil) \\<img src=x\\>.rs:7](src/x%5D%28http%3A//evil%29%20%3Cimg%20src%3Dx%3E.rs#L7)"
        );
    }

    /// Terminal control characters reach GitHub's log as text, newlines as the escape the
    /// workflow-command format defines.
    #[test]
    fn github_messages_escape_controls() {
        assert_eq!(gh_escape("a\nb%\u{1b}[2J"), "a%0Ab%25\\u{1b}[2J");
    }
}
