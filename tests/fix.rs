//! `haconf fix`: diffs, --out, --write, idempotence, and refusing to write outside the cluster.

mod common;

use common::haconf;
use std::os::unix::fs::PermissionsExt;

fn codes_with_safe_fix(dir: &std::path::Path) -> Vec<String> {
    let out = haconf()
        .args(["check", "--format", "json"])
        .arg(dir)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut left: Vec<String> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["fix"]["applicability"] == "safe")
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect();
    // Safe fixes the engine's safety net rejects (and says so) are not left to apply.
    let fix = haconf().args(["fix", "--diff"]).arg(dir).output().unwrap();
    for line in String::from_utf8_lossy(&fix.stderr).lines() {
        if let Some(rest) = line.strip_prefix("warning: rejected the safe ") {
            let code = rest.split(' ').next().unwrap_or_default();
            if let Some(i) = left.iter().position(|c| c == code) {
                left.remove(i);
            }
        }
    }
    left
}

#[test]
fn out_dir_is_fixed_and_fixing_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-cluster");
    let before = std::fs::read(format!("{seed}/ha1/keepalived.conf")).unwrap();
    for unsafe_ in [false, true] {
        let out = dir.path().join(if unsafe_ { "u" } else { "s" });
        let mut cmd = haconf();
        cmd.args(["fix", "--out"]).arg(&out).arg(seed);
        if unsafe_ {
            cmd.arg("--unsafe");
        }
        let o = cmd.output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let fixed = out.clone();
        assert!(
            codes_with_safe_fix(&fixed).is_empty(),
            "safe fixes left: {:?}",
            codes_with_safe_fix(&fixed)
        );
        let ka = std::fs::read_to_string(fixed.join("ha1/keepalived.conf")).unwrap();
        assert!(
            ka.contains("unicast_peer {") && ka.contains("192.168.0.20"),
            "{ka}"
        );
        assert!(ka.contains("router_id ha1"));
        if unsafe_ {
            assert!(
                ka.contains("enable_script_security") && ka.contains("script_user root"),
                "{ka}"
            );
            // The check now fails when nginx fails (HC001-HC005 are gone).
            let script = std::fs::read_to_string(fixed.join("ha1/chk_nginx.sh")).unwrap();
            assert!(script.contains("exec /usr/bin/curl -fsS"), "{script}");
            let o = haconf()
                .args(["check", "--format", "concise", "--select", "HC"])
                .arg(&fixed)
                .output()
                .unwrap();
            assert!(
                o.stdout.is_empty(),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
        // Idempotent: fixing the fixed cluster again changes nothing.
        let again = haconf()
            .args(["fix", "--diff"])
            .args(if unsafe_ { vec!["--unsafe"] } else { vec![] })
            .arg(&fixed)
            .output()
            .unwrap();
        assert!(
            again.stdout.is_empty(),
            "second run still changes:\n{}",
            String::from_utf8_lossy(&again.stdout)
        );
    }
    assert_eq!(
        std::fs::read(format!("{seed}/ha1/keepalived.conf")).unwrap(),
        before,
        "the input is untouched"
    );
}

#[test]
fn write_in_place_keeps_backup_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    common::write_tree(
        &c,
        &[
            (
                "ha1/keepalived.conf",
                "global_defs {\n    router_id lb\n}\n",
            ),
            (
                "ha2/keepalived.conf",
                "global_defs {\n    router_id lb\n}\n",
            ),
        ],
    );
    let f = c.join("ha1/keepalived.conf");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = haconf().args(["fix", "--write"]).arg(&c).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        std::fs::read_to_string(&f)
            .unwrap()
            .contains("router_id ha1")
    );
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/.keepalived.conf.haconf-bak")).unwrap(),
        "global_defs {\n    router_id lb\n}\n"
    );
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // No temporary files are left behind.
    assert!(
        std::fs::read_dir(c.join("ha1"))
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().contains("haconf-tmp"))
    );
}

#[test]
fn a_link_out_of_the_cluster_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.conf");
    std::fs::write(&outside, "global_defs {\n    router_id lb\n}\n").unwrap();
    let c = dir.path().join("c");
    common::write_tree(
        &c,
        &[(
            "ha2/keepalived.conf",
            "global_defs {\n    router_id lb\n}\n",
        )],
    );
    std::fs::create_dir_all(c.join("ha1")).unwrap();
    std::os::unix::fs::symlink(&outside, c.join("ha1/keepalived.conf")).unwrap();
    let o = haconf().args(["fix", "--write"]).arg(&c).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("outside the cluster"));
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "global_defs {\n    router_id lb\n}\n"
    );
}

#[test]
#[cfg_attr(not(haconf_has_tmux), ignore = "needs tmux")]
fn interactive_in_a_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    common::write_tree(
        &c,
        &[
            (
                "ha1/keepalived.conf",
                "global_defs {\n    router_id lb\n}\n",
            ),
            (
                "ha2/keepalived.conf",
                "global_defs {\n    router_id lb\n}\n",
            ),
        ],
    );
    let cmd = format!(
        "{} fix --interactive {} ; echo EXIT=$? ; sleep 20",
        env!("CARGO_BIN_EXE_haconf"),
        c.display()
    );
    let Some(tmux) = common::Tmux::start("interactive_in_a_real_terminal", &cmd) else {
        return;
    };
    tmux.wait_for("Apply this fix?", 1);
    assert!(
        tmux.screen()
            .replace('\n', "")
            .contains("(1 more after this one)")
    );
    // Typed with Enter, as a line: the key counts, the Enter is ignored.
    tmux.answer("y");
    tmux.wait_for("EXIT=", 1);
    let text = tmux.screen();
    drop(tmux);
    // Renaming ha1's router_id also ends ha2's duplicate: the offers are recomputed after
    // the answer, so ha2's fix is not asked for at all.
    assert_eq!(text.matches("Apply this fix?").count(), 1, "{text}");
    assert!(
        text.contains("Applied 1 fix to 1 file.") && text.contains("EXIT=0"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/keepalived.conf")).unwrap(),
        "global_defs {\n    router_id ha1\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(c.join("ha2/keepalived.conf")).unwrap(),
        "global_defs {\n    router_id lb\n}\n"
    );
}

#[test]
fn interactive_without_a_terminal_says_so() {
    let o = haconf()
        .args([
            "fix",
            "--interactive",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-cluster"),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a terminal"));
}

/// On every real-world cluster set: after `fix --out` (with and without `--unsafe`), no
/// finding with a safe fix is left, and fixing the result again changes nothing.
#[test]
#[cfg_attr(
    not(haconf_has_corpus),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED)"
)]
fn corpus_sets_are_fixed_to_a_fixed_point() {
    let Some(shared) = common::shared_or_skip("corpus_sets_are_fixed_to_a_fixed_point") else {
        return;
    };
    let mut sets: Vec<_> = std::fs::read_dir(shared.join("corpus/clusters"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        for unsafe_ in [false, true] {
            let out = dir.path().join(format!("{i}-{unsafe_}"));
            let flag: &[&str] = if unsafe_ { &["--unsafe"] } else { &[] };
            let o = haconf()
                .args(["fix", "--out"])
                .arg(&out)
                .args(flag)
                .arg(set)
                .output()
                .unwrap();
            assert_eq!(
                o.status.code(),
                Some(0),
                "{}: {}",
                set.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            let fixed = out.clone();
            let left = codes_with_safe_fix(&fixed);
            if !left.is_empty() {
                problems.push(format!(
                    "{} (unsafe: {unsafe_}): safe fixes left: {left:?}",
                    set.display()
                ));
            }
            let again = haconf()
                .args(["fix", "--diff"])
                .args(flag)
                .arg(&fixed)
                .output()
                .unwrap();
            if !again.stdout.is_empty() {
                problems.push(format!(
                    "{} (unsafe: {unsafe_}): not idempotent",
                    set.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn diffs_mask_secrets_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let ka = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass LongSecret99\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n";
    common::write_tree(&c, &[("ha1/keepalived.conf", ka)]);
    let masked = haconf().args(["fix"]).arg(&c).output().unwrap();
    let text = String::from_utf8_lossy(&masked.stdout);
    assert!(
        text.contains("auth_pass") && !text.contains("LongSecr"),
        "{text}"
    );
    let shown = haconf()
        .args(["fix", "--show-secrets"])
        .arg(&c)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("+        auth_pass LongSecr"));
    // The written file keeps the real (truncated) value.
    haconf().args(["fix", "--write"]).arg(&c).output().unwrap();
    assert!(
        std::fs::read_to_string(c.join("ha1/keepalived.conf"))
            .unwrap()
            .contains("auth_pass LongSecr\n")
    );
}
