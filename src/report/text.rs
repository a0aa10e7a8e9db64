//! Text output for people: one block per finding, the skipped files, then a summary line.
//!
//! ```text
//! imei → reqwest-body  plaintext, unencrypted, no consent → api.example.com
//!   source  src/device.rs:11   let imei: String = env.get_string(...)?.into();
//!   sink    src/presence.rs:28 .json(&query)
//!   path    src/device.rs:11 → src/main.rs:38 (call who_is_online) → src/presence.rs:28
//!
//! 1 finding (1 plaintext, 1 without consent) in 12 files analysed, 0 skipped, 40 functions
//! ```
//!
//! Colour (ANSI) only when the caller asks for it: the renderer never looks at the terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{plural, protection};
use crate::findings::{Finding, Location, ScanResult, Skipped, Transport};

/// Styles of the text output; each is a no-op when colour is off.
struct Palette {
    color: bool,
}

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const BAD: Style = AnsiColor::Red.on_default().bold();
const GOOD: Style = AnsiColor::Green.on_default();
const MEH: Style = AnsiColor::Yellow.on_default();
const RULE: Style = AnsiColor::Cyan.on_default();

impl Palette {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// Renders every finding, the skipped files and the summary line; ends with a newline.
#[must_use]
pub fn render(result: &ScanResult, color: bool) -> String {
    let p = Palette { color };
    let mut out = String::new();
    for finding in &result.findings {
        block(&mut out, &p, finding);
        out.push('\n');
    }
    for skipped in &result.skipped {
        let _ = writeln!(out, "{} {}", p.paint(MEH, "skipped"), skipped_line(skipped));
    }
    if !result.skipped.is_empty() {
        out.push('\n');
    }
    let blind = blind_spot_lines(result);
    for (label, line) in &blind {
        let _ = writeln!(out, "{} {}", p.paint(MEH, label), line);
    }
    if !blind.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", p.paint(BOLD, &summary(result)));
    out
}

/// What the analysis could not see, as (label, text) lines: each unmodelled network
/// dependency (`blind spot`), each unresolved call (`unresolved`). Skipped files have their
/// own lines.
#[must_use]
pub fn blind_spot_lines(result: &ScanResult) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for d in result.unmodelled() {
        out.push((
            "blind spot",
            format!(
                "network dependency {} ({}, in {}) is not modelled: data handed to it is not seen",
                printable(&d.name),
                d.family,
                printable(&d.declared_in.join(", "))
            ),
        ));
    }
    for u in &result.unresolved {
        out.push((
            "unresolved",
            format!(
                "{} reaches {} at {}:{} ({})",
                u.category,
                printable(&u.call),
                printable(&u.file),
                u.line,
                printable(&u.reason)
            ),
        ));
    }
    out
}

/// One finding's block: header, source, sink and path lines.
fn block(out: &mut String, p: &Palette, f: &Finding) {
    let arrow = p.paint(DIM, "→");
    let transport = match f.transport {
        Transport::Tls => p.paint(GOOD, "tls"),
        Transport::Plaintext => p.paint(BAD, "plaintext"),
        Transport::Unknown => p.paint(MEH, "unknown transport"),
    };
    let protection = match protection(f) {
        "encrypted" => p.paint(GOOD, "encrypted"),
        "pseudonymized" => p.paint(MEH, "pseudonymized"),
        other => p.paint(BAD, other),
    };
    let consent = if f.consent {
        p.paint(GOOD, "consent")
    } else {
        p.paint(BAD, "no consent")
    };
    let recipient = match &f.recipient {
        Some(host) => p.paint(BOLD, &printable(host)),
        None => p.paint(MEH, "unknown recipient"),
    };
    let _ = writeln!(
        out,
        "{} {arrow} {}  {transport}, {protection}, {consent} {arrow} {recipient}{}",
        p.paint(BOLD, &f.category),
        p.paint(RULE, &f.sink_rule),
        if f.shipping {
            String::new()
        } else {
            format!("  {}", p.paint(DIM, "[non-shipping]"))
        },
    );

    let source_at = short_location(&f.source);
    let sink_at = short_location(&f.sink);
    let width = source_at.chars().count().max(sink_at.chars().count());
    for (label, at, loc) in [
        ("source", &source_at, &f.source),
        ("sink  ", &sink_at, &f.sink),
    ] {
        let _ = writeln!(
            out,
            "  {}  {at:<width$} {}",
            p.paint(DIM, label),
            printable(&loc.snippet)
        );
    }
    if !f.path.is_empty() {
        let last = f.path.len() - 1;
        let steps: Vec<String> = f
            .path
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let at = short_location(&step.location);
                // The first and last notes only repeat the source and sink lines above.
                if i == 0 || i == last || step.note.is_empty() {
                    at
                } else {
                    format!("{at} ({})", printable(&step.note))
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "  {}    {}",
            p.paint(DIM, "path"),
            steps.join(&format!(" {arrow} "))
        );
    }
}

/// `file:line`.
fn short_location(loc: &Location) -> String {
    format!("{}:{}", printable(&loc.file), loc.line)
}

/// `s` with every character a terminal (or a CI log viewer) would act on instead of showing
/// written as `\u{..}`: C0 and C1 control characters (ANSI escape sequences start with one),
/// DEL, and the bidirectional overrides that make code read differently from what it is.
/// Text quoted from scanned code or file names goes through this before it reaches a terminal.
#[must_use]
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether a terminal, a log viewer or a document viewer would act on `c` rather than show it:
/// C0 and C1 controls and DEL, every bidirectional formatting character (the marks U+200E,
/// U+200F and U+061C, the embeddings and overrides U+202A..U+202E, the isolates
/// U+2066..U+2069) and the line and paragraph separators U+2028 and U+2029.
#[must_use]
pub fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{2028}' | '\u{2029}'
        )
}

/// A skipped file as `file[:line[:col]]: reason: message`, for the text report and stderr.
#[must_use]
pub fn skipped_line(skipped: &Skipped) -> String {
    let mut at = printable(&skipped.file).into_owned();
    if let Some(line) = skipped.line {
        let _ = write!(at, ":{line}");
        if let Some(column) = skipped.column {
            let _ = write!(at, ":{column}");
        }
    }
    if skipped.message.is_empty() {
        format!("{at}: {}", skipped.reason.code())
    } else {
        format!(
            "{at}: {}: {}",
            skipped.reason.code(),
            printable(&skipped.message)
        )
    }
}

/// `N findings (X plaintext, Y without consent) in F files analysed, S skipped, K functions`,
/// then `; analysis incomplete: ...` when something was not seen.
#[must_use]
pub fn summary(result: &ScanResult) -> String {
    let plaintext = result
        .findings
        .iter()
        .filter(|f| f.transport == Transport::Plaintext)
        .count();
    let unguarded = result.findings.iter().filter(|f| !f.consent).count();
    let mut line = format!(
        "{} ({plaintext} plaintext, {unguarded} without consent) in {} analysed, {} skipped, {}",
        plural(result.findings.len(), "finding"),
        plural(result.stats.files_analyzed, "file"),
        result.files_skipped(),
        plural(result.stats.functions, "function"),
    );
    let left_out = result.stats.non_shipping_left_out;
    if left_out > 0 {
        let _ = write!(
            line,
            ", {} in non-shipping code left out",
            plural(left_out, "finding")
        );
    }
    if let Some(incomplete) = result.incomplete_summary() {
        let _ = write!(line, "; {}", printable(&incomplete));
    }
    line
}
