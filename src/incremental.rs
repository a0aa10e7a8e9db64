//! Incremental re-scans: the previous scan's findings stand when no file that changed since
//! could have changed them, and then the call graph and the propagation are not run at all.
//!
//! After a full scan with a cache, a [`Record`] keeps, per file, a hash of its bytes, a hash
//! of its *interface* (everything but function bodies: `use` items, signatures with their
//! spans, structs, consts, modules), whether the analysis touched any of its functions, and per
//! function whether it could matter; plus the names of the functions that could matter or reach
//! a source, and the findings.
//!
//! A re-scan reuses the findings only if the same build of idflow made the record, the same
//! files were lowered, and every file whose bytes changed:
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

use crate::classify::UnresolvedCall;
use crate::findings::{CategoryInfo, Finding};
use crate::graph::{FnId, Program};
use crate::ir::FileIr;
use crate::parse::ParsedFile;
use crate::rules::index::RuleIndex;
use crate::taint::relevance::{method_names, own_facts};
use crate::taint::Analysis;

/// The tool version and a fingerprint of all its code (see `build.rs`).
const BUILD: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("IDFLOW_BUILD_FINGERPRINT")
);

/// Bump when the record's meaning changes.
const SCHEMA: &str = "idflow-scan-record/4";

/// What a full scan leaves for the next one.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    schema: String,
    /// The build that made the record: another build's findings may differ.
    build: String,
    files: Vec<FileRecord>,
    source_consts: Vec<String>,
    findings: Vec<Finding>,
    categories: Vec<CategoryInfo>,
    unresolved: Vec<UnresolvedCall>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileRecord {
    rel: String,
    fingerprint: u64,
    interface: u64,
    touched: bool,
    /// Per function, in file order: it could matter (after the callers' closure).
    relevant: Vec<bool>,
    /// Per function, in file order: it may reach a source.
    reaches_source: Vec<bool>,
}

/// What [`Record::check`] concludes.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The record does not hold (other files, another build).
    Stale,
    /// The record does not hold: a file the analysis touched was edited, or an interface
    /// changed.
    Edited(Why),
    /// Nothing changed.
    Holds,
    /// These files (indexes) changed; [`Record::confirm`] decides.
    IfUnseen(Vec<usize>),
}

/// The findings a reused record gives.
pub struct Reused {
    /// Findings, as the previous scan sorted them.
    pub findings: Vec<Finding>,
    /// Their categories.
    pub categories: Vec<CategoryInfo>,
    /// The unexplained calls with tainted arguments.
    pub unresolved: Vec<UnresolvedCall>,
}

impl Reused {
    /// Findings, categories and unexplained calls.
    #[must_use]
    pub fn into_parts(self) -> (Vec<Finding>, Vec<CategoryInfo>, Vec<UnresolvedCall>) {
        (self.findings, self.categories, self.unresolved)
    }
}

impl Record {
    /// The record of a full scan of `prog`; `None` when a file has no fingerprint (no cache).
    #[must_use]
    pub fn new(
        prog: &Program,
        analysis: &Analysis,
        findings: &[Finding],
        categories: &[CategoryInfo],
        unresolved: &[UnresolvedCall],
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
                    reaches_source: Vec::with_capacity(f.ir.fns.len()),
                })
            })
            .collect::<Option<_>>()?;
        for (fid, info) in prog.fns.iter().enumerate() {
            let file = &mut files[info.file];
            file.touched |= analysis.touched.get(fid).copied().unwrap_or(true);
            file.relevant.push(rel.relevant[fid]);
            file.reaches_source.push(rel.reaches_source[fid]);
        }
        Some(Record {
            schema: SCHEMA.to_string(),
            build: BUILD.to_string(),
            files,
            source_consts: rel.source_consts.iter().map(|c| c.to_string()).collect(),
            findings: findings.to_vec(),
            categories: categories.to_vec(),
            unresolved: unresolved.to_vec(),
        })
    }

    /// What the files alone say about reusing this record: no, yes, or only if the edits in
    /// the changed files stay out of every flow ([`Record::confirm`], which needs the program).
    #[must_use]
    pub fn check(&self, files: &[ParsedFile]) -> Verdict {
        if self.schema != SCHEMA || self.build != BUILD || files.len() != self.files.len() {
            return Verdict::Stale;
        }
        let mut changed = Vec::new();
        for (i, (now, before)) in files.iter().zip(&self.files).enumerate() {
            if now.source.rel != before.rel || now.ir.fns.len() != before.relevant.len() {
                return Verdict::Stale;
            }
            if now.fingerprint == Some(before.fingerprint) {
                continue;
            }
            if before.touched || interface_hash(&now.ir) != before.interface {
                let why = if before.touched {
                    "touched by the analysis"
                } else {
                    "its interface changed"
                };
                return Verdict::Edited(Why {
                    file: before.rel.clone(),
                    why,
                });
            }
            changed.push(i);
        }
        if changed.is_empty() {
            Verdict::Holds
        } else {
            Verdict::IfUnseen(changed)
        }
    }

    /// Whether the record holds for `prog` (the new program, indexed) given the files
    /// [`Record::check`] found changed.
    ///
    /// # Errors
    /// Which edit calls for a full analysis, when one does.
    pub fn confirm(&self, prog: &Program, rules: &RuleIndex, changed: &[usize]) -> Result<(), Why> {
        self.edits_stay_unseen(prog, rules, changed)
    }

    /// The previous findings.
    #[must_use]
    pub fn reused(self) -> Reused {
        Reused {
            findings: self.findings,
            categories: self.categories,
            unresolved: self.unresolved,
        }
    }

    /// Whether the functions of the `changed` files (none touched, same interfaces) still
    /// neither reach a source nor change relevance, resolving their calls as the call graph
    /// does against the previous flags.
    fn edits_stay_unseen(
        &self,
        prog: &Program,
        rules: &RuleIndex,
        changed: &[usize],
    ) -> Result<(), Why> {
        let flag = |fid: FnId, of: fn(&FileRecord) -> &Vec<bool>| {
            let info = &prog.fns[fid];
            of(&self.files[info.file])
                .get(info.idx)
                .copied()
                .unwrap_or(true)
        };
        let relevant = |fid: FnId| flag(fid, |f| &f.relevant);
        let reach = |fid: FnId| flag(fid, |f| &f.reaches_source);
        let consts: HashSet<&str> = self.source_consts.iter().map(String::as_str).collect();
        let names = prog.names();
        // The propagation also counts `.name()` calls as calls of every method so named in the
        // caller's crate (see `taint::relevance`).
        let reaching_methods: HashSet<(usize, &str)> = (0..prog.fns.len())
            .filter(|&fid| reach(fid) && takes_self(prog.func(fid)))
            .map(|fid| (prog.fns[fid].krate, prog.func(fid).name.as_str()))
            .collect();
        for fid in (0..prog.fns.len()).filter(|&fid| changed.contains(&prog.fns[fid].file)) {
            let f = prog.func(fid);
            let rel = &self.files[prog.fns[fid].file].rel;
            let own = own_facts(f, rules, &consts);
            let callees = prog.callees(fid, &names);
            let krate = prog.fns[fid].krate;
            let calls_reaching_method = method_names(f)
                .iter()
                .any(|m| reaching_methods.contains(&(krate, m)));
            if own.source || calls_reaching_method || callees.iter().any(|&c| reach(c)) {
                return Err(Why {
                    file: rel.clone(),
                    why: "may reach a source now",
                });
            }
            let was_relevant = relevant(fid);
            let is_relevant = own.anything || callees.iter().any(|&c| relevant(c));
            // A function that mattered only through its callees could stop mattering in ways
            // this one-step check cannot follow; only one that matters by itself stays safe.
            if is_relevant != was_relevant || (was_relevant && !own.anything) {
                return Err(Why {
                    file: rel.clone(),
                    why: "its relevance may have changed",
                });
            }
        }
        Ok(())
    }

    /// Reads the record at `path`; a missing, damaged or foreign one is `None`.
    ///
    /// The file is a checksum line (the xxh3 of the rest, in hex) and the record as JSON: a
    /// flipped bit in a finding would otherwise still be valid JSON, and its wrong findings
    /// would be reused by every later scan.
    #[must_use]
    pub fn load(path: &Path) -> Option<Record> {
        // A FIFO in its place would block the scan.
        if !std::fs::metadata(path).ok()?.is_file() {
            return None;
        }
        let bytes = std::fs::read(path).ok()?;
        let newline = bytes.iter().position(|&b| b == b'\n')?;
        let (line, json) = (&bytes[..newline], &bytes[newline + 1..]);
        if line != checksum_line(json).as_bytes() {
            return None;
        }
        serde_json::from_slice(json).ok()
    }

    /// Writes the record to `path` atomically; errors only cost the next scan time.
    pub fn store(&self, path: &Path) {
        let Some(dir) = path.parent() else { return };
        let Ok(json) = serde_json::to_vec(self) else {
            return;
        };
        let mut bytes = checksum_line(&json).into_bytes();
        bytes.push(b'\n');
        bytes.extend_from_slice(&json);
        let _ = std::fs::create_dir_all(dir)
            .and_then(|()| tempfile::NamedTempFile::new_in(dir))
            .and_then(|mut tmp| {
                std::io::Write::write_all(&mut tmp, &bytes)?;
                tmp.persist(path).map(drop).map_err(|e| e.error)
            });
    }
}

/// The first line of a record file: the checksum of the JSON after it.
fn checksum_line(json: &[u8]) -> String {
    format!("xxh3:{:016x}", xxh3_64(json))
}

fn takes_self(f: &crate::ir::FnIr) -> bool {
    f.params
        .first()
        .is_some_and(|p| matches!(&p.pat, crate::ir::Pat::Bind { name, .. } if name == "self"))
}

/// Why an edited file calls for a full analysis (a debugging aid; `cli` prints it with
/// `IDFLOW_DEBUG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    /// The edited file, relative to the root.
    pub file: String,
    /// What about it.
    pub why: &'static str,
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
                f.public,
            )
        })
        .collect();
    let skeleton = (
        &ir.scopes,
        &ir.structs,
        &ir.consts,
        &ir.mod_decls,
        &ir.type_aliases,
        signatures,
    );
    // A value that cannot be encoded hashes as "always different".
    postcard::to_stdvec(&skeleton).map_or(u64::MAX, |bytes| xxh3_64(&bytes))
}
