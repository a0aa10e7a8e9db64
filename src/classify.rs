//! Classification: turns the analysis hits into findings, one per (category, source, sink),
//! with their attributes merged over every calling context.
//!
//! A flow is `encrypted` / `pseudonymized` only if every path protects it, `consent` only if
//! every calling context reaches the sink under a guard, and its transport is the weakest seen
//! (plaintext over unknown over TLS). Takes the analysis and the program; gives sorted findings.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::findings::{Finding, Location, Step, Transport, Unresolved};
use crate::graph::{FnId, Program};
use crate::ir::Span;
use crate::rules::index::RuleIndex;
use crate::taint::{Analysis, Hit, NO_TRACE};

/// Reads source lines for snippets, once per file.
struct Lines<'p> {
    prog: &'p Program,
    cache: BTreeMap<usize, Vec<String>>,
    /// A file read here no longer had the bytes it was parsed from (edited during the scan).
    changed: bool,
}

impl Lines<'_> {
    fn line(&mut self, file: usize, line: u32) -> String {
        let prog = self.prog;
        let lines = self.cache.entry(file).or_insert_with(|| {
            let parsed = &prog.files[file];
            std::fs::read(&parsed.source.path)
                .map(|b| {
                    self.changed |= !parsed.parsed_from(&b);
                    String::from_utf8_lossy(&b)
                        .lines()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        });
        lines
            .get(line.saturating_sub(1) as usize)
            .map(|l| l.trim().to_string())
            .unwrap_or_default()
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct FlowKey {
    category: usize,
    source: u32,
    sink_file: usize,
    sink: Span,
    sink_rule: usize,
}

/// Builds the findings from the hits.
#[must_use]
pub fn classify(prog: &Program, rules: &RuleIndex, analysis: &Analysis) -> Vec<Finding> {
    classify_checked(prog, rules, analysis).0
}

/// Builds the findings from the hits, and says whether every file quoted in them still had
/// the bytes it was parsed from when its snippets were read (`false`: a file was edited during
/// the scan, so its snippets and ids belong to another version and must not be recorded for a
/// later scan to reuse).
#[must_use]
pub fn classify_checked(
    prog: &Program,
    rules: &RuleIndex,
    analysis: &Analysis,
) -> (Vec<Finding>, bool) {
    let mut groups: BTreeMap<FlowKey, Vec<&Hit>> = BTreeMap::new();
    for hit in &analysis.hits {
        let source = &analysis.sources[hit.label.source as usize];
        let key = FlowKey {
            category: source.category,
            source: hit.label.source,
            sink_file: hit.file,
            sink: hit.span,
            sink_rule: hit.sink_rule,
        };
        groups.entry(key).or_default().push(hit);
    }
    let mut lines = Lines {
        prog,
        cache: BTreeMap::new(),
        changed: false,
    };
    let mut findings: Vec<Finding> = groups
        .into_iter()
        .map(|(key, hits)| finding(prog, rules, analysis, &key, &hits, &mut lines))
        .collect();
    findings.sort_by(|a, b| {
        (
            &a.sink.file,
            a.sink.line,
            a.sink.column,
            &a.category,
            &a.source.file,
            a.source.line,
            a.source.column,
        )
            .cmp(&(
                &b.sink.file,
                b.sink.line,
                b.sink.column,
                &b.category,
                &b.source.file,
                b.source.line,
                b.source.column,
            ))
    });
    dedupe_ids(&mut findings);
    (findings, !lines.changed)
}

fn finding(
    prog: &Program,
    rules: &RuleIndex,
    analysis: &Analysis,
    key: &FlowKey,
    hits: &[&Hit],
    lines: &mut Lines<'_>,
) -> Finding {
    let source = &analysis.sources[key.source as usize];
    let first = hits[0];
    let transport = hits
        .iter()
        .map(|h| h.transport)
        .max_by_key(|t| match t {
            Transport::Plaintext => 2,
            Transport::Unknown => 1,
            Transport::Tls => 0,
        })
        .unwrap_or(Transport::Unknown);
    let mut hosts: Vec<&String> = hits.iter().filter_map(|h| h.host.as_ref()).collect();
    hosts.sort();
    let source_loc = location(prog, source.file, source.span, Some(source.func), lines);
    let sink_loc = location(prog, key.sink_file, key.sink, Some(first.func), lines);
    let sink_rule = rules.raw.sinks[key.sink_rule].id.clone();
    let mut path = trace_path(prog, analysis, first.label.via, lines);
    if path
        .first()
        .is_none_or(|s| (&s.location.file, s.location.line) != (&source_loc.file, source_loc.line))
    {
        path.insert(
            0,
            Step {
                location: source_loc.clone(),
                note: format!("source: {}", rules.raw.sources[source.rule].id),
            },
        );
    }
    path.push(Step {
        location: sink_loc.clone(),
        note: format!("sink: {sink_rule}"),
    });
    let category = rules.categories[key.category].clone();
    Finding {
        id: stable_id(&category, &source_loc, &sink_loc),
        category,
        source_rule: rules.raw.sources[source.rule].id.clone(),
        sink_rule,
        source: source_loc,
        sink: sink_loc,
        path,
        encrypted: hits.iter().all(|h| h.label.encrypted),
        pseudonymized: hits.iter().all(|h| h.label.hashed),
        consent: hits.iter().all(|h| h.guarded),
        transport,
        recipient: hosts.first().map(|h| (*h).clone()),
        shipping: !crate::discover::non_shipping(&prog.files[source.file].source)
            && !crate::discover::non_shipping(&prog.files[key.sink_file].source),
    }
}

fn trace_path(
    prog: &Program,
    analysis: &Analysis,
    mut node: u32,
    lines: &mut Lines<'_>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut guard = 0;
    while node != NO_TRACE && guard < 64 {
        let Some(t) = analysis.traces.get(node as usize) else {
            break;
        };
        steps.push(Step {
            location: location(prog, t.file, t.span, None, lines),
            note: t.note.to_string(),
        });
        node = t.parent;
        guard += 1;
    }
    steps.reverse();
    steps.dedup_by(|a, b| a.location == b.location && a.note == b.note);
    steps
}

fn location(
    prog: &Program,
    file: usize,
    span: Span,
    func: Option<FnId>,
    lines: &mut Lines<'_>,
) -> Location {
    Location {
        file: prog.files[file].source.rel.clone(),
        line: span.line,
        column: span.col,
        function: func.map(|f| function_name(prog, f)),
        snippet: lines.line(file, span.line),
    }
}

/// `module::Type::name` of a function.
#[must_use]
pub fn function_name(prog: &Program, fid: FnId) -> String {
    let f = prog.func(fid);
    let mut parts: Vec<String> = prog.fns[fid].module.iter().map(|m| m.to_string()).collect();
    if let Some(t) = &f.self_ty {
        parts.push(t.to_string());
    }
    parts.push(f.name.to_string());
    parts.join("::")
}

/// A hash of what identifies a flow in the code, not where it is: category, and for source and
/// sink the file, the enclosing function and the whitespace-normalized line.
fn stable_id(category: &str, source: &Location, sink: &Location) -> String {
    let mut h = Sha256::new();
    for part in [
        category,
        &source.file,
        source.function.as_deref().unwrap_or(""),
        &normalize(&source.snippet),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for part in [
        &sink.file,
        sink.function.as_deref().unwrap_or(""),
        &normalize(&sink.snippet),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The code tokens of a line: comments dropped (a trailing `// TODO` or `// idflow: allow(..)`
/// must not change an id), whitespace normalized.
fn normalize(s: &str) -> String {
    crate::findings::code_tokens(s)
}

/// Identical code in one function gives identical ids; number the repeats so ids stay unique.
fn dedupe_ids(findings: &mut [Finding]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings.iter_mut() {
        let n = seen.entry(f.id.clone()).or_insert(0);
        if *n > 0 {
            f.id = format!("{}-{}", f.id, n);
        }
        *n += 1;
    }
}

/// An unexplained call with a tainted argument, before `scan` decides from the dependency
/// manifests whether an unmodelled network library may be behind it: the edge-of-model
/// candidate. Kept in the incremental record, since the manifests can change without the code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct UnresolvedCall {
    /// The edge as reported, `reason` still empty.
    pub edge: Unresolved,
    /// The calling file's crate (see `discover::SourceFile::crate_key`).
    pub crate_key: String,
    /// The first path segment of a call into another crate, `None` for a method call.
    pub library: Option<String>,
}

/// An unexplained call site and category: (file, span, call text, category index).
type SiteKey = (usize, Span, String, usize);

/// The calls nothing explains that received a tainted argument, one per (call site, category),
/// with the first source (by location) that reaches it; sorted by file, line, column, category.
#[must_use]
pub fn unresolved_calls(
    prog: &Program,
    rules: &RuleIndex,
    analysis: &Analysis,
) -> Vec<UnresolvedCall> {
    let mut lines = Lines {
        prog,
        cache: BTreeMap::new(),
        changed: false,
    };
    let mut sites: BTreeMap<SiteKey, (Location, Location, Option<String>)> = BTreeMap::new();
    for u in &analysis.unexplained {
        let source = &analysis.sources[u.source as usize];
        let source_loc = location(
            prog,
            source.file,
            source.span,
            Some(source.func),
            &mut lines,
        );
        let key = (u.file, u.span, u.call.clone(), source.category);
        match sites.get_mut(&key) {
            Some((first, _, _)) => {
                if (&source_loc.file, source_loc.line, source_loc.column)
                    < (&first.file, first.line, first.column)
                {
                    *first = source_loc;
                }
            }
            None => {
                let at = location(prog, u.file, u.span, Some(u.func), &mut lines);
                sites.insert(key, (source_loc, at, u.library.clone()));
            }
        }
    }
    let mut calls: Vec<UnresolvedCall> = sites
        .into_iter()
        .map(|((file, _, call, category), (source, at, library))| {
            let category = rules.categories[category].clone();
            UnresolvedCall {
                edge: Unresolved {
                    // The call's text joins the category, so two calls on one line differ.
                    id: stable_id(&format!("{category}\0{call}"), &source, &at),
                    category,
                    call,
                    file: at.file,
                    line: at.line,
                    column: at.column,
                    function: at.function,
                    snippet: at.snippet,
                    source: Some(source),
                    reason: String::new(),
                },
                crate_key: prog.files[file].source.crate_key.clone(),
                library,
            }
        })
        .collect();
    calls.sort();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in &mut calls {
        let n = seen.entry(c.edge.id.clone()).or_insert(0);
        if *n > 0 {
            c.edge.id = format!("{}-{}", c.edge.id, n);
        }
        *n += 1;
    }
    calls
}
