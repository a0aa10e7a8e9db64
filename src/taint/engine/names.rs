//! What names and types say about a value: paths to locals, consts and function items, the kind
//! or user type a declared type gives, and the identifier sources a name denotes
//! (`let imei = ..`, `fn device_id()`).

use super::{Engine, Frame, FN_ITEM};
pub(super) use crate::graph::core_type;
use crate::graph::{Ctx, FnId};
use crate::ir::{Name, Span, TypeIr};
use crate::rules::index::{snake_case, NameSite};
use crate::taint::lattice::Value;
use crate::taint::state::Env;
use crate::taint::transfer::serde_skip;

impl<'p> Engine<'p> {
    pub(super) fn path_value(
        &mut self,
        segs: &[Name],
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        if segs.len() == 1 {
            if let Some(v) = env.vars.get(&segs[0]) {
                return v.clone();
            }
        }
        if let Some(v) = self.const_value(frame.ctx, segs) {
            return v;
        }
        let full = self.prog.expand(frame.ctx, segs);
        let rules: Vec<_> = self.rules.for_path(&full).collect();
        if !rules.is_empty() {
            return self
                .apply_rules(&rules, None, None, &[], &[], span, env, frame)
                .unwrap_or_default();
        }
        // A function item used as a value (`.filter_map(read_slot)`): callable like a closure.
        if let Some(&fid) = self
            .prog
            .resolve_fn(frame.ctx, segs, frame.f.self_ty.as_deref())
            .first()
        {
            return Value {
                closure: Some((fid, FN_ITEM)),
                ..Value::default()
            };
        }
        let last = segs.last().map_or("", Name::as_str);
        if last.chars().next().is_some_and(char::is_uppercase) {
            let ty = if last == "Self" {
                frame.f.self_ty
            } else {
                Some(Name::from(last))
            };
            return Value {
                ty,
                ..Value::default()
            };
        }
        Value::default()
    }

    pub(super) fn const_value(&mut self, ctx: Ctx, segs: &[Name]) -> Option<Value> {
        let first = segs.first()?;
        if !first.chars().next().is_some_and(|c| c.is_uppercase()) && segs.len() == 1 {
            return None;
        }
        let (cctx, c) = self.prog.resolve_const(ctx, segs)?;
        let key = (cctx.file, cctx.scope, c.name);
        if let Some(v) = self.consts.get(&key) {
            return Some(v.clone());
        }
        // Consts are evaluated once, in an empty environment of no function.
        self.consts.insert(key, Value::default());
        let v = self.eval_detached(cctx, &c.init);
        self.consts.insert(key, v.clone());
        Some(v)
    }

    /// Gives `v` the kind and user type its declared type says, when it has none.
    pub(super) fn typed(&self, v: Value, ty: Option<&TypeIr>, frame: &Frame<'p>) -> Value {
        self.typed_at(v, ty, frame.ctx, frame.f.self_ty)
    }

    /// [`Engine::typed`] for a type written in context `ctx`, where `Self` is `self_ty`.
    pub(super) fn typed_at(
        &self,
        mut v: Value,
        ty: Option<&TypeIr>,
        ctx: Ctx,
        self_ty: Option<Name>,
    ) -> Value {
        let Some(ty) = ty else { return v };
        let core = core_type(ty);
        if core.path.is_empty() {
            return v;
        }
        if core.path.len() == 1 && core.path[0] == "Self" {
            if v.ty.is_none() {
                v.ty = self_ty;
            }
            return v;
        }
        if v.kind.is_none() {
            let full = self.prog.expand(ctx, &core.path);
            v.kind = self.rules.kind_of_type(&full);
        }
        if v.ty.is_none() && v.kind.is_none() {
            if let Some(last) = core.path.last() {
                let krate = self.prog.crate_of(ctx);
                // `Self::Request` names the impl's associated type; `Api` may be an alias.
                let owner = (core.path.len() == 2 && core.path[0] == "Self")
                    .then_some(self_ty)
                    .flatten();
                if owner.is_none() && self.prog.is_program_type(krate, last) {
                    v.ty = Some(*last);
                } else if let Some(target) = self
                    .prog
                    .type_alias(krate, owner.as_deref(), last)
                    .map(core_type)
                    .and_then(|t| t.path.last())
                    .filter(|t| self.prog.is_program_type(krate, t))
                {
                    // `type Api = Client<Json>;`
                    v.ty = Some(*target);
                }
            }
        }
        v
    }

    /// The data of `v` as a serializer sees it: `#[serde(skip)]` fields left out.
    pub(super) fn serialized(&self, v: &Value, krate: usize) -> Value {
        let has_skips = v
            .type_name()
            .and_then(|t| self.prog.struct_def(krate, t))
            .is_some_and(|d| d.fields.iter().any(|f| f.skip_serializing));
        if has_skips {
            Value {
                labels: v.flatten(&serde_skip(self.prog, krate)),
                ..Value::default()
            }
        } else {
            v.data_only()
        }
    }

    pub(super) fn field_type(&self, krate: usize, ty: &str, field: &str) -> Option<TypeIr> {
        let def = self.prog.struct_def(krate, ty)?;
        def.fields
            .iter()
            .find(|f| f.name == field)
            .map(|f| f.ty.clone())
    }

    /// Adds a name-source label to `v` when `name` says it holds an identifier and `v` does not
    /// already carry that category (and is not a literal constant).
    pub(super) fn name_source(
        &mut self,
        v: &mut Value,
        name: &str,
        site: NameSite,
        file: usize,
        span: Span,
        fid: FnId,
    ) {
        if !v.dynamic || v.closure.is_some() {
            return;
        }
        let matches: Vec<usize> = self
            .rules
            .name_sources(name, site)
            .filter(|n| !(n.not_from_env && v.env_only))
            .map(|n| n.rule)
            .collect();
        self.add_source_labels(v, &matches, file, span, fid);
    }

    /// Adds a label when a rule names parameter `name` of the function being analysed as a
    /// source (a library's own API documented to take this host's name).
    pub(super) fn param_source(
        &mut self,
        v: &mut Value,
        name: &str,
        span: Span,
        frame: &Frame<'p>,
    ) {
        if v.closure.is_some() || !self.rules.has_param_sources(&frame.f.name) {
            return;
        }
        let path = self.prog.fn_path(frame.fid);
        let rules: Vec<usize> = self.rules.param_sources(&path, name).collect();
        if !rules.is_empty() {
            self.add_source_labels(v, &rules, frame.ctx.file, span, frame.fid);
        }
    }

    /// Adds a label of each source rule in `rules` whose category `v` does not carry yet.
    fn add_source_labels(
        &mut self,
        v: &mut Value,
        rules: &[usize],
        file: usize,
        span: Span,
        fid: FnId,
    ) {
        for &rule in rules {
            let category = self.rules.source_category(rule);
            let present = v
                .flatten(&|_, _| false)
                .iter()
                .any(|l| self.facts.label_category(l) == category);
            if !present {
                let label = self.facts.new_label(self.rules, rule, file, span, fid);
                v.add_label(label);
            }
        }
    }
}

impl<'p> Engine<'p> {
    /// Adds a type-source label to `v` when its declared type `ty` says it holds an identifier:
    /// the type itself, an element or generic argument (`&[OwnedDeviceId]`, `Vec<E164>`,
    /// `Option<PhoneNumber>`) or a trait bound's argument (`impl Into<DeviceIdOrAllDevices>`).
    pub(super) fn type_source(
        &mut self,
        v: &mut Value,
        ty: Option<&TypeIr>,
        span: Span,
        frame: &Frame<'p>,
    ) {
        let Some(ty) = ty else { return };
        // A literal constant is no identifier; a tuple struct built around data (`E164(raw)`)
        // is data.
        let data = v.dynamic || v.fields.values().any(|f| f.dynamic);
        if !self.rules.has_type_sources() || !data || v.closure.is_some() {
            return;
        }
        let mut rules = Vec::new();
        let mut stack = vec![(ty, 0usize)];
        while let Some((t, depth)) = stack.pop() {
            if let Some(last) = t.path.last() {
                let candidates = self.rules.type_sources(last);
                if !candidates.is_empty() {
                    let full = self.prog.expand(frame.ctx, &t.path);
                    for ts in candidates {
                        if ts.field.is_none() && self.type_from(ts.krate.as_deref(), &full, frame) {
                            rules.push(ts.rule);
                        }
                    }
                }
            }
            if depth < 4 {
                stack.extend(t.args.iter().map(|a| (a, depth + 1)));
            }
        }
        self.add_source_labels(v, &rules, frame.ctx.file, span, frame.fid);
    }

    /// Adds a type-source label to `v`, field `field` of a value of program type `ty`, when a
    /// rule names that field of that type (`web_push::SubscriptionInfo` + `endpoint`).
    pub(super) fn field_type_source(
        &mut self,
        v: &mut Value,
        ty: Option<Name>,
        field: &str,
        span: Span,
        frame: &Frame<'p>,
    ) {
        let Some(ty) = ty.filter(|t| !t.is_empty()) else {
            return;
        };
        if !v.dynamic || v.closure.is_some() {
            return;
        }
        let rules: Vec<usize> = self
            .rules
            .type_sources(&ty)
            .iter()
            .filter(|ts| {
                ts.field.as_deref() == Some(field)
                    && self.type_from(ts.krate.as_deref(), std::slice::from_ref(&ty), frame)
            })
            .map(|ts| ts.rule)
            .collect();
        self.add_source_labels(v, &rules, frame.ctx.file, span, frame.fid);
    }

    /// What a field of a program struct says beyond its Rust name: its declared type (a type
    /// source), a rule on this field of this type, and its serde wire name.
    pub(super) fn field_sources(
        &mut self,
        v: &mut Value,
        owner: Option<Name>,
        field: &str,
        span: Span,
        frame: &Frame<'p>,
    ) {
        let Some(owner) = owner.filter(|t| !t.is_empty()) else {
            return;
        };
        self.field_type_source(v, Some(owner), field, span, frame);
        let Some(def) = self.prog.struct_def(frame.krate, &owner) else {
            return;
        };
        let Some(f) = def.fields.iter().find(|f| f.name == field) else {
            return;
        };
        let (ty, wire) = (f.ty.clone(), f.wire);
        self.type_source(v, Some(&ty), span, frame);
        if let Some(wire) = wire {
            let snake = snake_case(&wire);
            if snake != field {
                self.name_source(v, &snake, NameSite::Wire, frame.ctx.file, span, frame.fid);
            }
        }
    }

    /// Whether the type at the resolved path `full` comes from crate `krate` (any crate when the
    /// rule names none). A type of this program comes from the program's crate (`crate::..`, or
    /// a struct the tree defines); a path that names crates must name `krate` among them
    /// (`matrix_sdk::ruma::OwnedDeviceId` re-exports `ruma`'s); a bare name brought in by a glob
    /// import is taken at its word.
    fn type_from(&self, krate: Option<&str>, full: &[Name], frame: &Frame<'p>) -> bool {
        let Some(krate) = krate else { return true };
        let Some((last, module)) = full.split_last() else {
            return false;
        };
        let own = self.prog.crate_named(krate);
        if module.first().is_some_and(|s| s == "crate") {
            return own == Some(frame.krate);
        }
        if !module.is_empty() {
            // `ruma` also names its sub-crates (`ruma_common::OwnedDeviceId`).
            return module.iter().any(|s| {
                s == krate
                    || s.strip_prefix(krate)
                        .is_some_and(|rest| rest.starts_with('_'))
            });
        }
        self.prog.struct_def(frame.krate, last).is_none() || own.is_some()
    }
}
