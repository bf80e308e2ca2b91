//! What haconf writes, when the directory it writes in is hostile or the write is cut short:
//! planted links at the names of its backups and temporary files, owners and modes to keep,
//! kill -9 at any moment, a full disk or a read-only node half-way through a cluster, and
//! backups that nginx's own `include sites-enabled/*;` must never load. All on the real
//! binary, as root (the tests that need a mount or PID namespace skip without `unshare`).

mod common;

use common::haconf;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const OLD: &str = "global_defs {\n    router_id lb\n}\n";

fn new_text(node: &str) -> String {
    format!("global_defs {{\n    router_id {node}\n}}\n")
}

/// A cluster of `n` nodes whose keepalived.conf all say `router_id lb` (CL010's safe fix
/// gives each its node name).
fn cluster(dir: &Path, n: usize) -> PathBuf {
    let c = dir.join("c");
    for i in 1..=n {
        common::write_tree(&c, &[(&format!("ha{i}/keepalived.conf"), OLD)]);
    }
    c
}

/// Whether this machine lets the test make namespaces; prints why not.
fn can_unshare(test: &str, flags: &str) -> bool {
    let ok = Command::new("unshare")
        .args([flags, "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg = format!("{test}: skipped: `unshare {flags}` is not available (needs root)");
        if std::env::var("HACONF_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("{msg} (HACONF_REQUIRE_ORACLES=1)");
        }
        common::skip_notice(&msg);
    }
    ok
}

fn is_root(test: &str) -> bool {
    // SAFETY-free: the effective uid from /proc.
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        common::skip_notice(&format!("{test}: skipped: needs root (chown)"));
    }
    root
}

/// Every name in `dir` that haconf left there besides the files and their backups.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("haconf-tmp") || n.contains("haconf-old"))
        .collect()
}

#[test]
fn a_link_planted_at_the_backup_name_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path(), 2);
    let victim = dir.path().join("passwd");
    std::fs::write(&victim, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    // The backup names of haconf 0.1 and of now.
    for name in ["keepalived.conf.haconf-bak", ".keepalived.conf.haconf-bak"] {
        std::os::unix::fs::symlink(&victim, c.join("ha1").join(name)).unwrap();
    }
    let o = haconf().args(["fix", "--write"]).arg(&c).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "root:x:0:0:root:/root:/bin/bash\n",
        "the file behind the planted link was written:\n{err}"
    );
    // Refused, all of it: the link is named, and nothing was written anywhere.
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(".keepalived.conf.haconf-bak is not a regular file"),
        "{err}"
    );
    assert!(err.contains("Nothing was written"), "{err}");
    for node in ["ha1", "ha2"] {
        assert_eq!(
            std::fs::read_to_string(c.join(node).join("keepalived.conf")).unwrap(),
            OLD
        );
    }
    // Without a backup the write goes ahead, and still touches nothing behind a link.
    let o = haconf()
        .args(["fix", "--write", "--no-backup"])
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "root:x:0:0:root:/root:/bin/bash\n"
    );
    assert!(
        std::fs::symlink_metadata(c.join("ha1/.keepalived.conf.haconf-bak"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// haconf runs as PID 1 of a PID namespace of its own, so a temporary name built from the
/// process id (haconf 0.1: `.keepalived.conf.haconf-tmp-1`) can be planted in advance.
#[test]
fn links_planted_at_temporary_names_are_never_followed() {
    let test = "links_planted_at_temporary_names_are_never_followed";
    if !can_unshare(test, "-pf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path(), 2);
    let victim = dir.path().join("shadow");
    std::fs::write(&victim, "untouched\n").unwrap();
    let names = [
        ".keepalived.conf.haconf-tmp-1",
        ".keepalived.conf.haconf-tmp-1-0000000000000000",
        ".keepalived.conf.haconf-old-1-0000000000000000",
        ".keepalived.conf.haconf-tmp-2-0000000000000000",
    ];
    for node in ["ha1", "ha2"] {
        for n in names {
            std::os::unix::fs::symlink(&victim, c.join(node).join(n)).unwrap();
        }
    }
    let run = |args: &str| {
        Command::new("unshare")
            .args([
                "-pf",
                "sh",
                "-c",
                &format!("exec {} {args}", env!("CARGO_BIN_EXE_haconf")),
            ])
            .output()
            .unwrap()
    };
    let o = run(&format!("fix --write {}", c.display()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "untouched\n",
        "written through a planted link:\n{err}"
    );
    assert_eq!(o.status.code(), Some(0), "{err}");
    for node in ["ha1", "ha2"] {
        let f = c.join(node).join("keepalived.conf");
        assert!(!std::fs::symlink_metadata(&f).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&f).unwrap(), new_text(node));
        // The planted links are still links, untouched.
        for n in names {
            assert!(
                std::fs::symlink_metadata(c.join(node).join(n))
                    .unwrap()
                    .is_symlink()
            );
        }
    }
    // generate: a planted link at the temporary name and at the file itself.
    let spec = dir.path().join("spec/haconf.toml");
    common::write_tree(
        dir.path(),
        &[(
            "spec/haconf.toml",
            "[cluster]\nname = \"web\"\nauth_pass = \"s3cret\"\n\n[[node]]\nname = \"ha1\"\naddress = \"10.0.0.11\"\n\n[[node]]\nname = \"ha2\"\naddress = \"10.0.0.12\"\n\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n",
        )],
    );
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("ha1")).unwrap();
    for n in ["keepalived.conf", ".keepalived.conf.haconf-tmp-1"] {
        std::os::unix::fs::symlink(&victim, out.join("ha1").join(n)).unwrap();
    }
    let o = run(&format!(
        "generate {} --out {}",
        spec.display(),
        out.display()
    ));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    let ka = out.join("ha1/keepalived.conf");
    assert!(std::fs::symlink_metadata(&ka).unwrap().is_file());
    assert!(
        std::fs::read_to_string(&ka)
            .unwrap()
            .contains("vrrp_instance")
    );
}

#[test]
fn owner_and_mode_are_kept_on_the_file_and_its_backup() {
    let test = "owner_and_mode_are_kept_on_the_file_and_its_backup";
    if !is_root(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path(), 2);
    let f = c.join("ha1/keepalived.conf");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&f, Some(1234), Some(5678)).unwrap();
    let g = c.join("ha2/keepalived.conf");
    std::fs::set_permissions(&g, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&g, Some(0), Some(4321)).unwrap();
    let o = haconf().args(["fix", "--write"]).arg(&c).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (node, mode, uid, gid) in [("ha1", 0o600, 1234, 5678), ("ha2", 0o640, 0, 4321)] {
        let file = c.join(node).join("keepalived.conf");
        let backup = c.join(node).join(".keepalived.conf.haconf-bak");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), new_text(node));
        for p in [&file, &backup] {
            let m = std::fs::metadata(p).unwrap();
            assert_eq!(
                (m.mode() & 0o7777, m.uid(), m.gid()),
                (mode, uid, gid),
                "{}",
                p.display()
            );
        }
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), OLD);
        assert!(leftovers(&c.join(node)).is_empty());
    }
}

/// kill -9 at every moment of a three-file write: each file is old or new, each backup is
/// whole (the older backup or the original), nothing is ever readable by more than the
/// original allowed, and what a killed run leaves (hidden files only) is cleared by the next.
#[test]
fn kill_9_at_any_moment_leaves_every_file_and_backup_whole() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path(), 3);
    let nodes = ["ha1", "ha2", "ha3"];
    let older = "! an older backup\n";
    let reset = || {
        for node in nodes {
            let f = c.join(node).join("keepalived.conf");
            std::fs::write(&f, OLD).unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    };
    for node in nodes {
        let b = c.join(node).join(".keepalived.conf.haconf-bak");
        std::fs::write(&b, older).unwrap();
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // How long a whole run takes, to spread the kills over it.
    reset();
    let t0 = std::time::Instant::now();
    let o = haconf().args(["fix", "--write"]).arg(&c).output().unwrap();
    let full = t0.elapsed();
    assert_eq!(o.status.code(), Some(0));
    let runs = 160u32;
    let (mut untouched, mut partial, mut done, mut left) = (0, 0, 0, 0);
    for i in 0..runs {
        reset();
        let mut child = haconf()
            .args(["fix", "--write"])
            .arg(&c)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(1.2 * f64::from(i) / f64::from(runs)));
        let _ = child.kill();
        let _ = child.wait();
        let mut new = 0;
        for node in nodes {
            let d = c.join(node);
            let text = std::fs::read_to_string(d.join("keepalived.conf")).unwrap();
            assert!(
                text == OLD || text == new_text(node),
                "run {i}: {node}/keepalived.conf is neither old nor new: {text:?}"
            );
            new += usize::from(text != OLD);
            let b = std::fs::read_to_string(d.join(".keepalived.conf.haconf-bak")).unwrap();
            assert!(
                b == older || b == OLD,
                "run {i}: {node}'s backup is not whole: {b:?}"
            );
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let m = std::fs::symlink_metadata(e.path()).unwrap();
                assert_eq!(
                    m.mode() & 0o777,
                    0o600,
                    "run {i}: {node}/{name} is more readable than the original"
                );
                if name != "keepalived.conf" {
                    assert!(
                        name.starts_with('.'),
                        "run {i}: {node}/{name} is not hidden"
                    );
                }
            }
            left += leftovers(&d).len();
        }
        match new {
            0 => untouched += 1,
            3 => done += 1,
            _ => partial += 1,
        }
    }
    eprintln!(
        "kill -9 over {runs} runs: {untouched} before any file was replaced, {partial} half-way, {done} after; {left} hidden leftovers seen"
    );
    // A complete run afterwards clears every leftover.
    reset();
    let o = haconf().args(["fix", "--write"]).arg(&c).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    for node in nodes {
        let d = c.join(node);
        assert!(leftovers(&d).is_empty(), "{node}: {:?}", leftovers(&d));
        assert_eq!(
            std::fs::read_to_string(d.join("keepalived.conf")).unwrap(),
            new_text(node)
        );
        assert_eq!(
            std::fs::read_to_string(d.join(".keepalived.conf.haconf-bak")).unwrap(),
            OLD
        );
    }
}

/// Runs `script` in a private mount namespace; (stdout, stderr).
fn in_mount_ns(script: &str) -> (String, String) {
    let o = Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_disk_that_fills_half_way_through_a_cluster_changes_nothing() {
    let test = "a_disk_that_fills_half_way_through_a_cluster_changes_nothing";
    if !can_unshare(test, "-m") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    // ha1's rewrite fits in what is left of the disk, ha2's (64 KiB) does not.
    let big = format!(
        "{OLD}{}",
        "# padding so the rewrite needs room\n".repeat(2000)
    );
    common::write_tree(
        &src,
        &[("ha1/keepalived.conf", OLD), ("ha2/keepalived.conf", &big)],
    );
    let mnt = dir.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    for backup in ["", "--no-backup"] {
        let script = format!(
            "set -u; mount -t tmpfs -o size=512k tmpfs {m} && cp -r {s} {m}/c && \
             dd if=/dev/zero of={m}/reserve bs=4k count=4 2>/dev/null && \
             (dd if=/dev/zero of={m}/fill bs=4k 2>/dev/null || true) && rm {m}/reserve && \
             {h} fix --write {backup} {m}/c; echo RC=$?; \
             cmp -s {m}/c/ha1/keepalived.conf {s}/ha1/keepalived.conf && echo HA1=intact; \
             cmp -s {m}/c/ha2/keepalived.conf {s}/ha2/keepalived.conf && echo HA2=intact; \
             ls -a {m}/c/ha1 {m}/c/ha2",
            m = mnt.display(),
            s = src.display(),
            h = env!("CARGO_BIN_EXE_haconf"),
        );
        let (out, err) = in_mount_ns(&script);
        assert!(out.contains("RC=2"), "{backup}\n{out}\n{err}");
        assert!(err.contains("No space left on device"), "{backup}\n{err}");
        assert!(
            out.contains("HA1=intact") && out.contains("HA2=intact"),
            "the cluster was changed half-way ({backup}):\n{out}\n{err}"
        );
        assert!(
            err.contains("Nothing was written") && !err.contains("Applied"),
            "the summary is not true ({backup}):\n{err}"
        );
        assert!(
            !out.contains("haconf-tmp") && !out.contains("haconf-old"),
            "{out}"
        );
    }
}

#[test]
fn a_read_only_node_in_a_cluster_changes_nothing() {
    let test = "a_read_only_node_in_a_cluster_changes_nothing";
    if !can_unshare(test, "-m") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(dir.path(), 3);
    // ha1 and ha3 writable, ha2 read-only: a writer that goes file by file fixes ha1 first.
    let ro = c.join("ha2");
    let script = format!(
        "mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec {h} fix --write {c}",
        d = ro.display(),
        c = c.display(),
        h = env!("CARGO_BIN_EXE_haconf"),
    );
    let o = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(err.contains("ha2"), "{err}");
    assert!(
        err.contains("Nothing was written") && !err.contains("Applied"),
        "{err}"
    );
    for node in ["ha1", "ha2", "ha3"] {
        assert_eq!(
            std::fs::read_to_string(c.join(node).join("keepalived.conf")).unwrap(),
            OLD,
            "{node} was changed"
        );
        assert!(leftovers(&c.join(node)).is_empty());
        assert!(!c.join(node).join(".keepalived.conf.haconf-bak").exists());
    }
}

/// nginx reads `include sites-enabled/*;` with glob(3), where `*` never matches a leading
/// dot: the backup haconf keeps beside the fixed site is not loaded (haconf 0.1's
/// `default.haconf-bak` was, and `nginx -t` failed on a duplicate default server). haconf's
/// own reading skips it too.
#[test]
#[cfg_attr(not(haconf_has_nginx), ignore = "needs nginx")]
fn nginx_does_not_load_the_backup_of_a_fixed_site() {
    let test = "nginx_does_not_load_the_backup_of_a_fixed_site";
    if !common::require_tool(test, "nginx", &["-v"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let pid = dir.path().join("nginx.pid");
    let nginx_conf = format!(
        "pid {};\nerror_log stderr;\nevents {{}}\nhttp {{\n    access_log off;\n    include sites-enabled/*;\n}}\n",
        pid.display()
    );
    let site = "server {\n    listen 127.0.0.1:8089 default_server;\n    index index.html index.html;\n}\n";
    for node in ["ha1", "ha2"] {
        common::write_tree(
            &c,
            &[
                (&format!("{node}/keepalived.conf"), OLD),
                (&format!("{node}/nginx.conf"), &nginx_conf),
                (&format!("{node}/sites-enabled/default"), site),
            ],
        );
    }
    let o = haconf()
        .args(["fix", "--write", "--select", "NX011"])
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let node = c.join("ha1");
    assert_eq!(
        std::fs::read_to_string(node.join("sites-enabled/default")).unwrap(),
        "server {\n    listen 127.0.0.1:8089 default_server;\n    index index.html;\n}\n"
    );
    let t = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(&node)
        .arg("-c")
        .arg(node.join("nginx.conf"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&t.stderr);
    assert!(t.status.success(), "nginx -t after fix --write:\n{text}");
    assert!(!text.contains("duplicate"), "{text}");
    assert_eq!(
        std::fs::read_to_string(node.join("sites-enabled/.default.haconf-bak")).unwrap(),
        site
    );
    // haconf reads what nginx reads: the backup is not linted, nothing is left to fix.
    let again = haconf()
        .args(["fix", "--check", "--select", "NX011"])
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    let check = haconf()
        .args(["check", "--format", "concise"])
        .arg(&c)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&check.stdout).contains("haconf-bak"),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn files_holding_a_secret_are_created_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let spec_dir = dir.path().join("spec");
    common::write_tree(
        &spec_dir,
        &[(
            "haconf.toml",
            "[cluster]\nname = \"web\"\nauth_pass = \"s3cret\"\n\n[[node]]\nname = \"ha1\"\naddress = \"10.0.0.11\"\n\n[[node]]\nname = \"ha2\"\naddress = \"10.0.0.12\"\n\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n",
        )],
    );
    let spec = spec_dir.join("haconf.toml");
    std::fs::set_permissions(&spec, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = dir.path().join("out");
    let o = haconf()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for node in ["ha1", "ha2"] {
        let ka = out.join(node).join("keepalived.conf");
        assert!(std::fs::read_to_string(&ka).unwrap().contains("auth_pass"));
        assert_eq!(mode(&ka), 0o600, "{}", ka.display());
        assert_eq!(mode(&out.join(node).join("chk_nginx.sh")), 0o755);
    }
    // The spec's copy holds the password: owner-only.
    assert_eq!(mode(&out.join("haconf.toml")), 0o600);
    // init from 0600 configs (or stricter) writes a spec no more readable than they are.
    std::fs::remove_file(out.join("haconf.toml")).unwrap();
    std::fs::set_permissions(
        out.join("ha2/keepalived.conf"),
        std::fs::Permissions::from_mode(0o400),
    )
    .unwrap();
    let o = haconf().arg("init").arg(&out).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let written = out.join("haconf.toml");
    assert!(
        std::fs::read_to_string(&written)
            .unwrap()
            .contains("auth_pass")
    );
    assert_eq!(mode(&written), 0o400);
    // A cache entry of shellcheck's answers is owner-only as well (they quote the scripts).
    let cache = dir.path().join("cache");
    common::write_tree(
        dir.path(),
        &[
            (
                "sc/ha1/keepalived.conf",
                "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
            ),
            ("sc/ha1/chk.sh", "#!/bin/sh\necho $1\nexit 0\n"),
        ],
    );
    if common::require_tool(
        "files_holding_a_secret_are_created_owner_only (shellcheck cache)",
        "shellcheck",
        &["--version"],
    ) {
        haconf()
            .args(["check", "--extend-select", "SC"])
            .arg(dir.path().join("sc"))
            .env("HACONF_CACHE_DIR", &cache)
            .output()
            .unwrap();
        let entries = common::files_below(&cache);
        assert!(!entries.is_empty(), "no cache entry written");
        for e in entries {
            assert_eq!(mode(&e), 0o600, "{}", e.display());
        }
        assert_eq!(mode(&cache.join("shellcheck")), 0o700);
    }
}
