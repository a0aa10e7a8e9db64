//! See [`idflow::fuzzing::macros`]: whatever the bytes, it must return without panicking. Inputs
//! that ever crashed it are replayed by `tests/regressions.rs` in the normal test suite.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| idflow::fuzzing::macros(data));
