//! `haconf pull` against real hosts made here (see `common/sshlab.rs`): network namespaces,
//! each running Debian's sshd with its own /etc/keepalived, /etc/nginx and scripts. Two-node
//! and three-node clusters, a host that is down, host keys that are wrong or unknown, a login
//! that is refused, a host too slow for `--timeout`, a FIFO and a huge file in a config tree,
//! a host without nginx; what only the hosts' facts can find, found with them and not
//! without; the live VIP holder against the model; `check ssh://`; `diff REPO LIVE`.

#[path = "common/sshlab.rs"]
mod sshlab;

use sshlab::{HostKey, HostSpec, Lab};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn host_status<'a>(report: &'a serde_json::Value, node: &str) -> &'a serde_json::Value {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["node"] == node)
        .unwrap_or_else(|| panic!("no {node} in {report}"))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// `(code, node, message)` of a check's JSON findings.
fn findings(o: &std::process::Output) -> Vec<(String, String, String)> {
    json(o)["diagnostics"]
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

fn instance(me: &str, peers: &[&str], prio: u8, iface: &str, vip: &str, notify: bool) -> String {
    let peers: String = peers.iter().map(|p| format!("        {p}\n")).collect();
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface {iface}\n    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n    unicast_src_ip {me}\n    unicast_peer {{\n{peers}    }}\n    authentication {{\n        auth_type PASS\n        auth_pass s3cr3t\n    }}\n    virtual_ipaddress {{\n        {vip}\n    }}\n    track_script {{\n        chk_nginx\n    }}\n{}}}\n",
        if notify {
            "    notify_master \"/usr/local/sbin/ha-notify.sh master\"\n"
        } else {
            ""
        }
    )
}

const MAIN: &str = "global_defs {\n    router_id NODE\n}\nvrrp_script chk_nginx {\n    script \"/etc/keepalived/chk_nginx.sh\"\n    interval 2\n    timeout 1\n    fall 2\n    rise 1\n}\ninclude /etc/keepalived/conf.d/*.conf\n";

const NGINX: &str = "user www-data;\nworker_processes 1;\nevents {\n    worker_connections 64;\n}\nhttp {\n    include mime.types;\n    include /etc/nginx/conf.d/*.conf;\n}\n";
const SITE: &str =
    "server {\n    listen 8080;\n    location / {\n        return 200 'ok';\n    }\n}\n";
const CHECK: &str = "#!/bin/sh\n# the VIP's service answers\nexit 0\n";
const NOTIFY: &str = "#!/bin/sh\nlogger \"ha: $1\"\n";

fn node(name: &str, ka_instance: String, check_mode: u32) -> HostSpec {
    HostSpec::new(name)
        .file(
            "/etc/keepalived/keepalived.conf",
            &MAIN.replace("NODE", name),
            0o600,
        )
        .file("/etc/keepalived/conf.d/vi_1.conf", &ka_instance, 0o600)
        .file("/etc/keepalived/chk_nginx.sh", CHECK, check_mode)
        .file("/usr/local/sbin/ha-notify.sh", NOTIFY, 0o755)
        .file("/etc/nginx/nginx.conf", NGINX, 0o644)
        .file("/etc/nginx/conf.d/site.conf", SITE, 0o644)
}

#[test]
fn a_two_node_cluster_with_keepalived_running() {
    let Some(mut lab) = Lab::new("a_two_node_cluster_with_keepalived_running") else {
        return;
    };
    let vip = "10.77.0.100/24";
    for (name, me, peer, prio) in [
        ("ha1", "10.77.0.10", "10.77.0.11", 150),
        ("ha2", "10.77.0.11", "10.77.0.10", 100),
    ] {
        let mut spec = node(name, instance(me, &[peer], prio, "eth0", vip, true), 0o755);
        spec.keepalived = true;
        spec.script_user = name == "ha2";
        lab.add(spec);
    }
    lab.wait("the VIP on ha1", Duration::from_secs(30), |l| {
        l.holds("ha1", "10.77.0.100") && !l.holds("ha2", "10.77.0.100")
    });
    let work = tempfile::tempdir().unwrap();
    let cfg = lab.ssh_config.to_str().unwrap().to_owned();
    let o = lab.haconf(
        work.path(),
        &[
            "pull", "-F", &cfg, "ha1", "ha2", "--out", "live", "--format", "json",
        ],
        LIMIT,
    );
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{report}");
    let live = work.path().join("live");
    for n in ["ha1", "ha2"] {
        assert_eq!(host_status(&report, n)["status"], "complete", "{report}");
        let d = live.join(n);
        // Secrets stay 0600; scripts keep their execute bit; the files sit where the host has
        // them.
        assert_eq!(mode(&d.join("etc/keepalived/keepalived.conf")), 0o600);
        assert_eq!(mode(&d.join("etc/keepalived/conf.d/vi_1.conf")), 0o600);
        assert_eq!(mode(&d.join("etc/keepalived/chk_nginx.sh")), 0o755);
        assert_eq!(
            std::fs::read_to_string(d.join("usr/local/sbin/ha-notify.sh")).unwrap(),
            NOTIFY
        );
        assert_eq!(
            std::fs::read_to_string(d.join("etc/nginx/conf.d/site.conf")).unwrap(),
            SITE
        );
        assert!(
            d.join("etc/nginx/mime.types").is_file(),
            "nginx -T gave its includes"
        );
        let facts: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("facts.json")).unwrap()).unwrap();
        assert_eq!(facts["hostname"], n);
        assert_eq!(facts["keepalived"]["version"], "2.2.7", "{facts}");
        assert!(
            !facts["keepalived"]["processes"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert_eq!(facts["nginx"]["installed"], true);
        assert_eq!(facts["keepalived_script_user"], n == "ha2");
        assert_eq!(
            facts["files"]["/etc/keepalived/keepalived.conf"]["mode"], "0600",
            "{facts}"
        );
        assert_eq!(facts["sysctl"]["net.ipv4.ip_nonlocal_bind"], "0");
        let eth0 = facts["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "eth0")
            .unwrap();
        let has_vip = eth0["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["address"] == "10.77.0.100");
        assert_eq!(has_vip, n == "ha1", "{eth0}");
    }
    // The VIP is where the model expects it: no CL021, and no false facts finding.
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--format",
            "json",
            "--select",
            "CL021,CL011,KA029,HC006,KA018",
        ];
        args.extend_from_slice(extra);
        lab.haconf(work.path(), &args, LIMIT)
    };
    let o = check(&["live"]);
    assert_eq!(
        findings(&o),
        vec![],
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // `check ssh://` pulls to a temporary directory and shows node-relative paths.
    let o = lab.haconf(
        work.path(),
        &[
            "check",
            "-F",
            &cfg,
            "--format",
            "concise",
            "ssh://ha1",
            "ssh://ha2",
        ],
        LIMIT,
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines().any(|l| l.starts_with("ha1/etc/keepalived/")),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.contains("/tmp/") && !out.contains("s3cr3t"), "{out}");
    // ha1's keepalived stops: the VIP moves to ha2, and the next pull says so.
    let o = lab.ssh("ha1", "kill $(cat /run/keepalived.pid)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lab.wait("the VIP on ha2", Duration::from_secs(30), |l| {
        l.holds("ha2", "10.77.0.100") && !l.holds("ha1", "10.77.0.100")
    });
    // The VIP moves as soon as keepalived sends its priority-0 advert; the process itself
    // exits a little later. The pull must see it gone.
    let gone =
        "p=$(cat /run/keepalived.pid 2>/dev/null); [ -z \"$p\" ] || ! kill -0 \"$p\" 2>/dev/null";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !lab.ssh("ha1", gone).status.success() {
        assert!(
            std::time::Instant::now() < deadline,
            "keepalived did not exit on ha1"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let o = lab.haconf(
        work.path(),
        &["pull", "-F", &cfg, "ha1", "ha2", "--out", "live"],
        LIMIT,
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "an earlier pull is not replaced silently"
    );
    let o = lab.haconf(
        work.path(),
        &[
            "pull", "-F", &cfg, "ha1", "ha2", "--out", "live", "--force", "-q",
        ],
        LIMIT,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = check(&["live"]);
    let f = findings(&o);
    assert!(
        f.iter().any(|(c, n, m)| c == "CL021"
            && n == "ha1"
            && m.contains("is on `ha2` right now")
            && m.contains("keepalived is not running on `ha1`")),
        "{f:?}"
    );
    // The repository's copy differs from what runs: diff shows it, secrets masked.
    let repo = work.path().join("repo");
    for n in ["ha1", "ha2"] {
        let d = repo.join(n);
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        std::fs::write(d.join("keepalived.conf"), MAIN.replace("NODE", n)).unwrap();
        let (me, peer, prio) = if n == "ha1" {
            ("10.77.0.10", "10.77.0.11", 150)
        } else {
            ("10.77.0.11", "10.77.0.10", 100)
        };
        std::fs::write(
            d.join("conf.d/vi_1.conf"),
            instance(me, &[peer], prio, "eth0", vip, true).replace("s3cr3t", "0ld-pass"),
        )
        .unwrap();
        std::fs::write(
            d.join("chk_nginx.sh"),
            CHECK.replace("exit 0", "curl -fs http://127.0.0.1:8080/"),
        )
        .unwrap();
        chmod(&d.join("chk_nginx.sh"), 0o755);
        std::fs::write(d.join("nginx.conf"), NGINX).unwrap();
    }
    let o = lab.haconf(work.path(), &["diff", "repo", "live"], LIMIT);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("+++ b/ha1/etc/keepalived/chk_nginx.sh"),
        "{text}"
    );
    assert!(
        text.contains("-curl -fs http://127.0.0.1:8080/\n+exit 0"),
        "{text}"
    );
    assert!(text.contains("auth_pass ********"), "{text}");
    assert!(
        !text.contains("s3cr3t") && !text.contains("0ld-pass"),
        "{text}"
    );
    assert!(
        text.contains("only in LIVE"),
        "site.conf is not in the repository: {text}"
    );
    let o = lab.haconf(work.path(), &["diff", "live", "live"], LIMIT);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_three_node_cluster_with_a_fifo_a_huge_file_and_no_nginx() {
    let Some(mut lab) = Lab::new("a_three_node_cluster_with_a_fifo_a_huge_file_and_no_nginx")
    else {
        return;
    };
    let ips = ["10.77.0.10", "10.77.0.11", "10.77.0.12"];
    // The VIP is written without a prefix (a /32): without the hosts' networks nothing can
    // tell that it is outside them.
    let vip = "10.99.0.100";
    let peers = |i: usize| -> Vec<&str> {
        ips.iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| *p)
            .collect()
    };
    // ha1: the check script lost its execute bit on the host.
    lab.add(node(
        "ha1",
        instance(ips[0], &peers(0), 150, "eth0", vip, false),
        0o644,
    ));
    // ha2: a FIFO in keepalived's include directory, a 100 MB file in nginx's.
    let mut ha2 = node(
        "ha2",
        instance(ips[1], &peers(1), 120, "eth0", vip, false),
        0o755,
    );
    ha2.fifos.push("/etc/keepalived/conf.d/zz-pipe.conf".into());
    ha2.huge
        .push(("/etc/nginx/conf.d/huge.conf".into(), 100 << 20));
    lab.add(ha2);
    // ha3: nginx is not installed (its config is), and its interface is not eth0.
    let mut ha3 = node(
        "ha3",
        instance(ips[2], &peers(2), 100, "ens9", vip, false),
        0o755,
    );
    ha3.nginx = false;
    ha3.script_user = true;
    lab.add(ha3);
    let work = tempfile::tempdir().unwrap();
    let cfg = lab.ssh_config.to_str().unwrap().to_owned();
    let o = lab.haconf(
        work.path(),
        &[
            "pull", "-F", &cfg, "ha1", "ha2", "ha3", "--out", "live", "--format", "json",
        ],
        LIMIT,
    );
    let report = json(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "files could not be read on ha2: {report}"
    );
    assert_eq!(
        host_status(&report, "ha1")["status"],
        "complete",
        "{report}"
    );
    assert_eq!(
        host_status(&report, "ha3")["status"],
        "complete",
        "{report}"
    );
    let ha2 = host_status(&report, "ha2");
    assert_eq!(ha2["status"], "partial");
    let problems = ha2["problems"].to_string();
    assert!(
        problems.contains("/etc/keepalived/conf.d/zz-pipe.conf: a FIFO"),
        "{problems}"
    );
    assert!(
        problems.contains("/etc/nginx/conf.d/huge.conf: larger than"),
        "{problems}"
    );
    assert!(
        ha2["notes"].to_string().contains("`nginx -T` not run"),
        "nginx would have opened the huge file: {ha2}"
    );
    let live = work.path().join("live");
    assert!(!live.join("ha2/etc/nginx/conf.d/huge.conf").exists());
    assert!(live.join("ha2/etc/nginx/conf.d/site.conf").is_file());
    // ha3 has no nginx binary: its include tree was read.
    let f3: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(live.join("ha3/facts.json")).unwrap())
            .unwrap();
    assert_eq!(f3["nginx"]["installed"], false);
    assert_eq!(f3["keepalived_script_user"], true);
    assert_eq!(
        std::fs::read_to_string(live.join("ha3/etc/nginx/conf.d/site.conf")).unwrap(),
        SITE
    );
    assert_eq!(mode(&live.join("ha1/etc/keepalived/chk_nginx.sh")), 0o644);

    // A copy whose modes say the opposite of the hosts' (as a checkout might): ha1's script
    // executable here, ha2's not.
    chmod(&live.join("ha1/etc/keepalived/chk_nginx.sh"), 0o755);
    chmod(&live.join("ha2/etc/keepalived/chk_nginx.sh"), 0o644);
    let check = |dir: &str| {
        let o = lab.haconf(
            work.path(),
            &[
                "check",
                "--format",
                "json",
                "--select",
                "CL011,KA029,HC006",
                dir,
            ],
            LIMIT,
        );
        findings(&o)
    };
    let with = check("live");
    let has = |f: &[(String, String, String)], code: &str, node: &str, text: &str| {
        f.iter()
            .any(|(c, n, m)| c == code && n == node && m.contains(text))
    };
    assert!(
        has(
            &with,
            "KA029",
            "ha3",
            "interface `ens9` does not exist on host `ha3`"
        ),
        "{with:?}"
    );
    for n in ["ha1", "ha2"] {
        assert!(!with.iter().any(|f| f.0 == "KA029" && f.1 == n), "{with:?}");
    }
    for n in ["ha1", "ha2"] {
        assert!(
            has(
                &with,
                "CL011",
                n,
                "VIP 10.99.0.100 is outside every subnet of `eth0`"
            ),
            "{with:?}"
        );
    }
    assert!(
        has(
            &with,
            "HC006",
            "ha1",
            "no execute bit on the host (mode 0644)"
        ),
        "{with:?}"
    );
    assert!(
        !with.iter().any(|f| f.0 == "HC006" && f.1 != "ha1"),
        "{with:?}"
    );

    // The same files without the facts: nothing to say about interfaces or subnets, and the
    // copy's modes decide, as before.
    let bare = work.path().join("bare");
    for n in ["ha1", "ha2", "ha3"] {
        copy_tree(&live.join(n), &bare.join(n));
        std::fs::remove_file(bare.join(n).join("facts.json")).unwrap();
    }
    let without = check("bare");
    assert!(
        !without.iter().any(|f| f.0 == "KA029" || f.0 == "CL011"),
        "{without:?}"
    );
    assert!(
        has(&without, "HC006", "ha2", "no execute bit:"),
        "{without:?}"
    );
    assert!(
        !without.iter().any(|f| f.0 == "HC006" && f.1 == "ha1"),
        "{without:?}"
    );
}

/// Copies files (with modes) and directories; nothing else exists in a pulled tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

#[test]
fn hosts_that_cannot_be_read_are_reported_each_and_the_others_come_back() {
    let Some(mut lab) =
        Lab::new("hosts_that_cannot_be_read_are_reported_each_and_the_others_come_back")
    else {
        return;
    };
    let inst = |me: &str| instance(me, &["10.77.0.99"], 100, "eth0", "10.77.0.100/24", false);
    lab.add(node("ha1", inst("10.77.0.10"), 0o755));
    let mut changed = node("changed", inst("10.77.0.11"), 0o755);
    changed.key = HostKey::Wrong;
    lab.add(changed);
    let mut fresh = node("fresh", inst("10.77.0.12"), 0o755);
    fresh.key = HostKey::Unknown;
    lab.add(fresh);
    let mut locked = node("locked", inst("10.77.0.13"), 0o755);
    locked.authorized = false;
    lab.add(locked);
    let mut slow = node("slow", inst("10.77.0.14"), 0o755);
    slow.delay_ms = 3000;
    lab.add(slow);
    lab.add_down("gone");
    let work = tempfile::tempdir().unwrap();
    let cfg = lab.ssh_config.to_str().unwrap().to_owned();
    let pull = |hosts: &[&str], extra: &[&str]| {
        let mut args = vec![
            "pull",
            "-F",
            cfg.as_str(),
            "--out",
            "live",
            "--format",
            "json",
            "--timeout",
            "2",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(hosts);
        let o = lab.haconf(work.path(), &args, LIMIT);
        (o.status.code(), json(&o))
    };
    let t = std::time::Instant::now();
    let (code, report) = pull(&["ha1", "changed", "fresh", "gone"], &[]);
    assert_eq!(code, Some(4), "a host key could not be verified: {report}");
    assert_eq!(
        host_status(&report, "ha1")["status"],
        "complete",
        "{report}"
    );
    assert_eq!(host_status(&report, "changed")["status"], "host-key");
    assert!(
        host_status(&report, "changed")["message"]
            .to_string()
            .contains("does not match")
    );
    assert_eq!(host_status(&report, "fresh")["status"], "host-key");
    assert!(
        host_status(&report, "fresh")["message"]
            .to_string()
            .contains("--accept-new-host-keys")
    );
    let gone = host_status(&report, "gone")["status"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(gone == "unreachable" || gone == "timeout", "{report}");
    assert!(
        work.path()
            .join("live/ha1/etc/keepalived/keepalived.conf")
            .is_file()
    );
    for n in ["changed", "fresh", "gone"] {
        assert!(
            !work.path().join("live").join(n).exists(),
            "{n} left a node behind"
        );
    }
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
    // A first contact may be trusted on request; a changed key never is.
    let (code, report) = pull(&["changed", "fresh"], &["--accept-new-host-keys"]);
    assert_eq!(code, Some(4), "{report}");
    assert_eq!(
        host_status(&report, "fresh")["status"],
        "complete",
        "{report}"
    );
    assert_eq!(
        host_status(&report, "changed")["status"],
        "host-key",
        "{report}"
    );
    // A refused login, and a host slower than --timeout.
    let (code, report) = pull(&["locked", "slow"], &[]);
    assert_eq!(code, Some(5), "{report}");
    assert_eq!(
        host_status(&report, "locked")["status"],
        "refused",
        "{report}"
    );
    assert_eq!(
        host_status(&report, "slow")["status"],
        "timeout",
        "{report}"
    );
    // Nothing is left behind: no staging directory in --out, no ssh control directory.
    let leftovers: Vec<_> = std::fs::read_dir(work.path().join("live"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
