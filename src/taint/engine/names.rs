//! What names and types say about a value: paths to locals, consts and function items, the kind
//! or user type a declared type gives, and the identifier sources a name denotes
//! (`let imei = ..`, `fn device_id()`).

use super::{Engine, Frame, FN_ITEM};
pub(super) use crate::graph::core_type;
use crate::graph::{Ctx, FnId};
use crate::ir::{Name, Span, TypeIr};
use crate::rules::index::NameSite;
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
            .map(|n| n.rule)
            .collect();
        for rule in matches {
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
