//! The flow-sensitive state inside one function: local variables and whether the current point
//! is live and under a consent guard, with its join at control-flow merges.
//!
//! The join is pointwise [`Value::join_in`] over variables (a variable bound on one side only
//! keeps its value), so it is monotone like the value lattice; an unreachable side contributes
//! nothing, and a point is guarded only if both sides are.

use super::lattice::Value;
use crate::ir::Name;

/// Local variables by name (a flat sorted map, see [`super::lattice::Fields`]).
pub(super) type Vars = litemap::LiteMap<Name, Value>;

/// The flow-sensitive state inside a function.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Env {
    pub(super) vars: Vars,
    /// The current point is reached only under a consent guard.
    pub(super) guarded: bool,
    /// The current point is reachable (false after `return`, `break`).
    pub(super) live: bool,
}

impl Env {
    /// The state after a merge of two control-flow paths.
    pub(super) fn join(a: &Env, b: &Env) -> Env {
        match (a.live, b.live) {
            (true, false) => return a.clone(),
            (false, true) => return b.clone(),
            _ => {}
        }
        let mut vars = a.vars.clone();
        for (k, v) in &b.vars {
            match vars.get_mut(k) {
                Some(mine) => {
                    mine.join_in(v);
                }
                None => {
                    vars.insert(*k, v.clone());
                }
            }
        }
        Env {
            vars,
            guarded: a.guarded && b.guarded,
            live: a.live || b.live,
        }
    }
}
