//! `cargo bench --bench fleet`: whole-process time of `haconf check` on a fleet of 1,000
//! two-node clusters (the DESIGN.md budget: under 1 s on 2 cores), and peak memory at 250,
//! 500 and 1,000 clusters to show that memory grows linearly. Needs the release binary.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn write_fleet(root: &Path, clusters: usize) {
    for c in 0..clusters {
        for (n, (me, other, prio)) in [("10", "20", 101), ("20", "10", 100)].iter().enumerate() {
            let dir = root.join(format!("web-{c:04}/ha{}", n + 1));
            std::fs::create_dir_all(&dir).unwrap();
            let net = format!("10.{}.{}", c / 250, c % 250);
            std::fs::write(
                dir.join("keepalived.conf"),
                format!(
                    "global_defs {{\n    router_id web{c}-ha{}\n    enable_script_security\n    script_user root\n}}\nvrrp_script chk {{\n    script \"/usr/bin/pgrep -x nginx\"\n    interval 2\n    timeout 1\n    weight -20\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    priority {prio}\n    unicast_src_ip {net}.{me}\n    unicast_peer {{\n        {net}.{other}\n    }}\n    virtual_ipaddress {{\n        {net}.100/24\n    }}\n    track_script {{\n        chk\n    }}\n}}\n",
                    n + 1,
                    c % 255 + 1
                ),
            )
            .unwrap();
            std::fs::write(dir.join("nginx.conf"), "user nginx;\nevents {\n    worker_connections 1024;\n}\nhttp {\n    server {\n        listen 80;\n        location / {\n            root /srv/www;\n        }\n    }\n}\n").unwrap();
        }
    }
}

/// Median wall time (ms) and peak RSS (KiB, from GNU time when available).
fn measure(bin: &str, dir: &Path, runs: usize) -> (f64, Option<u64>) {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new(bin)
            .args(["check", "--format", "json"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let rss = Command::new("/usr/bin/time")
        .args(["-f", "%M", bin, "check", "--format", "json"])
        .arg(dir)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
        });
    (times[times.len() / 2], rss)
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/haconf");
    if !Path::new(bin).exists() {
        println!("(build the release binary first: cargo build --release)");
        return;
    }
    for n in [250, 500, 1000] {
        let dir = tempfile::tempdir().unwrap();
        write_fleet(dir.path(), n);
        let (ms, rss) = measure(bin, dir.path(), if n == 1000 { 9 } else { 5 });
        println!(
            "fleet of {n:>4} two-node clusters ({:>4} files): median {ms:>7.1} ms, peak RSS {}",
            n * 4,
            rss.map_or("n/a (no /usr/bin/time)".to_owned(), |k| format!(
                "{:.1} MiB",
                k as f64 / 1024.0
            ))
        );
    }
}
