//! Running git on the scanned repository without running anything the repository configures.
//!
//! `report` (commit, date, dirty state) and `check --diff-base` (changed lines) read a
//! repository that may be hostile: its `.git/config` can name commands git runs on its own
//! (`core.fsmonitor`, pagers, hooks, external diff and textconv drivers), and the user's config
//! can change the shape of the output the gate parses (`diff.noprefix`, `diff.mnemonicPrefix`,
//! `core.quotepath`, colours). Every invocation goes through [`git`], which overrides all of them
//! on the command line, so neither the repository nor the user's config decides.
//!
//! Not covered: clean/smudge filters a repository's `.gitattributes` names run when `git diff`
//! compares the working tree (their names are arbitrary, so no `-c` can switch them off).

use std::path::Path;
use std::process::Command;

/// Settings that make git run nothing configured and print paths and diffs in one shape.
const SAFE_CONFIG: [&str; 9] = [
    // A command git would run to list changed files: a hostile repository's shell command.
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    // Paths as bytes (`gerät.rs`, not `"ger\303\244t.rs"`).
    "core.quotepath=false",
    // `a/` and `b/` prefixes whatever the user's config says.
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "diff.relative=false",
    "color.ui=false",
    "log.showSignature=false",
];

/// A git command in `dir` that runs no configured command and ignores output settings.
pub(super) fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--no-pager");
    for setting in SAFE_CONFIG {
        cmd.args(["-c", setting]);
    }
    cmd.arg("-C").arg(dir);
    // Only read; no prompt for credentials; no external diff or pager from the environment.
    cmd.env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_EXTERNAL_DIFF")
        .env_remove("GIT_PAGER")
        .env_remove("PAGER");
    cmd
}
