//! The fuzz targets' checks (`haconf::fuzzing`, run by `fuzz/`) on their seed corpus and on
//! every input a fuzzer ever crashed haconf with (`fuzz/regressions/<target>/`): a plain
//! `cargo test`, without cargo-fuzz or a nightly compiler, so CI replays them on every run.
//! See RELIABILITY.md for the fuzzing runs themselves.

mod common;

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The inputs of `target`: the small files of tests/fixtures and examples/ it reads (as
/// fuzz/gather-seeds picks them), its hand-written seeds and its regressions.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = Vec::new();
    for dir in ["tests/fixtures", "examples"] {
        for p in common::files_below(&root().join(dir)) {
            let s = p.to_string_lossy().into_owned();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let small = std::fs::metadata(&p).is_ok_and(|m| m.len() <= 65536);
            let kind = if name.ends_with(".sh") {
                "shell"
            } else if name == "haconf.toml" {
                "spec"
            } else if name == "keepalived.conf"
                || s.contains("/keepalived/")
                || (s.contains("/scripts/") && name.ends_with(".conf"))
            {
                "keepalived"
            } else if name == "nginx.conf" || s.contains("/nginx/") || name.ends_with(".conf") {
                "nginx"
            } else {
                ""
            };
            if small && kind == target {
                v.push(p);
            }
        }
    }
    for dir in ["fuzz/seeds", "fuzz/regressions"] {
        let d = root().join(dir).join(target);
        if d.is_dir() {
            v.extend(common::files_below(&d));
        }
    }
    v
}

fn replay(target: &str, check: fn(&[u8]), at_least: usize) {
    let inputs = inputs(target);
    assert!(
        inputs.len() >= at_least,
        "{target}: only {} inputs",
        inputs.len()
    );
    for p in &inputs {
        let data = std::fs::read(p).unwrap();
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(r.is_ok(), "{target}: {} fails its check", p.display());
    }
}

#[test]
fn keepalived_seeds_and_regressions() {
    replay("keepalived", haconf::fuzzing::keepalived, 20);
}

#[test]
fn nginx_seeds_and_regressions() {
    replay("nginx", haconf::fuzzing::nginx, 10);
}

#[test]
fn shell_seeds_and_regressions() {
    replay("shell", haconf::fuzzing::shell, 20);
}

#[test]
fn spec_seeds_and_regressions() {
    replay("spec", haconf::fuzzing::spec, 2);
}

#[test]
fn lsp_framing_seeds_and_regressions() {
    replay("lsp_framing", haconf::fuzzing::lsp_framing, 3);
}
