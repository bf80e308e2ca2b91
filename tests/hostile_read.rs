//! Hostile input on the read side (issue 12), on the real binary: special files are never
//! opened, binary files give one finding, control characters never reach a terminal raw,
//! `auth_pass` values never reach any output, third-party panics stay off stderr, and the
//! run's size cap holds.

mod common;

use common::haconf;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Runs `cmd` with a deadline: a hang (a FIFO opened for reading) fails the test instead of
/// blocking it.
fn run(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let (done, wait) = std::sync::mpsc::channel::<()>();
    // A watchdog kills the child past the deadline; the output is read meanwhile (a child
    // blocked on a full pipe would look like a hang).
    let watchdog = std::thread::spawn(move || {
        let timed_out = wait.recv_timeout(limit).is_err();
        if timed_out {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        timed_out
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    assert!(
        !watchdog.join().unwrap(),
        "haconf still running after {limit:?}: it blocked on a special file"
    );
    out
}

fn check(args: &[&str], target: &Path) -> (i32, String, String) {
    let mut c = haconf();
    c.arg("check").args(args).arg(target);
    let out = run(c, Duration::from_secs(20));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(p: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn mkfifo(p: &Path) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

const GLOBAL: &str = "global_defs {\n    router_id ha1\n}\n";

#[test]
fn a_fifo_include_is_a_finding_not_a_hang() {
    let d = tempfile::tempdir().unwrap();
    let ka = d.path().join("ka/c/ha1");
    write(
        &ka.join("keepalived.conf"),
        format!("{GLOBAL}include conf.d/p.conf\n"),
    );
    mkfifo(&ka.join("conf.d/p.conf"));
    let (code, out, err) = check(&["--format", "concise"], &d.path().join("ka/c"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("ha1/keepalived.conf:4:9: KA005")
            && out.contains("is a FIFO (named pipe), not a regular file"),
        "file, line, column of the include and the reason: {out}"
    );

    let ng = d.path().join("ng/c/ha1");
    write(&ng.join("keepalived.conf"), GLOBAL);
    write(
        &ng.join("nginx.conf"),
        "events {}\nhttp {\n    include conf.d/*.conf;\n}\n",
    );
    mkfifo(&ng.join("conf.d/x.conf"));
    let (code, out, err) = check(&["--format", "concise"], &d.path().join("ng/c"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("ha1/nginx.conf:3:13: NX005") && out.contains("is a FIFO (named pipe)"),
        "{out}"
    );
}

#[test]
fn special_main_files_name_the_real_reason() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo/c/ha1/keepalived.conf");
    mkfifo(&fifo);
    let dir = d.path().join("dir/c/ha1/keepalived.conf");
    std::fs::create_dir_all(&dir).unwrap();
    let lp = d.path().join("loop/c/ha1");
    std::fs::create_dir_all(&lp).unwrap();
    std::os::unix::fs::symlink("keepalived.conf", lp.join("keepalived.conf")).unwrap();
    let zero = d.path().join("zero/c/ha1");
    std::fs::create_dir_all(&zero).unwrap();
    std::os::unix::fs::symlink("/dev/zero", zero.join("keepalived.conf")).unwrap();
    for (case, why) in [
        ("fifo", "is a FIFO (named pipe)"),
        ("dir", "is a directory"),
        ("loop", "symbolic link loop"),
        ("zero", "is a character device"),
    ] {
        let (code, out, err) = check(&[], &d.path().join(case).join("c"));
        assert_eq!(code, 2, "{case}: {out}{err}");
        assert!(err.contains(why), "{case}: {err}");
        assert!(!err.contains("no cluster here"), "{case}: {err}");
    }
    // Paths given directly.
    let (code, _, err) = check(&[], Path::new("/dev/zero"));
    assert_eq!(code, 2);
    assert!(
        err.contains("/dev/zero: is a character device") && !err.contains("no such file"),
        "{err}"
    );
    let (code, _, err) = check(&[], &fifo);
    assert_eq!(code, 2);
    assert!(err.contains("is a FIFO"), "{err}");
}

/// Random bytes from a fixed seed.
fn garbage(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn binary_garbage_is_one_finding() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("keepalived.conf");
    write(&f, garbage(1 << 20));
    let (code, out, err) = check(&["--format", "concise"], &f);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out.lines().count(), 1, "one finding: {out}");
    assert!(out.contains("KA001 error: not a text file: "), "{out}");
    let (_, human, _) = check(&["--color", "never"], &f);
    assert!(human.len() < 8192, "{} bytes of output", human.len());

    // nginx, and a NUL byte in an otherwise plain file.
    let ng = d.path().join("nginx.conf");
    write(&ng, b"events {}\nhttp {\0\n}\n");
    let (_, out, _) = check(&["--format", "concise"], &ng);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("NX001 error: not a text file: a NUL byte at line 2"),
        "{out}"
    );

    // A Latin-1 comment is text with one byte that is not UTF-8: a note, and still checked.
    let l1 = d.path().join("l1/keepalived.conf");
    write(&l1, b"# caf\xe9\nglobal_defs {\n    bogus_keyword 1\n}\n");
    let (_, out, _) = check(&["--format", "concise"], &l1);
    assert!(out.contains("KA001 info: not UTF-8 text: 1 byte"), "{out}");
    assert!(out.contains("KA002"), "the rest is still checked: {out}");
}

const ESC_CONF: &[u8] =
    b"global_defs {\n    router_id \x1b[31mred\x1b[0m\n    bogus_\x1b]0;pwned\x07kw\r 1\n}\n";

#[test]
fn control_bytes_are_escaped_in_every_text_format() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("esc\x1b[1m/keepalived.conf");
    write(&f, ESC_CONF);
    for format in ["human", "concise", "github", "junit", "json", "sarif"] {
        let (code, out, err) = check(&["--format", format, "--color", "never"], &f);
        assert_eq!(code, 1, "{format}: {err}");
        assert!(
            out.contains("KA002") || out.contains("unknown"),
            "{format}: {out}"
        );
        for bad in ['\x1b', '\x07', '\r'] {
            assert!(
                !out.contains(bad),
                "{format}: raw {:?} in the output:\n{out}",
                bad
            );
        }
    }
    let (_, out, _) = check(&["--format", "concise"], &f);
    assert!(out.contains(r"bogus_\x1b]0;pwned\x07kw`"), "{out}");
    assert!(out.contains(r"esc\x1b[1m/keepalived.conf"), "{out}");
}

fn secret_cluster(root: &Path) {
    for n in 1..=2 {
        write(
            &root.join(format!("ha{n}/keepalived.conf")),
            format!(
                "global_defs {{\n    router_id ha{n}\n}}\n\
vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 10{n}\n\
    authentication {{ auth_type PASS auth_pass OneLinePw }}\n    virtual_ipaddress {{\n        10.0.0.1/24\n    }}\n}}\n\
vrrp_instance VI_2 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n    priority 10{n}\n\
    authentication {{\n        auth_type PASS\n        auth_pas S3cr3tPw\n        AUTH_PASS UpperPw1\n        authpass typo2Pw\n\
        auth_pass FirstPw SecondPw\n        auth_pass\n            NextLinePw\n    }}\n\
    virtual_ipaddress {{\n        10.0.0.2/24\n    }}\n}}\n"
            ),
        );
    }
}

const SECRETS: &[&str] = &[
    "OneLinePw",
    "S3cr3tPw",
    "UpperPw1",
    "typo2Pw",
    "FirstPw",
    "SecondPw",
    "NextLinePw",
];

fn leaked(text: &str) -> Vec<&'static str> {
    SECRETS
        .iter()
        .copied()
        .filter(|s| text.contains(s))
        .collect()
}

#[test]
fn no_spelling_of_a_password_reaches_any_output() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("c");
    secret_cluster(&c);
    for format in ["human", "concise", "json", "sarif", "github", "junit"] {
        let (code, out, err) = check(&["--format", format], &c);
        assert_eq!(code, 1, "{format}: {err}");
        assert!(out.len() > 100, "{format}: {out}");
        assert!(leaked(&out).is_empty(), "{format} leaks {:?}", leaked(&out));
        assert!(leaked(&err).is_empty(), "{format} (stderr) leaks");
    }
    let mut cmd = haconf();
    cmd.args(["fix", "--diff", "--unsafe"]).arg(&c);
    let out = run(cmd, Duration::from_secs(20));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("+++ b/"), "a diff: {diff}");
    assert!(
        leaked(&diff).is_empty(),
        "fix --diff leaks {:?}",
        leaked(&diff)
    );
    // A written baseline holds each finding's line: masked too, whatever the layout.
    let baseline = d.path().join("baseline.json");
    let (_, _, err) = check(
        &[
            "--write-baseline",
            baseline.to_str().unwrap(),
            "--select",
            "ALL",
        ],
        &c,
    );
    let written = std::fs::read_to_string(&baseline).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert!(written.contains("\"line\""), "{written}");
    assert!(
        leaked(&written).is_empty(),
        "the baseline leaks {:?}",
        leaked(&written)
    );
    // --show-secrets is the one way to see them.
    let mut cmd = haconf();
    cmd.args(["fix", "--diff", "--unsafe", "--show-secrets"])
        .arg(&c);
    let out = run(cmd, Duration::from_secs(20));
    assert!(String::from_utf8_lossy(&out.stdout).contains("S3cr3tPw"));
}

#[test]
fn a_panic_in_the_shell_parser_stays_off_stderr() {
    let d = tempfile::tempdir().unwrap();
    let n = d.path().join("c/ha1");
    write(
        &n.join("keepalived.conf"),
        "global_defs {\n    router_id ha1\n    enable_script_security\n    script_user root\n}\n\
vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n\
vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n\
    track_script {\n        chk\n    }\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n}\n",
    );
    write(
        &n.join("chk.sh"),
        "#!/bin/sh\necho 99999999999999999999>x\n",
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(n.join("chk.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (code, out, err) = check(&["--format", "concise"], &d.path().join("c"));
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("chk.sh:1:1: HC009") && out.contains("the shell parser could not read"),
        "{out}"
    );
    assert!(!err.contains("panicked"), "stderr: {err}");
}

#[test]
fn the_size_cap_holds_for_a_whole_fleet() {
    // Five clusters of 15 MB each: 75 MB, past the 64 MiB haconf reads in one run.
    let d = tempfile::tempdir().unwrap();
    let mut body = String::from(GLOBAL);
    while body.len() < 15 << 20 {
        body.push_str("# padding, to make a large but simple file of comments only.........\n");
    }
    for c in 0..5 {
        write(&d.path().join(format!("web{c}/ha1/keepalived.conf")), &body);
    }
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_haconf"))
        .args(["check", "--format", "concise"])
        .arg(d.path());
    let out = run(cmd, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    if err
        .lines()
        .last()
        .is_none_or(|l| l.trim().parse::<u64>().is_err())
    {
        eprintln!("the_size_cap_holds_for_a_whole_fleet: skipped: no GNU time ({err})");
        return;
    }
    assert!(
        err.contains("more than the 64 MiB haconf reads in all"),
        "the file past the cap is named: {err}"
    );
    let kib: u64 = err.lines().last().unwrap().trim().parse().unwrap();
    assert!(
        kib < 12 * 64 * 1024,
        "peak {kib} KiB: more than 12 times the 64 MiB cap"
    );
}
