//! Parsing: reads every discovered file and parses it with `syn`, in parallel, then lowers it to
//! the IR right away so syntax trees do not outlive their file.
//!
//! A file that cannot be read, is not UTF-8, is too large or does not parse becomes a
//! [`Skipped`] entry with its reason and, for syntax errors, line and column; the scan goes on.

pub mod nesting;

use rayon::prelude::*;

use crate::cache::{self, Cache, ContentHash, Entry, EntryRef, Pending};
use crate::discover::SourceFile;
use crate::findings::{SkipReason, Skipped};
use crate::ir::{lower, FileIr};
use crate::progress::Progress;

/// Files above this size are skipped (generated blobs, vendored data).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// A parsed and lowered file.
#[derive(Debug)]
pub struct ParsedFile {
    /// Where it came from.
    pub source: SourceFile,
    /// Its IR.
    pub ir: FileIr,
    /// Number of lines.
    pub lines: usize,
    /// With a cache: a hash of the file's bytes, to tell whether it changed since the last scan
    /// (see [`crate::incremental`]).
    pub fingerprint: Option<u64>,
}

impl ParsedFile {
    /// Whether `bytes` are the bytes this file was parsed from, as far as its fingerprint
    /// tells (without a cache there is none, and nothing of this scan persists: `true`). A
    /// later stage that reads the file again (for snippets) checks this, since the file may
    /// have been edited since.
    #[must_use]
    pub fn parsed_from(&self, bytes: &[u8]) -> bool {
        self.fingerprint
            .is_none_or(|f| f == fingerprint(cache::content_hash(bytes)))
    }
}

/// Parses and lowers `files` on the current rayon pool (loading unchanged files from `cache`
/// when there is one), skipping files over `max_bytes`; results keep the input order.
#[must_use]
pub fn parse_all(
    files: &[SourceFile],
    max_bytes: u64,
    cache: Option<&Cache>,
    progress: &dyn Progress,
) -> Parsed {
    // Runs in the scan's pool, whose threads have big stacks: syn recurses once per nesting
    // level.
    let results: Vec<(Result<ParsedFile, Skipped>, Cached)> = files
        .par_iter()
        .map(|f| {
            let r = parse_cached(f, max_bytes, cache);
            progress.advance(1);
            r
        })
        .collect();
    let mut out = Parsed::default();
    for (r, cached) in results {
        match cached {
            Cached::Hit(key) => out.cache_hits.push(key),
            Cached::New(pending) => out.to_cache.push(pending),
            Cached::Miss(key) => out.misses.push((out.files.len(), key)),
            Cached::No => {}
        }
        match r {
            Ok(p) => out.files.push(p),
            Err(s) => out.skipped.push(s),
        }
    }
    out
}

/// How one file went with the cache.
enum Cached {
    /// No cache, or nothing to cache (the file could not be read).
    No,
    /// Taken from the cache entry with this key.
    Hit(ContentHash),
    /// Skipped; this entry is new.
    New(Pending),
    /// Lowered; its entry, under this key, is left to [`miss_entries`].
    Miss(ContentHash),
}

/// The cache entries of the files lowered afresh: `misses` are indexes into `files` with their
/// keys, as [`Parsed::misses`] gives them. Encoding is left until after parsing so that it can
/// run beside the analysis, which leaves a core free most of the time.
pub fn miss_entries<'a>(
    files: &'a [ParsedFile],
    misses: &'a [(usize, ContentHash)],
) -> impl Iterator<Item = (ContentHash, EntryRef<'a>)> + 'a {
    misses.iter().filter_map(|&(i, key)| {
        let p = files.get(i)?;
        Some((
            key,
            EntryRef::Lowered {
                ir: &p.ir,
                lines: p.lines,
            },
        ))
    })
}

/// What [`parse_all`] gives.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Files lowered, in input order.
    pub files: Vec<ParsedFile>,
    /// Files that could not be.
    pub skipped: Vec<Skipped>,
    /// New cache entries, encoded, for the caller to write (see [`Cache::write`]).
    pub to_cache: Vec<Pending>,
    /// Keys of the cache entries used.
    pub cache_hits: Vec<ContentHash>,
    /// Files lowered afresh, as indexes into `files`, with their cache keys.
    pub misses: Vec<(usize, ContentHash)>,
}

fn skip(file: &SourceFile, reason: SkipReason, message: String, at: Option<(u32, u32)>) -> Skipped {
    Skipped {
        file: file.rel.clone(),
        line: at.map(|a| a.0),
        column: at.map(|a| a.1),
        reason,
        message,
    }
}

/// Reads one file and takes its IR from `cache` when the cache holds its content, else parses
/// and lowers it (a skipped file's entry is encoded right away, a lowered one's later).
fn parse_cached(
    file: &SourceFile,
    max_bytes: u64,
    cache: Option<&Cache>,
) -> (Result<ParsedFile, Skipped>, Cached) {
    let bytes = match read(file, max_bytes) {
        Ok(bytes) => bytes,
        Err(skipped) => return (Err(skipped), Cached::No),
    };
    let Some(cache) = cache else {
        return (parse_bytes(file, bytes), Cached::No);
    };
    let key = cache::content_hash(&bytes);
    match cache.load(key) {
        Some((Entry::Lowered { ir, lines }, _)) => (
            Ok(ParsedFile {
                source: file.clone(),
                ir,
                lines,
                fingerprint: Some(fingerprint(key)),
            }),
            Cached::Hit(key),
        ),
        Some((Entry::Skipped(mut s), _)) => {
            s.file.clone_from(&file.rel);
            (Err(s), Cached::Hit(key))
        }
        None => match parse_bytes(file, bytes) {
            Ok(mut p) => {
                p.fingerprint = Some(fingerprint(key));
                (Ok(p), Cached::Miss(key))
            }
            Err(s) => {
                let entry = Skipped {
                    file: String::new(),
                    ..s.clone()
                };
                let pending = cache.encode(key, EntryRef::Skipped(&entry));
                (Err(s), pending.map_or(Cached::No, Cached::New))
            }
        },
    }
}

/// The file fingerprint [`crate::incremental`] compares: 64 bits of the content key.
fn fingerprint(key: ContentHash) -> u64 {
    // Truncation is the point: the low half of the 128-bit key.
    #[allow(clippy::cast_possible_truncation)]
    let low = key as u64;
    low
}

/// Reads, parses and lowers one file.
///
/// # Errors
/// The reason the file cannot be analysed.
pub fn parse_one(file: &SourceFile, max_bytes: u64) -> Result<ParsedFile, Skipped> {
    parse_bytes(file, read(file, max_bytes)?)
}

fn read(file: &SourceFile, max_bytes: u64) -> Result<Vec<u8>, Skipped> {
    let meta = std::fs::metadata(&file.path)
        .map_err(|e| skip(file, SkipReason::Unreadable, e.to_string(), None))?;
    if !meta.is_file() {
        // Replaced by a FIFO or device since discovery: reading it could block for ever.
        let msg = "not a regular file; only regular files are read".to_string();
        return Err(skip(file, SkipReason::Unreadable, msg, None));
    }
    if meta.len() > max_bytes {
        let msg = format!("{} bytes is over the {max_bytes}-byte limit", meta.len());
        return Err(skip(file, SkipReason::TooLarge, msg, None));
    }
    std::fs::read(&file.path).map_err(|e| skip(file, SkipReason::Unreadable, e.to_string(), None))
}

fn parse_bytes(file: &SourceFile, bytes: Vec<u8>) -> Result<ParsedFile, Skipped> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = u32::try_from(
            e.as_bytes()[..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1,
        )
        .unwrap_or(u32::MAX);
        skip(
            file,
            SkipReason::NotUtf8,
            format!("invalid UTF-8 at byte {offset}"),
            Some((line, 1)),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if text.lines().take(5).any(|l| l.contains("@generated")) {
        return Err(skip(
            file,
            SkipReason::Generated,
            "marked @generated".into(),
            None,
        ));
    }
    let syntax = syntax(text)
        .map_err(|(message, at)| skip(file, SkipReason::ParseError, message, Some(at)))?;
    let ir = lower::lower_file(&syntax);
    Ok(ParsedFile {
        source: file.clone(),
        ir,
        lines: text.lines().count(),
        fingerprint: None,
    })
}

/// Parses `text` as a scan does, or says why not and where (line, column): syntax errors, and
/// code nested deeper than the parser's recursion fits in a worker's stack ([`nesting`]).
///
/// # Errors
/// The message and position of the problem.
pub fn syntax(text: &str) -> Result<syn::File, (String, (u32, u32))> {
    if let Some(at) = nesting::too_deep(text, nesting::MAX_NESTING) {
        let message = format!(
            "nested more than {} levels deep (brackets; generic arguments and operators counting twice); idflow does not parse deeper code",
            nesting::MAX_NESTING
        );
        return Err((message, at));
    }
    // proc-macro2 keeps the text and line table of every file a thread has parsed, for span
    // locations, and never frees them: on a large tree that is the whole tree's text per
    // thread, and past 4 GiB of text the 32-bit positions wrap. Nothing holds a span of an
    // earlier file (each is lowered before the next is parsed on this thread), so forget them.
    proc_macro2::extra::invalidate_current_thread_spans();
    syn::parse_file(text).map_err(|e| {
        let start = e.span().start();
        let at = (
            u32::try_from(start.line).unwrap_or(0),
            u32::try_from(start.column + 1).unwrap_or(0),
        );
        (e.to_string(), at)
    })
}
