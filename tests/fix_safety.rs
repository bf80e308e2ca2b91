//! The promise of a safe fix, case by case, on the real binary: each case here is one where a
//! fix marked safe used to break a valid file, or where a finding misjudged what nginx does.
//! (The corpus-wide proof is tests/fix_differential.rs.)

mod common;

use common::haconf;
use std::path::Path;
use std::process::Command;

fn run(args: &[&str], path: &Path) -> (i32, String, String) {
    let o = haconf().args(args).arg(path).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The findings of `haconf check --format json`: (code, severity, message, has a fix).
fn findings(path: &Path) -> Vec<(String, String, String)> {
    let (_, out, err) = run(&["check", "--format", "json"], path);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["severity"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `nginx -t` on `conf` (None when nginx is not installed: the caller skips).
fn nginx_t(test: &str, conf: &Path) -> Option<(bool, String)> {
    if !common::require_tool(test, "nginx", &["-v"]) {
        return None;
    }
    let dir = conf.parent().unwrap();
    let o = Command::new("nginx")
        .args(["-t", "-e", "stderr", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .output()
        .unwrap();
    Some((
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    ))
}

const ACCESS_LOG: &str = "events {}\nhttp {\n    log_format test '$remote_addr';\n    access_log /tmp/haconf-fix-safety-test.log test\n        gzip buffer=1m flush=100ms;\n    server {\n        listen 127.0.0.1:8080;\n    }\n}\n";

#[test]
fn arguments_continued_on_the_next_line_get_no_fix_that_breaks_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, ACCESS_LOG).unwrap();
    // nginx reads `gzip buffer=1m flush=100ms` as parameters of access_log, and so does haconf.
    let f = findings(&conf);
    assert!(!f.iter().any(|d| d.0 == "NX013"), "{f:?}");
    let (code, out, err) = run(&["fix", "--diff"], &conf);
    assert!(!out.contains("+    access_log"), "{out}\n{err}");
    assert_eq!(code, 0, "{out}\n{err}");
    // The corrected copy still passes nginx -t.
    let copy = dir.path().join("out");
    let (code, _, err) = run(&["fix", "--out", copy.to_str().unwrap()], &conf);
    assert_eq!(code, 0, "{err}");
    let fixed = copy.join("nginx.conf");
    let fixed = if fixed.exists() { fixed } else { conf.clone() };
    if let Some((ok, text)) = nginx_t(
        "arguments_continued_on_the_next_line_get_no_fix_that_breaks_nginx",
        &fixed,
    ) {
        assert!(ok, "{text}");
    }
}

#[test]
fn a_missing_semicolon_nginx_rejects_is_an_error_with_a_fix_that_passes() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080;\n        root /srv\n        index index.html;\n    }\n}\n",
    )
    .unwrap();
    let f = findings(&conf);
    let nx013: Vec<_> = f.iter().filter(|d| d.0 == "NX013").collect();
    assert_eq!(nx013.len(), 1, "{f:?}");
    assert_eq!(nx013[0].1, "error", "{f:?}");
    if let Some((ok, _)) = nginx_t(
        "a_missing_semicolon_nginx_rejects_is_an_error_with_a_fix_that_passes",
        &conf,
    ) {
        assert!(!ok, "nginx rejects the original");
    }
    let (code, _, err) = run(&["fix", "--write", "--no-backup"], &conf);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("root /srv;\n"), "{text}");
    if let Some((ok, out)) = nginx_t(
        "a_missing_semicolon_nginx_rejects_is_an_error_with_a_fix_that_passes",
        &conf,
    ) {
        assert!(ok, "{out}");
    }
}

#[test]
fn a_keyword_glued_to_its_argument_is_split_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "events {}\nhttp {\n    server {\n        listen80;\n    }\n}\n",
    )
    .unwrap();
    let (code, out, err) = run(&["fix", "--diff"], &conf);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("+        listen 80;"), "{out}");
    assert!(!out.contains("+        listen;"), "{out}");
    // The hunk says which rule changed it.
    assert!(
        out.lines()
            .any(|l| l.starts_with("@@") && l.ends_with(" NX002")),
        "{out}"
    );
    let (code, _, err) = run(&["fix", "--write", "--no-backup"], &conf);
    assert_eq!(code, 0, "{err}");
    let f = findings(&conf);
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn a_safe_fix_that_adds_a_finding_as_bad_is_rejected_and_said() {
    // `proxy_passs` is one letter from `proxy_pass`, but `proxy_pass` is not allowed in
    // `server`: the rename would trade an unknown directive for a misplaced one.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    let text = "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8080;\n        proxy_passs http://127.0.0.1:9000;\n    }\n}\n";
    std::fs::write(&conf, text).unwrap();
    let (code, out, err) = run(&["fix", "--diff"], &conf);
    assert!(!out.contains("+        proxy_pass "), "{out}");
    assert!(
        err.contains("rejected the safe NX002 fix") && err.contains("NX003"),
        "{err}"
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, _, _) = run(&["fix", "--write", "--no-backup"], &conf);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}

/// A vrrp_script naming `chk` in the node.
fn script_cluster(dir: &Path, script: &[u8], mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let c = dir.join("c");
    for node in ["ha1", "ha2"] {
        let n = c.join(node);
        std::fs::create_dir_all(&n).unwrap();
        std::fs::write(
            n.join("keepalived.conf"),
            format!(
                "global_defs {{\n    router_id {node}\n    enable_script_security\n    script_user root\n}}\nvrrp_script chk {{\n    script \"/etc/keepalived/chk\"\n    interval 2\n    timeout 1\n}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority {}\n    virtual_ipaddress {{\n        192.168.1.10/24\n    }}\n    track_script {{\n        chk\n    }}\n}}\n",
                if node == "ha1" { 150 } else { 100 }
            ),
        )
        .unwrap();
        std::fs::write(n.join("chk"), script).unwrap();
        std::fs::set_permissions(n.join("chk"), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    c
}

#[test]
fn a_compiled_check_program_is_never_edited() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.extend(std::iter::repeat_n(0u8, 200));
    let c = script_cluster(dir.path(), &elf, 0o644);
    let (_, out, err) = run(&["fix", "--diff", "--unsafe"], &c);
    assert!(!out.contains("chk"), "{out}\n{err}");
    // No claim that it needs a `#!`: the kernel runs a compiled program as it is.
    let (_, human, _) = run(&["check", "--select", "HC006"], &c);
    assert!(!human.contains("no `#!` line"), "{human}");
    let (code, _, err) = run(&["fix", "--write", "--unsafe", "--no-backup"], &c);
    assert!(code == 0 || code == 1, "{err}");
    for node in ["ha1", "ha2"] {
        let p = c.join(node).join("chk");
        assert_eq!(
            std::fs::read(&p).unwrap(),
            elf,
            "{node}: the program was edited"
        );
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644, "{node}: its mode was changed");
    }
    // A text script in the same place is still fixed (the guard is about text, not scripts).
    let dir2 = tempfile::tempdir().unwrap();
    let c2 = script_cluster(dir2.path(), b"pidof nginx\n", 0o755);
    let (_, out, _) = run(&["fix", "--diff"], &c2);
    assert!(out.contains("+#!/bin/sh"), "{out}");
}

fn nginx_root_cluster(
    dir: &Path,
    layout_etc: bool,
    os_release: Option<&str>,
) -> std::path::PathBuf {
    let c = dir.join("c");
    for node in ["ha1", "ha2"] {
        let base = c.join(node);
        let (ng, ka) = if layout_etc {
            (base.join("etc/nginx"), base.join("etc/keepalived"))
        } else {
            (base.clone(), base.clone())
        };
        std::fs::create_dir_all(&ng).unwrap();
        std::fs::create_dir_all(&ka).unwrap();
        std::fs::write(
            ng.join("nginx.conf"),
            "user root;\nevents {}\nhttp {\n    server {\n        listen 80;\n    }\n}\n",
        )
        .unwrap();
        std::fs::write(
            ka.join("keepalived.conf"),
            format!("global_defs {{\n    router_id {node}\n}}\n"),
        )
        .unwrap();
        if let Some(os) = os_release {
            std::fs::write(base.join("etc/os-release"), os).unwrap();
        }
    }
    c
}

#[test]
fn the_nginx_user_fix_is_safe_only_when_the_platform_is_known() {
    let dir = tempfile::tempdir().unwrap();
    // No evidence: no safe fix, and the unsafe one says why.
    let c = nginx_root_cluster(&dir.path().join("a"), false, None);
    let (_, out, err) = run(&["fix", "--diff"], &c);
    assert!(!out.contains("+user"), "{out}\n{err}");
    let (_, out, _) = run(&["fix", "--diff", "--unsafe"], &c);
    assert!(out.contains("+user nginx;"), "{out}");
    let (_, human, _) = run(&["check", "--select", "NX010"], &c);
    let flat = human.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("platform is unknown"), "{human}");
    // Debian, said by the node's /etc/os-release: `www-data`, as a safe fix.
    let c = nginx_root_cluster(
        &dir.path().join("b"),
        true,
        Some("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"),
    );
    let (_, out, err) = run(&["fix", "--diff"], &c);
    assert!(out.contains("+user www-data;"), "{out}\n{err}");
    assert!(!out.contains("+user nginx;"), "{out}");
    // Rocky Linux (ID_LIKE rhel): `nginx`.
    let c = nginx_root_cluster(
        &dir.path().join("c"),
        true,
        Some("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"),
    );
    let (_, out, _) = run(&["fix", "--diff"], &c);
    assert!(out.contains("+user nginx;"), "{out}");
    // Another node already runs nginx as www-data: the same user.
    let c = nginx_root_cluster(&dir.path().join("d"), false, None);
    let other = c.join("ha2/nginx.conf");
    let t = std::fs::read_to_string(&other).unwrap();
    std::fs::write(&other, t.replace("user root;", "user www-data;")).unwrap();
    let (_, out, _) = run(&["fix", "--diff"], &c);
    assert!(out.contains("+user www-data;"), "{out}");
}

#[test]
fn a_fix_that_leaves_its_finding_is_not_applied_again_and_again() {
    // `state master` corrected shows an instance whose `priority 300` is invalid: KA027's
    // `priority 255` went in above it on every round, and the invalid one still won.
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keepalived/KA003/ha1");
    let node = dir.path().join("ha1");
    std::fs::create_dir_all(&node).unwrap();
    for f in common::files_below(&src) {
        std::fs::copy(&f, node.join(f.file_name().unwrap())).unwrap();
    }
    let (_, out, err) = run(&["fix", "--diff"], &node);
    assert!(out.matches("+    priority 255").count() <= 1, "{out}");
    let (code, _, _) = run(&["fix", "--write", "--no-backup"], &node);
    assert_eq!(code, 0, "{err}");
    // A second run has nothing left to do.
    let (code, out, err) = run(&["fix", "--diff"], &node);
    assert_eq!(code, 0, "{out}\n{err}");
}
