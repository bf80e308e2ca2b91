//! `cargo bench --bench parse`: parse throughput on large generated files, and the
//! whole-process time of `haconf check examples/seed-cluster` beside `keepalived -t` on one
//! of its files. Figures go in BENCHMARKS.md. A plain harness (no criterion): the numbers
//! that matter are MB/s and whole-process milliseconds, which this prints directly.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::Command;
use std::time::{Duration, Instant};

fn keepalived_text(target: usize) -> String {
    let mut s = String::from("global_defs {\n    router_id bench\n    enable_script_security\n}\n");
    let mut i = 0usize;
    while s.len() < target {
        s.push_str(&format!(
            "vrrp_script chk_{i} {{\n    script \"/usr/local/bin/chk --port {i}\"   # probe\n    interval 2\n    timeout 1\n    weight -20\n    fall 2\n    rise 1\n}}\n\
vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    priority 100\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass s3cret\n    }}\n    unicast_src_ip 10.0.0.1\n    unicast_peer {{\n        10.0.0.2\n        10.0.0.3\n    }}\n    virtual_ipaddress {{\n        10.1.{}.{}/24 dev eth0 label eth0:{}\n    }}\n    track_script {{\n        chk_{i} weight -30\n    }}\n}}\n",
            i % 255 + 1,
            (i / 250) % 250,
            i % 250 + 1,
            i % 100
        ));
        i += 1;
    }
    s
}

fn nginx_text(target: usize) -> String {
    let mut s = String::from(
        "user nginx;\nworker_processes auto;\nevents {\n    worker_connections 1024;\n}\nhttp {\n    include mime.types;\n    log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n                    '$status $body_bytes_sent';\n",
    );
    let mut i = 0usize;
    while s.len() < target {
        s.push_str(&format!(
            "    upstream app_{i} {{\n        server 10.0.0.{}:8080 max_fails=3 fail_timeout=10s;\n        server 10.0.1.{}:8080 backup;\n    }}\n\
    server {{\n        listen 80;\n        server_name app{i}.example.com;  # site {i}\n        location / {{\n            proxy_pass http://app_{i};\n            proxy_set_header Host $host;\n            if ($http_x_block) {{\n                return 403;\n            }}\n        }}\n        location ~* \\.(png|css)$ {{\n            root /srv/www/{i};\n            expires 7d;\n        }}\n    }}\n",
            i % 250 + 1,
            i % 250 + 1
        ));
        i += 1;
    }
    s.push_str("}\n");
    s
}

fn throughput(name: &str, text: &str, parse: &dyn Fn(&str) -> usize) {
    let mb = text.len() as f64 / 1e6;
    // Warm up, then take the best of several runs (the least disturbed one).
    parse(text);
    let mut best = Duration::MAX;
    for _ in 0..7 {
        let t = Instant::now();
        let n = parse(text);
        best = best.min(t.elapsed());
        assert!(n > 0);
    }
    println!(
        "{name:<28} {mb:>7.1} MB   best {:>7.1} ms   {:>7.0} MB/s",
        best.as_secs_f64() * 1e3,
        mb / best.as_secs_f64()
    );
}

fn whole_process(name: &str, cmd: &[&str], runs: usize) -> Option<f64> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let st = Command::new(cmd[0]).args(&cmd[1..]).output().ok()?;
        let _ = st;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    println!(
        "{name:<44} median {median:>6.2} ms   min {:>6.2} ms   ({runs} runs)",
        times[0]
    );
    Some(median)
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        return; // `cargo test --benches` only checks that it builds.
    }
    println!("== parse throughput (one core)");
    let ka = keepalived_text(50_000_000);
    throughput("keepalived.conf, lex only", &ka, &|t| {
        haconf::syntax::keepalived::lex(t).0.len()
    });
    throughput("keepalived.conf, lex+parse", &ka, &|t| {
        haconf::syntax::keepalived::parse(t).tokens.len()
    });
    let ng = nginx_text(50_000_000);
    throughput("nginx.conf, lex only", &ng, &|t| {
        haconf::syntax::nginx::lex(t).0.len()
    });
    throughput("nginx.conf, lex+parse", &ng, &|t| {
        haconf::syntax::nginx::parse(t).tokens.len()
    });

    println!("\n== whole process");
    let root = env!("CARGO_MANIFEST_DIR");
    let bin = format!("{root}/target/release/haconf");
    let seed = format!("{root}/examples/seed-cluster");
    let ka_file = format!("{seed}/ha1/keepalived.conf");
    if !std::path::Path::new(&bin).exists() {
        println!("(build the release binary first: cargo build --release)");
        return;
    }
    let ours = whole_process(
        "haconf check examples/seed-cluster",
        &[&bin, "check", &seed],
        200,
    );
    let theirs = whole_process(
        "keepalived -t -f examples/seed-cluster/ha1/keepalived.conf",
        &["keepalived", "-t", "-f", &ka_file],
        200,
    );
    match (ours, theirs) {
        (Some(a), Some(b)) => println!(
            "haconf checks the whole cluster in {:.0}% of the time keepalived -t takes for one file",
            100.0 * a / b
        ),
        (_, None) => println!("(keepalived not installed: no comparison)"),
        _ => {}
    }
}
