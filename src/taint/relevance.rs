//! Which functions can matter to a flow: those that mention a source, sink, sanitizer or
//! constructor rule, a name that says it holds an identifier, a URL or a const, or that call such
//! a function. A call of any other function with arguments that carry nothing (no label, no
//! network object, no constant text) cannot change a finding, so the engine skips it.

use petgraph::Direction;

use crate::graph::{walk_expr, walk_stmt, Program};
use crate::ir::{Expr, FnIr, Lit, Pat};
use crate::rules::index::{NameSite, RuleIndex};

/// `relevant[f]` for every function of the program.
#[must_use]
pub fn relevant_functions(prog: &Program, rules: &RuleIndex) -> Vec<bool> {
    let mut relevant: Vec<bool> = (0..prog.fns.len())
        .map(|f| mentions_anything(prog.func(f), rules))
        .collect();
    // Callers of relevant functions are relevant: walk the call graph backwards.
    let mut work: Vec<_> = prog
        .calls
        .node_indices()
        .filter(|&n| relevant[prog.calls[n]])
        .collect();
    while let Some(n) = work.pop() {
        for caller in prog.calls.neighbors_directed(n, Direction::Incoming) {
            let f = prog.calls[caller];
            if !relevant[f] {
                relevant[f] = true;
                work.push(caller);
            }
        }
    }
    relevant
}

fn mentions_anything(f: &FnIr, rules: &RuleIndex) -> bool {
    if rules.is_source_name(&f.name, NameSite::Function) {
        return true;
    }
    let mut found = f
        .params
        .iter()
        .any(|p| binds_source_name(&p.pat, rules, NameSite::Param));
    let mut visit = |e: &Expr| {
        if found {
            return;
        }
        found = match e {
            Expr::Lit(Lit::Str(s)) => s.contains("://"),
            Expr::Path { segs, .. } => {
                segs.iter().any(|s| {
                    s.chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                        && s.len() > 1
                }) || segs.last().is_some_and(|l| rules.may_matter(l))
            }
            Expr::Call { func, .. } => match &**func {
                Expr::Path { segs, .. } => segs.last().is_some_and(|l| {
                    rules.may_matter(l) || rules.is_source_name(l, NameSite::Function)
                }),
                _ => false,
            },
            Expr::Method { name, .. } => {
                rules.may_matter(name) || rules.is_source_name(name, NameSite::Function)
            }
            Expr::Macro { name, .. } => rules.may_matter(name),
            Expr::Field { name, .. } => rules.is_source_name(name, NameSite::Field),
            Expr::Struct { fields, .. } => fields
                .iter()
                .any(|(n, _, _)| rules.is_source_name(n, NameSite::Field)),
            Expr::Let { pat, .. } => binds_source_name(pat, rules, NameSite::Local),
            _ => false,
        };
    };
    for s in &f.body.stmts {
        walk_stmt(s, &mut visit);
    }
    for c in &f.closures {
        walk_expr(&c.body, &mut visit);
    }
    found
        || f.closures.iter().any(|c| {
            c.params
                .iter()
                .any(|p| binds_source_name(p, rules, NameSite::Local))
        })
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
