//! Fixture tests: every `tests/fixtures/**/*.rs` is scanned with the default rule pack and its
//! findings are checked against the expectations written inline in the fixture.
//!
//! Annotations (semgrep style), on the sink line or alone on a line (then they apply to the next
//! code line, and several may stack):
//!
//! - `// idflow: expect <category> [sink=<rule>] [source=<rule>] [encrypted=<bool>]
//!   [pseudonymized=<bool>] [consent=<bool>] [transport=tls|plaintext|unknown] [recipient=<host>]`:
//!   a finding of that category at that line, with those attributes;
//! - `// idflow: ok <category>`: no finding of that category at that line;
//! - `// idflow: todo-expect ...` / `// idflow: todo-ok ...`: known misses of the engine; counted,
//!   not failed, but a todo that starts passing fails (so it gets promoted);
//! - `// idflow: covers <rule-id>...`: names rules the fixture exercises that show in no finding
//!   attribute (sanitizers, guards).
//!
//! A finding no `expect` explains fails. A fixture without `//- path` markers is `src/main.rs`;
//! with markers, each `//- src/net.rs` line starts a new file of a virtual crate, and files under
//! `//- idflow-rules/` are a rule layer on top of the default pack (as `--rules`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use idflow::findings::Finding;
use idflow::rules::RulePack;
use idflow::scan::{run, ScanOptions};

/// What an annotation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Expect,
    Ok,
    TodoExpect,
    TodoOk,
}

/// One `// idflow:` expectation about one line.
#[derive(Debug, Clone)]
struct Annotation {
    verb: Verb,
    category: String,
    attrs: Vec<(String, String)>,
    /// Line of the annotation in the fixture file (1-based), for messages.
    fixture_line: usize,
}

/// A virtual file of a fixture.
#[derive(Debug, Default)]
struct VirtualFile {
    /// Path inside the fixture's crate (`src/main.rs`).
    path: String,
    /// Its lines.
    lines: Vec<String>,
    /// Fixture line of the file's first line, minus one.
    offset: usize,
    /// Annotations by the 1-based line of this file they apply to.
    annotations: BTreeMap<usize, Vec<Annotation>>,
}

/// A parsed fixture.
#[derive(Debug, Default)]
struct Fixture {
    files: Vec<VirtualFile>,
    /// Rule ids the fixture names (`sink=`, `source=`, `covers`).
    named: BTreeSet<String>,
}

/// Attributes an `expect` may check.
const ATTRS: [&str; 7] = [
    "sink",
    "source",
    "encrypted",
    "pseudonymized",
    "consent",
    "transport",
    "recipient",
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(fixtures_dir())
        .into_iter()
        .filter_map(Result::ok)
        .map(walkdir::DirEntry::into_path)
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    paths.sort();
    paths
}

/// Splits a fixture on `//- path` markers and collects its annotations; problems with the
/// annotations themselves go to `errors`.
fn parse_fixture(name: &str, text: &str, errors: &mut Vec<String>) -> Fixture {
    let mut fixture = Fixture::default();
    let has_markers = text.lines().any(|l| l.starts_with("//- "));
    if !has_markers {
        fixture.files.push(VirtualFile {
            path: "src/main.rs".into(),
            ..VirtualFile::default()
        });
    }
    for (i, line) in text.lines().enumerate() {
        if let Some(path) = line.strip_prefix("//- ") {
            fixture.files.push(VirtualFile {
                path: path.trim().to_string(),
                offset: i + 1,
                ..VirtualFile::default()
            });
            continue;
        }
        // Lines before the first marker are the fixture's header comment.
        if let Some(file) = fixture.files.last_mut() {
            file.lines.push(line.to_string());
        }
    }
    for file in &mut fixture.files {
        let mut pending: Vec<Annotation> = Vec::new();
        for (i, line) in file.lines.iter().enumerate() {
            let fixture_line = file.offset + i + 1;
            let Some(at) = line.find("// idflow:") else {
                let code = line.trim();
                if !pending.is_empty() && !code.is_empty() && !code.starts_with("//") {
                    file.annotations
                        .entry(i + 1)
                        .or_default()
                        .append(&mut pending);
                }
                continue;
            };
            let alone = line[..at].trim().is_empty();
            let mut here = Vec::new();
            for part in line[at..].split("// idflow:").skip(1) {
                parse_annotation(
                    part,
                    fixture_line,
                    name,
                    &mut fixture.named,
                    &mut here,
                    errors,
                );
            }
            if alone {
                pending.extend(here);
            } else {
                let entry = file.annotations.entry(i + 1).or_default();
                entry.append(&mut pending);
                entry.extend(here);
            }
        }
        if !pending.is_empty() {
            errors.push(format!(
                "{name}:{}: annotation applies to no code line",
                pending[0].fixture_line
            ));
        }
    }
    fixture
}

fn parse_annotation(
    text: &str,
    fixture_line: usize,
    name: &str,
    named: &mut BTreeSet<String>,
    out: &mut Vec<Annotation>,
    errors: &mut Vec<String>,
) {
    let mut words = text.split_whitespace();
    let verb = match words.next() {
        Some("expect") => Verb::Expect,
        Some("ok") => Verb::Ok,
        Some("todo-expect") => Verb::TodoExpect,
        Some("todo-ok") => Verb::TodoOk,
        Some("covers") => {
            named.extend(words.map(String::from));
            return;
        }
        other => {
            errors.push(format!(
                "{name}:{fixture_line}: unknown annotation `{}` (expect, ok, todo-expect, todo-ok, covers)",
                other.unwrap_or_default()
            ));
            return;
        }
    };
    let Some(category) = words.next() else {
        errors.push(format!(
            "{name}:{fixture_line}: annotation without a category"
        ));
        return;
    };
    let mut attrs = Vec::new();
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            errors.push(format!("{name}:{fixture_line}: `{word}` is not key=value"));
            continue;
        };
        if !ATTRS.contains(&k) {
            errors.push(format!(
                "{name}:{fixture_line}: unknown attribute `{k}` ({})",
                ATTRS.join(", ")
            ));
            continue;
        }
        if k == "sink" || k == "source" {
            named.insert(v.to_string());
        }
        attrs.push((k.to_string(), v.to_string()));
    }
    out.push(Annotation {
        verb,
        category: category.to_string(),
        attrs,
        fixture_line,
    });
}

/// The value of attribute `key` of a finding, spelled as in annotations.
fn attr(f: &Finding, key: &str) -> String {
    match key {
        "sink" => f.sink_rule.clone(),
        "source" => f.source_rule.clone(),
        "encrypted" => f.encrypted.to_string(),
        "pseudonymized" => f.pseudonymized.to_string(),
        "consent" => f.consent.to_string(),
        "transport" => f.transport.as_str().to_string(),
        "recipient" => f.recipient.clone().unwrap_or_else(|| "none".into()),
        _ => String::new(),
    }
}

fn matches(a: &Annotation, f: &Finding) -> bool {
    f.category == a.category && a.attrs.iter().all(|(k, v)| attr(f, k) == *v)
}

/// `category sink=.. source=.. encrypted=.. ...` of a finding, for messages.
fn describe(f: &Finding) -> String {
    let mut s = f.category.clone();
    for k in ATTRS {
        let _ = write!(s, " {k}={}", attr(f, k));
    }
    s
}

/// Outcome counts of one run over all fixtures.
#[derive(Debug, Default)]
struct Tally {
    fixtures: usize,
    expectations: usize,
    todo: usize,
}

/// Checks one line's findings against its annotations.
fn check_line(
    at: &str,
    annotations: &[Annotation],
    findings: &[&Finding],
    tally: &mut Tally,
    failures: &mut Vec<String>,
) {
    let mut used = vec![false; findings.len()];
    let mut explained = vec![false; findings.len()];
    for a in annotations {
        tally.expectations += 1;
        let same_category: Vec<usize> = (0..findings.len())
            .filter(|&i| findings[i].category == a.category)
            .collect();
        match a.verb {
            Verb::Expect | Verb::TodoExpect => {
                let hit = same_category
                    .iter()
                    .copied()
                    .find(|&i| !used[i] && matches(a, findings[i]))
                    .or_else(|| {
                        same_category
                            .iter()
                            .copied()
                            .find(|&i| matches(a, findings[i]))
                    });
                if let Some(i) = hit {
                    used[i] = true;
                }
                let passes = hit.is_some();
                if a.verb == Verb::TodoExpect {
                    tally.todo += 1;
                    // A known miss explains what the engine reports instead.
                    for &i in &same_category {
                        explained[i] = true;
                    }
                    if passes {
                        failures.push(format!(
                            "{at}: todo-expect {} passes now: make it `expect`",
                            a.category
                        ));
                    }
                } else if !passes {
                    for &i in &same_category {
                        explained[i] = true;
                    }
                    let got: Vec<String> = same_category
                        .iter()
                        .map(|&i| describe(findings[i]))
                        .collect();
                    let attrs: Vec<String> =
                        a.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    failures.push(if got.is_empty() {
                        format!("{at}: missing finding: {} {}", a.category, attrs.join(" "))
                    } else {
                        format!(
                            "{at}: expected {} {}, got: {}",
                            a.category,
                            attrs.join(" "),
                            got.join(" | ")
                        )
                    });
                }
            }
            Verb::Ok | Verb::TodoOk => {
                for &i in &same_category {
                    explained[i] = true;
                }
                let passes = same_category.is_empty();
                if a.verb == Verb::TodoOk {
                    tally.todo += 1;
                    if passes {
                        failures.push(format!(
                            "{at}: todo-ok {} passes now: make it `ok`",
                            a.category
                        ));
                    }
                } else if !passes {
                    let got: Vec<String> = same_category
                        .iter()
                        .map(|&i| describe(findings[i]))
                        .collect();
                    failures.push(format!("{at}: false positive: {}", got.join(" | ")));
                }
            }
        }
    }
    for (i, f) in findings.iter().enumerate() {
        let expected_like = annotations
            .iter()
            .any(|a| a.verb == Verb::Expect && matches(a, f));
        if !used[i] && !explained[i] && !expected_like {
            failures.push(format!("{at}: unexpected finding: {}", describe(f)));
        }
    }
}

/// Runs one fixture; returns the rule ids it names.
fn run_fixture(
    path: &Path,
    rules: &RulePack,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) -> BTreeSet<String> {
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(err) => {
            failures.push(format!("{name}: cannot read: {err}"));
            return BTreeSet::new();
        }
    };
    let fixture = parse_fixture(&name, &text, failures);
    tally.fixtures += 1;
    let dir = tempfile::tempdir().expect("temp dir");
    for file in &fixture.files {
        let target = dir.path().join(&file.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("create fixture dir");
        }
        let mut body = file.lines.join("\n");
        body.push('\n');
        std::fs::write(&target, body).expect("write fixture file");
    }
    // Rule files of the fixture (`//- idflow-rules/sdk.yaml`) are a `--rules` layer on top of
    // the default pack: a user's model of their own SDK.
    let extra_rules = dir.path().join("idflow-rules");
    let layered;
    let rules = if extra_rules.is_dir() {
        match RulePack::load(Some(&extra_rules)) {
            Ok(pack) => {
                layered = pack;
                &layered
            }
            Err(errors) => {
                failures.push(format!("{name}: rule layer does not load: {errors:?}"));
                return fixture.named;
            }
        }
    } else {
        rules
    };
    let options = ScanOptions::new(dir.path().to_path_buf());
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| run(&options, rules)));
    let findings = match result {
        Ok(Ok(r)) => {
            for s in &r.skipped {
                failures.push(format!("{name}: {} skipped: {}", s.file, s.message));
            }
            r.findings
        }
        Ok(Err(err)) => {
            failures.push(format!("{name}: scan failed: {err}"));
            return fixture.named;
        }
        Err(_) => {
            failures.push(format!("{name}: scan panicked"));
            return fixture.named;
        }
    };
    let mut by_line: BTreeMap<(String, usize), Vec<&Finding>> = BTreeMap::new();
    for f in &findings {
        by_line
            .entry((f.sink.file.clone(), f.sink.line as usize))
            .or_default()
            .push(f);
    }
    for file in &fixture.files {
        let lines: BTreeSet<usize> = file
            .annotations
            .keys()
            .copied()
            .chain(
                by_line
                    .keys()
                    .filter(|(p, _)| *p == file.path)
                    .map(|(_, l)| *l),
            )
            .collect();
        for line in lines {
            let at = format!("{name}:{}", file.offset + line);
            let annotations = file.annotations.get(&line).map_or(&[][..], Vec::as_slice);
            let found = by_line
                .get(&(file.path.clone(), line))
                .map_or(&[][..], Vec::as_slice);
            check_line(&at, annotations, found, tally, failures);
        }
    }
    for f in &findings {
        if !fixture.files.iter().any(|v| v.path == f.sink.file) {
            failures.push(format!(
                "{name}: finding in unknown file {}: {}",
                f.sink.file,
                describe(f)
            ));
        }
    }
    fixture.named
}

/// Every fixture's findings match its inline expectations; todos are counted and must not pass.
#[test]
fn fixtures() {
    let rules = RulePack::builtin();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for path in fixture_paths() {
        run_fixture(&path, &rules, &mut tally, &mut failures);
    }
    eprintln!(
        "{} fixtures, {} expectations, {} todo",
        tally.fixtures, tally.expectations, tally.todo
    );
    assert!(
        failures.is_empty(),
        "{} fixture mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every source, sink, sanitizer and guard of the default pack is named by some fixture
/// (`sink=`, `source=`, `covers`), so each rule is exercised by at least one test.
#[test]
fn every_rule_has_a_fixture() {
    let rules = RulePack::builtin();
    let mut named = BTreeSet::new();
    let mut errors = Vec::new();
    for path in fixture_paths() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let fixture = parse_fixture(&path.display().to_string(), &text, &mut errors);
        // Rules a fixture defines in its own rule layer are not the default pack's.
        let own: BTreeSet<String> = fixture
            .files
            .iter()
            .filter(|f| f.path.starts_with("idflow-rules/"))
            .flat_map(|f| &f.lines)
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("- id:")
                    .map(|id| id.trim().to_string())
            })
            .collect();
        named.extend(fixture.named.into_iter().filter(|n| !own.contains(n)));
    }
    let r = rules.rules();
    let ids = r
        .sources
        .iter()
        .map(|s| ("source", &s.id))
        .chain(r.sinks.iter().map(|s| ("sink", &s.id)))
        .chain(r.sanitizers.iter().map(|s| ("sanitizer", &s.id)))
        .chain(r.guards.iter().map(|g| ("guard", &g.id)));
    let missing: Vec<String> = ids
        .filter(|(_, id)| !named.contains(id.as_str()))
        .map(|(kind, id)| format!("{kind} {id}"))
        .collect();
    assert!(
        missing.is_empty(),
        "rules no fixture names (add `sink=`/`source=` to an expect, or `// idflow: covers <id>`):\n{}",
        missing.join("\n")
    );
    let all: BTreeSet<&str> = r
        .sources
        .iter()
        .map(|s| s.id.as_str())
        .chain(r.sinks.iter().map(|s| s.id.as_str()))
        .chain(r.sanitizers.iter().map(|s| s.id.as_str()))
        .chain(r.guards.iter().map(|g| g.id.as_str()))
        .collect();
    let unknown: Vec<&String> = named.iter().filter(|n| !all.contains(n.as_str())).collect();
    assert!(
        unknown.is_empty(),
        "fixtures name rules that do not exist: {unknown:?}"
    );
}

/// The harness itself fails on a missing finding, an unexpected one, a wrong attribute and a
/// todo that passes, and accepts a todo that still fails.
#[test]
fn harness_reports_mismatches() {
    use idflow::findings::{Location, Transport};
    let finding = |category: &str, transport| Finding {
        id: String::new(),
        category: category.into(),
        source_rule: "name-imei".into(),
        sink_rule: "reqwest-body".into(),
        source: Location {
            file: "src/main.rs".into(),
            line: 1,
            column: 1,
            function: None,
            snippet: String::new(),
        },
        sink: Location {
            file: "src/main.rs".into(),
            line: 2,
            column: 1,
            function: None,
            snippet: String::new(),
        },
        path: Vec::new(),
        encrypted: false,
        pseudonymized: false,
        consent: false,
        transport,
        recipient: None,
        shipping: true,
    };
    let text =
        "// idflow: expect imei transport=tls\nsend();\nsend(); // idflow: todo-expect imei\n\
                send(); // idflow: todo-ok imei\nsend(); // idflow: ok imsi\n";
    let mut errors = Vec::new();
    let fixture = parse_fixture("t.rs", text, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    let a = fixture.files[0].annotations.clone();
    let plain = finding("imei", Transport::Plaintext);
    let tls = finding("imei", Transport::Tls);
    let imsi = finding("imsi", Transport::Tls);
    let mut tally = Tally::default();
    let cases: [(usize, Vec<&Finding>, usize); 6] = [
        (2, vec![&tls], 0),        // expectation met
        (2, vec![&plain], 1),      // wrong attribute
        (2, vec![], 1),            // missing
        (3, vec![], 0),            // todo still failing: counted only
        (3, vec![&tls], 1),        // todo passes: promote it
        (5, vec![&imsi, &tls], 2), // false positive and unexpected finding
    ];
    for (line, found, failures) in cases {
        let mut out = Vec::new();
        check_line("t.rs", &a[&line], &found, &mut tally, &mut out);
        assert_eq!(out.len(), failures, "line {line} with {found:?}: {out:?}");
    }
    let mut out = Vec::new();
    check_line("t.rs", &a[&4], &[], &mut tally, &mut out);
    assert_eq!(out.len(), 1, "a todo-ok with no finding passes: {out:?}");
}
