//! Macro bodies lowered as expressions, so flows through `format!`, `json!`, `vec!`, `write!` and
//! friends are seen. Bodies that do not parse as expressions lower to a macro with no arguments.
//!
//! Each body is re-parsed as it is met, so a macro nested in a macro is parsed once per level
//! it sits under: nesting `vec![vec![...]]` n deep costs n² token visits (20,000 levels, a
//! 200 KB file, took 18 s). Below [`MAX_NESTED_BODIES`] levels a body is therefore not parsed
//! any more: it lowers to the identifiers it mentions, each as a path argument, so data named
//! in it still flows into the enclosing macro (an over-approximation real code never reaches).

use std::cell::Cell;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;

use super::lower::{lower_expr, lower_pat, span_of};
use super::{Arm, ClosureIr, Expr, Pat};

/// How many macro bodies, one inside the other, are parsed as expressions; deeper ones lower to
/// the identifiers they mention (see the module documentation).
pub const MAX_NESTED_BODIES: usize = 32;

thread_local! {
    /// Macro bodies being lowered on this thread, outermost first.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Holds one level of [`DEPTH`] while a body is lowered; gives it back even on unwinding.
pub(super) struct Nested(usize);

impl Nested {
    /// Enters a body, or `None` when [`MAX_NESTED_BODIES`] are already open.
    fn enter() -> Option<Nested> {
        let depth = DEPTH.with(Cell::get);
        if depth >= MAX_NESTED_BODIES {
            return None;
        }
        DEPTH.with(|d| d.set(depth + 1));
        Some(Nested(depth))
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(self.0));
    }
}

/// Lowers `name!(tokens)`.
pub(super) fn lower_macro(mac: &syn::Macro, closures: &mut Vec<ClosureIr>) -> Expr {
    let Some(last) = mac.path.segments.last() else {
        return Expr::Unknown;
    };
    let name = last.ident.to_string();
    let span = span_of(last.ident.span());
    let Some(_level) = Nested::enter() else {
        return Expr::Macro {
            name: name.into(),
            args: mentioned_names(mac.tokens.clone(), span),
            format: None,
            span,
        };
    };
    if mac.path.get_ident().is_some() {
        if let Some(expanded) = expand_local(&name, mac.tokens.clone(), last.ident.span()) {
            if let Some(lowered) = lower_expansion(expanded, closures) {
                return lowered;
            }
        }
    }
    let (args, format) = match name.as_str() {
        "json" => (
            lower_json(mac.tokens.clone(), closures)
                .into_iter()
                .collect(),
            None,
        ),
        "vec" => (lower_vec(mac.tokens.clone(), closures), None),
        "select" | "select_biased" => {
            if let Some(lowered) = lower_select(mac.tokens.clone(), closures) {
                return lowered;
            }
            (mentioned_names(mac.tokens.clone(), span), None)
        }
        _ => lower_expr_list(mac.tokens.clone(), closures),
    };
    Expr::Macro {
        name: name.into(),
        args,
        format: format.map(String::into_boxed_str),
        span,
    }
}

/// One arm of `select!`: `pat = future, if guard => body`, or `else => body` (no future).
struct SelectArm {
    pat: syn::Pat,
    future: Option<syn::Expr>,
    guard: Option<syn::Expr>,
    body: syn::Expr,
}

/// Parses the arms of `tokio::select!` / `futures::select!` (`biased;` first is allowed;
/// `else`, `default` and `complete` arms have no future).
fn parse_select(input: syn::parse::ParseStream<'_>) -> syn::Result<Vec<SelectArm>> {
    if input.peek(syn::Ident) && input.peek2(syn::Token![;]) {
        let word: syn::Ident = input.parse()?;
        if word != "biased" {
            return Err(syn::Error::new(word.span(), "not a select! body"));
        }
        input.parse::<syn::Token![;]>()?;
    }
    let mut arms = Vec::new();
    while !input.is_empty() {
        let (pat, future, guard) = if input.peek(syn::Token![else]) {
            input.parse::<syn::Token![else]>()?;
            (syn::Pat::Verbatim(TokenStream::new()), None, None)
        } else {
            let pat = syn::Pat::parse_multi_with_leading_vert(input)?;
            if input.peek(syn::Token![=>]) {
                // futures' `default => ..` and `complete => ..`.
                (syn::Pat::Verbatim(TokenStream::new()), None, None)
            } else {
                input.parse::<syn::Token![=]>()?;
                let future: syn::Expr = input.parse()?;
                let guard = if input.peek(syn::Token![,]) && input.peek2(syn::Token![if]) {
                    input.parse::<syn::Token![,]>()?;
                    input.parse::<syn::Token![if]>()?;
                    Some(input.parse::<syn::Expr>()?)
                } else {
                    None
                };
                (pat, Some(future), guard)
            }
        };
        input.parse::<syn::Token![=>]>()?;
        let body = syn::Expr::parse_with_earlier_boundary_rule(input)?;
        if !input.is_empty() {
            input.parse::<syn::Token![,]>().or_else(|e| {
                if matches!(body, syn::Expr::Block(_)) {
                    Ok(syn::Token![,](input.span()))
                } else {
                    Err(e)
                }
            })?;
        }
        arms.push(SelectArm {
            pat,
            future,
            guard,
            body,
        });
    }
    Ok(arms)
}

/// `select! { pat = fut => body, .. }` as the alternatives it is: one arm per branch, each
/// awaiting its future, binding the pattern to the result and running its body, like
/// `match <unknown> { _ if guard => match fut.await { pat => body }, .. }`; an `else` arm is
/// one more alternative. `None` when the body is not a `select!` body (its names are kept).
fn lower_select(tokens: TokenStream, closures: &mut Vec<ClosureIr>) -> Option<Expr> {
    let arms = parse_select.parse2(tokens).ok()?;
    let arms = arms
        .iter()
        .map(|arm| {
            let body = lower_expr(&arm.body, closures);
            let body = match &arm.future {
                Some(future) => Expr::Match {
                    scrut: Box::new(Expr::Wrap(Box::new(lower_expr(future, closures)))),
                    arms: vec![Arm {
                        pat: lower_pat(&arm.pat),
                        guard: None,
                        body,
                    }],
                },
                None => body,
            };
            Arm {
                pat: Pat::Ignore,
                guard: arm.guard.as_ref().map(|g| lower_expr(g, closures)),
                body,
            }
        })
        .collect();
    Some(Expr::Match {
        scrut: Box::new(Expr::Unknown),
        arms,
    })
}

/// Every identifier in `tokens` (nested groups included), once each, in order of first
/// appearance, as a path; keywords and macro names (`x!`) left out. One pass over the tokens,
/// with an explicit stack rather than recursion, however deep the groups nest.
fn mentioned_names(tokens: TokenStream, span: super::Span) -> Vec<Expr> {
    let mut seen = std::collections::BTreeSet::new();
    let mut names = Vec::new();
    let mut stack = vec![tokens.into_iter()];
    while let Some(top) = stack.last_mut() {
        let Some(tree) = top.next() else {
            stack.pop();
            continue;
        };
        match tree {
            TokenTree::Group(g) => stack.push(g.stream().into_iter()),
            TokenTree::Ident(ident) => {
                let text = ident.to_string();
                let is_macro = matches!(
                    stack.last().and_then(|t| t.clone().next()),
                    Some(TokenTree::Punct(p)) if p.as_char() == '!'
                );
                if !is_macro && !is_keyword(&text) && seen.insert(text.clone()) {
                    names.push(Expr::Path {
                        segs: vec![text.as_str().into()],
                        span,
                    });
                }
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
    names
}

/// Rust keywords, which are never data.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "as" | "async"
            | "await"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
    )
}

/// Comma-separated expressions; named format arguments (`x = expr`) keep their value; inline
/// format arguments (`{imei}`) are appended as paths.
fn lower_expr_list(
    tokens: TokenStream,
    closures: &mut Vec<ClosureIr>,
) -> (Vec<Expr>, Option<String>) {
    let Ok(list) = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated.parse2(tokens) else {
        return (Vec::new(), None);
    };
    let mut format = None;
    let mut args = Vec::new();
    let mut inline = Vec::new();
    for expr in &list {
        let expr = match expr {
            syn::Expr::Assign(a) if matches!(&*a.left, syn::Expr::Path(_)) => &*a.right,
            other => other,
        };
        if format.is_none() {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = expr
            {
                let text = s.value();
                for name in inline_format_args(&text) {
                    inline.push(Expr::Path {
                        segs: vec![name.into()],
                        span: span_of(s.span()),
                    });
                }
                format = Some(text);
                continue;
            }
        }
        args.push(lower_expr(expr, closures));
    }
    // Inline arguments go last so positional `{}` holes still line up with the arguments.
    args.extend(inline);
    // Kept for the whole scan: no room for more.
    args.shrink_to_fit();
    (args, format)
}

/// Names used as `{name}` or `{name:?}` inside a format string.
#[must_use]
pub fn inline_format_args(format: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let inner = &after[..close];
        let name = inner.split(':').next().unwrap_or("").trim();
        if !name.is_empty()
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_string());
        }
        rest = &after[close + 1..];
    }
    names
}

fn lower_vec(tokens: TokenStream, closures: &mut Vec<ClosureIr>) -> Vec<Expr> {
    let has_semi = tokens
        .clone()
        .into_iter()
        .any(|t| matches!(&t, TokenTree::Punct(p) if p.as_char() == ';'));
    if has_semi {
        let mut parts = split_top(tokens, ';');
        if let Some(first) = parts.drain(..).next() {
            if let Ok(e) = syn::parse2::<syn::Expr>(first) {
                return vec![lower_expr(&e, closures)];
            }
        }
        return Vec::new();
    }
    lower_expr_list(tokens, closures).0
}

fn split_top(tokens: TokenStream, sep: char) -> Vec<TokenStream> {
    let mut parts = vec![TokenStream::new()];
    for tt in tokens {
        if matches!(&tt, TokenTree::Punct(p) if p.as_char() == sep) {
            parts.push(TokenStream::new());
        } else if let Some(last) = parts.last_mut() {
            last.extend(std::iter::once(tt));
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// A `json!` body as an expression: an object is a struct literal without a path whose fields
/// are its keys (a serializer writes them as they are: `{"device_id": id}`), an array is a
/// `vec!` of its elements, anything else the Rust expression it is. Literals lower to nothing.
fn lower_json(tokens: TokenStream, closures: &mut Vec<ClosureIr>) -> Option<Expr> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    if let [TokenTree::Group(g)] = trees.as_slice() {
        match g.delimiter() {
            Delimiter::Brace => {
                let mut fields = Vec::new();
                for entry in split_top(g.stream(), ',') {
                    let parts: Vec<TokenTree> = entry.into_iter().collect();
                    let colon = parts
                        .iter()
                        .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ':'));
                    let Some(i) = colon else { continue };
                    let Some(value) =
                        lower_json(parts[i + 1..].iter().cloned().collect(), closures)
                    else {
                        continue;
                    };
                    let (key, span) = match parts.first() {
                        Some(TokenTree::Literal(l)) if i == 1 => {
                            let text = l.to_string();
                            let key = text
                                .strip_prefix('"')
                                .and_then(|t| t.strip_suffix('"'))
                                .unwrap_or("_")
                                .to_string();
                            (key, span_of(l.span()))
                        }
                        Some(TokenTree::Ident(id)) if i == 1 => {
                            (id.to_string(), span_of(id.span()))
                        }
                        Some(t) => ("_".to_string(), span_of(t.span())),
                        None => continue,
                    };
                    fields.push((super::Name::from(key), value, span));
                }
                return Some(Expr::Struct {
                    path: Vec::new(),
                    fields,
                    rest: None,
                });
            }
            Delimiter::Bracket => {
                let items: Vec<Expr> = split_top(g.stream(), ',')
                    .into_iter()
                    .filter_map(|item| lower_json(item, closures))
                    .collect();
                return Some(Expr::Array(items));
            }
            _ => {}
        }
    }
    match syn::parse2::<syn::Expr>(tokens) {
        Ok(syn::Expr::Lit(_)) | Err(_) => None,
        Ok(expr) => Some(lower_expr(&expr, closures)),
    }
}

/// Token trees a file's local macro expansions may produce in all, so a macro that expands to
/// several calls of itself costs a bounded amount however it nests (beyond it, invocations
/// lower as if the macro were unknown).
pub const MAX_EXPANDED_TOKENS: usize = 1 << 16;

/// One rule of a file's own `macro_rules!`: what it matches and what it expands to.
#[derive(Clone)]
pub(super) struct LocalMacro {
    matcher: Vec<MatchPart>,
    body: TokenStream,
}

/// A piece of a supported matcher.
#[derive(Clone)]
enum MatchPart {
    /// A token that must be there (an identifier or punctuation; groups are not supported).
    Exact(String),
    /// `$name:frag`.
    Var(String, Fragment),
    /// A delimited group of parts: `{ $($field:ident),* }`.
    Group(Delimiter, Vec<MatchPart>),
    /// `$( parts ) sep* ` or `+`: parts with no repetition of their own, repeated, each time
    /// separated by the optional one-token separator; the last part of its level (a `$(,)?`
    /// after it is allowed).
    Repeat(Vec<MatchPart>, Option<String>),
}

/// How much of the invocation a metavariable takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fragment {
    /// One token tree (`tt`, `ident`, `literal`, `lifetime`).
    One,
    /// Tokens up to the matcher's next exact token (`expr`, `ty`, `path`, `pat`, `block`, ..).
    Many,
}

thread_local! {
    /// The `macro_rules!` of the file being lowered, by name.
    static LOCAL: std::cell::RefCell<std::collections::HashMap<String, LocalMacro>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
    /// Token trees expanded so far in this file.
    static EXPANDED: Cell<usize> = const { Cell::new(0) };
}

/// Holds a file's local macros while it is lowered; forgets them when dropped (also on unwinding),
/// so what one file defines never leaks into another: a file's lowering depends on its bytes only,
/// which the per-file cache relies on.
pub(super) struct LocalMacros;

impl LocalMacros {
    /// Collects the supported `macro_rules!` of `items` (inline modules included; the first
    /// rule of each macro, when its matcher is simple enough).
    pub(super) fn enter(items: &[syn::Item]) -> LocalMacros {
        let mut found = std::collections::HashMap::new();
        collect_local_macros(items, &mut found);
        LOCAL.with(|l| *l.borrow_mut() = found);
        EXPANDED.with(|e| e.set(0));
        LocalMacros
    }
}

impl Drop for LocalMacros {
    fn drop(&mut self) {
        LOCAL.with(|l| l.borrow_mut().clear());
        EXPANDED.with(|e| e.set(0));
    }
}

fn collect_local_macros(
    items: &[syn::Item],
    out: &mut std::collections::HashMap<String, LocalMacro>,
) {
    for item in items {
        match item {
            syn::Item::Macro(m) if m.mac.path.is_ident("macro_rules") => {
                let Some(name) = &m.ident else { continue };
                if let Some(rule) = first_rule(m.mac.tokens.clone()) {
                    out.entry(name.to_string()).or_insert(rule);
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    collect_local_macros(inner, out);
                }
            }
            _ => {}
        }
    }
}

/// The first rule `(matcher) => { body }` of a `macro_rules!` body, if its matcher is supported.
fn first_rule(tokens: TokenStream) -> Option<LocalMacro> {
    let mut it = tokens.into_iter();
    let TokenTree::Group(matcher) = it.next()? else {
        return None;
    };
    match (it.next()?, it.next()?) {
        (TokenTree::Punct(a), TokenTree::Punct(b)) if a.as_char() == '=' && b.as_char() == '>' => {}
        _ => return None,
    }
    let TokenTree::Group(body) = it.next()? else {
        return None;
    };
    Some(LocalMacro {
        matcher: parse_matcher(matcher.stream())?,
        body: body.stream(),
    })
}

fn fragment(kind: &str) -> Fragment {
    match kind {
        "tt" | "ident" | "literal" | "lifetime" => Fragment::One,
        _ => Fragment::Many,
    }
}

/// `$name:frag` at the front of `trees`: the name and fragment, and how many trees it took.
fn metavar(trees: &[TokenTree]) -> Option<(String, Fragment)> {
    match trees {
        [TokenTree::Punct(d), TokenTree::Ident(name), TokenTree::Punct(c), TokenTree::Ident(kind), ..]
            if d.as_char() == '$' && c.as_char() == ':' =>
        {
            Some((name.to_string(), fragment(&kind.to_string())))
        }
        _ => None,
    }
}

fn parse_matcher(tokens: TokenStream) -> Option<Vec<MatchPart>> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < trees.len() {
        if let Some((name, frag)) = metavar(&trees[i..]) {
            parts.push(MatchPart::Var(name, frag));
            i += 4;
            continue;
        }
        match &trees[i] {
            TokenTree::Punct(d) if d.as_char() == '$' => {
                // `$( $x:frag ) sep? op`
                let TokenTree::Group(g) = trees.get(i + 1)? else {
                    return None;
                };
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                let rest = &trees[i + 2..];
                let (sep, op, used) = match rest {
                    [TokenTree::Punct(op), ..] if matches!(op.as_char(), '*' | '+' | '?') => {
                        (None, op.as_char(), 1)
                    }
                    [sep, TokenTree::Punct(op), ..] if matches!(op.as_char(), '*' | '+') => {
                        (Some(sep.to_string()), op.as_char(), 2)
                    }
                    _ => return None,
                };
                i += 2 + used;
                let optional_separator = inner.len() == 1
                    && matches!(&inner[0], TokenTree::Punct(p) if matches!(p.as_char(), ',' | ';'));
                if optional_separator {
                    // A trailing `$(,)?` / `$(;)*`: optional separators.
                    continue;
                }
                if op == '?' || parts.iter().any(|p| matches!(p, MatchPart::Repeat(..))) {
                    return None;
                }
                let inner = parse_matcher(g.stream())?;
                if inner.iter().any(has_repeat)
                    || !inner.iter().any(|p| !matches!(p, MatchPart::Exact(_)))
                {
                    return None;
                }
                parts.push(MatchPart::Repeat(inner, sep));
            }
            TokenTree::Ident(_) | TokenTree::Punct(_) => {
                if parts.iter().any(|p| matches!(p, MatchPart::Repeat(..))) {
                    return None;
                }
                parts.push(MatchPart::Exact(trees[i].to_string()));
                i += 1;
            }
            TokenTree::Group(g) => {
                if parts.iter().any(|p| matches!(p, MatchPart::Repeat(..))) {
                    return None;
                }
                parts.push(MatchPart::Group(g.delimiter(), parse_matcher(g.stream())?));
                i += 1;
            }
            TokenTree::Literal(_) => return None,
        }
    }
    Some(parts)
}

/// Whether a part is or holds a repetition.
fn has_repeat(part: &MatchPart) -> bool {
    match part {
        MatchPart::Repeat(..) => true,
        MatchPart::Group(_, inner) => inner.iter().any(has_repeat),
        MatchPart::Exact(_) | MatchPart::Var(..) => false,
    }
}

/// The metavariables a matcher binds, in order.
fn var_names(parts: &[MatchPart], out: &mut Vec<String>) {
    for p in parts {
        match p {
            MatchPart::Var(name, _) => out.push(name.clone()),
            MatchPart::Group(_, inner) | MatchPart::Repeat(inner, _) => var_names(inner, out),
            MatchPart::Exact(_) => {}
        }
    }
}

/// What a metavariable was bound to: one token sequence, or one per repetition.
enum Binding {
    One(TokenStream),
    Many(Vec<TokenStream>),
}

/// Matches an invocation against a rule's matcher.
fn bind(matcher: &[MatchPart], tokens: TokenStream) -> Option<Vec<(String, Binding)>> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    for (k, part) in matcher.iter().enumerate() {
        match part {
            MatchPart::Exact(text) => {
                if trees.get(i)?.to_string() != *text {
                    return None;
                }
                i += 1;
            }
            MatchPart::Var(name, Fragment::One) => {
                out.push((name.clone(), Binding::One(trees.get(i)?.clone().into())));
                i += 1;
            }
            MatchPart::Group(delim, inner) => {
                let TokenTree::Group(g) = trees.get(i)? else {
                    return None;
                };
                if g.delimiter() != *delim {
                    return None;
                }
                out.extend(bind(inner, g.stream())?);
                i += 1;
            }
            MatchPart::Var(name, Fragment::Many) => {
                let end = match matcher.get(k + 1) {
                    Some(MatchPart::Exact(t)) => {
                        (i..trees.len()).find(|&j| trees[j].to_string() == *t)?
                    }
                    Some(MatchPart::Group(d, _)) => (i..trees.len()).find(
                        |&j| matches!(&trees[j], TokenTree::Group(g) if g.delimiter() == *d),
                    )?,
                    None => trees.len(),
                    Some(_) => return None,
                };
                if end == i {
                    return None;
                }
                out.push((
                    name.clone(),
                    Binding::One(trees[i..end].iter().cloned().collect()),
                ));
                i = end;
            }
            MatchPart::Repeat(inner, sep) => {
                let rest = &trees[i..];
                let items: Vec<TokenStream> = match (sep, inner.as_slice()) {
                    (Some(sep), _) => {
                        let mut items = vec![TokenStream::new()];
                        for t in rest {
                            if t.to_string() == *sep {
                                items.push(TokenStream::new());
                            } else if let Some(last) = items.last_mut() {
                                last.extend(std::iter::once(t.clone()));
                            }
                        }
                        if items.last().is_some_and(TokenStream::is_empty) {
                            items.pop();
                        }
                        items
                    }
                    (None, [MatchPart::Var(_, Fragment::One)]) => {
                        rest.iter().map(|t| t.clone().into()).collect()
                    }
                    (None, _) => return None,
                };
                let mut names = Vec::new();
                var_names(inner, &mut names);
                let mut lists: Vec<Vec<TokenStream>> = vec![Vec::new(); names.len()];
                for item in items {
                    for (name, b) in bind(inner, item)? {
                        let (Some(k), Binding::One(t)) = (names.iter().position(|n| *n == name), b)
                        else {
                            return None;
                        };
                        lists[k].push(t);
                    }
                }
                out.extend(
                    names
                        .into_iter()
                        .zip(lists)
                        .map(|(n, l)| (n, Binding::Many(l))),
                );
                i = trees.len();
            }
        }
    }
    (i == trees.len()).then_some(out)
}

/// The body with every `$x` replaced by its binding (an expression as one invisible group, so
/// `$a * 2` keeps its precedence) and every `$( .. ) sep* ` repeated once per binding of the
/// repeated variable it names. The body's own tokens take the invocation's span `site`, so what
/// the expansion does is reported where the macro is called.
fn transcribe(
    body: TokenStream,
    binds: &[(String, Binding)],
    item: Option<usize>,
    site: proc_macro2::Span,
) -> Option<TokenStream> {
    let trees: Vec<TokenTree> = body.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < trees.len() {
        match (&trees[i], trees.get(i + 1)) {
            (TokenTree::Punct(d), Some(TokenTree::Ident(name))) if d.as_char() == '$' => {
                let name = name.to_string();
                match binds.iter().find(|(n, _)| *n == name).map(|(_, b)| b) {
                    Some(Binding::One(t)) => out.extend(substituted(t)),
                    Some(Binding::Many(items)) => out.extend(substituted(items.get(item?)?)),
                    // `$crate` and unknown names.
                    None if name == "crate" => out.extend(std::iter::once(TokenTree::Ident(
                        proc_macro2::Ident::new("crate", proc_macro2::Span::call_site()),
                    ))),
                    None => return None,
                }
                i += 2;
            }
            (TokenTree::Punct(d), Some(TokenTree::Group(g))) if d.as_char() == '$' => {
                if item.is_some() {
                    return None;
                }
                let (sep, used) = match trees.get(i + 2..i + 4) {
                    Some([TokenTree::Punct(op), _]) if matches!(op.as_char(), '*' | '+' | '?') => {
                        (None, 1)
                    }
                    Some([sep, TokenTree::Punct(op)]) if matches!(op.as_char(), '*' | '+') => {
                        (Some(sep.clone()), 2)
                    }
                    _ => match trees.get(i + 2) {
                        Some(TokenTree::Punct(op)) if matches!(op.as_char(), '*' | '+' | '?') => {
                            (None, 1)
                        }
                        _ => return None,
                    },
                };
                let mut used_names = Vec::new();
                body_vars(g.stream(), &mut used_names);
                let count = binds
                    .iter()
                    .filter(|(n, _)| used_names.contains(n))
                    .find_map(|(_, b)| match b {
                        Binding::Many(items) => Some(items.len()),
                        Binding::One(_) => None,
                    })?;
                for k in 0..count {
                    if k > 0 {
                        if let Some(s) = &sep {
                            out.extend(std::iter::once(s.clone()));
                        }
                    }
                    out.extend(transcribe(g.stream(), binds, Some(k), site)?);
                }
                i += 2 + used;
            }
            (TokenTree::Group(g), _) => {
                let inner = transcribe(g.stream(), binds, item, site)?;
                let mut group = proc_macro2::Group::new(g.delimiter(), inner);
                group.set_span(site);
                out.extend(std::iter::once(TokenTree::Group(group)));
                i += 1;
            }
            (t, _) => {
                let mut t = t.clone();
                t.set_span(site);
                out.extend(std::iter::once(t));
                i += 1;
            }
        }
    }
    Some(out)
}

/// The `$name`s a transcriber mentions (nested groups included).
fn body_vars(tokens: TokenStream, out: &mut Vec<String>) {
    let mut stack = vec![tokens.into_iter()];
    let mut dollar = false;
    while let Some(top) = stack.last_mut() {
        let Some(tree) = top.next() else {
            stack.pop();
            continue;
        };
        let is_dollar = matches!(&tree, TokenTree::Punct(p) if p.as_char() == '$');
        match tree {
            TokenTree::Group(g) => stack.push(g.stream().into_iter()),
            TokenTree::Ident(i) if dollar => out.push(i.to_string()),
            _ => {}
        }
        dollar = is_dollar;
    }
}

/// What `$x` becomes: a single token as itself (an identifier may start a path), longer
/// fragments as one invisible group.
fn substituted(t: &TokenStream) -> TokenStream {
    let mut it = t.clone().into_iter();
    match (it.next(), it.next()) {
        (Some(one), None) => one.into(),
        _ => TokenTree::Group(proc_macro2::Group::new(Delimiter::None, t.clone())).into(),
    }
}

/// Expands `name!(tokens)` when `name` is a supported `macro_rules!` of the file being lowered
/// and the file's expansion budget allows; `None` otherwise (the caller lowers the invocation
/// as before).
pub(super) fn expand_local(
    name: &str,
    tokens: TokenStream,
    site: proc_macro2::Span,
) -> Option<TokenStream> {
    let rule = LOCAL.with(|l| l.borrow().get(name).cloned())?;
    let binds = bind(&rule.matcher, tokens)?;
    let expanded = transcribe(rule.body, &binds, None, site)?;
    let size = count_trees(expanded.clone());
    let used = EXPANDED.with(Cell::get);
    if used.saturating_add(size) > MAX_EXPANDED_TOKENS {
        return None;
    }
    EXPANDED.with(|e| e.set(used + size));
    Some(expanded)
}

/// Token trees in `tokens`, nested ones included, without recursion.
fn count_trees(tokens: TokenStream) -> usize {
    let mut n = 0;
    let mut stack = vec![tokens.into_iter()];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            None => {
                stack.pop();
            }
            Some(TokenTree::Group(g)) => {
                n += 1;
                stack.push(g.stream().into_iter());
            }
            Some(_) => n += 1,
        }
    }
    n
}

/// Lowers an expansion in expression position: a block of its statements.
fn lower_expansion(expanded: TokenStream, closures: &mut Vec<ClosureIr>) -> Option<Expr> {
    let block = syn::Block::parse_within.parse2(expanded).ok()?;
    Some(Expr::Block(super::lower::lower_block(
        &syn::Block {
            brace_token: syn::token::Brace::default(),
            stmts: block,
        },
        closures,
    )))
}

/// Items a local macro expands to in item position (structs, impls, functions), entered like
/// a macro body, so they count towards the nesting cap; `None` when it is not a local macro,
/// the nesting cap is reached or the expansion is not items.
pub(super) fn expand_items(mac: &syn::Macro) -> Option<(Vec<syn::Item>, Nested)> {
    let name = mac.path.get_ident()?.to_string();
    let level = Nested::enter()?;
    let site = mac.path.segments.last()?.ident.span();
    let expanded = expand_local(&name, mac.tokens.clone(), site)?;
    let file = syn::parse2::<syn::File>(expanded).ok()?;
    Some((file.items, level))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inline arguments are found, escaped braces and positional holes are not.
    #[test]
    fn finds_inline_format_args() {
        assert_eq!(
            inline_format_args("{{x}} {hw}#{n} {} {0} {v:?}"),
            vec!["hw", "n", "v"]
        );
    }

    /// Macro bodies nested past the cap are not parsed any more, but the data they name still
    /// reaches the enclosing macro; lowering 20,000 levels stays linear.
    #[test]
    fn deeply_nested_bodies_keep_their_names() {
        fn innermost_args(mut e: &Expr, levels: &mut usize) -> Vec<String> {
            loop {
                let Expr::Macro { args, .. } = e else {
                    panic!("not a macro: {e:?}");
                };
                match args.as_slice() {
                    [inner @ Expr::Macro { .. }] => {
                        *levels += 1;
                        e = inner;
                    }
                    other => {
                        return other
                            .iter()
                            .map(|a| match a {
                                Expr::Path { segs, .. } => segs[0].to_string(),
                                x => format!("{x:?}"),
                            })
                            .collect();
                    }
                }
            }
        }
        let n = 20_000;
        let body = format!(
            "{}imei.clone(), format!(\"{{}}\", msisdn) {}",
            "vec![".repeat(n),
            "]".repeat(n)
        );
        let lowered = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || {
                let mac: syn::Macro = syn::parse_str(&format!("m!({body})")).expect("parses");
                let lowered = lower_expr_list(mac.tokens, &mut Vec::new()).0;
                assert_eq!(DEPTH.with(Cell::get), 0, "every level was left");
                lowered
            })
            .expect("spawn")
            .join()
            .expect("no panic");
        let mut levels = 1;
        let names = innermost_args(&lowered[0], &mut levels);
        // The parsed bodies, then the one lowered to its names.
        assert_eq!(levels, MAX_NESTED_BODIES + 1);
        assert_eq!(names, ["imei", "clone", "msisdn"]);
    }

    /// A file's own `macro_rules!` expand in expression and item position; matchers they do
    /// not support leave the invocation as it was.
    #[test]
    fn local_macros_expand() {
        let file: syn::File = syn::parse_str(
            "macro_rules! one { ($n:expr) => { $n.clone() }; }
             macro_rules! many { ($($x:expr),* $(,)?) => { vec![$($x),*] }; }
             macro_rules! deep { ($($a:tt)*) => { $( $( $a )* )* }; }
             macro_rules! pairs { ($($k:ident = $v:expr),*) => { Req { $($k: $v),* } }; }
             fn f() { let a = one!(imei); let b = many!(x, y,); let c = deep!(z);
                      let d = pairs!(number = msisdn.clone(), lang = \"en\"); }",
        )
        .expect("parses");
        let ir = super::super::lower::lower_file(&file);
        let text = format!("{:?}", ir.fns[0].body);
        assert!(text.contains("name: \"clone\""), "{text}");
        assert!(text.contains("name: \"vec\""), "{text}");
        assert!(text.contains("name: \"deep\""), "{text}");
        assert!(text.contains("(\"number\", Wrap(Method"), "{text}");
        assert_eq!(
            LOCAL.with(|l| l.borrow().len()),
            0,
            "forgotten after the file"
        );
    }

    /// A macro that expands to calls of itself, doubling its input each time, in expression
    /// and item position: the nesting cap and the per-file token budget stop it quickly.
    #[test]
    fn self_expanding_macros_stay_bounded() {
        let file: syn::File = syn::parse_str(
            "macro_rules! boom { ($($t:tt)*) => { boom!($($t)* $($t)*) + boom!($($t)*) }; }
             macro_rules! items { ($($t:tt)*) => { items!{ $($t)* $($t)* } fn g() {} }; }
             items!{ a b }
             fn f() { let a = boom!(imei x y); }",
        )
        .expect("parses");
        let started = std::time::Instant::now();
        let ir = super::super::lower::lower_file(&file);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert!(ir.fns.len() <= MAX_NESTED_BODIES + 2);
        assert_eq!(DEPTH.with(Cell::get), 0, "every level was left");
    }

    /// A json! object is a struct literal of its keys, nested objects included; literal
    /// values lower to nothing.
    #[test]
    fn json_objects_are_struct_literals() {
        let tokens: TokenStream =
            r#"{ "event": "login", "session": session, "sub": { "number": msisdn } }"#
                .parse()
                .unwrap();
        let Some(Expr::Struct { path, fields, .. }) = lower_json(tokens, &mut Vec::new()) else {
            panic!("not a struct literal");
        };
        assert!(path.is_empty());
        let keys: Vec<&str> = fields.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["session", "sub"]);
    }
}
