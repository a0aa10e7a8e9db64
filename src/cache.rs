//! The incremental cache: each file's lowered IR (or the reason it was skipped), stored on disk
//! under the hash of the file's bytes, so a re-scan parses only the files that changed.
//!
//! One entry per file content, content-addressed: `DIR/v<FORMAT>/<rules>/<ab>/<hash>.ir`, where
//! `<rules>` is the rule pack's hash. Entries are written atomically (temp file, then rename),
//! so concurrent scans and interrupted runs leave whole entries or none.
//!
//! The cache is never trusted blindly: an entry carries a header (magic, format, tool version
//! with a fingerprint of the lowering code, rule-pack hash, content hash) and a checksum of its
//! payload. Anything that does not match, or does not decode, is a miss: the file is parsed
//! again and the entry rewritten. A cache that cannot be written (read-only directory, full
//! disk) only costs speed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

use crate::findings::Skipped;
use crate::ir::FileIr;

/// Bump when the IR or the entry layout changes; old entries then live in another directory.
const FORMAT: u32 = 1;
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

/// An open cache directory for one rule pack.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    rules_hash: String,
}

/// The content key of a file.
pub type ContentHash = u128;

/// Hash of a file's bytes, the key of its entry.
#[must_use]
pub fn content_hash(bytes: &[u8]) -> ContentHash {
    xxh3_128(bytes)
}

impl Cache {
    /// The cache under `root` for entries made with the rule pack hashed `rules_hash`.
    #[must_use]
    pub fn new(root: &Path, rules_hash: &str) -> Cache {
        let short: String = rules_hash
            .chars()
            .filter(char::is_ascii_hexdigit)
            .take(16)
            .collect();
        Cache {
            dir: root.join(format!("v{FORMAT}")).join(short),
            rules_hash: rules_hash.to_string(),
        }
    }

    /// The default cache root: `idflow` under the user's cache directory.
    #[must_use]
    pub fn default_root() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("idflow"))
    }

    fn path_of(&self, key: ContentHash) -> PathBuf {
        let hex = format!("{key:032x}");
        self.dir.join(&hex[..2]).join(format!("{hex}.ir"))
    }

    /// The entry for `key`, or `None` when it is missing, foreign or damaged.
    #[must_use]
    pub fn load(&self, key: ContentHash) -> Option<Entry> {
        let bytes = std::fs::read(self.path_of(key)).ok()?;
        self.decode(key, &bytes)
    }

    fn decode(&self, key: ContentHash, bytes: &[u8]) -> Option<Entry> {
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
        postcard::from_bytes(payload).ok()
    }

    /// Stores `entry` under `key`. Errors are ignored: a cache that cannot be written only
    /// costs the next scan some speed.
    pub fn store(&self, key: ContentHash, entry: &Entry) {
        let _ = self.try_store(key, entry);
    }

    fn try_store(&self, key: ContentHash, entry: &Entry) -> Option<()> {
        let payload = postcard::to_stdvec(entry).ok()?;
        let mut bytes = Vec::with_capacity(payload.len() + 128);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT.to_le_bytes());
        put_string(&mut bytes, BUILD);
        put_string(&mut bytes, &self.rules_hash);
        bytes.extend_from_slice(&key.to_le_bytes());
        bytes.extend_from_slice(&xxh3_64(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let path = self.path_of(key);
        let dir = path.parent()?;
        std::fs::create_dir_all(dir).ok()?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).ok()?;
        tmp.write_all(&bytes).ok()?;
        tmp.persist(&path).ok()?;
        Some(())
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

    fn skipped_entry() -> Entry {
        Entry::Skipped(Skipped {
            file: String::new(),
            line: Some(3),
            column: Some(7),
            reason: SkipReason::ParseError,
            message: "expected `;`".into(),
        })
    }

    fn is_skip_at_line_3(e: Option<Entry>) -> bool {
        matches!(e, Some(Entry::Skipped(s)) if s.line == Some(3))
    }

    #[test]
    fn stored_entries_load_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::new(dir.path(), "abc123");
        cache.store(42, &skipped_entry());
        assert!(is_skip_at_line_3(cache.load(42)));
        assert!(cache.load(43).is_none(), "another key is a miss");
    }

    #[test]
    fn another_rule_pack_misses() {
        let dir = tempfile::tempdir().expect("tempdir");
        Cache::new(dir.path(), "abc123").store(42, &skipped_entry());
        assert!(Cache::new(dir.path(), "def456").load(42).is_none());
    }

    #[test]
    fn damaged_entries_are_misses_and_get_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Cache::new(dir.path(), "abc123");
        cache.store(42, &skipped_entry());
        let path = cache.path_of(42);
        let good = std::fs::read(&path).expect("entry");
        // Every truncation and a flipped bit in every byte must be refused, never panic.
        for n in 0..good.len() {
            std::fs::write(&path, &good[..n]).expect("write");
            assert!(cache.load(42).is_none(), "truncated to {n} bytes");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            std::fs::write(&path, &bad).expect("write");
            assert!(cache.load(42).is_none(), "bit flipped at byte {i}");
        }
        cache.store(42, &skipped_entry());
        assert!(is_skip_at_line_3(cache.load(42)));
    }
}
