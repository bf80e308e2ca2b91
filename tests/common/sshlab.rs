//! Real SSH hosts made by a test, for `haconf pull`.
//!
//! Each host is a network namespace of the test's own running Debian's real `sshd` (its own
//! config, host key and `authorized_keys`, all generated here), inside private mount, UTS and
//! PID namespaces where the host's files appear at `/etc/keepalived`, `/etc/nginx` and
//! `/usr/local/sbin` (bind mounts of the test's directories), with its own `/run`, host name,
//! `/etc/passwd` (root's shell is `/bin/sh`, its home the test's) and process list. The
//! hosts hang off a bridge in a client namespace, where haconf runs: nothing is reachable
//! from anywhere else, and nothing of the machine's network is touched. Names carry the
//! test process's id and a counter; everything is killed and deleted on drop.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How the client's `known_hosts` knows a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKey {
    Known,
    /// A different key is recorded for its address (the key "changed").
    Wrong,
    /// Not recorded at all.
    Unknown,
}

/// One host to create.
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub name: String,
    /// `(absolute path, content, mode)`: under /etc/keepalived, /etc/nginx or /usr/local/sbin.
    pub files: Vec<(String, String, u32)>,
    /// FIFOs to create (absolute paths).
    pub fifos: Vec<String>,
    /// Sparse files of this size (absolute paths).
    pub huge: Vec<(String, u64)>,
    /// Whether an nginx binary is there.
    pub nginx: bool,
    /// Extra addresses on eth0 (`10.77.0.100/24`).
    pub addrs: Vec<String>,
    /// Whether the `keepalived_script` user exists.
    pub script_user: bool,
    /// Start keepalived (`/etc/keepalived/keepalived.conf`) before sshd.
    pub keepalived: bool,
    /// Every SSH session waits this long first (a slow host).
    pub delay_ms: u64,
    pub key: HostKey,
    /// Our key is in authorized_keys.
    pub authorized: bool,
}

impl HostSpec {
    pub fn new(name: &str) -> HostSpec {
        HostSpec {
            name: name.to_owned(),
            files: Vec::new(),
            fifos: Vec::new(),
            huge: Vec::new(),
            nginx: true,
            addrs: Vec::new(),
            script_user: false,
            keepalived: false,
            delay_ms: 0,
            key: HostKey::Known,
            authorized: true,
        }
    }

    pub fn file(mut self, path: &str, content: &str, mode: u32) -> HostSpec {
        self.files.push((path.to_owned(), content.to_owned(), mode));
        self
    }
}

pub struct LabHost {
    pub name: String,
    pub ns: String,
    pub ip: String,
    pub root: PathBuf,
    sshd: Option<Child>,
}

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub client: String,
    prefix: String,
    pub hosts: Vec<LabHost>,
    /// `Host` entries for names that have no host behind them.
    down: Vec<(String, String)>,
    pub ssh_config: PathBuf,
    pub known_hosts: PathBuf,
    key: PathBuf,
    next_ip: u8,
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run a command")
}

fn ok(cmd: &mut Command) -> bool {
    run(cmd).status.success()
}

fn ip(args: &[&str]) {
    let o = run(Command::new("ip").args(args));
    assert!(
        o.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Prints why the lab cannot run (or panics under HACONF_REQUIRE_ORACLES=1).
fn skip(test: &str, why: &str) {
    let msg = format!("{test}: skipped: {why}");
    if std::env::var("HACONF_REQUIRE_ORACLES").as_deref() == Ok("1") {
        panic!("{msg} (HACONF_REQUIRE_ORACLES=1)");
    }
    // Straight to stderr: libtest would capture `eprintln!` of a passing test.
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Whether the tools the lab needs are installed.
fn can_run(test: &str) -> bool {
    let missing = [
        ("/usr/sbin/sshd", "openssh-server"),
        ("/usr/bin/ssh", "openssh-client"),
        ("/usr/bin/ssh-keygen", "openssh-client"),
        ("/usr/bin/unshare", "util-linux"),
    ]
    .iter()
    .find(|(p, _)| !Path::new(p).exists())
    .map(|(p, pkg)| format!("{p} ({pkg}) is missing"));
    match missing {
        None => true,
        Some(w) => {
            skip(test, &w);
            false
        }
    }
}

fn keygen(path: &Path) -> String {
    let o = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "haconf-test", "-f"])
        .arg(path));
    assert!(
        o.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_owned()
}

impl Lab {
    /// A client namespace with a bridge (10.77.0.1/24), and a user key. `None` (with the
    /// reason printed) when the machine cannot run it.
    pub fn new(test: &str) -> Option<Lab> {
        if !can_run(test) {
            return None;
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let prefix = format!("hp{}x{n}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("haconf-sshlab-")
            .tempdir()
            .unwrap();
        let client = format!("{prefix}c");
        if !ok(Command::new("ip").args(["netns", "add", &client])) {
            skip(
                test,
                "cannot create a network namespace (needs root and iproute2)",
            );
            return None;
        }
        let lab = Lab {
            ssh_config: dir.path().join("ssh_config"),
            known_hosts: dir.path().join("known_hosts"),
            key: dir.path().join("id_client"),
            dir,
            client,
            prefix,
            hosts: Vec::new(),
            down: Vec::new(),
            next_ip: 10,
        };
        let c = lab.client.clone();
        ip(&["-n", &c, "link", "set", "lo", "up"]);
        ip(&["-n", &c, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &c, "addr", "add", "10.77.0.1/24", "dev", "br0"]);
        ip(&["-n", &c, "link", "set", "br0", "up"]);
        keygen(&lab.key);
        std::fs::write(&lab.known_hosts, "").unwrap();
        lab.write_config();
        Some(lab)
    }

    fn write_config(&self) {
        let mut s = String::new();
        for h in &self.hosts {
            s.push_str(&format!("Host {}\n  HostName {}\n", h.name, h.ip));
        }
        for (name, ip) in &self.down {
            s.push_str(&format!("Host {name}\n  HostName {ip}\n"));
        }
        s.push_str(&format!(
            "Host *\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  ConnectTimeout 5\n",
            self.key.display(),
            self.known_hosts.display()
        ));
        std::fs::write(&self.ssh_config, s).unwrap();
    }

    /// A name in the ssh config whose address nobody has (a host that is down).
    pub fn add_down(&mut self, name: &str) {
        let ip = format!("10.77.0.{}", 200 + self.down.len());
        self.down.push((name.to_owned(), ip));
        self.write_config();
    }

    pub fn host(&self, name: &str) -> &LabHost {
        self.hosts.iter().find(|h| h.name == name).unwrap()
    }

    /// Creates and starts a host; returns once its sshd listens.
    pub fn add(&mut self, spec: HostSpec) {
        let i = self.hosts.len();
        let ns = format!("{}h{i}", self.prefix);
        let ipaddr = format!("10.77.0.{}", self.next_ip);
        self.next_ip += 1;
        ip(&["netns", "add", &ns]);
        let veth = format!("v{i}");
        ip(&[
            "-n",
            &self.client,
            "link",
            "add",
            &veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &ns,
        ]);
        ip(&["-n", &self.client, "link", "set", &veth, "master", "br0"]);
        ip(&["-n", &self.client, "link", "set", &veth, "up"]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{ipaddr}/24"),
            "dev",
            "eth0",
        ]);
        for a in &spec.addrs {
            ip(&["-n", &ns, "addr", "add", a, "dev", "eth0"]);
        }
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);

        let base = self.dir.path().join("hosts").join(&spec.name);
        let root = base.join("root");
        for d in [
            "etc/keepalived",
            "etc/nginx",
            "usr/local/sbin",
            "log",
            "home",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        if spec.nginx {
            // nginx -T needs the files its config includes that the package ships.
            std::fs::copy("/etc/nginx/mime.types", root.join("etc/nginx/mime.types")).ok();
        }
        for (path, text, mode) in &spec.files {
            let p = root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        for f in &spec.fifos {
            let p = root.join(f.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            assert!(ok(Command::new("mkfifo").arg(&p)), "mkfifo {}", p.display());
        }
        for (f, size) in &spec.huge {
            let p = root.join(f.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::File::create(&p).unwrap().set_len(*size).unwrap();
        }
        // The host's users: root logs in to /bin/sh in a home of the test's, not the machine's.
        let home = root.join("home");
        let mut passwd: String = std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("root:") && !l.starts_with("keepalived_script:"))
            .map(|l| format!("{l}\n"))
            .collect();
        passwd.insert_str(0, &format!("root:x:0:0:root:{}:/bin/sh\n", home.display()));
        let mut group = std::fs::read_to_string("/etc/group").unwrap();
        if spec.script_user {
            passwd.push_str("keepalived_script:x:64999:64999::/nonexistent:/usr/sbin/nologin\n");
            group.push_str("keepalived_script:x:64999:\n");
        }
        std::fs::write(base.join("passwd"), passwd).unwrap();
        std::fs::write(base.join("group"), group).unwrap();
        std::fs::write(base.join("no-nginx"), "").unwrap();

        let hostkey = base.join("host_key");
        let public = keygen(&hostkey);
        let recorded = match spec.key {
            HostKey::Known => Some(public),
            HostKey::Wrong => Some(keygen(&base.join("other_key"))),
            HostKey::Unknown => None,
        };
        if let Some(k) = recorded {
            let mut kh = std::fs::read_to_string(&self.known_hosts).unwrap();
            kh.push_str(&format!("{ipaddr} {k}\n"));
            std::fs::write(&self.known_hosts, kh).unwrap();
        }
        let client_pub = std::fs::read_to_string(self.key.with_extension("pub")).unwrap();
        let auth = if !spec.authorized {
            String::new()
        } else if spec.delay_ms > 0 {
            format!(
                "command=\"sleep {}; exec sh -c \\\"$SSH_ORIGINAL_COMMAND\\\"\" {client_pub}",
                spec.delay_ms as f64 / 1000.0
            )
        } else {
            client_pub
        };
        std::fs::write(base.join("authorized_keys"), auth).unwrap();
        std::fs::write(
            base.join("sshd_config"),
            format!(
                "ListenAddress {ipaddr}\nHostKey {}\nAuthorizedKeysFile {}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile none\nMaxSessions 100\nMaxStartups 100\nPrintMotd no\nPrintLastLog no\n",
                hostkey.display(),
                base.join("authorized_keys").display()
            ),
        )
        .unwrap();
        let mut script = format!(
            "set -e\nhostname {name}\nmount -t tmpfs tmpfs /run\nmkdir -m 755 /run/sshd\nmount --bind {r}/etc/keepalived /etc/keepalived\nmount --bind {r}/etc/nginx /etc/nginx\nmount --bind {r}/usr/local/sbin /usr/local/sbin\nmount --bind {r}/log /var/log/nginx\nmount --bind {b}/passwd /etc/passwd\nmount --bind {b}/group /etc/group\n",
            name = spec.name,
            r = root.display(),
            b = base.display()
        );
        if !spec.nginx {
            // An nginx that is not installed: what is at its path cannot be executed.
            script.push_str(&format!(
                "mount --bind {}/no-nginx /usr/sbin/nginx\n",
                base.display()
            ));
        }
        if spec.keepalived {
            script.push_str("keepalived -D -l -f /etc/keepalived/keepalived.conf\n");
        }
        script.push_str(&format!(
            "exec /usr/sbin/sshd -D -e -f {}\n",
            base.join("sshd_config").display()
        ));
        let log = base.join("sshd.log");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "unshare",
                "-m",
                "-u",
                "-p",
                "-f",
                "--mount-proc",
            ])
            .args(["--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        self.hosts.push(LabHost {
            name: spec.name.clone(),
            ns,
            ip: ipaddr,
            root,
            sshd: Some(child),
        });
        self.write_config();
        let t = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Server listening") {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "sshd of {} did not start:\n{text}",
                spec.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `haconf ARGS` in the client namespace, from `cwd`; killed (and the test failed) after
    /// `limit`: a pull must never hang.
    pub fn haconf(&self, cwd: &Path, args: &[&str], limit: Duration) -> Output {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.client])
            .arg(env!("CARGO_BIN_EXE_haconf"))
            .args(args)
            .current_dir(cwd)
            .env("HOME", self.dir.path())
            .env_remove("SSH_AUTH_SOCK")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if t.elapsed() > limit {
                let _ = child.kill();
                let o = child.wait_with_output().unwrap();
                panic!(
                    "haconf {} did not finish in {limit:?}:\n{}",
                    args.join(" "),
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    /// A shell command on a host, over ssh (the test's own doing, not haconf's).
    pub fn ssh(&self, host: &str, cmd: &str) -> Output {
        run(Command::new("ip")
            .args(["netns", "exec", &self.client, "ssh", "-F"])
            .arg(&self.ssh_config)
            .args([host, cmd]))
    }

    /// Whether the host has `addr` on an interface now.
    pub fn holds(&self, host: &str, addr: &str) -> bool {
        let o = run(Command::new("ip").args(["-n", &self.host(host).ns, "-br", "addr"]));
        String::from_utf8_lossy(&o.stdout).contains(&format!("{addr}/"))
    }

    /// Waits (at most `limit`) until `cond` holds.
    pub fn wait(&self, what: &str, limit: Duration, cond: impl Fn(&Lab) -> bool) {
        let t = Instant::now();
        while !cond(self) {
            assert!(t.elapsed() < limit, "{what}: not after {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            if let Ok(o) = Command::new("ip").args(["netns", "pids", &h.ns]).output() {
                for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", p]).output();
                }
            }
            if let Some(mut c) = h.sshd.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
            let _ = Command::new("ip").args(["netns", "del", &h.ns]).output();
        }
        if let Ok(o) = Command::new("ip")
            .args(["netns", "pids", &self.client])
            .output()
        {
            for p in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", p]).output();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.client])
            .output();
    }
}
