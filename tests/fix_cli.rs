//! `haconf fix` as a command a pipeline and a person can rely on: exit codes that say whether
//! anything is left to fix (`--diff`, `--check`), `--out DIR` laid out as `generate --out` and
//! never mixed into someone else's directory, and `--interactive` answered with single keys,
//! recomputed after each answer, with the rule's explanation one key away and the terminal
//! restored on every way out.

mod common;

use common::haconf;
use std::path::{Path, PathBuf};

const OLD: &str = "global_defs {\n    router_id lb\n}\n";

fn cluster(dir: &Path) -> PathBuf {
    let c = dir.join("c");
    common::write_tree(
        &c,
        &[("ha1/keepalived.conf", OLD), ("ha2/keepalived.conf", OLD)],
    );
    c
}

#[test]
fn diff_and_check_exit_1_while_something_is_left_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    // Diffs (the default, and --diff): exit 1, the diffs on stdout.
    for flag in [None, Some("--diff")] {
        let o = haconf().arg("fix").args(flag).arg(&c).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{flag:?}");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("+    router_id ha1"), "{out}");
    }
    // --check: only the files, one a line, and the summary; exit 1.
    let o = haconf().args(["fix", "--check"]).arg(&c).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    let files: Vec<&str> = out.lines().collect();
    assert_eq!(files.len(), 2, "{out}");
    assert!(files[0].ends_with("c/ha1/keepalived.conf"), "{out}");
    assert!(files[1].ends_with("c/ha2/keepalived.conf"), "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Would apply 2 fixes to 2 files"), "{err}");
    // Nothing was written by either.
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/keepalived.conf")).unwrap(),
        OLD
    );
    // Fixed: both exit 0 and --check prints no file.
    let o = haconf().args(["fix", "--write"]).arg(&c).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    for flag in ["--check", "--diff"] {
        let o = haconf().args(["fix", flag]).arg(&c).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{flag}");
        assert!(o.stdout.is_empty(), "{flag}");
    }
    // A usage error is still 2.
    let o = haconf()
        .args(["fix", "--check"])
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn out_dir_is_the_cluster_with_one_input_and_one_folder_each_with_several() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    let d = dir.path().join("d");
    common::write_tree(
        &d,
        &[("ha1/keepalived.conf", OLD), ("ha2/keepalived.conf", OLD)],
    );
    let out = dir.path().join("out");
    let o = haconf()
        .args(["fix", "--out"])
        .arg(&out)
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // As `generate --out DIR`: the nodes directly in DIR.
    assert_eq!(
        std::fs::read_to_string(out.join("ha1/keepalived.conf")).unwrap(),
        "global_defs {\n    router_id ha1\n}\n"
    );
    assert!(!out.join("c").exists());
    // The input is untouched, and the output checks clean of that finding.
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/keepalived.conf")).unwrap(),
        OLD
    );
    // Running again replaces the earlier output whole (a file added by hand there goes too).
    std::fs::write(out.join("stray"), "x").unwrap();
    let o = haconf()
        .args(["fix", "--out"])
        .arg(&out)
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.join("stray").exists());
    // Several inputs: one folder each, named after it.
    let many = dir.path().join("many");
    let o = haconf()
        .args(["fix", "--out"])
        .arg(&many)
        .arg(&c)
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for name in ["c", "d"] {
        assert_eq!(
            std::fs::read_to_string(many.join(name).join("ha2/keepalived.conf")).unwrap(),
            "global_defs {\n    router_id ha2\n}\n"
        );
    }
}

#[test]
fn out_dir_refuses_a_directory_it_did_not_write_and_its_own_input() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path());
    // Somebody's directory with other files: refused, left alone.
    let theirs = dir.path().join("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine\n").unwrap();
    let o = haconf()
        .args(["fix", "--out"])
        .arg(&theirs)
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("is not empty and is not an earlier `haconf fix --out` output"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&theirs).unwrap().count(),
        1,
        "the directory was written to"
    );
    // Inside the input, or holding it: refused.
    for bad in [c.join("ha1/fixed"), dir.path().to_path_buf()] {
        let o = haconf()
            .args(["fix", "--out"])
            .arg(&bad)
            .arg(&c)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", bad.display());
    }
    assert!(!c.join("ha1/fixed").exists());
    // An empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = haconf()
        .args(["fix", "--out"])
        .arg(&empty)
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(empty.join("ha1/keepalived.conf").is_file());
}

/// The seed's ha1 alone: its check script has four overlapping unsafe fixes (HC002 rewrites
/// the whole script; HC004, HC003 and HC001 change parts of it).
fn seed_node(dir: &Path) -> PathBuf {
    let c = dir.join("c");
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed-cluster/ha1");
    for f in ["chk_nginx.sh", "keepalived.conf", "nginx.conf"] {
        let dest = c.join("ha1").join(f);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(seed.join(f), dest).unwrap();
    }
    c
}

fn interactive_cmd(c: &Path, extra: &str) -> String {
    format!(
        "{} fix --interactive --unsafe --select HC {extra} {} ; echo EXIT=$? ; stty -a ; sleep 30",
        env!("CARGO_BIN_EXE_haconf"),
        c.display()
    )
}

/// Whether the terminal is back in line mode with echo (as `stty -a` prints it).
fn terminal_restored(screen: &str) -> bool {
    let words: Vec<&str> = screen.split_whitespace().collect();
    words.contains(&"icanon") && words.contains(&"echo") && words.contains(&"isig")
}

#[test]
#[cfg_attr(not(haconf_has_tmux), ignore = "needs tmux")]
fn interactive_takes_single_keys_and_recomputes_after_each_answer() {
    let dir = tempfile::tempdir().unwrap();
    let c = seed_node(dir.path());
    let script = c.join("ha1/chk_nginx.sh");
    let before = std::fs::read_to_string(&script).unwrap();
    let Some(tmux) = common::Tmux::start(
        "interactive_takes_single_keys_and_recomputes_after_each_answer",
        &interactive_cmd(&c, ""),
    ) else {
        return;
    };
    tmux.wait_for("Apply this fix?", 1);
    let first = tmux.screen();
    // The rule code on the hunk and on the fix.
    assert!(first.contains("fix (unsafe) [HC002]"), "{first}");
    assert!(first.contains("@@ HC002"), "{first}");
    // One key, no Enter: no to HC002 (the whole script), yes to HC004 (one line of it).
    tmux.keys("n");
    tmux.wait_for("Apply this fix?", 2);
    assert!(tmux.screen().contains("[HC004]"), "{}", tmux.screen());
    tmux.keys("y");
    tmux.wait_for("Apply this fix?", 3);
    // HC002 overlapped the accepted fix: it is offered again, computed on the new text
    // (the line HC004 removed is no longer in its diff), never "skipped" after the answer.
    let screen = tmux.screen();
    let last = &screen[screen.rfind("fix (unsafe)").unwrap()..];
    assert!(last.starts_with("fix (unsafe) [HC002]"), "{screen}");
    assert!(!last.contains("systemctl start nginx.service"), "{screen}");
    tmux.keys("y");
    tmux.wait_for("EXIT=", 1);
    let screen = tmux.screen();
    drop(tmux);
    assert!(!screen.contains("skipped"), "{screen}");
    assert!(screen.contains("Applied 2 fixes to 1 file"), "{screen}");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(terminal_restored(&screen), "{screen}");
    let after = std::fs::read_to_string(&script).unwrap();
    assert!(after.contains("exec /usr/bin/curl"), "{after}");
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/.chk_nginx.sh.haconf-bak")).unwrap(),
        before
    );
}

#[test]
#[cfg_attr(not(haconf_has_tmux), ignore = "needs tmux")]
fn interactive_explains_the_rule_and_quits_writing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = seed_node(dir.path());
    let before = std::fs::read_to_string(c.join("ha1/chk_nginx.sh")).unwrap();
    let Some(tmux) = common::Tmux::start(
        "interactive_explains_the_rule_and_quits_writing_nothing",
        &interactive_cmd(&c, ""),
    ) else {
        return;
    };
    tmux.wait_for("Apply this fix?", 1);
    tmux.keys("e");
    tmux.wait_for("Apply this fix?", 2);
    let screen = tmux.screen();
    // `haconf explain HC002`'s text, then the same question again.
    assert!(screen.contains("# HC002 (check-only-process)"), "{screen}");
    assert!(screen.contains("Default severity: warning"), "{screen}");
    // A key that means nothing is answered with the choices, not taken as "no".
    tmux.keys("x");
    tmux.wait_for("Please answer y, n, a, q or e", 1);
    tmux.keys("q");
    tmux.wait_for("EXIT=", 1);
    let screen = tmux.screen();
    drop(tmux);
    assert!(screen.contains("nothing was written"), "{screen}");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(terminal_restored(&screen), "{screen}");
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/chk_nginx.sh")).unwrap(),
        before
    );
}

#[test]
#[cfg_attr(not(haconf_has_tmux), ignore = "needs tmux")]
fn interactive_ctrl_c_writes_nothing_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let c = seed_node(dir.path());
    let before = std::fs::read_to_string(c.join("ha1/chk_nginx.sh")).unwrap();
    let Some(tmux) = common::Tmux::start(
        "interactive_ctrl_c_writes_nothing_and_restores_the_terminal",
        &interactive_cmd(&c, ""),
    ) else {
        return;
    };
    // No to HC002, yes to HC004: a fix is accepted when Ctrl-C comes.
    tmux.wait_for("Apply this fix?", 1);
    tmux.keys("n");
    tmux.wait_for("Apply this fix?", 2);
    tmux.keys("y");
    tmux.wait_for("Apply this fix?", 3);
    tmux.keys("C-c");
    tmux.wait_for("EXIT=", 1);
    let screen = tmux.screen();
    drop(tmux);
    assert!(screen.contains("Aborted: nothing was written."), "{screen}");
    assert!(screen.contains("EXIT=130"), "{screen}");
    assert!(terminal_restored(&screen), "{screen}");
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/chk_nginx.sh")).unwrap(),
        before
    );
}

#[test]
#[cfg_attr(not(haconf_has_tmux), ignore = "needs tmux")]
fn interactive_killed_by_sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let c = seed_node(dir.path());
    let cmd = format!(
        "sh -c 'echo PID=$$; exec {} fix --interactive --unsafe {}' ; echo EXIT=$? ; stty -a ; sleep 30",
        env!("CARGO_BIN_EXE_haconf"),
        c.display()
    );
    let Some(tmux) =
        common::Tmux::start("interactive_killed_by_sigterm_restores_the_terminal", &cmd)
    else {
        return;
    };
    tmux.wait_for("Apply this fix?", 1);
    let screen = tmux.screen();
    let pid: String = screen[screen.find("PID=").unwrap() + 4..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tmux.wait_for("EXIT=", 1);
    let screen = tmux.screen();
    drop(tmux);
    assert!(screen.contains("EXIT=143"), "{screen}");
    assert!(terminal_restored(&screen), "{screen}");
}
