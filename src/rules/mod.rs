//! The rule pack: categories, kinds, sources, sinks, sanitizers, guards and propagators, loaded
//! from YAML in two steps ([`raw`] deserializes, `validate` checks) and indexed for the analysis.
//!
//! The default pack (`rules/**/*.yaml`) is embedded in the binary; `--rules DIR` adds files whose
//! entries override default entries with the same id.

pub mod index;
pub mod raw;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use raw::RawRuleFile;

/// The embedded default pack: (path under `rules/`, contents).
pub const DEFAULT_RULE_FILES: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/default_rules.rs"));

/// An error in a rule file, located at file:line:column when known.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct RuleError {
    /// The rule file (`rules/sinks/reqwest.yaml` for embedded ones).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// A loaded, merged rule pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    merged: RawRuleFile,
    hash: String,
}

impl RulePack {
    /// The embedded default pack.
    ///
    /// # Panics
    /// Never for a released binary: the embedded pack is checked by the test suite.
    #[must_use]
    pub fn builtin() -> RulePack {
        Self::load(None).expect("embedded rule pack is valid")
    }

    /// The default pack plus every `*.yaml` under `extra`, whose entries override by id.
    ///
    /// # Errors
    /// Every problem of every file, each with file, line and column.
    pub fn load(extra: Option<&Path>) -> Result<RulePack, Vec<RuleError>> {
        let mut sources: Vec<(PathBuf, String)> = DEFAULT_RULE_FILES
            .iter()
            .map(|(path, text)| (Path::new("rules").join(path), (*text).to_string()))
            .collect();
        if let Some(dir) = extra {
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
                .into_iter()
                .filter_map(Result::ok)
                .map(walkdir::DirEntry::into_path)
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            files.sort();
            for file in files {
                match std::fs::read_to_string(&file) {
                    Ok(text) => sources.push((file, text)),
                    Err(err) => {
                        return Err(vec![RuleError {
                            file,
                            line: 0,
                            column: 0,
                            message: err.to_string(),
                        }])
                    }
                }
            }
        }
        let mut errors = Vec::new();
        let mut merged = RawRuleFile::default();
        let mut hasher = Sha256::new();
        for (file, text) in &sources {
            hasher.update(text.as_bytes());
            match serde_yaml::from_str::<Option<RawRuleFile>>(text) {
                Ok(parsed) => merge(&mut merged, parsed.unwrap_or_default()),
                Err(err) => {
                    let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
                    errors.push(RuleError {
                        file: file.clone(),
                        line,
                        column,
                        message: err.to_string(),
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let hash = format!("{:x}", hasher.finalize())[..16].to_string();
        Ok(RulePack { merged, hash })
    }

    /// The merged entries.
    #[must_use]
    pub fn rules(&self) -> &RawRuleFile {
        &self.merged
    }

    /// A short hash of every rule file's text, for provenance and caches.
    #[must_use]
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// Adds `file`'s entries to `into`, replacing entries with the same id.
fn merge(into: &mut RawRuleFile, file: RawRuleFile) {
    fn upsert<T>(list: &mut Vec<T>, items: Vec<T>, id: impl Fn(&T) -> &str) {
        for item in items {
            if let Some(pos) = list.iter().position(|x| id(x) == id(&item)) {
                list[pos] = item;
            } else {
                list.push(item);
            }
        }
    }
    upsert(&mut into.categories, file.categories, |x| &x.id);
    upsert(&mut into.kinds, file.kinds, |x| &x.id);
    upsert(&mut into.constructors, file.constructors, |x| &x.id);
    upsert(&mut into.sources, file.sources, |x| &x.id);
    upsert(&mut into.sinks, file.sinks, |x| &x.id);
    upsert(&mut into.sanitizers, file.sanitizers, |x| &x.id);
    upsert(&mut into.guards, file.guards, |x| &x.id);
    upsert(&mut into.propagators, file.propagators, |x| &x.id);
}
