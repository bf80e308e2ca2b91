//! `haconf pull`, `check ssh://` and `diff`: what they refuse before touching a network.
//! (The pulls themselves are tested against real hosts in `pull_live.rs`.)

mod common;

fn run(args: &[&str], cwd: &std::path::Path, ssh: &str) -> (Option<i32>, String) {
    let o = common::haconf()
        .args(args)
        .current_dir(cwd)
        .env("HACONF_SSH", ssh)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (code, err) = run(&["pull", "a=h1", "a=h2", "--out", "o"], d.path(), "ssh");
    assert_eq!(code, Some(2));
    assert!(err.contains("would both be node `a`"), "{err}");
    assert!(!d.path().join("o").exists());
    let (code, err) = run(&["pull", "-x=h1"], d.path(), "ssh");
    assert_eq!(code, Some(2), "{err}");
    std::fs::create_dir_all(d.path().join("o/h1")).unwrap();
    let (code, err) = run(&["pull", "h1", "--out", "o"], d.path(), "ssh");
    assert_eq!(code, Some(2));
    assert!(err.contains("--force"), "{err}");
    let (code, err) = run(&["pull", "h2", "--out", "o"], d.path(), "/nonexistent/ssh");
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot run `/nonexistent/ssh`"), "{err}");
    let (code, _) = run(&["diff", "nowhere", "o"], d.path(), "ssh");
    assert_eq!(code, Some(2));
}

#[test]
fn a_host_that_cannot_be_reached_makes_check_exit_2_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    // An "ssh" that fails at once, as one that cannot connect does.
    let (code, err) = run(&["check", "ssh://h1"], d.path(), "/bin/false");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("error: ssh://h1:"), "{err}");
    let (code, err) = run(&["pull", "h1", "--out", "o", "-q"], d.path(), "/bin/false");
    assert_eq!(code, Some(3), "{err}");
    let left: Vec<_> = std::fs::read_dir(d.path().join("o"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
