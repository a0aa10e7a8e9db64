//! The `idflow` binary: CLI definition plus glue; everything else lives in the library.

/// The analysis allocates many small values; mimalloc is markedly faster at that than the
/// system allocator (see the README's Performance section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    idflow::cli::main()
}
