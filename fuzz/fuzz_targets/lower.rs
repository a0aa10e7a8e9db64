//! Any Rust file that parses: lowering, indexing and the whole propagation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(syntax) = syn::parse_file(text) else {
        return;
    };
    let ir = idflow::ir::lower::lower_file(&syntax);
    idflow::fuzzing::analyze_file(ir);
});
