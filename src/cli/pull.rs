//! `haconf pull`, `haconf diff`, and the `ssh://` paths of `haconf check`.

use crate::pull::{self, Host, Outcome, Report, ssh::SshOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach hosts over SSH (for `pull`, and `ssh://` paths of `check` and `diff`).
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "SSH")]
pub struct SshArgs {
    /// Log in as this user (ssh -l).
    #[arg(short = 'l', long, value_name = "USER")]
    pub user: Option<String>,
    /// The ssh configuration file to use instead of ~/.ssh/config (ssh -F).
    #[arg(short = 'F', long = "ssh-config", value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// An ssh option, passed on (ssh -o); may be repeated.
    #[arg(short = 'o', long = "ssh-option", value_name = "OPTION")]
    pub ssh_option: Vec<String>,
    /// Trust a host key seen for the first time (StrictHostKeyChecking=accept-new); a key
    /// that changed is still refused.
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Read the files through `sudo -n` (it must not ask for a password).
    #[arg(long)]
    pub sudo: bool,
    /// How many hosts to read at the same time.
    #[arg(short = 'j', long, default_value_t = 32, value_name = "N")]
    pub jobs: usize,
    /// Seconds to wait for a connection.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub connect_timeout: u64,
    /// Seconds one host may take in all; it is then reported as timed out.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
}

impl SshArgs {
    fn options(&self) -> SshOptions {
        SshOptions {
            program: std::env::var_os("HACONF_SSH").unwrap_or_else(|| "ssh".into()),
            config: self.ssh_config.as_ref().map(|p| absolute(p)),
            user: self.user.clone(),
            options: self.ssh_option.clone(),
            accept_new: self.accept_new_host_keys,
            connect_timeout: self.connect_timeout,
            sudo: self.sudo,
        }
    }
}

#[derive(Copy, Clone, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Human,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct PullArgs {
    /// Hosts: `[user@]host`, `ssh://[user@]host[:port]`, or `NAME=DEST` to choose the node's
    /// directory name (default: the host's name).
    #[arg(required = true, value_name = "HOST")]
    pub hosts: Vec<String>,
    /// The cluster directory to write, one node directory per host.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Replace node directories that an earlier pull left in DIR.
    #[arg(long)]
    pub force: bool,
    /// Read nginx's include tree rather than `nginx -T` (which opens nginx's logs, as
    /// `nginx -t` does).
    #[arg(long)]
    pub no_nginx_dump: bool,
    /// How to print the report (json: one object on stdout).
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// No progress lines on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub ssh: SshArgs,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The cluster as it is in the repository.
    #[arg(value_name = "REPO")]
    pub repo: PathBuf,
    /// The cluster as it is deployed: a pulled directory, or `ssh://` hosts to pull now.
    #[arg(value_name = "LIVE", required = true)]
    pub live: Vec<PathBuf>,
    /// Print `auth_pass` values as they are (they are masked by default).
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub ssh: SshArgs,
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn options(hosts: Vec<Host>, out: PathBuf, ssh: &SshArgs, progress: bool) -> pull::Options {
    pull::Options {
        hosts,
        out,
        jobs: ssh.jobs,
        ssh: ssh.options(),
        timeout: Duration::from_secs(ssh.timeout.max(1)),
        replace: false,
        nginx_dump: true,
        progress,
    }
}

fn hosts(args: &[String]) -> Result<Vec<Host>, String> {
    args.iter().map(|h| Host::parse(h)).collect()
}

pub fn run(args: PullArgs) -> i32 {
    let hosts = match hosts(&args.hosts) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut opts = options(hosts, args.out.clone(), &args.ssh, !args.quiet);
    opts.replace = args.force;
    opts.nginx_dump = !args.no_nginx_dump;
    let reports = match pull::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match args.format {
        ReportFormat::Json => {
            let v = serde_json::json!({
                "version": 1,
                "out": args.out,
                "hosts": reports.iter().map(Report::json).collect::<Vec<_>>(),
                "exit_code": pull::exit_code(&reports),
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        ReportFormat::Human => print!("{}", human(&reports, &args.out)),
    }
    pull::exit_code(&reports)
}

/// The report: each host that has something to say, then one line.
fn human(reports: &[Report], out: &Path) -> String {
    let mut s = String::new();
    for r in reports {
        match &r.outcome {
            Outcome::Failed(f) => {
                s.push_str(&format!("{}: {}: {}\n", r.host.node, f.kind(), f.message()));
            }
            _ if r.problems.is_empty() && r.notes.is_empty() => {}
            _ => {
                s.push_str(&format!("{}:\n", r.host.node));
                for p in &r.problems {
                    s.push_str(&format!("  {p}\n"));
                }
                for n in &r.notes {
                    s.push_str(&format!("  note: {n}\n"));
                }
            }
        }
    }
    let ok = reports
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Failed(_)))
        .count();
    let shown = crate::output::display_path(out);
    let shown = if shown.is_empty() { ".".into() } else { shown };
    s.push_str(&format!(
        "pulled {ok} of {} host{} into {shown}",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
    ));
    if ok > 0 {
        s.push_str(&format!("; check them: haconf check {shown}"));
    }
    s.push('\n');
    s
}

/// Pulls the `ssh://` entries of `paths` into a temporary cluster directory and puts that
/// directory in their place. `Ok(None)` when there are none; `Err(exit code)` when nothing
/// could be pulled.
fn pull_ssh_paths(
    paths: &mut Vec<PathBuf>,
    ssh: &SshArgs,
) -> Result<Option<(tempfile::TempDir, bool)>, i32> {
    let (remote, local): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .drain(..)
        .partition(|p| p.to_string_lossy().starts_with("ssh://"));
    *paths = local;
    if remote.is_empty() {
        return Ok(None);
    }
    let args: Vec<String> = remote
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let hosts = hosts(&args).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    let dir = tempfile::Builder::new()
        .prefix("haconf-live-")
        .tempdir()
        .map_err(|e| {
            eprintln!("error: cannot create a temporary directory: {e}");
            2
        })?;
    let opts = options(hosts, dir.path().to_path_buf(), ssh, true);
    let reports = pull::run(&opts).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    let mut failed = false;
    for r in &reports {
        match &r.outcome {
            Outcome::Failed(f) => {
                failed = true;
                eprintln!("error: {}: {}: {}", r.host.dest, f.kind(), f.message());
            }
            _ => {
                for p in &r.problems {
                    eprintln!("warning: {}: {p}", r.host.node);
                }
            }
        }
    }
    if reports
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Failed(_)))
    {
        return Err(2);
    }
    paths.push(dir.path().to_path_buf());
    Ok(Some((dir, failed)))
}

/// `haconf check` with `ssh://host` paths: the hosts are pulled to a temporary directory
/// (removed afterwards) and checked with their facts. A host that could not be pulled makes
/// the exit status 2, as unreadable input does.
pub fn check(mut args: super::CheckArgs) -> i32 {
    let pulled = match pull_ssh_paths(&mut args.paths, &args.ssh) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Some((dir, failed)) = pulled else {
        return super::check(args);
    };
    // Findings read `ha1/etc/keepalived/keepalived.conf`, not a temporary path: the check
    // runs from inside the pulled directory, with the other paths made absolute.
    for p in args.paths.iter_mut() {
        *p = if p == dir.path() {
            PathBuf::from(".")
        } else {
            absolute(p)
        };
    }
    args.baseline = args.baseline.as_deref().map(absolute);
    args.write_baseline = args.write_baseline.as_deref().map(absolute);
    let back = std::env::current_dir().ok();
    if let Err(e) = std::env::set_current_dir(dir.path()) {
        eprintln!("error: {}: {e}", dir.path().display());
        return 2;
    }
    let code = super::check(args);
    if let Some(b) = back {
        let _ = std::env::set_current_dir(b);
    }
    drop(dir);
    if failed { 2 } else { code }
}

/// `haconf diff REPO LIVE`: exit 0 when they agree, 1 when they drift, 2 on errors.
pub fn diff(mut args: DiffArgs) -> i32 {
    let pulled = match pull_ssh_paths(&mut args.live, &args.ssh) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if args.live.len() != 1 {
        eprintln!("error: give one LIVE cluster directory, or ssh:// hosts");
        return 2;
    }
    let report = match pull::drift::diff(&args.repo, &args.live[0], args.show_secrets) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    print!("{}", report.text);
    let failed = pulled.as_ref().is_some_and(|p| p.1);
    let mut summary = format!(
        "{} file{} differ{}, {} only in REPO, {} only in LIVE",
        report.changed,
        if report.changed == 1 { "" } else { "s" },
        if report.changed == 1 { "s" } else { "" },
        report.only_repo,
        report.only_live
    );
    if !report.nodes_only.is_empty() {
        summary.push_str(&format!(
            "; nodes on one side only: {}",
            report.nodes_only.join(", ")
        ));
    }
    if report.package_files > 0 {
        summary.push_str(&format!(
            " ({} nginx package file{} on one side only, not compared)",
            report.package_files,
            if report.package_files == 1 { "" } else { "s" }
        ));
    }
    eprintln!("{summary}");
    drop(pulled);
    if failed {
        // A host that could not be read would show as drift ("only in REPO"): not a verdict.
        2
    } else if report.drifted() {
        1
    } else {
        0
    }
}
