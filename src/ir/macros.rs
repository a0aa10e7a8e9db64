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
struct Nested(usize);

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
    let (args, format) = match name.as_str() {
        "json" => {
            let mut leaves = Vec::new();
            json_leaves(mac.tokens.clone(), &mut leaves);
            (
                leaves.iter().map(|e| lower_expr(e, closures)).collect(),
                None,
            )
        }
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

/// The Rust expressions inside a `json!` body: object values and array elements, recursively.
fn json_leaves(tokens: TokenStream, out: &mut Vec<syn::Expr>) {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    if let [TokenTree::Group(g)] = trees.as_slice() {
        match g.delimiter() {
            Delimiter::Brace => {
                for entry in split_top(g.stream(), ',') {
                    let parts: Vec<TokenTree> = entry.into_iter().collect();
                    let colon = parts
                        .iter()
                        .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ':'));
                    if let Some(i) = colon {
                        json_leaves(parts[i + 1..].iter().cloned().collect(), out);
                    }
                }
                return;
            }
            Delimiter::Bracket => {
                for item in split_top(g.stream(), ',') {
                    json_leaves(item, out);
                }
                return;
            }
            _ => {}
        }
    }
    if let Ok(expr) = syn::parse2::<syn::Expr>(tokens) {
        if !matches!(&expr, syn::Expr::Lit(_)) {
            out.push(expr);
        }
    }
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

    /// A json! body yields its Rust values, nested objects included.
    #[test]
    fn json_values_are_expressions() {
        let tokens: TokenStream =
            r#"{ "event": "login", "session": session, "sub": { "number": msisdn } }"#
                .parse()
                .unwrap();
        let mut out = Vec::new();
        json_leaves(tokens, &mut out);
        assert_eq!(out.len(), 2);
    }
}
