//! The declarations file (`idflow.yaml`): what the code cannot know about its own data flows.
//!
//! Takes the YAML text of a declarations file, gives a validated [`Declarations`]: the controller
//! and DPO, the purposes of processing (with their Art. 6(1) legal basis and retention), the
//! recipients behind host patterns (name, role, country, transfer safeguard), and flow
//! declarations that tie a category and a recipient (optionally a code path) to a purpose.
//!
//! Loaded in two steps like the rule pack: serde_yaml with `deny_unknown_fields` and no
//! `#[serde(flatten)]` (so every unknown key, missing key and bad value is reported at
//! file:line:column), then [`Declarations::validate`] for references between entries. The reports
//! read declarations; they never invent what is missing, they list it as a gap.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The default file name, looked up at the root of the scanned tree.
pub const DEFAULT_FILE_NAME: &str = "idflow.yaml";

/// A declarations file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    /// The controller (Art. 4(7)): who decides why and how the data is processed.
    #[serde(default)]
    pub controller: Option<Controller>,
    /// The data protection officer (Art. 37–39), when one is designated.
    #[serde(default)]
    pub dpo: Option<Dpo>,
    /// The representative in the Union (Art. 27) of a controller established outside it.
    #[serde(default)]
    pub representative: Option<Representative>,
    /// Whether decisions are taken by automated means, profiling included (Art. 13(2)(f),
    /// Art. 14(2)(g)).
    #[serde(default)]
    pub automated_decision_making: Option<AutomatedDecisions>,
    /// Whose data it is (e.g. "app users", "contacts of app users"), for Art. 30(1)(c).
    #[serde(default)]
    pub data_subjects: Vec<String>,
    /// Whether data is used for tracking in Apple's sense (`NSPrivacyTracking`).
    #[serde(default)]
    pub tracking: Option<bool>,
    /// Purposes of processing.
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    /// Recipients, by host pattern.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Which flows serve which purpose.
    #[serde(default)]
    pub flows: Vec<FlowDecl>,
    /// What `idflow check` enforces (defaults when absent, see [`crate::policy::PolicyConfig`]).
    #[serde(default)]
    pub policies: Option<crate::policy::PolicyConfig>,
}

/// The controller's identity and contact details (Art. 13(1)(a)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Legal name.
    pub name: String,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
    /// Contact (e-mail address or URL).
    #[serde(default)]
    pub contact: Option<String>,
    /// ISO 3166-1 alpha-2 code of the country where the controller is established; outside
    /// the EEA, a representative in the Union is required (Art. 27).
    #[serde(default)]
    pub country: Option<String>,
}

/// The representative in the Union of a controller established outside it (Art. 27).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Representative {
    /// Legal name.
    pub name: String,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
    /// Contact (e-mail address or URL).
    #[serde(default)]
    pub contact: Option<String>,
}

/// Automated decision-making, including profiling (Art. 22).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AutomatedDecisions {
    /// Whether any decision with legal or similarly significant effect is automated.
    pub used: bool,
    /// When used: the logic involved, its significance and envisaged consequences.
    #[serde(default)]
    pub logic: Option<String>,
}

/// The data protection officer's contact details (Art. 13(1)(b)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dpo {
    /// Name, when published.
    #[serde(default)]
    pub name: Option<String>,
    /// Contact (e-mail address or URL).
    pub contact: String,
}

/// A purpose of processing (Art. 13(1)(c), Art. 30(1)(b)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// Stable id flows refer to, e.g. `presence`.
    pub id: String,
    /// What the processing is for, in words a data subject understands.
    pub description: String,
    /// Legal basis under Art. 6(1), `a` to `f` (also `6(1)(f)`, `Art. 6(1)(f)`).
    #[serde(default)]
    pub legal_basis: Option<LegalBasis>,
    /// How long the data is kept, or the criteria for it (Art. 13(2)(a)).
    #[serde(default)]
    pub retention: Option<String>,
    /// The app-store purpose (Google Play data safety, Apple privacy manifest).
    #[serde(default)]
    pub store_purpose: Option<StorePurpose>,
    /// The legitimate interests pursued, when the legal basis is Art. 6(1)(f) (Art. 13(1)(d)).
    #[serde(default)]
    pub legitimate_interest: Option<String>,
    /// Whether providing the data is required, and what happens without it (Art. 13(2)(e)).
    #[serde(default)]
    pub requirement: Option<Requirement>,
    /// Whose data this purpose processes and where it comes from (Art. 14, Art. 30(1)(c));
    /// when empty, the document-level `data_subjects` apply.
    #[serde(default)]
    pub subjects: Vec<Subject>,
    /// Whether the data is linked to the user's identity (Apple `NSPrivacyCollectedDataTypeLinked`).
    #[serde(default)]
    pub linked_to_user: Option<bool>,
    /// Whether the data is used for tracking (Apple `NSPrivacyCollectedDataTypeTracking`);
    /// the document-level `tracking` when absent.
    #[serde(default)]
    pub tracking: Option<bool>,
}

/// Whether providing the data is a statutory or contractual requirement (Art. 13(2)(e)).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// What kind of requirement, if any.
    pub kind: RequirementKind,
    /// The possible consequences of not providing the data.
    pub consequences: String,
}

/// The kinds of requirement Art. 13(2)(e) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequirementKind {
    /// Required by law.
    Statutory,
    /// Required by a contract.
    Contractual,
    /// Necessary to enter into a contract.
    ContractPrerequisite,
    /// Not required: the data subject is free not to provide it.
    Voluntary,
}

impl RequirementKind {
    /// The sentence a notice shows.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            RequirementKind::Statutory => "Providing the data is required by law.",
            RequirementKind::Contractual => {
                "Providing the data is required by our contract with you."
            }
            RequirementKind::ContractPrerequisite => {
                "Providing the data is necessary to enter into a contract with us."
            }
            RequirementKind::Voluntary => {
                "You are not obliged to provide the data; providing it is voluntary."
            }
        }
    }
}

/// A category of data subjects of one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Who, e.g. "contacts in the users' address books".
    pub who: String,
    /// `user` (the data is obtained from the person, Art. 13), `contact` (people in a user's
    /// address book, Art. 14) or `other` (obtained elsewhere, Art. 14).
    pub kind: SubjectKind,
    /// The category ids of this subject's data; empty means every category of the purpose.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Where the data comes from when not from the person (Art. 14(2)(f)).
    #[serde(default)]
    pub source: Option<String>,
}

/// How data of a data subject is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// The app's user, the data is obtained from them.
    User,
    /// A contact of a user: obtained from the user's address book, not from the person.
    Contact,
    /// Anyone else, obtained from another source.
    Other,
}

impl SubjectKind {
    /// True when the data is not obtained from the data subject, so Art. 14 applies.
    #[must_use]
    pub fn third_party_source(self) -> bool {
        !matches!(self, SubjectKind::User)
    }
}

/// A legal basis under Art. 6(1) GDPR, written `f`, `6(1)(f)` or `Art. 6(1)(f)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LegalBasis {
    /// (a) consent.
    #[serde(alias = "6(1)(a)", alias = "Art. 6(1)(a)")]
    A,
    /// (b) performance of a contract.
    #[serde(alias = "6(1)(b)", alias = "Art. 6(1)(b)")]
    B,
    /// (c) a legal obligation.
    #[serde(alias = "6(1)(c)", alias = "Art. 6(1)(c)")]
    C,
    /// (d) vital interests.
    #[serde(alias = "6(1)(d)", alias = "Art. 6(1)(d)")]
    D,
    /// (e) a task in the public interest.
    #[serde(alias = "6(1)(e)", alias = "Art. 6(1)(e)")]
    E,
    /// (f) legitimate interests.
    #[serde(alias = "6(1)(f)", alias = "Art. 6(1)(f)")]
    F,
}

impl LegalBasis {
    /// The letter, `a` to `f`.
    #[must_use]
    pub fn letter(self) -> &'static str {
        match self {
            LegalBasis::A => "a",
            LegalBasis::B => "b",
            LegalBasis::C => "c",
            LegalBasis::D => "d",
            LegalBasis::E => "e",
            LegalBasis::F => "f",
        }
    }

    /// The full citation, e.g. `Art. 6(1)(a) GDPR (consent)`.
    #[must_use]
    pub fn citation(self) -> String {
        let what = match self {
            LegalBasis::A => "consent",
            LegalBasis::B => "performance of a contract",
            LegalBasis::C => "compliance with a legal obligation",
            LegalBasis::D => "vital interests",
            LegalBasis::E => "task in the public interest",
            LegalBasis::F => "legitimate interests",
        };
        format!("Art. 6(1)({}) GDPR ({what})", self.letter())
    }
}

/// The app-store purpose a declared purpose maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StorePurpose {
    /// Features of the app itself.
    AppFunctionality,
    /// Analytics.
    Analytics,
    /// Messages from the developer to the user.
    DeveloperCommunications,
    /// Advertising or marketing.
    Advertising,
    /// Fraud prevention, security and compliance.
    FraudPrevention,
    /// Personalization.
    Personalization,
    /// Account management.
    AccountManagement,
}

impl StorePurpose {
    /// Google Play data-safety purpose label.
    #[must_use]
    pub fn play(self) -> &'static str {
        match self {
            StorePurpose::AppFunctionality => "App functionality",
            StorePurpose::Analytics => "Analytics",
            StorePurpose::DeveloperCommunications => "Developer communications",
            StorePurpose::Advertising => "Advertising or marketing",
            StorePurpose::FraudPrevention => "Fraud prevention, security, and compliance",
            StorePurpose::Personalization => "Personalization",
            StorePurpose::AccountManagement => "Account management",
        }
    }

    /// Google Play Console CSV response id of this purpose (`DATA_USAGE_COLLECTION_PURPOSE`).
    #[must_use]
    pub fn play_id(self) -> &'static str {
        match self {
            StorePurpose::AppFunctionality => "PSL_APP_FUNCTIONALITY",
            StorePurpose::Analytics => "PSL_ANALYTICS",
            StorePurpose::DeveloperCommunications => "PSL_DEVELOPER_COMMUNICATIONS",
            StorePurpose::Advertising => "PSL_ADVERTISING",
            StorePurpose::FraudPrevention => "PSL_FRAUD_PREVENTION_SECURITY",
            StorePurpose::Personalization => "PSL_PERSONALIZATION",
            StorePurpose::AccountManagement => "PSL_ACCOUNT_MANAGEMENT",
        }
    }

    /// Apple privacy-manifest purpose key.
    #[must_use]
    pub fn apple(self) -> &'static str {
        match self {
            StorePurpose::AppFunctionality
            | StorePurpose::FraudPrevention
            | StorePurpose::AccountManagement => {
                "NSPrivacyCollectedDataTypePurposeAppFunctionality"
            }
            StorePurpose::Analytics => "NSPrivacyCollectedDataTypePurposeAnalytics",
            StorePurpose::DeveloperCommunications => "NSPrivacyCollectedDataTypePurposeOther",
            StorePurpose::Advertising => "NSPrivacyCollectedDataTypePurposeDeveloperAdvertising",
            StorePurpose::Personalization => {
                "NSPrivacyCollectedDataTypePurposeProductPersonalization"
            }
        }
    }
}

/// Who receives data sent to some hosts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Host patterns: `api.example.com` exactly, or `*.example.com` for any subdomain.
    pub hosts: Vec<String>,
    /// The recipient's name.
    pub name: String,
    /// Its role towards the controller.
    pub role: Role,
    /// ISO 3166-1 alpha-2 code of the country where it processes the data.
    #[serde(default)]
    pub country: Option<String>,
    /// Transfer safeguard for a country outside the EEA (Art. 45–49), e.g. "adequacy decision".
    #[serde(default)]
    pub safeguard: Option<String>,
}

/// A recipient's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The controller's own infrastructure.
    Controller,
    /// A processor acting on the controller's instructions (Art. 28).
    Processor,
    /// A third party, processing for its own purposes.
    ThirdParty,
}

impl Role {
    /// Human label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Role::Controller => "controller (own infrastructure)",
            Role::Processor => "processor (Art. 28)",
            Role::ThirdParty => "third party",
        }
    }
}

/// A flow declaration: data of `category` sent to `recipient` serves `purpose`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDecl {
    /// Category id, e.g. `imei`.
    pub category: String,
    /// Host pattern of the recipient, as in [`Recipient::hosts`].
    pub recipient: String,
    /// Optional path prefix of the sink file, relative to the scanned root (`src/presence.rs`).
    #[serde(default)]
    pub path: Option<String>,
    /// Id of a declared purpose.
    pub purpose: String,
}

/// A declarations file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DeclarationsError {
    /// The file could not be read.
    #[error("cannot read declarations file {}: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why (not a `source`: the message says it, so a chain would say it twice).
        reason: std::io::Error,
    },
    /// The YAML is malformed, or has an unknown key, a missing key or a bad value.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// serde_yaml's message.
        message: String,
    },
    /// References between entries do not hold (every problem, one per line).
    #[error("{}: invalid declarations:\n{}", path.display(), problems.join("\n"))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Each problem.
        problems: Vec<String>,
    },
}

/// Countries of the European Economic Area (EU member states, Iceland, Liechtenstein, Norway).
pub const EEA: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

impl Declarations {
    /// Parses and validates `text`, naming `path` in errors.
    ///
    /// # Errors
    /// [`DeclarationsError::Syntax`] at line and column, or [`DeclarationsError::Invalid`].
    pub fn parse(text: &str, path: &Path) -> Result<Declarations, DeclarationsError> {
        // An empty file is an empty set of declarations, not a syntax error.
        if text.trim().is_empty() {
            return Ok(Declarations::default());
        }
        let decl: Declarations = serde_yaml::from_str(text).map_err(|err| {
            let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
            DeclarationsError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: short(
                    &strip_location(&err.to_string()),
                    text.lines().nth(line.saturating_sub(1)).unwrap_or_default(),
                ),
            }
        })?;
        let problems = decl.validate();
        if problems.is_empty() {
            Ok(decl)
        } else {
            Err(DeclarationsError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Reads, parses and validates the file at `path`.
    ///
    /// # Errors
    /// As [`Declarations::parse`], plus [`DeclarationsError::Io`].
    pub fn load(path: &Path) -> Result<Declarations, DeclarationsError> {
        let text = read_config(path)?;
        Declarations::parse(&text, path)
    }

    /// Reads the file at `path` like [`Declarations::load`], then checks every category it
    /// names (the `policies:` lists and `flows[].category`) against `known`, the rule pack's
    /// category ids: a misspelt one (`require-consent: [imeii]`) would silently switch a policy
    /// off or never match a flow.
    ///
    /// # Errors
    /// As [`Declarations::load`]; an unknown category is a [`DeclarationsError::Syntax`] at its
    /// line and column.
    pub fn load_checked(
        path: &Path,
        known: &BTreeSet<&str>,
    ) -> Result<Declarations, DeclarationsError> {
        let text = read_config(path)?;
        let decl = Declarations::parse(&text, path)?;
        decl.check_categories(&text, path, known)?;
        Ok(decl)
    }

    /// The first category named in `text` (this file's source) that is not in `known`.
    fn check_categories(
        &self,
        text: &str,
        path: &Path,
        known: &BTreeSet<&str>,
    ) -> Result<(), DeclarationsError> {
        let policies = self.policies.iter().flat_map(|p| {
            let consent = p.require_consent.iter().map(|c| ("require-consent", c));
            consent.chain(
                p.require_encryption
                    .iter()
                    .map(|c| ("require-encryption", c)),
            )
        });
        let flows = self.flows.iter().map(|f| ("category", &f.category));
        for (key, category) in policies.chain(flows) {
            if category == "*" || known.contains(category.as_str()) {
                continue;
            }
            let (line, column) = locate_value(text, key, category);
            let names: Vec<&str> = known.iter().copied().collect();
            return Err(DeclarationsError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: format!(
                    "`{key}` names unknown category `{category}` (known: {})",
                    names.join(", ")
                ),
            });
        }
        Ok(())
    }

    /// Step two: every reference and value serde cannot check, as messages.
    #[must_use]
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut ids = BTreeSet::new();
        for (i, purpose) in self.purposes.iter().enumerate() {
            if !ids.insert(purpose.id.as_str()) {
                problems.push(format!(
                    "purposes[{i}]: duplicate purpose id `{}`",
                    purpose.id
                ));
            }
        }
        for (i, recipient) in self.recipients.iter().enumerate() {
            if recipient.hosts.is_empty() {
                problems.push(format!("recipients[{i}]: `hosts` lists no host pattern"));
            }
            if let Some(country) = &recipient.country {
                if !is_country_code(country) {
                    problems.push(format!(
                        "recipients[{i}]: country `{country}` is not an ISO 3166-1 alpha-2 code such as `DE`"
                    ));
                }
            }
        }
        if let Some(country) = self.controller.as_ref().and_then(|c| c.country.as_ref()) {
            if !is_country_code(country) {
                problems.push(format!(
                    "controller: country `{country}` is not an ISO 3166-1 alpha-2 code such as `DE`"
                ));
            }
        }
        for (i, flow) in self.flows.iter().enumerate() {
            if !ids.contains(flow.purpose.as_str()) {
                problems.push(format!(
                    "flows[{i}]: purpose `{}` is not declared under `purposes`",
                    flow.purpose
                ));
            }
        }
        problems
    }

    /// The purpose with `id`.
    #[must_use]
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id == id)
    }

    /// The first recipient whose host patterns match `host`.
    #[must_use]
    pub fn recipient_for(&self, host: &str) -> Option<&Recipient> {
        self.recipients
            .iter()
            .find(|r| r.hosts.iter().any(|p| host_matches(p, host)))
    }

    /// The first flow declaration for data of `category` sent to `host` from a sink in `file`.
    #[must_use]
    pub fn flow_for(&self, category: &str, host: Option<&str>, file: &str) -> Option<&FlowDecl> {
        let host = host?;
        self.flows.iter().find(|f| {
            f.category == category
                && host_matches(&f.recipient, host)
                && f.path.as_deref().is_none_or(|p| {
                    file == p || file.starts_with(&format!("{}/", p.trim_end_matches('/')))
                })
        })
    }
}

/// True when `host` matches `pattern` (`*.example.com` matches any subdomain, not the apex).
#[must_use]
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.ends_with(&format!(".{suffix}")),
        None => host == pattern,
    }
}

fn is_country_code(country: &str) -> bool {
    country.len() == 2 && country.chars().all(|c| c.is_ascii_uppercase())
}

/// True when `country` (ISO alpha-2) is in the EEA.
#[must_use]
pub fn in_eea(country: &str) -> bool {
    EEA.contains(&country)
}

/// The text of the declarations file at `path`: a regular file, or a symbolic link to one in
/// the link's own directory or below. A link anywhere else (a credentials file,
/// `/proc/self/environ`) is refused, never read, and so is a FIFO or a device, which would
/// block the run or never end.
fn read_config(path: &Path) -> Result<String, DeclarationsError> {
    let refuse = |why: &str| DeclarationsError::Io {
        path: path.to_path_buf(),
        reason: std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string()),
    };
    let io = |reason| DeclarationsError::Io {
        path: path.to_path_buf(),
        reason,
    };
    let link = std::fs::symlink_metadata(path).map_err(io)?;
    if link.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).map_err(io)?;
        let home = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .and_then(|p| std::fs::canonicalize(p).ok());
        if !home.is_some_and(|home| target.starts_with(home)) {
            return Err(refuse(
                "a symbolic link out of its directory; idflow reads configuration only from inside the tree (give the target itself with --config)",
            ));
        }
    }
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(refuse("not a regular file"));
    }
    std::fs::read_to_string(path).map_err(io)
}

/// A parser message on one line, quoting no more of the file than `offending` (its line at
/// the error): serde_yaml quotes the value it rejects, and for a file that is not YAML at all
/// (a credentials file) that value is the whole file, folded into one string.
fn short(message: &str, offending: &str) -> String {
    let message = message.lines().next().unwrap_or_default();
    let (Some(open), Some(close)) = (message.find('"'), message.rfind('"')) else {
        return message.to_string();
    };
    let quoted = &message[open + 1..close.max(open + 1)];
    let keep = offending.trim().chars().count();
    if quoted.chars().count() <= keep {
        return message.to_string();
    }
    let cut: String = quoted.chars().take(keep).collect();
    format!(
        "{}\"{cut}…\"{}",
        &message[..open],
        &message[close.max(open + 1) + 1..]
    )
}

/// 1-based line and column of the first `value` (a whole word) after a `key:` in `text`, or of
/// the first `key:` when the value is not found there; (0, 0) when neither is.
fn locate_value(text: &str, key: &str, value: &str) -> (usize, usize) {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let whole = |line: &str, at: usize, len: usize| {
        !line[..at].chars().next_back().is_some_and(is_word)
            && !line[at + len..].chars().next().is_some_and(is_word)
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut first_key = None;
    for (i, line) in lines.iter().enumerate() {
        let Some(k) = line.match_indices(key).map(|(at, _)| at).find(|&at| {
            whole(line, at, key.len()) && line[at + key.len()..].trim_start().starts_with(':')
        }) else {
            continue;
        };
        first_key.get_or_insert((i + 1, line[..k].chars().count() + 1));
        // The value on the key's line or on the list lines under it.
        for (j, next) in lines.iter().enumerate().skip(i).take(64) {
            let from = if j == i { k + key.len() } else { 0 };
            if j > i && next.trim_start().ends_with(':') {
                break;
            }
            if let Some(at) = next[from..]
                .match_indices(value)
                .map(|(at, _)| from + at)
                .find(|&at| whole(next, at, value.len()))
            {
                return (j + 1, next[..at].chars().count() + 1);
            }
        }
    }
    first_key.unwrap_or((0, 0))
}

/// serde_yaml appends ` at line L column C`; the error shows the location in front instead.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

impl fmt::Display for LegalBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.citation())
    }
}

#[cfg(test)]
mod tests {
    use super::{Declarations, LegalBasis};

    /// A legal basis is accepted as the letter and as the article's citation.
    #[test]
    fn legal_basis_in_every_written_form() {
        for form in ["f", "6(1)(f)", "Art. 6(1)(f)"] {
            let text =
                format!("purposes:\n  - id: p\n    description: x\n    legal_basis: \"{form}\"\n");
            let decl = Declarations::parse(&text, std::path::Path::new("idflow.yaml"))
                .unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(decl.purposes[0].legal_basis, Some(LegalBasis::F), "{form}");
        }
        let bad = "purposes:\n  - id: p\n    description: x\n    legal_basis: \"6(1)(g)\"\n";
        assert!(Declarations::parse(bad, std::path::Path::new("idflow.yaml")).is_err());
    }
}
