//! A read-only walk over the IR: every expression of a function body, and the pattern of every
//! `let`, shown to a visitor in source order. The call graph ([`crate::graph`]) and the relevance
//! pre-pass ([`crate::taint::relevance`]) collect what they need with it; it lives with the IR so
//! that later stages take it from here instead of from one another.

use super::{Block, Expr, Local, Pat, Stmt};

/// What the walkers show their visitor: every expression, and the pattern of every `let`
/// statement (the patterns of `if let`, `match` and `for` are inside their expressions).
#[derive(Clone, Copy)]
pub enum Node<'a> {
    /// An expression.
    Expr(&'a Expr),
    /// The pattern of a `let` statement.
    Let(&'a Pat),
}

/// Calls `f` on every expression and `let` pattern under `stmt`.
pub fn walk_stmt<'a>(stmt: &'a Stmt, f: &mut dyn FnMut(Node<'a>)) {
    match stmt {
        Stmt::Let(local) => {
            let Local { pat, init, els, .. } = &**local;
            f(Node::Let(pat));
            if let Some(e) = init {
                walk_expr(e, f);
            }
            if let Some(b) = els {
                b.stmts.iter().for_each(|s| walk_stmt(s, f));
            }
        }
        Stmt::Expr { expr, .. } => walk_expr(expr, f),
    }
}

/// Calls `f` on `e` and every expression and `let` pattern under it.
pub fn walk_expr<'a>(e: &'a Expr, f: &mut dyn FnMut(Node<'a>)) {
    f(Node::Expr(e));
    let block =
        |b: &'a Block, f: &mut dyn FnMut(Node<'a>)| b.stmts.iter().for_each(|s| walk_stmt(s, f));
    match e {
        Expr::Field { base, .. }
        | Expr::Wrap(base)
        | Expr::MutRef(base)
        | Expr::Not(base)
        | Expr::Await { base, .. } => walk_expr(base, f),
        Expr::Index { base, index } => {
            walk_expr(base, f);
            walk_expr(index, f);
        }
        Expr::Call { func, args, .. } => {
            walk_expr(func, f);
            args.iter().for_each(|a| walk_expr(a, f));
        }
        Expr::Method { recv, args, .. } => {
            walk_expr(recv, f);
            args.iter().for_each(|a| walk_expr(a, f));
        }
        Expr::Macro { args, .. } | Expr::Tuple(args) | Expr::Array(args) => {
            args.iter().for_each(|a| walk_expr(a, f))
        }
        Expr::Struct { fields, rest, .. } => {
            fields.iter().for_each(|(_, e, _)| walk_expr(e, f));
            if let Some(r) = rest {
                walk_expr(r, f);
            }
        }
        Expr::Binary { l, r, .. } => {
            walk_expr(l, f);
            walk_expr(r, f);
        }
        Expr::Assign { place, value, .. } => {
            walk_expr(place, f);
            walk_expr(value, f);
        }
        Expr::If { cond, then, els } => {
            walk_expr(cond, f);
            block(then, f);
            if let Some(e) = els {
                walk_expr(e, f);
            }
        }
        Expr::Let { expr, .. } => walk_expr(expr, f),
        Expr::Match { scrut, arms } => {
            walk_expr(scrut, f);
            for a in arms {
                if let Some(g) = &a.guard {
                    walk_expr(g, f);
                }
                walk_expr(&a.body, f);
            }
        }
        Expr::For { iter, body, .. } => {
            walk_expr(iter, f);
            block(body, f);
        }
        Expr::While { cond, body } => {
            if let Some(c) = cond {
                walk_expr(c, f);
            }
            block(body, f);
        }
        Expr::Block(b) => block(b, f),
        Expr::Return(Some(e)) | Expr::Break(Some(e)) => walk_expr(e, f),
        Expr::Lit(_)
        | Expr::Path { .. }
        | Expr::Closure(_)
        | Expr::Return(None)
        | Expr::Break(None)
        | Expr::Unknown => {}
    }
}
