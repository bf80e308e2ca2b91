//! Generated clusters fail over, for real: for each failover profile (and, for `default`, a
//! weighted check instead of FAULT), `haconf generate` writes a two-node cluster and
//! `haconf lab` runs it (each node in namespaces of its own, real nginx and keepalived, a
//! client asking the VIP). The test reads how long the VIP takes to answer from ha2 when ha1's
//! nginx dies (its check fails) and when ha1 crashes, prints the figures (docs/generate.md
//! and BENCHMARKS.md quote them), fails when one exceeds the bound docs/generate.md gives by
//! more than a second, and fails when the lab finds the failover model wrong.

mod common;

use serde_json::Value;

/// Generates the profile's cluster and runs two lab scenarios on it; (check fails, node dies)
/// in seconds.
fn measure(idx: u8, profile: &str, weight: Option<i32>) -> (f64, f64) {
    let tmp = tempfile::tempdir().unwrap();
    // A directory of its own: generate reads the spec directory's siblings (the fleet).
    let dir = tmp.path().join("spec");
    std::fs::create_dir(&dir).unwrap();
    let net = format!("10.98.{idx}");
    let spec = format!(
        "[cluster]\nname = \"live{idx}\"\nfailover = \"{profile}\"\ninterface = \"eth0\"\n\n[[node]]\nname = \"ha1\"\naddress = \"{net}.1\"\n\n[[node]]\nname = \"ha2\"\naddress = \"{net}.2\"\n\n[[instance]]\nvirtual_router_id = {}\nvips = [\"{net}.100/24\"]\n\n[nginx]\nlisten = 8080\n{}",
        80 + idx,
        weight.map_or(String::new(), |w| format!(
            "\n[health_check]\nweight = {w}\n"
        ))
    );
    std::fs::write(dir.join("haconf.toml"), spec).unwrap();
    let out = dir.join("out");
    let o = common::haconf()
        .arg("generate")
        .arg(dir.join("haconf.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = common::haconf()
        .arg("lab")
        .arg(&out)
        .args(["--scenario", "nginx-dies,node-crash", "--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{profile}: {e}\n{err}"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{profile}: the model disagrees:\n{err}\n{v:#}"
    );
    let took = |name: &str| {
        let s = v["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap();
        let i = &s["instances"][0];
        assert_eq!(i["observed"][0], "ha2", "{profile} {name}: {i:#}");
        i["takeover_seconds"]
            .as_f64()
            .unwrap_or_else(|| panic!("{profile} {name}: no takeover: {i:#}"))
    };
    (took("nginx-dies"), took("node-crash"))
}

#[test]
#[cfg_attr(
    not(all(haconf_has_keepalived, haconf_has_nginx, haconf_has_netns)),
    ignore = "needs keepalived, nginx, root with ip and unshare (network namespaces)"
)]
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
    let mut report = Vec::new();
    let mut over = Vec::new();
    // One lab at a time: each runs its two scenarios at once, and timings are the point.
    for (i, (p, w, bc, bd)) in cases.into_iter().enumerate() {
        // A loaded machine can delay a check past its window: one retry, never more.
        let (c, d) = std::panic::catch_unwind(|| measure(i as u8 + 1, p, w)).unwrap_or_else(|_| {
            eprintln!("{p}: retrying once");
            measure(i as u8 + 1, p, w)
        });
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
