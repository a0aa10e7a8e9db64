//! Closures: a closure value called here or in another function (with the captures it was
//! created with), and what a library method hands to its closure argument.

use super::{conservative, pat_names, Engine, Frame, FN_ITEM, MAX_CALL_DEPTH};
use crate::graph::FnId;
use crate::ir::{Expr, Name};
use crate::rules::index::NameSite;
use crate::taint::lattice::Value;
use crate::taint::state::Env;

impl<'p> Engine<'p> {
    /// Calls a value: a closure of this function runs in the current environment.
    pub(super) fn call_value(
        &mut self,
        callee: &Value,
        args: &[Value],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        match callee.closure {
            Some(c) => self.run_closure(c, args, env, frame),
            None => {
                let mut v = callee.data_only();
                for a in args {
                    v.join_in(&a.data_only());
                }
                v
            }
        }
    }

    pub(super) fn run_closure(
        &mut self,
        closure: (FnId, u32),
        args: &[Value],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        // `let cb = move |x| cb(x)` calls the shadowed closure, but in the environment at the
        // call the name is the closure itself. Never recurse: the result is the arguments.
        if self.active_closures.contains(&closure) || self.active_closures.len() > MAX_CALL_DEPTH {
            return conservative(args).ret;
        }
        self.active_closures.push(closure);
        let v = self.run_closure_body(closure, args, env, frame);
        self.active_closures.pop();
        v
    }

    pub(super) fn run_closure_body(
        &mut self,
        (cfid, idx): (FnId, u32),
        args: &[Value],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let owner = self.prog.func(cfid);
        if idx == FN_ITEM {
            let mut args = args.to_vec();
            args.resize(
                owner.params.len(),
                Value {
                    dynamic: true,
                    ..Value::default()
                },
            );
            return self.analyze_fn(cfid, args, env.guarded).ret;
        }
        let Some(closure) = owner.closures.get(idx as usize) else {
            return Value::default();
        };
        if cfid != frame.fid {
            // A closure from another function runs with the captures it was created with.
            let mut fresh = Env {
                vars: self.captures.get(&(cfid, idx)).cloned().unwrap_or_default(),
                guarded: env.guarded,
                live: true,
            };
            let mut other = Frame {
                fid: cfid,
                f: owner,
                ctx: self.prog.ctx_of(cfid),
                krate: self.prog.crate_of(self.prog.ctx_of(cfid)),
                ret: Value::default(),
                loop_exits: Vec::new(),
            };
            for (p, a) in closure.params.iter().zip(args) {
                self.bind(p, a.clone(), &mut fresh, &other, NameSite::Local);
            }
            return self.eval(&closure.body, &mut fresh, &mut other);
        }
        let mut names = Vec::new();
        for p in &closure.params {
            pat_names(p, &mut names);
        }
        let saved: Vec<(Name, Option<Value>)> = names
            .iter()
            .map(|n| (*n, env.vars.get(n).cloned()))
            .collect();
        for (i, p) in closure.params.iter().enumerate() {
            let a = args.get(i).cloned().unwrap_or_default();
            self.bind(p, a, env, frame, NameSite::Local);
        }
        let saved_ret = std::mem::take(&mut frame.ret);
        let live = env.live;
        let mut v = self.eval(&closure.body, env, frame);
        // `return` inside a closure returns from the closure.
        let closure_ret = std::mem::replace(&mut frame.ret, saved_ret);
        v.join_in(&closure_ret);
        env.live = live;
        for (n, old) in saved {
            match old {
                Some(o) => {
                    env.vars.insert(n, o);
                }
                None => {
                    env.vars.remove(&n);
                }
            }
        }
        v
    }
}

impl Engine<'_> {
    /// The data a closure captured: the values of the free names of its body, from the
    /// environment it was created in.
    pub(super) fn closure_captures(
        &self,
        (cfid, idx): (FnId, u32),
        env: &Env,
        frame: &Frame<'_>,
    ) -> Value {
        let mut data = Value::default();
        if idx == FN_ITEM {
            return data;
        }
        let Some(closure) = self.prog.func(cfid).closures.get(idx as usize) else {
            return data;
        };
        let recorded = self.captures.get(&(cfid, idx));
        let vars = if cfid == frame.fid {
            Some(&env.vars)
        } else {
            recorded
        };
        let mut params = Vec::new();
        for p in &closure.params {
            pat_names(p, &mut params);
        }
        crate::ir::walk::walk_expr(&closure.body, &mut |n| {
            if let crate::ir::walk::Node::Expr(Expr::Path { segs, .. }) = n {
                if let ([name], Some(vars)) = (segs.as_slice(), vars) {
                    if !params.contains(name) {
                        if let Some(v) = vars.get(name) {
                            data.join_in(&v.data_only());
                        }
                    }
                }
            }
        });
        data
    }
}

/// What a library method passes to its closure argument: an element of the receiver, after an
/// accumulator when a plain argument comes first (`fold(init, |acc, x| ..)`, `scan(state, ..)`).
pub(super) fn closure_params(receiver: &Value, args: &[Value]) -> [Value; 2] {
    let element = receiver.clone();
    match args.first() {
        Some(init) if init.closure.is_none() && args.iter().any(|a| a.closure.is_some()) => {
            [init.clone(), element]
        }
        _ => [element.clone(), element],
    }
}
