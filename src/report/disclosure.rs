//! GDPR disclosure documents: which kinds exist, in which formats, and how each is rendered.
//!
//! Takes a [`Document`] and a [`Templates`] set, gives the text of one document. Markdown, HTML,
//! JSON and plist go through the templates (`templates/<kind>.<format>.tera`); CSV is written
//! with the `csv` crate ([`super::tables`]) so quoting is right and no cell can start a formula.

use std::fmt;

use super::documents::Document;
use super::tables;
use super::tera::{TemplateError, Templates};

/// A kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Privacy notice (Art. 13/14), per category.
    Notice,
    /// Records of processing activities (Art. 30(1)).
    Ropa,
    /// Google Play data-safety answers.
    DataSafety,
    /// Apple `PrivacyInfo.xcprivacy` draft.
    PrivacyManifest,
    /// The flow graph.
    DataMap,
}

/// An output format of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocFormat {
    /// Markdown (GitHub flavoured).
    Md,
    /// One self-contained HTML file.
    Html,
    /// CSV (RFC 4180).
    Csv,
    /// JSON.
    Json,
    /// XML property list.
    Plist,
}

impl Kind {
    /// Every kind, in the order `--kind all` writes them.
    pub const ALL: [Kind; 5] = [
        Kind::Notice,
        Kind::Ropa,
        Kind::DataSafety,
        Kind::PrivacyManifest,
        Kind::DataMap,
    ];

    /// The kebab-case name, as on the command line and in template names.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Notice => "notice",
            Kind::Ropa => "ropa",
            Kind::DataSafety => "data-safety",
            Kind::PrivacyManifest => "privacy-manifest",
            Kind::DataMap => "data-map",
        }
    }

    /// The formats this kind comes in; the first is its default.
    #[must_use]
    pub fn formats(self) -> &'static [DocFormat] {
        match self {
            Kind::Notice | Kind::DataMap => &[DocFormat::Md, DocFormat::Html],
            Kind::Ropa => &[DocFormat::Md, DocFormat::Html, DocFormat::Csv],
            Kind::DataSafety => &[DocFormat::Csv, DocFormat::Json],
            Kind::PrivacyManifest => &[DocFormat::Plist],
        }
    }

    /// The file name of this kind in `format` (Apple's fixed name for the manifest).
    #[must_use]
    pub fn file_name(self, format: DocFormat) -> String {
        match self {
            Kind::PrivacyManifest => "PrivacyInfo.xcprivacy".to_string(),
            _ => format!("{}.{}", self.name(), format.extension()),
        }
    }
}

impl DocFormat {
    /// The file extension and `--format` value.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            DocFormat::Md => "md",
            DocFormat::Html => "html",
            DocFormat::Csv => "csv",
            DocFormat::Json => "json",
            DocFormat::Plist => "plist",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for DocFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// A document that could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The kind has no such format.
    #[error("{kind} is not available as {format} (available: {})", available(*kind))]
    Unsupported {
        /// The kind.
        kind: Kind,
        /// The format asked for.
        format: DocFormat,
    },
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// CSV writing failed.
    #[error("cannot write CSV: {0}")]
    Csv(String),
}

fn available(kind: Kind) -> String {
    kind.formats()
        .iter()
        .map(|f| f.extension())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders `kind` as `format`.
///
/// # Errors
/// An unsupported pair, a failing template, a CSV error.
pub fn render(
    kind: Kind,
    format: DocFormat,
    doc: &Document,
    templates: &Templates,
) -> Result<String, DocumentError> {
    if !kind.formats().contains(&format) {
        return Err(DocumentError::Unsupported { kind, format });
    }
    match format {
        DocFormat::Csv => match kind {
            Kind::Ropa => tables::ropa(doc),
            _ => tables::data_safety(doc),
        }
        .map_err(|err| DocumentError::Csv(err.to_string())),
        _ => Ok(templates.render(&template_name(kind, format), doc)?),
    }
}

/// The template that renders `kind` as `format`, e.g. `notice.html.tera`.
#[must_use]
pub fn template_name(kind: Kind, format: DocFormat) -> String {
    format!("{}.{}.tera", kind.name(), format.extension())
}
