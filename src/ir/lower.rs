//! Lowers a parsed `syn::File` into [`FileIr`]: items into functions, structs and consts, function
//! bodies into the expression IR, macro bodies (`format!`, `json!`, `vec!`, `write!`) into
//! expressions.
//!
//! Lowering never fails: syntax the analysis does not model becomes [`Expr::Unknown`].

use proc_macro2::Span as PmSpan;
use syn::spanned::Spanned;

use super::macros::{expand_items, lower_macro, LocalMacros};
use super::{
    Arm, BinOp, Block, ClosureIr, ConstIr, Expr, FieldIr, FileIr, FnIr, Lit, ModDecl, Name,
    ParamIr, Pat, Scope, Span, Stmt, StructIr, TypeAliasIr, TypeIr, UseItem,
};

/// Lowers a whole file.
#[must_use]
pub fn lower_file(file: &syn::File) -> FileIr {
    let mut out = FileIr {
        scopes: vec![Scope::default()],
        ..FileIr::default()
    };
    // The file's own `macro_rules!` only: lowering a file must depend on its bytes alone.
    let _macros = LocalMacros::enter(&file.items);
    lower_items(&file.items, 0, &mut out);
    out
}

pub(super) fn span_of(span: PmSpan) -> Span {
    let start = span.start();
    Span {
        line: u32::try_from(start.line).unwrap_or(u32::MAX),
        col: u32::try_from(start.column + 1).unwrap_or(u32::MAX),
    }
}

fn lower_items(items: &[syn::Item], scope: u32, out: &mut FileIr) {
    for item in items {
        if is_test_only(item) {
            continue;
        }
        match item {
            syn::Item::Fn(f) => {
                let entry = is_entry(&f.sig, &f.attrs);
                let mut lowered = lower_fn(&f.sig, &f.block, scope, None, None, entry);
                lowered.public = matches!(f.vis, syn::Visibility::Public(_));
                out.fns.push(lowered);
            }
            syn::Item::Impl(imp) => lower_impl(imp, scope, out),
            syn::Item::Trait(tr) => {
                for ti in &tr.items {
                    if let syn::TraitItem::Fn(f) = ti {
                        if let Some(body) = &f.default {
                            let mut lowered = lower_fn(
                                &f.sig,
                                body,
                                scope,
                                None,
                                Some(name_of(&tr.ident)),
                                false,
                            );
                            lowered.generics.extend(type_params(&tr.generics));
                            out.fns.push(lowered);
                        }
                    }
                }
            }
            syn::Item::Struct(s) => out.structs.push(lower_struct(s, scope)),
            syn::Item::Type(t) => out.type_aliases.push(TypeAliasIr {
                scope,
                self_ty: None,
                trait_name: None,
                name: name_of(&t.ident),
                ty: lower_type(&t.ty),
            }),
            syn::Item::Const(c) => {
                out.consts.push(ConstIr {
                    name: name_of(&c.ident),
                    scope,
                    init: lower_expr(&c.expr, &mut Vec::new()),
                });
            }
            syn::Item::Static(s) => {
                out.consts.push(ConstIr {
                    name: name_of(&s.ident),
                    scope,
                    init: lower_expr(&s.expr, &mut Vec::new()),
                });
            }
            syn::Item::Use(u) => {
                let mut uses = Vec::new();
                collect_use(&u.tree, &mut Vec::new(), &mut uses);
                out.scopes[scope as usize].uses.extend(uses);
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    let mut inline_path = out.scopes[scope as usize].inline_path.clone();
                    inline_path.push(name_of(&m.ident));
                    let new_scope = u32::try_from(out.scopes.len()).unwrap_or(u32::MAX);
                    out.scopes.push(Scope {
                        inline_path,
                        uses: Vec::new(),
                    });
                    lower_items(items, new_scope, out);
                } else {
                    out.mod_decls.push(ModDecl {
                        scope,
                        name: name_of(&m.ident),
                        path_attr: path_attr(&m.attrs),
                    });
                }
            }
            // An invocation of one of the file's own macros in item position: the structs,
            // impls and functions it expands to.
            syn::Item::Macro(m) if m.ident.is_none() => {
                if let Some((items, _level)) = expand_items(&m.mac) {
                    lower_items(&items, scope, out);
                }
            }
            _ => {}
        }
    }
}

/// `#[cfg(test)]` items and `#[test]` functions do not ship: their flows are not the product's.
fn is_test_only(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Fn(f) => &f.attrs,
        syn::Item::Mod(m) => &m.attrs,
        syn::Item::Impl(i) => &i.attrs,
        _ => return false,
    };
    attrs.iter().any(|a| {
        let is_test_attr = a.path().segments.last().is_some_and(|s| s.ident == "test");
        let is_cfg_test = a.path().is_ident("cfg")
            && matches!(&a.meta, syn::Meta::List(l) if l.tokens.to_string().trim() == "test");
        is_test_attr || is_cfg_test
    })
}

fn lower_impl(imp: &syn::ItemImpl, scope: u32, out: &mut FileIr) {
    let self_ty = type_last_segment(&imp.self_ty);
    let trait_name = imp
        .trait_
        .as_ref()
        .and_then(|(_, p, _)| p.segments.last())
        .map(|s| name_of(&s.ident));
    for item in &imp.items {
        match item {
            syn::ImplItem::Fn(f) => {
                let entry = is_export(&f.attrs) || is_export(&imp.attrs);
                let mut lowered = lower_fn(&f.sig, &f.block, scope, self_ty, trait_name, entry);
                lowered.public =
                    imp.trait_.is_none() && matches!(f.vis, syn::Visibility::Public(_));
                lowered.generics.extend(type_params(&imp.generics));
                out.fns.push(lowered);
            }
            syn::ImplItem::Type(t) => out.type_aliases.push(TypeAliasIr {
                scope,
                self_ty,
                trait_name,
                name: name_of(&t.ident),
                ty: lower_type(&t.ty),
            }),
            _ => {}
        }
    }
}

fn type_last_segment(ty: &syn::Type) -> Option<Name> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| name_of(&s.ident)),
        syn::Type::Reference(r) => type_last_segment(&r.elem),
        syn::Type::Paren(p) => type_last_segment(&p.elem),
        syn::Type::Group(g) => type_last_segment(&g.elem),
        _ => None,
    }
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.path().is_ident("path"))
        .and_then(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
}

fn is_entry(sig: &syn::Signature, attrs: &[syn::Attribute]) -> bool {
    sig.ident == "main"
        || sig.abi.is_some()
        || is_export(attrs)
        || attrs.iter().any(|a| {
            let p = a.path();
            p.is_ident("no_mangle")
                || p.segments.last().is_some_and(|s| s.ident == "main")
                || matches!(&a.meta, syn::Meta::List(l) if l.path.is_ident("unsafe") && l.tokens.to_string().contains("no_mangle"))
        })
}

/// Attributes that export a function to another language, whose code calls it: uniffi
/// (`#[uniffi::export]`), flutter_rust_bridge (`#[frb]`), wasm-bindgen, napi, PyO3, Tauri
/// commands. On an `impl` block they export its methods.
fn is_export(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let p = a.path();
        let last = p.segments.last().map(|s| s.ident.to_string());
        let first = p.segments.first().map(|s| s.ident.to_string());
        matches!(
            (first.as_deref(), last.as_deref()),
            (
                _,
                Some("frb" | "wasm_bindgen" | "napi" | "pyfunction" | "pymethods")
            ) | (Some("uniffi" | "tauri"), Some("export" | "command"))
        )
    })
}

fn collect_use(tree: &syn::UseTree, prefix: &mut Vec<Name>, out: &mut Vec<UseItem>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(name_of(&p.ident));
            collect_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push(UseItem {
                        alias: *last,
                        path: prefix.clone(),
                    });
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone().into());
                out.push(UseItem {
                    alias: name.into(),
                    path,
                });
            }
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(name_of(&r.ident));
            }
            out.push(UseItem {
                alias: name_of(&r.rename),
                path,
            });
        }
        syn::UseTree::Glob(_) => out.push(UseItem {
            alias: "*".into(),
            path: prefix.clone(),
        }),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                collect_use(t, prefix, out);
            }
        }
    }
}

fn lower_struct(s: &syn::ItemStruct, scope: u32) -> StructIr {
    let rename_all = s.attrs.iter().find_map(|a| serde_string(a, "rename_all"));
    let fields = s
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = f
                .ident
                .as_ref()
                .map_or_else(|| i.to_string(), ToString::to_string);
            let wire = f
                .attrs
                .iter()
                .find_map(|a| serde_string(a, "rename"))
                .or_else(|| {
                    f.ident
                        .as_ref()
                        .and(rename_all.as_deref())
                        .map(|r| rename(&name, r))
                })
                .filter(|w| *w != name)
                .map(Name::from);
            FieldIr {
                name: name.into(),
                ty: lower_type(&f.ty),
                skip_serializing: f.attrs.iter().any(is_serde_skip),
                wire,
            }
        })
        .collect_exact();
    StructIr {
        name: name_of(&s.ident),
        scope,
        fields,
    }
}

/// The string of `key = "..."` in a `#[serde(..)]` attribute (`rename`, `rename_all`).
fn serde_string(attr: &syn::Attribute, key: &str) -> Option<String> {
    if !attr.path().is_ident("serde") {
        return None;
    }
    let syn::Meta::List(list) = &attr.meta else {
        return None;
    };
    let tokens: Vec<proc_macro2::TokenTree> = list.tokens.clone().into_iter().collect();
    tokens.windows(3).find_map(|w| match w {
        [proc_macro2::TokenTree::Ident(i), proc_macro2::TokenTree::Punct(p), proc_macro2::TokenTree::Literal(l)]
            if i == key && p.as_char() == '=' =>
        {
            let text = l.to_string();
            text.strip_prefix('"')?.strip_suffix('"').map(String::from)
        }
        _ => None,
    })
}

/// A snake-case field name as serde's `rename_all = rule` writes it.
fn rename(name: &str, rule: &str) -> String {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let cap = |w: &str| {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    match rule {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "PascalCase" => words.iter().map(|w| cap(w)).collect(),
        "camelCase" => words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { (*w).to_string() } else { cap(w) })
            .collect(),
        "SCREAMING_SNAKE_CASE" => name.to_uppercase(),
        "kebab-case" => words.join("-"),
        "SCREAMING-KEBAB-CASE" => words.join("-").to_uppercase(),
        _ => name.to_string(),
    }
}

fn is_serde_skip(attr: &syn::Attribute) -> bool {
    if !attr.path().is_ident("serde") {
        return false;
    }
    let syn::Meta::List(list) = &attr.meta else {
        return false;
    };
    list.tokens.clone().into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == "skip" || i == "skip_serializing",
        _ => false,
    })
}

/// Lowers a type to its paths, keeping generic arguments as inner types.
pub(super) fn lower_type(ty: &syn::Type) -> TypeIr {
    match ty {
        syn::Type::Path(p) => {
            let path = path_names(&p.path);
            let mut args = Vec::new();
            for seg in &p.path.segments {
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    for arg in &a.args {
                        if let syn::GenericArgument::Type(t) = arg {
                            args.push(lower_type(t));
                        }
                    }
                }
            }
            TypeIr {
                path,
                args,
                mutable_ref: false,
            }
        }
        syn::Type::Reference(r) => {
            let mut inner = lower_type(&r.elem);
            inner.mutable_ref = r.mutability.is_some();
            inner
        }
        syn::Type::Paren(p) => lower_type(&p.elem),
        syn::Type::Group(g) => lower_type(&g.elem),
        syn::Type::Slice(s) => TypeIr {
            path: Vec::new(),
            args: vec![lower_type(&s.elem)],
            mutable_ref: false,
        },
        syn::Type::Array(a) => TypeIr {
            path: Vec::new(),
            args: vec![lower_type(&a.elem)],
            mutable_ref: false,
        },
        syn::Type::Tuple(t) => TypeIr {
            path: Vec::new(),
            args: t.elems.iter().map(lower_type).collect_exact(),
            mutable_ref: false,
        },
        syn::Type::ImplTrait(i) => bounds_type(i.bounds.iter()),
        syn::Type::TraitObject(o) => bounds_type(o.bounds.iter()),
        _ => TypeIr {
            path: Vec::new(),
            args: Vec::new(),
            mutable_ref: false,
        },
    }
}

fn bounds_type<'a>(bounds: impl Iterator<Item = &'a syn::TypeParamBound>) -> TypeIr {
    for b in bounds {
        if let syn::TypeParamBound::Trait(t) = b {
            let path = path_names(&t.path);
            // `impl Into<DeviceId>`, `impl AsRef<str>`: the bound's type arguments say what
            // the value is made from.
            let args = t
                .path
                .segments
                .last()
                .map(|seg| match &seg.arguments {
                    syn::PathArguments::AngleBracketed(a) => a
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            syn::GenericArgument::Type(t) => Some(lower_type(t)),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                })
                .unwrap_or_default();
            return TypeIr {
                path,
                args,
                mutable_ref: false,
            };
        }
    }
    TypeIr {
        path: Vec::new(),
        args: Vec::new(),
        mutable_ref: false,
    }
}

fn lower_fn(
    sig: &syn::Signature,
    block: &syn::Block,
    scope: u32,
    self_ty: Option<Name>,
    trait_name: Option<Name>,
    entry: bool,
) -> FnIr {
    let mut closures = Vec::new();
    let params = sig
        .inputs
        .iter()
        .map(|input| match input {
            syn::FnArg::Receiver(r) => ParamIr {
                pat: Pat::Bind {
                    name: "self".into(),
                    span: span_of(r.self_token.span),
                    sub: None,
                },
                ty: Some(TypeIr {
                    path: vec!["Self".into()],
                    args: Vec::new(),
                    mutable_ref: r.mutability.is_some() && r.reference.is_some(),
                }),
            },
            syn::FnArg::Typed(t) => ParamIr {
                pat: lower_pat(&t.pat),
                ty: Some(lower_type(&t.ty)),
            },
        })
        .collect_exact();
    let ret = match &sig.output {
        syn::ReturnType::Default => None,
        syn::ReturnType::Type(_, ty) => Some(lower_type(ty)),
    };
    let body = lower_block(block, &mut closures);
    FnIr {
        name: name_of(&sig.ident),
        scope,
        self_ty,
        trait_name,
        params,
        ret,
        body,
        closures,
        span: span_of(sig.ident.span()),
        entry,
        public: false,
        generics: type_params(&sig.generics),
    }
}

/// Names of the type parameters of `generics` (`T`, `F` of `<T: Send, F: Fn()>`).
fn type_params(generics: &syn::Generics) -> Vec<Name> {
    generics.type_params().map(|t| name_of(&t.ident)).collect()
}

pub(super) fn lower_block(block: &syn::Block, closures: &mut Vec<ClosureIr>) -> Block {
    let mut stmts = Vec::with_capacity(block.stmts.len());
    // Names bound by the block's `let`s so far, for `#[cfg]` alternatives.
    let mut bound: Vec<Name> = Vec::new();
    for stmt in &block.stmts {
        match stmt {
            syn::Stmt::Local(local) => {
                let (pat, ty) = match &local.pat {
                    syn::Pat::Type(pt) => (lower_pat(&pt.pat), Some(lower_type(&pt.ty))),
                    other => (lower_pat(other), None),
                };
                let mut init = local.init.as_ref().map(|i| lower_expr(&i.expr, closures));
                if let Pat::Bind { name, span, .. } = &pat {
                    if has_cfg(&local.attrs) && bound.contains(name) {
                        init = init.map(|e| cfg_alternative(e, *name, *span));
                    }
                    bound.push(*name);
                }
                let els = local
                    .init
                    .as_ref()
                    .and_then(|i| i.diverge.as_ref())
                    .map(|(_, e)| match &**e {
                        syn::Expr::Block(b) => lower_block(&b.block, closures),
                        other => Block {
                            stmts: vec![Stmt::Expr {
                                expr: lower_expr(other, closures),
                                semi: true,
                            }],
                        },
                    });
                stmts.push(Stmt::Let(Box::new(super::Local { pat, ty, init, els })));
            }
            syn::Stmt::Expr(e, semi) => stmts.push(Stmt::Expr {
                expr: lower_expr(e, closures),
                semi: semi.is_some(),
            }),
            syn::Stmt::Macro(m) => {
                let expr = lower_macro(&m.mac, closures);
                stmts.push(Stmt::Expr {
                    expr,
                    semi: m.semi_token.is_some(),
                });
            }
            syn::Stmt::Item(_) => {}
        }
    }
    Block { stmts }
}

/// The attributes hold a `#[cfg(..)]`: the item exists for some build targets only.
fn has_cfg(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("cfg"))
}

/// `#[cfg(..)] let x = e;` after an earlier `let x` is the binding of *another* build (a wasm
/// or feature variant), not an overwrite in this one: `x` is `e` on some builds and the earlier
/// `x` on the others, so the analysis sees `let x = if <build> { e } else { x };`.
fn cfg_alternative(init: Expr, name: Name, span: Span) -> Expr {
    Expr::If {
        cond: Box::new(Expr::Unknown),
        then: Block {
            stmts: vec![Stmt::Expr {
                expr: init,
                semi: false,
            }],
        },
        els: Some(Box::new(Expr::Path {
            segs: vec![name],
            span,
        })),
    }
}

fn boxed(e: &syn::Expr, closures: &mut Vec<ClosureIr>) -> Box<Expr> {
    Box::new(lower_expr(e, closures))
}

/// Where `expr` starts, found by walking down its left edge: `Spanned::span` prints the whole
/// expression to join its tokens' spans, which made lowering `x()()()..` quadratic.
fn first_token_span(mut expr: &syn::Expr) -> PmSpan {
    loop {
        expr = match expr {
            syn::Expr::Call(c) => &c.func,
            syn::Expr::MethodCall(m) => &m.receiver,
            syn::Expr::Field(f) => &f.base,
            syn::Expr::Index(i) => &i.expr,
            syn::Expr::Try(t) => &t.expr,
            syn::Expr::Await(a) => &a.base,
            syn::Expr::Cast(c) => &c.expr,
            syn::Expr::Binary(b) => &b.left,
            syn::Expr::Paren(p) if p.attrs.is_empty() => return p.paren_token.span.open(),
            other => return other.span(),
        };
    }
}

/// Lowers one expression.
#[allow(clippy::too_many_lines)]
pub(super) fn lower_expr(expr: &syn::Expr, closures: &mut Vec<ClosureIr>) -> Expr {
    match expr {
        syn::Expr::Lit(l) => Expr::Lit(lower_lit(&l.lit)),
        syn::Expr::Path(p) => Expr::Path {
            segs: path_names(&p.path),
            span: p
                .path
                .segments
                .last()
                .map_or_else(Span::default, |s| span_of(s.ident.span())),
        },
        syn::Expr::Field(f) => Expr::Field {
            base: boxed(&f.base, closures),
            name: member_name(&f.member),
            span: span_of(f.member.span()),
        },
        syn::Expr::Index(i) => Expr::Index {
            base: boxed(&i.expr, closures),
            index: boxed(&i.index, closures),
        },
        syn::Expr::Call(c) => {
            let span = match &*c.func {
                syn::Expr::Path(p) => p
                    .path
                    .segments
                    .last()
                    .map_or_else(|| span_of(c.func.span()), |s| span_of(s.ident.span())),
                other => span_of(first_token_span(other)),
            };
            Expr::Call {
                func: boxed(&c.func, closures),
                args: c
                    .args
                    .iter()
                    .map(|a| lower_expr(a, closures))
                    .collect_exact(),
                span,
            }
        }
        syn::Expr::MethodCall(m) => Expr::Method {
            recv: boxed(&m.receiver, closures),
            name: name_of(&m.method),
            args: m
                .args
                .iter()
                .map(|a| lower_expr(a, closures))
                .collect_exact(),
            span: span_of(m.method.span()),
        },
        syn::Expr::Macro(m) => lower_macro(&m.mac, closures),
        syn::Expr::Struct(s) => Expr::Struct {
            path: path_names(&s.path),
            fields: s
                .fields
                .iter()
                .map(|f| {
                    let name = member_name(&f.member);
                    (
                        name,
                        lower_expr(&f.expr, closures),
                        span_of(f.member.span()),
                    )
                })
                .collect_exact(),
            rest: s.rest.as_ref().map(|r| boxed(r, closures)),
        },
        syn::Expr::Tuple(t) => Expr::Tuple(
            t.elems
                .iter()
                .map(|e| lower_expr(e, closures))
                .collect_exact(),
        ),
        syn::Expr::Array(a) => Expr::Array(
            a.elems
                .iter()
                .map(|e| lower_expr(e, closures))
                .collect_exact(),
        ),
        syn::Expr::Repeat(r) => Expr::Array(vec![lower_expr(&r.expr, closures)]),
        syn::Expr::Reference(r) if r.mutability.is_some() => Expr::MutRef(boxed(&r.expr, closures)),
        syn::Expr::Reference(r) => Expr::Wrap(boxed(&r.expr, closures)),
        syn::Expr::Paren(p) => Expr::Wrap(boxed(&p.expr, closures)),
        syn::Expr::Group(g) => Expr::Wrap(boxed(&g.expr, closures)),
        syn::Expr::Cast(c) => Expr::Wrap(boxed(&c.expr, closures)),
        syn::Expr::Try(t) => Expr::Wrap(boxed(&t.expr, closures)),
        syn::Expr::Await(a) => Expr::Await {
            base: boxed(&a.base, closures),
            span: span_of(a.await_token.span),
        },
        syn::Expr::Unary(u) => match u.op {
            syn::UnOp::Not(_) => Expr::Not(boxed(&u.expr, closures)),
            _ => Expr::Wrap(boxed(&u.expr, closures)),
        },
        syn::Expr::Binary(b) => lower_binary(b, closures),
        syn::Expr::Assign(a) => Expr::Assign {
            place: boxed(&a.left, closures),
            value: boxed(&a.right, closures),
            compound: false,
        },
        syn::Expr::If(i) => Expr::If {
            cond: boxed(&i.cond, closures),
            then: lower_block(&i.then_branch, closures),
            els: i.else_branch.as_ref().map(|(_, e)| boxed(e, closures)),
        },
        syn::Expr::Let(l) => Expr::Let {
            pat: Box::new(lower_pat(&l.pat)),
            expr: boxed(&l.expr, closures),
        },
        syn::Expr::Match(m) => Expr::Match {
            scrut: boxed(&m.expr, closures),
            arms: m
                .arms
                .iter()
                .map(|a| Arm {
                    pat: lower_pat(&a.pat),
                    guard: a.guard.as_ref().map(|(_, g)| lower_expr(g, closures)),
                    body: lower_expr(&a.body, closures),
                })
                .collect_exact(),
        },
        syn::Expr::ForLoop(f) => Expr::For {
            pat: Box::new(lower_pat(&f.pat)),
            iter: boxed(&f.expr, closures),
            body: lower_block(&f.body, closures),
        },
        syn::Expr::While(w) => Expr::While {
            cond: Some(boxed(&w.cond, closures)),
            body: lower_block(&w.body, closures),
        },
        syn::Expr::Loop(l) => Expr::While {
            cond: None,
            body: lower_block(&l.body, closures),
        },
        syn::Expr::Block(b) => Expr::Block(lower_block(&b.block, closures)),
        syn::Expr::Unsafe(u) => Expr::Block(lower_block(&u.block, closures)),
        syn::Expr::Async(a) => Expr::Block(lower_block(&a.block, closures)),
        syn::Expr::TryBlock(t) => Expr::Block(lower_block(&t.block, closures)),
        syn::Expr::Const(c) => Expr::Block(lower_block(&c.block, closures)),
        syn::Expr::Closure(c) => {
            let params = c.inputs.iter().map(lower_pat).collect_exact();
            let body = lower_expr(&c.body, closures);
            closures.push(ClosureIr { params, body });
            Expr::Closure(u32::try_from(closures.len() - 1).unwrap_or(u32::MAX))
        }
        syn::Expr::Return(r) => Expr::Return(r.expr.as_ref().map(|e| boxed(e, closures))),
        syn::Expr::Break(b) => Expr::Break(b.expr.as_ref().map(|e| boxed(e, closures))),
        syn::Expr::Continue(_) => Expr::Break(None),
        syn::Expr::Range(r) => {
            let parts: Vec<Expr> = r
                .start
                .iter()
                .chain(r.end.iter())
                .map(|e| lower_expr(e, closures))
                .collect();
            Expr::Array(parts)
        }
        _ => Expr::Unknown,
    }
}

fn lower_binary(b: &syn::ExprBinary, closures: &mut Vec<ClosureIr>) -> Expr {
    use syn::BinOp as B;
    let compound = matches!(
        b.op,
        B::AddAssign(_)
            | B::SubAssign(_)
            | B::MulAssign(_)
            | B::DivAssign(_)
            | B::RemAssign(_)
            | B::BitXorAssign(_)
            | B::BitAndAssign(_)
            | B::BitOrAssign(_)
            | B::ShlAssign(_)
            | B::ShrAssign(_)
    );
    if compound {
        return Expr::Assign {
            place: boxed(&b.left, closures),
            value: boxed(&b.right, closures),
            compound: true,
        };
    }
    let op = match b.op {
        B::Ne(_) => BinOp::NotEqual,
        B::Eq(_) | B::Lt(_) | B::Le(_) | B::Ge(_) | B::Gt(_) => BinOp::Compare,
        B::And(_) => BinOp::And,
        B::Or(_) => BinOp::Or,
        _ => BinOp::Combine,
    };
    Expr::Binary {
        op,
        l: boxed(&b.left, closures),
        r: boxed(&b.right, closures),
    }
}

fn lower_lit(lit: &syn::Lit) -> Lit {
    match lit {
        syn::Lit::Str(s) => Lit::Str(s.value()),
        syn::Lit::ByteStr(b) => Lit::Str(String::from_utf8_lossy(&b.value()).into_owned()),
        syn::Lit::Bool(b) => Lit::Bool(b.value),
        _ => Lit::Other,
    }
}

/// Lowers a pattern.
pub(super) fn lower_pat(pat: &syn::Pat) -> Pat {
    match pat {
        // `None`, `Empty`: a unit variant or const, not a new binding.
        syn::Pat::Ident(i)
            if i.subpat.is_none()
                && i.by_ref.is_none()
                && i.mutability.is_none()
                && i.ident
                    .to_string()
                    .starts_with(|c: char| c.is_ascii_uppercase()) =>
        {
            Pat::TupleStruct {
                path: vec![name_of(&i.ident)],
                elems: Vec::new(),
            }
        }
        syn::Pat::Ident(i) => Pat::Bind {
            name: name_of(&i.ident),
            span: span_of(i.ident.span()),
            sub: i.subpat.as_ref().map(|(_, p)| Box::new(lower_pat(p))),
        },
        syn::Pat::Tuple(t) => Pat::Tuple(t.elems.iter().map(lower_pat).collect_exact()),
        syn::Pat::TupleStruct(t) => Pat::TupleStruct {
            path: path_names(&t.path),
            elems: t.elems.iter().map(lower_pat).collect_exact(),
        },
        syn::Pat::Struct(s) => Pat::Struct {
            path: path_names(&s.path),
            fields: s
                .fields
                .iter()
                .map(|f| {
                    let name = member_name(&f.member);
                    (name, lower_pat(&f.pat))
                })
                .collect_exact(),
        },
        syn::Pat::Path(p) => Pat::TupleStruct {
            path: path_names(&p.path),
            elems: Vec::new(),
        },
        syn::Pat::Or(o) => Pat::Or(o.cases.iter().map(lower_pat).collect_exact()),
        syn::Pat::Slice(s) => Pat::Slice(s.elems.iter().map(lower_pat).collect_exact()),
        syn::Pat::Reference(r) => lower_pat(&r.pat),
        syn::Pat::Paren(p) => lower_pat(&p.pat),
        syn::Pat::Type(t) => lower_pat(&t.pat),
        _ => Pat::Ignore,
    }
}

/// A field's name: `imei`, or `0` for a tuple field.
fn member_name(member: &syn::Member) -> Name {
    match member {
        syn::Member::Named(i) => name_of(i),
        syn::Member::Unnamed(i) => i.index.to_string().into(),
    }
}

/// A path's segments as names (`std::net::TcpStream` → `["std", "net", "TcpStream"]`).
fn path_names(path: &syn::Path) -> Vec<Name> {
    path.segments
        .iter()
        .map(|s| name_of(&s.ident))
        .collect_exact()
}

/// The interned name of an identifier, written through a reused buffer: identifiers are the most
/// frequent thing lowering meets, and a fresh `String` for each was a measurable share of it.
fn name_of(ident: &impl std::fmt::Display) -> Name {
    use std::fmt::Write as _;
    thread_local! {
        static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        let _ = write!(buf, "{ident}");
        Name::new(&buf)
    })
}

/// `collect` for iterators that know their length, into a vector of exactly that many items:
/// `collect` makes room for at least four, and most argument lists, paths, parameters and
/// patterns have one or two (the IR of a large tree was a quarter bigger for it).
trait CollectExact<T>: ExactSizeIterator<Item = T> + Sized {
    fn collect_exact(self) -> Vec<T> {
        let mut v = Vec::with_capacity(self.len());
        v.extend(self);
        v
    }
}

impl<T, I: ExactSizeIterator<Item = T>> CollectExact<T> for I {}
