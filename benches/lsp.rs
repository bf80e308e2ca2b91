//! Time from `didChange` to `publishDiagnostics` in `haconf lsp`, on a 10,000-line
//! keepalived.conf and a 10,000-line nginx.conf (each in a two-node cluster), with the real
//! binary over stdio. `cargo bench --bench lsp`; the numbers go in BENCHMARKS.md.

#[path = "../tests/common/lsp_client.rs"]
mod lsp_client;

use lsp_client::{Client, uri};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

fn keepalived_10k() -> String {
    let mut s = String::from(
        "global_defs {\n    router_id ha1\n    enable_script_security\n    script_user root\n}\n",
    );
    let mut k = 0;
    while s.lines().count() < 10_000 {
        k += 1;
        s.push_str(&format!(
            "vrrp_instance VI_{k} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {}\n    priority 100\n    advert_int 1\n    unicast_src_ip 10.0.{}.{}\n    unicast_peer {{\n        10.0.{}.{}\n    }}\n    authentication {{\n        auth_type PASS\n        auth_pass secret{}\n    }}\n    virtual_ipaddress {{\n        10.1.{}.{}/24\n    }}\n}}\n",
            k % 255 + 1,
            k / 250,
            k % 250 + 1,
            k / 250,
            k % 250 + 2,
            k % 100,
            k / 250,
            k % 250 + 1
        ));
    }
    s
}

fn nginx_10k() -> String {
    let mut s = String::from(
        "user www-data;\nworker_processes auto;\nevents {\n    worker_connections 1024;\n}\nhttp {\n    include mime.types;\n",
    );
    let mut k = 0;
    while s.lines().count() < 10_000 {
        k += 1;
        s.push_str(&format!(
            "    server {{\n        listen 80;\n        server_name site{k}.example.com;\n        location / {{\n            proxy_pass http://10.0.0.{}:8080;\n            proxy_set_header Host $host;\n        }}\n    }}\n",
            k % 250 + 1
        ));
    }
    s.push_str("}\n");
    s
}

fn measure(name: &str, cluster: &Path, file: &Path, text: &str, bin: &str) {
    let mut lsp = Client::start(bin);
    lsp.initialize(cluster);
    let u = uri(file);
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "conf", "version": 1, "text": text}}),
    );
    lsp.diagnostics(&u);
    let mut times = Vec::new();
    // A change on one line, as an editor sends it (incremental sync): the first `1` of the
    // first line that has one (router_id ha1, worker_connections 1024) toggled with `2`.
    let (line, col) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find('1').map(|c| (i, c)))
        .unwrap_or((0, 0));
    for v in 0..40 {
        let t = Instant::now();
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": u, "version": v + 2}, "contentChanges": [{
                "range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 1}},
                "text": if v % 2 == 0 { "2" } else { "1" }
            }]}),
        );
        lsp.diagnostics(&u);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        lsp.seen.clear();
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p95 = times[times.len() * 95 / 100];
    println!(
        "{name}: {} lines, didChange -> publishDiagnostics: median {median:.1} ms, p95 {p95:.1} ms, max {:.1} ms ({} runs)",
        text.lines().count(),
        times[times.len() - 1],
        times.len()
    );
    let _ = lsp.shutdown();
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_haconf");
    let tmp = std::env::temp_dir().join(format!("haconf-bench-lsp-{}", std::process::id()));
    let c = tmp.join("cluster");
    for n in ["ha1", "ha2"] {
        std::fs::create_dir_all(c.join(n)).unwrap();
        std::fs::write(
            c.join(n).join("keepalived.conf"),
            "global_defs {\n    router_id x\n}\n",
        )
        .unwrap();
    }
    let ka = keepalived_10k();
    std::fs::write(c.join("ha1/keepalived.conf"), &ka).unwrap();
    measure(
        "keepalived.conf",
        &c,
        &c.join("ha1/keepalived.conf"),
        &ka,
        bin,
    );
    let ng = nginx_10k();
    std::fs::write(c.join("ha1/nginx.conf"), &ng).unwrap();
    measure("nginx.conf", &c, &c.join("ha1/nginx.conf"), &ng, bin);
    let _ = std::fs::remove_dir_all(&tmp);
}
