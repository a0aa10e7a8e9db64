//! The dependency stage, beside `discover`: which crates of the scanned tree do network I/O.
//!
//! Reads every `Cargo.toml` under the root (the same walk rules as discovery: no `target/`, no
//! hidden directories, no symlinks, the `--exclude` globs) and every `Cargo.lock`, with the
//! `toml` crate; no `cargo` run, no network. Each dependency (normal, dev, build, per target,
//! `[workspace.dependencies]`, renamed with `package = ".."`) that the rule pack's
//! `network_crates` list names becomes a [`NetworkDependency`], with whether the pack models it.
//! A crate only `Cargo.lock` names (a dependency of a dependency) is listed with `declared_in`
//! `["Cargo.lock"]`; only direct dependencies are blind spots in the reports, since the scanned
//! code cannot call a crate it does not depend on.
//!
//! A manifest that cannot be read or parsed is ignored here: the reports must not get worse
//! than "no network dependency found" because of it, and discovery already reports the crate's
//! files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use globset::GlobSet;

use crate::findings::NetworkDependency;
use crate::rules::NetworkCrate;

/// The file name that marks a dependency known only from the lock file.
pub const LOCK_FILE: &str = "Cargo.lock";

/// The network dependencies of the tree under `root`, sorted by crate name.
#[must_use]
pub fn network_dependencies(
    root: &Path,
    excludes: &GlobSet,
    known: &[NetworkCrate],
) -> Vec<NetworkDependency> {
    let mut manifests = Vec::new();
    let mut locks = Vec::new();
    if root.is_dir() {
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if e.depth() == 0 {
                    return true;
                }
                let name = e.file_name().to_string_lossy();
                let rel = crate::discover::relative(root, e.path());
                !(e.file_type().is_dir() && (name == "target" || name.starts_with('.')))
                    && !excludes.is_match(&rel)
            });
        for entry in walk.flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = crate::discover::relative(root, entry.path());
            match entry.file_name().to_str() {
                Some("Cargo.toml") => manifests.push((rel, entry.into_path())),
                Some(LOCK_FILE) => locks.push(entry.into_path()),
                _ => {}
            }
        }
    }
    let manifests: Vec<(String, String)> = manifests
        .into_iter()
        .filter_map(|(rel, path)| Some((rel, std::fs::read_to_string(path).ok()?)))
        .collect();
    let locks: Vec<String> = locks
        .into_iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect();
    from_texts(&manifests, &locks, known)
}

/// [`network_dependencies`] from texts: manifests as (path relative to the root, text), lock
/// files as text.
#[must_use]
pub fn from_texts(
    manifests: &[(String, String)],
    locks: &[String],
    known: &[NetworkCrate],
) -> Vec<NetworkDependency> {
    let known: BTreeMap<&str, &NetworkCrate> = known.iter().map(|k| (k.name.as_str(), k)).collect();
    let mut found: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in manifests {
        for name in manifest_dependencies(text) {
            if let Some((key, _)) = known.get_key_value(name.as_str()) {
                found.entry(key).or_default().insert(rel.clone());
            }
        }
    }
    for text in locks {
        for name in lock_packages(text) {
            if let Some((key, _)) = known.get_key_value(name.as_str()) {
                found
                    .entry(key)
                    .or_insert_with(|| BTreeSet::from([LOCK_FILE.to_string()]));
            }
        }
    }
    found
        .into_iter()
        .map(|(name, declared_in)| {
            let k = known[name];
            NetworkDependency {
                name: name.to_string(),
                family: k.family.clone(),
                modelled: k.modelled,
                declared_in: declared_in.into_iter().collect(),
            }
        })
        .collect()
}

/// The crate names a manifest depends on (the `package` of a renamed dependency), from every
/// dependency table: `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]` (also
/// spelled with `_`), the same under `[target.'cfg(..)']`, and `[workspace.dependencies]`.
/// A manifest that is not TOML gives nothing.
#[must_use]
pub fn manifest_dependencies(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(doc) = text.parse::<toml::Table>() else {
        return out;
    };
    let mut tables: Vec<&toml::Table> = vec![&doc];
    if let Some(toml::Value::Table(targets)) = doc.get("target") {
        tables.extend(targets.values().filter_map(toml::Value::as_table));
    }
    if let Some(toml::Value::Table(ws)) = doc.get("workspace") {
        tables.push(ws);
    }
    for table in tables {
        for key in [
            "dependencies",
            "dev-dependencies",
            "dev_dependencies",
            "build-dependencies",
            "build_dependencies",
        ] {
            let Some(toml::Value::Table(deps)) = table.get(key) else {
                continue;
            };
            for (name, spec) in deps {
                let package = spec
                    .as_table()
                    .and_then(|t| t.get("package"))
                    .and_then(toml::Value::as_str)
                    .unwrap_or(name);
                out.insert(package.to_string());
            }
        }
    }
    out
}

/// The package names of a `Cargo.lock` (`[[package]] name = ".."`); nothing when it is not TOML.
#[must_use]
pub fn lock_packages(text: &str) -> BTreeSet<String> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return BTreeSet::new();
    };
    doc.get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("name")?.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<NetworkCrate> {
        [
            ("quiche", "quic", false),
            ("reqwest", "http", true),
            ("tokio-websockets", "websocket", false),
            ("tokio", "socket", true),
        ]
        .into_iter()
        .map(|(n, f, m)| NetworkCrate {
            name: n.into(),
            family: f.into(),
            modelled: m,
        })
        .collect()
    }

    /// Every dependency table counts, renames resolve to the package, unknown crates and
    /// broken manifests give nothing, lock-only crates are marked `Cargo.lock`.
    #[test]
    fn reads_manifests_and_lock() {
        let app = r#"
[package]
name = "app"
[dependencies]
serde = "1"
ws = { package = "tokio-websockets", version = "0.4" }
[target.'cfg(unix)'.dev-dependencies]
reqwest = { workspace = true }
"#;
        let core = "[workspace.dependencies]\nreqwest = \"0.12\"\n";
        let lock = "version = 3\n[[package]]\nname = \"quiche\"\nversion = \"0.11.0\"\n\n[[package]]\nname = \"reqwest\"\nversion = \"0.12.0\"\n";
        let deps = from_texts(
            &[
                ("Cargo.toml".into(), core.into()),
                ("app/Cargo.toml".into(), app.into()),
                ("broken/Cargo.toml".into(), "[dependencies\ntokio =".into()),
            ],
            &[lock.into()],
            &known(),
        );
        let got: Vec<(&str, bool, Vec<&str>)> = deps
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.modelled,
                    d.declared_in.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("quiche", false, vec!["Cargo.lock"]),
                ("reqwest", true, vec!["Cargo.toml", "app/Cargo.toml"]),
                ("tokio-websockets", false, vec!["app/Cargo.toml"]),
            ]
        );
    }

    /// A bad family, an unknown key and a bad crate name in a network-crates file are errors at
    /// file:line:column, like in every rule file.
    #[test]
    fn network_crate_errors_have_line_and_column() {
        let text = "network_crates:\n  - crate: quinn\n    family: quik\n  - crate: a2\n    family: push\n    modeled: true\n  - { crate: 'bad name', family: http }\n";
        let errors = crate::rules::RulePack::with_extra_texts(vec![(
            std::path::PathBuf::from("extra/net.yaml"),
            text.to_string(),
        )])
        .expect_err("invalid");
        let at = error_positions(&errors);
        assert!(
            at.iter().any(|a| a.starts_with("extra/net.yaml:6:5 ")),
            "unknown key `modeled`: {at:?}"
        );
        let errors = crate::rules::RulePack::with_extra_texts(vec![(
            std::path::PathBuf::from("extra/net.yaml"),
            "network_crates:\n  - crate: quinn\n    family: quik\n  - { crate: 'bad name', family: http }\n".to_string(),
        )])
        .expect_err("invalid");
        let at = error_positions(&errors);
        assert!(
            at.iter().any(|a| a.starts_with("extra/net.yaml:3:13 ")),
            "bad family: {at:?}"
        );
        assert!(
            at.iter().any(|a| a.starts_with("extra/net.yaml:4:")),
            "bad name: {at:?}"
        );
    }

    /// The default pack's list loads, and derives `modelled` from its sink rules.
    #[test]
    fn default_pack_models_reqwest_not_quiche() {
        let pack = crate::rules::RulePack::builtin();
        let crates = pack.network_crates();
        let modelled = |name: &str| crates.iter().find(|c| c.name == name).map(|c| c.modelled);
        assert_eq!(modelled("reqwest"), Some(true));
        assert_eq!(modelled("tokio-tungstenite"), Some(true));
        assert_eq!(modelled("quiche"), Some(false));
        assert_eq!(modelled("tokio-websockets"), Some(false));
    }

    /// `file:line:column code` of each rule error.
    fn error_positions(errors: &[crate::rules::RuleError]) -> Vec<String> {
        errors
            .iter()
            .map(|e| {
                format!(
                    "{}:{}:{} {}",
                    e.file.display(),
                    e.line,
                    e.column,
                    e.code.as_str()
                )
            })
            .collect()
    }
}
