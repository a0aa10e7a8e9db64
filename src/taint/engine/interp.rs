//! The expression interpreter: statements, blocks, pattern bindings, expressions and places,
//! flow-sensitively over [`Env`]; branches are joined and loops iterated to a fixpoint.

use std::sync::Arc;

use super::{Engine, Frame};
use crate::graph::Ctx;
use crate::ir::{BinOp, Block, Expr, FnIr, Name, Pat, Span, Stmt};
use crate::rules::index::NameSite;
use crate::taint::lattice::{Value, MAX_FIELD_DEPTH};
use crate::taint::state::{Env, Vars};

/// Loop bodies are re-analysed at most this many times before the environment is widened.
const MAX_LOOP_ROUNDS: usize = 4;

impl<'p> Engine<'p> {
    pub(super) fn block(&mut self, block: &Block, env: &mut Env, frame: &mut Frame<'p>) -> Value {
        let mut shadowed: Vec<(Name, Option<Value>)> = Vec::new();
        let mut value = Value::default();
        let last = block.stmts.len().saturating_sub(1);
        for (i, stmt) in block.stmts.iter().enumerate() {
            if !env.live {
                break;
            }
            match stmt {
                Stmt::Let(local) => {
                    let crate::ir::Local { pat, ty, init, els } = &**local;
                    let v = match init {
                        Some(e) => self.eval_expecting(e, ty.as_ref(), env, frame),
                        None => Value::default(),
                    };
                    let mut v = self.typed(v, ty.as_ref(), frame);
                    if let Pat::Bind { span, .. } = pat {
                        self.type_source(&mut v, ty.as_ref(), *span, frame);
                    }
                    if let Some(els) = els {
                        let mut else_env = env.clone();
                        self.block(els, &mut else_env, frame);
                    }
                    let mut names = Vec::new();
                    pat_names(pat, &mut names);
                    for n in names {
                        if !shadowed.iter().any(|(s, _)| s == &n) {
                            shadowed.push((n, env.vars.get(&n).cloned()));
                        }
                    }
                    self.bind(pat, v, env, frame, NameSite::Local);
                }
                Stmt::Expr { expr, semi } => {
                    let v = self.eval(expr, env, frame);
                    if i == last && !semi {
                        value = v;
                    }
                    // `consent.require(Purpose::Ads)?;`: a check whose failure returns early.
                    if let Expr::Wrap(inner) = expr {
                        if *semi && self.guard_polarity(inner, env) == Some(true) {
                            env.guarded = true;
                        }
                    }
                }
            }
        }
        for (name, old) in shadowed {
            match old {
                Some(v) => {
                    env.vars.insert(name, v);
                }
                None => {
                    env.vars.remove(&name);
                }
            }
        }
        value
    }

    /// Binds a pattern to a value: tuple and struct patterns take the matching fields.
    pub(super) fn bind(
        &mut self,
        pat: &Pat,
        value: Value,
        env: &mut Env,
        frame: &Frame<'p>,
        site: NameSite,
    ) {
        match pat {
            Pat::Bind { name, span, sub } => {
                if let Some(sub) = sub {
                    self.bind(sub, value.clone(), env, frame, site);
                }
                let mut value = value;
                if name != "self" {
                    self.name_source(&mut value, name, site, frame.ctx.file, *span, frame.fid);
                }
                env.vars.insert(*name, value);
            }
            Pat::Tuple(elems) | Pat::Slice(elems) => {
                for (i, p) in elems.iter().enumerate() {
                    let v = if value.fields.is_empty() {
                        value.clone()
                    } else {
                        value.field(&i.to_string())
                    };
                    self.bind(p, v, env, frame, site);
                }
            }
            Pat::TupleStruct { elems, .. } => {
                for (i, p) in elems.iter().enumerate() {
                    let key = i.to_string();
                    let v = if value.fields.contains_key(key.as_str()) && value.ty.is_some() {
                        value.field(&key)
                    } else {
                        value.clone()
                    };
                    self.bind(p, v, env, frame, site);
                }
            }
            Pat::Struct { fields, .. } => {
                for (name, p) in fields {
                    let v = value.field(name);
                    self.bind(p, v, env, frame, site);
                }
            }
            Pat::Or(alts) => {
                if let Some(first) = alts.first() {
                    self.bind(first, value, env, frame, site);
                }
            }
            Pat::Ignore => {}
        }
    }

    #[allow(clippy::too_many_lines)]
    pub(super) fn eval(&mut self, expr: &Expr, env: &mut Env, frame: &mut Frame<'p>) -> Value {
        if !env.live {
            return Value::default();
        }
        match expr {
            Expr::Lit(crate::ir::Lit::Str(s)) => Value::text(s),
            Expr::Lit(crate::ir::Lit::Other | crate::ir::Lit::Bool(_)) => Value::default(),
            Expr::Path { segs, span } => self.path_value(segs, *span, env, frame),
            Expr::Field { base, name, span } => {
                let b = self.eval(base, env, frame);
                let mut v = b.field(name);
                if !b.fields.contains_key(name) {
                    // Not set where this value was built: what any code stored into this field
                    // of this type (the heap).
                    if let Some(stored) = b
                        .type_name()
                        .and_then(|t| self.facts.load_heap(Name::from(t), *name))
                    {
                        v.join_in(&stored);
                    }
                }
                if v.kind.is_none() && v.ty.is_none() {
                    if let Some(ty) = b
                        .type_name()
                        .and_then(|t| self.field_type(frame.krate, t, name))
                    {
                        v = self.typed(v, Some(&ty), frame);
                    }
                }
                self.field_sources(&mut v, b.type_name().map(Name::from), name, *span, frame);
                self.name_source(
                    &mut v,
                    name,
                    NameSite::Field,
                    frame.ctx.file,
                    *span,
                    frame.fid,
                );
                v.consent_check = self.rules.is_guard_name(name);
                v
            }
            Expr::Index { base, index } => {
                self.eval(index, env, frame);
                self.eval(base, env, frame)
            }
            Expr::Call { func, args, span } => {
                let mut v = self.call(func, args, *span, env, frame);
                if let Expr::Path { segs, .. } = &**func {
                    v.consent_check = segs.last().is_some_and(|n| self.rules.is_guard_name(n));
                }
                v
            }
            Expr::Method {
                recv,
                name,
                args,
                span,
            } => {
                let mut v = self.method(recv, name, args, *span, env, frame);
                v.consent_check = self.rules.is_guard_name(name);
                v
            }
            Expr::Macro {
                name,
                args,
                format,
                span,
            } => self.macro_call(name, args, format.as_deref(), *span, env, frame),
            Expr::Struct { path, fields, rest } => {
                let mut v = match rest {
                    Some(r) => self.eval(r, env, frame),
                    None => Value::default(),
                };
                v.text = None;
                let ty = path.last().map(|l| {
                    if l == "Self" {
                        frame.f.self_ty.unwrap_or_default()
                    } else {
                        *l
                    }
                });
                for (name, e, span) in fields {
                    let mut fv = self.eval(e, env, frame);
                    if path.is_empty() {
                        // A `json!` key is the name the value is sent under.
                        let wire = crate::rules::index::snake_case(name);
                        self.name_source(
                            &mut fv,
                            &wire,
                            NameSite::Wire,
                            frame.ctx.file,
                            *span,
                            frame.fid,
                        );
                    } else {
                        self.field_sources(&mut fv, ty, name, *span, frame);
                    }
                    self.name_source(
                        &mut fv,
                        name,
                        NameSite::Field,
                        frame.ctx.file,
                        *span,
                        frame.fid,
                    );
                    Arc::make_mut(&mut v.fields).insert(*name, fv);
                }
                v.ty = ty;
                v.truncate(MAX_FIELD_DEPTH);
                if let Some(ty) = v.ty.filter(|t| !t.is_empty()) {
                    for (name, field) in v.fields.iter() {
                        self.facts.store_heap(ty, *name, field);
                    }
                }
                v
            }
            Expr::Tuple(elems) => {
                let mut v = Value::default();
                for (i, e) in elems.iter().enumerate() {
                    let ev = self.eval(e, env, frame);
                    Arc::make_mut(&mut v.fields).insert(i.to_string().into(), ev);
                }
                v.truncate(MAX_FIELD_DEPTH);
                v
            }
            Expr::Array(elems) => {
                let mut v = Value::default();
                for (i, e) in elems.iter().enumerate() {
                    let ev = self.eval(e, env, frame);
                    if i == 0 {
                        v = ev;
                    } else {
                        v.join_in(&ev);
                    }
                }
                v
            }
            Expr::Wrap(inner) | Expr::MutRef(inner) => self.eval(inner, env, frame),
            Expr::Await { base, span } => {
                let v = self.eval(base, env, frame);
                self.await_value(v, *span, env, frame)
            }
            Expr::Not(inner) => {
                self.eval(inner, env, frame);
                Value::default()
            }
            Expr::Binary { op, l, r } => {
                let lv = self.eval(l, env, frame);
                let rv = self.eval(r, env, frame);
                match op {
                    BinOp::Compare | BinOp::NotEqual | BinOp::And | BinOp::Or => Value::default(),
                    BinOp::Combine => {
                        let mut v = lv.data_only().join(&rv.data_only());
                        v.text = match (&lv.text, &rv.text) {
                            (Some(a), Some(b)) => Some(format!("{a}{b}")),
                            _ => None,
                        };
                        v
                    }
                }
            }
            Expr::Assign {
                place,
                value,
                compound,
            } => {
                let v = self.eval(value, env, frame);
                if *compound {
                    let mut old = self.eval(place, env, frame);
                    let text = match (&old.text, &v.text) {
                        (Some(a), Some(b)) => Some(format!("{a}{b}")),
                        _ => None,
                    };
                    old.join_in(&v.data_only());
                    old.text = text;
                    self.write_place(place, old, env, true);
                } else {
                    self.write_place(place, v, env, true);
                }
                Value::default()
            }
            Expr::If { cond, then, els } => self.if_expr(cond, then, els.as_deref(), env, frame),
            Expr::Let { pat, expr } => {
                let v = self.eval(expr, env, frame);
                self.bind(pat, v, env, frame, NameSite::Local);
                Value::default()
            }
            Expr::Match { scrut, arms } => {
                let sv = self.eval(scrut, env, frame);
                let mut out_env: Option<Env> = None;
                let mut out = Value::default();
                for arm in arms {
                    let mut arm_env = env.clone();
                    if self.pat_is_guard(&arm.pat) {
                        arm_env.guarded = true;
                    }
                    self.bind(&arm.pat, sv.clone(), &mut arm_env, frame, NameSite::Local);
                    if let Some(g) = &arm.guard {
                        self.eval(g, &mut arm_env, frame);
                    }
                    let v = self.eval(&arm.body, &mut arm_env, frame);
                    if arm_env.live {
                        out.join_in(&v);
                    }
                    out_env = Some(match out_env {
                        Some(e) => Env::join(&e, &arm_env),
                        None => arm_env,
                    });
                }
                if let Some(e) = out_env {
                    *env = e;
                }
                out
            }
            Expr::For { pat, iter, body } => {
                let mut it = self.eval(iter, env, frame);
                if let Some(cell) = it.cell {
                    // `for msg in rx`: the loop receives from the channel.
                    let received = self.facts.load_cell(cell);
                    it.join_in(&received);
                }
                self.looped(env, frame, |this, env, frame| {
                    this.bind(pat, it.clone(), env, frame, NameSite::Local);
                    this.block(body, env, frame);
                });
                Value::default()
            }
            Expr::While { cond, body } => {
                self.looped(env, frame, |this, env, frame| {
                    if let Some(c) = cond {
                        let guard = this.guard_polarity(c, env);
                        this.eval(c, env, frame);
                        if guard == Some(true) {
                            env.guarded = true;
                        }
                    }
                    this.block(body, env, frame);
                });
                Value::default()
            }
            Expr::Block(b) => self.block(b, env, frame),
            Expr::Closure(idx) => {
                self.captures.insert((frame.fid, *idx), env.vars.clone());
                Value {
                    closure: Some((frame.fid, *idx)),
                    ..Value::default()
                }
            }
            Expr::Return(e) => {
                let v = match e {
                    Some(e) => self.eval(e, env, frame),
                    None => Value::default(),
                };
                frame.ret.join_in(&v);
                env.live = false;
                Value::default()
            }
            Expr::Break(e) => {
                if let Some(e) = e {
                    self.eval(e, env, frame);
                }
                if let Some(exits) = frame.loop_exits.last_mut() {
                    exits.push(env.clone());
                }
                env.live = false;
                Value::default()
            }
            Expr::Unknown => Value::default(),
        }
    }

    /// Runs a loop body until the environment stops growing; breaks join into the exit.
    pub(super) fn looped(
        &mut self,
        env: &mut Env,
        frame: &mut Frame<'p>,
        mut body: impl FnMut(&mut Self, &mut Env, &mut Frame<'p>),
    ) {
        let mut current = env.clone();
        for _ in 0..MAX_LOOP_ROUNDS {
            frame.loop_exits.push(Vec::new());
            let mut iteration = current.clone();
            body(self, &mut iteration, frame);
            let exits = frame.loop_exits.pop().unwrap_or_default();
            let mut next = Env::join(&current, &iteration);
            for e in &exits {
                next = Env::join(&next, e);
            }
            next.live = true;
            next.guarded = current.guarded;
            if next == current {
                break;
            }
            current = next;
        }
        *env = current;
    }

    pub(super) fn eval_detached(&mut self, ctx: Ctx, expr: &Expr) -> Value {
        static NO_FN: std::sync::LazyLock<FnIr> = std::sync::LazyLock::new(|| FnIr {
            name: String::new().into(),
            scope: 0,
            self_ty: None,
            trait_name: None,
            params: Vec::new(),
            ret: None,
            body: Block::default(),
            closures: Vec::new(),
            span: Span::default(),
            entry: false,
            public: false,
            generics: Vec::new(),
        });
        let mut frame = Frame {
            fid: 0,
            f: &NO_FN,
            ctx,
            krate: self.prog.crate_of(ctx),
            ret: Value::default(),
            loop_exits: Vec::new(),
        };
        let mut env = Env {
            vars: Vars::new(),
            guarded: false,
            live: true,
        };
        self.eval(expr, &mut env, &mut frame)
    }

    /// Writes `value` to the place `place` names (a local and a field path); `strong` replaces.
    pub(super) fn write_place(&mut self, place: &Expr, value: Value, env: &mut Env, strong: bool) {
        let Some((root, path)) = place_path(place) else {
            // `*req.uri_mut() = uri`, `req.headers_mut().insert(..)`: a write through an
            // accessor rule's result reaches its receiver (joined: the view is part of it).
            let mut e = place;
            while let Expr::Wrap(inner) | Expr::MutRef(inner) = e {
                e = inner;
            }
            if let Expr::Method {
                recv, name, args, ..
            } = e
            {
                if args.is_empty() && self.rules.is_accessor(name) {
                    self.write_place(recv, value.data_only(), env, false);
                }
            }
            return;
        };
        let Some(slot) = env.vars.get_mut(&root) else {
            if path.is_empty() {
                env.vars.insert(root, value);
            }
            return;
        };
        let mut target = slot;
        for (i, seg) in path.iter().enumerate() {
            if i >= MAX_FIELD_DEPTH {
                target.join_in(&value.folded());
                return;
            }
            target = Arc::make_mut(&mut target.fields).entry(*seg).or_default();
        }
        if strong {
            *target = value;
        } else {
            target.join_in(&value);
        }
        if let Some(slot) = env.vars.get_mut(&root) {
            slot.truncate(MAX_FIELD_DEPTH);
        }
        self.store_place_in_heap(root, &path, env);
    }

    /// After a write to `root.a.b`: the heap learns what each field on the way now holds, for
    /// the values whose type is known (`self.options.server_name = ..` in a setter is seen by
    /// every method that reads `options` of that type).
    fn store_place_in_heap(&mut self, root: Name, path: &[Name], env: &Env) {
        let Some(mut current) = env.vars.get(&root) else {
            return;
        };
        for seg in path {
            let Some(child) = current.fields.get(seg) else {
                return;
            };
            if let Some(ty) = current.type_name() {
                self.facts.store_heap(Name::from(ty), *seg, child);
            }
            current = child;
        }
    }

    /// Joins `value` into the place `place` names (mutation through a method like `push_str`).
    pub(super) fn merge_into_place(&mut self, place: &Expr, value: &Value, env: &mut Env) {
        if let Some((root, path)) = place_path(place) {
            if !env.vars.contains_key(&root) && path.is_empty() {
                return;
            }
            self.write_place(place, value.clone(), env, false);
        }
    }
}

/// The local and field path an assignable expression names (`self.a.b` → `self`, `[a, b]`).
pub(super) fn place_path(e: &Expr) -> Option<(Name, Vec<Name>)> {
    match e {
        Expr::Path { segs, .. } if segs.len() == 1 => Some((segs[0], Vec::new())),
        Expr::Field { base, name, .. } => {
            let (root, mut path) = place_path(base)?;
            path.push(*name);
            Some((root, path))
        }
        Expr::Wrap(inner) | Expr::MutRef(inner) | Expr::Index { base: inner, .. } => {
            place_path(inner)
        }
        Expr::Method {
            recv, name, args, ..
        } if args.is_empty()
            && matches!(
                name.as_str(),
                "as_mut" | "borrow_mut" | "lock" | "unwrap" | "get_mut" | "write"
            ) =>
        {
            place_path(recv)
        }
        _ => None,
    }
}

pub(super) fn pat_names(p: &Pat, out: &mut Vec<Name>) {
    match p {
        Pat::Bind { name, sub, .. } => {
            out.push(*name);
            if let Some(s) = sub {
                pat_names(s, out);
            }
        }
        Pat::Tuple(ps) | Pat::Slice(ps) | Pat::Or(ps) | Pat::TupleStruct { elems: ps, .. } => {
            ps.iter().for_each(|p| pat_names(p, out))
        }
        Pat::Struct { fields, .. } => fields.iter().for_each(|(_, p)| pat_names(p, out)),
        Pat::Ignore => {}
    }
}
