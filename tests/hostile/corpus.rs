//! The hostile corpus, generated at test time (thousands of bad files are not committed): good
//! files with flows idflow must find, written in CRLF, with a BOM, non-ASCII identifiers and
//! markup in strings; bad files that must be skipped or survived (invalid UTF-8, syntax errors,
//! 10,000-level nesting, a 20 MB file, 100k lines, macros only, symbolic link loops, unreadable
//! files and directories).

use std::fmt::Write as _;
use std::path::Path;

/// Good files: flows idflow must find, some in CRLF, with a BOM or non-ASCII identifiers.
pub fn write_good_files(src: &Path) {
    let flow = |name: &str, url: &str| {
        format!(
            "pub fn {name}(imei: &str) {{\n    let client = reqwest::blocking::Client::new();\n    let _ = client.post(\"{url}\").body(imei.to_string()).send();\n}}\n"
        )
    };
    std::fs::write(
        src.join("plain.rs"),
        flow("upload", "http://collect.example/a"),
    )
    .expect("w");
    std::fs::write(
        src.join("crlf.rs"),
        flow("upload_crlf", "https://collect.example/b").replace('\n', "\r\n"),
    )
    .expect("w");
    let mut bom = "\u{feff}".to_string();
    bom.push_str(&flow("upload_bom", "http://collect.example/c"));
    std::fs::write(src.join("bom.rs"), bom).expect("w");
    std::fs::write(
        src.join("unicode.rs"),
        "pub fn envoyer(numéro_imei: &str) {\n    let données = numéro_imei.to_string();\n    let _ = reqwest::blocking::Client::new().post(\"http://collect.example/é\").body(données).send();\n}\n",
    )
    .expect("w");
    // Code the reports quote: markup, a formula, Markdown syntax.
    std::fs::write(
        src.join("xss.rs"),
        "pub fn send_imei(imei: &str) {\n    let client = reqwest::blocking::Client::new();\n    let _ = client.post(\"http://x.example/<script>alert(1)</script><img src=x onerror=alert(1)>\").body(format!(\"=cmd|' /C calc'!A0 {imei} | `x` [a](b)\")).send();\n}\n",
    )
    .expect("w");
    // Terminal control characters (clear screen, set title, bell) and a bidi override in quoted
    // code: text output must show them, not act on them.
    std::fs::write(
        src.join("ctrl.rs"),
        "pub fn send_ctrl(imei: &str) {\n    let _ = reqwest::blocking::Client::new().post(\"http://ctrl.example/\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}txt\").body(imei.to_string()).send();\n}\n",
    )
    .expect("w");
    // A file name with a formula, Markdown link syntax, markup and a pipe.
    #[cfg(unix)]
    std::fs::write(
        src.join(HOSTILE_NAME),
        flow("upload_named", "http://collect.example/d"),
    )
    .expect("w");
}

/// A file name that is a formula, a Markdown link and markup at once (not a valid name on
/// Windows, hence unix only).
#[cfg(unix)]
pub const HOSTILE_NAME: &str = "=cmd|x [a](http:evil.example) <i>n<.rs";

/// Declarations whose texts are formulas and markup: documents quote them as text too.
pub const HOSTILE_DECLARATIONS: &str = r#"controller:
  name: "=cmd|' /C calc'!A0"
data_subjects: ["-2+3", "@SUM(A1)"]
purposes:
  - id: sync
    description: "+HYPERLINK(\"http://evil.example\") <img src=x onerror=alert(3)> [link](http://evil.example) | `x`"
    legal_basis: f
recipients:
  - hosts: [collect.example]
    name: "@evil <script>alert(4)</script>"
    role: processor
    country: DE
flows:
  - { category: imei, recipient: collect.example, purpose: sync }
"#;

/// Bad files, each of which must be skipped or survived; `outside` is a directory outside the
/// tree for a symbolic link to point to.
pub fn write_bad_files(root: &Path, outside: &Path) {
    let src = root.join("src");
    std::fs::write(
        src.join("not_utf8.rs"),
        b"fn f() { let s = \"\xff\xfe\"; }\n",
    )
    .expect("w");
    std::fs::write(src.join("syntax.rs"), "fn broken( {\n").expect("w");
    let depth = 10_000;
    let deep = format!(
        "pub fn deep() -> i32 {{ {}1{} }}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    std::fs::write(src.join("deep.rs"), deep).expect("w");
    // A million levels of generic arguments (3 MB, under the size limit): deeper than syn's
    // recursion fits in the workers' 1 GiB stacks, so it must be skipped, not crash the scan.
    let million = 1_000_000;
    std::fs::write(
        src.join("deeper_than_the_stack.rs"),
        format!(
            "type A = {}C{};\n",
            "B<".repeat(million),
            ">".repeat(million)
        ),
    )
    .expect("w");
    let mut huge = String::from("pub const BLOB: &str = \"");
    huge.push_str(&"x".repeat(20 << 20));
    huge.push_str("\";\n");
    std::fs::write(src.join("huge.rs"), huge).expect("w");
    let mut long = String::new();
    for i in 0..100_000 {
        let _ = writeln!(long, "pub fn f{i}(x: u32) -> u32 {{ x + {i} }}");
    }
    std::fs::write(src.join("long.rs"), long).expect("w");
    let mut macros = String::new();
    for i in 0..20_000 {
        let _ = writeln!(macros, "m!{{ {i} => [a b c] ({{ }}) }}");
    }
    std::fs::write(src.join("macros_only.rs"), macros).expect("w");
    // Macro bodies inside macro bodies, 20,000 deep, and 10,000 parentheses inside format!.
    let nested = format!(
        "pub fn nested(n: u32) -> usize {{\n    let v = {}n{};\n    let j = {}n{};\n    format!(\"{{:?}}{{}}\", v, {}j{}).len()\n}}\n",
        "vec![".repeat(20_000),
        "]".repeat(20_000),
        "serde_json::json!({\"a\": ".repeat(2_000),
        "})".repeat(2_000),
        "(".repeat(depth),
        ")".repeat(depth),
    );
    std::fs::write(src.join("nested_macros.rs"), nested).expect("w");
    // A 5 MB literal: under the size limit, so parsed.
    let mut big = String::from("pub const BIG: &str = \"");
    big.push_str(&"y".repeat(5 << 20));
    big.push_str("\";\n");
    std::fs::write(src.join("big_literal.rs"), big).expect("w");
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(".", src.join("loop")).expect("symlink");
        symlink("plain.rs", src.join("alias.rs")).expect("symlink");
        symlink("missing.rs", src.join("gone.rs")).expect("symlink");
        symlink(outside, src.join("outside")).expect("symlink");
        // A link to something that is no Rust file would not have been analysed: not listed.
        std::fs::write(src.join("notes.txt"), "notes\n").expect("w");
        symlink("notes.txt", src.join("notes-link.txt")).expect("symlink");
        symlink("missing.txt", src.join("gone.txt")).expect("symlink");
        // Directories the walk never enters are not listed when a link has their name.
        symlink(".", src.join("target")).expect("symlink");
        symlink(".", src.join(".hidden")).expect("symlink");
        // Named like Rust, scanned if it were a file: listed whatever it points to.
        symlink("notes.txt", src.join("lib.rs")).expect("symlink");
        let locked_dir = src.join("locked");
        std::fs::create_dir_all(&locked_dir).expect("mkdir");
        std::fs::write(locked_dir.join("inner.rs"), "pub fn inner() {}\n").expect("w");
        let locked = src.join("unreadable.rs");
        std::fs::write(&locked, "pub fn f() {}\n").expect("w");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o000))
            .expect("chmod");
    }
}

/// Gives the locked directory its permissions back when dropped, so the temporary tree can be
/// removed even after a failed assertion.
pub struct Unlock<'a>(pub &'a Path);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(
                self.0.join("src/locked"),
                std::fs::Permissions::from_mode(0o755),
            );
        }
    }
}

/// Whether this process can read a file it has no permission for (root can).
pub fn reads_anything(root: &Path) -> bool {
    std::fs::read(root.join("src/unreadable.rs")).is_ok()
}

/// Files nested deeply without brackets (issue 15): prefix operators, keywords that take an
/// expression, assignments, ranges, closures and left-deep chains, each 800 KB or more, which
/// overflowed the parser's stack; and call chains `x()()()..`, whose lowering was quadratic.
/// Returns the names of the files that must be skipped.
pub fn write_operator_chains(src: &Path) -> Vec<&'static str> {
    let chains: [(&str, String); 9] = [
        (
            "not.rs",
            format!("pub fn f() -> bool {{ {}true }}\n", "!".repeat(800_000)),
        ),
        (
            "ret.rs",
            format!("pub fn f() {{ {}1; }}\n", "return ".repeat(120_000)),
        ),
        (
            "assign.rs",
            format!("pub fn f(mut a: i32) {{ {}1; }}\n", "a = ".repeat(200_000)),
        ),
        (
            "range.rs",
            format!("pub fn f() {{ let _ = {}1; }}\n", "..=".repeat(270_000)),
        ),
        (
            "or.rs",
            format!("pub fn f() {{ let _ = {}1; }}\n", "|| ".repeat(270_000)),
        ),
        (
            "refs.rs",
            format!(
                "pub fn f(x: i32) {{ let _ = {}x; }}\n",
                "&*-".repeat(270_000)
            ),
        ),
        (
            "sum.rs",
            format!("pub fn f() -> u32 {{ 1{} }}\n", "+1".repeat(3_000_000)),
        ),
        (
            "calls.rs",
            format!("pub fn f() {{ x{}; }}\n", "()".repeat(40_000)),
        ),
        (
            "casts.rs",
            format!("pub fn f() {{ x{}; }}\n", " as u8".repeat(100_000)),
        ),
    ];
    for (name, text) in &chains {
        std::fs::write(src.join(name), text).expect("w");
    }
    // Long, but within the bound: analysed, in well under a second once lowering is linear.
    std::fs::write(
        src.join("calls_ok.rs"),
        format!("pub fn g() {{ x{}; }}\n", "()".repeat(10_000)),
    )
    .expect("w");
    chains.iter().map(|(name, _)| *name).collect()
}
