//! Where rendered output goes: stdout, or a file written atomically.

use std::io::{self, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result};

/// Writes `text` to `file`, or to stdout when there is none.
///
/// # Errors
/// I/O errors; a closed stdout surfaces as `BrokenPipe` for the caller to treat as success.
pub(crate) fn emit(file: Option<&Path>, text: &str) -> Result<()> {
    match file {
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
        Some(path) => write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display())),
    }
}

/// Writes several files as one step: every text goes to a temporary file beside its target
/// first, and only when all of them are written are they renamed over their targets. A failure
/// while writing (a full disk, a missing directory) leaves every target as it was; only a
/// failing rename, which does not copy data, could still leave the set half-replaced.
///
/// # Errors
/// The first I/O error, naming its file.
pub(crate) fn emit_all(files: &[(std::path::PathBuf, String)]) -> Result<()> {
    // The one rename failure that can be foreseen: a directory where a file should go.
    if let Some((path, _)) = files.iter().find(|(path, _)| path.is_dir()) {
        anyhow::bail!(
            "cannot write {}: a directory is in the way (nothing was written)",
            path.display()
        );
    }
    let mut written = Vec::with_capacity(files.len());
    for (path, text) in files {
        let tmp = write_temp(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push((path, tmp));
    }
    for (path, tmp) in written {
        tmp.persist(path)
            .map_err(|err| err.error)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Writes through a temporary file in the target's directory and renames it over the target,
/// so a reader (a CI upload, the scorer) never sees a half-written report.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_temp(path, bytes)?
        .persist(path)
        .map_err(|err| err.error)?;
    Ok(())
}

/// `bytes` in a synced temporary file in `path`'s directory, ready to be renamed over `path`.
fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("directory {} does not exist", dir.display()),
        ));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".idflow-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        // tempfile creates 0600; a report is an ordinary file.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))?;
    }
    Ok(tmp)
}
