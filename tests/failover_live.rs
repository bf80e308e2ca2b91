//! Generated clusters fail over, for real: for each failover profile (and, for `default`, a
//! weighted check instead of FAULT), two network namespaces of the test's own joined by a veth pair run the
//! generated nginx and keepalived of ha1 and ha2. The test measures how long the VIP takes to
//! reach ha2 when ha1's nginx dies (its check fails) and when ha1's keepalived freezes (the
//! node dies), prints the figures (docs/generate.md quotes them), and fails when one exceeds
//! the bound docs/generate.md gives by more than a second.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Lab {
    ns: [String; 2],
    vip: String,
    _dir: tempfile::TempDir,
    nodes: [PathBuf; 2],
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.ns {
            let pids = Command::new("ip").args(["netns", "pids", ns]).output();
            if let Ok(o) = pids {
                for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", p]).output();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn in_ns(ns: &str, args: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

impl Lab {
    /// Two namespaces, one veth pair, the generated cluster with paths moved into the test's
    /// directory; nginx and keepalived started on both nodes.
    fn start(idx: u8, profile: &str, weight: Option<i32>) -> Lab {
        let id = format!("{}{idx}", std::process::id() % 100000);
        let ns = [format!("hfo{id}a"), format!("hfo{id}b")];
        let ifs = [format!("hfa{idx}"), format!("hfb{idx}")];
        let net = format!("10.98.{idx}");
        let dir = tempfile::tempdir().unwrap();
        for n in &ns {
            assert!(ip(&["netns", "add", n]), "netns add {n}");
        }
        let lab_ns = ns.clone();
        assert!(ip(&[
            "link", "add", &ifs[0], "netns", &ns[0], "type", "veth", "peer", "name", &ifs[1],
            "netns", &ns[1]
        ]));
        for k in 0..2 {
            assert!(ip(&[
                "-n",
                &ns[k],
                "addr",
                "add",
                &format!("{net}.{}/24", k + 1),
                "dev",
                &ifs[k]
            ]));
            assert!(ip(&["-n", &ns[k], "link", "set", &ifs[k], "up"]));
            assert!(ip(&["-n", &ns[k], "link", "set", "lo", "up"]));
        }
        let spec = format!(
            "[cluster]\nname = \"live{idx}\"\nfailover = \"{profile}\"\n\n[[node]]\nname = \"ha1\"\naddress = \"{net}.1\"\ninterface = \"{}\"\n\n[[node]]\nname = \"ha2\"\naddress = \"{net}.2\"\ninterface = \"{}\"\n\n[[instance]]\nvirtual_router_id = {}\nvips = [\"{net}.100/24\"]\n\n[nginx]\nlisten = 8080\n{}",
            ifs[0],
            ifs[1],
            80 + idx,
            weight.map_or(String::new(), |w| format!(
                "\n[health_check]\nweight = {w}\n"
            ))
        );
        std::fs::write(dir.path().join("haconf.toml"), spec).unwrap();
        let out = dir.path().join("out");
        let o = common::haconf()
            .arg("generate")
            .arg(dir.path().join("haconf.toml"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let nodes = [out.join("ha1"), out.join("ha2")];
        for (k, d) in nodes.iter().enumerate() {
            let s = d.display().to_string();
            // The files live in the test's directory, not in /etc, /run and /var/log.
            let ka = std::fs::read_to_string(d.join("keepalived.conf")).unwrap();
            std::fs::write(
                d.join("keepalived.conf"),
                ka.replace("/etc/keepalived/chk_nginx.sh", &format!("{s}/chk_nginx.sh")),
            )
            .unwrap();
            let ng = std::fs::read_to_string(d.join("nginx.conf")).unwrap();
            std::fs::write(
                d.join("nginx.conf"),
                ng.replace("pid /run/nginx.pid;", &format!("pid {s}/nginx.pid;"))
                    .replace("/var/log/nginx/", &format!("{s}/"))
                    .replace("include mime.types;", ""),
            )
            .unwrap();
            start_nginx(&ns[k], d);
            let o = in_ns(
                &ns[k],
                &[
                    "keepalived",
                    "-D",
                    "-f",
                    &format!("{s}/keepalived.conf"),
                    "-p",
                    &format!("{s}/k.pid"),
                    "-r",
                    &format!("{s}/v.pid"),
                    "-c",
                    &format!("{s}/c.pid"),
                    "-i",
                    if k == 0 { "ha1" } else { "ha2" },
                ],
            );
            assert!(
                o.status.success(),
                "keepalived: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Lab {
            ns: lab_ns,
            vip: format!("{net}.100"),
            _dir: dir,
            nodes,
        }
    }

    fn holds(&self, k: usize) -> bool {
        let o = Command::new("ip")
            .args(["-n", &self.ns[k], "-br", "addr"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).contains(&format!("{}/", self.vip))
    }

    /// Seconds until `cond` holds (panics after `limit`).
    fn until(&self, what: &str, limit: f64, cond: impl Fn(&Lab) -> bool) -> f64 {
        let t = Instant::now();
        while !cond(self) {
            assert!(
                t.elapsed().as_secs_f64() < limit,
                "{what}: not after {limit} s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        t.elapsed().as_secs_f64()
    }
}

fn start_nginx(ns: &str, d: &Path) {
    let o = in_ns(ns, &["nginx", "-c", &format!("{}/nginx.conf", d.display())]);
    assert!(
        o.status.success(),
        "nginx: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// (check failure, node death) in seconds.
fn measure(idx: u8, profile: &str, weight: Option<i32>) -> (f64, f64) {
    let lab = Lab::start(idx, profile, weight);
    lab.until("the VIP on ha1 at start", 30.0, |l| {
        l.holds(0) && !l.holds(1)
    });
    // ha1's nginx dies: its check fails.
    let pid = std::fs::read_to_string(lab.nodes[0].join("nginx.pid")).unwrap();
    let t = Instant::now();
    assert!(
        Command::new("kill")
            .arg(pid.trim())
            .status()
            .unwrap()
            .success()
    );
    lab.until("the VIP on ha2 after ha1's nginx died", 40.0, |l| {
        l.holds(1)
    });
    let check = t.elapsed().as_secs_f64();
    // nginx comes back; ha1 takes the VIP back (preemption).
    start_nginx(&lab.ns[0], &lab.nodes[0]);
    lab.until("the VIP back on ha1", 60.0, |l| l.holds(0) && !l.holds(1));
    std::thread::sleep(Duration::from_millis(500));
    // ha1 dies: its keepalived processes freeze at once, as a hung or powered-off node
    // does (a SIGKILL of the parent would let the VRRP child say goodbye: keepalived's
    // children get SIGTERM when the parent dies, and send priority 0).
    let pids: Vec<String> = ["k.pid", "v.pid", "c.pid"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(lab.nodes[0].join(p)).ok())
        .map(|p| p.trim().to_string())
        .collect();
    let t = Instant::now();
    let _ = Command::new("kill").arg("-STOP").args(&pids).status();
    lab.until("the VIP on ha2 after ha1 died", 40.0, |l| l.holds(1));
    (check, t.elapsed().as_secs_f64())
}

#[test]
fn generated_clusters_fail_over_within_their_profile() {
    let test = "generated_clusters_fail_over_within_their_profile";
    for tool in ["keepalived", "nginx", "curl"] {
        if !common::require_tool(test, tool, &["-v"]) {
            return;
        }
    }
    // Can we make namespaces at all?
    let Some(probe) = common::Netns::new(test, &[]) else {
        return;
    };
    drop(probe);
    // (profile, weight (None: derived, FAULT), bound for a failed check, bound for a dead
    // node), from docs/generate.md.
    let cases: [(&str, Option<i32>, f64, f64); 4] = [
        ("fast", None, 3.3, 1.6),
        ("default", None, 5.8, 3.3),
        ("default", Some(-20), 8.1, 3.3),
        ("conservative", None, 19.5, 6.5),
    ];
    let handles: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, &(p, w, _, _))| std::thread::spawn(move || measure(i as u8 + 1, p, w)))
        .collect();
    let mut report = Vec::new();
    let mut over = Vec::new();
    for (h, (p, w, bc, bd)) in handles.into_iter().zip(cases) {
        let (c, d) = h.join().expect("a lab failed");
        let name = match w {
            None => format!("{p} (FAULT)"),
            Some(w) => format!("{p} (weight {w})"),
        };
        report.push(format!(
            "{name:28} check fails: {c:5.2} s (bound {bc} s)   node dies: {d:5.2} s (bound {bd} s)"
        ));
        if c > bc + 1.0 || d > bd + 1.0 {
            over.push(name);
        }
    }
    eprintln!("failover, measured:\n{}", report.join("\n"));
    assert!(
        over.is_empty(),
        "slower than documented: {over:?}\n{}",
        report.join("\n")
    );
}
