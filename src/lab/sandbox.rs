//! The lab's machines: network, mount and PID namespaces of haconf's own, and nothing else.
//!
//! Every namespace is held by an `unshare` process that haconf starts; none is named in
//! `/run/netns`, no interface, route, service or file of the host is touched. A node is a PID
//! namespace (so its `ps`, `pidof` and `kill` see only its own processes), a mount namespace
//! (its files overlaid on `/etc`, `/usr`, ..., writes going to a tmpfs; private `/run` and
//! `/tmp`) and a network namespace (one veth named as its config's interface). A switch
//! namespace holds the bridge; a client namespace requests the VIP. The holders die with the
//! thread that started them (`PR_SET_PDEATHSIG`), the kernel then kills everything in each PID
//! namespace and frees the network namespaces, so even a `kill -9` of haconf leaves nothing;
//! [`Sandbox`]'s `Drop` does the same on exit, on a panic and after Ctrl-C or SIGTERM.

use std::io::Read;
use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by SIGINT / SIGTERM / SIGHUP: every loop of the lab checks it and unwinds.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Turns Ctrl-C, SIGTERM and SIGHUP into [`STOP`], so the lab tears itself down.
pub(crate) fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

pub(crate) fn stopped() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Sleeps `d`, waking early when the lab is told to stop.
pub(crate) fn nap(d: Duration) -> Result<(), String> {
    let end = Instant::now() + d;
    loop {
        if stopped() {
            return Err("interrupted".into());
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// A namespace holder: the `unshare` process, and the PID to enter (the new PID namespace's
/// init for a node; the holder itself otherwise).
struct Holder {
    child: Child,
    target: u32,
}

fn spawn_holder(args: &[&str], keep: bool) -> Result<Holder, String> {
    let mut cmd = Command::new("unshare");
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Out of the terminal's process group: Ctrl-C reaches haconf, which cleans up.
        .process_group(0);
    if !keep {
        // SAFETY: prctl is async-signal-safe and touches only the child being created.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    let pid = child.id();
    let mut h = Holder { child, target: pid };
    if !args.contains(&"--fork") {
        h.wait_unshared()?;
    }
    Ok(h)
}

/// The namespace a process is in, as the kernel names it (`net:[4026531840]`).
fn ns_of(pid: &str, kind: &str) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()
}

impl Holder {
    /// Waits until the target is in a network namespace of its own: until `unshare` has
    /// run, entering its PID would enter the host's (and change the host).
    fn wait_unshared(&mut self) -> Result<(), String> {
        let host = ns_of("self", "net").ok_or("cannot read /proc/self/ns/net")?;
        let t = Instant::now();
        loop {
            let pid = self.target.to_string();
            match ns_of(&pid, "net") {
                Some(n) if n != host => return Ok(()),
                _ => {}
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("unshare failed ({st}): {}", err.trim()));
            }
            if t.elapsed() > Duration::from_secs(10) {
                return Err("a lab namespace was not created within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// For a holder that forked into a new PID namespace: its child, the namespace's init.
    fn find_init(&mut self) -> Result<(), String> {
        let pid = self.child.id();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(st)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("a lab node did not start ({st}): {}", err.trim()));
            }
            let c = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            if let Some(p) = c.split_whitespace().next().and_then(|p| p.parse().ok()) {
                self.target = p;
                return self.wait_unshared();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err("a lab node did not start within 10 s".into())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One node of the lab.
pub(crate) struct NodeBox {
    pub name: String,
    holder: Holder,
    /// The switch-side end of its veth.
    pub port: String,
    /// Host-side directory bound at `/run/lab` inside the node (logs, stubs).
    pub run_dir: PathBuf,
}

pub(crate) struct Sandbox {
    dir: Option<tempfile::TempDir>,
    switch: Holder,
    client: Holder,
    pub nodes: Vec<NodeBox>,
    keep: bool,
}

/// Runs a command and returns its stdout, or its stderr as the error.
fn run(cmd: &mut Command) -> Result<String, String> {
    let o = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}",
            format!("{cmd:?}").replace('"', ""),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

fn enter(target: u32, pid_mount: bool) -> Command {
    let mut c = Command::new("nsenter");
    c.arg("-t").arg(target.to_string()).arg("-n");
    if pid_mount {
        c.args(["-m", "-p"]);
    }
    c.arg("--");
    c
}

/// What one node needs to start.
pub(crate) struct NodePlan {
    pub name: String,
    /// Trees overlaid on the host's directories of the same name (`etc`, `usr`, ...), top
    /// first: the node's own files.
    pub root: PathBuf,
    pub ifname: String,
    /// Other interfaces its config names (tracked interfaces, other instances): dummies.
    pub extra_ifs: Vec<String>,
    pub addr: IpAddr,
    pub prefix: u8,
    /// Users the node's configs run as (nginx's `user`), created inside the node when the
    /// host lacks them, as the node's packages would have.
    pub users: Vec<String>,
}

/// The `systemctl` and `service` the node's scripts call: they start and stop this node's
/// own nginx and keepalived, and nothing else.
const SYSTEMCTL: &str = r#"#!/bin/sh
# haconf lab: systemctl for this lab node only (its own nginx and keepalived).
act=""; unit=""
for a in "$@"; do
  case "$a" in
    -*) ;;
    *) if [ -z "$act" ]; then act=$a; elif [ -z "$unit" ]; then unit=${a%.service}; fi ;;
  esac
done
# service(8) order: service NAME ACTION
case "$act" in nginx|keepalived) t=$act; act=$unit; unit=$t ;; esac
running() { [ -n "$(pidof "$1")" ]; }
start() {
  case "$1" in
    nginx) running nginx || nginx ;;
    keepalived) running keepalived || setsid keepalived -n -l -D >>/run/lab/keepalived.log 2>&1 < /dev/null & ;;
    *) return 0 ;;
  esac
}
stop() {
  case "$1" in
    nginx) pids=$(pidof nginx); [ -z "$pids" ] || kill $pids ;;
    keepalived) [ ! -f /run/keepalived.pid ] || kill "$(cat /run/keepalived.pid)" ;;
  esac
  return 0
}
case "$act" in
  start) start "$unit" ;;
  stop) stop "$unit" ;;
  restart|force-reload|try-restart) stop "$unit"; sleep 0.3; start "$unit" ;;
  reload) case "$unit" in nginx) nginx -s reload ;; keepalived) kill -HUP "$(cat /run/keepalived.pid)" ;; esac ;;
  is-active|status) if running "$unit"; then echo active; else echo inactive; exit 3; fi ;;
  is-enabled) echo enabled ;;
  *) exit 0 ;;
esac
"#;

impl Sandbox {
    /// The switch, the client, and every node with its files in place and its link up;
    /// nothing started yet.
    pub(crate) fn new(
        plans: &[NodePlan],
        client_addr: IpAddr,
        multicast: bool,
        keep: bool,
    ) -> Result<Sandbox, String> {
        let dir = tempfile::Builder::new()
            .prefix("haconf-lab-")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        let switch = spawn_holder(&["--net", "--", "sleep", "infinity"], keep)?;
        let client = spawn_holder(&["--net", "--", "sleep", "infinity"], keep)?;
        let mut sb = Sandbox {
            switch,
            client,
            nodes: Vec::new(),
            keep,
            dir: Some(dir),
        };
        let sw = sb.switch.target;
        run(enter(sw, false).args(["ip", "link", "add", "br0", "type", "bridge"]))?;
        // Snooping off: multicast is flooded (lan) or dropped per port (cloud), predictably.
        run(enter(sw, false).args([
            "ip",
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]))?;
        run(enter(sw, false).args(["ip", "link", "set", "br0", "up"]))?;
        for (k, p) in plans.iter().enumerate() {
            let node = sb.start_node(k, p)?;
            sb.nodes.push(node);
        }
        // The client.
        let c = sb.client.target;
        let prefix = plans.first().map_or(24, |p| p.prefix);
        run(enter(sw, false).args([
            "ip",
            "link",
            "add",
            "pc",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &c.to_string(),
        ]))?;
        run(enter(sw, false).args(["ip", "link", "set", "pc", "master", "br0", "up"]))?;
        run(enter(c, false).args(["ip", "link", "set", "lo", "up"]))?;
        run(enter(c, false).args([
            "ip",
            "addr",
            "add",
            &format!("{client_addr}/{prefix}"),
            "dev",
            "eth0",
        ]))?;
        run(enter(c, false).args(["ip", "link", "set", "eth0", "up"]))?;
        if !multicast {
            sb.set_multicast(false)?;
        }
        Ok(sb)
    }

    fn start_node(&mut self, k: usize, p: &NodePlan) -> Result<NodeBox, String> {
        let base = self.path().join(format!("node{k}"));
        let scratch = base.join("scratch");
        let run_dir = base.join("run");
        for d in [&scratch, &run_dir] {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        write_exec(&run_dir.join("systemctl"), SYSTEMCTL)?;
        write_exec(
            &run_dir.join("fail"),
            "#!/bin/sh\n# haconf lab: a check that fails\nexit 1\n",
        )?;
        let q = |p: &Path| shell_quote(&p.display().to_string());
        let mut setup = String::from("set -e\n");
        setup.push_str(&format!("mount -t tmpfs haconf-lab {}\n", q(&scratch)));
        // Each top-level directory of the node's tree, overlaid on the host's.
        let mut tops: Vec<String> = std::fs::read_dir(&p.root)
            .map_err(|e| format!("{}: {e}", p.root.display()))?
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| {
                Path::new("/").join(n).is_dir()
                    && !["proc", "sys", "dev", "run", "tmp"].contains(&n.as_str())
            })
            .collect();
        for must in ["etc", "var", "usr"] {
            if !tops.iter().any(|t| t == must) {
                tops.push(must.to_owned());
            }
        }
        for t in &tops {
            let up = scratch.join(format!("{t}.up"));
            let work = scratch.join(format!("{t}.work"));
            let own = p.root.join(t);
            let lower = if own.is_dir() {
                format!("{}:/{t}", own.display())
            } else {
                format!("/{t}")
            };
            setup.push_str(&format!(
                "mkdir -p {u} {w}\nmount -t overlay haconf-lab -o {o} /{t}\n",
                u = q(&up),
                w = q(&work),
                o = shell_quote(&format!(
                    "lowerdir={lower},upperdir={},workdir={}",
                    up.display(),
                    work.display()
                )),
            ));
        }
        for (i, u) in p.users.iter().enumerate() {
            let u = shell_quote(u);
            let id = 61000 + i;
            setup.push_str(&format!(
                "grep -q ^{u}: /etc/passwd || echo {u}:x:{id}:{id}:haconf lab:/nonexistent:/usr/sbin/nologin >> /etc/passwd\ngrep -q ^{u}: /etc/group || echo {u}:x:{id}: >> /etc/group\n"
            ));
        }
        setup.push_str(&format!(
            "mount -t tmpfs haconf-lab /run\nmkdir -p /run/lab /run/nginx /run/keepalived\nmount --bind {} /run/lab\n",
            q(&run_dir)
        ));
        for prog in ["/usr/bin/systemctl", "/usr/sbin/service"] {
            setup.push_str(&format!(
                "if [ -e {prog} ]; then mount --bind /run/lab/systemctl {prog}; fi\n"
            ));
        }
        setup.push_str("mount -t tmpfs haconf-lab /tmp\ntouch /run/lab/ready\n");
        // pid 1 of the namespace: reaps the orphans keepalived's scripts leave.
        setup.push_str("trap 'exit 0' TERM\nwhile :; do sleep 3600 & wait; done\n");
        let mut holder = spawn_holder(
            &[
                "--net",
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                &setup,
            ],
            self.keep,
        )?;
        holder.find_init()?;
        let t = Instant::now();
        while !run_dir.join("ready").exists() {
            if let Ok(Some(st)) = holder.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = holder.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!(
                    "node {}: setup failed ({st}): {}",
                    p.name,
                    err.trim()
                ));
            }
            if t.elapsed() > Duration::from_secs(10) {
                return Err(format!("node {}: setup did not finish", p.name));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let port = format!("p{k}");
        let sw = self.switch.target;
        let tgt = holder.target.to_string();
        let node = NodeBox {
            name: p.name.clone(),
            holder,
            port: port.clone(),
            run_dir,
        };
        // A Drop of `node` kills its holder if what follows fails.
        let guard = NodeGuard(Some(node));
        run(enter(sw, false).args([
            "ip", "link", "add", &port, "type", "veth", "peer", "name", &p.ifname, "netns", &tgt,
        ]))?;
        run(enter(sw, false).args(["ip", "link", "set", &port, "master", "br0", "up"]))?;
        let n = guard.0.as_ref().expect("set above");
        n.sh("ip link set lo up")?;
        n.sh(&format!(
            "ip addr add {}/{} dev {i} && ip link set {i} up",
            p.addr,
            p.prefix,
            i = shell_quote(&p.ifname)
        ))?;
        // Interfaces the config tracks besides its own: veth pairs, which every kernel has
        // (dummy is a module some lack).
        for (i, x) in p.extra_ifs.iter().enumerate() {
            n.sh(&format!(
                "ip link add {x} type veth peer name hx{i} && ip link set hx{i} up && ip link set {x} up",
                x = shell_quote(x)
            ))?;
        }
        Ok(guard.take())
    }

    /// Floods multicast to every port (lan), or to none (cloud: VRRP adverts to 224.0.0.18
    /// are dropped as a VPC drops them; unicast and ARP broadcasts pass).
    pub(crate) fn set_multicast(&self, on: bool) -> Result<(), String> {
        let sw = self.switch.target;
        let mut ports: Vec<String> = self.nodes.iter().map(|n| n.port.clone()).collect();
        ports.push("pc".into());
        for p in ports {
            run(enter(sw, false).args([
                "bridge",
                "link",
                "set",
                "dev",
                &p,
                "mcast_flood",
                if on { "on" } else { "off" },
            ]))?;
        }
        Ok(())
    }

    /// Takes a node's port off the bridge (a partition: its link stays up) or puts it back.
    pub(crate) fn set_attached(&self, k: usize, on: bool) -> Result<(), String> {
        let sw = self.switch.target;
        let p = &self.nodes[k].port;
        if on {
            run(enter(sw, false).args(["ip", "link", "set", p, "master", "br0"]))?;
        } else {
            run(enter(sw, false).args(["ip", "link", "set", p, "nomaster"]))?;
        }
        Ok(())
    }

    /// The switch side of a node's link, down (a pulled cable: the node sees no carrier) or up.
    pub(crate) fn set_link(&self, k: usize, up: bool) -> Result<(), String> {
        let sw = self.switch.target;
        run(enter(sw, false).args([
            "ip",
            "link",
            "set",
            &self.nodes[k].port,
            if up { "up" } else { "down" },
        ]))?;
        Ok(())
    }

    /// Whether an HTTP request to `vip:port` from the client gets any answer.
    pub(crate) fn client_request(&self, url: &str) -> Command {
        let mut c = enter(self.client.target, false);
        c.args([
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "0.4",
            "-w",
            "%{http_code}",
            url,
        ]);
        c
    }

    /// How to enter the lab, for `--keep`.
    pub(crate) fn how_to_enter(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            s.push_str(&format!(
                "  node {}: nsenter -t {} -n -m -p    (logs: {})\n",
                n.name,
                n.holder.target,
                n.run_dir.display()
            ));
        }
        s.push_str(&format!(
            "  client:   nsenter -t {} -n\n  switch:   nsenter -t {} -n\n",
            self.client.target, self.switch.target
        ));
        let mut pids: Vec<String> = self
            .nodes
            .iter()
            .map(|n| n.holder.child.id().to_string())
            .collect();
        pids.push(self.client.child.id().to_string());
        pids.push(self.switch.child.id().to_string());
        s.push_str(&format!(
            "  remove it: kill -9 {}   (and rm -r {})\n",
            pids.join(" "),
            self.path().display()
        ));
        s
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().expect("kept only at the end").path()
    }

    /// Leaves everything running (for `--keep`): the holders outlive haconf.
    pub(crate) fn keep(mut self) {
        self.keep = true;
        if let Some(d) = self.dir.take() {
            let _ = d.keep();
        }
    }
}

struct NodeGuard(Option<NodeBox>);
impl NodeGuard {
    fn take(mut self) -> NodeBox {
        self.0.take().expect("taken once")
    }
}
impl Drop for NodeGuard {
    fn drop(&mut self) {
        if let Some(n) = &mut self.0 {
            n.holder.kill();
        }
    }
}

impl NodeBox {
    /// A shell command inside the node (its network, mounts and processes).
    pub(crate) fn sh(&self, script: &str) -> Result<String, String> {
        run(enter(self.holder.target, true).args(["sh", "-c", script]))
            .map_err(|e| format!("node {}: {e}", self.name))
    }

    /// The addresses on the node's interfaces, as `ip -o addr` prints them.
    pub(crate) fn addr_cmd(&self) -> Command {
        let mut c = enter(self.holder.target, false);
        c.args(["ip", "-o", "addr", "show"]);
        c
    }

    /// Sends `sig` to every process of the node except the namespace's init.
    pub(crate) fn signal_all(&self, sig: libc::c_int) -> Result<(), String> {
        let ns = std::fs::read_link(format!("/proc/{}/ns/pid", self.holder.target))
            .map_err(|e| format!("node {}: {e}", self.name))?;
        let mut pids = Vec::new();
        for e in std::fs::read_dir("/proc")
            .map_err(|e| e.to_string())?
            .flatten()
        {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if pid as u32 == self.holder.target {
                continue;
            }
            if std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|l| l == ns) {
                pids.push(pid);
            }
        }
        for p in pids {
            // SAFETY: kill(2) with a PID read from this node's own PID namespace just now.
            unsafe {
                libc::kill(p, sig);
            }
        }
        Ok(())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        for n in &mut self.nodes {
            n.holder.kill();
        }
        self.client.kill();
        self.switch.kill();
    }
}

fn write_exec(p: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", p.display()))
}

pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
