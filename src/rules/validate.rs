//! Rule loading, both steps: [`parse`] deserializes one file (step one, serde) and [`validate`]
//! checks the parsed files together (step two).
//!
//! Step one reports every entry that does not deserialize, not just the first: when a file fails
//! as a whole, each list item is deserialized on its own, at its own lines, so two typos in two
//! entries give two errors. Step two checks ids (kebab-case, unique within a list of a layer),
//! references (categories, kinds), regexes, enumerated values (`effect`, `transport`, `on`) and
//! the shape of each entry (a source has exactly one of `call` and `name`; a `call` has a matcher).
//!
//! serde_yaml gives no positions for values it accepted, so step two finds them in the text: the
//! n-th item of a list, then the key inside it, then the value after the key. A position it
//! cannot find falls back to the entry, then to the list.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::de::DeserializeOwned;

use super::raw::{
    RawCall, RawCategory, RawConstructor, RawGuard, RawKind, RawNetworkCrate, RawPropagator,
    RawRuleFile, RawSanitizer, RawSink, RawSource,
};
use super::{RuleError, RuleFile, SourceText};
use crate::diag::Code;

/// The lists a rule file may have, in documentation order.
pub const LISTS: [&str; 9] = [
    "categories",
    "kinds",
    "constructors",
    "sources",
    "sinks",
    "sanitizers",
    "guards",
    "propagators",
    "network_crates",
];

/// Families of network crates (`rules/network-crates.yaml`).
pub const NETWORK_FAMILIES: [&str; 12] = [
    "http",
    "websocket",
    "mqtt",
    "grpc",
    "mail",
    "quic",
    "telemetry",
    "push",
    "socket",
    "messaging",
    "rpc",
    "p2p",
];

static CRATE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[A-Za-z0-9][A-Za-z0-9_-]*$").expect("valid regex"));

/// Sanitizer effects.
pub const SANITIZER_EFFECTS: [&str; 2] = ["encrypt", "hash"];

/// Propagator effects.
pub const PROPAGATOR_EFFECTS: [&str; 10] = [
    "clean",
    "receiver",
    "into-receiver",
    "identity",
    "closure",
    "reset",
    "store",
    "load",
    "environment",
    "accessor",
];

/// Transports a kind or constructor may fix.
pub const TRANSPORTS: [&str; 2] = ["tls", "plaintext"];

/// Where a name source applies.
pub const NAME_SITES: [&str; 5] = ["function", "local", "param", "field", "wire"];

/// Where a `name` source's value may be said not to come from (`not_from`).
pub const NOT_FROM: [&str; 1] = ["environment"];

static KEBAB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z0-9]+(-[a-z0-9]+)*$").expect("valid regex"));
static SNAKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z][a-z0-9]*(_[a-z0-9]+)*$").expect("valid regex"));
static IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[A-Za-z_][A-Za-z0-9_]*$").expect("valid regex"));
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new("^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$").expect("valid regex")
});
static SERDE_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r" at line \d+ column \d+$").expect("valid regex"));
static BACKTICKED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("`([^`]*)`").expect("valid regex"));

// ----- step one ------------------------------------------------------------------------------

/// Step one: deserializes one rule file.
///
/// # Errors
/// Every entry that does not deserialize (unknown key, missing key, wrong type), each at its
/// line and column; or the one syntax error of a file that is not YAML.
pub fn parse(path: &Path, text: &SourceText) -> Result<RawRuleFile, Vec<RuleError>> {
    let whole = match serde_yaml::from_str::<Option<RawRuleFile>>(&text.0) {
        Ok(rules) => return Ok(rules.unwrap_or_default()),
        Err(err) => err,
    };
    let mut errors = Vec::new();
    if let Ok(value) = serde_yaml::from_str::<serde_yaml::Value>(&text.0) {
        let lines: Vec<&str> = text.0.lines().collect();
        if let serde_yaml::Value::Mapping(map) = &value {
            for key in map.keys() {
                let name = key.as_str().unwrap_or_default();
                if !LISTS.contains(&name) {
                    let line = lines
                        .iter()
                        .position(|l| top_level_key(l) == Some(name))
                        .map_or(0, |i| i + 1);
                    errors.push(RuleError {
                        file: path.to_path_buf(),
                        line,
                        column: usize::from(line > 0),
                        len: name.len(),
                        code: Code::RuleUnknownKey,
                        message: format!("unknown list `{name}`"),
                        help: Some(suggest(name, &LISTS).map_or_else(
                            || format!("a rule file has the lists {}", LISTS.join(", ")),
                            |s| format!("did you mean `{s}`?"),
                        )),
                        text: Some(text.clone()),
                    });
                }
            }
        }
        item_errors::<RawCategory>(path, text, &lines, "categories", &mut errors);
        item_errors::<RawKind>(path, text, &lines, "kinds", &mut errors);
        item_errors::<RawConstructor>(path, text, &lines, "constructors", &mut errors);
        item_errors::<RawSource>(path, text, &lines, "sources", &mut errors);
        item_errors::<RawSink>(path, text, &lines, "sinks", &mut errors);
        item_errors::<RawSanitizer>(path, text, &lines, "sanitizers", &mut errors);
        item_errors::<RawGuard>(path, text, &lines, "guards", &mut errors);
        item_errors::<RawPropagator>(path, text, &lines, "propagators", &mut errors);
        item_errors::<RawNetworkCrate>(path, text, &lines, "network_crates", &mut errors);
    }
    if errors.is_empty() {
        errors.push(serde_error(path, text, &whole, ""));
    }
    Err(errors)
}

/// The name of a top-level key on `line` (`sinks:` → `sinks`).
fn top_level_key(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t', '#', '-']) {
        return None;
    }
    let (key, _) = line.split_once(':')?;
    let key = key.trim().trim_matches(['"', '\'']);
    (!key.is_empty()).then_some(key)
}

/// Deserializes each item of `list` on its own, at its own lines and columns.
fn item_errors<T: DeserializeOwned>(
    path: &Path,
    text: &SourceText,
    lines: &[&str],
    list: &str,
    errors: &mut Vec<RuleError>,
) {
    for (n, item) in list_items(lines, list).iter().enumerate() {
        // Blank lines before the item and a space for its dash keep serde_yaml's line and
        // column numbers those of the file.
        let mut snippet = "\n".repeat(item.start);
        for (i, line) in lines.iter().enumerate().take(item.end).skip(item.start) {
            if i == item.start {
                snippet.push_str(&line[..item.indent]);
                snippet.push(' ');
                snippet.push_str(&line[item.indent + 1..]);
            } else {
                snippet.push_str(line);
            }
            snippet.push('\n');
        }
        if let Err(err) = serde_yaml::from_str::<T>(&snippet) {
            errors.push(serde_error(path, text, &err, &format!("{list}[{n}]")));
        }
    }
}

/// A serde_yaml error as a [`RuleError`], classified by what serde says.
fn serde_error(path: &Path, text: &SourceText, err: &serde_yaml::Error, at: &str) -> RuleError {
    let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
    let raw = err.to_string();
    let raw = SERDE_AT.replace(&raw, "").into_owned();
    let message = if at.is_empty() || raw.starts_with(at) {
        raw.clone()
    } else if raw.contains(": ")
        && !raw.starts_with("unknown")
        && !raw.starts_with("missing")
        && !raw.starts_with("invalid")
    {
        format!("{at}.{raw}")
    } else {
        format!("{at}: {raw}")
    };
    let (code, len, help) = if raw.contains("unknown field") {
        let names: Vec<String> = BACKTICKED
            .captures_iter(&raw)
            .map(|c| c[1].to_string())
            .collect();
        let (bad, expected) = names.split_first().map_or(("", &[][..]), |(b, e)| (b, e));
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        let help = suggest(bad, &expected).map(|s| format!("did you mean `{s}`?"));
        (Code::RuleUnknownKey, bad.len(), help)
    } else if raw.contains("missing field") {
        (Code::RuleMissingKey, 1, None)
    } else if raw.contains("invalid type")
        || raw.contains("invalid value")
        || raw.contains("invalid length")
        || raw.contains("unknown variant")
    {
        (Code::RuleBadValue, 1, None)
    } else {
        (Code::RuleSyntax, 1, None)
    };
    RuleError {
        file: path.to_path_buf(),
        line,
        column,
        len,
        code,
        message,
        help,
        text: Some(text.clone()),
    }
}

/// The candidate closest to `word` when it is a likely typo of it.
fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

// ----- finding entries, keys and values in the text -------------------------------------------

/// A list item's lines `[start, end)` (0-based) and the byte column of its dash.
#[derive(Debug, Clone, Copy)]
struct Item {
    start: usize,
    end: usize,
    indent: usize,
}

/// The block-style items of the top-level list `list`.
fn list_items(lines: &[&str], list: &str) -> Vec<Item> {
    let Some(key) = lines.iter().position(|l| top_level_key(l) == Some(list)) else {
        return Vec::new();
    };
    let mut items: Vec<Item> = Vec::new();
    let mut dash = None;
    for (i, line) in lines.iter().enumerate().skip(key + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let is_dash = trimmed == "-" || trimmed.starts_with("- ");
        match dash {
            None if is_dash => {
                dash = Some(indent);
                items.push(Item {
                    start: i,
                    end: i + 1,
                    indent,
                });
            }
            None => break,
            Some(d) if indent == d && is_dash => items.push(Item {
                start: i,
                end: i + 1,
                indent,
            }),
            Some(d) if indent > d => {
                if let Some(last) = items.last_mut() {
                    last.end = i + 1;
                }
            }
            Some(_) => break,
        }
    }
    items
}

/// Finds entries, keys and values of one file.
struct Locator<'a> {
    file: &'a RuleFile,
    lines: Vec<&'a str>,
    items: HashMap<&'static str, Vec<Item>>,
}

/// Where to point in an entry: the entry itself, one of its keys, or a value after a key.
#[derive(Debug, Clone, Copy)]
struct At<'s> {
    list: &'static str,
    index: usize,
    key: Option<&'s str>,
    value: Option<&'s str>,
}

impl<'a> Locator<'a> {
    fn new(file: &'a RuleFile) -> Locator<'a> {
        let lines: Vec<&str> = file.text.0.lines().collect();
        let items = LISTS
            .iter()
            .map(|list| (*list, list_items(&lines, list)))
            .collect();
        Locator { file, lines, items }
    }

    /// Line index and byte column of `key:` inside `item`, skipping block scalar contents.
    fn key(&self, item: Item, key: &str) -> Option<(usize, usize)> {
        let mut scalar: Option<usize> = None;
        for i in item.start..item.end {
            let line = self.lines[i];
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if trimmed.is_empty() {
                continue;
            }
            if let Some(s) = scalar {
                if indent > s {
                    continue;
                }
                scalar = None;
            }
            let mut col = indent;
            let mut rest = trimmed;
            while let Some(r) = rest.strip_prefix("- ") {
                let r2 = r.trim_start();
                col += rest.len() - r2.len();
                rest = r2;
            }
            if let Some(after) = rest.strip_prefix(key) {
                if after.trim_start().starts_with(':') {
                    return Some((i, col));
                }
            }
            // Flow style: `{ method: [..], receiver: [..] }`.
            for (pos, _) in line.match_indices(key) {
                let before = line[..pos].trim_end();
                let after = line[pos + key.len()..].trim_start();
                if (before.ends_with('{') || before.ends_with(',')) && after.starts_with(':') {
                    return Some((i, pos));
                }
            }
            let tail = rest.trim_end();
            if tail.ends_with(": |")
                || tail.ends_with(": >")
                || tail.ends_with(": |-")
                || tail.ends_with(": >-")
                || tail.ends_with(": |+")
                || tail.ends_with(": >+")
            {
                scalar = Some(indent);
            }
        }
        None
    }

    /// Line index and byte column of the token `value` at or after `from` inside `item`.
    fn value(&self, item: Item, from: (usize, usize), value: &str) -> Option<(usize, usize)> {
        if value.is_empty() {
            return None;
        }
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        for i in from.0..item.end {
            let line = self.lines[i];
            let start = if i == from.0 { from.1 } else { 0 };
            for (pos, _) in line[start..].match_indices(value) {
                let pos = start + pos;
                let before_ok = !line[..pos].chars().next_back().is_some_and(is_word)
                    || !value.starts_with(is_word);
                let after_ok = !line[pos + value.len()..]
                    .chars()
                    .next()
                    .is_some_and(is_word)
                    || !value.ends_with(is_word);
                if before_ok && after_ok {
                    return Some((i, pos));
                }
            }
        }
        None
    }

    /// (line, column, len) of `at`, 1-based, falling back from value to key to entry to list.
    fn locate(&self, at: At<'_>) -> (usize, usize, usize) {
        let point = |(i, col): (usize, usize), len: usize| {
            let line = self.lines[i];
            let col = line[..col.min(line.len())].chars().count() + 1;
            (i + 1, col, len)
        };
        let Some(item) = self
            .items
            .get(at.list)
            .and_then(|v| v.get(at.index))
            .copied()
        else {
            return self
                .lines
                .iter()
                .position(|l| top_level_key(l) == Some(at.list))
                .map_or((1, 1, 0), |i| (i + 1, 1, at.list.len()));
        };
        let entry = (item.start, item.indent + 2);
        let Some(key) = at.key else {
            return point(entry, 1);
        };
        let Some(key_pos) = self.key(item, key) else {
            return point(entry, 1);
        };
        if let Some(value) = at.value {
            let after_key = (key_pos.0, key_pos.1 + key.len());
            if let Some(pos) = self.value(item, after_key, value) {
                return point(pos, value.len());
            }
        }
        point(key_pos, key.len())
    }

    fn error(&self, at: At<'_>, code: Code, message: String, help: Option<String>) -> RuleError {
        let (line, column, len) = self.locate(at);
        RuleError {
            file: self.file.path.clone(),
            line,
            column,
            len,
            code,
            message,
            help,
            text: Some(self.file.text.clone()),
        }
    }
}

// ----- step two ------------------------------------------------------------------------------

/// Step two: checks the parsed files together and appends every problem to `errors`.
pub fn validate(files: &[RuleFile], errors: &mut Vec<RuleError>) {
    let locators: Vec<Locator<'_>> = files.iter().map(Locator::new).collect();
    let categories: HashSet<&str> = files
        .iter()
        .flat_map(|f| f.rules.categories.iter().map(|c| c.id.as_str()))
        .collect();
    let kinds: HashSet<&str> = files
        .iter()
        .flat_map(|f| f.rules.kinds.iter().map(|k| k.id.as_str()))
        .collect();
    let mut checker = Checker {
        locators: &locators,
        categories,
        kinds,
        first: HashMap::new(),
        errors,
    };
    for (f, file) in files.iter().enumerate() {
        checker.file(f, &file.rules, file.layer);
    }
}

/// The state of step two.
struct Checker<'a, 'e> {
    locators: &'a [Locator<'a>],
    categories: HashSet<&'a str>,
    kinds: HashSet<&'a str>,
    /// (layer, list, id) → (file, index) of its first definition.
    first: HashMap<(usize, &'static str, &'a str), (usize, usize)>,
    errors: &'e mut Vec<RuleError>,
}

/// One entry being checked.
#[derive(Clone, Copy)]
struct Entry<'s> {
    file: usize,
    list: &'static str,
    index: usize,
    id: &'s str,
}

impl<'s> Entry<'s> {
    fn at<'k>(self, key: Option<&'k str>, value: Option<&'k str>) -> At<'k> {
        At {
            list: self.list,
            index: self.index,
            key,
            value,
        }
    }

    /// `sinks entry `reqwest-body``, the prefix of every message about the entry.
    fn name(self) -> String {
        format!("{} entry `{}`", self.list, self.id)
    }
}

impl<'a> Checker<'a, '_> {
    fn push(&mut self, e: Entry<'_>, key: &str, value: Option<&str>, code: Code, message: &str) {
        self.push_help(e, key, value, code, message, None);
    }

    fn push_help(
        &mut self,
        e: Entry<'_>,
        key: &str,
        value: Option<&str>,
        code: Code,
        message: &str,
        help: Option<String>,
    ) {
        let key = (!key.is_empty()).then_some(key);
        let error = self.locators[e.file].error(
            e.at(key, value),
            code,
            format!("{}: {message}", e.name()),
            help,
        );
        self.errors.push(error);
    }

    fn file(&mut self, f: usize, r: &'a RawRuleFile, layer: usize) {
        for (i, c) in r.categories.iter().enumerate() {
            let e = self.entry(f, "categories", i, &c.id, layer);
            if !SNAKE.is_match(&c.id) {
                self.push(
                    e,
                    "id",
                    Some(&c.id),
                    Code::RuleBadId,
                    "a category id is snake_case (`phone_number`)",
                );
            }
            for (key, value) in [
                ("name", &c.name),
                ("gdpr", &c.gdpr),
                ("fideslang", &c.fideslang),
                ("play_data_safety", &c.play_data_safety),
                ("apple_privacy", &c.apple_privacy),
            ] {
                if value.trim().is_empty() {
                    self.push(
                        e,
                        key,
                        None,
                        Code::RuleBadValue,
                        &format!("`{key}` is empty"),
                    );
                }
            }
        }
        for (i, k) in r.kinds.iter().enumerate() {
            let e = self.entry(f, "kinds", i, &k.id, layer);
            self.kebab(e);
            self.what(e, &k.what);
            self.transport(e, k.transport.as_deref());
            for t in &k.types {
                self.path(e, "types", t);
            }
        }
        for (i, c) in r.constructors.iter().enumerate() {
            let e = self.entry(f, "constructors", i, &c.id, layer);
            self.kebab(e);
            self.what(e, &c.what);
            self.call(e, &c.call);
            self.kind_ref(e, "kind", c.kind.as_deref());
            self.transport(e, c.transport.as_deref());
            if c.kind.is_none()
                && c.transport.is_none()
                && c.endpoint.is_none()
                && c.inherit.is_none()
            {
                self.push(
                    e,
                    "",
                    None,
                    Code::RuleMissingKey,
                    "a constructor needs at least one of `kind`, `transport`, `endpoint`, `inherit`",
                );
            }
            if c.mutates_receiver && c.call.method.is_empty() {
                self.push(
                    e,
                    "mutates_receiver",
                    None,
                    Code::RuleBadValue,
                    "`mutates_receiver` needs a `method` to have a receiver",
                );
            }
            if c.element.is_some() && c.kind.is_none() {
                self.push(
                    e,
                    "element",
                    None,
                    Code::RuleMissingKey,
                    "`element` says which tuple element has the `kind`, but there is no `kind`",
                );
            }
        }
        for (i, s) in r.sources.iter().enumerate() {
            let e = self.entry(f, "sources", i, &s.id, layer);
            self.kebab(e);
            self.what(e, &s.what);
            if !self.categories.contains(s.category.as_str()) {
                self.push_help(
                    e,
                    "category",
                    Some(&s.category),
                    Code::RuleBadReference,
                    &format!("unknown category `{}`", s.category),
                    self.did_you_mean(&s.category, &self.categories.clone()),
                );
            }
            let ways = usize::from(s.call.is_some())
                + usize::from(s.name.is_some())
                + usize::from(s.type_.is_some());
            match ways {
                0 => self.push(
                    e,
                    "",
                    None,
                    Code::RuleMissingKey,
                    "a source needs `call` (an API), `name` (an identifier pattern) or `type`",
                ),
                1 => {}
                _ => self.push(
                    e,
                    if s.name.is_some() { "name" } else { "type" },
                    None,
                    Code::RuleConflictingKeys,
                    "a source has one of `call`, `name` and `type`",
                ),
            }
            if s.field.is_some() && s.type_.is_none() {
                self.push(
                    e,
                    "field",
                    None,
                    Code::RuleBadValue,
                    "`field` names a field of the source's `type`, and there is no `type`",
                );
            }
            for n in &s.not_from {
                self.one_of(e, "not_from", n, &NOT_FROM);
            }
            if !s.not_from.is_empty() && s.name.is_none() {
                self.push(
                    e,
                    "not_from",
                    None,
                    Code::RuleBadValue,
                    "`not_from` applies to `name` sources only",
                );
            }
            if let Some(call) = &s.call {
                self.call(e, call);
            }
            if let Some(name) = &s.name {
                self.regex(e, "name", name);
            }
            if let Some(ex) = &s.exclude {
                self.regex(e, "exclude", ex);
                if s.name.is_none() {
                    self.push(
                        e,
                        "exclude",
                        None,
                        Code::RuleBadValue,
                        "`exclude` applies to `name` sources only",
                    );
                }
            }
            if !s.on.is_empty() && s.name.is_none() {
                self.push(
                    e,
                    "on",
                    None,
                    Code::RuleBadValue,
                    "`on` applies to `name` sources only",
                );
            }
            for site in &s.on {
                if !NAME_SITES.contains(&site.as_str()) {
                    self.push_help(
                        e,
                        "on",
                        Some(site),
                        Code::RuleBadValue,
                        &format!("unknown name site `{site}`"),
                        Some(format!("`on` takes {}", NAME_SITES.join(", "))),
                    );
                }
            }
        }
        for (i, s) in r.sinks.iter().enumerate() {
            let e = self.entry(f, "sinks", i, &s.id, layer);
            self.kebab(e);
            self.what(e, &s.what);
            self.call(e, &s.call);
            self.kind_ref(e, "returns", s.returns.as_deref());
            if s.receiver_data && s.call.method.is_empty() {
                self.push(
                    e,
                    "receiver_data",
                    None,
                    Code::RuleBadValue,
                    "`receiver_data` needs a `method` to have a receiver",
                );
            }
        }
        for (i, s) in r.sanitizers.iter().enumerate() {
            let e = self.entry(f, "sanitizers", i, &s.id, layer);
            self.kebab(e);
            self.what(e, &s.what);
            self.call(e, &s.call);
            self.one_of(e, "effect", &s.effect, &SANITIZER_EFFECTS);
            if s.into_receiver && s.call.method.is_empty() {
                self.push(
                    e,
                    "into_receiver",
                    None,
                    Code::RuleBadValue,
                    "`into_receiver` needs a `method` to have a receiver",
                );
            }
        }
        for (i, g) in r.guards.iter().enumerate() {
            let e = self.entry(f, "guards", i, &g.id, layer);
            self.kebab(e);
            self.what(e, &g.what);
            self.regex(e, "name", &g.name);
            if let Some(ex) = &g.exclude {
                self.regex(e, "exclude", ex);
            }
        }
        for (i, p) in r.propagators.iter().enumerate() {
            let e = self.entry(f, "propagators", i, &p.id, layer);
            self.kebab(e);
            self.what(e, &p.what);
            self.call(e, &p.call);
            self.one_of(e, "effect", &p.effect, &PROPAGATOR_EFFECTS);
        }
        for (i, n) in r.network_crates.iter().enumerate() {
            let e = self.entry(f, "network_crates", i, &n.name, layer);
            if !CRATE_NAME.is_match(&n.name) {
                self.push(
                    e,
                    "crate",
                    Some(&n.name),
                    Code::RuleBadId,
                    "a crate name as crates.io spells it (`reqwest-websocket`)",
                );
            }
            self.one_of(e, "family", &n.family, &NETWORK_FAMILIES);
            if n.what.contains('\n') {
                self.push(e, "what", None, Code::RuleBadValue, "`what` is one line");
            }
        }
    }

    /// Registers an entry, reporting it when its id is already defined in the same layer.
    fn entry(
        &mut self,
        file: usize,
        list: &'static str,
        index: usize,
        id: &'a str,
        layer: usize,
    ) -> Entry<'a> {
        let e = Entry {
            file,
            list,
            index,
            id,
        };
        if let Some(&(f0, i0)) = self.first.get(&(layer, list, id)) {
            let first = &self.locators[f0];
            let (line, column, _) = first.locate(At {
                list,
                index: i0,
                key: Some("id"),
                value: Some(id),
            });
            self.push_help(
                e,
                "id",
                Some(id),
                Code::RuleDuplicateId,
                "this id is already defined",
                Some(format!(
                    "first defined at {}:{line}:{column}; to replace a default entry, put the new one in a `--rules` directory",
                    first.file.path.display()
                )),
            );
        } else {
            self.first.insert((layer, list, id), (file, index));
        }
        e
    }

    fn kebab(&mut self, e: Entry<'_>) {
        if !KEBAB.is_match(e.id) {
            self.push_help(
                e,
                "id",
                Some(e.id),
                Code::RuleBadId,
                "an id is kebab-case and names the pattern",
                Some(format!(
                    "for example `{}`",
                    e.id.to_ascii_lowercase()
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
                        .split('-')
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join("-")
                )),
            );
        }
    }

    fn what(&mut self, e: Entry<'_>, what: &str) {
        if what.trim().is_empty() {
            self.push(e, "what", None, Code::RuleBadValue, "`what` is empty");
        } else if what.trim().contains('\n') {
            self.push(
                e,
                "what",
                None,
                Code::RuleBadValue,
                "`what` is one line (longer text goes into `why`)",
            );
        }
    }

    fn transport(&mut self, e: Entry<'_>, transport: Option<&str>) {
        if let Some(t) = transport {
            self.one_of(e, "transport", t, &TRANSPORTS);
        }
    }

    fn one_of(&mut self, e: Entry<'_>, key: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            let help = suggest(value, allowed).map_or_else(
                || format!("`{key}` is one of {}", allowed.join(", ")),
                |s| {
                    format!(
                        "did you mean `{s}`? `{key}` is one of {}",
                        allowed.join(", ")
                    )
                },
            );
            self.push_help(
                e,
                key,
                Some(value),
                Code::RuleBadValue,
                &format!("unknown {key} `{value}`"),
                Some(help),
            );
        }
    }

    fn kind_ref(&mut self, e: Entry<'_>, key: &str, kind: Option<&str>) {
        if let Some(k) = kind {
            if !self.kinds.contains(k) {
                let help = self.did_you_mean(k, &self.kinds.clone());
                self.push_help(
                    e,
                    key,
                    Some(k),
                    Code::RuleBadReference,
                    &format!("unknown kind `{k}`"),
                    help,
                );
            }
        }
    }

    fn did_you_mean(&self, word: &str, known: &HashSet<&str>) -> Option<String> {
        let mut known: Vec<&str> = known.iter().copied().collect();
        known.sort_unstable();
        suggest(word, &known).map(|s| format!("did you mean `{s}`?"))
    }

    fn regex(&mut self, e: Entry<'_>, key: &str, pattern: &str) {
        if let Err(err) = Regex::new(pattern) {
            let detail = match &err {
                regex::Error::Syntax(s) => s
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("error:"))
                    .map_or_else(
                        || s.clone(),
                        |l| l.trim_start_matches("error: ").to_string(),
                    ),
                other => other.to_string(),
            };
            self.push_help(
                e,
                key,
                Some(pattern),
                Code::RuleBadRegex,
                &format!("invalid regex: {detail}"),
                Some(
                    "patterns use the `regex` crate syntax (no look-around, no backreferences)"
                        .into(),
                ),
            );
        }
    }

    fn path(&mut self, e: Entry<'_>, key: &str, path: &str) {
        if !PATH.is_match(path) {
            self.push_help(
                e,
                key,
                Some(path),
                Code::RuleBadValue,
                &format!("`{path}` is not a Rust path"),
                Some(
                    "write `::`-separated segments without generics: `rustls::StreamOwned::new`"
                        .into(),
                ),
            );
        }
    }

    fn call(&mut self, e: Entry<'_>, call: &RawCall) {
        if call.function.is_empty()
            && call.method.is_empty()
            && call.path.is_empty()
            && call.macro_.is_empty()
        {
            self.push(
                e,
                "call",
                None,
                Code::RuleMissingKey,
                "a `call` needs at least one of `function`, `method`, `path`, `macro`",
            );
        }
        for f in &call.function {
            self.path(e, "function", f);
        }
        for p in &call.path {
            self.path(e, "path", p);
        }
        for (key, names) in [("method", &call.method), ("macro", &call.macro_)] {
            for name in names {
                if !IDENT.is_match(name) {
                    let help = if name.ends_with('!') {
                        format!(
                            "write the macro name without `!`: `{}`",
                            name.trim_end_matches('!')
                        )
                    } else {
                        format!("a {key} is a bare name such as `write_all`")
                    };
                    self.push_help(
                        e,
                        key,
                        Some(name),
                        Code::RuleBadValue,
                        &format!("`{name}` is not a {key} name"),
                        Some(help),
                    );
                }
            }
        }
        if !call.receiver.is_empty() && call.method.is_empty() && call.macro_.is_empty() {
            self.push(
                e,
                "receiver",
                None,
                Code::RuleBadValue,
                "`receiver` applies to `method` and `macro` calls only",
            );
        }
        for r in &call.receiver {
            if !self.kinds.contains(r.as_str()) {
                let help = self.did_you_mean(r, &self.kinds.clone());
                self.push_help(
                    e,
                    "receiver",
                    Some(r),
                    Code::RuleBadReference,
                    &format!("unknown receiver kind `{r}`"),
                    help,
                );
            }
        }
        if let Some(s) = &call.string_arg {
            self.regex(e, "string_arg", s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items of a block list are found with their lines, and the list ends at the next key.
    #[test]
    fn list_items_by_indentation() {
        let text = "sinks:\n  - id: a\n    what: x\n\n  - id: b\n    example: |\n      - not an item\nguards: []\n";
        let lines: Vec<&str> = text.lines().collect();
        let items = list_items(&lines, "sinks");
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].start, items[0].end), (1, 3));
        assert_eq!((items[1].start, items[1].end), (4, 7));
    }

    /// Typos get a suggestion; unrelated words do not.
    #[test]
    fn suggestions() {
        assert_eq!(suggest("methd", &["method", "macro"]), Some("method"));
        assert_eq!(suggest("zzz", &["method", "macro"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
