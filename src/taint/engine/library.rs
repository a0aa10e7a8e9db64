//! Library calls: the rule pack's transfer functions applied to a call, the defaults for a
//! call or method nothing explains, and the re-tagging of labels that records each hop.

use std::sync::Arc;

use super::closures::closure_params;
use super::dispatch::is_own_trait_method;
use super::{place_path, Engine, Frame};
use crate::ir::{Expr, Name, Span};
use crate::rules::index::NameSite;
use crate::taint::facts::Unexplained;
use crate::taint::lattice::{Value, MAX_FIELD_DEPTH};
use crate::taint::state::Env;

/// Methods of the standard collections, strings, options and channels that the rule pack does
/// not list: they keep data in the program, never send it.
fn is_std_container_method(name: &str) -> bool {
    matches!(
        name,
        "entry"
            | "remove"
            | "retain"
            | "truncate"
            | "chain"
            | "contains"
            | "contains_key"
            | "starts_with"
            | "ends_with"
            | "unwrap_or"
            | "unwrap_or_else"
            | "map_or"
            | "try_send"
            | "send_timeout"
            | "swap"
            | "replace"
            | "split"
            | "find"
            | "position"
            | "binary_search"
            | "sort_by"
            | "dedup_by"
            | "zip"
            | "copy_from_slice"
            | "clone_from_slice"
    )
}

impl<'p> Engine<'p> {
    /// The rule pack's semantics of a method call, or the unknown-method default.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn library_method(
        &mut self,
        recv: &Expr,
        rv: &Value,
        name: &str,
        arg_values: &[Value],
        args: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let strings: Vec<Option<String>> = arg_values.iter().map(|v| v.text.clone()).collect();
        let rules: Vec<_> = self.rules.for_method(name, rv.kind, &strings).collect();
        if let Some(v) = self.apply_rules(
            &rules,
            Some(recv),
            Some(rv),
            arg_values,
            args,
            span,
            env,
            frame,
        ) {
            return v;
        }
        self.unknown_method(name, rv, arg_values, args, span, env, frame)
    }

    /// A method no rule and no program function explains.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn unknown_method(
        &mut self,
        name: &str,
        rv: &Value,
        args: &[Value],
        arg_exprs: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        self.note_unexplained_method(name, rv, args, span, frame);
        let closure_args = closure_params(rv, args);
        let mut closure_results = Value::default();
        let mut others = Value::default();
        for a in args {
            if let Some(c) = a.closure {
                let r = self.run_closure(c, &closure_args, env, frame);
                closure_results.join_in(&r);
            } else {
                others.join_in(&a.data_only());
            }
        }
        let mut v = rv.clone();
        v.closure = None;
        v.join_in(&others);
        v.join_in(&closure_results);
        if !matches!(
            name,
            "to_string"
                | "to_owned"
                | "as_str"
                | "as_ref"
                | "into"
                | "clone"
                | "borrow"
                | "as_bytes"
                | "to_vec"
                | "into_bytes"
                | "as_slice"
                | "deref"
                | "trim"
                | "unwrap"
                | "expect"
                | "parse"
        ) {
            // The text is gone, but a URL's scheme and host still describe where a request
            // built from it goes (`"wss://..".into_client_request()`).
            if v.endpoint.is_none() {
                v.endpoint = rv
                    .text
                    .as_deref()
                    .map(crate::taint::transfer::endpoint_of)
                    .filter(|e| e.transport.is_some());
            }
            v.text = None;
            v.dynamic = v.dynamic || args.iter().any(|a| a.dynamic);
        }
        self.write_through_mut_args(arg_exprs, &rv.data_only(), env);
        if args.is_empty() {
            // A getter of a library type named for what it returns: `telephony.imei()`.
            self.name_source(
                &mut v,
                name,
                NameSite::Function,
                frame.ctx.file,
                span,
                frame.fid,
            );
        }
        v
    }

    /// A free function of another crate that nothing explains, called with a tainted argument
    /// (`reqwest_websocket::connect(url_with_imei)`): a possible blind spot. Functions of the
    /// standard library and of the scanned crates, bare names (`Some(x)`) and associated
    /// functions of types (`Box::new(x)`, `Message::text(x)`) are not: they are conversions and
    /// constructors, never network I/O of their own.
    pub(super) fn note_unexplained_path(
        &mut self,
        full: &[Name],
        args: &[Value],
        span: Span,
        frame: &Frame<'p>,
    ) {
        let [first, .., owner, _] = full else {
            return;
        };
        let first = first.as_str();
        // `Message::text(imei)` builds a value of the library that holds the data; where it
        // goes next (a method of the socket) is the edge, not the constructor.
        let associated = owner.starts_with(|c: char| c.is_ascii_uppercase());
        let external = !associated
            && first.starts_with(|c: char| c.is_ascii_lowercase())
            && !matches!(first, "std" | "core" | "alloc" | "crate" | "self" | "super")
            && self.prog.crate_named(first).is_none();
        if !external || !args.iter().any(Value::is_tainted) {
            return;
        }
        let call = full.iter().map(Name::as_str).collect::<Vec<_>>().join("::");
        self.note_unexplained(call, Some(first.to_string()), args, span, frame);
    }

    /// A method no rule and no program function explains, with a tainted argument, on a value
    /// whose type the code does not say (`ws.send(Message::text(imei))` on the socket an
    /// unmodelled library's `connect` returned). Not: a receiver of known type (a program type,
    /// or a standard one; the analysis does not tell a library type from those), a name the
    /// tree defines a method for (the program's, on a value whose type was lost), the standard
    /// traits' and containers' methods. On real trees those were nearly all of the calls.
    fn note_unexplained_method(
        &mut self,
        name: &str,
        rv: &Value,
        args: &[Value],
        span: Span,
        frame: &Frame<'p>,
    ) {
        if rv.type_name().is_some()
            || is_own_trait_method(name)
            || is_std_container_method(name)
            || !args.iter().any(Value::is_tainted)
            || self.prog.defines_method(frame.krate, name)
        {
            return;
        }
        self.note_unexplained(format!(".{name}()"), None, args, span, frame);
    }

    fn note_unexplained(
        &mut self,
        call: String,
        library: Option<String>,
        args: &[Value],
        span: Span,
        frame: &Frame<'p>,
    ) {
        let site = Unexplained {
            file: frame.ctx.file,
            span,
            func: frame.fid,
            call,
            library,
            source: 0,
        };
        self.facts.unexplained_call(site, args);
    }

    /// `std::mem::take(&mut x)` and `std::mem::replace(&mut x, new)`: the result is `x`, which
    /// becomes empty (or `new`): a strong update, so a taken identifier no longer sits in `x`.
    pub(super) fn std_mem_call(
        &mut self,
        full: &[Name],
        args: &[Expr],
        values: &[Value],
        env: &mut Env,
    ) -> Option<Value> {
        let name = full.last()?.as_str();
        let is_mem = full.len() < 2 || full[full.len() - 2] == "mem";
        if !is_mem || !matches!(name, "take" | "replace") {
            return None;
        }
        let Some(Expr::MutRef(place)) = args.first() else {
            return None;
        };
        let old = values.first().cloned().unwrap_or_default();
        let new = if name == "replace" {
            values.get(1).cloned().unwrap_or_default()
        } else {
            Value::default()
        };
        self.write_place(place, new, env, true);
        Some(old)
    }

    /// An unknown callee may write what it has into `&mut` arguments (`read_line(&mut buf)`).
    pub(super) fn write_through_mut_args(
        &mut self,
        arg_exprs: &[Expr],
        data: &Value,
        env: &mut Env,
    ) {
        for e in arg_exprs {
            if let Expr::MutRef(inner) = e {
                if let Some((root, path)) = place_path(inner) {
                    let mut old = env.vars.get(&root).cloned().unwrap_or_default();
                    for seg in &path {
                        old = old.field(seg);
                    }
                    // The argument keeps what it is (a stream stays a stream) and gains the data.
                    let mut new = old;
                    new.join_in(&data.data_only());
                    new.text = None;
                    new.dynamic = true;
                    self.write_place(inner, new, env, true);
                }
            }
        }
    }

    /// A free function no rule and no program function explains: the result carries the arguments.
    pub(super) fn unknown_call(
        &mut self,
        name: &str,
        args: &[Value],
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let mut data = Value::default();
        for a in args.iter().filter(|a| a.closure.is_none()) {
            let serialized = self.serialized(a, frame.krate);
            data.join_in(&serialized);
        }
        let mut v = data.clone();
        for a in args {
            if let Some(c) = a.closure {
                let r = self.run_closure(c, &[data.clone()], env, frame);
                v.join_in(&r.data_only());
            }
        }
        // Conversions of constants stay constants; anything else (reading a file named by a
        // literal path) is data.
        let conversion = matches!(
            name,
            "from"
                | "new"
                | "parse"
                | "to_string"
                | "to_owned"
                | "into"
                | "default"
                | "with_capacity"
        );
        v.dynamic = !conversion || args.iter().any(|a| a.dynamic);
        if let [only] = args {
            // `String::from(URL)`, `Url::parse(URL)`: the text survives a one-argument call, and
            // a wrapped network object stays one (`tokio::io::split(stream)`, `Box::pin(ws)`).
            v.text.clone_from(&only.text);
            v.kind = only.kind;
            v.endpoint.clone_from(&only.endpoint);
        }
        if v.endpoint.is_none() {
            // `Url::parse_with_params(URL, &params)`: a URL argument still says where it goes.
            v.endpoint = args
                .iter()
                .find_map(|a| a.text.as_deref().filter(|t| t.contains("://")))
                .map(crate::taint::transfer::endpoint_of)
                .filter(|e| e.transport.is_some());
        }
        v
    }

    /// A copy of `v` whose labels point to a new trace node at `span`.
    pub(super) fn retag(&mut self, v: &Value, file: usize, span: Span, note: &str) -> Value {
        if !v.is_tainted() {
            return v.clone();
        }
        let mut out = v.clone();
        let note = self.facts.note(note);
        self.retag_in(&mut out, file, span, note, 0);
        out
    }

    pub(super) fn retag_in(
        &mut self,
        v: &mut Value,
        file: usize,
        span: Span,
        note: crate::taint::facts::NoteId,
        depth: usize,
    ) {
        for l in &mut v.labels {
            l.via = self.facts.trace_node(l, file, span, note);
        }
        // Only tainted fields get new trace nodes; leaving the others alone also keeps their
        // shared field maps shared instead of copying them.
        if depth < MAX_FIELD_DEPTH && v.fields.values().any(Value::is_tainted) {
            for f in Arc::make_mut(&mut v.fields).iter_mut().map(|(_, v)| v) {
                if f.is_tainted() {
                    self.retag_in(f, file, span, note, depth + 1);
                }
            }
        }
    }

    /// Applies matched rules to a call; `None` when no rule matched.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_rules(
        &mut self,
        rules: &[crate::rules::index::RuleRef],
        recv: Option<&Expr>,
        rv: Option<&Value>,
        args: &[Value],
        arg_exprs: &[Expr],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Option<Value> {
        if rules.is_empty() {
            return None;
        }
        // A sink that takes a closure sends what the closure captured (curl's
        // `read_function(move |buf| body.read(buf))` sends `body`).
        let captured: Option<Vec<Value>> = (rules
            .iter()
            .any(|r| matches!(r, crate::rules::index::RuleRef::Sink(_)))
            && args.iter().any(|a| a.closure.is_some()))
        .then(|| {
            args.iter()
                .map(|a| match a.closure {
                    Some(c) => self.closure_captures(c, env, frame),
                    None => a.clone(),
                })
                .collect()
        });
        let args = captured.as_deref().unwrap_or(args);
        let call = crate::taint::transfer::CallSite {
            recv: rv,
            args,
            span,
            file: frame.ctx.file,
            fid: frame.fid,
            krate: frame.krate,
            guarded: env.guarded,
        };
        let effect =
            crate::taint::transfer::apply(&mut self.facts, self.prog, self.rules, rules, &call);
        if let (Some(place), Some(update)) = (recv, effect.receiver_update) {
            self.write_place(place, update, env, true);
        }
        for (k, update) in effect.arg_updates {
            if let Some(Expr::MutRef(place)) = arg_exprs.get(k) {
                self.write_place(place, update, env, true);
            }
        }
        // `map(str::to_owned)` passes no closure: then the default (receiver and arguments) holds.
        let closure_result = effect.closure_result
            && effect.result.is_none()
            && args.iter().any(|a| a.closure.is_some());
        let mut result = match effect.result {
            Some(v) => v,
            None if closure_result => {
                let closure_args = closure_params(rv.unwrap_or(&Value::default()), args);
                let mut v = Value::default();
                for a in args {
                    match a.closure {
                        Some(c) => {
                            let r = self.run_closure(c, &closure_args, env, frame);
                            v.join_in(&r);
                        }
                        None => {
                            v.join_in(&a.data_only());
                        }
                    }
                }
                v
            }
            None => match rv {
                Some(r) => {
                    let r = r.clone();
                    let mut v = r.clone();
                    v.closure = None;
                    for a in args {
                        match a.closure {
                            Some(c) => {
                                let c = self.run_closure(c, std::slice::from_ref(&r), env, frame);
                                v.join_in(&c.data_only());
                            }
                            None => {
                                v.join_in(&a.data_only());
                            }
                        }
                    }
                    v.text = None;
                    v
                }
                None => self.unknown_call("", args, env, frame),
            },
        };
        for l in effect.labels {
            result.add_label(l);
        }
        Some(result)
    }
}
