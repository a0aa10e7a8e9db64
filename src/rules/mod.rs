//! The rule pack: categories, kinds, sources, sinks, sanitizers, guards and propagators, loaded
//! from YAML in two steps and indexed for the analysis.
//!
//! Step one ([`raw`]) deserializes each file as written, with serde_yaml's line and column for
//! every unknown key, missing key and mistyped value. Step two ([`validate`]) checks what serde
//! cannot: ids, references between entries, regexes and enumerated values. Both steps collect
//! *every* problem of every file as a [`RuleError`] at file:line:column (rendered with a snippet
//! by [`crate::diag`]); a pack with any error is not used.
//!
//! The default pack (`rules/**/*.yaml`) is embedded in the binary; `--rules DIR` adds files whose
//! entries override default entries with the same id. Within one layer (the default pack, or the
//! `--rules` directory) an id may be defined only once.

pub mod index;
pub mod raw;
pub mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

pub use crate::diag::Code;
pub use raw::RawRuleFile;

/// The embedded default pack: (path under `rules/`, contents).
pub const DEFAULT_RULE_FILES: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/default_rules.rs"));

/// The text of a rule file, shared by the errors that point into it.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceText(pub Arc<str>);

impl fmt::Debug for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceText({} bytes)", self.0.len())
    }
}

/// An error in a rule file, located at file:line:column when known (0 when not).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}:{line}:{column}: {message} [{code}]")]
pub struct RuleError {
    /// The rule file (`rules/sinks/reqwest.yaml` for embedded ones).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Length in bytes of the offending text at `line:column` (0 for a point).
    pub len: usize,
    /// Stable diagnostic code.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something specific to say.
    pub help: Option<String>,
    /// The file's text, for snippets.
    pub text: Option<SourceText>,
}

/// A loaded, validated, merged rule pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    merged: RawRuleFile,
    hash: String,
}

/// One rule file after step one.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// Where it came from.
    pub path: PathBuf,
    /// Its text.
    pub text: SourceText,
    /// Its entries.
    pub rules: RawRuleFile,
    /// 0 for the default pack, 1 for `--rules DIR`: ids must be unique within a layer and
    /// override across layers.
    pub layer: usize,
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

    /// The default pack plus every `*.yaml` / `*.yml` under `extra`, whose entries override by id.
    ///
    /// # Errors
    /// Every problem of every file, each with file, line and column.
    pub fn load(extra: Option<&Path>) -> Result<RulePack, Vec<RuleError>> {
        let mut texts: Vec<(PathBuf, String, usize)> = DEFAULT_RULE_FILES
            .iter()
            .map(|(path, text)| (Path::new("rules").join(path), (*text).to_string(), 0))
            .collect();
        let mut errors = Vec::new();
        if let Some(dir) = extra {
            let mut files: Vec<PathBuf> = Vec::new();
            for entry in walkdir::WalkDir::new(dir) {
                match entry {
                    Ok(entry) => files.push(entry.into_path()),
                    // A subdirectory that cannot be read must not silently mean "no rules there".
                    Err(err) => errors.push(RuleError {
                        file: err.path().unwrap_or(dir).to_path_buf(),
                        line: 0,
                        column: 0,
                        len: 0,
                        code: Code::RuleIo,
                        message: format!("cannot read rule directory: {err}"),
                        help: None,
                        text: None,
                    }),
                }
            }
            files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
            files.sort();
            for file in files {
                match read_rule_file(dir, &file) {
                    Ok(text) => texts.push((file, text, 1)),
                    Err(err) => errors.push(RuleError {
                        file,
                        line: 0,
                        column: 0,
                        len: 0,
                        code: Code::RuleIo,
                        message: format!("cannot read rule file: {err}"),
                        help: None,
                        text: None,
                    }),
                }
            }
        }
        Self::from_texts(texts, errors)
    }

    /// The default pack plus rule files given as (path, text), as `--rules DIR` would load
    /// them; for tests and fuzzing, which have texts rather than a directory.
    ///
    /// # Errors
    /// As [`RulePack::load`].
    pub fn with_extra_texts(extra: Vec<(PathBuf, String)>) -> Result<RulePack, Vec<RuleError>> {
        let texts = DEFAULT_RULE_FILES
            .iter()
            .map(|(path, text)| (Path::new("rules").join(path), (*text).to_string(), 0))
            .chain(extra.into_iter().map(|(path, text)| (path, text, 1)))
            .collect();
        Self::from_texts(texts, Vec::new())
    }

    /// Builds a pack from rule file texts (path, text, layer), collecting every error.
    ///
    /// # Errors
    /// Every problem of every file, plus `errors` found before (unreadable files).
    pub fn from_texts(
        texts: Vec<(PathBuf, String, usize)>,
        mut errors: Vec<RuleError>,
    ) -> Result<RulePack, Vec<RuleError>> {
        let mut hasher = Sha256::new();
        let mut files = Vec::with_capacity(texts.len());
        for (path, text, layer) in texts {
            hasher.update(text.as_bytes());
            let parsed = if layer == 0 {
                default_file_parsed(&path, &text)
            } else {
                None
            };
            let text = SourceText(Arc::from(text));
            match parsed.unwrap_or_else(|| validate::parse(&path, &text)) {
                Ok(rules) => files.push(RuleFile {
                    path,
                    text,
                    rules,
                    layer,
                }),
                Err(mut errs) => errors.append(&mut errs),
            }
        }
        validate::validate(&files, &mut errors);
        if !errors.is_empty() {
            errors.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
            return Err(errors);
        }
        let mut merged = RawRuleFile::default();
        for file in files {
            merge(&mut merged, file.rules);
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

/// Step one of an embedded default file, parsed once per process: `path` and `text` must be
/// exactly an entry of [`DEFAULT_RULE_FILES`] (else `None`). Every scan loads the default pack
/// once, so this saves nothing there; it keeps repeated loads (tests, the `rules` fuzz target)
/// from re-parsing 70 KB of YAML each time.
fn default_file_parsed(path: &Path, text: &str) -> Option<StepOne> {
    static PARSED: OnceLock<Vec<StepOne>> = OnceLock::new();
    let i = DEFAULT_RULE_FILES
        .iter()
        .position(|(p, t)| *t == text && Path::new("rules").join(p) == path)?;
    let parsed = PARSED.get_or_init(|| {
        DEFAULT_RULE_FILES
            .iter()
            .map(|(p, t)| validate::parse(&Path::new("rules").join(p), &SourceText(Arc::from(*t))))
            .collect()
    });
    parsed.get(i).cloned()
}

/// What step one makes of a rule file.
type StepOne = Result<RawRuleFile, Vec<RuleError>>;

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
    upsert(&mut into.network_crates, file.network_crates, |x| &x.name);
}

/// A network crate of the pack, with whether the pack models it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetworkCrate {
    /// The crate's name as `Cargo.toml` spells it.
    pub name: String,
    /// `http`, `websocket`, `mqtt`, ...
    pub family: String,
    /// A sink, kind or constructor of the pack names the crate's paths (or the entry says so).
    pub modelled: bool,
}

impl RulePack {
    /// The pack's network crates, sorted by name, each with whether the pack models it: the
    /// entry's `modelled` when given, else whether a sink, kind or constructor names a path
    /// that starts with the crate's Rust name (`reqwest_websocket::..`).
    #[must_use]
    pub fn network_crates(&self) -> Vec<NetworkCrate> {
        let r = &self.merged;
        let mut paths: Vec<&str> = Vec::new();
        let calls = r
            .sinks
            .iter()
            .map(|s| &s.call)
            .chain(r.constructors.iter().map(|c| &c.call));
        for call in calls {
            paths.extend(call.function.iter().map(String::as_str));
            paths.extend(call.path.iter().map(String::as_str));
        }
        for kind in &r.kinds {
            paths.extend(kind.types.iter().map(String::as_str));
        }
        let mut out: Vec<NetworkCrate> = r
            .network_crates
            .iter()
            .map(|n| {
                let ident = n.name.replace('-', "_");
                let prefix = format!("{ident}::");
                NetworkCrate {
                    name: n.name.clone(),
                    family: n.family.clone(),
                    modelled: n
                        .modelled
                        .unwrap_or_else(|| paths.iter().any(|p| p.starts_with(&prefix))),
                }
            })
            .collect();
        out.sort();
        out
    }
}

/// The text of a rule file under `dir`: a regular file, or a symbolic link to one inside `dir`.
/// A link out of the directory is refused rather than read (its error would quote a file from
/// anywhere), and so is a FIFO or a device, which would block the load.
fn read_rule_file(dir: &Path, file: &Path) -> std::io::Result<String> {
    let refuse = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string());
    if std::fs::symlink_metadata(file)?.file_type().is_symlink() {
        let inside = std::fs::canonicalize(dir)
            .is_ok_and(|dir| std::fs::canonicalize(file).is_ok_and(|t| t.starts_with(dir)));
        if !inside {
            return Err(refuse("a symbolic link out of the rules directory"));
        }
    }
    if !std::fs::metadata(file)?.is_file() {
        return Err(refuse("not a regular file"));
    }
    std::fs::read_to_string(file)
}
