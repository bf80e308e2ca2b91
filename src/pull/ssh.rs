//! One SSH connection per host, through the system's OpenSSH client.
//!
//! haconf does not speak SSH itself: the user's `ssh` already knows their `~/.ssh/config`,
//! agent, `ProxyJump` hosts and `known_hosts`, and must keep enforcing them. A master
//! connection (`ControlMaster`) is opened once per host, with its control socket in a private
//! temporary directory, and every remote command runs as a session multiplexed on it; the
//! master is closed and the directory removed when the [`Connection`] is dropped.
//!
//! Host keys are verified as the user's configuration says; haconf never turns checking off.
//! `BatchMode=yes` makes ssh fail instead of prompting (a password or host-key prompt would
//! hang a parallel pull); `accept_new` adds `StrictHostKeyChecking=accept-new` for a first
//! contact, which still refuses a key that changed.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How to run ssh, from the command line.
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// The ssh binary (`ssh` in `PATH` unless `HACONF_SSH` names another).
    pub program: OsString,
    /// `-F FILE`.
    pub config: Option<PathBuf>,
    /// `-l USER`.
    pub user: Option<String>,
    /// `-o OPTION`, passed on as given.
    pub options: Vec<String>,
    /// `StrictHostKeyChecking=accept-new`: trust a host seen for the first time.
    pub accept_new: bool,
    /// `ConnectTimeout`, in seconds.
    pub connect_timeout: u64,
    /// Run the remote commands through `sudo -n` (never prompting).
    pub sudo: bool,
}

/// Why a host could not be read. The kinds map to exit codes (see `docs/pull.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No route, no name, nothing listening, or it did not answer in time.
    Unreachable(String),
    /// It did not answer in time (the connection or the whole pull of the host).
    Timeout(String),
    /// The host key is unknown or does not match `known_hosts`.
    HostKey(String),
    /// The host refused our credentials (or `sudo -n` needs a password).
    Auth(String),
    /// Anything else: ssh missing, a remote shell that is not POSIX, too much output.
    Other(String),
}

impl Failure {
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Unreachable(_) => "unreachable",
            Failure::Timeout(_) => "timeout",
            Failure::HostKey(_) => "host-key",
            Failure::Auth(_) => "refused",
            Failure::Other(_) => "error",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Unreachable(m)
            | Failure::Timeout(m)
            | Failure::HostKey(m)
            | Failure::Auth(m)
            | Failure::Other(m) => m,
        }
    }
}

/// What ssh's messages on stderr say went wrong (its exit status is 255 for all of them).
pub(crate) fn classify(stderr: &str) -> Failure {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("@@@") && !l.starts_with("Warning:"))
        .collect();
    let has = |s: &str| stderr.contains(s);
    let last = lines
        .iter()
        .rev()
        .find(|l| !l.starts_with("Please contact") && !l.starts_with("Offending"))
        .map_or_else(
            || "ssh failed without a message".to_owned(),
            |l| l.to_string(),
        );
    if has("Host key verification failed")
        || has("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || has("No matching host key")
        || has("host key is known for")
    {
        let why = if has("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            "the host key does not match known_hosts (it changed, or this is not the host you think)"
        } else {
            "the host key is not in known_hosts (pass --accept-new-host-keys to trust it on first contact)"
        };
        Failure::HostKey(why.to_owned())
    } else if has("Permission denied") || has("Too many authentication failures") {
        Failure::Auth(last)
    } else if has("timed out") || has("Connection timed out") {
        Failure::Timeout(last)
    } else if has("Connection refused")
        || has("No route to host")
        || has("Network is unreachable")
        || has("Could not resolve hostname")
        || has("Name or service not known")
        || has("Connection closed by")
        || has("Connection reset")
        || has("kex_exchange_identification")
    {
        Failure::Unreachable(last)
    } else {
        Failure::Other(last)
    }
}

/// An open master connection to one host.
pub struct Connection {
    opts: SshOptions,
    dest: String,
    socket: PathBuf,
    master: Option<Child>,
    dir: PathBuf,
}

impl SshOptions {
    /// The arguments every ssh invocation gets, before the destination. `master` is the
    /// `ControlMaster` value.
    fn common(&self, socket: &Path, master: &str) -> Vec<OsString> {
        // ssh keeps the first value it is given for an option: the control socket and the
        // master mode come first, so that nothing the user passes can move them.
        let mut a: Vec<OsString> = vec![
            "-o".into(),
            format!("ControlPath={}", socket.display()).into(),
            "-o".into(),
            format!("ControlMaster={master}").into(),
            "-o".into(),
            "ControlPersist=no".into(),
        ];
        if let Some(c) = &self.config {
            a.push("-F".into());
            a.push(c.into());
        }
        if let Some(u) = &self.user {
            a.push("-l".into());
            a.push(u.into());
        }
        for o in &self.options {
            a.push("-o".into());
            a.push(o.into());
        }
        let mut opt = |s: String| {
            a.push("-o".into());
            a.push(s.into());
        };
        // These come after the user's own -o and lose to them: a user who sets BatchMode=no
        // gets the prompts they asked for.
        opt("BatchMode=yes".into());
        opt(format!("ConnectTimeout={}", self.connect_timeout.max(1)));
        opt("ServerAliveInterval=5".into());
        opt("ServerAliveCountMax=3".into());
        if self.accept_new {
            opt("StrictHostKeyChecking=accept-new".into());
        }
        a.push("-T".into());
        a
    }
}

impl Connection {
    /// Opens the master connection to `dest`, with its control socket in `dir` (private to
    /// this run, named `index`): ready when the socket exists, failed when ssh exits first.
    pub fn open(
        opts: &SshOptions,
        dest: &str,
        dir: &Path,
        index: usize,
        deadline: Instant,
    ) -> Result<Connection, Failure> {
        let socket = dir.join(format!("c{index}"));
        let err_path = dir.join(format!("m{index}.err"));
        let err = std::fs::File::create(&err_path)
            .map_err(|e| Failure::Other(format!("cannot create {}: {e}", err_path.display())))?;
        let mut cmd = Command::new(&opts.program);
        cmd.args(opts.common(&socket, "yes"))
            .arg("-N")
            .arg("--")
            .arg(dest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err);
        let child = cmd.spawn().map_err(|e| {
            Failure::Other(format!(
                "cannot run `{}`: {e}",
                opts.program.to_string_lossy()
            ))
        })?;
        let mut conn = Connection {
            opts: opts.clone(),
            dest: dest.to_owned(),
            socket,
            master: Some(child),
            dir: dir.to_owned(),
        };
        loop {
            if conn.socket.exists() {
                return Ok(conn);
            }
            let status = conn
                .master
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if status.is_some() {
                conn.master = None;
                let text = std::fs::read_to_string(&err_path).unwrap_or_default();
                return Err(classify(&text));
            }
            if Instant::now() >= deadline {
                return Err(Failure::Timeout(format!(
                    "no connection within {} s",
                    opts.connect_timeout
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Runs `script` with `sh -s` (under `sudo -n` when asked) on the host, over the master
    /// connection, and returns what it printed. At most `max_out` bytes are accepted; the
    /// session is killed at `deadline`.
    pub fn run(
        &self,
        script: &[u8],
        deadline: Instant,
        max_out: usize,
    ) -> Result<Vec<u8>, Failure> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let err_path = self.dir.join(format!("s{n}.err"));
        let err = std::fs::File::create(&err_path)
            .map_err(|e| Failure::Other(format!("cannot create {}: {e}", err_path.display())))?;
        let mut cmd = Command::new(&self.opts.program);
        cmd.args(self.opts.common(&self.socket, "no"))
            .arg("--")
            .arg(&self.dest);
        // The remote login shell may be anything (fish, csh): it is only asked to start a
        // POSIX shell, which reads the script from standard input.
        if self.opts.sudo {
            cmd.args(["sudo", "-n", "sh", "-s"]);
        } else {
            cmd.args(["sh", "-s"]);
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(err);
        let mut child = cmd
            .spawn()
            .map_err(|e| Failure::Other(format!("cannot run ssh: {e}")))?;
        let mut stdin = child.stdin.take();
        let input = script.to_vec();
        let writer = std::thread::spawn(move || {
            if let Some(s) = stdin.as_mut() {
                let _ = s.write_all(&input);
            }
            drop(stdin);
        });
        let overflow = Arc::new(AtomicBool::new(false));
        let mut stdout = child.stdout.take();
        let flag = overflow.clone();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            if let Some(s) = stdout.as_mut() {
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => {
                            if out.len() + k > max_out {
                                flag.store(true, Ordering::Relaxed);
                                break;
                            }
                            out.extend_from_slice(&buf[..k]);
                        }
                    }
                }
            }
            out
        });
        let status = wait_until(&mut child, deadline, &overflow);
        let _ = writer.join();
        let out = reader.join().unwrap_or_default();
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        let _ = std::fs::remove_file(&err_path);
        match status {
            None if overflow.load(Ordering::Relaxed) => Err(Failure::Other(format!(
                "the host sent more than {} MiB in one answer",
                max_out >> 20
            ))),
            None => Err(Failure::Timeout("the host did not answer in time".into())),
            Some(s) if s.code() == Some(255) => Err(classify(&stderr)),
            Some(s) if !s.success() => {
                let msg = stderr
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("the remote shell failed")
                    .trim()
                    .to_owned();
                if self.opts.sudo && stderr.contains("sudo") {
                    Err(Failure::Auth(msg))
                } else {
                    Err(Failure::Other(msg))
                }
            }
            Some(_) => Ok(out),
        }
    }
}

/// Waits for `child` until `deadline` (or until the reader gave up on too much output); kills
/// it then. `None` when it was killed.
fn wait_until(child: &mut Child, deadline: Instant, overflow: &AtomicBool) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) => {}
            Err(_) => break,
        }
        if Instant::now() >= deadline || overflow.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(mut m) = self.master.take() {
            // `-O exit` asks the master to close cleanly; a master that does not answer is
            // killed all the same.
            let _ = Command::new(&self.opts.program)
                .args(self.opts.common(&self.socket, "no"))
                .args(["-O", "exit", "--"])
                .arg(&self.dest)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(500) {
                if let Ok(Some(_)) = m.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = m.kill();
            let _ = m.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_messages_are_classified() {
        let k = |s: &str| classify(s).kind();
        assert_eq!(k("Host key verification failed.\r\n"), "host-key");
        assert_eq!(
            k(
                "@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\n"
            ),
            "host-key"
        );
        assert_eq!(
            k("root@10.0.0.1: Permission denied (publickey).\n"),
            "refused"
        );
        assert_eq!(
            k("ssh: connect to host 10.0.0.9 port 22: Connection timed out\n"),
            "timeout"
        );
        assert_eq!(
            k("ssh: connect to host 10.0.0.9 port 22: No route to host\n"),
            "unreachable"
        );
        assert_eq!(
            k("ssh: Could not resolve hostname nope: Name or service not known\n"),
            "unreachable"
        );
        assert_eq!(k("something odd\n"), "error");
        assert_eq!(classify("x\nlast line\n").message(), "last line");
    }
}
