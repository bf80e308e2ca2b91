//! What `haconf fix` writes passes the real tools: `nginx -t` on the fixed nginx.conf, and
//! `keepalived -t` — with no message at all — on the fixed keepalived.conf (with --unsafe, which
//! turns script security on), run in a network namespace of the test's own that has eth0.

mod common;

use std::process::Command;

fn fixed_seed(unsafe_: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::haconf();
    cmd.args(["fix", "--out"]).arg(dir.path()).arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/seed-cluster"
    ));
    if unsafe_ {
        cmd.arg("--unsafe");
    }
    assert!(cmd.output().unwrap().status.success());
    dir
}

#[test]
#[cfg_attr(not(haconf_has_nginx), ignore = "needs nginx")]
fn fixed_nginx_conf_passes_nginx_t() {
    if !common::require_tool("fixed_nginx_conf_passes_nginx_t", "nginx", &["-v"]) {
        return;
    }
    let dir = fixed_seed(false);
    for node in ["ha1", "ha2"] {
        let d = dir.path().join(node);
        // mime.types ships with the nginx package, not with the node.
        if !d.join("mime.types").exists() {
            std::fs::copy("/etc/nginx/mime.types", d.join("mime.types")).unwrap();
        }
        let out = Command::new("nginx")
            .arg("-t")
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-p")
            .arg(&d)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{node}: {text}");
        assert!(
            !text.contains("[emerg]") && !text.contains("[warn]"),
            "{node}: {text}"
        );
    }
}

#[test]
#[cfg_attr(
    not(all(haconf_has_keepalived, haconf_has_netns)),
    ignore = "needs keepalived, root with ip and unshare (network namespaces)"
)]
fn fixed_keepalived_conf_passes_keepalived_t_silently() {
    if !common::require_tool(
        "fixed_keepalived_conf_passes_keepalived_t_silently",
        "keepalived",
        &["--version"],
    ) {
        return;
    }
    let Some(ns) = common::Netns::new(
        "fixed_keepalived_conf_passes_keepalived_t_silently",
        &["eth0"],
    ) else {
        return;
    };
    let dir = fixed_seed(true);
    for node in ["ha1", "ha2"] {
        let d = dir.path().join(node);
        // The script lives at /etc/keepalived/ on the node; here, in the copy.
        let script = d.join("chk_nginx.sh");
        let conf = std::fs::read_to_string(d.join("keepalived.conf")).unwrap();
        std::fs::write(
            d.join("keepalived.conf"),
            conf.replace("/etc/keepalived/chk_nginx.sh", &script.to_string_lossy()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new("ip")
            .args(["netns", "exec", &ns.name, "keepalived", "-t", "-f"])
            .arg(d.join("keepalived.conf"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{node}: {text}");
        assert!(
            text.trim().is_empty(),
            "{node}: keepalived -t says:\n{text}"
        );
    }
}

/// The check that `fix --unsafe` writes for the seed (HC001/HC002) does its job: against a real
/// nginx on the loopback of a network namespace of the test's own, it passes while nginx
/// answers 200, and fails when nginx answers 502 or is down.
#[test]
#[cfg_attr(
    not(all(haconf_has_nginx, haconf_has_netns)),
    ignore = "needs nginx, root with ip and unshare (network namespaces)"
)]
fn generated_check_fails_exactly_when_nginx_fails() {
    if !common::require_tool(
        "generated_check_fails_exactly_when_nginx_fails",
        "nginx",
        &["-v"],
    ) || !common::require_tool(
        "generated_check_fails_exactly_when_nginx_fails",
        "curl",
        &["--version"],
    ) {
        return;
    }
    let Some(ns) = common::Netns::new("generated_check_fails_exactly_when_nginx_fails", &[]) else {
        return;
    };
    let fixed = fixed_seed(true);
    let script = fixed.path().join("ha1/chk_nginx.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("exec /usr/bin/curl -fsS"), "{text}");
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(ip(&["ip", "link", "set", "lo", "up"]).status.success());
    let run_dir = tempfile::tempdir().unwrap();
    let start_nginx = |status: u16| {
        let conf = run_dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "daemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n    server {{\n        listen 127.0.0.1:80;\n        location / {{ return {status} \"status {status}\\n\"; }}\n    }}\n}}\n",
                d = run_dir.path().display()
            ),
        )
        .unwrap();
        // Its output must not hold the test harness's pipes open.
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "nginx", "-c"])
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Until it answers (or 5 s).
        for _ in 0..100 {
            if ip(&["curl", "-s", "-o", "/dev/null", "http://127.0.0.1/"])
                .status
                .success()
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child
    };
    let check = || ip(&["sh", script.to_str().unwrap()]).status.code();
    // `nginx -s stop` through the pid file: `ip netns exec` may not be nginx itself.
    let stop = |mut child: std::process::Child| {
        let conf = run_dir.path().join("nginx.conf");
        ip(&["nginx", "-c", conf.to_str().unwrap(), "-s", "stop"]);
        let _ = child.wait();
    };
    let nginx = start_nginx(200);
    let c = check();
    stop(nginx);
    assert_eq!(c, Some(0), "nginx answers 200: the check passes");
    let nginx = start_nginx(502);
    let c = check();
    stop(nginx);
    assert!(
        c.is_some_and(|c| c != 0),
        "nginx answers 502: the check must fail ({c:?})"
    );
    let c = check();
    assert!(
        c.is_some_and(|c| c != 0),
        "nginx is down: the check must fail ({c:?})"
    );
}
