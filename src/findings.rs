//! The findings model: the single serializable result of a scan.
//!
//! Takes nothing from the rest of the pipeline but plain data; every output format (SARIF, JSON,
//! text, and the reports of later stages) renders from a [`ScanResult`] without re-analysis.

use serde::{Deserialize, Serialize};

/// How the data travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// https, wss, MQTT over TLS, a TLS-wrapped stream.
    Tls,
    /// http, ws, MQTT over plain TCP, raw TCP and UDP sockets.
    Plaintext,
    /// The code does not tell (URL from the environment, argv, a config file).
    Unknown,
}

impl Transport {
    /// The contract's spelling: `tls`, `plaintext` or `unknown`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tls => "tls",
            Transport::Plaintext => "plaintext",
            Transport::Unknown => "unknown",
        }
    }
}

/// A place in the scanned code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the scanned root, `/`-separated.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The enclosing function, as `module::Type::name`, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The trimmed source line.
    pub snippet: String,
}

/// One step of a flow's path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Step {
    /// Where the step happens.
    pub location: Location,
    /// What happens there, e.g. `source: jni-telephony-imei`, `call upload`, `sink: reqwest-body`.
    pub note: String,
}

/// One identifier → network flow: one source reaching one sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: a hash of category, source and sink code (file, function, snippet), not lines.
    pub id: String,
    /// Category id from the rule pack, e.g. `imei`.
    pub category: String,
    /// Id of the source rule that produced the data.
    pub source_rule: String,
    /// Id of the sink rule that sends it.
    pub sink_rule: String,
    /// Where the identifier is obtained.
    pub source: Location,
    /// The sink call that receives the data (the contract's `locations[0]`).
    pub sink: Location,
    /// The path, source first, sink last.
    pub path: Vec<Step>,
    /// The data passed an encryption call before the sink.
    pub encrypted: bool,
    /// The data passed a hash before the sink (still personal data under GDPR).
    pub pseudonymized: bool,
    /// The sink is reached only under a consent / opt-in check.
    pub consent: bool,
    /// TLS, plaintext or unknown.
    pub transport: Transport,
    /// Host the data is sent to, when the code tells.
    pub recipient: Option<String>,
    /// False when the source or the sink lies in code that does not ship: a crate's `tests/`,
    /// `benches/`, `examples/` or `build.rs`. Such findings are still reported by `scan`;
    /// documents and the gate leave them out unless asked (`--include-non-shipping`).
    /// Serialized only when false.
    #[serde(default = "shipping_default", skip_serializing_if = "is_shipping")]
    pub shipping: bool,
}

fn shipping_default() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_shipping(shipping: &bool) -> bool {
    *shipping
}

/// Why a file was not analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// The file is not valid Rust syntax.
    ParseError,
    /// The file is not UTF-8.
    NotUtf8,
    /// The file is larger than the size limit.
    TooLarge,
    /// The file could not be read.
    Unreadable,
    /// The file is marked as generated.
    Generated,
    /// A symbolic link (to a file or a directory) that the walk does not follow.
    Symlink,
}

impl SkipReason {
    /// Stable kebab-case code, as in SARIF notifications.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::ParseError => "parse-error",
            SkipReason::NotUtf8 => "not-utf8",
            SkipReason::TooLarge => "too-large",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Generated => "generated",
            SkipReason::Symlink => "symlink",
        }
    }
}

/// A file the scan could not analyse, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Skipped {
    /// Path relative to the scanned root.
    pub file: String,
    /// Line of the problem, when known.
    pub line: Option<u32>,
    /// Column of the problem, when known.
    pub column: Option<u32>,
    /// Reason code.
    pub reason: SkipReason,
    /// Human message, e.g. the parser's error.
    pub message: String,
}

/// Coverage figures of a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Rust files found.
    pub files_found: usize,
    /// Files parsed and analysed.
    pub files_analyzed: usize,
    /// Files skipped (see [`ScanResult::skipped`]).
    pub files_skipped: usize,
    /// Lines of the analysed files.
    pub lines: usize,
    /// Functions lowered.
    pub functions: usize,
    /// Findings in code that does not ship (tests, benches, examples, build scripts) that
    /// [`ScanResult::leave_out_non_shipping`] took out; serialized only when not zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub non_shipping_left_out: usize,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A rule the findings refer to, for SARIF `tool.driver.rules` and rule help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// Rule id.
    pub id: String,
    /// `source`, `sink`, `sanitizer`, `guard` or `category`.
    pub kind: String,
    /// One line: what the rule matches.
    pub what: String,
    /// Why it matters.
    pub why: String,
}

/// A category as the reports need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryInfo {
    /// Stable id, e.g. `imei`.
    pub id: String,
    /// Human name.
    pub name: String,
    /// GDPR wording.
    pub gdpr: String,
    /// fideslang data category.
    pub fideslang: String,
    /// Google Play data-safety data type.
    pub play_data_safety: String,
    /// Apple privacy-manifest data type.
    pub apple_privacy: String,
}

/// A dependency of the scanned tree that does network I/O (from `rules/network-crates.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NetworkDependency {
    /// The crate's name as `Cargo.toml` spells it, e.g. `reqwest-websocket`.
    #[serde(rename = "crate")]
    pub name: String,
    /// `http`, `websocket`, `mqtt`, `grpc`, `mail`, `quic`, `telemetry`, `push`, `socket`, ...
    pub family: String,
    /// The rule pack models its sinks. When false, data handed to it is a blind spot.
    pub modelled: bool,
    /// Manifests that declare it (`Cargo.toml` paths relative to the scanned root), sorted;
    /// `Cargo.lock` when only the lock file names it (a dependency of a dependency).
    pub declared_in: Vec<String>,
}

impl NetworkDependency {
    /// Declared by a manifest of the tree (not only named by `Cargo.lock`): the scanned code
    /// may call it.
    #[must_use]
    pub fn direct(&self) -> bool {
        self.declared_in.iter().any(|d| d != "Cargo.lock")
    }
}

/// A call the analysis could not follow with a tainted argument, where a network library the
/// rule pack does not model may be at work: a place where an identifier may leave the program
/// unseen (an edge-of-model finding). Not a flow: a request to review.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unresolved {
    /// Category id of the tainted value, e.g. `phone_number`.
    pub category: String,
    /// The call as written, e.g. `reqwest_websocket::connect`, `WebSocket::send`, or
    /// `.send()` on a value whose type the code does not declare.
    pub call: String,
    /// Path relative to the scanned root.
    pub file: String,
    /// 1-based line of the call.
    pub line: u32,
    /// Why it is unresolved, e.g. `no model for reqwest-websocket`.
    pub reason: String,
    /// Stable id: a hash of category, source and call code (file, function, code tokens), like
    /// a finding's.
    #[serde(default)]
    pub id: String,
    /// 1-based column of the call.
    #[serde(default)]
    pub column: u32,
    /// The enclosing function of the call, as `module::Type::name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The trimmed source line of the call.
    #[serde(default)]
    pub snippet: String,
    /// Where the tainted value comes from (the first source in path order when several do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Location>,
}

impl Unresolved {
    /// The call site as a [`Location`].
    #[must_use]
    pub fn location(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            function: self.function.clone(),
            snippet: self.snippet.clone(),
        }
    }
}

/// Everything a scan produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanResult {
    /// idflow version.
    pub tool_version: String,
    /// Hash of the active rule pack.
    pub rules_hash: String,
    /// Findings, sorted by sink file, sink line, category, source.
    pub findings: Vec<Finding>,
    /// Files not analysed, sorted by path.
    pub skipped: Vec<Skipped>,
    /// Coverage.
    pub stats: Stats,
    /// The categories that occur in findings, with their texts.
    pub categories: Vec<CategoryInfo>,
    /// Network dependencies of the scanned tree, modelled or not, sorted by crate.
    #[serde(default)]
    pub network_dependencies: Vec<NetworkDependency>,
    /// Tainted values handed to calls the analysis cannot follow, sorted.
    #[serde(default)]
    pub unresolved: Vec<Unresolved>,
}

impl ScanResult {
    /// The direct network dependencies the rule pack does not model: blind spots.
    pub fn unmodelled(&self) -> impl Iterator<Item = &NetworkDependency> {
        self.network_dependencies
            .iter()
            .filter(|d| !d.modelled && d.direct())
    }

    /// Takes out the findings in code that does not ship (`shipping: false`) and counts them
    /// in [`Stats::non_shipping_left_out`]: documents and the gate describe what ships.
    pub fn leave_out_non_shipping(&mut self) {
        let before = self.findings.len();
        self.findings.retain(|f| f.shipping);
        self.stats.non_shipping_left_out += before - self.findings.len();
        let categories: std::collections::BTreeSet<&str> =
            self.findings.iter().map(|f| f.category.as_str()).collect();
        let categories: std::collections::BTreeSet<String> =
            categories.into_iter().map(str::to_string).collect();
        self.categories.retain(|c| categories.contains(&c.id));
    }

    /// Files not analysed: the larger of the skip list and the count.
    #[must_use]
    pub fn files_skipped(&self) -> usize {
        self.skipped.len().max(self.stats.files_skipped)
    }

    /// `incomplete: 1 unmodelled network dependency (quinn), 2 unresolved calls, 1 skipped
    /// file`, or `None` when nothing is missing.
    #[must_use]
    pub fn incomplete_summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        let unmodelled: Vec<&str> = self.unmodelled().map(|d| d.name.as_str()).collect();
        if !unmodelled.is_empty() {
            parts.push(format!(
                "{} unmodelled network dependenc{} ({})",
                unmodelled.len(),
                if unmodelled.len() == 1 { "y" } else { "ies" },
                unmodelled.join(", ")
            ));
        }
        if !self.unresolved.is_empty() {
            parts.push(format!(
                "{} unresolved call{}",
                self.unresolved.len(),
                if self.unresolved.len() == 1 { "" } else { "s" }
            ));
        }
        let skipped = self.files_skipped();
        if skipped > 0 {
            parts.push(format!(
                "{skipped} skipped file{}",
                if skipped == 1 { "" } else { "s" }
            ));
        }
        (!parts.is_empty()).then(|| format!("analysis incomplete: {}", parts.join(", ")))
    }

    /// Why the findings may be incomplete, one sentence each, in a fixed order: unmodelled
    /// network dependencies, unresolved calls, skipped files. Empty when the analysis saw
    /// everything it knows how to look at. No output says "nothing is sent" unless this is
    /// empty.
    #[must_use]
    pub fn blind_spots(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in self.unmodelled() {
            out.push(format!(
                "network dependency `{}` ({}, in {}) is not modelled: data handed to it is not seen",
                d.name,
                d.family,
                d.declared_in.join(", ")
            ));
        }
        for u in &self.unresolved {
            out.push(format!(
                "unresolved: {} reaches `{}` at {}:{} ({})",
                u.category, u.call, u.file, u.line, u.reason
            ));
        }
        let skipped = self.files_skipped();
        if skipped > 0 {
            out.push(format!(
                "{skipped} Rust file{} not analysed (see the skipped files)",
                if skipped == 1 { " was" } else { "s were" }
            ));
        }
        out
    }

    /// True when [`ScanResult::blind_spots`] is not empty.
    #[must_use]
    pub fn incomplete(&self) -> bool {
        self.unmodelled().next().is_some()
            || !self.unresolved.is_empty()
            || self.files_skipped() > 0
    }
}

/// The code of one source line as finding ids hash it: line (`//`) and block (`/* */`)
/// comments dropped (a block comment leaves nothing, not even a space), string and character
/// literals kept as written, runs of whitespace made one space, trimmed. A comment added on or next to a line (a trailing `// TODO`, the
/// `// idflow: allow(..)` suppression itself) leaves it unchanged.
#[must_use]
pub fn code_tokens(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut code = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => break,
            '/' if next == Some('*') => {
                // To the end of the comment (nested ones count), or of the line.
                let mut depth = 1;
                i += 2;
                while i < chars.len() && depth > 0 {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            'r' if matches!(next, Some('"' | '#'))
                && !code
                    .chars()
                    .last()
                    .is_some_and(|p| p.is_alphanumeric() || p == '_') =>
            {
                // A raw string: r"..", r#".."#; the closing quote needs as many hashes.
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    code.push(c);
                    i += 1;
                    continue;
                }
                j += 1;
                while j < chars.len() {
                    if chars[j] == '"' && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                let end = j.min(chars.len());
                code.extend(&chars[i..end]);
                i = end;
                continue;
            }
            '"' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                let end = (j + 1).min(chars.len());
                code.extend(&chars[i..end]);
                i = end;
                continue;
            }
            '\'' => {
                // A character literal ('"', '\'', 'x'); a lifetime has no closing quote.
                let len = match (next, chars.get(i + 2)) {
                    (Some('\\'), _) => chars
                        .get(i + 3..)
                        .and_then(|rest| rest.iter().position(|&c| c == '\''))
                        .map(|p| p + 4),
                    (Some(_), Some('\'')) => Some(3),
                    _ => None,
                };
                if let Some(len) = len {
                    let end = (i + len).min(chars.len());
                    code.extend(&chars[i..end]);
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        code.push(c);
        i += 1;
    }
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::code_tokens;

    /// Comments go, code and literals that look like comments stay.
    #[test]
    fn comments_do_not_count() {
        let base = code_tokens("client.post(url).json(&body).send()?;");
        for line in [
            "client.post(url).json(&body).send()?; // TODO",
            r#"client.post(url).json(&body).send()?; // idflow: allow(imei) reason="x""#,
            "client.post(url).json(&body).send()?; /* v2 */",
            "client.post(url)/* v2 */.json(&body).send()?;",
            "  client.post(url).json(&body).send()?;   ",
        ] {
            assert_eq!(code_tokens(line), base, "{line}");
        }
        assert_eq!(
            code_tokens(r#"let u = "http://x.example/a"; // c"#),
            r#"let u = "http://x.example/a";"#
        );
        assert_eq!(
            code_tokens(r##"f(r#"//"#, '"', "\"//")"##),
            r##"f(r#"//"#, '"', "\"//")"##
        );
        assert_eq!(
            code_tokens("fn f<'a>(x: &'a str) // c"),
            "fn f<'a>(x: &'a str)"
        );
        assert_eq!(code_tokens(r"let c = '\''; // c"), r"let c = '\'';");
        assert_eq!(code_tokens(r"let c = '\u{2f}'; // c"), r"let c = '\u{2f}';");
    }
}
