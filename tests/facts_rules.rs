//! Checks that use a host's facts (`facts.json`, written by `haconf pull`): what only the
//! facts can find is found with them and not without; where the facts contradict a guess, the
//! facts win; and without facts every rule says what it said before.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn facts(iface: &str, addrs: &[(&str, u8)], extra: &str) -> String {
    let a: Vec<String> = addrs
        .iter()
        .map(|(ip, p)| format!(r#"{{"address": "{ip}", "prefix": {p}}}"#))
        .collect();
    format!(
        r#"{{"version": 1, "hostname": "h", "collected_at": 1000, "interfaces": [{{"name": "lo", "addresses": [{{"address": "127.0.0.1", "prefix": 8, "scope": "host"}}]}}, {{"name": "{iface}", "addresses": [{}]}}]{extra}}}"#,
        a.join(", ")
    )
}

fn ka(iface: &str, me: &str, peer: &str, prio: u8, vip: &str, more: &str) -> String {
    format!(
        "global_defs {{\n    router_id r{prio}\n}}\nvrrp_script chk {{\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface {iface}\n    virtual_router_id 51\n    priority {prio}\n    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n    virtual_ipaddress {{\n        {vip}\n    }}\n    track_script {{\n        chk\n    }}\n{more}}}\n"
    )
}

const CHECK: &str = "#!/bin/sh\nexec curl -fs -o /dev/null --max-time 1 http://127.0.0.1/\n";

struct Node<'a> {
    name: &'a str,
    conf: String,
    facts: Option<String>,
    check_mode: u32,
}

fn cluster(dir: &Path, nodes: &[Node]) {
    for n in nodes {
        let d = dir.join(n.name).join("etc/keepalived");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("keepalived.conf"), &n.conf).unwrap();
        std::fs::write(d.join("chk.sh"), CHECK).unwrap();
        std::fs::set_permissions(
            d.join("chk.sh"),
            std::fs::Permissions::from_mode(n.check_mode),
        )
        .unwrap();
        if let Some(f) = &n.facts {
            std::fs::write(dir.join(n.name).join("facts.json"), f).unwrap();
        }
    }
}

/// `(code, node, message)` for the selected codes.
fn check(dir: &Path, select: &str) -> Vec<(String, String, String)> {
    let o = common::haconf()
        .args(["check", "--format", "json", "--no-spec", "--select", select])
        .arg(dir)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stderr));
    });
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["node"].as_str().unwrap_or("").to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(
    vip: &str,
    iface2: &str,
    f1: Option<String>,
    f2: Option<String>,
    modes: (u32, u32),
) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    cluster(
        d.path(),
        &[
            Node {
                name: "ha1",
                conf: ka("eth0", "10.0.0.1", "10.0.0.2", 150, vip, ""),
                facts: f1,
                check_mode: modes.0,
            },
            Node {
                name: "ha2",
                conf: ka(iface2, "10.0.0.2", "10.0.0.1", 100, vip, ""),
                facts: f2,
                check_mode: modes.1,
            },
        ],
    );
    d
}

#[test]
fn a_vip_outside_the_real_subnets_is_found_only_with_facts() {
    let f = |a: &str| Some(facts("eth0", &[(a, 24)], ""));
    // Written without a prefix: no guess is possible without the hosts.
    let d = pair(
        "10.9.9.100",
        "eth0",
        f("10.0.0.1"),
        f("10.0.0.2"),
        (0o755, 0o755),
    );
    let with = check(d.path(), "CL011");
    assert_eq!(with.len(), 2, "{with:?}");
    assert!(
        with[0].2.contains("outside every subnet of `eth0`"),
        "{with:?}"
    );
    let d = pair("10.9.9.100", "eth0", None, None, (0o755, 0o755));
    assert!(check(d.path(), "CL011").is_empty());
    // Inside the real subnet: nothing, with or without.
    let d = pair(
        "10.0.0.100",
        "eth0",
        f("10.0.0.1"),
        f("10.0.0.2"),
        (0o755, 0o755),
    );
    assert!(check(d.path(), "CL011").is_empty());
    // The guess from the VIP's own prefix says "outside" (the nodes' addresses are in
    // 10.0.0.0/24); the hosts say eth0 also has 10.5.0.0/24: the facts win.
    let d = pair("10.5.0.100/24", "eth0", None, None, (0o755, 0o755));
    assert_eq!(
        check(d.path(), "CL011").len(),
        2,
        "the guess, without facts"
    );
    let two = |a: &str, b: &str| Some(facts("eth0", &[(a, 24), (b, 24)], ""));
    let d = pair(
        "10.5.0.100/24",
        "eth0",
        two("10.0.0.1", "10.5.0.1"),
        two("10.0.0.2", "10.5.0.2"),
        (0o755, 0o755),
    );
    assert!(check(d.path(), "CL011").is_empty());
    // A VIP held now (added as /24) does not vouch for its own network.
    let d = pair(
        "10.9.9.100/24",
        "eth0",
        two("10.0.0.1", "10.9.9.100"),
        f("10.0.0.2"),
        (0o755, 0o755),
    );
    assert_eq!(check(d.path(), "CL011").len(), 2);
}

#[test]
fn a_missing_interface_is_found_only_with_facts() {
    let f = |a: &str| Some(facts("eth0", &[(a, 24)], ""));
    let d = pair(
        "10.0.0.100/24",
        "ens9",
        f("10.0.0.1"),
        f("10.0.0.2"),
        (0o755, 0o755),
    );
    let with = check(d.path(), "KA029");
    assert_eq!(with.len(), 1, "{with:?}");
    assert_eq!(with[0].1, "ha2");
    assert!(
        with[0]
            .2
            .contains("`ens9` does not exist on host `h` (it has eth0, lo)")
    );
    let d = pair("10.0.0.100/24", "ens9", None, None, (0o755, 0o755));
    assert!(check(d.path(), "KA029").is_empty());
    // An alternative name counts.
    let alt = Some(facts("enp0s9", &[("10.0.0.2", 24)], "").replace(
        r#""name": "enp0s9""#,
        r#""name": "enp0s9", "altnames": ["ens9"]"#,
    ));
    let d = pair("10.0.0.100/24", "ens9", f("10.0.0.1"), alt, (0o755, 0o755));
    assert!(check(d.path(), "KA029").is_empty());
}

#[test]
fn the_hosts_execute_bit_wins_over_the_copys() {
    let f = |a: &str, mode: &str| {
        Some(facts(
            "eth0",
            &[(a, 24)],
            &format!(
                r#", "files": {{"/etc/keepalived/chk.sh": {{"kind": "file", "mode": "{mode}"}}}}"#
            ),
        ))
    };
    // ha1's copy is executable but the host's is not; ha2 the other way round.
    let d = pair(
        "10.0.0.100/24",
        "eth0",
        f("10.0.0.1", "0644"),
        f("10.0.0.2", "0755"),
        (0o755, 0o644),
    );
    let with = check(d.path(), "HC006");
    assert_eq!(with.len(), 1, "{with:?}");
    assert_eq!(with[0].1, "ha1");
    assert!(with[0].2.contains("on the host (mode 0644)"), "{with:?}");
    // Without facts, the copy decides, as always.
    let d = pair("10.0.0.100/24", "eth0", None, None, (0o755, 0o644));
    let without = check(d.path(), "HC006");
    assert_eq!(without.len(), 1, "{without:?}");
    assert_eq!(without[0].1, "ha2");
}

#[test]
fn programs_are_judged_by_what_the_host_has() {
    let notify = "    notify_master \"/usr/bin/ha-notify master\"\n    notify_backup \"/usr/local/bin/ha-backup\"\n";
    let d = tempfile::tempdir().unwrap();
    let files = r#", "files": {"/etc/keepalived/chk.sh": {"kind": "file", "mode": "0755"}, "/usr/bin/ha-notify": {"kind": "missing"}, "/usr/local/bin/ha-backup": {"kind": "file", "mode": "0755", "not_read": "a binary program"}}"#;
    cluster(
        d.path(),
        &[Node {
            name: "ha1",
            conf: ka("eth0", "10.0.0.1", "10.0.0.2", 150, "10.0.0.100/24", notify),
            facts: Some(facts("eth0", &[("10.0.0.1", 24)], files)),
            check_mode: 0o755,
        }],
    );
    let with = check(d.path(), "KA018");
    // /usr/bin is not assumed present when the host says it is not; the binary the pull did
    // not copy is there, executable.
    assert_eq!(with.len(), 1, "{with:?}");
    assert!(
        with[0]
            .2
            .contains("`/usr/bin/ha-notify` does not exist on host `h`")
    );
    std::fs::remove_file(d.path().join("ha1/facts.json")).unwrap();
    let without = check(d.path(), "KA018");
    assert_eq!(without.len(), 1, "{without:?}");
    assert!(
        without[0].2.contains("/usr/local/bin/ha-backup"),
        "{without:?}"
    );
}

#[test]
fn the_live_vip_holder_against_the_model() {
    let f = |addrs: &[(&str, u8)], running: bool, at: u64| {
        Some(
            facts(
                "eth0",
                addrs,
                &format!(
                    r#", "keepalived": {{"installed": true, "processes": [{}]}}"#,
                    if running {
                        r#"{"pid": 1, "args": "keepalived"}"#
                    } else {
                        ""
                    }
                ),
            )
            .replace("\"collected_at\": 1000", &format!("\"collected_at\": {at}")),
        )
    };
    let vip = "10.0.0.100/24";
    fn held(n: &str) -> Vec<(&str, u8)> {
        vec![(n, 24), ("10.0.0.100", 24)]
    }
    // On ha2, keepalived down on ha1.
    let d = pair(
        vip,
        "eth0",
        f(&[("10.0.0.1", 24)], false, 1000),
        f(&held("10.0.0.2"), true, 1000),
        (0o755, 0o755),
    );
    let r = check(d.path(), "CL021");
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].2.contains("is on `ha2` right now")
            && r[0].2.contains("keepalived is not running on `ha1`"),
        "{r:?}"
    );
    // Where the model says: nothing.
    let d = pair(
        vip,
        "eth0",
        f(&held("10.0.0.1"), true, 1000),
        f(&[("10.0.0.2", 24)], true, 1000),
        (0o755, 0o755),
    );
    assert!(check(d.path(), "CL021").is_empty());
    // On both: split brain, an error.
    let d = pair(
        vip,
        "eth0",
        f(&held("10.0.0.1"), true, 1000),
        f(&held("10.0.0.2"), true, 1000),
        (0o755, 0o755),
    );
    let o = common::haconf()
        .args(["check", "--format", "json", "--select", "CL021"])
        .arg(d.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["severity"], "error", "{v}");
    assert!(
        v["diagnostics"][0]["message"]
            .as_str()
            .unwrap()
            .contains("split brain")
    );
    // On none.
    let d = pair(
        vip,
        "eth0",
        f(&[("10.0.0.1", 24)], true, 1000),
        f(&[("10.0.0.2", 24)], true, 1000),
        (0o755, 0o755),
    );
    assert!(
        check(d.path(), "CL021")[0]
            .2
            .contains("no node holds VIP 10.0.0.100")
    );
    // Facts ten minutes apart are not one moment; one node without facts says nothing.
    let d = pair(
        vip,
        "eth0",
        f(&[("10.0.0.1", 24)], false, 1000),
        f(&held("10.0.0.2"), true, 1600),
        (0o755, 0o755),
    );
    assert!(check(d.path(), "CL021").is_empty());
    let d = pair(
        vip,
        "eth0",
        None,
        f(&held("10.0.0.2"), true, 1000),
        (0o755, 0o755),
    );
    assert!(check(d.path(), "CL021").is_empty());
    // nopreempt on the expected holder: the VIP stays where a failover put it, by design.
    let d = tempfile::tempdir().unwrap();
    cluster(
        d.path(),
        &[
            Node {
                name: "ha1",
                conf: ka("eth0", "10.0.0.1", "10.0.0.2", 150, vip, "    nopreempt\n"),
                facts: f(&[("10.0.0.1", 24)], true, 1000),
                check_mode: 0o755,
            },
            Node {
                name: "ha2",
                conf: ka("eth0", "10.0.0.2", "10.0.0.1", 100, vip, ""),
                facts: f(&held("10.0.0.2"), true, 1000),
                check_mode: 0o755,
            },
        ],
    );
    assert!(check(d.path(), "CL021").is_empty());
}

#[test]
fn a_broken_facts_file_is_an_input_error_with_its_position() {
    let d = pair(
        "10.0.0.100/24",
        "eth0",
        Some("{\n  \"version\": 1,\n  oops\n}".into()),
        None,
        (0o755, 0o755),
    );
    let o = common::haconf()
        .arg("check")
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("facts.json:3:3"), "{err}");
}
