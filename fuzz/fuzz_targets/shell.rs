#![no_main]
//! See haconf::fuzzing::shell for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| haconf::fuzzing::shell(data));
