//! Consent guards: which conditions and match arms hold only with (or only without) consent,
//! and the `if` whose branches they split into guarded and unguarded paths.

use super::{Engine, Frame};
use crate::ir::{BinOp, Block, Expr, Pat};
use crate::taint::lattice::Value;
use crate::taint::state::Env;

impl<'p> Engine<'p> {
    pub(super) fn if_expr(
        &mut self,
        cond: &Expr,
        then: &Block,
        els: Option<&Expr>,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let polarity = self.guard_polarity(cond, env);
        let mut else_env = env.clone();
        let mut then_env = env.clone();
        self.eval(cond, &mut then_env, frame);
        if polarity == Some(true) {
            then_env.guarded = true;
        }
        if polarity == Some(false) {
            else_env.guarded = true;
        }
        let tv = self.block(then, &mut then_env, frame);
        let ev = match els {
            Some(e) => self.eval(e, &mut else_env, frame),
            None => Value::default(),
        };
        let mut out = Value::default();
        if then_env.live {
            out.join_in(&tv);
        }
        if else_env.live {
            out.join_in(&ev);
        }
        *env = Env::join(&then_env, &else_env);
        out
    }

    /// A match arm taken only with consent (`Consent::Granted => ..`).
    pub(super) fn pat_is_guard(&self, pat: &Pat) -> bool {
        match pat {
            Pat::TupleStruct { path, .. } | Pat::Struct { path, .. } => path
                .last()
                .is_some_and(|l| self.rules.is_guard_name(&snake(l))),
            Pat::Or(alts) => !alts.is_empty() && alts.iter().all(|p| self.pat_is_guard(p)),
            _ => false,
        }
    }

    /// `Some(true)`: the condition holds only with consent; `Some(false)`: only without.
    pub(super) fn guard_polarity(&self, cond: &Expr, env: &Env) -> Option<bool> {
        match cond {
            Expr::Not(inner) => self.guard_polarity(inner, env).map(|b| !b),
            Expr::Wrap(inner) | Expr::Await { base: inner, .. } => self.guard_polarity(inner, env),
            Expr::Binary {
                op: BinOp::And,
                l,
                r,
            } => (self.guard_polarity(l, env) == Some(true)
                || self.guard_polarity(r, env) == Some(true))
            .then_some(true),
            // `if !consent || offline { return }`: false only when consent holds
            Expr::Binary {
                op: BinOp::Or,
                l,
                r,
            } => (self.guard_polarity(l, env) == Some(false)
                || self.guard_polarity(r, env) == Some(false))
            .then_some(false),
            Expr::Binary {
                op: BinOp::Compare,
                l,
                r,
            } => {
                // `consent == true`, `opted_in() == false`
                let flip = matches!(&**r, Expr::Lit(crate::ir::Lit::Bool(false)));
                self.guard_polarity(l, env)
                    .filter(|b| *b)
                    .map(|b| b != flip)
            }
            Expr::Binary {
                op: BinOp::NotEqual,
                l,
                r,
            } => {
                // `consent != Some(true)` holds without consent, `opted_in != false` with it
                let flip = matches!(&**r, Expr::Lit(crate::ir::Lit::Bool(false)));
                self.guard_polarity(l, env).filter(|b| *b).map(|_| flip)
            }
            Expr::Method { name, .. } | Expr::Field { name, .. } => {
                self.rules.is_guard_name(name).then_some(true)
            }
            Expr::Call { func, .. } => match &**func {
                Expr::Path { segs, .. } => segs
                    .last()
                    .filter(|n| self.rules.is_guard_name(n))
                    .map(|_| true),
                _ => None,
            },
            Expr::Let { pat, .. } => self.pat_is_guard(pat).then_some(true),
            Expr::Path { segs, .. } if segs.len() == 1 => {
                // `let ok = consent.is_granted(..); if ok { .. }`
                let checked = env.vars.get(&segs[0]).is_some_and(|v| v.consent_check);
                (checked || self.rules.is_guard_name(&segs[0])).then_some(true)
            }
            _ => None,
        }
    }
}

/// `OptedIn` → `opted_in`, so CamelCase variants match snake_case name patterns.
pub(super) fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}
