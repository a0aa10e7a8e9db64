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
}
