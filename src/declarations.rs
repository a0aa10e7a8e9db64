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
    /// Legal basis under Art. 6(1), `a` to `f`.
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

/// A legal basis under Art. 6(1) GDPR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LegalBasis {
    /// (a) consent.
    A,
    /// (b) performance of a contract.
    B,
    /// (c) a legal obligation.
    C,
    /// (d) vital interests.
    D,
    /// (e) a task in the public interest.
    E,
    /// (f) legitimate interests.
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
                message: strip_location(&err.to_string()),
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
        let text = std::fs::read_to_string(path).map_err(|reason| DeclarationsError::Io {
            path: path.to_path_buf(),
            reason,
        })?;
        Declarations::parse(&text, path)
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
