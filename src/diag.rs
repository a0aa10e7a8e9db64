//! User diagnostics: one stable [`Code`] per kind of problem, and rendering of rule-file errors
//! as miette reports with the YAML snippet, a label at the offending text and a `help`.
//!
//! Takes [`RuleError`]s (from [`crate::rules`]) and gives text for a terminal or a log. Codes are
//! kebab-case and never change meaning; each is documented in `docs/diagnostics.md` (a test keeps
//! that file and [`Code::ALL`] in step).

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

use crate::findings::SkipReason;
use crate::rules::RuleError;

/// A stable diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// A rule file is not valid YAML.
    RuleSyntax,
    /// A rule file could not be read.
    RuleIo,
    /// A key the rule format does not know (often a typo).
    RuleUnknownKey,
    /// A key the rule format requires is absent.
    RuleMissingKey,
    /// Keys that exclude each other are both present (`call` and `name` in one source).
    RuleConflictingKeys,
    /// A value of the wrong type or outside its allowed set (`effect: crypt`).
    RuleBadValue,
    /// An id that is not kebab-case (categories: snake_case).
    RuleBadId,
    /// The same id twice in one list of one layer of the pack.
    RuleDuplicateId,
    /// A reference to a category or kind that no rule file defines.
    RuleBadReference,
    /// A regex that does not compile.
    RuleBadRegex,
    /// A source file that is not valid Rust (skipped, the scan goes on).
    ParseError,
    /// A source file that is not UTF-8 (skipped).
    NotUtf8,
    /// A source file over the size limit (skipped).
    TooLarge,
    /// A source file that could not be read (skipped).
    Unreadable,
    /// A generated source file (skipped).
    Generated,
    /// A symbolic link the walk does not follow (skipped).
    Symlink,
}

impl Code {
    /// Every code, in documentation order.
    pub const ALL: &'static [Code] = &[
        Code::RuleSyntax,
        Code::RuleIo,
        Code::RuleUnknownKey,
        Code::RuleMissingKey,
        Code::RuleConflictingKeys,
        Code::RuleBadValue,
        Code::RuleBadId,
        Code::RuleDuplicateId,
        Code::RuleBadReference,
        Code::RuleBadRegex,
        Code::ParseError,
        Code::NotUtf8,
        Code::TooLarge,
        Code::Unreadable,
        Code::Generated,
        Code::Symlink,
    ];

    /// The kebab-case code, as shown to users and in SARIF notifications.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Code::RuleSyntax => "rule-syntax",
            Code::RuleIo => "rule-io",
            Code::RuleUnknownKey => "rule-unknown-key",
            Code::RuleMissingKey => "rule-missing-key",
            Code::RuleConflictingKeys => "rule-conflicting-keys",
            Code::RuleBadValue => "rule-bad-value",
            Code::RuleBadId => "rule-bad-id",
            Code::RuleDuplicateId => "rule-duplicate-id",
            Code::RuleBadReference => "rule-bad-reference",
            Code::RuleBadRegex => "rule-bad-regex",
            Code::ParseError => "parse-error",
            Code::NotUtf8 => "not-utf8",
            Code::TooLarge => "too-large",
            Code::Unreadable => "unreadable",
            Code::Generated => "generated",
            Code::Symlink => "symlink",
        }
    }

    /// One line saying what the code means.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Code::RuleSyntax => "a rule file is not valid YAML",
            Code::RuleIo => "a rule file could not be read",
            Code::RuleUnknownKey => "a rule file has a key the rule format does not know",
            Code::RuleMissingKey => "a rule entry lacks a key it requires",
            Code::RuleConflictingKeys => "a rule entry has keys that exclude each other",
            Code::RuleBadValue => {
                "a rule value has the wrong type or is not one of the allowed values"
            }
            Code::RuleBadId => "a rule id is not kebab-case (category ids: snake_case)",
            Code::RuleDuplicateId => "an id is defined twice in one list of one layer of the pack",
            Code::RuleBadReference => "a rule refers to a category or kind that is not defined",
            Code::RuleBadRegex => "a rule regex does not compile",
            Code::ParseError => "a source file is not valid Rust; it is skipped",
            Code::NotUtf8 => "a source file is not UTF-8; it is skipped",
            Code::TooLarge => "a source file is larger than the size limit; it is skipped",
            Code::Unreadable => "a source file could not be read; it is skipped",
            Code::Generated => "a source file is marked as generated; it is skipped",
            Code::Symlink => {
                "a symbolic link to a source file or directory is not followed (it could loop or leave the tree)"
            }
        }
    }

    /// The short text of the label at the offending span.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Code::RuleSyntax => "invalid YAML here",
            Code::RuleIo => "cannot read",
            Code::RuleUnknownKey => "unknown key",
            Code::RuleMissingKey => "in this entry",
            Code::RuleConflictingKeys => "conflicting key",
            Code::RuleBadValue => "bad value",
            Code::RuleBadId => "bad id",
            Code::RuleDuplicateId => "defined again here",
            Code::RuleBadReference => "not defined",
            Code::RuleBadRegex => "invalid regex",
            Code::ParseError => "syntax error",
            Code::NotUtf8 | Code::TooLarge | Code::Unreadable | Code::Generated | Code::Symlink => {
                "skipped"
            }
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<SkipReason> for Code {
    fn from(reason: SkipReason) -> Code {
        match reason {
            SkipReason::ParseError => Code::ParseError,
            SkipReason::NotUtf8 => Code::NotUtf8,
            SkipReason::TooLarge => Code::TooLarge,
            SkipReason::Unreadable => Code::Unreadable,
            SkipReason::Generated => Code::Generated,
            SkipReason::Symlink => Code::Symlink,
        }
    }
}

/// A [`RuleError`] as a miette diagnostic: the message, the code, a label at the offending text
/// of the YAML file and the help.
#[derive(Debug)]
pub struct RuleDiagnostic<'a> {
    error: &'a RuleError,
    source: Option<NamedSource<String>>,
    offset: usize,
}

impl<'a> RuleDiagnostic<'a> {
    /// Wraps `error`, resolving its line and column to a byte offset in the file's text.
    #[must_use]
    pub fn new(error: &'a RuleError) -> RuleDiagnostic<'a> {
        let source = error.text.as_ref().map(|text| {
            NamedSource::new(error.file.display().to_string(), text.0.to_string())
                .with_language("yaml")
        });
        let offset = error
            .text
            .as_ref()
            .map_or(0, |t| byte_offset(&t.0, error.line, error.column));
        RuleDiagnostic {
            error,
            source,
            offset,
        }
    }
}

/// Byte offset of 1-based `line` and `column` (characters) in `text`, clamped to the text.
#[must_use]
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col = l
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(l.trim_end_matches('\n').len(), |(b, _)| b);
            return offset + col;
        }
        offset += l.len();
    }
    text.len()
}

impl fmt::Display for RuleDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.error;
        if e.line == 0 {
            write!(f, "{}: {}", e.file.display(), e.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                e.file.display(),
                e.line,
                e.column,
                e.message
            )
        }
    }
}

impl std::error::Error for RuleDiagnostic<'_> {}

impl Diagnostic for RuleDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.error.code.as_str()))
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.error
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.source.is_none() || self.error.line == 0 {
            return None;
        }
        let label = LabeledSpan::new(
            Some(self.error.code.label().to_string()),
            self.offset,
            self.error.len,
        );
        Some(Box::new(std::iter::once(label)))
    }
}

/// Renders every error as a miette report (snippet, label, help), one after another.
#[must_use]
pub fn render_rule_errors(errors: &[RuleError], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for error in errors {
        let diagnostic = RuleDiagnostic::new(error);
        if handler.render_report(&mut out, &diagnostic).is_err() {
            // Rendering into a String cannot fail for I/O reasons; keep the plain form.
            out.push_str(&error.to_string());
        }
        out.push('\n');
    }
    out
}
