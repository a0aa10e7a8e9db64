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
    let mut through = Vec::new();
    for (path, text) in files {
        let context = || format!("cannot write {}", path.display());
        match target_of(path).with_context(context)? {
            Target::Replace(target) => {
                let tmp = write_temp(&target, text.as_bytes()).with_context(context)?;
                written.push((path, target, tmp));
            }
            Target::Through(target) => through.push((path, target, text)),
        }
    }
    for (path, target, tmp) in written {
        tmp.persist(&target)
            .map_err(|err| err.error)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for (path, target, text) in through {
        write_through(&target, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// What writing a path does to the file system object behind it.
enum Target {
    /// A regular file (or a new one), a symbolic link's target resolved: replaced by a rename.
    Replace(std::path::PathBuf),
    /// A device, FIFO or socket: opened and written, never replaced.
    Through(std::path::PathBuf),
}

fn target_of(path: &Path) -> io::Result<Target> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    Ok(match std::fs::metadata(&target) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => Target::Through(target),
        _ => Target::Replace(target),
    })
}

fn write_through(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).open(target)?;
    file.write_all(bytes)?;
    file.flush()
}

/// Writes `bytes` to `path`. A regular file (or a new one) is replaced atomically: through a
/// temporary file in its directory renamed over it, so a reader (a CI upload, the scorer) never
/// sees a half-written report. A symbolic link is followed and its target written the same way,
/// so the link stays. Anything else (a device, a FIFO, a socket) is opened and written through:
/// renaming over it would replace it (as root, `-o /dev/null` replaced the system's
/// `/dev/null` with a regular file).
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match target_of(path)? {
        Target::Replace(target) => {
            write_temp(&target, bytes)?
                .persist(&target)
                .map_err(|err| err.error)?;
            Ok(())
        }
        Target::Through(target) => write_through(&target, bytes),
    }
}

/// `bytes` in a synced temporary file in `path`'s directory, ready to be renamed over `path`:
/// with the mode of the file it replaces, or for a new file what the umask gives a file
/// created `0o666` (tempfile's own default, `0o600`, would hide a report from its readers).
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
    let mut builder = tempfile::Builder::new();
    builder.prefix(".idflow-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    if let Ok(existing) = std::fs::metadata(path) {
        if existing.is_file() {
            std::fs::set_permissions(tmp.path(), existing.permissions())?;
        }
    }
    Ok(tmp)
}

/// Refuses to write `output` when it is a file the command reads: one of `inputs` (the
/// baseline, the declarations file), the scanned file itself, or a Rust file under the scanned
/// `root`. Replacing it would destroy the input, and the next run would read the report.
///
/// # Errors
/// Names the output and what it is.
pub(crate) fn refuse_inputs(
    output: Option<&Path>,
    root: &Path,
    inputs: &[(&str, Option<&Path>)],
) -> Result<()> {
    let Some(output) = output else {
        return Ok(());
    };
    let Some(out) = resolved(output) else {
        return Ok(());
    };
    for (what, input) in inputs {
        if input.and_then(resolved).is_some_and(|i| i == out) {
            anyhow::bail!(
                "refusing to write {}: it is the {what} this command reads",
                output.display()
            );
        }
    }
    if let Some(root) = resolved(root) {
        let rust = out.extension().is_some_and(|e| e == "rs");
        if out == root || (rust && out.starts_with(&root)) {
            anyhow::bail!(
                "refusing to write {}: it is a Rust source file of the scanned tree",
                output.display()
            );
        }
    }
    Ok(())
}

/// `path` with links and `..` resolved, also when it does not exist yet (then its directory is
/// resolved); `None` when not even the directory exists.
fn resolved(path: &Path) -> Option<std::path::PathBuf> {
    if let Ok(real) = std::fs::canonicalize(path) {
        return Some(real);
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(dir).ok()?.join(name))
}
