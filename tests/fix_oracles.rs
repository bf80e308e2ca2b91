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
fn fixed_nginx_conf_passes_nginx_t() {
    if !common::require_tool("fixed_nginx_conf_passes_nginx_t", "nginx", &["-v"]) {
        return;
    }
    let dir = fixed_seed(false);
    for node in ["ha1", "ha2"] {
        let d = dir.path().join("seed-cluster").join(node);
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
        let d = dir.path().join("seed-cluster").join(node);
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
