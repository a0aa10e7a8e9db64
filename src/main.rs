//! The `idflow` binary: CLI definition plus glue; everything else lives in the library.

fn main() -> std::process::ExitCode {
    idflow::cli::main()
}
