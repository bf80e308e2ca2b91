//! Tells the tests what this machine has, so that a test needing something absent is marked
//! `ignored` with its reason (`cargo test` then prints "ignored, needs ..." and counts it)
//! instead of passing silently.
//!
//! Each `haconf_has_*` cfg is set when the thing is present. With `HACONF_REQUIRE_ORACLES=1`
//! (CI) every cfg is set whatever is found, so that a missing tool fails its tests loudly.
//! The tests check again when they run, so a tool removed after the build is still a skip
//! (or a failure in CI), never a false pass.

use std::env;
use std::path::{Path, PathBuf};

const CFGS: [&str; 6] = [
    "haconf_has_corpus",
    "haconf_has_keepalived",
    "haconf_has_nginx",
    "haconf_has_shellcheck",
    "haconf_has_netns",
    "haconf_has_tmux",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=HACONF_REQUIRE_ORACLES");
    println!("cargo::rerun-if-env-changed=HACONF_SHARED");
    println!("cargo::rerun-if-env-changed=PATH");
    for cfg in CFGS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }

    let require_all = env::var("HACONF_REQUIRE_ORACLES").as_deref() == Ok("1");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    let mut present = Vec::new();
    if has_corpus(&manifest) {
        present.push("haconf_has_corpus");
    }
    for (cfg, tool) in [
        ("haconf_has_keepalived", "keepalived"),
        ("haconf_has_nginx", "nginx"),
        ("haconf_has_shellcheck", "shellcheck"),
        ("haconf_has_tmux", "tmux"),
    ] {
        if let Some(path) = find_tool(tool) {
            // Watching a path that exists is cheap; a missing one would rebuild every time,
            // so an installation after the build needs `touch build.rs` (the tests say so).
            println!("cargo::rerun-if-changed={}", path.display());
            present.push(cfg);
        }
    }
    if is_root() && find_tool("ip").is_some() && find_tool("unshare").is_some() {
        present.push("haconf_has_netns");
    }

    for cfg in CFGS {
        if require_all || present.contains(&cfg) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

/// The corpus: `HACONF_SHARED`, or `shared/` beside the checkout (as CI lays it out).
fn has_corpus(manifest: &Path) -> bool {
    let mut candidates: Vec<PathBuf> = env::var_os("HACONF_SHARED")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push(manifest.join("../shared"));
    candidates.push(manifest.join("shared"));
    candidates
        .into_iter()
        .any(|dir| dir.join("corpus").is_dir())
}

/// The first executable named `tool` on `PATH` or in the sbin directories that a non-root
/// `PATH` often lacks.
fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether the build runs as root (network namespaces need it), read from /proc.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}
