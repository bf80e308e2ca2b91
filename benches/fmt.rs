//! `cargo bench --bench fmt`: how long `haconf fmt` takes, as a whole process, on a
//! generated nginx.conf of about 52,000 lines / 1.9 MB written the way real configs drift
//! (indentation at random, several statements on a line, one-line blocks, multi-line log
//! formats, maps, `if`s with regexes, Lua bodies, comments) and on a keepalived.conf of the
//! same size. Figures go in BENCHMARKS.md. A plain harness, as benches/parse.rs.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::Command;
use std::time::Instant;

/// A messy nginx.conf of about `lines` lines.
fn nginx_text(lines: usize) -> String {
    let mut s = String::from(
        "user nginx;\nworker_processes auto;\nevents { worker_connections 1024; }\nhttp {\n  include mime.types;\n    log_format  main  '$remote_addr - $remote_user [$time_local] \"$request\" '\n                      '$status $body_bytes_sent \"$http_referer\" '\n                      '\"$http_user_agent\" \"$http_x_forwarded_for\"';\nlog_format json escape=json\n  '{'\n    '\"time\":\"$time_iso8601\",'\n    '\"status\":\"$status\"'\n  '}';\n",
    );
    let mut i = 0usize;
    let mut n = s.lines().count();
    while n < lines {
        let pad = " ".repeat(i % 7);
        let before = s.len();
        s.push_str(&format!(
            "{pad}map $http_host $backend_{i} {{\n default app_{i};\n  \"\" app_{i};\n ~^www\\.(?<d>.+)$   app_{i};\n}}\n\
upstream app_{i} {{ server 10.0.{}.{}:8080 max_fails=3 fail_timeout=10s; server 10.0.{}.{}:8080 backup; keepalive 16; }}\n\
{pad}server {{\n\tlisten 80; listen [::]:80;\n   server_name application-{i}.internal.example.com www.application-{i}.internal.example.com;   # site {i}\n\n\n  location / {{\n        proxy_pass http://$backend_{i};\n  proxy_set_header Host $host; proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    if ($http_user_agent ~* \"(bot|crawler){{1,2}}\") {{ return 403; }}\n    add_header Content-Security-Policy\n        \"default-src 'self'; \"\n        \"img-src 'self' data:\" always;\n  }}\n      location ~* \\.(png|css|js)$ {{ root /srv/www/{i}; expires 7d; }}\n  location /lua {{ content_by_lua_block {{\n      ngx.say(\"{i}\")\n  }} }}\n}}\n",
            i % 250,
            i % 250 + 1,
            (i + 1) % 250,
            i % 250 + 2,
        ));
        n += s[before..].matches('\n').count();
        i += 1;
    }
    s.push_str("}\n");
    s
}

/// A messy keepalived.conf of about `lines` lines.
fn keepalived_text(lines: usize) -> String {
    let mut s = String::from(
        "! bench\n$IF=eth0\nglobal_defs {\nrouter_id bench\n  enable_script_security\n}\n",
    );
    let mut i = 0usize;
    let mut n = s.lines().count();
    while n < lines {
        let pad = " ".repeat(i % 9);
        let before = s.len();
        s.push_str(&format!(
            "vrrp_script chk_{i}\n{{\n{pad}script   \"/usr/local/bin/chk --port {i}\"   # probe\n  interval 2\n      timeout 1\n weight -20\n}}\n\
vrrp_instance VI_{i} {{\n{pad}state BACKUP\n interface $IF\n    virtual_router_id {}\n@ha1 priority 101\n@^ha1 priority 100\n  authentication {{ auth_type PASS\n auth_pass s3cret }}\n\n\n  unicast_peer {{\n10.0.0.2\n         10.0.0.3\n  }}\n    virtual_ipaddress {{ 10.1.{}.{}/24 dev eth0 }}\n  track_script {{\n      chk_{i} weight -30\n   }}\n}}\n",
            i % 255 + 1,
            (i / 250) % 250,
            i % 250 + 1,
        ));
        n += s[before..].matches('\n').count();
        i += 1;
    }
    s
}

/// CPU time (user + system, ms) of the children waited for so far, from /proc/self/stat:
/// on a shared machine it says what a run costs when the wall clock is stretched by others.
fn children_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 16 and 17 of stat(5) (cutime, cstime); `rest` starts at field 3.
    let ticks: f64 = f.get(13)?.parse::<f64>().ok()? + f.get(14)?.parse::<f64>().ok()?;
    Some(ticks * 1e3 / 100.0)
}

/// Runs `cmd` `runs` times; prints and returns the median wall time in ms.
fn whole_process(name: &str, cmd: &mut dyn FnMut() -> Command, runs: usize) -> f64 {
    let cpu0 = children_cpu_ms();
    let mut times = Vec::new();
    for _ in 0..runs {
        let mut c = cmd();
        let t = Instant::now();
        let out = c.output().expect("run haconf");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    let cpu = match (cpu0, children_cpu_ms()) {
        (Some(a), Some(b)) => format!("   cpu {:>5.1} ms/run", (b - a) / runs as f64),
        _ => String::new(),
    };
    println!(
        "{name:<58} median {median:>6.1} ms   min {:>6.1} ms{cpu}   ({runs} runs)",
        times[0]
    );
    median
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        return; // `cargo test --benches` only checks that it builds.
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let bin = format!("{root}/target/release/haconf");
    if !std::path::Path::new(&bin).exists() {
        println!("(build the release binary first: cargo build --release)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    println!("== in process: haconf::fmt::format, best of 9 (one core)");
    for (name, text, lang) in [
        ("nginx.conf", nginx_text(52_000), haconf::fmt::Lang::Nginx),
        (
            "keepalived.conf",
            keepalived_text(52_000),
            haconf::fmt::Lang::Keepalived,
        ),
    ] {
        let opts = haconf::fmt::Options::default();
        let mut best = f64::MAX;
        for _ in 0..9 {
            let t = Instant::now();
            let out = haconf::fmt::format(text.as_bytes(), lang, &opts).expect("formats");
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
            assert!(!out.is_empty());
        }
        println!(
            "{name:<20} {:>5.2} MB   best {best:>6.1} ms   {:>5.0} MB/s",
            text.len() as f64 / 1e6,
            text.len() as f64 / 1e3 / best
        );
    }
    for (name, text) in [
        ("nginx.conf", nginx_text(52_000)),
        ("keepalived.conf", keepalived_text(52_000)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).expect("write");
        println!(
            "== {name}: {} lines, {:.2} MB",
            text.lines().count(),
            text.len() as f64 / 1e6
        );
        let p = path.clone();
        whole_process(
            &format!("haconf fmt --check {name} (unformatted)"),
            &mut || {
                let mut c = Command::new(&bin);
                c.args(["fmt", "--check"]).arg(&p);
                c
            },
            21,
        );
        let p = path.clone();
        let t = text.clone();
        whole_process(
            &format!("haconf fmt --no-backup {name} (rewrites it)"),
            &mut || {
                std::fs::write(&p, &t).expect("reset");
                let mut c = Command::new(&bin);
                c.args(["fmt", "--no-backup"]).arg(&p);
                c
            },
            21,
        );
        let p = path.clone();
        whole_process(
            &format!("haconf fmt --check {name} (already formatted)"),
            &mut || {
                let mut c = Command::new(&bin);
                c.args(["fmt", "--check"]).arg(&p);
                c
            },
            21,
        );
    }
}
