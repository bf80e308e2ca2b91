//! Health-check rules (HC): what keepalived will see from the scripts its `vrrp_script`s run.
//!
//! Each distinct check of a node is analysed once: a script file the node ships, or the
//! inline command of a `script "..."` line (`killall -0 nginx`). Scripts with a non-shell
//! `#!` (python, perl) are only checked for HC006.

pub mod check_has_side_effects;
pub mod check_never_fails;
pub mod check_only_process;
pub mod check_probes_vip;
pub mod check_slower_than_timeout;
pub mod check_stops_keepalived;
pub mod inline_shell_syntax;
pub mod probe_ignores_http_errors;
pub mod script_not_executable;
pub mod script_syntax_error;
pub mod shellcheck;

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Related};
use crate::model::{NodeModel, Script, fmt_seconds};
use crate::project::{Node, command_program};
use crate::shell::analysis::{Analysis, analyse};
use crate::shell::{self, ParseError};
use crate::source::{FileId, SourceDb, Span};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One check command of a node, parsed and analysed.
pub struct Target {
    /// The file holding the text: the script, or keepalived.conf for an inline command.
    pub file: FileId,
    /// The analysed text in that file.
    pub span: Span,
    pub inline: bool,
    /// Index into `Node::programs` for a script file.
    pub program: Option<usize>,
    /// Indexes into the node's `vrrp_script`s that run it.
    pub scripts: Vec<usize>,
    /// The interpreter of the `#!` line (`None`: no `#!`, run through `/bin/sh`).
    pub interpreter: Option<String>,
    /// The parse and analysis; `None` when the interpreter is not a shell.
    pub shell: Option<Arc<Shell>>,
}

/// A script as a shell reads it (shared between nodes that ship the same text).
pub struct Shell {
    pub parsed: Result<shell::Node, ParseError>,
    pub analysis: Option<Analysis>,
}

impl Target {
    pub fn analysis(&self) -> Option<&Analysis> {
        self.shell.as_ref().and_then(|s| s.analysis.as_ref())
    }
    pub fn parse_error(&self) -> Option<&ParseError> {
        self.shell.as_ref().and_then(|s| s.parsed.as_ref().err())
    }
    pub fn parses(&self) -> bool {
        self.shell.as_ref().is_some_and(|s| s.parsed.is_ok())
    }
}

/// Parses and analyses a script, once per distinct (text, offset, `-e`) in the process: a
/// fleet's nodes ship the same check script, and an editor re-checks unchanged ones.
fn shell_of(text: &str, base: usize, errexit: bool) -> Arc<Shell> {
    type Memo = HashMap<(String, usize, bool), Arc<Shell>>;
    static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let key = (text.to_string(), base, errexit);
    if let Some(s) = memo.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return s;
    }
    let parsed = shell::parse(text, base);
    let analysis = parsed.as_ref().ok().map(|n| analyse(n, errexit));
    let s = Arc::new(Shell { parsed, analysis });
    if let Ok(mut m) = memo.lock() {
        if m.len() >= 1024 {
            m.clear();
        }
        m.insert(key, s.clone());
    }
    s
}

impl Target {
    /// The node's `vrrp_script`s that run this check.
    pub fn scripts<'m>(&self, model: &'m NodeModel) -> impl Iterator<Item = &'m Script> {
        self.scripts
            .iter()
            .filter_map(|&i| model.keepalived.scripts.get(i))
    }

    /// The shortest `timeout` among the `vrrp_script`s that run it, with its script.
    pub fn timeout<'m>(&self, model: &'m NodeModel) -> Option<(f64, &'m Script)> {
        self.scripts(model)
            .map(|s| (s.timeout(), s))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    }

    /// "`chk_nginx`" or "`chk_a`, `chk_b`".
    pub fn names(&self, model: &NodeModel) -> String {
        let v: Vec<String> = self
            .scripts(model)
            .map(|s| format!("`{}`", s.name.value))
            .collect();
        v.join(", ")
    }

    /// A related location on each `script` line that runs this file.
    pub fn related(&self, model: &NodeModel) -> Vec<Related> {
        if self.inline {
            return Vec::new();
        }
        self.scripts(model)
            .filter_map(|s| s.script.as_ref().map(|v| (s, v)))
            .map(|(s, v)| Related {
                file: v.file,
                span: v.span,
                message: format!("run by vrrp_script `{}`", s.name.value),
            })
            .collect()
    }
}

/// What an HC check sees.
pub struct ScriptCtx<'a> {
    pub db: &'a SourceDb,
    pub node: &'a Node,
    pub model: &'a NodeModel,
    pub target: &'a Target,
    /// Whether file modes in the tree are the ones keepalived will see (see
    /// [`crate::rules::tree_is_deployed`]).
    pub deployed: bool,
}

impl ScriptCtx<'_> {
    pub fn analysis(&self) -> Option<&Analysis> {
        self.target.analysis()
    }

    /// A diagnostic in the script, with the `script` lines as related locations.
    pub fn diag(&self, code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        let mut d = Diagnostic::new(code, self.target.file, span, message);
        d.related = self.target.related(self.model);
        d
    }

    /// A fix that replaces the whole check with a real probe of the local nginx.
    pub fn probe_fix(&self, why: &str) -> Fix {
        let t = self.target;
        // The timeout as it will be once KA023 is fixed too (fixes run together).
        let timeout = t
            .scripts(self.model)
            .map(Script::sound_timeout)
            .min_by(f64::total_cmp)
            .unwrap_or(1.0);
        let limit = if timeout >= 2.0 {
            timeout - 1.0
        } else {
            timeout / 2.0
        };
        let url = probe_url(self.model);
        let limit_s = fmt_seconds(limit);
        let cmd = format!("/usr/bin/curl -fsS -o /dev/null --max-time {limit_s} {url}");
        let replacement = if t.inline {
            cmd
        } else {
            format!(
                "#!/bin/sh\n\
                 # Written by `haconf fix` ({why}).\n\
                 # Fails unless nginx on this node answers {url} within {limit_s} s,\n\
                 # below the vrrp_script timeout of {} s. keepalived only reads the exit status.\n\
                 exec {cmd}\n",
                fmt_seconds(timeout)
            )
        };
        Fix {
            applicability: Applicability::Unsafe,
            modes: Vec::new(),
            message: format!("replace the check with `curl -f` on {url} (limit {limit_s} s)"),
            edits: vec![Edit {
                file: t.file,
                span: t.span,
                replacement,
            }],
        }
    }
}

/// The URL of the local nginx: the port of its first listen (80 when it has none), on
/// loopback when it listens on the wildcard address.
fn probe_url(model: &NodeModel) -> String {
    let listens = &model.nginx.listens;
    let pick = listens
        .iter()
        .find(|l| l.port == Some(80) || l.port.is_none())
        .or_else(|| listens.first());
    let port = pick.and_then(|l| l.port).unwrap_or(80);
    let host = match pick.and_then(|l| l.addr) {
        Some(a) if !a.is_unspecified() => match a {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        },
        _ => "127.0.0.1".to_string(),
    };
    let scheme = if port == 443 { "https" } else { "http" };
    if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) {
        format!("{scheme}://{host}/")
    } else {
        format!("{scheme}://{host}:{port}/")
    }
}

/// Scripts longer than this are not parsed (a check script is a few kilobytes; the shell
/// parser's memory is over 100 times the script's size).
pub const MAX_SHELL_PARSE: usize = 256 * 1024;

/// Shells whose scripts we parse.
fn is_shell(interp: &str) -> bool {
    matches!(
        interp,
        "sh" | "bash" | "dash" | "ash" | "ksh" | "mksh" | "zsh" | "busybox"
    )
}

/// The interpreter named by a `#!` line (`/usr/bin/env bash` gives `bash`), and whether
/// it is given `-e`.
pub fn shebang(text: &str) -> Option<(String, bool)> {
    let line = text.strip_prefix("#!")?.lines().next().unwrap_or("");
    let mut words = line.split_whitespace();
    let mut prog = crate::shell::analysis::basename(words.next()?).to_string();
    let mut rest: Vec<&str> = words.collect();
    if prog == "env" && !rest.is_empty() {
        prog = crate::shell::analysis::basename(rest.remove(0)).to_string();
    }
    let errexit = rest
        .iter()
        .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('e'));
    Some((prog, errexit))
}

/// The checks of a node: one target per script file or inline command.
pub fn targets(db: &SourceDb, node: &Node, model: &NodeModel) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for (si, s) in model.keepalived.scripts.iter().enumerate() {
        let Some(v) = &s.script else { continue };
        let prog = command_program(&v.value);
        let program = prog.as_deref().and_then(|p| {
            node.programs
                .iter()
                .position(|x| x.configured == p && x.file.is_some())
        });
        let (file, span, inline) = match program.and_then(|i| node.programs[i].file) {
            Some(f) => (f, Span::new(0, db.get(f).text.len()), false),
            None => {
                if prog.is_none() {
                    continue;
                }
                // The command as written between its quotes (offsets are the file's).
                let src = db.get(v.file).slice(v.span);
                let q = src.chars().next().filter(|c| *c == '"' || *c == '\'');
                let (start, mut end) = (v.span.start, v.span.end);
                if let Some(q) = q {
                    end -= usize::from(src.len() > 1 && src.ends_with(q));
                    (v.file, Span::new(start + 1, end), true)
                } else {
                    end = end.max(start);
                    (v.file, Span::new(start, end), true)
                }
            }
        };
        if let Some(t) = out.iter_mut().find(|t| t.file == file && t.span == span) {
            t.scripts.push(si);
            continue;
        }
        let text = &db.get(file).text[span.start..span.end];
        // Inline commands and scripts without `#!` are run by /bin/sh.
        let (interpreter, errexit) = if inline {
            (None, false)
        } else {
            match shebang(text) {
                Some((p, e)) => (Some(p), e),
                None => (None, false),
            }
        };
        // A compiled program (a NUL byte and no `#!`) is run as it is: nothing to parse.
        let compiled = !inline && interpreter.is_none() && text.contains('\0');
        // The shell parser takes over 100 bytes of memory per byte of script: a script past
        // MAX_SHELL_PARSE is not parsed (HC009 says so, as a note).
        let too_big = text.len() > MAX_SHELL_PARSE && !text.contains('\0');
        let shellish = !compiled && !too_big && interpreter.as_deref().is_none_or(is_shell);
        let shell = shellish.then(|| shell_of(text, span.start, errexit));
        out.push(Target {
            file,
            span,
            inline,
            program,
            scripts: vec![si],
            interpreter,
            shell,
        });
    }
    out
}

/// The service a word of a check names: a process or unit name, a client program, or the port
/// of a URL or `host:port`. Checks guard haproxy, kube-apiserver, databases and more, not
/// only nginx: messages and suggested probes name the one probed.
pub fn service_named(word: &str) -> Option<&'static str> {
    let w = word.to_ascii_lowercase();
    let w = w.trim_end_matches(".service");
    let base = w.rsplit('/').next().unwrap_or(w);
    let port = w
        .split_once("://")
        .map_or(w, |(_, r)| r)
        .split(['/', '?'])
        .next()
        .and_then(|hp| hp.rsplit_once(':'))
        .map(|(_, p)| p);
    let by_port = match port {
        Some("6443") => Some("kube-apiserver"),
        Some("3306") => Some("MySQL"),
        Some("6379") => Some("Redis"),
        Some("5432") => Some("PostgreSQL"),
        Some("5672") | Some("15672") => Some("RabbitMQ"),
        _ => None,
    };
    if by_port.is_some() {
        return by_port;
    }
    const NAMES: &[(&str, &str)] = &[
        ("nginx", "nginx"),
        ("openresty", "nginx"),
        ("haproxy", "haproxy"),
        ("kube-apiserver", "kube-apiserver"),
        ("apiserver", "kube-apiserver"),
        ("mysqld", "MySQL"),
        ("mysqladmin", "MySQL"),
        ("mysql", "MySQL"),
        ("mariadb", "MySQL"),
        ("redis", "Redis"),
        ("postgres", "PostgreSQL"),
        ("pg_isready", "PostgreSQL"),
        ("rabbitmq", "RabbitMQ"),
        ("beam.smp", "RabbitMQ"),
        ("traefik", "Traefik"),
        ("envoy", "Envoy"),
        ("pihole", "Pi-hole"),
        ("freeswitch", "FreeSWITCH"),
        ("lizardfs", "LizardFS"),
        ("httpd", "Apache httpd"),
        ("apache2", "Apache httpd"),
        ("ipvsadm", "IPVS"),
        ("keepalived", "keepalived"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| base.contains(n))
        .map(|(_, s)| *s)
}

/// The service a check probes: the first word of its commands that names one.
pub fn probed_service(a: &Analysis) -> Option<&'static str> {
    a.commands.iter().find_map(|c| {
        std::iter::once(c.name.as_str())
            .chain(c.args().iter().map(String::as_str))
            .find_map(service_named)
    })
}

/// A probe that asks `service` to answer, for help texts.
pub fn probe_hint(service: Option<&str>) -> &'static str {
    match service {
        Some("kube-apiserver") => {
            "ask the API server: `curl -fsSk -o /dev/null --max-time 1 https://127.0.0.1:6443/healthz` (`/healthz` answers anonymous requests)"
        }
        Some("MySQL") => {
            "ask the database: `mysql --connect-timeout=1 -e 'SELECT 1'` (with credentials from an option file)"
        }
        Some("Redis") => "ask Redis: `redis-cli -t 1 ping` and compare the answer with `PONG`",
        Some("PostgreSQL") => "ask the database: `pg_isready -t 1`",
        Some("RabbitMQ") => "ask the broker: `rabbitmq-diagnostics -q check_port_connectivity`",
        Some("haproxy") => {
            "ask haproxy to answer: `curl -fsS -o /dev/null --max-time 1` on a frontend or a `monitor-uri`"
        }
        Some("nginx") | None => {
            "ask the service to answer: `curl -fsS -o /dev/null --max-time 1 http://127.0.0.1/`"
        }
        Some(_) => {
            "ask the service to answer a request (its own health endpoint or client), with a time limit"
        }
    }
}

/// The line (without its newline) that holds `span`'s start: for messages.
pub fn line_of(db: &SourceDb, file: FileId, span: Span) -> String {
    let f = db.get(file);
    let (line, _) = f.line_col(span.start);
    f.line_text(line).trim().to_string()
}
