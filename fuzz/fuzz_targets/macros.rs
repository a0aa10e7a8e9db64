//! Macro bodies (`format!`, `json!`, `vec!`, `write!`...): whatever tokens they hold, lowering
//! them never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    for mac in [
        "format",
        "json",
        "vec",
        "write",
        "println",
        "concat",
        "serde_json::json",
    ] {
        let file = format!("fn f() {{ let _x = {mac}!({body}); }}");
        if let Ok(syntax) = syn::parse_file(&file) {
            let _ = idflow::ir::lower::lower_file(&syntax);
        }
    }
});
