//! The rule pack indexed for the analysis: every call-site question is one hash lookup by method,
//! function, path or macro name, then a check of the few candidates.

use std::collections::HashMap;

use regex::Regex;

use crate::ir::Name;

use super::raw::{RawCall, RawRuleFile};
use crate::findings::Transport;

/// Suffixes that say how an identifier is represented, not what it is.
const REPRESENTATION_SUFFIXES: &[&str] = &[
    "_str",
    "_string",
    "_text",
    "_txt",
    "_value",
    "_val",
    "_raw",
    "_bytes",
    "_hex",
    "_e164",
    "_number",
    "_num",
    "_trimmed",
    "_clean",
    "_normalized",
    "_normalised",
    "_formatted",
    "_upper",
    "_lower",
    "_param",
    "_field",
    "_header",
];

/// Index of a kind in [`RuleIndex::kinds`].
pub type KindId = u16;

/// A compiled `call` matcher.
#[derive(Debug, Clone)]
pub struct CallMatcher {
    /// Function paths as segments (suffix-matched).
    pub functions: Vec<Vec<String>>,
    /// Receiver kinds required (empty: any).
    pub receivers: Vec<KindId>,
    /// Regex one string argument must match.
    pub string_arg: Option<Regex>,
}

/// What a matched rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleRef {
    /// `sources[i]`.
    Source(usize),
    /// `sinks[i]`.
    Sink(usize),
    /// `sanitizers[i]`.
    Sanitizer(usize),
    /// `constructors[i]`.
    Constructor(usize),
    /// `propagators[i]`.
    Propagator(usize),
}

/// Effect of a propagator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// The result carries nothing.
    Clean,
    /// The result carries the receiver only.
    Receiver,
    /// The arguments flow into the receiver.
    IntoReceiver,
    /// The result is the first argument, kind included.
    Identity,
    /// The result is what the closure argument returns (`map`).
    Closure,
    /// The receiver is emptied (`clear`): a strong update that kills its data.
    Reset,
    /// The arguments go into the channel the receiver is a half of (`tx.send(x)`).
    Store,
    /// The result is what was stored in the channel the receiver is a half of (`rx.recv()`).
    Load,
    /// The result is configuration read from the process environment (`std::env::var`).
    Environment,
    /// The result is a view into the receiver (`headers_mut()`, `uri_mut()`): it carries the
    /// receiver, and what is written through it reaches the receiver.
    Accessor,
}

/// A kind with its fixed transport.
#[derive(Debug, Clone)]
pub struct Kind {
    /// Id.
    pub id: String,
    /// Type paths (segments) that have this kind.
    pub types: Vec<Vec<String>>,
    /// Fixed transport.
    pub transport: Option<Transport>,
}

/// A name-pattern source.
#[derive(Debug, Clone)]
pub struct NameSource {
    /// Index in `sources`.
    pub rule: usize,
    /// The pattern.
    pub regex: Regex,
    /// Applies to functions, locals, params, fields, wire names.
    pub on: [bool; 5],
    /// Names the pattern matches that are not sources.
    pub exclude: Option<Regex>,
    /// Not a source when the value comes from the process environment only (`not_from`).
    pub not_from_env: bool,
}

/// A type source: values of the type (or one field of it) are identifiers.
#[derive(Debug, Clone)]
pub struct TypeSource {
    /// Index in `sources`.
    pub rule: usize,
    /// The crate the type comes from, when the rule names one (`ruma` of `ruma::DeviceId`).
    pub krate: Option<String>,
    /// The field of the type that holds the identifier; `None`: the value itself.
    pub field: Option<String>,
}

/// A parameter source: parameters of a function of the scanned tree the rule names.
#[derive(Debug, Clone)]
pub struct ParamSource {
    /// Index in `sources`.
    pub rule: usize,
    /// The function's path as the rule names it (`mdns_sd::ServiceInfo::new`).
    pub function: Vec<String>,
    /// The parameter names that are sources.
    pub params: Vec<String>,
}

/// Where a name occurs, for name sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSite {
    /// A function's name.
    Function = 0,
    /// A `let` binding.
    Local = 1,
    /// A parameter.
    Param = 2,
    /// A struct field.
    Field = 3,
    /// A serialized name: a serde wire name (`rename`, `rename_all`) or a `json!` key, matched
    /// in snake case (`phoneNumber` as `phone_number`).
    Wire = 4,
}

/// The rule pack, compiled and indexed.
#[derive(Debug)]
pub struct RuleIndex {
    /// The entries, as loaded.
    pub raw: RawRuleFile,
    /// Kinds by [`KindId`].
    pub kinds: Vec<Kind>,
    /// Category ids by position; categories are referred to by index.
    pub categories: Vec<String>,
    matchers: Vec<(RuleRef, CallMatcher)>,
    by_method: HashMap<String, Vec<usize>>,
    by_function: HashMap<String, Vec<usize>>,
    by_path: HashMap<String, Vec<usize>>,
    by_macro: HashMap<String, Vec<usize>>,
    /// Name sources.
    pub names: Vec<NameSource>,
    /// Type sources by the type's last segment.
    types: HashMap<String, Vec<TypeSource>>,
    /// Parameter sources by the function's name.
    params: HashMap<String, Vec<ParamSource>>,
    /// Every name source's pattern at once: most names match none, and one pass says so.
    any_name: regex::RegexSet,
    /// Every source `string_arg` pattern at once.
    any_source_text: regex::RegexSet,
    guards: Vec<(Regex, Option<Regex>)>,
}

fn regex(pattern: &str) -> Regex {
    // Patterns were validated when the pack loaded; a bad one here matches nothing.
    Regex::new(pattern).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
}

fn regex_set<'a>(patterns: impl Iterator<Item = &'a str>) -> regex::RegexSet {
    // Patterns were validated when the pack loaded; if the set cannot be built, every name
    // goes through the individual patterns instead (see `name_sources`).
    regex::RegexSet::new(patterns).unwrap_or_else(|_| {
        regex::RegexSet::new(["(?s).*"]).unwrap_or_else(|_| regex::RegexSet::empty())
    })
}

fn transport(value: Option<&String>) -> Option<Transport> {
    match value.map(String::as_str) {
        Some("tls") => Some(Transport::Tls),
        Some("plaintext") => Some(Transport::Plaintext),
        Some("unknown") => Some(Transport::Unknown),
        _ => None,
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl RuleIndex {
    /// Compiles and indexes `raw`.
    #[must_use]
    pub fn new(raw: &RawRuleFile) -> RuleIndex {
        let kinds: Vec<Kind> = raw
            .kinds
            .iter()
            .map(|k| Kind {
                id: k.id.clone(),
                types: k.types.iter().map(|t| segments(t)).collect(),
                transport: transport(k.transport.as_ref()),
            })
            .collect();
        let mut index = RuleIndex {
            raw: raw.clone(),
            categories: raw.categories.iter().map(|c| c.id.clone()).collect(),
            kinds,
            matchers: Vec::new(),
            by_method: HashMap::new(),
            by_function: HashMap::new(),
            by_path: HashMap::new(),
            by_macro: HashMap::new(),
            names: Vec::new(),
            types: HashMap::new(),
            params: HashMap::new(),
            any_name: regex::RegexSet::empty(),
            any_source_text: regex::RegexSet::empty(),
            guards: raw
                .guards
                .iter()
                .map(|g| (regex(&g.name), g.exclude.as_deref().map(regex)))
                .collect(),
        };
        for (i, s) in raw.sources.iter().enumerate() {
            if let (false, Some(call)) = (s.params.is_empty(), &s.call) {
                for f in &call.function {
                    let function = segments(f);
                    if let Some(last) = function.last() {
                        index
                            .params
                            .entry(last.to_string())
                            .or_default()
                            .push(ParamSource {
                                rule: i,
                                function: function.clone(),
                                params: s.params.clone(),
                            });
                    }
                }
            } else if let Some(call) = &s.call {
                index.add(RuleRef::Source(i), call);
            }
            if let Some(name) = &s.name {
                let all = s.on.is_empty();
                let on = |w: &str| all || s.on.iter().any(|o| o == w);
                index.names.push(NameSource {
                    rule: i,
                    regex: regex(name),
                    on: [
                        on("function"),
                        on("local"),
                        on("param"),
                        on("field"),
                        on("wire"),
                    ],
                    exclude: s.exclude.as_deref().map(regex),
                    not_from_env: s.not_from.iter().any(|n| n == "environment"),
                });
            }
            if let Some(ty) = &s.type_ {
                let mut segs = segments(ty);
                if let Some(last) = segs.pop() {
                    index.types.entry(last).or_default().push(TypeSource {
                        rule: i,
                        krate: segs.first().cloned(),
                        field: s.field.clone(),
                    });
                }
            }
        }
        index.any_name = regex_set(raw.sources.iter().filter_map(|s| s.name.as_deref()));
        index.any_source_text = regex_set(
            raw.sources
                .iter()
                .filter_map(|s| s.call.as_ref()?.string_arg.as_deref()),
        );
        for (i, s) in raw.sinks.iter().enumerate() {
            index.add(RuleRef::Sink(i), &s.call);
        }
        for (i, s) in raw.sanitizers.iter().enumerate() {
            index.add(RuleRef::Sanitizer(i), &s.call);
        }
        for (i, c) in raw.constructors.iter().enumerate() {
            index.add(RuleRef::Constructor(i), &c.call);
        }
        for (i, p) in raw.propagators.iter().enumerate() {
            index.add(RuleRef::Propagator(i), &p.call);
        }
        index
    }

    fn add(&mut self, rule: RuleRef, call: &RawCall) {
        let matcher = CallMatcher {
            functions: call.function.iter().map(|f| segments(f)).collect(),
            receivers: call
                .receiver
                .iter()
                .filter_map(|r| self.kind_id(r))
                .collect(),
            string_arg: call.string_arg.as_deref().map(regex),
        };
        let at = self.matchers.len();
        self.matchers.push((rule, matcher));
        for m in &call.method {
            self.by_method.entry(m.clone()).or_default().push(at);
        }
        for f in &call.function {
            if let Some(last) = segments(f).pop() {
                self.by_function.entry(last).or_default().push(at);
            }
        }
        for p in &call.path {
            if let Some(last) = segments(p).pop() {
                self.by_path.entry(last).or_default().push(at);
            }
        }
        for m in &call.macro_ {
            self.by_macro.entry(m.clone()).or_default().push(at);
        }
    }

    /// The id of kind `id`.
    #[must_use]
    pub fn kind_id(&self, id: &str) -> Option<KindId> {
        self.kinds
            .iter()
            .position(|k| k.id == id)
            .and_then(|p| KindId::try_from(p).ok())
    }

    /// The index of category `id`.
    #[must_use]
    pub fn category(&self, id: &str) -> Option<usize> {
        self.categories.iter().position(|c| c == id)
    }

    /// Rules matching a method call on a receiver of kind `receiver`, with the string arguments.
    pub fn for_method<'a>(
        &'a self,
        name: &str,
        receiver: Option<KindId>,
        strings: &'a [Option<String>],
    ) -> impl Iterator<Item = RuleRef> + 'a {
        self.lookup(&self.by_method, name)
            .filter(move |(_, m)| {
                (m.receivers.is_empty() || receiver.is_some_and(|r| m.receivers.contains(&r)))
                    && string_ok(m, strings)
            })
            .map(|(r, _)| r)
    }

    /// Rules matching a call of the function at `path` (after `use` resolution).
    pub fn for_function<'a>(
        &'a self,
        path: &'a [Name],
        strings: &'a [Option<String>],
    ) -> impl Iterator<Item = RuleRef> + 'a {
        let last = path.last().map_or("", Name::as_str);
        self.lookup(&self.by_function, last)
            .filter(move |(_, m)| {
                m.functions.iter().any(|f| ends_with(path, f)) && string_ok(m, strings)
            })
            .map(|(r, _)| r)
    }

    /// Rules matching a path expression (not a call).
    pub fn for_path<'a>(&'a self, path: &'a [Name]) -> impl Iterator<Item = RuleRef> + 'a {
        let last = path.last().map_or("", Name::as_str);
        self.lookup(&self.by_path, last).map(|(r, _)| r)
    }

    /// Rules matching a macro whose destination has kind `receiver`.
    pub fn for_macro<'a>(
        &'a self,
        name: &str,
        receiver: Option<KindId>,
    ) -> impl Iterator<Item = RuleRef> + 'a {
        self.lookup(&self.by_macro, name)
            .filter(move |(_, m)| {
                m.receivers.is_empty() || receiver.is_some_and(|r| m.receivers.contains(&r))
            })
            .map(|(r, _)| r)
    }

    fn lookup<'a>(
        &'a self,
        map: &'a HashMap<String, Vec<usize>>,
        key: &str,
    ) -> impl Iterator<Item = (RuleRef, &'a CallMatcher)> + 'a {
        map.get(key)
            .into_iter()
            .flatten()
            .map(|&i| (self.matchers[i].0, &self.matchers[i].1))
    }

    /// Whether a call named `name` (method, function's last segment, path or macro) may match
    /// a rule that is not a plain propagator: a source, sink, sanitizer or constructor.
    #[must_use]
    pub fn may_matter(&self, name: &str) -> bool {
        [
            &self.by_method,
            &self.by_function,
            &self.by_path,
            &self.by_macro,
        ]
        .iter()
        .any(|map| {
            map.get(name).is_some_and(|ids| {
                ids.iter()
                    .any(|&i| !matches!(self.matchers[i].0, RuleRef::Propagator(_)))
            })
        })
    }

    /// Whether a call written as `segs` may match a source rule without a `string_arg`
    /// condition (those are matched on text, see [`RuleIndex::may_be_source_text`]): a method
    /// (`method`), or a function or path whose written segments agree with a rule's on the
    /// segments both have (`use` may hide the leading ones).
    #[must_use]
    pub fn may_be_source_call(&self, segs: &[Name], method: bool) -> bool {
        let Some(last) = segs.last() else {
            return false;
        };
        let maps: &[&HashMap<String, Vec<usize>>] = if method {
            &[&self.by_method]
        } else {
            &[&self.by_function, &self.by_path, &self.by_macro]
        };
        maps.iter().any(|map| {
            self.lookup(map, last).any(|(rule, m)| {
                matches!(rule, RuleRef::Source(_))
                    && m.string_arg.is_none()
                    && (method
                        || m.functions.is_empty()
                        || m.functions.iter().any(|f| suffixes_agree(segs, f)))
            })
        })
    }

    /// Whether `text` (a string literal, or a format string with its holes unknown) may be the
    /// argument a source rule's `string_arg` asks for.
    #[must_use]
    pub fn may_be_source_text(&self, text: &str) -> bool {
        self.matchers.iter().any(|(rule, m)| {
            matches!(rule, RuleRef::Source(_))
                && m.string_arg.as_ref().is_some_and(|re| re.is_match(text))
        })
    }

    /// Whether `name` is a name source at any site.
    #[must_use]
    pub fn is_source_name(&self, name: &str, site: NameSite) -> bool {
        self.name_sources(name, site).next().is_some()
    }

    /// Whether any rule matches method calls named `name`.
    #[must_use]
    pub fn knows_method(&self, name: &str) -> bool {
        self.by_method.contains_key(name)
    }

    /// The kind whose `types` match the resolved type path.
    #[must_use]
    pub fn kind_of_type(&self, path: &[Name]) -> Option<KindId> {
        self.kinds
            .iter()
            .position(|k| k.types.iter().any(|t| ends_with(path, t)))
            .and_then(|p| KindId::try_from(p).ok())
    }

    /// Whether a name tested in a condition is a consent / opt-in check.
    #[must_use]
    pub fn is_guard_name(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.guards
            .iter()
            .any(|(re, ex)| re.is_match(&lower) && !ex.as_ref().is_some_and(|e| e.is_match(&lower)))
    }

    /// Name sources matching `name` at `site`.
    pub fn name_sources<'a>(
        &'a self,
        name: &str,
        site: NameSite,
    ) -> impl Iterator<Item = &'a NameSource> + 'a {
        let lower = name.to_ascii_lowercase();
        // `imei_str`, `msisdn_e164`, `android_id_raw`: a representation suffix does not change
        // what a name says it holds.
        let stem = REPRESENTATION_SUFFIXES
            .iter()
            .find_map(|suffix| lower.strip_suffix(suffix))
            .filter(|stem| !stem.is_empty())
            .map(str::to_string);
        let candidate = self.any_name.is_match(&lower)
            || stem.as_deref().is_some_and(|s| self.any_name.is_match(s));
        let names = if candidate { &self.names[..] } else { &[] };
        names.iter().filter(move |n| {
            n.on[site as usize]
                && (n.regex.is_match(&lower)
                    || stem.as_deref().is_some_and(|s| n.regex.is_match(s)))
                && !n.exclude.as_ref().is_some_and(|ex| ex.is_match(&lower))
        })
    }

    /// Type sources for a type whose last path segment is `last`.
    #[must_use]
    pub fn type_sources(&self, last: &str) -> &[TypeSource] {
        self.types.get(last).map_or(&[], Vec::as_slice)
    }

    /// Source rules naming parameter `param` of program function `path` (crate library name,
    /// module, `Self` type, name): the rule's path matches by its crate and its tail, so
    /// `my_lib::Info::new` names `my_lib::info::Info::new` (re-exported at the crate root).
    pub fn param_sources<'a>(
        &'a self,
        path: &'a [Name],
        param: &'a str,
    ) -> impl Iterator<Item = usize> + 'a {
        let last = path.last().map_or("", Name::as_str);
        self.params
            .get(last)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(move |p| {
                p.params.iter().any(|n| n == param)
                    && (ends_with(path, &p.function)
                        || (p.function.len() > 1
                            && path.first().is_some_and(|a| *a == p.function[0])
                            && ends_with(&path[1..], &p.function[1..])))
            })
            .map(|p| p.rule)
    }

    /// Whether a parameter source names parameter `param` of some function called `name` (the
    /// relevance pre-pass; the engine checks the path).
    #[must_use]
    pub fn is_param_source(&self, name: &str, param: &str) -> bool {
        self.params
            .get(name)
            .is_some_and(|ps| ps.iter().any(|p| p.params.iter().any(|n| n == param)))
    }

    /// Whether a parameter source names a function called `name`.
    #[must_use]
    pub fn has_param_sources(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }

    /// Whether any type source exists (most packs' scans skip the type walk when none does).
    #[must_use]
    pub fn has_type_sources(&self) -> bool {
        !self.types.is_empty()
    }

    /// Whether a method named `name` is an accessor (`headers_mut`): writes through its
    /// result reach its receiver.
    #[must_use]
    pub fn is_accessor(&self, name: &str) -> bool {
        self.lookup(&self.by_method, name).any(|(r, _)| {
            matches!(r, RuleRef::Propagator(i) if self.propagation(i) == Propagation::Accessor)
        })
    }

    /// Effect of propagator `i`.
    #[must_use]
    pub fn propagation(&self, i: usize) -> Propagation {
        match self.raw.propagators[i].effect.as_str() {
            "clean" => Propagation::Clean,
            "receiver" => Propagation::Receiver,
            "into-receiver" => Propagation::IntoReceiver,
            "closure" => Propagation::Closure,
            "reset" => Propagation::Reset,
            "store" => Propagation::Store,
            "load" => Propagation::Load,
            "environment" => Propagation::Environment,
            "accessor" => Propagation::Accessor,
            _ => Propagation::Identity,
        }
    }

    /// Whether source rule `rule` is a name rule with `not_from: [environment]`.
    #[must_use]
    pub fn name_rule_not_from_env(&self, rule: usize) -> bool {
        self.names.iter().any(|n| n.rule == rule && n.not_from_env)
    }

    /// Category index of source rule `i`.
    #[must_use]
    pub fn source_category(&self, i: usize) -> usize {
        self.category(&self.raw.sources[i].category).unwrap_or(0)
    }

    /// Fixed transport of a constructor.
    #[must_use]
    pub fn constructor_transport(&self, i: usize) -> Option<Transport> {
        transport(self.raw.constructors[i].transport.as_ref())
    }
}

/// A serialized name in the snake case name sources are written in: `phoneNumber`,
/// `PhoneNumber`, `phone-number` and `PHONE_NUMBER` all read `phone_number`.
pub fn snake_case(wire: &str) -> String {
    let mut out = String::with_capacity(wire.len() + 4);
    let mut prev_lower = false;
    for c in wire.chars() {
        if c == '-' || c == ' ' || c == '.' {
            out.push('_');
            prev_lower = false;
        } else if c.is_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// `path` ends with the segments `suffix`.
fn ends_with(path: &[Name], suffix: &[String]) -> bool {
    path.len() >= suffix.len()
        && path[path.len() - suffix.len()..]
            .iter()
            .zip(suffix)
            .all(|(a, b)| a == b)
}

/// `written` and `rule` are equal on their common trailing segments, and an associated function
/// (`Type::new`) is not taken for a bare name (`new`), which `use` cannot bring in.
fn suffixes_agree(written: &[Name], rule: &[String]) -> bool {
    let associated = rule.len() >= 2
        && rule[rule.len() - 2]
            .chars()
            .next()
            .is_some_and(char::is_uppercase);
    if written.len() == 1 && associated {
        return false;
    }
    written
        .iter()
        .rev()
        .zip(rule.iter().rev())
        .all(|(a, b)| a == b)
}

fn string_ok(m: &CallMatcher, strings: &[Option<String>]) -> bool {
    m.string_arg
        .as_ref()
        .is_none_or(|re| strings.iter().flatten().any(|s| re.is_match(s)))
}
