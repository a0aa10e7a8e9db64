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

/// Writes through a temporary file in the target's directory and renames it over the target,
/// so a reader (a CI upload, the scorer) never sees a half-written report.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
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
    tmp.persist(path).map_err(|err| err.error)?;
    Ok(())
}
