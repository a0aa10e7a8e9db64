//! The whole pipeline behind one call: options in, [`ScanResult`] out.

use std::path::PathBuf;

use crate::findings::ScanResult;
use crate::rules::RulePack;

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Root of the tree; finding paths are relative to it.
    pub root: PathBuf,
    /// Extra exclude globs, matched against paths relative to the root.
    pub excludes: Vec<String>,
}

/// A scan that could not run at all (per-file problems are [`crate::findings::Skipped`] instead).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The root does not exist or is not readable.
    #[error("cannot scan {path}: {source}")]
    Root {
        /// The root given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An exclude glob is malformed.
    #[error("invalid --exclude glob `{glob}`: {message}")]
    BadGlob {
        /// The glob.
        glob: String,
        /// Why.
        message: String,
    },
}

/// Runs the pipeline on `options.root` with `rules`.
///
/// # Errors
/// Only when the scan cannot start (missing root, bad glob); unreadable or broken files are
/// reported in [`ScanResult::skipped`] and the scan goes on.
pub fn run(options: &ScanOptions, rules: &RulePack) -> Result<ScanResult, ScanError> {
    let _ = (options, rules);
    todo!("pipeline")
}
