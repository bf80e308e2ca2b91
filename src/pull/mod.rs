//! `haconf pull`: a live cluster's configuration and facts, read over SSH into a cluster
//! directory that `check`, `fix --out`, `init`, `lab` and the language server read like any
//! other.
//!
//! Most clusters that need checking already run, and their files live on the nodes. A pull
//! reads, per host and in parallel, keepalived.conf and what it includes (the include rules
//! are the checker's own: the project loader lists the `include` statements, and the host
//! expands each pattern with its own `glob`), every script and notify program the configs
//! name, nginx's configuration (`nginx -T` where nginx is installed and its tree is safe to
//! read, else the include tree), and the facts the checks would otherwise guess
//! ([`crate::facts`]). Each node lands in the `etc/` overlay layout (`NODE/etc/keepalived/...`,
//! files at their path on the host) with `NODE/facts.json`.
//!
//! Nothing is written on a host and nothing is kept outside `--out`: the SSH control sockets
//! live in a private temporary directory, and a node appears in `--out` only when its host is
//! done (a host that fails leaves no half-written node behind).

pub(crate) mod drift;
mod nginx_dump;
mod remote;
pub mod ssh;
pub(crate) mod write;

use crate::facts::{Address, Daemon, Facts, FileFact, FileKind, Interface, Process, normalize};
use crate::project::includes::{KEEPALIVED_PREFIXES, NGINX_PREFIXES, Roots, expand_braces};
use crate::project::{MAX_FILES_PER_NODE, MAX_INCLUDE_DEPTH, Project};
use remote::{Answer, FileAnswer, Request};
use ssh::{Connection, Failure, SshOptions};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Config files larger than this are not read (the checker refuses them too).
const FILE_CAP: u64 = crate::source::MAX_FILE_SIZE;
/// Scripts larger than this are not read: a health check is a few lines.
const SCRIPT_CAP: u64 = 1 << 20;
/// At most this much in one answer from a host (base64, so 3/4 of it is content).
const ANSWER_CAP: usize = 256 << 20;
/// `nginx -T` output is cut here.
const DUMP_CAP: u64 = 64 << 20;
/// Where keepalived reads its configuration unless told otherwise.
pub(crate) const KEEPALIVED_CONF: &str = "/etc/keepalived/keepalived.conf";
const NGINX_CONF: &str = "/etc/nginx/nginx.conf";
/// Programs here are the system's, installed by packages: their mode and owner are recorded,
/// their content is not copied (KA018 assumes them present without facts, too).
const SYSTEM_DIRS: &[&str] = &[
    "/bin/",
    "/sbin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/libexec/",
    "/lib/",
    "/usr/lib/",
];

/// One host to pull: what ssh connects to, and the node directory it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub dest: String,
    pub node: String,
}

impl Host {
    /// `DEST` (the node is named after its host part: `root@ha1` -> `ha1`,
    /// `ssh://ha1:2222` -> `ha1`) or `NAME=DEST`.
    pub fn parse(arg: &str) -> Result<Host, String> {
        if let Some((name, dest)) = arg.split_once('=')
            && !name.contains(['/', '@', ':'])
            && !dest.is_empty()
        {
            if !valid_node_name(name) {
                return Err(format!(
                    "`{name}` cannot be a node directory name (letters, digits, `.`, `_`, `-`)"
                ));
            }
            return Ok(Host {
                dest: dest.to_owned(),
                node: name.to_owned(),
            });
        }
        if arg.is_empty() || arg.starts_with('-') {
            return Err(format!("`{arg}` is not a host"));
        }
        let hostpart = host_part(arg);
        let node: String = hostpart
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !valid_node_name(&node) {
            return Err(format!(
                "cannot name a node after `{arg}`: give it a name, `NAME={arg}`"
            ));
        }
        Ok(Host {
            dest: arg.to_owned(),
            node,
        })
    }
}

fn valid_node_name(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with(['.', '-'])
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The host of an ssh destination: without `ssh://`, user, port and brackets.
fn host_part(dest: &str) -> &str {
    let (uri, rest) = match dest.strip_prefix("ssh://") {
        Some(r) => (true, r),
        None => (false, dest),
    };
    let rest = rest.split('/').next().unwrap_or(rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if let Some(inner) = rest.strip_prefix('[') {
        return inner.split(']').next().unwrap_or(inner);
    }
    if uri && rest.matches(':').count() == 1 {
        return rest.split(':').next().unwrap_or(rest);
    }
    rest
}

/// What `haconf pull` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub hosts: Vec<Host>,
    pub out: PathBuf,
    pub jobs: usize,
    pub ssh: SshOptions,
    /// The most one host may take, connection included.
    pub timeout: Duration,
    /// Replace node directories a previous pull left in `out`.
    pub replace: bool,
    /// Use `nginx -T` where nginx is installed.
    pub nginx_dump: bool,
    /// Progress lines on stderr.
    pub progress: bool,
}

/// How one host went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every file the configs name was read.
    Complete,
    /// The node was written, but some files could not be read (see `problems`).
    Partial,
    /// Nothing was written for this host.
    Failed(Failure),
}

#[derive(Debug, Clone)]
pub struct Report {
    pub host: Host,
    pub outcome: Outcome,
    /// Files that are missing, unreadable, not regular or too large: `path: what`.
    pub problems: Vec<String>,
    /// How things were read, when that is worth knowing (`nginx -T` failed, ...).
    pub notes: Vec<String>,
    /// Files written to the node directory.
    pub files: usize,
    pub seconds: f64,
}

impl Report {
    pub fn json(&self) -> serde_json::Value {
        let (status, message) = match &self.outcome {
            Outcome::Complete => ("complete", None),
            Outcome::Partial => ("partial", None),
            Outcome::Failed(f) => (f.kind(), Some(f.message().to_owned())),
        };
        serde_json::json!({
            "host": self.host.dest,
            "node": self.host.node,
            "status": status,
            "message": message,
            "problems": self.problems,
            "notes": self.notes,
            "files": self.files,
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
        })
    }
}

/// The exit status of a pull: 0 every host complete; 1 some host's node lacks files (missing,
/// unreadable, not regular, too large); 3 a host was unreachable or timed out; 4 a host key
/// could not be verified; 5 a host refused the login (or sudo). The highest applies.
pub fn exit_code(reports: &[Report]) -> i32 {
    reports
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Complete => 0,
            Outcome::Partial => 1,
            Outcome::Failed(Failure::Unreachable(_) | Failure::Timeout(_)) => 3,
            Outcome::Failed(Failure::Other(_)) => 3,
            Outcome::Failed(Failure::HostKey(_)) => 4,
            Outcome::Failed(Failure::Auth(_)) => 5,
        })
        .max()
        .unwrap_or(0)
}

/// Progress lines on stderr, one per host event, never interleaved.
struct Progress {
    on: bool,
    total: usize,
    done: AtomicUsize,
    lock: Mutex<()>,
}

impl Progress {
    fn line(&self, s: &str) {
        if self.on {
            let _g = self.lock.lock();
            let _ = writeln!(std::io::stderr(), "{s}");
        }
    }

    fn finished(&self, r: &Report) {
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let w = self.total.to_string().len();
        let what = match &r.outcome {
            Outcome::Failed(f) => format!("{}: {}", f.kind(), f.message()),
            o => format!(
                "{} file{}{}",
                r.files,
                if r.files == 1 { "" } else { "s" },
                if *o == Outcome::Partial {
                    format!(", {} problem{}", r.problems.len(), plural(r.problems.len()))
                } else {
                    String::new()
                }
            ),
        };
        self.line(&format!(
            "[{n:>w$}/{}] {}: {what} ({:.2} s)",
            self.total, r.host.node, r.seconds
        ));
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Pulls every host into `opts.out`. `Err` for what stops the whole run (the output cannot
/// be created, node directories exist without `replace`); each host's own trouble is in its
/// report.
pub fn run(opts: &Options) -> Result<Vec<Report>, String> {
    let mut seen = BTreeSet::new();
    for h in &opts.hosts {
        if !seen.insert(&h.node) {
            return Err(format!(
                "two hosts would both be node `{}`: name them, `NAME=DEST`",
                h.node
            ));
        }
        if !opts.replace && std::fs::symlink_metadata(opts.out.join(&h.node)).is_ok() {
            return Err(format!(
                "{} already exists (pass --force to replace it with what the host has now)",
                opts.out.join(&h.node).display()
            ));
        }
    }
    let ssh = std::process::Command::new(&opts.ssh.program)
        .arg("-V")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if ssh.is_err() {
        return Err(format!(
            "cannot run `{}`: haconf pull uses the OpenSSH client (install openssh-client, or set HACONF_SSH)",
            opts.ssh.program.to_string_lossy()
        ));
    }
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let staging = write::Staging::new(&opts.out)
        .map_err(|e| format!("cannot write in {}: {e}", opts.out.display()))?;
    let ctl = tempfile::Builder::new()
        .prefix("haconf-ssh-")
        .tempdir()
        .map_err(|e| format!("cannot create a private directory for ssh: {e}"))?;
    let jobs = opts.jobs.clamp(1, opts.hosts.len().max(1));
    let progress = Progress {
        on: opts.progress,
        total: opts.hosts.len(),
        done: AtomicUsize::new(0),
        lock: Mutex::new(()),
    };
    progress.line(&format!(
        "pulling {} host{} ({} at a time) into {}",
        opts.hosts.len(),
        plural(opts.hosts.len()),
        jobs,
        opts.out.display()
    ));
    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<(usize, Report)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(host) = opts.hosts.get(i) else { break };
                    let mut r = pull_host(opts, host, i, &staging.dir, ctl.path());
                    if !matches!(r.outcome, Outcome::Failed(_))
                        && let Err(e) = staging.commit(&opts.out, &host.node, opts.replace)
                    {
                        r.outcome = Outcome::Failed(Failure::Other(format!(
                            "cannot move the node into place: {e}"
                        )));
                    }
                    progress.finished(&r);
                    if let Ok(mut v) = reports.lock() {
                        v.push((i, r));
                    }
                }
            });
        }
    });
    let mut v = reports.into_inner().unwrap_or_default();
    v.sort_by_key(|(i, _)| *i);
    Ok(v.into_iter().map(|(_, r)| r).collect())
}

fn pull_host(opts: &Options, host: &Host, index: usize, staging: &Path, ctl: &Path) -> Report {
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let mut report = Report {
        host: host.clone(),
        outcome: Outcome::Complete,
        problems: Vec::new(),
        notes: Vec::new(),
        files: 0,
        seconds: 0.0,
    };
    let result = Connection::open(&opts.ssh, &host.dest, ctl, index, deadline).and_then(|conn| {
        let mut p = HostPull::new(opts, host, staging.join(&host.node), deadline)?;
        p.run(&conn)?;
        Ok(p)
    });
    match result {
        Ok(p) => {
            report.problems = p.problems;
            report.notes = p.notes;
            report.files = p.written;
            if !report.problems.is_empty() {
                report.outcome = Outcome::Partial;
            }
        }
        Err(f) => {
            let _ = std::fs::remove_dir_all(staging.join(&host.node));
            report.outcome = Outcome::Failed(f);
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    report
}

/// What nginx's own dump of its configuration has given so far.
enum Dump {
    /// Not used (not installed, refused, failed): the include tree is read instead.
    None,
    /// Received; its files are being stat'ed.
    Received(Vec<u8>),
    /// Stat'ed: split it.
    Sized(Vec<u8>),
    Done,
}

/// One host's pull in progress.
struct HostPull<'o> {
    opts: &'o Options,
    root: PathBuf,
    marker: String,
    deadline: Instant,
    facts: Facts,
    dump: Dump,
    nginx_conf: String,
    /// Include patterns already asked for.
    asked: BTreeSet<String>,
    /// Host paths already written or recorded.
    have: BTreeSet<String>,
    /// Files of nginx's dump to read directly (the dump could not give them byte for byte).
    pending_direct: Vec<String>,
    written: usize,
    problems: Vec<String>,
    notes: Vec<String>,
    next_id: usize,
}

impl<'o> HostPull<'o> {
    fn new(
        opts: &'o Options,
        host: &'o Host,
        root: PathBuf,
        deadline: Instant,
    ) -> Result<HostPull<'o>, Failure> {
        std::fs::create_dir(&root)
            .map_err(|e| Failure::Other(format!("cannot create {}: {e}", root.display())))?;
        Ok(HostPull {
            opts,
            root,
            marker: remote::marker(&remote::nonce()),
            deadline,
            facts: Facts {
                version: crate::facts::FORMAT_VERSION,
                host: host.dest.clone(),
                ..Facts::default()
            },
            dump: Dump::None,
            nginx_conf: NGINX_CONF.to_owned(),
            asked: BTreeSet::new(),
            have: BTreeSet::new(),
            pending_direct: Vec::new(),
            written: 0,
            problems: Vec::new(),
            notes: Vec::new(),
            next_id: 0,
        })
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    fn round(
        &self,
        conn: &Connection,
        extra: &str,
        requests: &[Request],
    ) -> Result<Answer, Failure> {
        let script = remote::script(&self.marker, extra, requests);
        let out = conn.run(script.as_bytes(), self.deadline, ANSWER_CAP)?;
        Ok(remote::parse(&out, &self.marker))
    }

    fn run(&mut self, conn: &Connection) -> Result<(), Failure> {
        // Round 1: the facts, keepalived.conf, and nginx (its dump, or its main file).
        let first = [
            Request::File {
                id: "k0".into(),
                path: KEEPALIVED_CONF.into(),
                cap: FILE_CAP,
            },
            Request::File {
                id: "n0".into(),
                path: NGINX_CONF.into(),
                cap: FILE_CAP,
            },
        ];
        let extra = remote::facts_script(self.opts.nginx_dump, FILE_CAP, DUMP_CAP);
        let a = self.round(conn, &extra, &first)?;
        if a.sections.get("hostname").is_none_or(|h| h.is_empty()) && a.files.is_empty() {
            return Err(Failure::Other(
                "the host ran no POSIX shell script (is `sh` there?)".into(),
            ));
        }
        self.read_facts(&a);
        // A host without keepalived.conf is reported (by take) and still written: its nginx
        // and facts may be what the user is after.
        self.take(KEEPALIVED_CONF, a.files.get("k0"), true, FILE_CAP);
        self.start_nginx(&a);
        if matches!(self.dump, Dump::None) && self.nginx_conf == NGINX_CONF {
            let installed = self.facts.nginx.as_ref().is_some_and(|n| n.installed);
            self.take(NGINX_CONF, a.files.get("n0"), installed, FILE_CAP);
        }
        // Then rounds until every include, and every program the configs run, is read.
        for _ in 0..=MAX_INCLUDE_DEPTH + 2 {
            let mut reqs = self.dump_requests();
            for path in std::mem::take(&mut self.pending_direct) {
                let id = self.id("r");
                reqs.push(Request::File {
                    id,
                    path,
                    cap: FILE_CAP,
                });
            }
            let installed = self.facts.nginx.as_ref().is_some_and(|n| n.installed);
            if matches!(self.dump, Dump::None) && installed && !self.have.contains(&self.nginx_conf)
            {
                let path = self.nginx_conf.clone();
                let id = self.id("n");
                reqs.push(Request::File {
                    id,
                    path,
                    cap: FILE_CAP,
                });
            }
            for pattern in self.include_patterns() {
                if self.asked.insert(pattern.clone()) {
                    let id = self.id("g");
                    reqs.push(Request::Glob {
                        id,
                        pattern,
                        max: crate::project::includes::MAX_MATCHES,
                        cap: FILE_CAP,
                    });
                }
            }
            // The programs named so far come along, rather than in a round of their own.
            reqs.extend(self.program_requests());
            if reqs.is_empty() {
                break;
            }
            if self.have.len() >= MAX_FILES_PER_NODE {
                self.problems.push(format!(
                    "more than {MAX_FILES_PER_NODE} files: the rest were not read"
                ));
                break;
            }
            let a = self.round(conn, "", &reqs)?;
            self.absorb(&reqs, &a);
        }
        self.write_facts()
    }

    /// Records what the host said about `path`, and writes it to the node when it was read.
    /// `required`: the configs name this exact file, so its absence is a problem.
    fn take(&mut self, path: &str, a: Option<&FileAnswer>, required: bool, cap: u64) {
        let Some(a) = a else {
            self.problems
                .push(format!("{path}: the host gave no answer about it"));
            return;
        };
        let kind = a.kind.unwrap_or(FileKind::Other);
        let mut fact = FileFact {
            kind,
            size: a.size,
            mode: a.mode.map(|m| format!("{m:04o}")),
            uid: a.uid,
            gid: a.gid,
            owner: a.owner.clone(),
            group: a.group.clone(),
            not_read: None,
        };
        match kind {
            FileKind::File => {}
            FileKind::Missing | FileKind::DanglingLink => {
                if required {
                    self.problems
                        .push(format!("{path}: {} on the host", kind.describe()));
                }
            }
            FileKind::Directory if !required => {}
            _ => {
                self.problems
                    .push(format!("{path}: {}; not read", kind.describe()));
                fact.not_read = Some(kind.describe().to_string());
            }
        }
        if kind == FileKind::File && cap > 0 {
            let too_large = a.skipped.as_deref() == Some("too-large")
                || a.data.as_ref().is_some_and(|d| d.len() as u64 > cap);
            if too_large {
                let why = format!("larger than the {} KiB haconf reads", cap >> 10);
                self.problems.push(format!("{path}: {why}; not read"));
                fact.not_read = Some(why);
            } else if a.skipped.as_deref() == Some("unreadable") {
                let why = "permission denied (pull as root, or with --sudo)".to_owned();
                self.problems.push(format!("{path}: {why}"));
                fact.not_read = Some(why);
            } else if let Some(data) = &a.data {
                if is_binary(data) {
                    fact.not_read = Some("a binary program".into());
                } else {
                    self.write(path, data, a.mode.unwrap_or(0o600), &mut fact);
                }
            } else {
                self.problems
                    .push(format!("{path}: the host sent no content"));
            }
        }
        if kind != FileKind::Directory || required {
            self.facts.files.insert(path.to_owned(), fact);
        }
        self.have.insert(path.to_owned());
    }

    fn write(&mut self, path: &str, data: &[u8], mode: u32, fact: &mut FileFact) {
        if let Ok(local) = write::local_path(&self.root, path)
            && local.exists()
        {
            return; // read twice (a dump and a program): the first copy stands
        }
        match write::put(&self.root, path, data, mode) {
            Ok(_) => self.written += 1,
            Err(e) => {
                self.problems.push(format!("{path}: not written: {e}"));
                fact.not_read = Some(format!("not written: {e}"));
            }
        }
    }

    /// The facts sections of the first round.
    fn read_facts(&mut self, a: &Answer) {
        let text = |k: &str| {
            a.sections
                .get(k)
                .map(|v| String::from_utf8_lossy(v).trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let f = &mut self.facts;
        f.hostname = text("hostname");
        f.kernel = text("kernel");
        f.collected_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs());
        if let Some(os) = text("os-release") {
            f.os_release = parse_os_release(&os);
        }
        f.interfaces = match (text("ip-json"), text("ip-text")) {
            (Some(j), _) => parse_ip_json(&j),
            (None, Some(t)) => Some(parse_ip_text(&t)),
            _ => None,
        };
        if f.interfaces.is_none() {
            self.notes
                .push("`ip addr` gave nothing usable: the interfaces are unknown".into());
        }
        let procs = text("processes").unwrap_or_default();
        let procs_of = |name: &str| -> Vec<Process> {
            procs
                .lines()
                .filter_map(|l| {
                    let mut w = l.splitn(3, ' ');
                    let pid = w.next()?.parse().ok()?;
                    (w.next()? == name).then(|| Process {
                        pid,
                        args: w.next().unwrap_or("").trim().to_owned(),
                    })
                })
                .collect()
        };
        let ka_build = text("keepalived-version");
        let ka_procs = procs_of("keepalived");
        let ka_config = ka_procs
            .iter()
            .find_map(|p| config_arg(&p.args))
            .unwrap_or_else(|| KEEPALIVED_CONF.to_owned());
        if ka_config != KEEPALIVED_CONF {
            self.notes.push(format!(
                "keepalived runs with `-f {ka_config}`; haconf read {KEEPALIVED_CONF}"
            ));
        }
        f.keepalived = Some(Daemon {
            installed: text("keepalived-path").is_some(),
            path: text("keepalived-path"),
            version: ka_build
                .as_deref()
                .and_then(|b| version_after(b, "Keepalived v")),
            build: ka_build,
            processes: ka_procs,
            config: Some(ka_config),
        });
        let ng_build = text("nginx-version");
        if let Some(c) = text("nginx-conf") {
            self.nginx_conf = c;
        }
        f.nginx = Some(Daemon {
            installed: text("nginx-path").is_some(),
            path: text("nginx-path"),
            version: ng_build.as_deref().and_then(|b| version_after(b, "/")),
            build: ng_build,
            processes: procs_of("nginx"),
            config: Some(self.nginx_conf.clone()),
        });
        f.keepalived_script_user = text("script-user").map(|s| s == "yes");
        for line in text("sysctl").unwrap_or_default().lines() {
            let mut w = line.split_whitespace();
            if let (Some(k), Some(v)) = (w.next(), w.next()) {
                f.sysctl.insert(k.to_owned(), v.to_owned());
            }
        }
        if self.nginx_conf != NGINX_CONF {
            self.notes.push(format!(
                "nginx reads {}; haconf checks etc/nginx/nginx.conf of a node",
                self.nginx_conf
            ));
        }
    }

    fn start_nginx(&mut self, a: &Answer) {
        let installed = self.facts.nginx.as_ref().is_some_and(|n| n.installed);
        if !installed {
            return;
        }
        if let Some(bad) = a.sections.get("nginx-unsafe")
            && !bad.is_empty()
        {
            let list = String::from_utf8_lossy(bad).trim().replace('\n', ", ");
            self.notes.push(format!(
                "`nginx -T` not run: it would open {list} (a FIFO, device or huge file); the include tree was read instead"
            ));
            return;
        }
        let Some(out) = a.sections.get("nginx-dump") else {
            return;
        };
        let (dump, rc) = nginx_dump::strip_status(out, &self.marker);
        match rc {
            Some(0) if !nginx_dump::names(dump).is_empty() => {
                self.dump = Dump::Received(dump.to_vec());
            }
            Some(code) => self.notes.push(format!(
                "`nginx -T` failed (exit {code}): the include tree was read instead"
            )),
            None => self.notes.push(
                "`nginx -T` printed more than haconf reads: the include tree was read instead"
                    .into(),
            ),
        }
    }

    /// Requests for nginx's dump: stat its files first (their sizes cut the dump exactly).
    fn dump_requests(&mut self) -> Vec<Request> {
        if !matches!(self.dump, Dump::Received(_)) {
            return Vec::new();
        }
        let Dump::Received(d) = std::mem::replace(&mut self.dump, Dump::Done) else {
            return Vec::new();
        };
        let reqs = nginx_dump::names(&d)
            .into_iter()
            .enumerate()
            .map(|(i, path)| Request::File {
                id: format!("d{i}"),
                path,
                cap: 0,
            })
            .collect();
        self.dump = Dump::Sized(d);
        reqs
    }

    /// Takes a round's answers in.
    fn absorb(&mut self, reqs: &[Request], a: &Answer) {
        let mut sizes = HashMap::new();
        for r in reqs {
            match r {
                Request::File { id, path, .. } if id.starts_with('d') => {
                    if let Some(f) = a.files.get(id)
                        && f.kind == Some(FileKind::File)
                        && let Some(s) = f.size
                    {
                        sizes.insert(path.clone(), (s, f.clone()));
                    }
                }
                Request::File { id, path, cap } => {
                    self.take(path, a.files.get(id), true, *cap);
                }
                Request::Glob { id, pattern, .. } => {
                    let matches = a.matches.get(id).cloned().unwrap_or_default();
                    let glob = pattern.contains(['*', '?', '[']);
                    if matches.is_empty() && !glob {
                        if shipped_by_nginx(pattern) {
                            self.notes.push(format!(
                                "{pattern}: included, but not on the host (the nginx package installs it)"
                            ));
                        } else {
                            self.problems
                                .push(format!("{pattern}: included, but missing on the host"));
                        }
                    }
                    if a.truncated.contains(id) {
                        self.problems.push(format!(
                            "{pattern}: matches more files than haconf reads; the rest were not read"
                        ));
                    }
                    for (fid, path) in matches {
                        let path = normalize(&path);
                        if self.have.contains(&path) {
                            continue;
                        }
                        self.take(&path, a.files.get(&fid), !glob, FILE_CAP);
                    }
                }
            }
        }
        if let Dump::Sized(d) = std::mem::replace(&mut self.dump, Dump::Done) {
            let plain: HashMap<String, u64> =
                sizes.iter().map(|(p, (s, _))| (p.clone(), *s)).collect();
            for piece in nginx_dump::split(&d, &plain) {
                if self.have.contains(&piece.path) {
                    continue;
                }
                match sizes.get(&piece.path) {
                    Some((_, stat)) if piece.exact => {
                        let mut answer = stat.clone();
                        answer.data = Some(piece.bytes);
                        self.take(&piece.path, Some(&answer), true, FILE_CAP);
                    }
                    // Not cut byte for byte: read directly in the next round.
                    _ => self.pending_direct.push(piece.path),
                }
            }
        }
    }
}

impl HostPull<'_> {
    /// The host path of a file in the node directory.
    fn remote_of(&self, local: &Path) -> Option<String> {
        let rel = local.strip_prefix(&self.root).ok()?;
        Some(format!("/{}", rel.to_string_lossy()))
    }

    /// The include patterns of the files read so far, as absolute patterns on the host, one
    /// per `{a,b}` alternative. The project loader finds the `include` statements; relative
    /// patterns are taken from the including file's directory (keepalived) or nginx's
    /// configuration directory, as the checker does.
    fn include_patterns(&self) -> Vec<String> {
        let mut project = Project::default();
        let mut out = Vec::new();
        let ka_main = self.root.join(&KEEPALIVED_CONF[1..]);
        if ka_main.is_file() {
            let roots = Roots {
                node: self.root.clone(),
                conf_dir: self.root.join("etc/keepalived"),
                prefixes: KEEPALIVED_PREFIXES,
            };
            let unit = project.load_ka(&ka_main, &roots);
            for inc in &unit.includes {
                let dir = project
                    .db
                    .get(inc.file)
                    .path
                    .parent()
                    .and_then(|d| self.remote_of(d))
                    .unwrap_or_else(|| "/etc/keepalived".into());
                out.extend(absolute(&inc.pattern, &dir));
            }
        }
        if matches!(self.dump, Dump::None)
            && let Ok(main) = write::local_path(&self.root, &self.nginx_conf)
            && main.is_file()
        {
            let conf_dir = main.parent().map(Path::to_path_buf).unwrap_or_default();
            let remote_dir = self
                .remote_of(&conf_dir)
                .unwrap_or_else(|| "/etc/nginx".into());
            let roots = Roots {
                node: self.root.clone(),
                conf_dir,
                prefixes: NGINX_PREFIXES,
            };
            let unit = project.load_ng(&main, &roots, Some(crate::vocab::nginx::Context::Main));
            for inc in &unit.includes {
                out.extend(absolute(&inc.pattern, &remote_dir));
            }
        }
        out
    }

    /// Requests for the programs keepalived runs, as the project loader lists them.
    fn program_requests(&mut self) -> Vec<Request> {
        if !self.root.join(&KEEPALIVED_CONF[1..]).is_file() {
            return Vec::new();
        }
        let project = Project::load_with(std::slice::from_ref(&self.root), false);
        let mut wanted: Vec<String> = project
            .clusters
            .iter()
            .flat_map(|c| &c.nodes)
            .flat_map(|n| &n.programs)
            .map(|p| p.configured.clone())
            .filter(|c| c.starts_with('/') && !c.contains(['*', '?', '[']))
            .map(|c| normalize(&c))
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut reqs = Vec::new();
        for path in wanted {
            if self.have.contains(&path) || !self.asked.insert(format!("program {path}")) {
                continue;
            }
            let cap = if SYSTEM_DIRS.iter().any(|d| path.starts_with(d)) {
                0
            } else {
                SCRIPT_CAP
            };
            let id = self.id("p");
            reqs.push(Request::File { id, path, cap });
        }
        reqs
    }

    fn write_facts(&mut self) -> Result<(), Failure> {
        let json = serde_json::to_string_pretty(&self.facts)
            .map_err(|e| Failure::Other(format!("cannot write the facts: {e}")))?;
        write::create_file(
            &self.root.join(crate::facts::FILE_NAME),
            format!("{json}\n").as_bytes(),
            0o644,
        )
        .map_err(|e| Failure::Other(format!("cannot write the facts: {e}")))
    }
}

/// `pattern` (as written in a file whose directory on the host is `dir`) as absolute host
/// patterns, one per brace alternative; nothing for patterns that depend on definitions.
fn absolute(pattern: &str, dir: &str) -> Vec<String> {
    if pattern.contains('$') {
        return Vec::new();
    }
    expand_braces(pattern)
        .into_iter()
        .map(|p| {
            if p.starts_with('/') {
                normalize(&p)
            } else {
                normalize(&format!("{}/{p}", dir.trim_end_matches('/')))
            }
        })
        .collect()
}

/// A file the nginx package installs (`mime.types` ...): the checker does not report it
/// missing either.
fn shipped_by_nginx(path: &str) -> bool {
    crate::vocab::nginx::PACKAGE_FILES
        .iter()
        .any(|f| !f.contains('*') && path.ends_with(&format!("/{f}")))
}

/// An executable, not a script: its content is of no use to the checks.
fn is_binary(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF") || data[..data.len().min(8192)].contains(&0)
}

/// The config file of a keepalived command line (`-f FILE`, `-fFILE`, `--use-file=FILE`).
fn config_arg(args: &str) -> Option<String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if let Some(v) = w.strip_prefix("--use-file=") {
            return Some(v.to_owned());
        }
        if *w == "-f" || *w == "--use-file" {
            return words.get(i + 1).map(|s| (*s).to_owned());
        }
        if let Some(v) = w.strip_prefix("-f")
            && !v.is_empty()
            && !w.starts_with("--")
        {
            return Some(v.to_owned());
        }
    }
    None
}

/// The version number after `lead` on the first line of `text` (`Keepalived v2.2.7 (...)`,
/// `nginx version: nginx/1.22.1`).
fn version_after(text: &str, lead: &str) -> Option<String> {
    let first = text.lines().find(|l| l.contains(lead))?;
    let rest = &first[first.find(lead)? + lead.len()..];
    let v: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!v.is_empty()).then_some(v)
}

fn parse_os_release(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim();
            if k.is_empty() || k.starts_with('#') {
                return None;
            }
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// `ip -j addr show`.
fn parse_ip_json(text: &str) -> Option<Vec<Interface>> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut out = Vec::new();
    for link in v.as_array()? {
        let Some(name) = link.get("ifname").and_then(|n| n.as_str()) else {
            continue;
        };
        let strs = |k: &str| -> Vec<String> {
            link.get(k)
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let addresses = link
            .get("addr_info")
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|ai| {
                        Some(Address {
                            address: ai.get("local")?.as_str()?.parse().ok()?,
                            prefix: u8::try_from(ai.get("prefixlen")?.as_u64()?).ok()?,
                            scope: ai.get("scope").and_then(|s| s.as_str()).map(str::to_owned),
                            label: ai.get("label").and_then(|s| s.as_str()).map(str::to_owned),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Interface {
            name: name.to_owned(),
            altnames: strs("altnames"),
            up: strs("flags").iter().any(|f| f == "UP"),
            addresses,
        });
    }
    Some(out)
}

/// `ip -o link show` and `ip -o addr show` (iproute2 without JSON, as on CentOS 7).
fn parse_ip_text(text: &str) -> Vec<Interface> {
    let mut out: Vec<Interface> = Vec::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        let (Some(_idx), Some(name)) = (w.next(), w.next()) else {
            continue;
        };
        let name = name.trim_end_matches(':');
        let name = name.split('@').next().unwrap_or(name).to_owned();
        let pos = match out.iter().position(|i| i.name == name) {
            Some(p) => p,
            None => {
                out.push(Interface {
                    name: name.clone(),
                    ..Interface::default()
                });
                out.len() - 1
            }
        };
        let rest: Vec<&str> = w.collect();
        if let Some(flags) = rest.first().filter(|f| f.starts_with('<')) {
            out[pos].up = flags.trim_matches(['<', '>']).split(',').any(|f| f == "UP");
            continue;
        }
        if let [fam, cidr, more @ ..] = rest.as_slice()
            && matches!(*fam, "inet" | "inet6")
            && let Some((a, p)) = cidr.split_once('/')
            && let (Ok(address), Ok(prefix)) = (a.parse(), p.parse())
        {
            let scope = more
                .iter()
                .position(|x| *x == "scope")
                .and_then(|i| more.get(i + 1))
                .map(|s| (*s).to_owned());
            out[pos].addresses.push(Address {
                address,
                prefix,
                scope,
                label: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_their_nodes() {
        let h = |s: &str| Host::parse(s).unwrap().node;
        assert_eq!(h("ha1"), "ha1");
        assert_eq!(h("root@ha1.example.com"), "ha1.example.com");
        assert_eq!(h("ssh://admin@ha2:2222"), "ha2");
        assert_eq!(h("ssh://[fe80::1]:22"), "fe80__1");
        assert_eq!(h("lb1=root@10.0.0.1"), "lb1");
        assert!(Host::parse("-oProxyCommand=x").is_err());
        assert!(Host::parse("../x=ha1").is_err());
    }

    #[test]
    fn patterns_become_absolute_on_the_host() {
        assert_eq!(
            absolute("conf.d/*.conf", "/etc/keepalived"),
            ["/etc/keepalived/conf.d/*.conf"]
        );
        assert_eq!(
            absolute("/etc/x/{a,b}.conf", "/"),
            ["/etc/x/a.conf", "/etc/x/b.conf"]
        );
        assert_eq!(
            absolute("../y.conf", "/etc/keepalived/d"),
            ["/etc/keepalived/y.conf"]
        );
        assert!(absolute("$INC", "/").is_empty());
        assert_eq!(normalize("/../../etc//./x"), "/etc/x");
    }

    #[test]
    fn facts_parsers() {
        assert_eq!(
            version_after("Keepalived v2.2.7 (01/16,2022)\n", "Keepalived v").as_deref(),
            Some("2.2.7")
        );
        assert_eq!(
            version_after("nginx version: nginx/1.22.1\nbuilt with", "/").as_deref(),
            Some("1.22.1")
        );
        assert_eq!(
            config_arg("/usr/sbin/keepalived --dont-fork -f /etc/k/x.conf").as_deref(),
            Some("/etc/k/x.conf")
        );
        assert_eq!(config_arg("/usr/sbin/keepalived -D"), None);
        let os = parse_os_release("ID=debian\nVERSION_ID=\"12\"\n# c\n");
        assert_eq!(os["VERSION_ID"], "12");
        let j = r#"[{"ifname":"eth0","flags":["UP"],"altnames":["enp1s0"],"addr_info":[{"family":"inet","local":"10.0.0.2","prefixlen":24,"scope":"global","label":"eth0"}]}]"#;
        let i = parse_ip_json(j).unwrap();
        assert_eq!(i[0].addresses[0].prefix, 24);
        assert_eq!(i[0].altnames, ["enp1s0"]);
        let t = "2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n2: eth0    inet 10.0.0.2/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever\n3: eth1: <BROADCAST> mtu 1500\n";
        let i = parse_ip_text(t);
        assert_eq!(i.len(), 2);
        assert!(i[0].up && !i[1].up);
        assert_eq!(i[0].addresses[0].address.to_string(), "10.0.0.2");
    }

    #[test]
    fn exit_codes_take_the_worst_host() {
        let r = |o: Outcome| Report {
            host: Host::parse("h").unwrap(),
            outcome: o,
            problems: Vec::new(),
            notes: Vec::new(),
            files: 0,
            seconds: 0.0,
        };
        assert_eq!(exit_code(&[r(Outcome::Complete)]), 0);
        assert_eq!(exit_code(&[r(Outcome::Complete), r(Outcome::Partial)]), 1);
        assert_eq!(
            exit_code(&[
                r(Outcome::Partial),
                r(Outcome::Failed(Failure::Unreachable("x".into())))
            ]),
            3
        );
        assert_eq!(
            exit_code(&[r(Outcome::Failed(Failure::HostKey("x".into())))]),
            4
        );
    }
}
