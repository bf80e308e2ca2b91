//! `haconf fix --write` when the world is hostile: a read-only directory, a full disk, a file
//! changed while the user was deciding, and a script that lost its execute bit. Whatever
//! happens, no file is left half-written, the cluster is fixed whole or not at all, and no
//! temporary file is left behind.
//!
//! The read-only and full-disk cases run haconf inside a private mount namespace
//! (`unshare -m`): a read-only bind mount and a tiny tmpfs, so root's disregard for directory
//! modes does not hide the failure. They skip when `unshare` cannot make one.

mod common;

use common::haconf;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const KA: &str = "global_defs {\n    router_id lb\n}\n";

fn two_nodes(c: &Path) {
    common::write_tree(
        c,
        &[("ha1/keepalived.conf", KA), ("ha2/keepalived.conf", KA)],
    );
}

/// Whether this machine lets the test make a mount namespace; prints why not.
fn can_unshare(test: &str) -> bool {
    let ok = Command::new("unshare")
        .args(["-m", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg = format!("{test}: skipped: `unshare -m` is not available (needs root)");
        if std::env::var("HACONF_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("{msg} (HACONF_REQUIRE_ORACLES=1)");
        }
        common::skip_notice(&msg);
    }
    ok
}

fn no_temp_files(dir: &Path) -> bool {
    common::files_below(dir)
        .iter()
        .all(|f| !f.to_string_lossy().contains("haconf-tmp"))
}

#[test]
fn a_read_only_directory_is_reported_and_nothing_changes() {
    if !can_unshare("a_read_only_directory_is_reported_and_nothing_changes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    two_nodes(&c);
    let d = c.display();
    let script = format!(
        "mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec {} fix --write {d}",
        env!("CARGO_BIN_EXE_haconf")
    );
    let o = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/keepalived.conf")).unwrap(),
        KA
    );
    assert!(no_temp_files(&c));
}

#[test]
fn a_full_disk_leaves_every_file_whole() {
    if !can_unshare("a_full_disk_leaves_every_file_whole") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    // A file big enough that its rewrite cannot fit in what is left of the disk.
    let big = format!(
        "global_defs {{\n    router_id lb\n}}\n{}",
        "# padding so the rewrite needs room\n".repeat(2000)
    );
    common::write_tree(
        &src,
        &[("ha1/keepalived.conf", &big), ("ha2/keepalived.conf", &big)],
    );
    let mnt = dir.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    for backup in [true, false] {
        // In the namespace: a 512 KiB tmpfs, the cluster copied in, the rest filled up; then
        // the fix, then a report of what is on the disk (the tmpfs dies with the namespace).
        let script = format!(
            "set -u; mount -t tmpfs -o size=512k tmpfs {m} && cp -r {s} {m}/c && \
             (dd if=/dev/zero of={m}/fill bs=4k 2>/dev/null || true) && \
             {h} fix --write {nb} {m}/c; echo RC=$?; \
             cmp -s {m}/c/ha1/keepalived.conf {s}/ha1/keepalived.conf && echo HA1=intact; \
             cmp -s {m}/c/ha2/keepalived.conf {s}/ha2/keepalived.conf && echo HA2=intact; \
             ls -a {m}/c/ha1 {m}/c/ha2",
            m = mnt.display(),
            s = src.display(),
            h = env!("CARGO_BIN_EXE_haconf"),
            nb = if backup { "" } else { "--no-backup" },
        );
        let o = Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(out.contains("RC=2"), "backup={backup}\n{out}\n{err}");
        assert!(
            err.contains("No space left on device"),
            "backup={backup}\n{err}"
        );
        assert!(
            out.contains("HA1=intact") && out.contains("HA2=intact"),
            "a file was damaged (backup={backup}):\n{out}\n{err}"
        );
        assert!(!out.contains("haconf-tmp"), "temp file left:\n{out}");
    }
}

#[test]
#[cfg_attr(not(haconf_has_tmux), ignore = "needs tmux")]
fn a_file_changed_while_the_user_decides_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    two_nodes(&c);
    let cmd = format!(
        "{} fix --interactive {} ; echo EXIT=$? ; sleep 20",
        env!("CARGO_BIN_EXE_haconf"),
        c.display()
    );
    let Some(tmux) =
        common::Tmux::start("a_file_changed_while_the_user_decides_is_not_written", &cmd)
    else {
        return;
    };
    tmux.wait_for("Apply this fix?", 1);
    // Someone else edits ha1 while the question is on the screen.
    let edited = "global_defs {\n    router_id edited-by-hand\n}\n";
    std::fs::write(c.join("ha1/keepalived.conf"), edited).unwrap();
    tmux.answer("a");
    tmux.wait_for("EXIT=", 1);
    let text = tmux.screen();
    drop(tmux);
    assert!(
        text.contains("changed on disk since haconf read it"),
        "{text}"
    );
    assert!(text.contains("EXIT=2"), "{text}");
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/keepalived.conf")).unwrap(),
        edited,
        "the hand edit survives"
    );
    // All or nothing: the other file is not fixed either, and the summary says so.
    assert!(text.contains("Nothing was written"), "{text}");
    assert_eq!(
        std::fs::read_to_string(c.join("ha2/keepalived.conf")).unwrap(),
        KA
    );
}

#[test]
fn a_script_without_execute_bit_is_fixed_by_mode() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    common::write_tree(
        &c,
        &[
            (
                "ha1/keepalived.conf",
                "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
            ),
            (
                "ha1/chk.sh",
                "#!/bin/sh\nexec curl -fs -o /dev/null --max-time 0.5 http://127.0.0.1/\n",
            ),
        ],
    );
    let script = c.join("ha1/chk.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // --diff says it, and changes nothing.
    let o = haconf()
        .args(["fix", "--select", "HC006"])
        .arg(&c)
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&o.stdout);
    assert!(
        diff.contains("mode change 0640 => 0750") && diff.contains("chk.sh"),
        "{diff}"
    );
    assert_eq!(mode(&script), 0o640);
    // --out sets it in the copy only.
    let out = dir.path().join("out");
    let o = haconf()
        .args(["fix", "--select", "HC006", "--out"])
        .arg(&out)
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(mode(&out.join("ha1/chk.sh")), 0o750);
    assert_eq!(mode(&script), 0o640);
    // --write sets it in place; a second run has nothing left to do.
    let o = haconf()
        .args(["fix", "--select", "HC006", "--write"])
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(mode(&script), 0o750);
    let again = haconf()
        .args(["fix", "--select", "HC006"])
        .arg(&c)
        .output()
        .unwrap();
    assert!(again.stdout.is_empty());
}
