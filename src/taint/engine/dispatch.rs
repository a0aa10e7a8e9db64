//! Call dispatch: a call or method call goes to program functions (analysed in the callee's
//! context, see `summary`), to the rule pack's transfer functions, to a closure, or, when
//! nothing explains it, to a conservative default that passes the arguments through.

use std::sync::Arc;

use super::names::core_type;
use super::{Engine, Frame};
use crate::graph::FnId;
use crate::ir::{Expr, Name, Span, TypeIr};
use crate::rules::index::NameSite;
use crate::taint::lattice::Value;
use crate::taint::state::Env;

/// A method call on a receiver of unknown type dispatches to at most this many program methods
/// of that name; more means the name is too common to tell.
const MAX_UNTYPED_DISPATCH: usize = 8;
/// The same, when every candidate implements one trait: a `dyn Trait` or generic call really
/// reaches any of them, so the set is the trait's implementations, not a guess by name.
const MAX_TRAIT_DISPATCH: usize = 32;

/// `Deref` impls followed for one method call at most.
const MAX_DEREFS: usize = 4;

/// A receiver that is no place: nothing is written back to it.
const NO_PLACE: &Expr = &Expr::Unknown;

/// Methods of traits a wrapper implements (or derives) itself: never looked up through `Deref`.
pub(super) fn is_own_trait_method(name: &str) -> bool {
    matches!(
        name,
        "clone"
            | "clone_from"
            | "to_owned"
            | "to_string"
            | "into"
            | "try_into"
            | "eq"
            | "ne"
            | "cmp"
            | "partial_cmp"
            | "hash"
            | "fmt"
            | "borrow"
            | "borrow_mut"
            | "as_ref"
            | "as_mut"
            | "deref"
            | "deref_mut"
            | "drop"
            | "serialize"
    )
}

impl<'p> Engine<'p> {
    pub(super) fn call(
        &mut self,
        func: &Expr,
        args: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let Expr::Path { segs, .. } = func else {
            let callee = self.eval(func, env, frame);
            let arg_values = self.eval_args(args, env, frame);
            return self.call_value(&callee, &arg_values, env, frame);
        };
        if segs.len() == 1 {
            if let Some(callee) = env.vars.get(&segs[0]).cloned() {
                let arg_values = self.eval_args(args, env, frame);
                return self.call_value(&callee, &arg_values, env, frame);
            }
        }
        let fids = self
            .prog
            .resolve_fn(frame.ctx, segs, frame.f.self_ty.as_deref());
        let fids: Vec<FnId> = fids
            .into_iter()
            .filter(|&f| self.prog.func(f).params.len() == args.len())
            .collect();
        // An argument `x.into()` converts to the parameter's declared type.
        let prog = self.prog;
        let param_types: Vec<Option<&TypeIr>> = match fids.first() {
            Some(&f) => prog.func(f).params.iter().map(|p| p.ty.as_ref()).collect(),
            None => Vec::new(),
        };
        let arg_values: Vec<Value> = args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let ty = param_types.get(i).copied().flatten();
                self.eval_expecting(a, ty, env, frame)
            })
            .collect();
        if !fids.is_empty() {
            if let Some(v) =
                self.modelled_program_fn(&fids, None, &arg_values, args, span, env, frame)
            {
                return v;
            }
            let fids = self.by_argument_types(fids, &arg_values);
            return self.call_user(&fids, arg_values, args, None, span, env, frame);
        }
        let full = self.prog.expand(frame.ctx, segs);
        let strings: Vec<Option<String>> = arg_values.iter().map(|v| v.text.clone()).collect();
        let rules: Vec<_> = self.rules.for_function(&full, &strings).collect();
        if let Some(v) = self.apply_rules(&rules, None, None, &arg_values, args, span, env, frame) {
            return v;
        }
        let last = segs.last().map_or("", Name::as_str);
        if let Some(v) = self.std_mem_call(&full, args, &arg_values, env) {
            return v;
        }
        // `Write::write_all(&mut stream, buf)`, `SinkExt::send(&mut ws, msg)`: a trait method
        // called with the receiver as first argument is that method call.
        let qualified =
            segs.len() >= 2 && segs[segs.len() - 2].starts_with(|c: char| c.is_ascii_uppercase());
        if let (true, Some((recv_value, rest))) = (qualified, arg_values.split_first()) {
            let rest_strings: Vec<Option<String>> = rest.iter().map(|v| v.text.clone()).collect();
            let rules: Vec<_> = self
                .rules
                .for_method(last, recv_value.kind, &rest_strings)
                .collect();
            if rules
                .iter()
                .any(|r| !matches!(r, crate::rules::index::RuleRef::Propagator(_)))
            {
                let recv_expr = args.first();
                let rest_exprs = args.get(1..).unwrap_or(&[]);
                if let Some(v) = self.apply_rules(
                    &rules,
                    recv_expr,
                    Some(recv_value),
                    rest,
                    rest_exprs,
                    span,
                    env,
                    frame,
                ) {
                    return v;
                }
            }
        }
        self.note_unexplained_path(&full, &arg_values, span, frame);
        let mut v = self.unknown_call(last, &arg_values, env, frame);
        self.write_through_mut_args(args, &v, env);
        if let [.., qualifier, _] = segs.as_slice() {
            // `Config::default()`, `Token::new(..)` of a program type with no such function of
            // its own (derived, or a trait's): a value of that type.
            let ty = if qualifier == "Self" {
                frame.f.self_ty
            } else {
                Some(*qualifier)
            };
            let constructor = matches!(last, "new" | "default" | "from" | "try_from");
            if let Some(ty) =
                ty.filter(|t| constructor && self.prog.is_program_type(frame.krate, t))
            {
                if v.ty.is_none() && v.kind.is_none() {
                    v.ty = Some(ty);
                }
            }
        }
        if last.chars().next().is_some_and(char::is_uppercase) {
            // A tuple struct or variant: `Wrapper(x)`, `Message::Text(x)`.
            if let Some(def) = self.prog.struct_def(frame.krate, last) {
                let mut s = Value {
                    ty: Some(def.name),
                    ..Value::default()
                };
                for (i, a) in arg_values.iter().enumerate() {
                    Arc::make_mut(&mut s.fields).insert(i.to_string().into(), a.clone());
                }
                return s;
            }
            if arg_values.len() == 1 {
                return arg_values[0].clone();
            }
        } else {
            self.name_source(
                &mut v,
                last,
                NameSite::Function,
                frame.ctx.file,
                span,
                frame.fid,
            );
        }
        v
    }

    /// A program function the rule pack models (`function: [my_sdk::Client::send]`, the user's
    /// own SDK wrapper named as a sink): the rule decides, not the function's body. Only
    /// sources, sinks and sanitizers take precedence; the path is the function's crate library
    /// name, module, `Self` type and name.
    #[allow(clippy::too_many_arguments)]
    fn modelled_program_fn(
        &mut self,
        fids: &[FnId],
        recv: Option<(&Expr, &Value)>,
        args: &[Value],
        arg_exprs: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Option<Value> {
        let name = self.prog.func(*fids.first()?).name;
        if !self.rules.may_matter(&name) {
            return None;
        }
        let strings: Vec<Option<String>> = args.iter().map(|v| v.text.clone()).collect();
        let rules: Vec<_> = fids
            .iter()
            .flat_map(|&f| {
                let path = self.prog.fn_path(f);
                self.rules
                    .for_function(&path, &strings)
                    .filter(|r| {
                        matches!(
                            r,
                            crate::rules::index::RuleRef::Sink(_)
                                | crate::rules::index::RuleRef::Source(_)
                                | crate::rules::index::RuleRef::Sanitizer(_)
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        if rules.is_empty() {
            return None;
        }
        let (recv_expr, rv) = recv.map_or((None, None), |(e, v)| (Some(e), Some(v)));
        self.apply_rules(&rules, recv_expr, rv, args, arg_exprs, span, env, frame)
    }

    /// Of several candidate functions, those whose declared parameter types name the program
    /// types the arguments have (`impl From<A> for T` and `impl From<B> for T` called with an
    /// `A`); all of them when none or every one fits.
    fn by_argument_types(&self, fids: Vec<FnId>, args: &[Value]) -> Vec<FnId> {
        if fids.len() < 2 {
            return fids;
        }
        let fits = |f: FnId| {
            let callee = self.prog.func(f);
            callee.params.iter().zip(args).all(|(p, a)| {
                let declared = p.ty.as_ref().and_then(|t| core_type(t).path.last());
                match (declared, a.type_name()) {
                    (Some(d), Some(t)) => d == t || d == "Self" || d.len() <= 2,
                    _ => true,
                }
            })
        };
        let fitting: Vec<FnId> = fids.iter().copied().filter(|&f| fits(f)).collect();
        if fitting.is_empty() {
            fids
        } else {
            fitting
        }
    }

    pub(super) fn eval_args(
        &mut self,
        args: &[Expr],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Vec<Value> {
        args.iter().map(|a| self.eval(a, env, frame)).collect()
    }

    pub(super) fn method(
        &mut self,
        recv: &Expr,
        name: &str,
        args: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let rv = self.eval(recv, env, frame);
        let arg_values = self.eval_args(args, env, frame);
        if name == "into" && args.is_empty() {
            if let Some(v) = self.convert_from(&rv, None, span, env, frame) {
                return v;
            }
        }
        self.method_on(recv, rv, name, arg_values, args, span, env, frame, 0)
    }

    /// `e` evaluated where a value of type `ty` is expected (`let x: T = e`, an argument of a
    /// parameter of type `T`): an `e.into()` there calls the program's `From<_> for T`.
    pub(super) fn eval_expecting(
        &mut self,
        e: &Expr,
        ty: Option<&TypeIr>,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let Expr::Method {
            recv,
            name,
            args,
            span,
        } = e
        else {
            return self.eval(e, env, frame);
        };
        let target = ty.and_then(|t| core_type(t).path.last().copied());
        let target = target.filter(|t| self.prog.is_program_type(frame.krate, t));
        if name != "into" || !args.is_empty() || target.is_none() {
            return self.eval(e, env, frame);
        }
        let rv = self.eval(recv, env, frame);
        if let Some(v) = self.convert_from(&rv, target.as_deref(), *span, env, frame) {
            return v;
        }
        let mut v = self.method_on(recv, rv, name, Vec::new(), args, *span, env, frame, 0);
        v.consent_check = self.rules.is_guard_name(name);
        v
    }

    /// `x.into()` (or `T::from(x)` seen as one): the program's `From` impls for the value's type
    /// and the expected type; `None` when the program has none that fits.
    pub(super) fn convert_from(
        &mut self,
        rv: &Value,
        target: Option<&str>,
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Option<Value> {
        let source = rv.type_name();
        if source.is_some() && source == target {
            return None;
        }
        let fids: Vec<FnId> = self
            .prog
            .from_impls(frame.krate, source, target)
            .into_iter()
            .filter(|&f| self.prog.func(f).params.len() == 1)
            .collect();
        if fids.is_empty() {
            return None;
        }
        let converted = self.call_user(&fids, vec![rv.clone()], &[], None, span, env, frame);
        if source.is_some() {
            return Some(converted);
        }
        // The value's own type is unknown: it may as well be converted by a library impl
        // (or be a `T` already), which passes it through.
        Some(converted.join(&rv.data_only()))
    }

    /// A method call on an evaluated receiver: the program's methods of the receiver's type, or
    /// of its `Deref` target, or (type unknown) the program's trait methods so named joined with
    /// the library's semantics; else the rule pack; else the unknown-method default.
    #[allow(clippy::too_many_arguments)]
    fn method_on(
        &mut self,
        recv: &Expr,
        rv: Value,
        name: &str,
        arg_values: Vec<Value>,
        args: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
        derefs: usize,
    ) -> Value {
        // Methods defined in the program, dispatched on the receiver's type when known.
        // On a receiver of unknown type, a name the rule pack knows (`push`, `get`, `map`) is far
        // more often the library method than a same-named method of some program type.
        let mut rv = rv;
        if rv
            .type_name()
            .is_some_and(|t| frame.f.generics.iter().any(|g| g.as_str() == t))
        {
            // `transport: &T` with `T: Transport`: a type parameter names no type; any of the
            // trait's implementations may be the receiver.
            rv.ty = None;
        }
        let typed = rv.type_name().is_some();
        let untyped_dispatch = !typed && !self.rules.knows_method(name);
        if rv.kind.is_none() && (typed || untyped_dispatch) {
            let fids: Vec<FnId> = self
                .prog
                .resolve_method(frame.krate, rv.type_name(), name)
                .into_iter()
                .filter(|&f| self.prog.func(f).params.len() == args.len() + 1)
                .collect();
            let dispatchable = !fids.is_empty() && (typed || self.untyped_dispatchable(&fids));
            if dispatchable {
                if let Some(v) = self.modelled_program_fn(
                    &fids,
                    Some((recv, &rv)),
                    &arg_values,
                    args,
                    span,
                    env,
                    frame,
                ) {
                    return v;
                }
            }
            // The type's own methods; else trait default methods so named, which may or may
            // not be the type's (its trait impl may define no function): a guess, like a name
            // on an untyped receiver.
            let own = rv.type_name().is_some_and(|t| {
                fids.iter()
                    .any(|&f| self.prog.func(f).self_ty.is_some_and(|s| s == t))
            });
            if typed && own {
                let mut all = Vec::with_capacity(args.len() + 1);
                all.push(rv);
                all.extend(arg_values);
                return self.call_user(&fids, all, args, Some(recv), span, env, frame);
            }
            if dispatchable {
                // The receiver may as well be a library value: the program's candidates join
                // the library's semantics, so a wrong guess never makes data disappear.
                let mut all = Vec::with_capacity(args.len() + 1);
                all.push(rv.clone());
                all.extend(arg_values.iter().cloned());
                let mut v = self.call_user(&fids, all, args, Some(recv), span, env, frame);
                let library =
                    self.library_method(recv, &rv, name, &arg_values, args, span, env, frame);
                v.join_in(&library);
                return v;
            }
            if typed && fids.is_empty() && derefs < MAX_DEREFS && !is_own_trait_method(name) {
                if let Some(inner) = self.deref_value(&rv, span, env, frame) {
                    return self.method_on(
                        NO_PLACE,
                        inner,
                        name,
                        arg_values,
                        args,
                        span,
                        env,
                        frame,
                        derefs + 1,
                    );
                }
            }
        }
        self.library_method(recv, &rv, name, &arg_values, args, span, env, frame)
    }

    /// Whether a method call on a receiver of unknown type may go to the program's candidates
    /// `fids`: a few of them, or the implementations of one trait.
    fn untyped_dispatchable(&self, fids: &[FnId]) -> bool {
        if fids.len() <= MAX_UNTYPED_DISPATCH {
            return true;
        }
        let first = self.prog.func(fids[0]).trait_name;
        fids.len() <= MAX_TRAIT_DISPATCH
            && first.is_some()
            && fids.iter().all(|&f| self.prog.func(f).trait_name == first)
    }

    /// What the program's `Deref` impl of the value's type gives, if it has one.
    fn deref_value(
        &mut self,
        rv: &Value,
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Option<Value> {
        let ty = rv.type_name()?;
        let fids: Vec<FnId> = self
            .prog
            .methods_of(frame.krate, ty, "deref")
            .iter()
            .copied()
            .filter(|&f| {
                let f = self.prog.func(f);
                f.params.len() == 1 && f.trait_name.is_some_and(|t| t == "Deref")
            })
            .collect();
        if fids.is_empty() {
            return None;
        }
        let mut inner = self.call_user(
            &fids,
            vec![rv.clone()],
            &[],
            Some(NO_PLACE),
            span,
            env,
            frame,
        );
        if inner.type_name() == Some(ty) {
            // A deref to the type itself would only loop.
            inner.ty = None;
        }
        Some(inner)
    }

    /// `.await`: a value of a program type with an `IntoFuture` impl runs its `into_future`.
    pub(super) fn await_value(
        &mut self,
        v: Value,
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let Some(ty) = v.type_name().filter(|_| v.kind.is_none()) else {
            return v;
        };
        let fids: Vec<FnId> = self
            .prog
            .methods_of(frame.krate, ty, "into_future")
            .iter()
            .copied()
            .filter(|&f| {
                let f = self.prog.func(f);
                f.params.len() == 1 && f.trait_name.is_some_and(|t| t == "IntoFuture")
            })
            .collect();
        if fids.is_empty() {
            return v;
        }
        let out = self.call_user(
            &fids,
            vec![v.clone()],
            &[],
            Some(NO_PLACE),
            span,
            env,
            frame,
        );
        // What went in stays with what comes out, as before the future was looked into.
        out.join(&v.data_only())
    }

    /// Calls program functions (several when dispatch is ambiguous) and joins their results.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn call_user(
        &mut self,
        fids: &[FnId],
        mut args: Vec<Value>,
        arg_exprs: &[Expr],
        recv: Option<&Expr>,
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        // A closure passed to another function runs there with the captures recorded when it
        // was created; what it returns without arguments also goes along as data, for callees
        // that hand it on to library code.
        for a in &mut args {
            if let Some(c) = a.closure {
                if c.0 == frame.fid {
                    let r = self.run_closure(c, &[], env, frame);
                    a.join_in(&r.data_only());
                }
            }
        }
        let mut out = Value::default();
        let mut first = true;
        let inert_args = args.iter().all(Value::is_deeply_inert);
        for &fid in fids {
            let callee = self.prog.func(fid);
            if inert_args && !self.relevance.relevant[fid] {
                // Nothing goes in that could flow, nothing inside could make a flow: only the
                // declared return type matters.
                self.analyzed[fid] = true;
                let ret = self.typed_at(
                    Value {
                        dynamic: true,
                        ..Value::default()
                    },
                    callee.ret.as_ref(),
                    self.prog.ctx_of(fid),
                    callee.self_ty,
                );
                if first {
                    out = ret;
                    first = false;
                } else {
                    out.join_in(&ret);
                }
                continue;
            }
            let note_in = format!("passed to `{}`", callee.name);
            let passed: Vec<Value> = args
                .iter()
                .map(|a| self.retag(a, frame.ctx.file, span, &note_in))
                .collect();
            let summary = self.analyze_fn(fid, passed, env.guarded);
            let note_out = format!("returned from `{}`", callee.name);
            let ret = self.retag(&summary.ret, frame.ctx.file, span, &note_out);
            if first {
                out = ret;
                first = false;
            } else {
                out.join_in(&ret);
            }
            for (i, new) in summary.params_out.iter().enumerate() {
                let Some(new) = new else { continue };
                let place = if recv.is_some() {
                    if i == 0 {
                        recv
                    } else {
                        arg_exprs.get(i - 1)
                    }
                } else {
                    arg_exprs.get(i)
                };
                if let Some(place) = place {
                    self.merge_into_place(place, new, env);
                }
            }
        }
        out
    }
}
