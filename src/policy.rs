//! The CI gate's policies: a [`ScanResult`] plus declarations in, [`Violation`]s out.
//!
//! Takes the findings of [`crate::scan::run`], the optional declarations file (its `policies:`
//! section configures what is enforced), an optional baseline and optional changed lines (diff
//! mode); gives a [`CheckOutcome`] with the violations, the suppressed findings and the stale
//! baseline entries. Pure apart from [`read_line`], which reads the line above a finding for a
//! suppression comment.
//!
//! Policies (stable ids, used in output and SARIF rule ids):
//! - `deny-plaintext`: an identifier sent without TLS;
//! - `require-consent`: a flow of a listed category not behind a consent check;
//! - `require-encryption`: a flow of a listed category not encrypted beyond TLS;
//! - `deny-undeclared`: a category or recipient with no flow declaration (only with a
//!   declarations file);
//! - `deny-new`: a finding whose stable id is not in the baseline (only with a baseline);
//! - `suppression-without-reason`: an `// idflow: allow(..)` comment with no `reason="..."`;
//! - `deny-unresolved` (off by default): an edge-of-model finding, a tainted value handed to a
//!   call that no rule and no program function explains where an unmodelled network library
//!   may be at work ([`crate::findings::Unresolved`]).
//!
//! One [`Violation`] per finding, listing every policy it violates (one annotation, one SARIF
//! result each). Findings in the baseline are accepted: no policy reports them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::declarations::Declarations;
use crate::findings::{Finding, Location, ScanResult};

/// The `policies:` section of a declarations file. Every key is optional; the defaults are
/// what a user gets without writing any: `deny-plaintext` and `require-consent` for every
/// category, `deny-undeclared` when a declarations file exists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PolicyConfig {
    /// Fail on identifiers sent without TLS.
    #[serde(default = "yes")]
    pub deny_plaintext: bool,
    /// Categories that must be sent only under a consent check; `["*"]` means every category,
    /// `[]` turns the policy off.
    #[serde(default = "all_categories")]
    pub require_consent: Vec<String>,
    /// Categories that must be encrypted beyond TLS; `["*"]` means every category.
    #[serde(default)]
    pub require_encryption: Vec<String>,
    /// Fail on categories or recipients with no flow declaration.
    #[serde(default = "yes")]
    pub deny_undeclared: bool,
    /// Fail on edge-of-model findings (tainted values handed to calls nothing explains, where
    /// an unmodelled network library may be at work). Off by default: they ask for a review.
    #[serde(default)]
    pub deny_unresolved: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            deny_plaintext: true,
            require_consent: all_categories(),
            require_encryption: Vec::new(),
            deny_undeclared: true,
            deny_unresolved: false,
        }
    }
}

fn yes() -> bool {
    true
}

fn all_categories() -> Vec<String> {
    vec!["*".to_string()]
}

/// True when `list` names `category` or holds `*`.
fn lists(list: &[String], category: &str) -> bool {
    list.iter().any(|c| c == "*" || c == category)
}

/// A policy of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Identifier sent without TLS.
    DenyPlaintext,
    /// Flow not behind a consent check.
    RequireConsent,
    /// Flow not encrypted beyond TLS.
    RequireEncryption,
    /// Category or recipient not declared.
    DenyUndeclared,
    /// Finding not in the baseline.
    DenyNew,
    /// Suppression comment without a reason.
    SuppressionWithoutReason,
    /// Tainted value handed to a call nothing explains (an edge-of-model finding).
    DenyUnresolved,
}

impl Policy {
    /// Every policy, in documentation order.
    pub const ALL: [Policy; 7] = [
        Policy::DenyPlaintext,
        Policy::RequireConsent,
        Policy::RequireEncryption,
        Policy::DenyUndeclared,
        Policy::DenyNew,
        Policy::SuppressionWithoutReason,
        Policy::DenyUnresolved,
    ];

    /// The stable kebab-case id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Policy::DenyPlaintext => "deny-plaintext",
            Policy::RequireConsent => "require-consent",
            Policy::RequireEncryption => "require-encryption",
            Policy::DenyUndeclared => "deny-undeclared",
            Policy::DenyNew => "deny-new",
            Policy::SuppressionWithoutReason => "suppression-without-reason",
            Policy::DenyUnresolved => "deny-unresolved",
        }
    }

    /// What the policy demands and how to satisfy it (SARIF rule help).
    #[must_use]
    pub fn help(self) -> &'static str {
        match self {
            Policy::DenyPlaintext => "Identifiers must not be sent without TLS: use https/wss/TLS streams for this sink.",
            Policy::RequireConsent => "Flows of this category must only run after an opt-in check: guard the sink with the user's consent.",
            Policy::RequireEncryption => "This category must be encrypted beyond TLS before it is sent (e.g. aes-gcm, chacha20poly1305).",
            Policy::DenyUndeclared => "Every category and recipient must be declared under `flows:` in idflow.yaml (purpose, recipient).",
            Policy::DenyNew => "The flow is not in the committed baseline: fix it, or accept it with `idflow baseline`.",
            Policy::SuppressionWithoutReason => "A suppression must say why: `// idflow: allow(<category>) reason=\"...\"`.",
            Policy::DenyUnresolved => "A tainted value reaches a call no rule models, in code that uses an unmodelled network library: review it, and add a sink rule (or a sanitizer) for the library.",
        }
    }
}

/// A finding (or edge-of-model finding) that violates one or more policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The first policy violated, in [`Policy::ALL`] order.
    pub policy: Policy,
    /// Every policy violated, in [`Policy::ALL`] order.
    #[serde(default)]
    pub policies: Vec<Policy>,
    /// The finding's stable id.
    pub finding_id: String,
    /// The finding's category.
    pub category: String,
    /// Id of the sink rule.
    pub sink_rule: String,
    /// What is wrong, one sentence per policy, joined by `; `.
    pub message: String,
    /// The sink.
    pub sink: Location,
    /// The source.
    pub source: Location,
    /// The path, source first, sink last.
    pub path: Vec<Location>,
}

/// A finding suppressed by a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppressed {
    /// The finding's stable id.
    pub finding_id: String,
    /// The finding's category.
    pub category: String,
    /// The sink.
    pub sink: Location,
    /// The reason given (empty when missing, which is itself a violation).
    pub reason: String,
}

/// One accepted flow in a baseline file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// Stable finding id.
    pub id: String,
    /// Category, for humans.
    pub category: String,
    /// Sink rule, for humans.
    pub sink_rule: String,
    /// Sink as `file:line` when recorded, for humans.
    pub sink: String,
    /// Source as `file:line` when recorded, for humans.
    pub source: String,
}

/// A baseline file (`idflow-baseline.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format tag, `idflow-baseline/1`.
    pub schema: String,
    /// Accepted flows, sorted by id.
    pub entries: Vec<BaselineEntry>,
}

/// The baseline format tag.
pub const BASELINE_SCHEMA: &str = "idflow-baseline/1";

impl Baseline {
    /// The baseline accepting every finding of `result`, sorted, one entry per id.
    #[must_use]
    pub fn from_result(result: &ScanResult) -> Baseline {
        let mut by_id = BTreeMap::new();
        for f in &result.findings {
            by_id.entry(f.id.clone()).or_insert_with(|| BaselineEntry {
                id: f.id.clone(),
                category: f.category.clone(),
                sink_rule: f.sink_rule.clone(),
                sink: format!("{}:{}", f.sink.file, f.sink.line),
                source: format!("{}:{}", f.source.file, f.source.line),
            });
        }
        // Edge-of-model findings too, for a gate that turns `deny-unresolved` on.
        for u in &result.unresolved {
            by_id.entry(u.id.clone()).or_insert_with(|| BaselineEntry {
                id: u.id.clone(),
                category: u.category.clone(),
                sink_rule: UNRESOLVED_RULE.to_string(),
                sink: format!("{}:{}", u.file, u.line),
                source: u
                    .source
                    .as_ref()
                    .map_or_else(String::new, |s| format!("{}:{}", s.file, s.line)),
            });
        }
        Baseline {
            schema: BASELINE_SCHEMA.to_string(),
            entries: by_id.into_values().collect(),
        }
    }
}

/// Lines changed since the diff base, per file relative to the scanned root.
pub type ChangedLines = BTreeMap<String, BTreeSet<u32>>;

/// Parses the output of `git diff --unified=0 --dst-prefix=b/`: the new-side lines of every
/// hunk. A pure deletion touches the line after it. Names git quotes (`"b/tab\there.rs"`,
/// and with `core.quotepath` non-ASCII ones) are unquoted.
#[must_use]
pub fn parse_diff(diff: &str) -> ChangedLines {
    let mut changed = ChangedLines::new();
    let mut file: Option<String> = None;
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            let path = unquote(path);
            file = path.strip_prefix("b/").map(str::to_string);
        } else if let (Some(hunk), Some(file)) = (line.strip_prefix("@@ "), &file) {
            // `@@ -a,b +c,d @@`
            let Some(new) = hunk.split_whitespace().find(|p| p.starts_with('+')) else {
                continue;
            };
            let mut parts = new[1..].splitn(2, ',');
            let start: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let count: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(1);
            let lines = changed.entry(file.clone()).or_default();
            if count == 0 {
                lines.insert(start.max(1));
                lines.insert(start + 1);
            } else {
                lines.extend(start..start + count);
            }
        }
    }
    changed
}

/// A path as git prints it: as is, or in double quotes with C escapes (`\t`, `\"`, `\\` and
/// octal bytes such as `\303\244` for `ä`).
fn unquote(path: &str) -> String {
    let Some(inner) = path.strip_prefix('"').and_then(|p| p.strip_suffix('"')) else {
        return path.to_string();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut rest = inner.bytes().peekable();
    while let Some(b) = rest.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match rest.next() {
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(d) = rest.next_if(u8::is_ascii_digit) {
                        value = value * 8 + u32::from(d - b'0');
                    }
                }
                bytes.push(u8::try_from(value).unwrap_or(u8::MAX));
            }
            Some(b'a') => bytes.push(0x07),
            Some(b'b') => bytes.push(0x08),
            Some(b'f') => bytes.push(0x0c),
            Some(b'n') => bytes.push(b'\n'),
            Some(b'r') => bytes.push(b'\r'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'v') => bytes.push(0x0b),
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What the gate decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// Violations, sorted by sink file, sink line, policy.
    pub violations: Vec<Violation>,
    /// Findings suppressed by a comment.
    pub suppressed: Vec<Suppressed>,
    /// Baseline ids no finding has any more.
    pub stale_baseline: Vec<String>,
    /// Findings accepted by the baseline.
    pub baselined: usize,
    /// Findings outside the changed lines (diff mode).
    pub outside_diff: usize,
    /// Findings the scan produced.
    pub findings: usize,
    /// Files the scan analysed.
    #[serde(default)]
    pub files_analyzed: usize,
    /// Files the scan could not analyse, with the reason: a gate that passes says what it did
    /// not look at.
    #[serde(default)]
    pub skipped: Vec<crate::findings::Skipped>,
    /// Functions the scan analysed.
    #[serde(default)]
    pub functions: usize,
    /// Findings in code that does not ship, left out of the gate (`--include-non-shipping`
    /// keeps them).
    #[serde(default)]
    pub non_shipping_left_out: usize,
    /// Direct network dependencies the rule pack does not model: a gate that passes says what
    /// it could not see.
    #[serde(default)]
    pub unmodelled: Vec<crate::findings::NetworkDependency>,
    /// Tainted values handed to calls the analysis cannot follow.
    #[serde(default)]
    pub unresolved: Vec<crate::findings::Unresolved>,
    /// The declarations file used (relative to the scanned root or the working directory), or
    /// `None` when none was found and the default policies applied.
    #[serde(default)]
    pub config: Option<String>,
    /// The scanned root relative to the repository root (`core/`), when paths in this outcome
    /// were made repository-relative by [`CheckOutcome::relative_to_repository`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_prefix: Option<String>,
    /// Where the Markdown links point: `https://github.com/o/r/blob/<sha>` (from `--link-base`
    /// or the GitHub Actions environment), joined with each repository-relative path; `None`
    /// gives relative links.
    #[serde(skip)]
    pub link_base: Option<String>,
}

impl CheckOutcome {
    /// Makes every path repository-relative by putting `prefix` (the scanned root relative to
    /// the repository root, `/`-terminated, e.g. `core/`) before it: code scanning and workflow
    /// annotations place files relative to the repository, not to the directory scanned.
    /// Finding ids are unchanged. An empty prefix changes nothing.
    pub fn relative_to_repository(&mut self, prefix: &str) {
        if prefix.is_empty() || self.repository_prefix.is_some() {
            return;
        }
        let fix = |file: &mut String| *file = format!("{prefix}{file}");
        for v in &mut self.violations {
            fix(&mut v.sink.file);
            fix(&mut v.source.file);
            for l in &mut v.path {
                fix(&mut l.file);
            }
        }
        for s in &mut self.suppressed {
            fix(&mut s.sink.file);
        }
        for s in &mut self.skipped {
            fix(&mut s.file);
        }
        for d in &mut self.unmodelled {
            for m in &mut d.declared_in {
                fix(m);
            }
        }
        for u in &mut self.unresolved {
            fix(&mut u.file);
        }
        self.repository_prefix = Some(prefix.to_string());
    }
}

/// Inputs of [`check`] besides the scan result.
#[derive(Debug, Default)]
pub struct CheckInput<'a> {
    /// The scanned root, to read lines above findings for suppressions.
    pub root: Option<&'a Path>,
    /// The declarations file, when there is one.
    pub declarations: Option<&'a Declarations>,
    /// The baseline, when given.
    pub baseline: Option<&'a Baseline>,
    /// Changed lines, in diff mode.
    pub changed: Option<&'a ChangedLines>,
}

/// A suppression comment found on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// Categories named (`*` or `all` for any).
    pub categories: Vec<String>,
    /// The reason, when given and not empty.
    pub reason: Option<String>,
}

/// Parses `// idflow: allow(imei, phone_number) reason="..."` out of a code line.
#[must_use]
pub fn parse_allow(line: &str) -> Option<Allow> {
    let at = line.find("idflow: allow(")?;
    let rest = &line[at + "idflow: allow(".len()..];
    let close = rest.find(')')?;
    let categories = rest[..close]
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let after = &rest[close + 1..];
    let reason = after.find("reason=\"").and_then(|r| {
        let text = &after[r + "reason=\"".len()..];
        let end = text.find('"')?;
        let reason = text[..end].trim();
        (!reason.is_empty()).then(|| reason.to_string())
    });
    Some(Allow { categories, reason })
}

/// Source files read for suppression comments, each read once per check.
#[derive(Debug, Default)]
struct SourceLines {
    files: BTreeMap<String, Vec<String>>,
}

impl SourceLines {
    /// Line `line` (1-based) of `root/file`, when readable.
    fn line(&mut self, root: &Path, file: &str, line: u32) -> Option<String> {
        let lines = self.files.entry(file.to_string()).or_insert_with(|| {
            std::fs::read_to_string(root.join(file))
                .map(|t| t.lines().map(str::to_string).collect())
                .unwrap_or_default()
        });
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        lines.get(index).cloned()
    }
}

/// The suppression that applies to `finding`: on the sink or source line (its snippet), or the
/// line above.
fn allow_for(finding: &Finding, root: Option<&Path>, sources: &mut SourceLines) -> Option<Allow> {
    for loc in [&finding.sink, &finding.source] {
        let mut lines = vec![loc.snippet.clone()];
        if let (Some(root), true) = (root, loc.line > 1) {
            lines.extend(sources.line(root, &loc.file, loc.line - 1));
        }
        for line in lines {
            if let Some(allow) = parse_allow(&line) {
                if allow
                    .categories
                    .iter()
                    .any(|c| c == "*" || c == "all" || *c == finding.category)
                {
                    return Some(allow);
                }
            }
        }
    }
    None
}

/// True when the finding's source, sink or a path step is on a changed line.
fn touches(finding: &Finding, changed: &ChangedLines) -> bool {
    let hit = |loc: &Location| {
        changed
            .get(&loc.file)
            .is_some_and(|l| l.contains(&loc.line))
    };
    hit(&finding.source) || hit(&finding.sink) || finding.path.iter().any(|s| hit(&s.location))
}

/// Evaluates every policy on `result`.
#[must_use]
pub fn check(result: &ScanResult, input: &CheckInput<'_>) -> CheckOutcome {
    let default = PolicyConfig::default();
    let config = input
        .declarations
        .and_then(|d| d.policies.as_ref())
        .unwrap_or(&default);
    let accepted: BTreeSet<&str> = input
        .baseline
        .map(|b| b.entries.iter().map(|e| e.id.as_str()).collect())
        .unwrap_or_default();
    let mut outcome = CheckOutcome {
        findings: result.findings.len(),
        files_analyzed: result.stats.files_analyzed,
        skipped: result.skipped.clone(),
        functions: result.stats.functions,
        non_shipping_left_out: result.stats.non_shipping_left_out,
        unmodelled: result.unmodelled().cloned().collect(),
        unresolved: result.unresolved.clone(),
        ..CheckOutcome::default()
    };
    let mut seen_ids = BTreeSet::new();
    let mut sources = SourceLines::default();
    for finding in &result.findings {
        seen_ids.insert(finding.id.as_str());
        if accepted.contains(finding.id.as_str()) {
            outcome.baselined += 1;
            continue;
        }
        if let Some(changed) = input.changed {
            if !touches(finding, changed) {
                outcome.outside_diff += 1;
                continue;
            }
        }
        let mut broken: Vec<(Policy, String)> = Vec::new();
        if let Some(allow) = allow_for(finding, input.root, &mut sources) {
            if allow.reason.is_none() {
                broken.push((
                    Policy::SuppressionWithoutReason,
                    format!(
                        "the suppression of this {} flow gives no reason=\"...\"",
                        finding.category
                    ),
                ));
            }
            outcome.suppressed.push(Suppressed {
                finding_id: finding.id.clone(),
                category: finding.category.clone(),
                sink: finding.sink.clone(),
                reason: allow.reason.unwrap_or_default(),
            });
        } else {
            broken = finding_policies(finding, config, input);
        }
        if let Some(v) = violation(finding, broken) {
            outcome.violations.push(v);
        }
    }
    seen_ids.extend(result.unresolved.iter().map(|u| u.id.as_str()));
    if config.deny_unresolved {
        for u in &result.unresolved {
            if accepted.contains(u.id.as_str())
                || input
                    .changed
                    .is_some_and(|c| c.get(&u.file).is_none_or(|l| !l.contains(&u.line)))
            {
                continue;
            }
            outcome.violations.push(unresolved_violation(u));
        }
    }
    outcome.stale_baseline = accepted
        .iter()
        .filter(|id| !seen_ids.contains(**id))
        .map(|id| (*id).to_string())
        .collect();
    outcome.violations.sort_by(|a, b| {
        (&a.sink.file, a.sink.line, a.policy, &a.finding_id).cmp(&(
            &b.sink.file,
            b.sink.line,
            b.policy,
            &b.finding_id,
        ))
    });
    outcome.violations.dedup();
    outcome
}

/// The policies `finding` (not suppressed, not in the baseline) violates, in [`Policy::ALL`]
/// order, each with its sentence.
fn finding_policies(
    finding: &Finding,
    config: &PolicyConfig,
    input: &CheckInput<'_>,
) -> Vec<(Policy, String)> {
    let mut broken = Vec::new();
    let cat = &finding.category;
    let to = finding
        .recipient
        .as_deref()
        .map_or_else(String::new, |r| format!(" to {r}"));
    if config.deny_plaintext && finding.transport == crate::findings::Transport::Plaintext {
        broken.push((
            Policy::DenyPlaintext,
            format!("{cat} is sent{to} without TLS"),
        ));
    }
    if !finding.consent && lists(&config.require_consent, cat) {
        broken.push((
            Policy::RequireConsent,
            format!("{cat} is sent{to} without a consent check"),
        ));
    }
    if !finding.encrypted && lists(&config.require_encryption, cat) {
        broken.push((
            Policy::RequireEncryption,
            format!("{cat} is sent{to} without encryption beyond TLS"),
        ));
    }
    if let (Some(decl), true) = (input.declarations, config.deny_undeclared) {
        let declared = decl
            .flow_for(cat, finding.recipient.as_deref(), &finding.sink.file)
            .is_some();
        if !declared {
            let recipient = finding
                .recipient
                .as_deref()
                .unwrap_or("an unknown recipient");
            broken.push((
                Policy::DenyUndeclared,
                format!("no flow declaration covers {cat} sent to {recipient}"),
            ));
        }
    }
    if input.baseline.is_some() {
        broken.push((
            Policy::DenyNew,
            format!("this {cat} flow is not in the baseline"),
        ));
    }
    broken
}

/// One violation for `finding` naming every policy in `broken`, or `None` when it is empty.
fn violation(finding: &Finding, broken: Vec<(Policy, String)>) -> Option<Violation> {
    let (policies, messages): (Vec<Policy>, Vec<String>) = broken.into_iter().unzip();
    Some(Violation {
        policy: *policies.first()?,
        policies,
        finding_id: finding.id.clone(),
        category: finding.category.clone(),
        sink_rule: finding.sink_rule.clone(),
        message: messages.join("; "),
        sink: finding.sink.clone(),
        source: finding.source.clone(),
        path: finding.path.iter().map(|s| s.location.clone()).collect(),
    })
}

/// The id of the pseudo-rule edge-of-model findings carry where a sink rule would be.
pub const UNRESOLVED_RULE: &str = "unresolved-call";

/// An edge-of-model finding as a `deny-unresolved` violation, on the call.
fn unresolved_violation(u: &crate::findings::Unresolved) -> Violation {
    let at = u.location();
    let source = u.source.clone().unwrap_or_else(|| at.clone());
    Violation {
        policy: Policy::DenyUnresolved,
        policies: vec![Policy::DenyUnresolved],
        finding_id: u.id.clone(),
        category: u.category.clone(),
        sink_rule: UNRESOLVED_RULE.to_string(),
        message: format!(
            "{} reaches `{}`, which no rule models ({})",
            u.category, u.call, u.reason
        ),
        path: vec![source.clone(), at.clone()],
        sink: at,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A suppression comment is parsed with its categories and reason.
    #[test]
    fn parses_allow_comments() {
        let allow =
            parse_allow(r#"x.send(); // idflow: allow(imei, phone_number) reason="legacy""#)
                .expect("allow");
        assert_eq!(allow.categories, ["imei", "phone_number"]);
        assert_eq!(allow.reason.as_deref(), Some("legacy"));
        assert_eq!(
            parse_allow("// idflow: allow(imei)").and_then(|a| a.reason),
            None
        );
        assert_eq!(parse_allow("// nothing"), None);
    }

    /// Issue 15, item 9: names git quotes are unquoted (octal UTF-8 bytes, C escapes).
    #[test]
    fn issue_15_quoted_names_in_a_diff() {
        let diff = "+++ \"b/ger\\303\\244t.rs\"\n@@ -0,0 +1 @@\n+x\n+++ \"b/a\\tb \\\"c\\\".rs\"\n@@ -1 +2,2 @@\n";
        let changed = parse_diff(diff);
        assert_eq!(changed["gerät.rs"], BTreeSet::from([1]));
        assert_eq!(changed["a\tb \"c\".rs"], BTreeSet::from([2, 3]));
    }

    /// Hunks of `git diff --unified=0` become changed new-side lines.
    #[test]
    fn parses_diff_hunks() {
        let diff = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -3,0 +4,2 @@ fn x\n+a\n+b\n@@ -10 +12 @@\n-c\n+d\n";
        let changed = parse_diff(diff);
        assert_eq!(
            changed["src/a.rs"].iter().copied().collect::<Vec<_>>(),
            [4, 5, 12]
        );
    }
}
