//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The steering repo's `shared/` directory (corpus, reference tables, oracle results).
pub fn shared() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("HACONF_SHARED").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("shared")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("corpus").is_dir())
}

/// The shared corpus, or a skip (a failure when CI demands it).
pub fn shared_or_skip(test: &str) -> Option<PathBuf> {
    match shared() {
        Some(p) => Some(p),
        None => {
            let msg = format!(
                "{test}: skipped: ../shared (the corpus) is not beside the repo; set HACONF_SHARED"
            );
            if std::env::var("HACONF_REQUIRE_ORACLES").as_deref() == Ok("1") {
                panic!("{msg} (HACONF_REQUIRE_ORACLES=1)");
            }
            skip_notice(&msg);
            None
        }
    }
}

/// Whether an external tool is installed; prints the reason and returns false to skip, or
/// panics when `HACONF_REQUIRE_ORACLES=1`.
pub fn require_tool(test: &str, tool: &str, args: &[&str]) -> bool {
    let ok = Command::new(tool).args(args).output().is_ok();
    if !ok {
        let msg = format!("{test}: skipped: `{tool}` is not installed");
        if std::env::var("HACONF_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("{msg} (HACONF_REQUIRE_ORACLES=1)");
        }
        skip_notice(&msg);
    }
    ok
}

/// Prints a skip where `cargo test` shows it: libtest captures `eprintln!` of a passing test,
/// but not a direct write to the process's stderr.
pub fn skip_notice(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}

pub fn haconf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_haconf"))
}

/// Every regular file below `dir`, sorted.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                let Ok(m) = std::fs::symlink_metadata(&p) else {
                    continue;
                };
                if m.is_dir() {
                    stack.push(p);
                } else if m.is_file() {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Writes `(relative path, content)` pairs below `dir`.
pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        // Scripts are shipped executable, as a deployment would.
        if content.starts_with("#!") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

/// A network namespace of the test's own, with veth interfaces of the given names (each
/// up, with an address), so `keepalived -t` finds the interfaces a config names.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(test: &str, interfaces: &[&str]) -> Option<Netns> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("haconf-{}-{n}", std::process::id());
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !ip(&["netns", "add", &name]) {
            let msg = format!(
                "{test}: skipped: cannot create a network namespace (needs root and iproute2)"
            );
            if std::env::var("HACONF_REQUIRE_ORACLES").as_deref() == Ok("1") {
                panic!("{msg} (HACONF_REQUIRE_ORACLES=1)");
            }
            skip_notice(&msg);
            return None;
        }
        let ns = Netns { name };
        for (i, ifname) in interfaces.iter().enumerate() {
            let peer = format!("hcpeer{i}");
            let ok = ip(&[
                "-n", &ns.name, "link", "add", ifname, "type", "veth", "peer", "name", &peer,
            ]) && ip(&["-n", &ns.name, "link", "set", ifname, "up"])
                && ip(&["-n", &ns.name, "link", "set", &peer, "up"])
                && ip(&[
                    "-n",
                    &ns.name,
                    "addr",
                    "add",
                    &format!("10.199.{i}.1/24"),
                    "dev",
                    ifname,
                ]);
            assert!(ok, "could not set up interface {ifname} in {}", ns.name);
        }
        Some(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A terminal program run in a tmux server of the test's own (its own socket), to answer its
/// prompts and read its screen.
pub struct Tmux {
    session: String,
}

impl Tmux {
    /// Starts `cmd` in a 160×50 terminal; `None` (with the reason printed, or a panic under
    /// `HACONF_REQUIRE_ORACLES=1`) when tmux is missing.
    pub fn start(test: &str, cmd: &str) -> Option<Tmux> {
        if !require_tool(test, "tmux", &["-V"]) {
            return None;
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let t = Tmux {
            session: format!("haconf-test-{}-{n}", std::process::id()),
        };
        let s = t.session.clone();
        let ok = t.run(&["new-session", "-d", "-s", &s, "-x", "160", "-y", "50", cmd]);
        assert!(ok.status.success(), "tmux did not start");
        Some(t)
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        // A terminal type CI may lack otherwise.
        Command::new("tmux")
            .args(["-L", &self.session])
            .args(args)
            .env("TERM", "xterm")
            .output()
            .unwrap()
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                // The whole history, not only the visible part: a prompt that scrolled off
                // still counts.
                .run(&["capture-pane", "-t", &self.session, "-p", "-S", "-"])
                .stdout,
        )
        .into_owned()
    }

    /// Waits (20 s at most: CI machines are slow and shared) until `what` is on the screen
    /// `count` times.
    pub fn wait_for(&self, what: &str, count: usize) {
        for _ in 0..400 {
            if self.screen().matches(what).count() >= count {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("`{what}` did not appear:\n{}", self.screen());
    }

    /// Types `keys` and Enter.
    pub fn answer(&self, keys: &str) {
        self.run(&["send-keys", "-t", &self.session, keys, "Enter"]);
    }

    /// Presses keys without Enter: literal text, or a tmux key name such as `C-c`.
    pub fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", &self.session, keys]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}
