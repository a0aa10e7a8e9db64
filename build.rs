//! Embeds every `rules/**/*.yaml` and `templates/**/*` file, so a new rule file needs no Rust.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (dir, name) in [
        ("rules", "default_rules.rs"),
        ("templates", "default_templates.rs"),
    ] {
        println!("cargo:rerun-if-changed={dir}");
        let mut files = Vec::new();
        collect(Path::new(dir), &mut files);
        files.sort();
        let mut code = String::from("&[\n");
        for file in &files {
            let rel = file
                .strip_prefix(dir)
                .unwrap_or(file)
                .to_string_lossy()
                .replace('\\', "/");
            let abs = std::fs::canonicalize(file).expect("embedded file exists");
            writeln!(
                code,
                "    ({rel:?}, include_str!({:?})),",
                abs.display().to_string()
            )
            .expect("write to String");
        }
        code.push_str("]\n");
        std::fs::write(Path::new(&out).join(name), code).expect("write embedded file list");
    }
    lowering_fingerprint();
    build_fingerprint();
}

/// A fingerprint of all the code: a scan record (see `src/incremental.rs`) made by another build
/// is not reused, even under the same version number.
fn build_fingerprint() {
    let mut files = Vec::new();
    collect(Path::new("src"), &mut files);
    files.push("Cargo.lock".into());
    files.sort();
    let hash = fnv(&files, |_, text| text);
    println!("cargo:rustc-env=IDFLOW_BUILD_FINGERPRINT={hash:016x}");
}

/// FNV-1a over the paths and (transformed) contents of `files`: enough to tell builds apart,
/// with no dependency in a build script.
fn fnv(files: &[std::path::PathBuf], transform: impl Fn(&Path, Vec<u8>) -> Vec<u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
        let text = transform(file, std::fs::read(file).unwrap_or_default());
        for b in file.to_string_lossy().bytes().chain(text) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A fingerprint of the code that produces cached IR (the IR types, the lowering, the parser's
/// skip rules, the syn version): a cache entry made by a build with another fingerprint is a
/// miss, so a changed lowering never reads stale IR, even under the same version number.
fn lowering_fingerprint() {
    let mut files = Vec::new();
    collect(Path::new("src/ir"), &mut files);
    collect(Path::new("src/parse"), &mut files);
    files.push("Cargo.lock".into());
    files.sort();
    let hash = fnv(&files, |file, text| {
        if file.ends_with("Cargo.lock") {
            syn_lines(&text)
        } else {
            text
        }
    });
    println!("cargo:rustc-env=IDFLOW_LOWERING_FINGERPRINT={hash:016x}");
}

/// The lines of Cargo.lock that name syn's version (the parser shapes the IR too).
fn syn_lines(lock: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(lock);
    let mut out = Vec::new();
    let mut in_syn = false;
    for line in text.lines() {
        if line.starts_with("name = ") {
            in_syn = line == "name = \"syn\"" || line == "name = \"proc-macro2\"";
        }
        if in_syn && line.starts_with("version = ") {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(&path, files);
        } else if path
            .file_name()
            .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        {
            files.push(path);
        }
    }
}
