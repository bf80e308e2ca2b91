//! `cargo bench --bench memory`: peak memory of `haconf check` on hostile sizes, as a whole
//! process under `/usr/bin/time -v` (maximum resident set size), against the bytes it reads.
//! Budget (issue 12): at most 12 times the input for any file up to the 16 MiB cap, and the
//! cap holds for a whole fleet. Needs the release binary (`cargo build --release`); set
//! `HACONF_BIN` to measure another build.
//!
//! Inputs, written to a temporary directory:
//! - a 16 MB keepalived.conf of ordinary vrrp_instance blocks (74,000 of them);
//! - a 16 MB keepalived.conf of the shortest statements (`a 1` lines): the worst ratio of
//!   syntax to bytes;
//! - a 2.5 MB check script (shell `if` lines) run by a vrrp_script;
//! - 1 MB of random bytes as keepalived.conf;
//! - a fleet of 12 clusters of 15 MB each (180 MB, beyond the run's 64 MiB cap).
//!
//! `cargo bench --bench memory -- WORD` measures only the inputs whose name holds WORD.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MIB: usize = 1024 * 1024;

fn ka_blocks(size: usize) -> String {
    let mut s = String::from("global_defs {\n    router_id ha1\n}\n");
    let mut n = 0usize;
    while s.len() < size - 400 {
        s.push_str(&format!(
            "vrrp_instance VI_{n} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    priority 100\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass secret{}\n    }}\n    virtual_ipaddress {{\n        10.{}.{}.{}/24\n    }}\n}}\n",
            n % 255 + 1,
            n % 1000,
            (n >> 16) & 255,
            (n >> 8) & 255,
            n & 255
        ));
        n += 1;
    }
    s
}

fn ka_dense(size: usize) -> String {
    let mut s = String::from("global_defs {\n");
    while s.len() < size - 4 {
        s.push_str("a 1\n");
    }
    s.push_str("}\n");
    s
}

const KA_SCRIPT: &str = "global_defs {\n    router_id ha1\n    enable_script_security\n    script_user root\n}\nvrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\nvrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    track_script {\n        chk\n    }\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n}\n";

fn script(size: usize) -> String {
    let mut s = String::from("#!/bin/sh\n");
    let mut i = 0;
    while s.len() < size {
        s.push_str(&format!(
            "if [ -f /var/run/nginx{i}.pid ]; then kill -0 \"$(cat /var/run/nginx{i}.pid)\" || exit 1; fi\n"
        ));
        i += 1;
    }
    s.push_str("exit 0\n");
    s
}

fn garbage(size: usize) -> Vec<u8> {
    // xorshift: the same bytes on every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Peak RSS (KiB), wall seconds and the number of output lines of one `haconf check`.
fn measure(bin: &Path, target: &Path) -> (u64, f64, usize) {
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args(["check", "--format", "concise"])
        .arg(target)
        .output()
        .expect("/usr/bin/time (GNU time) is needed");
    let secs = t.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    let rss = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (rss, secs, out.stdout.split(|&b| b == b'\n').count() - 1)
}

fn bytes_below(p: &Path) -> u64 {
    if p.is_file() {
        return std::fs::metadata(p).map_or(0, |m| m.len());
    }
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| bytes_below(&e.path())).sum())
        .unwrap_or(0)
}

fn main() {
    let bin = std::env::var_os("HACONF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/haconf"));
    assert!(
        bin.is_file(),
        "build the release binary first: {}",
        bin.display()
    );
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    write(
        &root.join("blocks/c/ha1/keepalived.conf"),
        ka_blocks(16 * MIB - 1024).as_bytes(),
    );
    write(
        &root.join("dense/c/ha1/keepalived.conf"),
        ka_dense(16 * MIB - 1024).as_bytes(),
    );
    write(
        &root.join("script/c/ha1/keepalived.conf"),
        KA_SCRIPT.as_bytes(),
    );
    write(
        &root.join("script/c/ha1/chk.sh"),
        script(5 * MIB / 2).as_bytes(),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let p = root.join("script/c/ha1/chk.sh");
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    write(&root.join("garbage/keepalived.conf"), &garbage(MIB));
    let big = ka_blocks(15 * MIB);
    for c in 0..12 {
        write(
            &root.join(format!("fleet/web{c:02}/ha1/keepalived.conf")),
            big.as_bytes(),
        );
    }
    println!("| input | bytes | peak RSS | ratio | time | output lines |");
    println!("|---|---|---|---|---|---|");
    for (name, target) in [
        (
            "16 MB keepalived.conf, vrrp_instance blocks",
            root.join("blocks/c"),
        ),
        ("16 MB keepalived.conf, `a 1` lines", root.join("dense/c")),
        ("2.5 MB check script", root.join("script/c")),
        ("1 MB of random bytes", root.join("garbage/keepalived.conf")),
        ("fleet: 12 clusters of 15 MB", root.join("fleet")),
    ] {
        // `cargo bench --bench memory -- WORD` measures only the inputs whose name has WORD.
        if let Some(w) = std::env::args().skip(1).find(|a| !a.starts_with('-'))
            && !name.contains(&w)
        {
            continue;
        }
        let input = bytes_below(&target);
        let (rss, secs, lines) = measure(&bin, &target);
        println!(
            "| {name} | {:.1} MB | {:.0} MB | {:.1}x | {secs:.2} s | {lines} |",
            input as f64 / 1e6,
            rss as f64 * 1024.0 / 1e6,
            rss as f64 * 1024.0 / input as f64
        );
    }
}
