#![no_main]
//! See haconf::fuzzing::spec for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| haconf::fuzzing::spec(data));
