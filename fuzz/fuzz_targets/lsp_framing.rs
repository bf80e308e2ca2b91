#![no_main]
//! See haconf::fuzzing::lsp_framing for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| haconf::fuzzing::lsp_framing(data));
