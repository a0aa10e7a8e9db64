//! An `idflow.yaml`: parsing, validating and printing its errors never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match idflow::declarations::Declarations::parse(text, std::path::Path::new("idflow.yaml")) {
        Ok(decl) => {
            let _ = decl.validate();
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
});
