//! `cargo bench --bench pull`: pulling 20 real SSH hosts (network namespaces with sshd, as the
//! tests make them; needs root) takes about as long as the slowest host, not the sum. One host
//! is slow: each of its SSH sessions waits 1 s first (`HACONF_BENCH_SLOW_MS` sets it). The bench pulls each host alone, then all
//! twenty at once (the default `--jobs`), then all twenty one at a time (`--jobs 1`).

#[path = "../tests/common/sshlab.rs"]
mod sshlab;

use sshlab::{HostSpec, Lab};
use std::time::{Duration, Instant};

const HOSTS: usize = 20;

/// How long the slow host waits before each session (`HACONF_BENCH_SLOW_MS`, default 1000).
fn slow_ms() -> u64 {
    std::env::var("HACONF_BENCH_SLOW_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn spec(i: usize) -> HostSpec {
    let name = format!("ha{:02}", i + 1);
    let me = format!("10.77.0.{}", 10 + i);
    let peer = format!("10.77.0.{}", if i == 0 { 11 } else { 10 });
    let mut s = HostSpec::new(&name)
        .file(
            "/etc/keepalived/keepalived.conf",
            &format!(
                "global_defs {{\n    router_id {name}\n    enable_script_security\n    script_user root\n}}\nvrrp_script chk_nginx {{\n    script \"/etc/keepalived/chk_nginx.sh\"\n    interval 2\n    timeout 1\n    weight -20\n}}\ninclude /etc/keepalived/conf.d/*.conf\n"
            ),
            0o600,
        )
        .file(
            "/etc/keepalived/conf.d/vi_1.conf",
            &format!(
                "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority {}\n    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n    authentication {{\n        auth_type PASS\n        auth_pass s3cr3t\n    }}\n    virtual_ipaddress {{\n        10.77.0.100/24\n    }}\n    track_script {{\n        chk_nginx\n    }}\n    notify_master \"/usr/local/sbin/ha-notify.sh master\"\n}}\n",
                150 - i
            ),
            0o600,
        )
        .file(
            "/etc/keepalived/chk_nginx.sh",
            "#!/bin/sh\nexec curl -fs -o /dev/null --max-time 1 http://127.0.0.1/\n",
            0o755,
        )
        .file("/usr/local/sbin/ha-notify.sh", "#!/bin/sh\nlogger \"ha: $1\"\n", 0o755)
        .file(
            "/etc/nginx/nginx.conf",
            "user www-data;\nevents {\n    worker_connections 1024;\n}\nhttp {\n    include mime.types;\n    include /etc/nginx/conf.d/*.conf;\n}\n",
            0o644,
        )
        .file(
            "/etc/nginx/conf.d/site.conf",
            "server {\n    listen 80;\n    location / {\n        proxy_pass http://127.0.0.1:8080;\n    }\n}\n",
            0o644,
        );
    if i == HOSTS - 1 {
        s.delay_ms = slow_ms();
    }
    s
}

fn pull(lab: &Lab, dir: &std::path::Path, hosts: &[String], extra: &[&str]) -> f64 {
    let cfg = lab.ssh_config.to_str().unwrap().to_owned();
    let mut args = vec!["pull", "-q", "-F", cfg.as_str(), "--out", "out", "--force"];
    args.extend_from_slice(extra);
    args.extend(hosts.iter().map(String::as_str));
    let t = Instant::now();
    let o = lab.haconf(dir, &args, Duration::from_secs(300));
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let Some(mut lab) = Lab::new("bench pull") else {
        return;
    };
    for i in 0..HOSTS {
        lab.add(spec(i));
    }
    let names: Vec<String> = (0..HOSTS).map(|i| format!("ha{:02}", i + 1)).collect();
    let work = tempfile::tempdir().unwrap();
    // Warm up (first contact, page cache).
    pull(&lab, work.path(), &names, &[]);
    let alone: Vec<f64> = names
        .iter()
        .map(|n| {
            median(
                (0..3)
                    .map(|_| pull(&lab, work.path(), std::slice::from_ref(n), &[]))
                    .collect(),
            )
        })
        .collect();
    let sum: f64 = alone.iter().sum();
    let slowest = alone.iter().copied().fold(0.0, f64::max);
    let typical = median(alone.clone());
    let together = median(
        (0..5)
            .map(|_| pull(&lab, work.path(), &names, &[]))
            .collect(),
    );
    let fast = median(
        (0..3)
            .map(|_| pull(&lab, work.path(), &names[..HOSTS - 1], &[]))
            .collect(),
    );
    let serial = pull(&lab, work.path(), &names, &["--jobs", "1"]);
    println!(
        "{HOSTS} hosts, one of them slow ({} ms before each SSH session)",
        slow_ms()
    );
    println!("  each host alone: median {typical:.2} s, slowest {slowest:.2} s, sum {sum:.2} s");
    println!("  all at once (default --jobs): median of 5 runs {together:.2} s");
    println!(
        "  the {} fast hosts at once, without the slow one: median of 3 runs {fast:.2} s",
        HOSTS - 1
    );
    println!("  one at a time (--jobs 1): {serial:.2} s");
    println!(
        "  all at once / slowest alone: {:.2}; all at once / sum: {:.2}",
        together / slowest,
        together / sum
    );
}
