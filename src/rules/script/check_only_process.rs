//! HC002: a check that only proves a process exists.

use super::ScriptCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::shell::analysis::{ProbeKind, Role};

pub static RULE: Rule = Rule {
    code: "HC002",
    name: "check-only-process",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "a hung or broken service keeps the VIP while its process exists",
    fix: FixKind::Unsafe,
    summary: "the check only proves a process exists or a unit is active (`ps -C`, `pidof`, `killall -0`, `systemctl is-active`), not that the service answers",
    docs: r#"## What it finds
A health check whose only probes look for a process: `ps -C`, `ps aux | grep`, `pidof`,
`pgrep`, `killall -0`, `kill -0`, `systemctl is-active`, `service X status`. A check that
also talks to the service (`curl`, `wget`, `nc`, `/dev/tcp`, a database client) or runs a
program haconf does not know is not reported.

## Why it matters
A process can exist and serve nothing: nginx with a broken upstream, a full disk, workers
stuck, or a master process left after a failed reload. The VIP stays on a node that answers
with errors, or not at all. `pgrep nginx` without `-x` also matches `nginx-exporter` or
`nginx-debug`.

## Example
```
vrrp_script chk_nginx {
    script "killall -0 nginx"
}
```

## Fix
Ask the service to answer, with a time limit. The message names the service the check looks
for and the help suggests a probe that fits it:
- nginx, haproxy and other HTTP servers: `curl -fsS -o /dev/null --max-time 1 http://127.0.0.1/`;
- kube-apiserver: `curl -fsSk --max-time 1 https://127.0.0.1:6443/healthz`;
- MySQL: `mysql --connect-timeout=1 -e 'SELECT 1'`; PostgreSQL: `pg_isready -t 1`;
- Redis: `redis-cli -t 1 ping` (and compare with `PONG`).

`haconf fix --unsafe` replaces a check of the nginx process with an HTTP probe. A check of
keepalived's own process is HC001 (it can never fail), not this rule.

## References
- a process that exists is not a service that answers (a hung or misconfigured nginx still has its processes)
- keepalived.conf(5), `vrrp_script`
"#,
    check: Check::Script(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"killall -0 nginx\"\n    interval 2\n    timeout 1\n    weight -20\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/curl -fsS -o /dev/null --max-time 1 http://127.0.0.1/\"\n    interval 2\n    timeout 1\n    weight -20\n}\n",
    )],
};

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let Some(a) = cx.analysis() else { return };
    let mut process = None;
    for c in &a.commands {
        match c.role {
            Role::Probe(ProbeKind::Process) => {
                process.get_or_insert(c);
            }
            Role::Probe(ProbeKind::Service) | Role::Unknown => return,
            _ => {}
        }
    }
    let Some(p) = process else { return };
    let what = p
        .args()
        .iter()
        .rev()
        .find(|a| {
            !a.starts_with('-') && !matches!(a.as_str(), "0" | "status" | "is-active" | "is-failed")
        })
        .cloned()
        .unwrap_or_else(|| "the service".into());
    // A check of keepalived's own process cannot fail while keepalived runs it: HC001.
    if super::service_named(&what) == Some("keepalived") {
        return;
    }
    let shown = cx.db.get(cx.target.file).slice(p.span).to_string();
    let asks_systemd = matches!(p.name.as_str(), "systemctl" | "service" | "rc-service")
        || p.args().iter().any(|a| a == "status");
    let mut msg = if asks_systemd {
        format!(
            "the check only asks the init system whether `{what}` is running (`{shown}`), not whether it serves requests"
        )
    } else {
        format!(
            "the check only proves that a process named `{what}` exists (`{shown}`), not that it serves requests"
        )
    };
    if p.name == "pgrep"
        && !crate::shell::analysis::has_flag(
            &p.args().iter().map(String::as_str).collect::<Vec<_>>(),
            'x',
            &["exact"],
            "gGPsStuUF",
        )
    {
        msg.push_str("; without `-x`, pgrep also matches longer names such as `nginx-exporter`");
    }
    let service = super::service_named(&what);
    let mut d = cx
        .diag("HC002", p.span, msg)
        .with_help(super::probe_hint(service));
    if what.contains("nginx") || what.contains("openresty") {
        d = d.with_fix(cx.probe_fix("HC002: the previous check only proved a process exists"));
    }
    out.push(d);
}
