//! Discovery: walks the tree and finds the Rust files to analyse, the crate each belongs to and
//! its module path inside that crate.
//!
//! Skips `target/`, `.git/` and other hidden directories, and `--exclude` globs. Symlinks are not
//! followed, so a symlink loop cannot trap the walk; a link that would have given files to
//! analyse (to a directory, or to or named as a `.rs` file) is listed as skipped, with what it
//! points to.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::findings::{SkipReason, Skipped};

/// A Rust file to analyse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    /// Absolute (or root-joined) path to read.
    pub path: PathBuf,
    /// Path relative to the scan root, `/`-separated.
    pub rel: String,
    /// Crate the file belongs to: its directory relative to the root (and `#bin/<name>` for
    /// `src/bin` targets).
    pub crate_key: String,
    /// The crate's name from its `Cargo.toml` (`-` turned into `_`), if any: `[lib] name`,
    /// else `[package] name`.
    pub crate_name: Option<String>,
    /// Dependencies the crate's `Cargo.toml` renames (`net = { package = "acme-transport" }`):
    /// (the name the code uses, the crate's name), `-` turned into `_`.
    pub crate_aliases: Vec<(String, String)>,
    /// Module path inside the crate (`["telemetry", "ids"]` for `src/telemetry/ids.rs`).
    pub module: Vec<crate::ir::sym::Sym>,
}

/// Whether `file` is code of a crate that does not ship in its library or binaries: under the
/// crate's `tests/`, `benches/` or `examples/`, or its `build.rs` (Cargo's layout conventions;
/// targets that `Cargo.toml` moves elsewhere with `path =` are not recognised).
#[must_use]
pub fn non_shipping(file: &SourceFile) -> bool {
    let dir = file.crate_key.split('#').next().unwrap_or("");
    let inside = if dir.is_empty() || dir == "." {
        file.rel.as_str()
    } else {
        match file.rel.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
            Some(inside) => inside,
            None => return false,
        }
    };
    inside == "build.rs"
        || ["tests/", "benches/", "examples/"]
            .iter()
            .any(|d| inside.starts_with(d))
}

/// Directory names never descended into.
const SKIP_DIRS: &[&str] = &["target", "node_modules"];

/// Builds the exclude matcher.
///
/// # Errors
/// The first glob that does not compile, with its message.
pub fn exclude_set(globs: &[String]) -> Result<GlobSet, (String, String)> {
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| (g.clone(), e.to_string()))?;
        builder.add(glob);
        // `--exclude vendor` should also exclude everything below it.
        if let Ok(below) = Glob::new(&format!("{}/**", g.trim_end_matches('/'))) {
            builder.add(below);
        }
    }
    builder
        .build()
        .map_err(|e| (globs.join(","), e.to_string()))
}

/// Finds every `.rs` file under `root`, sorted by relative path; unreadable directories become
/// skipped entries.
#[must_use]
pub fn discover(root: &Path, excludes: &GlobSet) -> (Vec<SourceFile>, Vec<Skipped>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    let walker = walker.filter_entry(|e| {
        if e.depth() == 0 {
            return true;
        }
        let name = e.file_name().to_string_lossy();
        if e.file_type().is_dir() && (name.starts_with('.') || SKIP_DIRS.contains(&name.as_ref())) {
            return false;
        }
        let rel = relative(root, e.path());
        !excludes.is_match(&rel)
    });
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs") => {
                let path = e.path().to_path_buf();
                let rel = relative(root, &path);
                files.push(SourceFile {
                    crate_aliases: Vec::new(),
                    path,
                    rel,
                    crate_key: String::new(),
                    crate_name: None,
                    module: Vec::new(),
                });
            }
            Ok(e) if e.path_is_symlink() => {
                skipped.extend(symlink_skip(root, e.path()));
            }
            // A FIFO, socket or device named like Rust: reading it could block the scan for
            // ever, and dropping it would hide it.
            Ok(e) if !e.file_type().is_dir() && e.path().extension().is_some_and(|x| x == "rs") => {
                skipped.push(Skipped {
                    file: relative(root, e.path()),
                    line: None,
                    column: None,
                    reason: SkipReason::Unreadable,
                    message:
                        "not a regular file (a FIFO, socket or device); only regular files are read"
                            .into(),
                });
            }
            Ok(_) => {}
            Err(err) => {
                let file = err.path().map_or_else(String::new, |p| relative(root, p));
                // The operating system's reason alone: walkdir's own message repeats the
                // absolute path, which reports must not carry.
                let reason = err
                    .io_error()
                    .map_or_else(|| err.to_string(), ToString::to_string);
                skipped.push(Skipped {
                    file,
                    line: None,
                    column: None,
                    reason: SkipReason::Unreadable,
                    message: format!("cannot read this directory entry: {reason}"),
                });
            }
        }
    }
    assign_crates(root, &mut files);
    files.sort();
    (files, skipped)
}

/// The skip entry of a symbolic link the walk meets, when following it would have given files
/// to analyse: a link to a directory (unless its name is one the walk never enters, such as
/// `target` or `.git`), a link named `*.rs` or pointing to a `*.rs` file, a loop, and a dangling
/// link named `*.rs` or pointing to a `*.rs` path. Links are never followed: a loop cannot trap
/// the walk and a link cannot pull files from outside the tree into the report, but what they
/// point to is listed, so a skipped file is never silent.
fn symlink_skip(root: &Path, link: &Path) -> Option<Skipped> {
    let rel = relative(root, link);
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let never_entered = name.starts_with('.') || SKIP_DIRS.contains(&name.as_str());
    let rust = |p: &Path| p.extension().is_some_and(|x| x == "rs");
    let why = match std::fs::canonicalize(link) {
        Err(err) if err.raw_os_error() == Some(ELOOP) => {
            if never_entered {
                return None;
            }
            "symbolic link loop: not followed".to_string()
        }
        Err(err) => {
            let points_to_rust = std::fs::read_link(link).is_ok_and(|t| rust(&t));
            if !rust(link) && !points_to_rust {
                return None;
            }
            format!("dangling symbolic link ({err}): not followed")
        }
        Ok(target) => {
            let is_dir = target.is_dir();
            if (is_dir && never_entered) || (!is_dir && !rust(link) && !rust(&target)) {
                return None;
            }
            let parent = link.parent().and_then(|p| std::fs::canonicalize(p).ok());
            let canonical_root = std::fs::canonicalize(root).ok();
            let encloses = parent.as_ref().is_some_and(|p| p.starts_with(&target));
            let inside = canonical_root
                .as_ref()
                .is_some_and(|r| target.starts_with(r));
            match (is_dir, encloses, inside) {
                (true, true, _) => {
                    "symbolic link to an enclosing directory (a loop): not followed".to_string()
                }
                (_, _, true) => format!(
                    "symbolic link to {}: not followed",
                    relative(canonical_root.as_deref().unwrap_or(root), &target)
                ),
                (_, _, false) => {
                    "symbolic link to outside the scanned tree: not followed".to_string()
                }
            }
        }
    };
    Some(Skipped {
        file: rel,
        line: None,
        column: None,
        reason: SkipReason::Symlink,
        message: why,
    })
}

/// `ELOOP` ("too many levels of symbolic links") on Linux and the BSDs.
#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

/// `path` relative to `root`, `/`-separated.
#[must_use]
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn assign_crates(root: &Path, files: &mut [SourceFile]) {
    let mut manifests: std::collections::BTreeMap<PathBuf, Option<Manifest>> =
        std::collections::BTreeMap::new();
    for file in files.iter_mut() {
        let mut dir = file.path.parent().map(Path::to_path_buf);
        let mut crate_dir = None;
        while let Some(d) = dir {
            let manifest = d.join("Cargo.toml");
            let known = manifests.get(&d).cloned();
            let name = match known {
                Some(n) => Some(n),
                None if manifest.is_file() && package_section(&manifest) => {
                    let n = read_manifest(&manifest);
                    manifests.insert(d.clone(), Some(n.clone()));
                    Some(Some(n))
                }
                None => None,
            };
            if let Some(name) = name {
                crate_dir = Some((d.clone(), name));
                break;
            }
            if d == root || !d.starts_with(root) {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        let (dir, manifest) = crate_dir.unwrap_or_else(|| (root.to_path_buf(), None));
        let manifest = manifest.unwrap_or_default();
        let inside = file.path.strip_prefix(&dir).unwrap_or(&file.path);
        let mut parts: Vec<String> = inside
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let mut key = relative(root, &dir);
        if parts.first().is_some_and(|p| p == "src") {
            parts.remove(0);
            if parts.first().is_some_and(|p| p == "bin") && parts.len() >= 2 {
                key = format!("{key}#bin/{}", parts[1].trim_end_matches(".rs"));
                parts.drain(..2);
                parts.insert(0, "main.rs".into());
            }
        } else if let Some(first) = parts.first().cloned() {
            // tests/, examples/, benches/: every file is a crate root of its own.
            if parts.len() >= 2 {
                key = format!("{key}#{first}/{}", parts[1].trim_end_matches(".rs"));
                parts.drain(..1);
            }
        }
        file.crate_key = key;
        file.crate_name = manifest.name;
        file.crate_aliases = manifest.aliases;
        file.module = module_path(&parts)
            .iter()
            .map(crate::ir::sym::Sym::from)
            .collect();
    }
}

fn module_path(parts: &[String]) -> Vec<String> {
    let mut module: Vec<String> = parts
        .iter()
        .map(|p| p.trim_end_matches(".rs").to_string())
        .collect();
    if let Some(last) = module.last() {
        if matches!(last.as_str(), "mod" | "main" | "lib") {
            module.pop();
        }
    }
    if module.len() == 1 && parts.len() == 1 {
        // A file directly in src/ other than main/lib: a top-level module.
        return module;
    }
    module
}

fn package_section(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest).is_ok_and(|t| t.lines().any(|l| l.trim() == "[package]"))
}

/// What a crate's `Cargo.toml` says about names.
#[derive(Debug, Clone, Default)]
struct Manifest {
    name: Option<String>,
    aliases: Vec<(String, String)>,
}

/// The crate's name (`[lib] name`, else `[package] name`) and its renamed dependencies, read
/// with the `toml` crate; a manifest that does not parse falls back to a line reading of the
/// package name.
fn read_manifest(manifest: &Path) -> Manifest {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Manifest::default();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Manifest {
            name: crate_name(manifest),
            aliases: Vec::new(),
        };
    };
    let str_at = |table: &str, key: &str| {
        doc.get(table)
            .and_then(|t| t.get(key))
            .and_then(toml::Value::as_str)
            .map(|n| n.replace('-', "_"))
    };
    let name = str_at("lib", "name").or_else(|| str_at("package", "name"));
    let mut aliases = Vec::new();
    let mut tables: Vec<&toml::Table> = ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|k| doc.get(*k).and_then(toml::Value::as_table))
        .collect();
    if let Some(targets) = doc.get("target").and_then(toml::Value::as_table) {
        for t in targets.values().filter_map(toml::Value::as_table) {
            for k in ["dependencies", "dev-dependencies", "build-dependencies"] {
                tables.extend(t.get(k).and_then(toml::Value::as_table));
            }
        }
    }
    for table in tables {
        for (alias, spec) in table {
            if let Some(package) = spec.get("package").and_then(toml::Value::as_str) {
                aliases.push((alias.replace('-', "_"), package.replace('-', "_")));
            }
        }
    }
    aliases.sort();
    aliases.dedup();
    Manifest { name, aliases }
}

fn crate_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(rest) = line.strip_prefix("name") {
                let value = rest
                    .trim_start()
                    .strip_prefix('=')?
                    .trim()
                    .trim_matches('"');
                return Some(value.replace('-', "_"));
            }
        }
    }
    None
}

#[cfg(test)]
mod shipping_tests {
    use super::{non_shipping, SourceFile};

    fn file(rel: &str, crate_key: &str) -> SourceFile {
        SourceFile {
            path: rel.into(),
            rel: rel.to_string(),
            crate_key: crate_key.to_string(),
            crate_name: None,
            crate_aliases: Vec::new(),
            module: Vec::new(),
        }
    }

    /// Cargo's conventions: tests/, benches/, examples/ and build.rs of each crate do not ship;
    /// src/ does, and so does a directory merely named like one deeper inside src/.
    #[test]
    fn tests_benches_examples_and_build_scripts_do_not_ship() {
        assert!(non_shipping(&file("tests/it.rs", "#tests/it")));
        assert!(non_shipping(&file(
            "core/examples/demo.rs",
            "core#examples/demo"
        )));
        assert!(non_shipping(&file("core/benches/b.rs", "core#benches/b")));
        assert!(non_shipping(&file("core/build.rs", "core")));
        assert!(!non_shipping(&file("core/src/lib.rs", "core")));
        assert!(!non_shipping(&file("src/tests/mod.rs", "")));
        assert!(!non_shipping(&file("src/bin/tool.rs", "#bin/tool")));
    }
}
