//! Embeds every `rules/**/*.yaml` and `templates/**/*` file, so a new rule file needs no Rust.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (dir, name) in [
        ("rules", "default_rules.rs"),
        ("templates", "default_templates.rs"),
    ] {
        println!("cargo:rerun-if-changed={dir}");
        let mut files = Vec::new();
        collect(Path::new(dir), &mut files);
        files.sort();
        let mut code = String::from("&[\n");
        for file in &files {
            let rel = file
                .strip_prefix(dir)
                .unwrap_or(file)
                .to_string_lossy()
                .replace('\\', "/");
            let abs = std::fs::canonicalize(file).expect("embedded file exists");
            writeln!(
                code,
                "    ({rel:?}, include_str!({:?})),",
                abs.display().to_string()
            )
            .expect("write to String");
        }
        code.push_str("]\n");
        std::fs::write(Path::new(&out).join(name), code).expect("write embedded file list");
    }
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(&path, files);
        } else if path
            .file_name()
            .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        {
            files.push(path);
        }
    }
}
