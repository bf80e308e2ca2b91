#![no_main]
//! See haconf::fuzzing::keepalived for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| haconf::fuzzing::keepalived(data));
