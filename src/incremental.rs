//! Incremental re-scans: the previous scan's findings stand when no file that changed since
//! could have changed them, and then the call graph and the propagation are not run at all.
//!
//! After a full scan with a cache, a [`Record`] keeps, per file, a hash of its bytes, a hash
//! of its *interface* (everything but function bodies: `use` items, signatures with their
//! spans, structs, consts, modules), whether the analysis touched any of its functions, and per
//! function whether it could matter; plus the names of the functions that could matter or reach
//! a source, and the findings.
//!
//! A re-scan reuses the findings only if the same files were lowered and every file whose bytes
//! changed:
//! - had no function the analysis touched (so no flow, trace or skipped call went through it);
//! - kept its interface (so every call elsewhere resolves as before);
//! - has no function that mentions a source, or refers to a name of a function that reaches
//!   one (so no new analysis would start there);
//! - has no function whose relevance may have flipped (one that could not matter and now
//!   mentions something or refers to a function that could matter, or that mattered by itself
//!   and no longer does).
//!
//! Names over-approximate the engine's resolution (a call resolves to a function of the same
//! name, or to the target of a `use .. as` alias, which the record's name sets include), so a
//! reuse never hides a flow a full scan would find. Anything else runs the full analysis.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashSet as HashSet;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::findings::{CategoryInfo, Finding};
use crate::graph::Program;
use crate::ir::FileIr;
use crate::parse::ParsedFile;
use crate::rules::index::RuleIndex;
use crate::taint::relevance::{own_facts, referenced_names};
use crate::taint::Analysis;

/// Bump when the record's meaning changes.
const SCHEMA: &str = "idflow-scan-record/1";

/// What a full scan leaves for the next one.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    schema: String,
    files: Vec<FileRecord>,
    relevant_names: Vec<String>,
    reach_names: Vec<String>,
    source_consts: Vec<String>,
    findings: Vec<Finding>,
    categories: Vec<CategoryInfo>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileRecord {
    rel: String,
    fingerprint: u64,
    interface: u64,
    touched: bool,
    /// Per function, in file order: it could matter (after the callers' closure).
    relevant: Vec<bool>,
}

/// The findings a reused record gives.
pub struct Reused {
    /// Findings, as the previous scan sorted them.
    pub findings: Vec<Finding>,
    /// Their categories.
    pub categories: Vec<CategoryInfo>,
}

impl Record {
    /// The record of a full scan of `prog`; `None` when a file has no fingerprint (no cache).
    #[must_use]
    pub fn new(
        prog: &Program,
        analysis: &Analysis,
        findings: &[Finding],
        categories: &[CategoryInfo],
    ) -> Option<Record> {
        let rel = &analysis.relevance;
        let mut files: Vec<FileRecord> = prog
            .files
            .iter()
            .map(|f| {
                Some(FileRecord {
                    rel: f.source.rel.clone(),
                    fingerprint: f.fingerprint?,
                    interface: interface_hash(&f.ir),
                    touched: false,
                    relevant: Vec::with_capacity(f.ir.fns.len()),
                })
            })
            .collect::<Option<_>>()?;
        let mut relevant_names = HashSet::default();
        let mut reach_names = HashSet::default();
        for (fid, info) in prog.fns.iter().enumerate() {
            let file = &mut files[info.file];
            file.touched |= analysis.touched.get(fid).copied().unwrap_or(true);
            file.relevant.push(rel.relevant[fid]);
            let name = prog.func(fid).name.as_str();
            if rel.relevant[fid] {
                relevant_names.insert(name);
            }
            if rel.reaches_source[fid] {
                reach_names.insert(name);
            }
        }
        add_aliases(prog, &mut relevant_names);
        add_aliases(prog, &mut reach_names);
        Some(Record {
            schema: SCHEMA.to_string(),
            files,
            relevant_names: sorted(relevant_names),
            reach_names: sorted(reach_names),
            source_consts: rel.source_consts.clone(),
            findings: findings.to_vec(),
            categories: categories.to_vec(),
        })
    }

    /// The previous findings, if no file that changed since could change them (see the module
    /// documentation).
    #[must_use]
    pub fn reuse(&self, parsed: &[ParsedFile], rules: &RuleIndex) -> Option<Reused> {
        if self.schema != SCHEMA || parsed.len() != self.files.len() {
            return None;
        }
        let relevant: HashSet<&str> = self.relevant_names.iter().map(String::as_str).collect();
        let reach: HashSet<&str> = self.reach_names.iter().map(String::as_str).collect();
        let consts: HashSet<&str> = self.source_consts.iter().map(String::as_str).collect();
        for (now, before) in parsed.iter().zip(&self.files) {
            if now.source.rel != before.rel {
                return None;
            }
            if now.fingerprint == Some(before.fingerprint) {
                continue;
            }
            if before.touched || interface_hash(&now.ir) != before.interface {
                return None;
            }
            for (f, &was_relevant) in now.ir.fns.iter().zip(&before.relevant) {
                let own = own_facts(f, rules, &consts);
                let names = referenced_names(f);
                let refers = |set: &HashSet<&str>| names.iter().any(|n| set.contains(n));
                if own.source || refers(&reach) {
                    return None;
                }
                let may_be_relevant = own.anything || refers(&relevant);
                if may_be_relevant != was_relevant || (was_relevant && !own.anything) {
                    return None;
                }
            }
        }
        Some(Reused {
            findings: self.findings.clone(),
            categories: self.categories.clone(),
        })
    }

    /// Reads the record at `path`; a missing, damaged or foreign one is `None`.
    #[must_use]
    pub fn load(path: &Path) -> Option<Record> {
        let text = std::fs::read(path).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Writes the record to `path` atomically; errors only cost the next scan time.
    pub fn store(&self, path: &Path) {
        let Some(dir) = path.parent() else { return };
        let Ok(json) = serde_json::to_vec(self) else {
            return;
        };
        let _ = std::fs::create_dir_all(dir)
            .and_then(|()| tempfile::NamedTempFile::new_in(dir))
            .and_then(|mut tmp| {
                std::io::Write::write_all(&mut tmp, &json)?;
                tmp.persist(path).map(drop).map_err(|e| e.error)
            });
    }
}

/// Where the record of a scan of `root` with these options lives under the cache directory.
#[must_use]
pub fn record_path(cache_dir: &Path, root: &Path, excludes: &[String], max_bytes: u64) -> PathBuf {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let key = format!("{}\n{}\n{max_bytes}", root.display(), excludes.join("\n"));
    cache_dir
        .join("scans")
        .join(format!("{:016x}.json", xxh3_64(key.as_bytes())))
}

/// A hash of everything in `ir` but function bodies.
fn interface_hash(ir: &FileIr) -> u64 {
    let signatures: Vec<_> = ir
        .fns
        .iter()
        .map(|f| {
            (
                &f.name,
                f.scope,
                &f.self_ty,
                &f.trait_name,
                &f.params,
                &f.ret,
                f.span,
                f.entry,
            )
        })
        .collect();
    let skeleton = (
        &ir.scopes,
        &ir.structs,
        &ir.consts,
        &ir.mod_decls,
        signatures,
    );
    // A value that cannot be encoded hashes as "always different".
    postcard::to_stdvec(&skeleton).map_or(u64::MAX, |bytes| xxh3_64(&bytes))
}

/// Adds the aliases of `use path::name as alias` items whose target name is in `names`.
fn add_aliases<'a>(prog: &'a Program, names: &mut HashSet<&'a str>) {
    // Chains of aliases are short; three rounds follow any real one.
    for _ in 0..3 {
        let mut added = false;
        for file in &prog.files {
            for scope in &file.ir.scopes {
                for u in &scope.uses {
                    let target = u.path.last().map(String::as_str);
                    if target.is_some_and(|t| names.contains(t) && t != u.alias) {
                        added |= names.insert(u.alias.as_str());
                    }
                }
            }
        }
        if !added {
            break;
        }
    }
}

fn sorted(names: HashSet<&str>) -> Vec<String> {
    let mut v: Vec<String> = names.into_iter().map(String::from).collect();
    v.sort_unstable();
    v
}
