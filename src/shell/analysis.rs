//! What keepalived will see from a check script: the exit statuses its paths can end with,
//! and what each command does (probe, action, wait).
//!
//! The exit-status analysis is an abstract interpretation over the lowered tree. A status is
//! a pair of possibilities, "may be 0" and "may be non-zero"; commands are classified
//! (`classify`) into probes, whose status means something, actions such as
//! `systemctl start`, whose status is taken as 0 (it reports whether the action worked, not
//! whether the service is healthy), neutral commands (`echo`, `wc`, `sleep`: 0), and unknown
//! commands (either). Control flow follows the shell: `&&`, `||`, `!`, pipelines (the last
//! command's status, unless `set -o pipefail`), `if`/`elif`/`else` (0 when no branch runs),
//! `case` (0 when nothing matches), loops (zero or more runs), subshells and command
//! substitutions (an `exit` inside them only ends them), functions and `return`, `exec`,
//! `exit` with and without a status, and `set -e`.

use super::{Node, RedirOp, Simple, Word};
use crate::source::Span;
use std::collections::HashMap;

/// Which statuses are possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    pub zero: bool,
    pub fail: bool,
}

impl Status {
    pub const ZERO: Status = Status {
        zero: true,
        fail: false,
    };
    pub const FAIL: Status = Status {
        zero: false,
        fail: true,
    };
    pub const EITHER: Status = Status {
        zero: true,
        fail: true,
    };
    fn or(self, o: Status) -> Status {
        Status {
            zero: self.zero || o.zero,
            fail: self.fail || o.fail,
        }
    }
    fn not(self) -> Status {
        Status {
            zero: self.fail,
            fail: self.zero,
        }
    }
}

/// How a path leaves the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// `exit N` (or `exit` with the last status).
    Exit,
    /// `exec cmd`: the command's status is the script's.
    Exec,
    /// A failing command under `set -e`.
    Errexit,
    /// The end of the script: the last command's status.
    Fallthrough,
}

#[derive(Debug, Clone)]
pub struct End {
    pub kind: EndKind,
    pub status: Status,
    /// The command that ends the path (or whose status the script ends with).
    pub span: Span,
    /// Seconds this path can wait (sleep, timeout, curl --max-time), at most.
    pub elapsed: f64,
    /// The waits on that path, in order.
    pub waits: Vec<(Span, f64)>,
}

/// What a command is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Its status tells whether something is healthy.
    Probe(ProbeKind),
    Action(Action),
    /// Its status is 0 in practice (`echo`, `wc`, `sleep`, `export`).
    Neutral,
    /// `false`
    False,
    /// Something else: its status may be anything.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// Only proves a process exists: `ps -C`, `pidof`, `pgrep`, `killall -0`,
    /// `systemctl is-active`.
    Process,
    /// Talks to the service: `curl`, `wget`, `nc`, `/dev/tcp`, a database client.
    Service,
    /// `[`, `test`, `[[`: tests values the script computed.
    Test,
    /// `grep` and friends: they test a text.
    Filter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Stops or kills keepalived itself.
    StopKeepalived,
    /// Starts, restarts, reloads or stops a service (`systemctl`, `service`, init scripts,
    /// `nginx`, `kill`).
    Service(String),
    /// Writes or removes a file.
    Write(String),
}

/// One simple command, classified, with where it stands.
#[derive(Debug, Clone)]
pub struct Command {
    /// The command name (basename), after wrappers such as `sudo`, `timeout`, `exec`.
    pub name: String,
    /// Index of the name in `words`.
    pub name_index: usize,
    pub words: Vec<Word>,
    /// Words with the script's constant variables expanded (`$IP` → `10.0.0.1`).
    pub expanded: Vec<String>,
    pub role: Role,
    pub span: Span,
    /// Inside `$(...)`: its status is not the script's.
    pub in_subst: bool,
    /// Its output goes to another command of a pipeline.
    pub piped: bool,
    /// Part of a pipeline that starts with `ps` (so a `grep` after it tests processes).
    pub after_ps: bool,
    /// Seconds it can wait, when it says (`sleep 2`, `timeout 3 ...`, `curl -m 2`).
    pub wait: Option<f64>,
}

impl Command {
    pub fn args(&self) -> &[String] {
        &self.expanded[self.name_index + 1..]
    }
    pub fn name_span(&self) -> Span {
        self.words[self.name_index].span
    }
}

#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub ends: Vec<End>,
    pub commands: Vec<Command>,
    pub errexit: bool,
}

impl Analysis {
    /// Whether some path can end with a non-zero status.
    pub fn can_fail(&self) -> bool {
        self.ends.iter().any(|e| e.status.fail)
    }
}

/// Analyses a parsed script.
pub fn analyse(root: &Node, text_shebang_errexit: bool) -> Analysis {
    let mut vars = HashMap::new();
    constants(root, &mut vars);
    let mut commands = Vec::new();
    collect(root, &vars, Ctx::default(), &mut commands);
    let mut funcs = HashMap::new();
    functions(root, &mut funcs);
    let by_span = commands
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.span.start, c.span.end, c.words.len()), i))
        .collect();
    let (ends, saw_errexit) = {
        let mut ev = Eval {
            funcs,
            commands: &commands,
            by_span,
            errexit: text_shebang_errexit,
            pipefail: false,
            depth: 0,
            ends: Vec::new(),
            returns: Vec::new(),
            saw_errexit: text_shebang_errexit,
        };
        let start = Flow {
            st: Status::ZERO,
            last: Span::new(0, 0),
            elapsed: 0.0,
            waits: Vec::new(),
        };
        if let Some(f) = ev.eval(root, start, false) {
            ev.ends.push(End {
                kind: EndKind::Fallthrough,
                status: f.st,
                span: f.last,
                elapsed: f.elapsed,
                waits: f.waits,
            });
        }
        (ev.ends, ev.saw_errexit)
    };
    Analysis {
        ends,
        commands,
        errexit: saw_errexit,
    }
}

// ---------------------------------------------------------------------------------------
// Classification

#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    in_subst: bool,
    piped: bool,
    after_ps: bool,
}

/// Variables assigned exactly once, at the top level, with a literal value.
fn constants(root: &Node, vars: &mut HashMap<String, Option<String>>) {
    root.each_simple(&mut |s| {
        for (name, w) in &s.assigns {
            let v = if s.words.is_empty() {
                w.raw.split_once('=').and_then(|(_, v)| super::literal(v))
            } else {
                None
            };
            vars.entry(name.clone())
                .and_modify(|old| *old = None)
                .or_insert(v);
        }
    });
}

fn expand(raw: &str, vars: &HashMap<String, Option<String>>) -> String {
    if !raw.contains('$') {
        return super::literal(raw).unwrap_or_else(|| raw.to_string());
    }
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(e)
                    if b[..e]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    (&b[..e], e + 2)
                }
                _ => ("", 0),
            }
        } else {
            let e = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..e], e)
        };
        match vars.get(name) {
            Some(Some(v)) if !name.is_empty() => {
                out.push_str(v);
                rest = &after[len..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    super::literal(&out).unwrap_or(out)
}

fn collect(n: &Node, vars: &HashMap<String, Option<String>>, ctx: Ctx, out: &mut Vec<Command>) {
    match n {
        Node::Simple(s) => {
            for sub in &s.substs {
                collect(
                    sub,
                    vars,
                    Ctx {
                        in_subst: true,
                        ..Ctx::default()
                    },
                    out,
                );
            }
            if let Some(c) = command(s, vars, ctx) {
                out.push(c);
            }
        }
        Node::Pipe(v) => {
            let after_ps = v.iter().any(|e| {
                matches!(e, Node::Simple(s) if s.words.first().is_some_and(|w| basename(w.text()) == "ps"))
            });
            for (i, e) in v.iter().enumerate() {
                collect(
                    e,
                    vars,
                    Ctx {
                        piped: i + 1 < v.len(),
                        after_ps: after_ps && i > 0,
                        ..ctx
                    },
                    out,
                );
            }
        }
        Node::Seq(v) | Node::Case { arms: v, .. } => {
            v.iter().for_each(|e| collect(e, vars, ctx, out))
        }
        Node::Background(e) | Node::Not(e) | Node::Group(e) | Node::Subshell(e, _) => {
            collect(e, vars, ctx, out)
        }
        Node::And(a, b) | Node::Or(a, b) => {
            collect(a, vars, ctx, out);
            collect(b, vars, ctx, out);
        }
        Node::If {
            branches,
            otherwise,
            ..
        } => {
            for (c, b) in branches {
                collect(c, vars, ctx, out);
                collect(b, vars, ctx, out);
            }
            if let Some(o) = otherwise {
                collect(o, vars, ctx, out);
            }
        }
        Node::Loop { cond, body, .. } => {
            if let Some(c) = cond {
                collect(c, vars, ctx, out);
            }
            collect(body, vars, ctx, out);
        }
        Node::Function { body, .. } => collect(body, vars, ctx, out),
        Node::Test { substs, .. } => {
            for sub in substs {
                collect(
                    sub,
                    vars,
                    Ctx {
                        in_subst: true,
                        ..Ctx::default()
                    },
                    out,
                );
            }
        }
    }
}

pub fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// A duration as `sleep` and `timeout` read it: `2`, `0.5`, `1s`, `2m`, `1h`.
pub fn duration(s: &str) -> Option<f64> {
    let (num, mult) = match s.chars().last()? {
        's' => (&s[..s.len() - 1], 1.0),
        'm' => (&s[..s.len() - 1], 60.0),
        'h' => (&s[..s.len() - 1], 3600.0),
        'd' => (&s[..s.len() - 1], 86400.0),
        _ => (s, 1.0),
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * mult)
}

fn command(s: &Simple, vars: &HashMap<String, Option<String>>, ctx: Ctx) -> Option<Command> {
    if s.words.is_empty() {
        return None;
    }
    let expanded: Vec<String> = s.words.iter().map(|w| expand(&w.raw, vars)).collect();
    let mut i = 0;
    let mut wait = None;
    // Wrappers: the command they run is the one that matters.
    loop {
        let w = expanded.get(i)?;
        match basename(w) {
            "sudo" | "doas" => {
                i += 1;
                while let Some(a) = expanded.get(i).filter(|a| a.starts_with('-')) {
                    i += if matches!(a.as_str(), "-u" | "-g" | "-U") {
                        2
                    } else {
                        1
                    };
                }
            }
            "command" | "builtin" | "nohup" | "exec" | "time" => {
                i += 1;
                while expanded.get(i).is_some_and(|a| a.starts_with('-')) {
                    i += 1;
                }
            }
            "nice" | "ionice" => {
                i += 1;
                while let Some(a) = expanded.get(i).filter(|a| a.starts_with('-')) {
                    i += if matches!(a.as_str(), "-n" | "-c") {
                        2
                    } else {
                        1
                    };
                }
            }
            "env" => {
                i += 1;
                while expanded
                    .get(i)
                    .is_some_and(|a| a.starts_with('-') || a.contains('='))
                {
                    i += 1;
                }
            }
            "timeout" => {
                i += 1;
                while let Some(a) = expanded.get(i).filter(|a| a.starts_with('-')) {
                    i += if matches!(a.as_str(), "-s" | "-k" | "--signal" | "--kill-after") {
                        2
                    } else {
                        1
                    };
                }
                wait = expanded.get(i).and_then(|d| duration(d));
                i += 1;
            }
            _ => break,
        }
    }
    let name = basename(&expanded[i]).to_string();
    let args: Vec<&str> = expanded[i + 1..].iter().map(String::as_str).collect();
    let mut role = classify(&name, &args, ctx);
    // Redirections that write files are actions too (unless the command already is one).
    if !matches!(role, Role::Action(_)) {
        for r in &s.redirects {
            if matches!(r.op, RedirOp::Write | RedirOp::Append)
                && let Some(t) = &r.target
                && !is_harmless_target(t)
            {
                role = match role {
                    Role::Neutral => Role::Action(Action::Write(t.clone())),
                    other => other,
                };
            }
        }
    }
    if s.redirects.iter().any(|r| {
        r.target
            .as_deref()
            .is_some_and(|t| t.starts_with("/dev/tcp/"))
    }) {
        role = Role::Probe(ProbeKind::Service);
    }
    let own_wait = match name.as_str() {
        "sleep" => args.iter().map(|a| duration(a)).sum::<Option<f64>>(),
        "curl" => option_value(&args, &["-m", "--max-time"]).and_then(|v| duration(&v)),
        "nc" | "ncat" | "netcat" => option_value(&args, &["-w"]).and_then(|v| duration(&v)),
        _ => None,
    };
    let wait = match (wait, own_wait) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Some(Command {
        name,
        name_index: i,
        words: s.words.clone(),
        expanded,
        role,
        span: s.span,
        in_subst: ctx.in_subst,
        piped: ctx.piped,
        after_ps: ctx.after_ps,
        wait,
    })
}

fn is_harmless_target(t: &str) -> bool {
    matches!(
        t,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/console"
    ) || t.starts_with("/dev/tcp/")
        || t.starts_with("/dev/udp/")
        || t.starts_with("/dev/fd/")
        || t.starts_with('&')
}

/// The value of an option given as `-m 2`, `-m2`, `--max-time 2` or `--max-time=2`.
pub fn option_value(args: &[&str], names: &[&str]) -> Option<String> {
    for (k, a) in args.iter().enumerate() {
        for n in names {
            if a == n {
                return args.get(k + 1).map(|v| v.to_string());
            }
            if let Some(v) = a.strip_prefix(n) {
                if n.starts_with("--") {
                    if let Some(v) = v.strip_prefix('=') {
                        return Some(v.to_string());
                    }
                } else if !v.is_empty() && !a.starts_with("--") {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

/// Whether short option `c` appears in any `-xyz` cluster (until an option that takes a
/// value), or `long` is given.
pub fn has_flag(args: &[&str], c: char, long: &[&str], takes_value: &str) -> bool {
    args.iter().any(|a| {
        if let Some(l) = a.strip_prefix("--") {
            return long
                .iter()
                .any(|x| *x == l || l.starts_with(&format!("{x}=")));
        }
        if let Some(cluster) = a.strip_prefix('-') {
            for ch in cluster.chars() {
                if ch == c {
                    return true;
                }
                if takes_value.contains(ch) || !ch.is_ascii_alphanumeric() {
                    return false;
                }
            }
        }
        false
    })
}

fn mentions_keepalived(args: &[&str]) -> bool {
    args.iter().any(|a| a.contains("keepalived"))
}

fn classify(name: &str, args: &[&str], ctx: Ctx) -> Role {
    let first = args.first().copied().unwrap_or("");
    let unit = |s: &str| s.trim_end_matches(".service").to_string();
    match name {
        "true" | ":" => Role::Neutral,
        "false" => Role::False,
        "[" | "test" | "[[" => Role::Probe(ProbeKind::Test),
        "grep" | "egrep" | "fgrep" | "zgrep" => {
            if ctx.after_ps {
                Role::Probe(ProbeKind::Process)
            } else {
                Role::Probe(ProbeKind::Filter)
            }
        }
        "pgrep" | "pidof" | "pidofproc" => Role::Probe(ProbeKind::Process),
        "ps" => {
            if has_flag(args, 'C', &[], "opgtuUGs") || has_flag(args, 'p', &["pid"], "oCgtuUGs") {
                Role::Probe(ProbeKind::Process)
            } else {
                Role::Neutral
            }
        }
        "kill" | "killall" | "pkill" => {
            if args.contains(&"-0")
                || args.contains(&"-s0")
                || first == "-s" && args.get(1) == Some(&"0")
            {
                Role::Probe(ProbeKind::Process)
            } else if mentions_keepalived(args) {
                Role::Action(Action::StopKeepalived)
            } else {
                let target = args
                    .iter()
                    .find(|a| !a.starts_with('-'))
                    .map_or("a process".to_string(), |a| a.to_string());
                Role::Action(Action::Service(format!("{name} {target}")))
            }
        }
        "systemctl" => {
            let verb_at = args.iter().position(|a| !a.starts_with('-'));
            let verb = verb_at.map_or("", |k| args[k]);
            let units: Vec<&str> = verb_at.map_or(Vec::new(), |k| {
                args[k + 1..]
                    .iter()
                    .copied()
                    .filter(|a| !a.starts_with('-'))
                    .collect()
            });
            match verb {
                "is-active" | "status" | "is-failed" => Role::Probe(ProbeKind::Process),
                "stop" | "kill" | "disable" | "mask" if mentions_keepalived(&units) => {
                    Role::Action(Action::StopKeepalived)
                }
                "start"
                | "stop"
                | "restart"
                | "reload"
                | "try-restart"
                | "reload-or-restart"
                | "try-reload-or-restart"
                | "kill"
                | "enable"
                | "disable"
                | "mask" => Role::Action(Action::Service(format!(
                    "systemctl {verb} {}",
                    units.iter().map(|u| unit(u)).collect::<Vec<_>>().join(" ")
                ))),
                _ => Role::Unknown,
            }
        }
        "service" | "rc-service" => service_verb(first, args.get(1).copied().unwrap_or(""), name),
        "nginx" | "openresty" => {
            if args
                .iter()
                .any(|a| matches!(*a, "-t" | "-T" | "-v" | "-V" | "-q"))
            {
                Role::Unknown
            } else {
                Role::Action(Action::Service(
                    std::iter::once(name)
                        .chain(args.iter().copied())
                        .collect::<Vec<_>>()
                        .join(" "),
                ))
            }
        }
        "supervisorctl" | "docker" | "podman" if matches!(first, "start" | "restart" | "stop") => {
            Role::Action(Action::Service(format!("{name} {first}")))
        }
        "curl" | "wget" | "nc" | "ncat" | "netcat" | "telnet" | "socat" | "openssl" | "mysql"
        | "mysqladmin" | "psql" | "pg_isready" | "redis-cli" | "http" | "https" | "ldapsearch"
        | "dig" | "ss" | "netstat" | "lsof" | "rabbitmqctl" | "haproxy" => {
            Role::Probe(ProbeKind::Service)
        }
        "touch" | "rm" | "mkdir" | "cp" | "mv" | "ln" | "chmod" | "chown" | "tee" | "truncate" => {
            match args.iter().rev().find(|a| !a.starts_with('-')) {
                Some(t) if !is_harmless_target(t) => Role::Action(Action::Write(t.to_string())),
                _ => Role::Neutral,
            }
        }
        "exit" | "return" | "echo" | "printf" | "logger" | "sleep" | "cd" | "export" | "local"
        | "declare" | "typeset" | "readonly" | "unset" | "shift" | "set" | "wc" | "awk"
        | "gawk" | "mawk" | "sed" | "cut" | "head" | "tail" | "tr" | "sort" | "uniq" | "date"
        | "hostname" | "basename" | "dirname" | "break" | "continue" | "wait" | "trap"
        | "umask" | "shopt" | "source" | "." | "xargs" | "column" | "printenv" | "seq" | "tput" => {
            Role::Neutral
        }
        _ => {
            // /etc/init.d/nginx restart, /etc/rc.d/init.d/...
            if matches!(
                first,
                "start" | "stop" | "restart" | "reload" | "force-reload" | "status"
            ) && (name != "bash" && name != "sh")
            {
                return service_verb(name, first, "");
            }
            Role::Unknown
        }
    }
}

/// `service UNIT VERB` or `/etc/init.d/UNIT VERB`.
fn service_verb(unit: &str, verb: &str, how: &str) -> Role {
    let unit = basename(unit);
    match verb {
        "status" => Role::Probe(ProbeKind::Process),
        "stop" if unit.contains("keepalived") => Role::Action(Action::StopKeepalived),
        "start" | "stop" | "restart" | "reload" | "force-reload" | "try-restart" => {
            let how = if how.is_empty() {
                format!("/etc/init.d/{unit} {verb}")
            } else {
                format!("{how} {unit} {verb}")
            };
            Role::Action(Action::Service(how))
        }
        _ => Role::Unknown,
    }
}

// ---------------------------------------------------------------------------------------
// Exit statuses

#[derive(Debug, Clone)]
struct Flow {
    st: Status,
    /// The command whose status `st` is.
    last: Span,
    elapsed: f64,
    waits: Vec<(Span, f64)>,
}

impl Flow {
    fn with(&self, st: Status, last: Span) -> Flow {
        Flow {
            st,
            last,
            ..self.clone()
        }
    }
    fn join(a: Option<Flow>, b: Option<Flow>) -> Option<Flow> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(a), Some(b)) => {
                let st = a.st.or(b.st);
                let last = if b.last.start >= a.last.start {
                    b.last
                } else {
                    a.last
                };
                let (elapsed, waits) = if b.elapsed > a.elapsed {
                    (b.elapsed, b.waits)
                } else {
                    (a.elapsed, a.waits)
                };
                Some(Flow {
                    st,
                    last,
                    elapsed,
                    waits,
                })
            }
        }
    }
}

fn functions<'a>(n: &'a Node, out: &mut HashMap<String, &'a Node>) {
    match n {
        Node::Function { name, body, .. } => {
            out.insert(name.clone(), body);
        }
        Node::Seq(v) => v.iter().for_each(|e| functions(e, out)),
        Node::Group(e) => functions(e, out),
        _ => {}
    }
}

struct Eval<'a> {
    funcs: HashMap<String, &'a Node>,
    commands: &'a [Command],
    /// Index of `commands` by (span, word count).
    by_span: HashMap<(usize, usize, usize), usize>,
    errexit: bool,
    pipefail: bool,
    depth: usize,
    ends: Vec<End>,
    /// `return`s of the function calls being evaluated, innermost last.
    returns: Vec<Vec<Flow>>,
    saw_errexit: bool,
}

impl<'a> Eval<'a> {
    fn info(&self, s: &Simple) -> Option<&'a Command> {
        let commands: &'a [Command] = self.commands;
        self.by_span
            .get(&(s.span.start, s.span.end, s.words.len()))
            .map(|&i| &commands[i])
    }

    fn end(&mut self, kind: EndKind, status: Status, span: Span, f: &Flow) {
        self.ends.push(End {
            kind,
            status,
            span,
            elapsed: f.elapsed,
            waits: f.waits.clone(),
        });
    }

    /// Runs `n` in a subshell: its exits only end the subshell; returns its status.
    fn subshell(&mut self, n: &'a Node, input: Flow) -> Option<Flow> {
        let mark = self.ends.len();
        let saved = (self.errexit, self.pipefail);
        let fall = self.eval(n, input.clone(), false);
        let inner: Vec<End> = self.ends.drain(mark..).collect();
        (self.errexit, self.pipefail) = saved;
        let mut out = fall;
        for e in inner {
            out = Flow::join(
                out,
                Some(Flow {
                    st: e.status,
                    last: e.span,
                    elapsed: e.elapsed,
                    waits: e.waits,
                }),
            );
        }
        out
    }

    /// The status a command leaves, given its role.
    fn status_of(role: &Role) -> Status {
        match role {
            Role::Probe(_) | Role::Unknown => Status::EITHER,
            Role::False => Status::FAIL,
            Role::Neutral | Role::Action(_) => Status::ZERO,
        }
    }

    fn after_errexit(&mut self, f: Flow, cond: bool) -> Option<Flow> {
        if self.errexit && !cond && f.st.fail {
            self.end(EndKind::Errexit, Status::FAIL, f.last, &f);
            return f.st.zero.then(|| f.with(Status::ZERO, f.last));
        }
        Some(f)
    }

    fn eval(&mut self, n: &'a Node, input: Flow, cond: bool) -> Option<Flow> {
        match n {
            Node::Simple(s) => self.simple(s, input, cond),
            Node::Seq(v) => {
                let mut f = input;
                for e in v {
                    f = self.eval(e, f, cond)?;
                }
                Some(f)
            }
            Node::Background(e) => {
                let span = e.span();
                self.subshell(e, input.clone());
                Some(input.with(Status::ZERO, span))
            }
            Node::And(a, b) => {
                let fa = self.eval(a, input, true)?;
                let ok = if fa.st.zero {
                    self.eval(b, fa.with(Status::ZERO, fa.last), cond)
                } else {
                    None
                };
                let failed = fa.st.fail.then(|| fa.with(Status::FAIL, fa.last));
                Flow::join(ok, failed)
            }
            Node::Or(a, b) => {
                let fa = self.eval(a, input, true)?;
                let failed = if fa.st.fail {
                    self.eval(b, fa.with(Status::FAIL, fa.last), cond)
                } else {
                    None
                };
                let ok = fa.st.zero.then(|| fa.with(Status::ZERO, fa.last));
                Flow::join(ok, failed)
            }
            Node::Not(e) => {
                let f = self.eval(e, input, true)?;
                Some(f.with(f.st.not(), f.last))
            }
            Node::Pipe(v) => {
                let mut st_any_fail = false;
                let mut last = None;
                let mut f = input.clone();
                for (i, e) in v.iter().enumerate() {
                    let out = self.subshell(e, input.clone())?;
                    st_any_fail |= out.st.fail;
                    if out.elapsed > f.elapsed {
                        f.elapsed = out.elapsed;
                        f.waits = out.waits.clone();
                    }
                    if i + 1 == v.len() {
                        last = Some(out);
                    }
                }
                let last = last?;
                let mut st = last.st;
                if self.pipefail && st_any_fail {
                    st.fail = true;
                }
                self.after_errexit(f.with(st, last.last), cond)
            }
            Node::If {
                branches,
                otherwise,
                span,
            } => {
                let mut out = None;
                let mut next = Some(input);
                for (c, body) in branches {
                    let Some(inp) = next.take() else { break };
                    let Some(fc) = self.eval(c, inp, true) else {
                        break;
                    };
                    if fc.st.zero {
                        let r = self.eval(body, fc.with(Status::ZERO, fc.last), cond);
                        out = Flow::join(out, r);
                    }
                    if fc.st.fail {
                        next = Some(fc.with(Status::FAIL, fc.last));
                    }
                }
                if let Some(inp) = next {
                    match otherwise {
                        Some(o) => out = Flow::join(out, self.eval(o, inp, cond)),
                        None => out = Flow::join(out, Some(inp.with(Status::ZERO, *span))),
                    }
                }
                out
            }
            Node::Case {
                arms,
                catch_all,
                span,
            } => {
                let mut out = (!catch_all).then(|| input.with(Status::ZERO, *span));
                for arm in arms {
                    let r = self.eval(arm, input.with(Status::ZERO, *span), cond);
                    out = Flow::join(out, r);
                }
                out
            }
            Node::Loop {
                cond: c,
                iterations,
                body,
                span,
            } => {
                let start = input.elapsed;
                let f = match c {
                    Some(c) => self.eval(c, input, true)?,
                    None => input,
                };
                let inp = f.with(Status::ZERO, f.last);
                let Some(mut b) = self.eval(body, inp, cond) else {
                    // Every run of the body leaves the script; skipping it is the other path.
                    return Some(f.with(Status::ZERO, *span));
                };
                let per_run = b.elapsed - f.elapsed;
                if per_run > 0.0 {
                    match iterations {
                        Some(k) => b.elapsed = start + per_run * (*k as f64),
                        None => b.elapsed = f64::INFINITY,
                    }
                }
                Flow::join(
                    Some(b.with(b.st.or(Status::ZERO), *span)),
                    Some(f.with(Status::ZERO, *span)),
                )
            }
            Node::Subshell(e, span) => {
                let f = self.subshell(e, input)?;
                let f = f.with(f.st, *span);
                self.after_errexit(f, cond)
            }
            Node::Group(e) => self.eval(e, input, cond),
            Node::Function { span, .. } => Some(input.with(Status::ZERO, *span)),
            Node::Test { substs, span } => {
                let mut f = input;
                for s in substs {
                    f = self.subshell(s, f.clone()).unwrap_or(f);
                }
                self.after_errexit(f.with(Status::EITHER, *span), cond)
            }
        }
    }

    fn simple(&mut self, s: &'a Simple, input: Flow, cond: bool) -> Option<Flow> {
        // Command substitutions run first; an assignment-only command has the status of
        // the last one.
        let mut f = input.clone();
        let mut subst_status = None;
        for sub in &s.substs {
            if let Some(out) = self.subshell(sub, f.clone()) {
                subst_status = Some(out.st);
                f.elapsed = out.elapsed;
                f.waits = out.waits;
            }
        }
        let Some(info) = self.info(s) else {
            // Assignments only.
            let st = subst_status.unwrap_or(Status::ZERO);
            return self.after_errexit(f.with(st, s.span), cond);
        };
        if let Some(w) = info.wait {
            f.elapsed += w;
            f.waits.push((info.span, w));
        }
        let args = info.args();
        let exec = info.expanded[..info.name_index]
            .iter()
            .any(|w| basename(w) == "exec");
        match info.name.as_str() {
            "exit" | "return" if info.name_index == 0 => {
                let st = match args.first() {
                    None => input.st,
                    Some(a) => match a.parse::<i64>() {
                        Ok(0) => Status::ZERO,
                        Ok(_) => Status::FAIL,
                        Err(_) if a == "$?" => input.st,
                        Err(_) => Status::EITHER,
                    },
                };
                if info.name == "return" && !self.returns.is_empty() {
                    let r = f.with(st, s.span);
                    if let Some(top) = self.returns.last_mut() {
                        top.push(r);
                    }
                } else {
                    self.end(EndKind::Exit, st, s.span, &f);
                }
                return None;
            }
            "exec" if args.is_empty() => return Some(f.with(Status::ZERO, s.span)),
            "set" => {
                for (k, a) in args.iter().enumerate() {
                    let on = a.starts_with('-');
                    let opts = a.trim_start_matches(['-', '+']);
                    if (a.starts_with('-') || a.starts_with('+')) && !a.starts_with("--") {
                        if opts == "o" {
                            match args.get(k + 1).map(String::as_str) {
                                Some("errexit") => self.set_errexit(on),
                                Some("pipefail") => self.pipefail = on,
                                _ => {}
                            }
                        } else if opts.contains('e') {
                            self.set_errexit(on);
                        }
                    }
                }
                return Some(f.with(Status::ZERO, s.span));
            }
            _ => {}
        }
        let st = match self.funcs.get(info.name.as_str()).copied() {
            Some(body) if info.name_index == 0 && self.depth < 8 => {
                self.depth += 1;
                self.returns.push(Vec::new());
                let out = self.eval(body, f.clone(), cond);
                let rets = self.returns.pop().unwrap_or_default();
                self.depth -= 1;
                let mut r = out;
                for x in rets {
                    r = Flow::join(r, Some(x));
                }
                let r = r?;
                f.elapsed = r.elapsed;
                f.waits = r.waits;
                r.st
            }
            _ => Self::status_of(&info.role),
        };
        if exec {
            self.end(EndKind::Exec, st, s.span, &f);
            return None;
        }
        self.after_errexit(f.with(st, s.span), cond)
    }

    fn set_errexit(&mut self, on: bool) {
        self.errexit = on;
        self.saw_errexit |= on;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Analysis {
        let n = super::super::parse(text, 0).unwrap();
        analyse(&n, false)
    }

    #[test]
    fn seed_script_never_fails() {
        let a = run(
            "#!/bin/bash\ncounter=$(ps -C nginx --no-heading|wc -l)\nif [ \"${counter}\" = \"0\" ]; then\n  systemctl start nginx.service\n  sleep 2\n  counter=$(ps -C nginx --no-heading|wc -l)\n  if [ \"${counter}\" = \"0\" ]; then\n    systemctl stop keepalived.service\n  fi\nfi\n",
        );
        assert!(!a.can_fail(), "{:?}", a.ends);
        assert!(
            a.commands
                .iter()
                .any(|c| c.role == Role::Action(Action::StopKeepalived))
        );
        assert!(
            a.commands
                .iter()
                .any(|c| c.role == Role::Probe(ProbeKind::Process) && c.in_subst)
        );
        assert_eq!(a.ends.iter().map(|e| e.elapsed).fold(0.0, f64::max), 2.0);
    }

    #[test]
    fn exec_probe_can_fail() {
        assert!(run("#!/bin/sh\nexec curl -fsS http://127.0.0.1/\n").can_fail());
    }

    #[test]
    fn echo_after_the_test_hides_it() {
        assert!(!run("#!/bin/sh\ncurl -f http://127.0.0.1/\necho done\n").can_fail());
        assert!(run("#!/bin/sh\ncurl -f http://127.0.0.1/ || exit 1\necho done\n").can_fail());
    }

    #[test]
    fn set_e_makes_probes_fatal() {
        assert!(run("#!/bin/sh\nset -e\ncurl -f http://127.0.0.1/\necho ok\n").can_fail());
        assert!(
            !run("#!/bin/sh\nset -e\nif curl -f http://x/; then echo; fi\necho ok\n").can_fail()
        );
    }

    #[test]
    fn functions_and_return() {
        let a = run(
            "#!/bin/bash\nf() {\n  nc -z 127.0.0.1 80\n  r=$?\n  if [ $r = 0 ]; then return 0; else return 1; fi\n}\nf\n",
        );
        assert!(a.can_fail());
    }

    #[test]
    fn case_on_status() {
        let a = run("#!/bin/sh\npidof nginx\ncase $? in\n 0) exit 0 ;;\n *) exit 1 ;;\nesac\n");
        assert!(a.can_fail());
        let a = run("#!/bin/sh\npidof nginx\ncase $? in\n 0) exit 0 ;;\n *) exit 0 ;;\nesac\n");
        assert!(!a.can_fail());
    }

    #[test]
    fn subshell_exit_is_its_status() {
        assert!(run("#!/bin/sh\n(exit 1)\n").can_fail());
        assert!(!run("#!/bin/sh\nx=$(exit 1; echo)\necho\n").can_fail());
    }

    #[test]
    fn loops_with_sleep_are_unbounded() {
        let a = run("#!/bin/sh\nwhile ! curl -f http://x/; do sleep 1; done\n");
        assert!(a.ends.iter().any(|e| e.elapsed.is_infinite()));
        let a = run("#!/bin/sh\nfor i in 1 2 3; do sleep 1; done\nexit 1\n");
        assert_eq!(a.ends[0].elapsed, 3.0);
    }

    #[test]
    fn constants_expand() {
        let a = run("IP=10.0.0.1\nnc -z \"$IP\" 80\n");
        let nc = a.commands.iter().find(|c| c.name == "nc").unwrap();
        assert_eq!(nc.args(), ["-z", "10.0.0.1", "80"]);
    }

    #[test]
    fn flags() {
        assert!(has_flag(&["-fsS"], 'f', &["fail"], "o"));
        assert!(!has_flag(&["-so", "f"], 'f', &["fail"], "o"));
        assert!(has_flag(&["--fail"], 'f', &["fail"], "o"));
        assert_eq!(option_value(&["-m2"], &["-m"]).as_deref(), Some("2"));
        assert_eq!(
            option_value(&["--max-time=3"], &["--max-time"]).as_deref(),
            Some("3")
        );
    }
}
