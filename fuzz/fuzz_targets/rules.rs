//! A rule file given with `--rules`: loading, validating and rendering its errors never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let extra = vec![("extra/fuzz.yaml".into(), text.to_string())];
    match idflow::rules::RulePack::with_extra_texts(extra) {
        Ok(pack) => {
            let _ = idflow::rules::index::RuleIndex::new(pack.rules());
        }
        Err(errors) => {
            let _ = idflow::diag::render_rule_errors(&errors, false);
        }
    }
});
