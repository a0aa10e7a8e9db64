//! The incremental cache: each file's lowered IR (or the reason it was skipped), stored on disk
//! under the hash of the file's bytes, so a re-scan parses only the files that changed.
//!
//! Entries live in pack files, `DIR/v<FORMAT>/<rules>/<hash>.pack`, where `<rules>` is the rule
//! pack's hash: a scan reads every pack of its directory once, and writes the entries it had to
//! make as one new pack (temp file, then rename: whole packs or none). One file per scan rather
//! than one per source file: creating thousands of small files cost seconds on some disks.
//! When packs pile up, a scan writes every entry it used into one pack and removes the others.
//!
//! The cache is never trusted blindly: an entry carries a header (magic, format, tool version
//! with a fingerprint of the lowering code, rule-pack hash, content hash) and a checksum of its
//! payload. Anything that does not match, or does not decode, is a miss: the file is parsed
//! again and the entry written anew. A cache that cannot be read or written (read-only
//! directory, full disk, damaged packs) only costs speed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

use crate::findings::Skipped;
use crate::ir::FileIr;

/// Bump when the IR or the entry layout changes; old entries then live in another directory.
const FORMAT: u32 = 2;
const MAGIC: &[u8; 4] = b"IDFC";
/// The tool version and the fingerprint of the lowering code (see `build.rs`).
const BUILD: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("IDFLOW_LOWERING_FINGERPRINT")
);

/// What the cache remembers of one file's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Entry {
    /// Lowered, with its line count.
    Lowered {
        /// The IR.
        ir: FileIr,
        /// Number of lines.
        lines: usize,
    },
    /// Skipped (parse error, not UTF-8, generated); `file` is left empty and filled on load.
    Skipped(Skipped),
}

/// [`Entry`] by reference, to store an entry without copying the IR; encodes the same bytes.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum EntryRef<'a> {
    /// See [`Entry::Lowered`].
    Lowered {
        /// The IR.
        ir: &'a FileIr,
        /// Number of lines.
        lines: usize,
    },
    /// See [`Entry::Skipped`].
    Skipped(&'a Skipped),
}

/// An encoded entry waiting to be written.
#[derive(Debug)]
pub struct Pending {
    bytes: Vec<u8>,
}

/// An open cache directory for one rule pack.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    rules_hash: String,
    /// The packs read when the cache was opened, shared by clones.
    packs: std::sync::Arc<Packs>,
}

/// Packs read from disk, and where each entry sits in them.
#[derive(Debug, Default)]
struct Packs {
    files: Vec<(PathBuf, Vec<u8>)>,
    index: rustc_hash::FxHashMap<ContentHash, (usize, std::ops::Range<usize>)>,
}

/// Past this many packs, a scan merges what it used into one.
const MAX_PACKS: usize = 8;

/// The content key of a file.
pub type ContentHash = u128;

/// Hash of a file's bytes, the key of its entry.
#[must_use]
pub fn content_hash(bytes: &[u8]) -> ContentHash {
    xxh3_128(bytes)
}

impl Cache {
    /// The cache under `root` for entries made with the rule pack hashed `rules_hash`, with
    /// its packs read (unreadable ones are left out).
    #[must_use]
    pub fn new(root: &Path, rules_hash: &str) -> Cache {
        let short: String = rules_hash
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(16)
            .collect();
        let dir = root.join(format!("v{FORMAT}")).join(short);
        remove_stale_temporaries(&dir);
        remove_stale_temporaries(&dir.join("scans"));
        let packs = std::sync::Arc::new(Packs::read(&dir));
        Cache {
            dir,
            rules_hash: rules_hash.to_string(),
            packs,
        }
    }

    /// The default cache root: `idflow` under the user's cache directory.
    #[must_use]
    pub fn default_root() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("idflow"))
    }

    /// The entry for `key` and the checksum of its payload, or `None` when it is missing,
    /// foreign or damaged.
    #[must_use]
    pub fn load(&self, key: ContentHash) -> Option<(Entry, u64)> {
        let (pack, range) = self.packs.index.get(&key)?;
        let bytes = self.packs.files.get(*pack)?.1.get(range.clone())?;
        self.decode(key, bytes)
    }

    fn decode(&self, key: ContentHash, bytes: &[u8]) -> Option<(Entry, u64)> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC || r.u32()? != FORMAT {
            return None;
        }
        if r.string()? != BUILD || r.string()? != self.rules_hash {
            return None;
        }
        if r.u128()? != key {
            return None;
        }
        let checksum = r.u64()?;
        let payload = r.0;
        if xxh3_64(payload) != checksum {
            return None;
        }
        Some((postcard::from_bytes(payload).ok()?, checksum))
    }

    /// The bytes of an entry, to [`Cache::write`] later (scans encode on their workers and
    /// write on a thread of their own, beside the analysis). `None` if it cannot be encoded.
    #[must_use]
    pub fn encode(&self, key: ContentHash, entry: EntryRef<'_>) -> Option<Pending> {
        let mut bytes = Vec::new();
        self.encode_into(key, entry, &mut bytes)?;
        Some(Pending { bytes })
    }

    /// Encodes an entry into `out` (cleared first), which the pack writer reuses for every
    /// entry: the header with a placeholder checksum, the payload after it, then the checksum.
    fn encode_into(&self, key: ContentHash, entry: EntryRef<'_>, out: &mut Vec<u8>) -> Option<()> {
        out.clear();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        put_string(out, BUILD);
        put_string(out, &self.rules_hash);
        out.extend_from_slice(&key.to_le_bytes());
        let checksum_at = out.len();
        out.extend_from_slice(&0u64.to_le_bytes());
        *out = postcard::to_extend(&entry, std::mem::take(out)).ok()?;
        let checksum = xxh3_64(&out[checksum_at + 8..]);
        out[checksum_at..checksum_at + 8].copy_from_slice(&checksum.to_le_bytes());
        Some(())
    }

    /// Writes `new` entries and the entries of `lowered` (encoded one at a time, straight to
    /// the file: a large tree's IR is hundreds of megabytes to encode, and holding it encoded
    /// too cost memory the analysis running beside needed) as one pack, atomically. With too
    /// many packs on disk, the entries under `used` go into it as well and the older packs are
    /// removed. Errors are ignored: a cache that cannot be written only costs the next scan
    /// some speed.
    pub fn write<'a>(
        &self,
        new: &[Pending],
        lowered: impl IntoIterator<Item = (ContentHash, EntryRef<'a>)>,
        used: &[ContentHash],
    ) {
        let merge = self.packs.files.len() + 1 > MAX_PACKS;
        let mut pack = PackWriter::new(&self.dir);
        for entry in new {
            pack.record(&entry.bytes);
        }
        let mut bytes = Vec::new();
        for (key, entry) in lowered {
            if self.encode_into(key, entry, &mut bytes).is_some() {
                pack.record(&bytes);
            }
        }
        if merge {
            for key in used {
                if let Some((p, range)) = self.packs.index.get(key) {
                    if let Some(bytes) = self.packs.files[*p].1.get(range.clone()) {
                        pack.record(bytes);
                    }
                }
            }
        }
        if pack.finish().is_some() && merge {
            for (path, _) in &self.packs.files {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// Checks that the cache directory can be created and written, so a scan can say once that
    /// it runs without a cache instead of failing on every file.
    ///
    /// # Errors
    /// The I/O error.
    pub fn ensure_writable(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        tempfile::NamedTempFile::new_in(&self.dir).map(drop)
    }

    /// The directory entries go to.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// How old a temporary file must be before a scan takes it for the leftover of a killed one:
/// a live scan writes its pack in well under this, so a concurrent scan's file is left alone.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes temporary files (tempfile's `.tmp*`) in `dir` older than [`STALE_AFTER`]: a scan
/// killed while writing its pack or record leaves one behind (up to tens of MB), and nothing
/// else would ever remove it. Errors are ignored: this only frees space.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let temporary = entry.file_name().to_string_lossy().starts_with(".tmp");
        let stale = entry.metadata().is_ok_and(|m| {
            m.is_file()
                && m.modified()
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_AFTER))
        });
        if temporary && stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A pack being written: records go through a buffer to a temporary file, hashed on the way
/// for the pack's name; the file is created at the first record and renamed into place by
/// [`PackWriter::finish`]. After an I/O error it drops everything (the pack is not written).
struct PackWriter<'a> {
    dir: &'a Path,
    file: Option<std::io::BufWriter<tempfile::NamedTempFile>>,
    hash: xxhash_rust::xxh3::Xxh3Default,
    failed: bool,
}

impl<'a> PackWriter<'a> {
    fn new(dir: &'a Path) -> PackWriter<'a> {
        PackWriter {
            dir,
            file: None,
            hash: xxhash_rust::xxh3::Xxh3Default::new(),
            failed: false,
        }
    }

    /// Appends a record: the entry's length, then the entry.
    fn record(&mut self, entry: &[u8]) {
        if self.failed {
            return;
        }
        if self.file.is_none() {
            let file = std::fs::create_dir_all(self.dir)
                .and_then(|()| tempfile::NamedTempFile::new_in(self.dir));
            match file {
                Ok(f) => self.file = Some(std::io::BufWriter::with_capacity(1 << 20, f)),
                Err(_) => {
                    self.failed = true;
                    return;
                }
            }
        }
        let len = (entry.len() as u64).to_le_bytes();
        self.hash.update(&len);
        self.hash.update(entry);
        if let Some(file) = &mut self.file {
            if file
                .write_all(&len)
                .and_then(|()| file.write_all(entry))
                .is_err()
            {
                self.failed = true;
                self.file = None;
            }
        }
    }

    /// Renames the pack into place; `None` when nothing was written or writing failed.
    fn finish(self) -> Option<()> {
        let file = self.file.filter(|_| !self.failed)?;
        let tmp = file.into_inner().ok()?;
        let name = format!("{:032x}.pack", self.hash.digest128());
        tmp.persist(self.dir.join(name)).ok()?;
        Some(())
    }
}

impl Packs {
    /// Every `*.pack` of `dir`, in name order; a damaged record ends its pack's index there.
    fn read(dir: &Path) -> Packs {
        let mut packs = Packs::default();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return packs;
        };
        // Regular files only: a FIFO named like a pack would block the scan.
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pack"))
            .collect();
        paths.sort();
        for path in paths {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let pack = packs.files.len();
            let mut at = 0;
            while let Some(len) = bytes
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
                .and_then(|n| usize::try_from(n).ok())
            {
                let start = at + 8;
                let Some(end) = start.checked_add(len).filter(|&e| e <= bytes.len()) else {
                    break;
                };
                if let Some(key) = entry_key(&bytes[start..end]) {
                    packs.index.insert(key, (pack, start..end));
                }
                at = end;
            }
            packs.files.push((path, bytes));
        }
        packs
    }
}

/// The content hash an entry claims, read from its header (checked again on load).
fn entry_key(entry: &[u8]) -> Option<ContentHash> {
    let mut r = Reader(entry);
    r.take(8)?;
    r.string()?;
    r.string()?;
    r.u128()
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A cursor over an entry's bytes; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::SkipReason;

    fn skipped() -> Skipped {
        Skipped {
            file: String::new(),
            line: Some(3),
            column: Some(7),
            reason: SkipReason::ParseError,
            message: "expected `;`".into(),
        }
    }

    fn is_skip_at_line_3(e: Option<(Entry, u64)>) -> bool {
        matches!(e, Some((Entry::Skipped(s), _)) if s.line == Some(3))
    }

    fn store(root: &Path, rules: &str, key: ContentHash) {
        let cache = Cache::new(root, rules);
        let pending = cache.encode(key, EntryRef::Skipped(&skipped()));
        cache.write(&pending.into_iter().collect::<Vec<_>>(), [], &[]);
    }

    fn only_pack(root: &Path) -> PathBuf {
        let dir = Cache::new(root, "abc123").dir;
        let mut packs: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("cache dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(packs.len(), 1, "{packs:?}");
        packs.remove(0)
    }

    #[test]
    fn stored_entries_load_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        store(dir.path(), "abc123", 42);
        let cache = Cache::new(dir.path(), "abc123");
        assert!(is_skip_at_line_3(cache.load(42)));
        assert!(cache.load(43).is_none(), "another key is a miss");
    }

    #[test]
    fn another_rule_pack_misses() {
        let dir = tempfile::tempdir().expect("tempdir");
        store(dir.path(), "abc123", 42);
        assert!(Cache::new(dir.path(), "def456").load(42).is_none());
    }

    #[test]
    fn damaged_packs_are_misses_and_get_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        store(dir.path(), "abc123", 42);
        let path = only_pack(dir.path());
        let good = std::fs::read(&path).expect("pack");
        // Every truncation and a flipped bit in every byte must be refused, never panic.
        for n in 0..good.len() {
            std::fs::write(&path, &good[..n]).expect("write");
            assert!(
                Cache::new(dir.path(), "abc123").load(42).is_none(),
                "truncated to {n}"
            );
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            std::fs::write(&path, &bad).expect("write");
            let loaded = Cache::new(dir.path(), "abc123").load(42);
            assert!(loaded.is_none(), "bit flipped at byte {i}");
        }
        store(dir.path(), "abc123", 42);
        assert!(is_skip_at_line_3(Cache::new(dir.path(), "abc123").load(42)));
    }

    /// Issue 15, item 8: a temporary file a killed scan left is removed by the next one once
    /// it is older than a live scan could be; a fresh one (a concurrent scan's) is kept.
    #[test]
    fn issue_15_stale_temporaries_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::new(dir.path(), "abc");
        std::fs::create_dir_all(&cache.dir).expect("mkdir");
        let old = cache.dir.join(".tmpOLD");
        let fresh = cache.dir.join(".tmpNEW");
        std::fs::write(&old, b"partial pack").expect("w");
        std::fs::write(&fresh, b"partial pack").expect("w");
        let long_ago = std::time::SystemTime::now() - 2 * STALE_AFTER;
        std::fs::File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(long_ago))
            .expect("set mtime");
        let _ = Cache::new(dir.path(), "abc");
        assert!(!old.exists(), "the stale temporary is removed");
        assert!(fresh.exists(), "a fresh temporary may be a live scan's");
    }

    #[test]
    fn many_packs_merge_into_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        for key in 0..MAX_PACKS as u128 {
            store(dir.path(), "abc123", key);
        }
        let cache = Cache::new(dir.path(), "abc123");
        assert_eq!(cache.packs.files.len(), MAX_PACKS);
        cache.write(&[], [], &[3, 5]);
        only_pack(dir.path());
        let merged = Cache::new(dir.path(), "abc123");
        assert!(is_skip_at_line_3(merged.load(3)) && is_skip_at_line_3(merged.load(5)));
        assert!(
            merged.load(4).is_none(),
            "unused entries are dropped by the merge"
        );
    }
}
