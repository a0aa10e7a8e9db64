//! Rule loader tests: the default pack, the errors of step one (serde) and step two (validate),
//! their rendering, and the generated rule reference `docs/rules.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use idflow::diag::{render_rule_errors, Code};
use idflow::rules::raw::RawCall;
use idflow::rules::{RawRuleFile, RuleError, RulePack, DEFAULT_RULE_FILES};

/// The default pack plus `extra` files (path, text) as a `--rules` layer.
fn load_with(extra: &[(&str, &str)]) -> Result<RulePack, Vec<RuleError>> {
    let mut texts: Vec<(PathBuf, String, usize)> = DEFAULT_RULE_FILES
        .iter()
        .map(|(p, t)| (Path::new("rules").join(p), (*t).to_string(), 0))
        .collect();
    texts.extend(
        extra
            .iter()
            .map(|(p, t)| (PathBuf::from(p), (*t).to_string(), 1)),
    );
    RulePack::from_texts(texts, Vec::new())
}

/// The errors of loading `extra` on top of the default pack.
fn errors_of(extra: &[(&str, &str)]) -> Vec<RuleError> {
    match load_with(extra) {
        Ok(_) => panic!("expected rule errors"),
        Err(errors) => errors,
    }
}

/// `(code, line, column)` of every error, for compact assertions.
fn summary(errors: &[RuleError]) -> Vec<(Code, usize, usize)> {
    errors.iter().map(|e| (e.code, e.line, e.column)).collect()
}

/// The embedded default pack deserializes and validates, with all 13 categories.
#[test]
fn default_pack_loads() {
    let pack = match RulePack::load(None) {
        Ok(pack) => pack,
        Err(errors) => panic!(
            "default pack has errors:\n{}",
            render_rule_errors(&errors, false)
        ),
    };
    let ids: Vec<&str> = pack
        .rules()
        .categories
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "imei",
            "imsi",
            "iccid",
            "phone_number",
            "serial_number",
            "mac_address",
            "android_id",
            "advertising_id",
            "machine_id",
            "device_id",
            "push_token",
            "ip_address",
            "hostname"
        ]
    );
}

/// Every source, sink, sanitizer and guard of the default pack documents itself fully.
#[test]
fn default_pack_is_documented() {
    let pack = RulePack::builtin();
    let r = pack.rules();
    let mut missing = Vec::new();
    for (id, why, example, refs) in documented(r) {
        if why.trim().is_empty() || example.trim().is_empty() || refs.is_empty() {
            missing.push(id.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "entries without why/example/references: {missing:?}"
    );
}

/// (id, why, example, references) of every documented entry.
fn documented(r: &RawRuleFile) -> Vec<(&str, &str, &str, &[String])> {
    let mut out: Vec<(&str, &str, &str, &[String])> = Vec::new();
    out.extend(r.sources.iter().map(|s| {
        (
            s.id.as_str(),
            s.why.as_str(),
            s.example.as_str(),
            &s.references[..],
        )
    }));
    out.extend(r.sinks.iter().map(|s| {
        (
            s.id.as_str(),
            s.why.as_str(),
            s.example.as_str(),
            &s.references[..],
        )
    }));
    out.extend(r.sanitizers.iter().map(|s| {
        (
            s.id.as_str(),
            s.why.as_str(),
            s.example.as_str(),
            &s.references[..],
        )
    }));
    out.extend(r.guards.iter().map(|s| {
        (
            s.id.as_str(),
            s.why.as_str(),
            s.example.as_str(),
            &s.references[..],
        )
    }));
    out
}

/// An unknown key is an error at its own line and column, with a suggestion for a typo.
#[test]
fn unknown_key_has_line_and_column() {
    let text =
        "sinks:\n  - id: x-body\n    what: x\n    call: { methd: [body] }\n    bogus_key: 1\n";
    let errors = errors_of(&[("extra/bad.yaml", text)]);
    assert_eq!(
        summary(&errors),
        [(Code::RuleUnknownKey, 4, 13)],
        "{errors:#?}"
    );
    assert!(
        errors[0].message.contains("`methd`"),
        "{}",
        errors[0].message
    );
    assert_eq!(errors[0].help.as_deref(), Some("did you mean `method`?"));
    assert_eq!(errors[0].file, Path::new("extra/bad.yaml"));
}

/// A top-level list the format does not know is reported at its line.
#[test]
fn unknown_list_is_reported() {
    let errors = errors_of(&[("extra/bad.yaml", "# sinks\nsink:\n  - id: x\n")]);
    assert_eq!(
        summary(&errors),
        [(Code::RuleUnknownKey, 2, 1)],
        "{errors:#?}"
    );
    assert_eq!(errors[0].help.as_deref(), Some("did you mean `sinks`?"));
}

/// A file that is not YAML gives one syntax error with its position.
#[test]
fn syntax_error_is_located() {
    let errors = errors_of(&[(
        "extra/bad.yaml",
        "sinks:\n  - id: \"unterminated\n    what: x\n",
    )]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].code, Code::RuleSyntax);
    assert!(errors[0].line >= 2, "{errors:#?}");
}

/// A regex that does not compile is an error at the regex.
#[test]
fn bad_regex() {
    let text =
        "guards:\n  - id: my-consent\n    what: a consent flag\n    name: 'consent|(opt_in'\n";
    let errors = errors_of(&[("extra/guards.yaml", text)]);
    assert_eq!(
        summary(&errors),
        [(Code::RuleBadRegex, 4, 12)],
        "{errors:#?}"
    );
    assert!(
        errors[0].message.contains("unclosed group"),
        "{}",
        errors[0].message
    );
}

/// A source whose category does not exist is a bad reference at the value, with a suggestion.
#[test]
fn unknown_category_reference() {
    let text = "sources:\n  - id: name-msisdn\n    category: phone_numbr\n    what: x\n    name: 'msisdn$'\n";
    let errors = errors_of(&[("extra/sources.yaml", text)]);
    assert_eq!(
        summary(&errors),
        [(Code::RuleBadReference, 3, 15)],
        "{errors:#?}"
    );
    assert_eq!(
        errors[0].help.as_deref(),
        Some("did you mean `phone_number`?")
    );
}

/// A receiver kind that no file defines is a bad reference at that list element.
#[test]
fn unknown_receiver_kind() {
    let text = "sinks:\n  - id: my-send\n    what: x\n    call:\n      method: [send]\n      receiver: [tcp-stream, tcp-stram]\n";
    let errors = errors_of(&[("extra/sinks.yaml", text)]);
    assert_eq!(
        summary(&errors),
        [(Code::RuleBadReference, 6, 30)],
        "{errors:#?}"
    );
    assert_eq!(errors[0].len, "tcp-stram".len());
}

/// The same id twice in one layer is an error at the second, naming the first.
#[test]
fn duplicate_id() {
    let a = "sinks:\n  - id: my-send\n    what: x\n    call: { function: [a::send] }\n";
    let b = "sinks:\n  - id: other\n    what: y\n    call: { function: [b::send] }\n  - id: my-send\n    what: z\n    call: { function: [c::send] }\n";
    let errors = errors_of(&[("extra/a.yaml", a), ("extra/b.yaml", b)]);
    assert_eq!(
        summary(&errors),
        [(Code::RuleDuplicateId, 5, 9)],
        "{errors:#?}"
    );
    assert_eq!(errors[0].file, Path::new("extra/b.yaml"));
    let help = errors[0].help.as_deref().unwrap_or_default();
    assert!(help.contains("extra/a.yaml:2:9"), "{help}");
}

/// An entry of a `--rules` file replaces the default entry with the same id.
#[test]
fn override_replaces_default_entry() {
    let default = RulePack::builtin();
    let text = "sinks:\n  - id: reqwest-body\n    what: overridden\n    call: { method: [body, body_bytes], receiver: [reqwest-request] }\n";
    let pack = load_with(&[("extra/override.yaml", text)]).expect("override loads");
    let sinks = &pack.rules().sinks;
    assert_eq!(sinks.len(), default.rules().sinks.len());
    let body = sinks
        .iter()
        .find(|s| s.id == "reqwest-body")
        .expect("still there");
    assert_eq!(body.what, "overridden");
    assert_eq!(body.call.method, ["body", "body_bytes"]);
}

/// A `--rules` directory on disk is read recursively and overrides by id.
#[test]
fn load_reads_rules_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("sinks")).expect("mkdir");
    std::fs::write(
        dir.path().join("sinks/custom.yml"),
        "sinks:\n  - id: telemetry-send\n    what: our telemetry client\n    call: { function: [telemetry::send] }\n",
    )
    .expect("write");
    let pack = RulePack::load(Some(dir.path())).expect("loads");
    assert!(pack.rules().sinks.iter().any(|s| s.id == "telemetry-send"));
    assert_ne!(pack.hash(), RulePack::builtin().hash());
}

/// Every problem of every file and entry is reported, not only the first.
#[test]
fn errors_are_all_collected() {
    let serde_problems = "sinks:\n  - id: a-send\n    what: x\n    call: { function: [a::send] }\n    datta: [0]\n  - id: b-send\n    what: y\n    cal: { function: [b::send] }\n";
    let value_problems = "\
kinds:
  - id: my-socket
    what: a socket
    transport: quic
sanitizers:
  - id: My_Cipher
    effect: crypt
    what: my cipher
    call: { method: [seal!], receiver: [my-socket] }
sources:
  - id: both-ways
    category: imei
    what: x
    call: { function: [] }
    name: 'imei$'
    on: [variable]
";
    let errors = errors_of(&[
        ("extra/a.yaml", serde_problems),
        ("extra/b.yaml", value_problems),
    ]);
    let got: Vec<(&str, Code, usize)> = errors
        .iter()
        .map(|e| (e.file.to_str().unwrap_or_default(), e.code, e.line))
        .collect();
    assert_eq!(
        got,
        [
            ("extra/a.yaml", Code::RuleUnknownKey, 5),
            ("extra/a.yaml", Code::RuleUnknownKey, 8),
            ("extra/b.yaml", Code::RuleBadValue, 4),
            ("extra/b.yaml", Code::RuleBadId, 6),
            ("extra/b.yaml", Code::RuleBadValue, 7),
            ("extra/b.yaml", Code::RuleBadValue, 9),
            ("extra/b.yaml", Code::RuleMissingKey, 14),
            ("extra/b.yaml", Code::RuleConflictingKeys, 15),
            ("extra/b.yaml", Code::RuleBadValue, 16),
        ],
        "{errors:#?}"
    );
}

/// A rule error renders as a miette report: code, message, the YAML line, a label and the help.
#[test]
fn rule_error_renders_with_snippet() {
    let text = "propagators:\n  - id: my-wrap\n    what: x\n    effect: identiy\n    call: { function: [Wrap::new] }\n";
    let errors = errors_of(&[("extra/p.yaml", text)]);
    let out = render_rule_errors(&errors, false);
    insta::assert_snapshot!(out);
}

/// `docs/diagnostics.md` documents every diagnostic code.
#[test]
fn diagnostic_codes_are_documented() {
    let docs = include_str!("../docs/diagnostics.md");
    let undocumented: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !docs.contains(&format!("### `{c}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/diagnostics.md lacks {undocumented:?}"
    );
    let codes: String = Code::ALL
        .iter()
        .map(|c| format!("{}: {}\n", c.as_str(), c.description()))
        .collect();
    insta::assert_snapshot!(codes);
}

/// `docs/rules.md` is the reference generated from the default pack; this test regenerates it
/// and fails when it was stale, so a rule change shows up in review with its docs.
#[test]
fn rules_reference_is_up_to_date() {
    let generated = rules_reference();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != generated {
        std::fs::write(&path, &generated).expect("write docs/rules.md");
        panic!("docs/rules.md was stale and has been regenerated; review and commit it");
    }
}

/// The Markdown reference of every entry of the default pack, file by file.
fn rules_reference() -> String {
    let mut out = String::from(
        "# Rule reference\n\n\
         <!-- Generated by `cargo test --test rules rules_reference_is_up_to_date` from `rules/`; do not edit. -->\n\n\
         Every entry of the default rule pack, file by file. The format is described in\n\
         [rule-format.md](rule-format.md); each source and sink has at least one fixture in\n\
         `tests/fixtures/` (same path as its rule file).\n\n",
    );
    let mut files: Vec<(&str, RawRuleFile)> = DEFAULT_RULE_FILES
        .iter()
        .map(|(p, t)| {
            (
                *p,
                serde_yaml::from_str::<Option<RawRuleFile>>(t)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            )
        })
        .collect();
    files.sort_by_key(|(p, _)| (p.matches('/').count(), p.to_string()));
    let _ = writeln!(out, "## Categories\n");
    let _ = writeln!(
        out,
        "| id | name | fideslang | Google Play | Apple |\n|---|---|---|---|---|"
    );
    for (_, f) in &files {
        for c in &f.categories {
            let _ = writeln!(
                out,
                "| `{}` | {} | `{}` | {} | `{}` |",
                c.id, c.name, c.fideslang, c.play_data_safety, c.apple_privacy
            );
        }
    }
    out.push('\n');
    for (path, f) in &files {
        let entries = entries(f);
        if entries.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## `rules/{path}`\n");
        for e in entries {
            let _ = writeln!(out, "### `{}`\n", e.id);
            let _ = writeln!(out, "*{}*{}: {}\n", e.list, e.extra, one_line(&e.what));
            if !e.matches.is_empty() {
                let _ = writeln!(out, "**Matches.** {}\n", e.matches);
            }
            if !e.why.is_empty() {
                let _ = writeln!(out, "**Why.** {}\n", one_line(&e.why));
            }
            if !e.example.is_empty() {
                let _ = writeln!(out, "```rust\n{}\n```\n", e.example.trim_end());
            }
            if !e.references.is_empty() {
                let refs: Vec<String> = e.references.iter().map(|r| format!("<{r}>")).collect();
                let _ = writeln!(out, "**References.** {}\n", refs.join(", "));
            }
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// One documented entry for the reference.
struct DocEntry {
    list: &'static str,
    id: String,
    extra: String,
    what: String,
    why: String,
    example: String,
    references: Vec<String>,
    matches: String,
}

/// `method `json` on `reqwest-request``, the call matcher in words.
fn matcher(call: &RawCall) -> String {
    let list = |v: &[String]| {
        v.iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !call.function.is_empty() {
        parts.push(format!("function {}", list(&call.function)));
    }
    if !call.method.is_empty() {
        parts.push(format!("method {}", list(&call.method)));
    }
    if !call.macro_.is_empty() {
        parts.push(format!("macro {}", list(&call.macro_)));
    }
    if !call.path.is_empty() {
        parts.push(format!("path {}", list(&call.path)));
    }
    let mut out = parts.join("; ");
    if !call.receiver.is_empty() {
        let _ = write!(out, " on {}", list(&call.receiver));
    }
    if let Some(s) = &call.string_arg {
        let _ = write!(out, " with a string argument matching `{s}`");
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn entries(f: &RawRuleFile) -> Vec<DocEntry> {
    let mut out = Vec::new();
    let plain = |list, id: &str, what: &str, extra: String| DocEntry {
        list,
        id: id.to_string(),
        extra,
        what: what.to_string(),
        why: String::new(),
        example: String::new(),
        references: Vec::new(),
        matches: String::new(),
    };
    for s in &f.sources {
        out.push(DocEntry {
            extra: format!(" ({})", s.category),
            why: s.why.clone(),
            example: s.example.clone(),
            references: s.references.clone(),
            matches: s.call.as_ref().map_or_else(
                || format!("names matching `{}`", s.name.clone().unwrap_or_default()),
                matcher,
            ),
            ..plain("source", &s.id, &s.what, String::new())
        });
    }
    for s in &f.sinks {
        out.push(DocEntry {
            why: s.why.clone(),
            example: s.example.clone(),
            references: s.references.clone(),
            matches: format!(
                "{}; data {}{}",
                matcher(&s.call),
                if s.data.is_empty() {
                    "every argument".to_string()
                } else {
                    format!("{:?}", s.data)
                },
                s.endpoint
                    .map(|e| format!("; endpoint argument {e}"))
                    .unwrap_or_default()
            ),
            ..plain("sink", &s.id, &s.what, String::new())
        });
    }
    for s in &f.sanitizers {
        out.push(DocEntry {
            extra: format!(" ({})", s.effect),
            why: s.why.clone(),
            example: s.example.clone(),
            references: s.references.clone(),
            matches: matcher(&s.call),
            ..plain("sanitizer", &s.id, &s.what, String::new())
        });
    }
    for g in &f.guards {
        out.push(DocEntry {
            why: g.why.clone(),
            example: g.example.clone(),
            references: g.references.clone(),
            matches: format!(
                "names matching `{}`{}",
                g.name,
                g.exclude
                    .as_ref()
                    .map(|x| format!(", except `{x}`"))
                    .unwrap_or_default()
            ),
            ..plain("guard", &g.id, &g.what, String::new())
        });
    }
    for k in &f.kinds {
        let t = k
            .transport
            .as_deref()
            .map(|t| format!(" (transport {t})"))
            .unwrap_or_default();
        out.push(plain("kind", &k.id, &k.what, t));
    }
    for c in &f.constructors {
        let k = c
            .kind
            .as_deref()
            .map(|k| format!(" (→ `{k}`)"))
            .unwrap_or_default();
        out.push(DocEntry {
            matches: matcher(&c.call),
            ..plain("constructor", &c.id, &c.what, k)
        });
    }
    for p in &f.propagators {
        out.push(plain(
            "propagator",
            &p.id,
            &p.what,
            format!(" ({})", p.effect),
        ));
    }
    out
}
