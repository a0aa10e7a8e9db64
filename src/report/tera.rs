//! Report templates: the embedded set from `templates/`, user overrides, and rendering with tera.
//!
//! Takes template texts (the embedded defaults, plus files of the same name from a
//! `--templates DIR`), gives rendered documents. HTML and plist templates are autoescaped;
//! Markdown templates escape with the `md` (table-cell text) and `code` (inline code span)
//! filters registered here. Overrides are looked up by the embedded file names only and must
//! resolve inside the directory, so a template directory can never make idflow read other files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ::tera::{Context, Tera, Value};

use super::documents::Document;

/// The embedded templates: (file name under `templates/`, contents).
pub const DEFAULT_TEMPLATE_FILES: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/default_templates.rs"));

/// A template set that could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The override directory or a file in it could not be read.
    #[error("cannot read template {}: {reason}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why (not a `source`: the message says it, so a chain would say it twice).
        reason: std::io::Error,
    },
    /// An override resolves outside its directory (a symlink).
    #[error("template {} resolves outside the template directory", path.display())]
    OutsideDir {
        /// The file.
        path: PathBuf,
    },
    /// A template does not compile or fails to render.
    #[error("template {name}: {message}")]
    Tera {
        /// Template name.
        name: String,
        /// tera's message, with its causes.
        message: String,
    },
}

/// A compiled template set.
#[derive(Debug)]
pub struct Templates {
    tera: Tera,
    overridden: Vec<String>,
}

impl Templates {
    /// The embedded templates.
    ///
    /// # Errors
    /// Never for the shipped set (a test compiles it); the type is shared with overrides.
    pub fn builtin() -> Result<Templates, TemplateError> {
        Templates::with_overrides(BTreeMap::new())
    }

    /// The embedded templates with `overrides` (file name → text) replacing some of them.
    /// Names that are not embedded template names are ignored.
    ///
    /// # Errors
    /// A template that does not compile.
    pub fn with_overrides(overrides: BTreeMap<String, String>) -> Result<Templates, TemplateError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html.tera", ".plist.tera", ".xml.tera"]);
        tera.register_filter("md", md_filter);
        tera.register_filter("code", code_filter);
        // tera's built-in functions that read the environment, the clock or a random source:
        // a document must be reproducible from its inputs and must not leak a secret of the
        // machine rendering it, so a template calling one fails to render.
        for name in UNAVAILABLE_FUNCTIONS {
            tera.register_function(name, unavailable(name));
        }
        tera.register_filter("html_code_spans", html_code_spans_filter);
        let mut overridden = Vec::new();
        let files: Vec<(String, String)> = DEFAULT_TEMPLATE_FILES
            .iter()
            .map(|(name, text)| match overrides.get(*name) {
                Some(custom) => {
                    overridden.push((*name).to_string());
                    ((*name).to_string(), custom.clone())
                }
                None => ((*name).to_string(), (*text).to_string()),
            })
            .collect();
        tera.add_raw_templates(files)
            .map_err(|err| TemplateError::Tera {
                name: "templates".to_string(),
                message: chain(&err),
            })?;
        Ok(Templates { tera, overridden })
    }

    /// The embedded templates, with every file of `dir` that has an embedded template's name.
    ///
    /// # Errors
    /// An unreadable directory or file, a file resolving outside `dir`, a template that does
    /// not compile.
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |reason| TemplateError::Io { path, reason }
        };
        let root = dir.canonicalize().map_err(io(dir))?;
        let mut overrides = BTreeMap::new();
        for (name, _) in DEFAULT_TEMPLATE_FILES {
            let candidate = dir.join(name);
            if !candidate.exists() {
                continue;
            }
            let real = candidate.canonicalize().map_err(io(&candidate))?;
            if !real.starts_with(&root) || !real.is_file() {
                return Err(TemplateError::OutsideDir { path: candidate });
            }
            let text = std::fs::read_to_string(&real).map_err(io(&candidate))?;
            overrides.insert((*name).to_string(), text);
        }
        Templates::with_overrides(overrides)
    }

    /// Names of the templates a user directory replaced.
    #[must_use]
    pub fn overridden(&self) -> &[String] {
        &self.overridden
    }

    /// Renders template `name` (e.g. `notice.html.tera`) with `doc` as its context.
    ///
    /// # Errors
    /// A missing template or a failure inside it.
    pub fn render(&self, name: &str, doc: &Document) -> Result<String, TemplateError> {
        let context = Context::from_serialize(doc).map_err(|err| TemplateError::Tera {
            name: name.to_string(),
            message: chain(&err),
        })?;
        self.tera
            .render(name, &context)
            .map_err(|err| TemplateError::Tera {
                name: name.to_string(),
                message: chain(&err),
            })
    }
}

/// tera's error with every cause, on one line.
fn chain(err: &::tera::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Escapes text for a Markdown paragraph or table cell.
#[must_use]
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if super::text::unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// An inline code span holding `s` verbatim, safe in a table cell: a fence longer than any
/// backtick run inside, pipes escaped (GFM strips the backslash inside tables).
#[must_use]
pub fn md_code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    // Escape codes and bidi controls are shown as `\u{..}`, never passed to the viewer.
    let s = super::text::printable(&s).into_owned();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || longest > 0 {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// tera's built-ins that templates may not call (see [`Templates::with_overrides`]).
const UNAVAILABLE_FUNCTIONS: [&str; 3] = ["get_env", "now", "get_random"];

/// A template function that always fails, saying why `name` is not available.
fn unavailable(name: &'static str) -> impl tera::Function {
    move |_: &std::collections::HashMap<String, Value>| -> tera::Result<Value> {
        Err(tera::Error::msg(format!(
            "`{name}()` is not available in idflow templates: documents are reproducible from the scan and the declarations, and never read the environment, the clock or a random source"
        )))
    }
}

fn md_filter(value: &Value, _: &std::collections::HashMap<String, Value>) -> ::tera::Result<Value> {
    Ok(Value::String(md_escape(&as_text(value))))
}

fn code_filter(
    value: &Value,
    _: &std::collections::HashMap<String, Value>,
) -> ::tera::Result<Value> {
    Ok(Value::String(md_code(&as_text(value))))
}

/// HTML for text whose `backtick spans` name code (the notes of a flow's path): escaped, each
/// span a `<code>` element, so HTML never shows Markdown syntax. The result is marked safe by
/// the template (`| html_code_spans | safe`), so it escapes everything itself.
fn html_code_spans_filter(
    value: &Value,
    _: &std::collections::HashMap<String, Value>,
) -> ::tera::Result<Value> {
    Ok(Value::String(html_code_spans(&as_text(value))))
}

fn html_code_spans(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    // Split on backticks: odd pieces were inside a span. An unpaired backtick stays text.
    let pieces: Vec<&str> = text.split('`').collect();
    let paired = pieces.len() % 2 == 1;
    for (i, piece) in pieces.iter().enumerate() {
        let inside = i % 2 == 1 && (paired || i + 1 < pieces.len());
        if inside {
            out.push_str("<code>");
            out.push_str(&::tera::escape_html(piece));
            out.push_str("</code>");
        } else {
            if i % 2 == 1 {
                out.push('`');
            }
            out.push_str(&::tera::escape_html(piece));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15, item 16: escape codes and bidi controls (U+061C, U+202E, U+2066) quoted from
    /// code reach neither Markdown text, code spans nor CSV cells raw.
    #[test]
    fn issue_15_controls_and_bidi_are_shown_not_passed_on() {
        let hostile = "a\u{1b}[2Jb\u{61c}c\u{202e}d\u{2066}e";
        for out in [
            md_escape(hostile),
            md_code(hostile),
            crate::report::tables::safe(hostile),
        ] {
            assert!(
                !out.chars().any(crate::report::text::unsafe_char),
                "{out:?}"
            );
            assert!(
                out.contains("\\u{1b}") && out.contains("\\u{61c}"),
                "{out:?}"
            );
        }
    }

    /// Backtick spans become `<code>`, everything is escaped, an unpaired backtick stays.
    #[test]
    fn html_code_spans_are_escaped_elements() {
        assert_eq!(
            html_code_spans("returned from `read<T>` to x"),
            "returned from <code>read&lt;T&gt;</code> to x"
        );
        assert_eq!(html_code_spans("a ` b"), "a ` b");
        assert_eq!(html_code_spans("<b>"), "&lt;b&gt;");
    }

    /// Pipes and backticks cannot break a Markdown table or a code span.
    #[test]
    fn markdown_escaping() {
        assert_eq!(md_escape("a|b `c`"), "a\\|b \\`c\\`");
        assert_eq!(md_code("x"), "`x`");
        assert_eq!(md_code("a`b|c"), "`` a`b\\|c ``");
    }

    /// Link, image and HTML syntax in text stay text.
    #[test]
    fn markdown_link_and_markup_syntax_is_escaped() {
        assert_eq!(md_escape("[a](b)"), "\\[a\\](b)");
        assert_eq!(md_escape("![x](http://e)"), "!\\[x\\](http://e)");
        assert_eq!(md_escape("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(md_escape("# h\n| t"), "\\# h \\| t");
        assert_eq!(md_escape("*b* _i_"), "\\*b\\* \\_i\\_");
    }
}
