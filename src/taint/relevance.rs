//! Which functions can matter to a flow, computed once before the propagation.
//!
//! - *Relevant*: a function that mentions a source, sink, sanitizer or constructor rule, a name
//!   that says it holds an identifier, a URL or a const, or that calls such a function. A call of
//!   any other function with arguments that carry nothing (no label, no network object, no
//!   constant text) cannot change a finding, so the engine skips it.
//! - *Source-reaching*: a function that mentions a source (a source rule's call or path, or a
//!   name source) or may call one that does. Analysed with unknown arguments, any other function
//!   can create no label: its arguments carry none, and it cannot get hold of a channel a label
//!   went into. So the engine starts analyses only from source-reaching functions. "May call" is
//!   an over-approximation of the engine's own call resolution: resolved paths, plus every method
//!   of the crate with the called method's name, whatever the receiver's type.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use petgraph::Direction;
use rayon::prelude::*;

use crate::graph::{FnId, Program};
use crate::ir::walk::{walk_expr, walk_stmt, Node};
use crate::ir::{Expr, FnIr, Lit, Name, Pat, Stmt, TypeIr};
use crate::parse::ParsedFile;
use crate::rules::index::{NameSite, RuleIndex};

/// What the engine needs to know about every function before it starts.
#[derive(Debug, Default)]
pub struct Relevance {
    /// `relevant[f]`: see the module documentation.
    pub relevant: Vec<bool>,
    /// `reaches_source[f]`: see the module documentation.
    pub reaches_source: Vec<bool>,
    /// Whether `f` itself mentions anything that may matter (before the callers' closure).
    pub mentions_anything: Vec<bool>,
    /// Names of the consts whose text a source rule may match.
    pub source_consts: Vec<Name>,
}

/// What one function's own body says, for [`crate::incremental`] to judge an edited file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnFacts {
    /// It mentions a rule, a URL, a const or an identifier name.
    pub anything: bool,
    /// It mentions a source.
    pub source: bool,
}

/// [`OwnFacts`] of `f`, given the names of the consts a source rule may match.
#[must_use]
pub fn own_facts(f: &FnIr, rules: &RuleIndex, source_consts: &HashSet<&str>) -> OwnFacts {
    let m = Mentions::of(f, rules, source_consts);
    OwnFacts {
        anything: m.anything,
        source: m.source,
    }
}

/// The names of the methods `f` calls.
#[must_use]
pub fn method_names<'a>(f: &'a FnIr) -> Vec<&'a str> {
    let mut names = Vec::new();
    let mut visit = |n: Node<'a>| {
        if let Node::Expr(Expr::Method { name, .. }) = n {
            names.push(name.as_str());
        }
    };
    for s in &f.body.stmts {
        walk_stmt(s, &mut visit);
    }
    for c in &f.closures {
        walk_expr(&c.body, &mut visit);
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// What every function of a program mentions, in function order, with the names of the consts
/// a source rule may match; [`scan_files`] makes it, [`analyze`] uses it.
pub struct Scans {
    functions: Vec<Mentions>,
    source_consts: Vec<Name>,
}

/// [`Scans`] of the functions of `files`, in the order [`Program`] numbers them (the scans need
/// no index, so a scan can run them beside the indexing).
#[must_use]
pub fn scan_files(files: &[ParsedFile], rules: &RuleIndex) -> Scans {
    let source_consts = source_text_consts(files, rules);
    let fns: Vec<&FnIr> = files.iter().flat_map(|f| &f.ir.fns).collect();
    let functions = fns
        .into_par_iter()
        .map(|f| Mentions::of(f, rules, &source_consts))
        .collect();
    let mut source_consts: Vec<Name> = source_consts.into_iter().map(Name::from).collect();
    source_consts.sort_unstable();
    Scans {
        functions,
        source_consts,
    }
}

/// Both facts for every function of `prog`, from `scans` if given, else scanning its files;
/// with `count`, also the [`Counts`] (a debugging aid).
#[must_use]
pub fn analyze(
    prog: &Program,
    rules: &RuleIndex,
    scans: Option<Scans>,
    count: bool,
) -> (Relevance, Option<Counts>) {
    let Scans {
        functions: scans,
        source_consts,
    } = scans.unwrap_or_else(|| scan_files(&prog.files, rules));
    let mut relevant: Vec<bool> = scans.iter().map(|m| m.anything).collect();
    callers_closure(prog, &mut relevant, None);
    let mut reaches_source: Vec<bool> = scans.iter().map(|m| m.source).collect();
    let method_callers = method_callers(prog, &scans);
    let direct = reaches_source.iter().filter(|r| **r).count();
    callers_closure(prog, &mut reaches_source, Some(&method_callers));
    let counts = count.then(|| counts(prog, &scans, direct, &relevant, &reaches_source));
    let relevance = Relevance {
        relevant,
        reaches_source,
        mentions_anything: scans.iter().map(|m| m.anything).collect(),
        source_consts,
    };
    (relevance, counts)
}

/// How many functions the relevance pre-pass kept (a debugging aid; `cli` prints it).
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Functions in the program.
    pub functions: usize,
    /// Functions that can matter to a flow.
    pub relevant: usize,
    /// Functions that mention a source themselves.
    pub mention_source: usize,
    /// Functions that may reach a source.
    pub reach_source: usize,
    /// (function name, file) of each function that mentions a source.
    pub mentioning: Vec<(String, String)>,
}

fn counts(
    prog: &Program,
    scans: &[Mentions],
    direct: usize,
    relevant: &[bool],
    reaches_source: &[bool],
) -> Counts {
    let count = |v: &[bool]| v.iter().filter(|b| **b).count();
    Counts {
        functions: prog.fns.len(),
        relevant: count(relevant),
        mention_source: direct,
        reach_source: count(reaches_source),
        mentioning: (scans.iter().enumerate().filter(|(_, m)| m.source))
            .map(|(f, _)| {
                let rel = &prog.files[prog.fns[f].file].source.rel;
                (prog.func(f).name.to_string(), rel.clone())
            })
            .collect(),
    }
}

/// Whether a declared type names a type source, itself or in an element, generic argument or
/// bound (`&[OwnedDeviceId]`, `impl Into<DeviceIdOrAllDevices>`).
fn mentions_source_type(ty: &TypeIr, rules: &RuleIndex) -> bool {
    ty.path
        .last()
        .is_some_and(|l| rules.type_sources(l).iter().any(|t| t.field.is_none()))
        || ty.args.iter().any(|a| mentions_source_type(a, rules))
}

/// Names of the consts whose initializer holds a text a source rule's `string_arg` may match
/// (`const MAC_PATH: &str = "/sys/class/net/wlan0/address"`), and of the struct fields whose
/// declared type, serde wire name or type-field rule makes them a source (read as `x.e164`).
fn source_text_consts<'a>(files: &'a [ParsedFile], rules: &RuleIndex) -> HashSet<&'a str> {
    let mut names = HashSet::default();
    for file in files {
        for s in &file.ir.structs {
            let field_rules = rules.type_sources(&s.name);
            for f in &s.fields {
                let wire = f.wire.as_ref().is_some_and(|w| {
                    rules.is_source_name(&crate::rules::index::snake_case(w), NameSite::Wire)
                });
                let typed_field = field_rules
                    .iter()
                    .any(|t| t.field.as_deref() == Some(f.name.as_str()));
                if wire || typed_field || mentions_source_type(&f.ty, rules) {
                    names.insert(f.name.as_str());
                }
            }
        }
        for c in &file.ir.consts {
            let mut found = false;
            walk_expr(&c.init, &mut |n| {
                if let Node::Expr(e @ (Expr::Lit(_) | Expr::Macro { .. })) = n {
                    found = found || mentions_source(e, rules);
                }
            });
            if found {
                names.insert(c.name.as_str());
            }
        }
    }
    names
}

/// Callers of each method name, per crate: `(crate, name)` → functions with a `.name(..)` call.
type MethodCallers = HashMap<(usize, Name), Vec<FnId>>;

fn method_callers(prog: &Program, scans: &[Mentions]) -> MethodCallers {
    let mut callers: MethodCallers = HashMap::default();
    for (f, m) in scans.iter().enumerate() {
        let krate = prog.fns[f].krate;
        for name in &m.methods {
            callers.entry((krate, *name)).or_default().push(f);
        }
    }
    callers
}

/// Marks every (transitive) caller of a marked function: callers along the call graph's edges
/// and, with `methods`, every function calling a method of the marked one's name in its crate.
fn callers_closure(prog: &Program, marked: &mut [bool], methods: Option<&MethodCallers>) {
    let mut work: Vec<FnId> = (0..marked.len()).filter(|&f| marked[f]).collect();
    let nodes: Vec<_> = prog.calls.node_indices().collect();
    while let Some(f) = work.pop() {
        let mut mark = |g: FnId, work: &mut Vec<FnId>| {
            if !marked[g] {
                marked[g] = true;
                work.push(g);
            }
        };
        for caller in prog.calls.neighbors_directed(nodes[f], Direction::Incoming) {
            mark(prog.calls[caller], &mut work);
        }
        let Some(methods) = methods else { continue };
        let callee = prog.func(f);
        let takes_self = callee
            .params
            .first()
            .is_some_and(|p| matches!(&p.pat, Pat::Bind { name, .. } if name == "self"));
        if takes_self {
            let key = (prog.fns[f].krate, callee.name);
            for &g in methods.get(&key).into_iter().flatten() {
                mark(g, &mut work);
            }
        }
    }
}

/// What one function's body mentions.
pub struct Mentions {
    /// Anything that may matter (see [`Relevance::relevant`]).
    anything: bool,
    /// A source rule or a name source.
    source: bool,
    /// Names of the methods it calls.
    methods: Vec<Name>,
}

impl Mentions {
    fn of(f: &FnIr, rules: &RuleIndex, source_consts: &HashSet<&str>) -> Mentions {
        let typed = rules.has_type_sources()
            && (f.params
                .iter()
                .filter_map(|p| p.ty.as_ref())
                .chain(f.ret.as_ref())
                .any(|t| mentions_source_type(t, rules))
                || f.body.stmts.iter().any(|s| {
                    matches!(s, Stmt::Let(l) if l.ty.as_ref().is_some_and(|t| mentions_source_type(t, rules)))
                }));
        let own_names = typed
            || rules.is_source_name(&f.name, NameSite::Function)
            || (rules.has_param_sources(&f.name)
                && f.params.iter().any(|p| {
                    matches!(&p.pat, Pat::Bind { name, .. } if rules.is_param_source(&f.name, name))
                }))
            || f.params
                .iter()
                .any(|p| binds_source_name(&p.pat, rules, NameSite::Param))
            || f.closures.iter().any(|c| {
                c.params
                    .iter()
                    .any(|p| binds_source_name(p, rules, NameSite::Local))
            });
        let mut m = Mentions {
            anything: own_names,
            source: own_names,
            methods: Vec::new(),
        };
        let mut visit = |n: Node<'_>| match n {
            Node::Let(pat) => {
                if !m.source && binds_source_name(pat, rules, NameSite::Local) {
                    m.source = true;
                    m.anything = true;
                }
            }
            Node::Expr(e) => {
                if let Expr::Method { name, .. } = e {
                    m.methods.push(*name);
                }
                let names_source_const = || match e {
                    Expr::Path { segs, .. } => segs
                        .last()
                        .is_some_and(|l| source_consts.contains(l.as_str())),
                    Expr::Field { name, .. } => source_consts.contains(name.as_str()),
                    Expr::Struct { path, fields, .. } => fields.iter().any(|(n, _, _)| {
                        source_consts.contains(n.as_str())
                            || (path.is_empty()
                                && rules.is_source_name(
                                    &crate::rules::index::snake_case(n),
                                    NameSite::Wire,
                                ))
                    }),
                    _ => false,
                };
                if !m.source && (mentions_source(e, rules) || names_source_const()) {
                    m.source = true;
                    m.anything = true;
                }
                if !m.anything {
                    m.anything = mentions_rule_or_constant(e, rules);
                }
            }
        };
        for s in &f.body.stmts {
            walk_stmt(s, &mut visit);
        }
        for c in &f.closures {
            walk_expr(&c.body, &mut visit);
        }
        m.methods.sort_unstable();
        m.methods.dedup();
        m
    }
}

/// Whether `e` itself (not its children) may create a source label.
fn mentions_source(e: &Expr, rules: &RuleIndex) -> bool {
    match e {
        Expr::Lit(Lit::Str(s)) => rules.may_be_source_text(s),
        Expr::Path { segs, .. } => rules.may_be_source_call(segs, false),
        Expr::Call { func, .. } => match &**func {
            Expr::Path { segs, .. } => segs
                .last()
                .is_some_and(|l| rules.is_source_name(l, NameSite::Function)),
            _ => false,
        },
        Expr::Method { name, .. } => {
            rules.may_be_source_call(std::slice::from_ref(name), true)
                || rules.is_source_name(name, NameSite::Function)
        }
        Expr::Macro { name, format, .. } => {
            rules.may_be_source_call(std::slice::from_ref(name), false)
                || format
                    .as_deref()
                    .is_some_and(|f| rules.may_be_source_text(&holes_unknown(f)))
        }
        Expr::Field { name, .. } => rules.is_source_name(name, NameSite::Field),
        Expr::Struct { fields, .. } => fields
            .iter()
            .any(|(n, _, _)| rules.is_source_name(n, NameSite::Field)),
        Expr::Let { pat, .. } | Expr::For { pat, .. } => {
            binds_source_name(pat, rules, NameSite::Local)
        }
        Expr::Match { arms, .. } => arms
            .iter()
            .any(|a| binds_source_name(&a.pat, rules, NameSite::Local)),
        _ => false,
    }
}

/// A format string as the engine sees its text when the arguments are unknown.
fn holes_unknown(format: &str) -> String {
    let mut out = String::with_capacity(format.len());
    let mut depth = 0;
    for c in format.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    out.push(crate::taint::lattice::UNKNOWN_TEXT);
                }
            }
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether `e` itself mentions a rule that is not a plain propagator, a URL or a constant.
fn mentions_rule_or_constant(e: &Expr, rules: &RuleIndex) -> bool {
    match e {
        Expr::Lit(Lit::Str(s)) => s.contains("://"),
        Expr::Path { segs, .. } => {
            segs.iter().any(|s| {
                s.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                    && s.len() > 1
            }) || segs.last().is_some_and(|l| rules.may_matter(l))
        }
        Expr::Call { func, .. } => match &**func {
            Expr::Path { segs, .. } => segs.last().is_some_and(|l| rules.may_matter(l)),
            _ => false,
        },
        Expr::Method { name, .. } | Expr::Macro { name, .. } => rules.may_matter(name),
        _ => false,
    }
}

fn binds_source_name(p: &Pat, rules: &RuleIndex, site: NameSite) -> bool {
    match p {
        Pat::Bind { name, sub, .. } => {
            rules.is_source_name(name, site)
                || sub
                    .as_deref()
                    .is_some_and(|s| binds_source_name(s, rules, site))
        }
        Pat::Tuple(ps) | Pat::Slice(ps) | Pat::Or(ps) | Pat::TupleStruct { elems: ps, .. } => {
            ps.iter().any(|p| binds_source_name(p, rules, site))
        }
        Pat::Struct { fields, .. } => fields.iter().any(|(n, p)| {
            rules.is_source_name(n, NameSite::Field) || binds_source_name(p, rules, site)
        }),
        Pat::Ignore => false,
    }
}
