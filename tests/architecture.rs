//! The Architecture Invariants of `ARCHITECTURE.md`, checked on the source text of `src/` so that
//! they cannot rot silently: which module may import which (the layer table [`LAYERS`]), who may
//! see `syn`, that the analysis does no IO and knows no output format, that only the front end
//! prints or reads the environment, and that `main.rs` only calls into `cli`. Comments, string
//! literals and `#[cfg(test)]` items are not looked at. A failure names the file, the line and
//! the rule it breaks.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;

/// One layer: the files it owns (a path under `src/`, or a folder ending in `/`; the longest
/// match wins) and the layers its files may import. Files of one layer may import each other.
/// The layers are listed in import order: a layer may import only layers above it, so the
/// table itself is the pipeline order ([`layer_table_is_ordered`] holds it to that).
///
/// The import order is the run order of `scan` with two exceptions it explains: `ir` (the data
/// model and its lowering) sits below `parse`, which drives the lowering of each file right after
/// parsing it; and the data models every stage fills (`findings`, the interner `ir::sym`) and the
/// progress observer sit at the bottom, importing nothing.
struct Layer {
    name: &'static str,
    files: &'static [&'static str],
    may_import: &'static [&'static str],
}

/// Every module of `src/`, in import order. A new module must be added here.
const LAYERS: &[Layer] = &[
    Layer {
        name: "progress",
        files: &["progress.rs"],
        may_import: &[],
    },
    Layer {
        name: "findings",
        files: &["findings.rs"],
        may_import: &[],
    },
    Layer {
        name: "sym",
        files: &["ir/sym.rs"],
        may_import: &[],
    },
    Layer {
        name: "ir",
        files: &["ir/"],
        may_import: &["sym"],
    },
    Layer {
        name: "discover",
        files: &["discover.rs"],
        may_import: &["findings", "sym"],
    },
    Layer {
        // The rule pack and the diagnostics that render its errors (each uses the other).
        name: "rules",
        files: &["rules/", "diag.rs"],
        may_import: &["findings", "sym", "ir"],
    },
    Layer {
        // The dependency stage beside `discover` (network crates from `Cargo.toml`/`Cargo.lock`,
        // matched against the rule pack), from the coverage work; `scan` calls it.
        name: "deps",
        files: &["deps.rs"],
        may_import: &["findings", "discover", "rules"],
    },
    Layer {
        name: "cache",
        files: &["cache.rs"],
        may_import: &["findings", "sym", "ir"],
    },
    Layer {
        name: "parse",
        files: &["parse/"],
        may_import: &["progress", "findings", "sym", "ir", "discover", "cache"],
    },
    Layer {
        name: "graph",
        files: &["graph/"],
        may_import: &["findings", "sym", "ir", "parse"],
    },
    Layer {
        name: "taint",
        files: &["taint/"],
        may_import: &["findings", "sym", "ir", "parse", "graph", "rules"],
    },
    Layer {
        name: "classify",
        files: &["classify.rs"],
        may_import: &[
            "findings", "sym", "ir", "discover", "graph", "rules", "taint",
        ],
    },
    Layer {
        name: "incremental",
        files: &["incremental.rs"],
        may_import: &[
            "findings", "sym", "ir", "parse", "graph", "rules", "taint", "classify",
        ],
    },
    Layer {
        name: "scan",
        files: &["scan.rs"],
        may_import: &[
            "progress",
            "findings",
            "sym",
            "ir",
            "discover",
            "rules",
            "deps",
            "cache",
            "parse",
            "graph",
            "taint",
            "classify",
            "incremental",
        ],
    },
    Layer {
        // Consumers of the findings: the declarations file and the CI gate's policies (each
        // uses the other: `policies:` is a section of `idflow.yaml`).
        name: "gate",
        files: &["declarations.rs", "policy.rs"],
        may_import: &["findings"],
    },
    Layer {
        name: "report",
        files: &["report/"],
        may_import: &["findings", "rules", "gate"],
    },
    Layer {
        name: "cli",
        files: &["cli/"],
        may_import: &[
            "progress",
            "findings",
            "sym",
            "ir",
            "discover",
            "rules",
            "deps",
            "cache",
            "parse",
            "graph",
            "taint",
            "classify",
            "incremental",
            "scan",
            "gate",
            "report",
        ],
    },
    Layer {
        // Entry points: the crate root (with the fuzz targets' `fuzzing` module), the binary
        // and the benchmark harness.
        name: "entry",
        files: &["lib.rs", "main.rs", "bin/"],
        may_import: &[
            "progress",
            "findings",
            "sym",
            "ir",
            "discover",
            "rules",
            "deps",
            "cache",
            "parse",
            "graph",
            "taint",
            "classify",
            "incremental",
            "scan",
            "gate",
            "report",
            "cli",
        ],
    },
];

/// Known violations, each `(rule, file, the offending line trimmed)`, tolerated until their
/// fix is merged. An entry that no longer matches anything fails the test: delete it.
const ALLOWED: &[(&str, &str, &str)] = &[];

/// A source file of `src/`: its path (`src/...`), its lines as written, its lines with comments
/// and string contents blanked out, and which lines are unit tests.
struct Source {
    path: String,
    raw: Vec<String>,
    code: Vec<String>,
    test: Vec<bool>,
}

impl Source {
    fn new(path: String, text: &str) -> Source {
        let raw = text.lines().map(str::to_string).collect();
        let code: Vec<String> = strip(text).lines().map(str::to_string).collect();
        let test = test_lines(&code);
        Source {
            path,
            raw,
            code,
            test,
        }
    }
}

impl Source {
    /// The lines to check, numbered from 1, without unit-test lines.
    fn lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.code
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.test[*i])
            .map(|(i, l)| (i + 1, l.as_str()))
    }

    /// Path relative to `src/`.
    fn rel(&self) -> &str {
        &self.path["src/".len()..]
    }
}

/// Every `.rs` file under `src/`, sorted by path.
fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect(&root.join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("source file reads");
            let rel = p.strip_prefix(root).expect("under the manifest dir");
            Source::new(rel.to_string_lossy().replace('\\', "/"), &text)
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ reads") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` with comments and the contents of string and character literals replaced by spaces
/// (line breaks kept, so line numbers still hold).
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && starts_token(&chars, i) {
            // A raw string `r#".."#` or `br".."` (or a raw identifier `r#name`, left alone).
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.extend(std::iter::repeat_n(' ', j - i + 1));
            i = j + 1;
            while i < chars.len() {
                if chars[i] == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime ('a), left alone.
            let end = if next == Some('\\') {
                (i + 3..chars.len()).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = end {
                out.extend(std::iter::repeat_n(' ', end - i + 1));
                i = end + 1;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether the `r` at `i` starts a raw string: not inside an identifier, except after the `b`
/// of a raw byte string.
fn starts_token(chars: &[char], i: usize) -> bool {
    let ident = |k: usize| {
        k < i
            && chars
                .get(k)
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
    };
    let before = i.wrapping_sub(1);
    !ident(before) || chars[before] == 'b' && !ident(before.wrapping_sub(1))
}

/// Which lines belong to a `#[cfg(test)]` item (a unit-test module): tests may do what the
/// library may not.
fn test_lines(code: &[String]) -> Vec<bool> {
    let mut test = vec![false; code.len()];
    let mut i = 0;
    while i < code.len() {
        if code[i].trim() != "#[cfg(test)]" {
            i += 1;
            continue;
        }
        let mut depth = 0usize;
        let mut opened = false;
        let mut j = i;
        while j < code.len() {
            test[j] = true;
            for ch in code[j].chars() {
                match ch {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if opened && depth == 0 || !opened && code[j].trim_end().ends_with(';') {
                break;
            }
            j += 1;
        }
        i = j + 1;
    }
    test
}

/// Every path a file names, with the line it is on: the paths of `use` items (groups expanded:
/// `use a::{b, c::d}` gives `a::b` and `a::c::d`) and paths written inline (`crate::x::y`).
fn paths(src: &Source) -> Vec<(usize, String)> {
    let item = Regex::new(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+").expect("regex");
    let inline = Regex::new(r"(?:^|[^\w:])((?:[A-Za-z_]\w*::)+[A-Za-z_]\w*)").expect("regex");
    let mut out = Vec::new();
    let lines: Vec<(usize, &str)> = src.lines().collect();
    let mut k = 0;
    while k < lines.len() {
        let (n, line) = lines[k];
        if let Some(found) = item.find(line) {
            let rest = &line[found.end()..];
            let mut tree = rest.to_string();
            while !tree.contains(';') && k + 1 < lines.len() {
                k += 1;
                tree.push_str(lines[k].1);
            }
            let tree: String = tree
                .split(';')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            out.extend(expand(&tree).into_iter().map(|p| (n, p)));
        } else {
            for m in inline.captures_iter(line) {
                out.push((n, m[1].to_string()));
            }
        }
        k += 1;
    }
    out
}

/// `a::{b,c::{d,e}}` → `a::b`, `a::c::d`, `a::c::e` (whitespace already removed).
fn expand(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let head = &tree[..open];
    let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, ch) in body.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                if start < i {
                    out.extend(expand(&format!("{head}{}", &body[start..i])));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < body.len() {
        out.extend(expand(&format!("{head}{}", &body[start..])));
    }
    out
}

/// The module path of a file relative to `src/` (`taint/mod.rs` → `taint`, `ir/sym.rs` →
/// `ir::sym`, `lib.rs` → the crate root).
fn module_of(rel: &str) -> Vec<String> {
    let stem = rel.trim_end_matches(".rs");
    let mut segs: Vec<String> = stem.split('/').map(str::to_string).collect();
    if segs
        .last()
        .is_some_and(|s| s == "mod" || s == "lib" || s == "main")
    {
        segs.pop();
    }
    segs
}

/// The layer that owns `rel` (a path relative to `src/`), by longest match.
fn layer_of(rel: &str) -> Option<&'static Layer> {
    LAYERS
        .iter()
        .flat_map(|l| l.files.iter().map(move |f| (l, *f)))
        .filter(|(_, f)| {
            if f.ends_with('/') {
                rel.starts_with(f)
            } else {
                rel == *f
            }
        })
        .max_by_key(|(_, f)| f.len())
        .map(|(l, _)| l)
}

/// The file of `src/` that `path`, written in `from`, refers to: the longest prefix of the
/// path that is a module file. `None` for paths outside the crate.
fn target_of(path: &str, from: &Source, modules: &BTreeMap<Vec<String>, String>) -> Option<String> {
    let segs: Vec<&str> = path.split("::").collect();
    let mut module = module_of(from.rel());
    let rest: &[&str] = match segs[0] {
        "crate" => {
            module.clear();
            &segs[1..]
        }
        "idflow" if from.rel() == "main.rs" || from.rel().starts_with("bin/") => {
            module.clear();
            &segs[1..]
        }
        "self" => &segs[1..],
        "super" => {
            let mut rest = &segs[..];
            while rest.first() == Some(&"super") {
                module.pop();
                rest = &rest[1..];
            }
            rest
        }
        _ => return None,
    };
    module.extend(
        rest.iter()
            .filter(|s| **s != "self" && **s != "*")
            .map(|s| (*s).to_string()),
    );
    (0..=module.len())
        .rev()
        .find_map(|k| modules.get(&module[..k]))
        .cloned()
}

/// One broken invariant: its rule, file and line as written (what [`ALLOWED`] lists), and the
/// message.
struct Found {
    rule: &'static str,
    file: String,
    line: String,
    message: String,
}

impl Found {
    fn new(src: &Source, n: usize, rule: &'static str, what: &str) -> Found {
        let line = src.raw.get(n - 1).map_or("", |l| l.trim()).to_string();
        let message = format!("{}:{n}: [{rule}] {what}\n    {line}", src.path);
        Found {
            rule,
            file: src.path.clone(),
            line,
            message,
        }
    }
}

/// Runs every check and returns the violations not in [`ALLOWED`], plus the allow-list entries
/// that matched nothing.
fn check(sources: &[Source]) -> Vec<String> {
    let modules: BTreeMap<Vec<String>, String> = sources
        .iter()
        .filter(|s| s.rel() != "main.rs" && !s.rel().starts_with("bin/"))
        .map(|s| (module_of(s.rel()), s.rel().to_string()))
        .collect();
    let mut found: Vec<Found> = Vec::new();

    let syn =
        Regex::new(r"\b(syn|proc_macro2|quote)::|\buse (syn|proc_macro2|quote)\b").expect("regex");
    let print = Regex::new(r"\b(print|println|eprint|eprintln|dbg)!").expect("regex");
    let env = Regex::new(r"\benv::(var|vars|var_os|vars_os)\b").expect("regex");
    let cli_only = Regex::new(r"\banyhow\b|\bIsTerminal\b|\bis_terminal\b").expect("regex");
    let taint_io = [
        "std::fs",
        "std::io::Write",
        "std::io::stdout",
        "std::io::stderr",
        "std::io::stdin",
        "std::process",
        "std::env",
        "std::net",
        "walkdir",
        "crate::report",
        "crate::cli",
        "crate::scan",
        "serde_json",
        "tera",
        "csv",
    ];

    for src in sources {
        let rel = src.rel();
        let Some(layer) = layer_of(rel) else {
            found.push(Found {
                rule: "layers",
                file: src.path.clone(),
                line: String::new(),
                message: format!(
                    "{}: [layers] in no layer of LAYERS (tests/architecture.rs); add it to one",
                    src.path
                ),
            });
            continue;
        };
        let sees_syn = rel.starts_with("parse/")
            || rel == "ir/lower.rs"
            || rel == "ir/macros.rs"
            || rel == "bin/idflow-bench.rs";
        let front_end = rel.starts_with("cli/") || rel.starts_with("bin/") || rel == "main.rs";

        for (n, line) in src.lines() {
            if !sees_syn && syn.is_match(line) {
                found.push(Found::new(
                    src,
                    n,
                    "syn",
                    "only parse, ir::lower and ir::macros see syn",
                ));
            }
            if !front_end && (print.is_match(line) || env.is_match(line)) {
                found.push(Found::new(
                    src,
                    n,
                    "print-env",
                    "only cli and bin print or read environment variables",
                ));
            }
            if !front_end && cli_only.is_match(line) {
                found.push(Found::new(
                    src,
                    n,
                    "cli-only",
                    "only cli uses anyhow or looks at the terminal",
                ));
            }
        }

        for (n, path) in paths(src) {
            if layer.name == "taint" {
                let bare = path.trim_start_matches("::");
                if let Some(bad) = taint_io
                    .iter()
                    .find(|p| bare == **p || bare.starts_with(&format!("{p}::")))
                {
                    let what = format!("taint does no IO and knows no output format: `{bad}`");
                    found.push(Found::new(src, n, "taint-io", &what));
                }
            }
            if !rel.starts_with("report/")
                && (path.starts_with("tera::") || path.starts_with("csv::"))
            {
                let what = format!("only report knows tera and CSV: `{path}`");
                found.push(Found::new(src, n, "report-only", &what));
            }
            let Some(target) = target_of(&path, src, &modules) else {
                continue;
            };
            let Some(to) = layer_of(&target) else {
                continue;
            };
            if rel == "main.rs" && to.name != "cli" {
                let what = format!("main.rs only calls idflow::cli: `{path}`");
                found.push(Found::new(src, n, "layers", &what));
            }
            if to.name != layer.name && !layer.may_import.contains(&to.name) {
                let what = format!(
                    "{} may not import {} (src/{target}): `{path}`",
                    layer.name, to.name
                );
                found.push(Found::new(src, n, "layers", &what));
            }
        }
    }

    let mut out = Vec::new();
    let mut used = vec![false; ALLOWED.len()];
    for Found {
        rule,
        file,
        line,
        message,
    } in found
    {
        let allowed = ALLOWED
            .iter()
            .position(|(r, f, l)| *r == rule && *f == file && *l == line);
        match allowed {
            Some(i) => used[i] = true,
            None => {
                if !out.contains(&message) {
                    out.push(message);
                }
            }
        }
    }
    for (i, (rule, file, line)) in ALLOWED.iter().enumerate() {
        if !used[i] {
            out.push(format!(
                "ALLOWED in tests/architecture.rs: ({rule}, {file}, {line:?}) matches nothing any more; delete the entry"
            ));
        }
    }
    out
}

/// The invariants of `ARCHITECTURE.md` hold on today's `src/`.
#[test]
fn architecture_invariants_hold() {
    let problems = check(&sources());
    assert!(
        problems.is_empty(),
        "{} architecture invariant violation(s) (see ARCHITECTURE.md):\n\n{}\n",
        problems.len(),
        problems.join("\n")
    );
}

/// The layer table is a layering: each layer imports only layers listed before it, so no two
/// layers can import each other and the table reads in pipeline order.
#[test]
fn layer_table_is_ordered() {
    for (i, layer) in LAYERS.iter().enumerate() {
        for dep in layer.may_import {
            let at = LAYERS.iter().position(|l| l.name == *dep);
            assert!(
                at.is_some_and(|at| at < i),
                "layer `{}` may import `{dep}`, which is not a layer listed before it",
                layer.name
            );
        }
    }
}

/// The checker itself finds each kind of violation in a made-up file, so a passing run means
/// something.
#[test]
fn checker_finds_violations() {
    let fake = |path: &str, text: &str| Source::new(path.to_string(), text);
    let graph = fake(
        "src/graph/mod.rs",
        "use crate::taint::{Analysis, relevance::Scans};\nfn f() { let _ = syn::parse_file(\"\"); }\n",
    );
    let taint = fake(
        "src/taint/mod.rs",
        "use std::{fs, io::Write};\nfn g() { println!(\"x\"); let _ = std::env::var(\"X\"); }\n// println!(\"comment\")\nconst S: &str = \"syn::File\";\nconst C: [char; 2] = ['\\'', '\"'];\nconst R: &str = r#\"println!(\"x\")\"#;\n#[cfg(test)]\nmod tests {\n    fn h() { println!(\"test\"); }\n}\n",
    );
    let relevance = fake("src/taint/relevance.rs", "");
    let problems = check(&[graph, taint, relevance]);
    let has = |needle: &str| {
        problems
            .iter()
            .any(|p| p.starts_with("src/") && p.contains(needle))
    };
    assert!(has("src/graph/mod.rs:1: [layers] graph"), "{problems:#?}");
    assert!(has("src/graph/mod.rs:2: [syn]"), "{problems:#?}");
    assert!(has("src/taint/mod.rs:1: [taint-io]"), "{problems:#?}");
    assert!(has("`std::io::Write`"), "{problems:#?}");
    assert!(has("src/taint/mod.rs:2: [print-env]"), "{problems:#?}");
    assert!(has("`std::env`"), "{problems:#?}");
    // Comments, strings, character literals and unit tests are not code to check.
    for n in 3..=10 {
        assert!(!has(&format!("src/taint/mod.rs:{n}:")), "{problems:#?}");
    }
}
