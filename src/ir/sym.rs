//! Interned identifiers: every distinct name text is stored once for the life of the process,
//! and a [`Sym`] is a copyable reference to it.
//!
//! A large tree holds tens of millions of identifier occurrences but a few hundred thousand
//! distinct names; one allocation per occurrence made the IR several times the size of the
//! source, and copying environments in the analysis allocated at every step. The cost is that
//! interned texts are never freed, which is bounded by the number of distinct names read.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned identifier. Compares, orders and hashes as its text.
///
/// A thin reference (to a leaked `String`), so a `Sym` is one word: names are the most
/// frequent field of the IR (paths are vectors of them), and a `&str` would double them.
#[derive(Clone, Copy)]
pub struct Sym(&'static String);

/// The text of `Sym::default()`.
static EMPTY: String = String::new();

impl Default for Sym {
    fn default() -> Sym {
        Sym(&EMPTY)
    }
}

/// Interned symbols, found by `&str` (a `Sym` hashes and compares as its text).
type Set = HashSet<Sym, rustc_hash::FxBuildHasher>;

/// Shards of the interner, so parser threads rarely wait on one another.
const SHARDS: usize = 64;

type Shard = Mutex<Set>;

fn shards() -> &'static [Shard] {
    static SHARDS_CELL: OnceLock<Vec<Shard>> = OnceLock::new();
    SHARDS_CELL.get_or_init(|| (0..SHARDS).map(|_| Mutex::default()).collect())
}

impl Sym {
    /// The symbol of `text`.
    #[must_use]
    pub fn new(text: &str) -> Sym {
        // Each thread remembers the names it has seen, so most lookups take no lock.
        thread_local! {
            static SEEN: std::cell::RefCell<Set> = std::cell::RefCell::default();
        }
        SEEN.with(|seen| {
            if let Some(&known) = seen.borrow().get(text) {
                return known;
            }
            let sym = Sym::intern(text);
            seen.borrow_mut().insert(sym);
            sym
        })
    }

    fn intern(text: &str) -> Sym {
        let hash = rustc_hash::FxBuildHasher.hash_one(text);
        let shard = &shards()[usize::try_from(hash).unwrap_or(0) % SHARDS];
        // A poisoned lock only means another thread panicked while inserting; the set itself
        // is still consistent (insertion is a single call).
        let mut set = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&known) = set.get(text) {
            return known;
        }
        let leaked: &'static String = Box::leak(Box::new(text.to_owned()));
        let sym = Sym(leaked);
        set.insert(sym);
        sym
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        self.0.as_str()
    }
}

impl std::ops::Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Sym {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl Borrow<str> for Sym {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for Sym {
    fn eq(&self, other: &Sym) -> bool {
        // Interned: equal texts are the same pointer, but a default `Sym("")` is not interned.
        std::ptr::eq(self.0, other.0) || self.0 == other.0
    }
}

impl Eq for Sym {}

impl PartialEq<str> for Sym {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<&str> for Sym {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl PartialEq<String> for Sym {
    fn eq(&self, other: &String) -> bool {
        self.0.as_str() == other.as_str()
    }
}

impl PartialEq<Sym> for str {
    fn eq(&self, other: &Sym) -> bool {
        self == other.0.as_str()
    }
}

impl PartialEq<Sym> for &str {
    fn eq(&self, other: &Sym) -> bool {
        *self == other.0.as_str()
    }
}

impl PartialEq<Sym> for String {
    fn eq(&self, other: &Sym) -> bool {
        self.as_str() == other.0.as_str()
    }
}

impl PartialOrd for Sym {
    fn partial_cmp(&self, other: &Sym) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sym {
    fn cmp(&self, other: &Sym) -> std::cmp::Ordering {
        self.0.as_str().cmp(other.0.as_str())
    }
}

impl Hash for Sym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `str` hashes, so maps keyed by `Sym` can be searched with a `&str`.
        self.0.as_str().hash(state);
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl From<&str> for Sym {
    fn from(text: &str) -> Sym {
        Sym::new(text)
    }
}

impl From<String> for Sym {
    fn from(text: String) -> Sym {
        Sym::new(&text)
    }
}

impl From<&String> for Sym {
    fn from(text: &String) -> Sym {
        Sym::new(text)
    }
}

impl From<Sym> for String {
    fn from(sym: Sym) -> String {
        sym.0.to_string()
    }
}

impl Serialize for Sym {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Sym, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Sym;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sym, E> {
                Ok(Sym::new(v))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::Sym;

    #[test]
    fn equal_texts_are_one_symbol_and_order_as_text() {
        let a = Sym::new("imei");
        let b = Sym::new(&String::from("imei"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert!(Sym::new("abc") < Sym::new("abd"));
        assert_eq!(Sym::default(), Sym::new(""));
    }
}
