//! HC001: a check script none of whose paths exits non-zero.

use super::ScriptCtx;
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::shell::analysis::EndKind;
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "HC001",
    name: "check-never-fails",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "a check that cannot fail never moves the VIP",
    fix: FixKind::Unsafe,
    summary: "no path of the script exits non-zero: keepalived never sees a failure, weights never apply",
    docs: r#"## What it finds
A health check whose every path ends with status 0. haconf reads the script as a shell does:
`exit N`, `exec`, the status of the last command, `if`/`case`/`&&`/`||`, pipelines,
functions and `return`, subshells and `set -e`. Probes (`curl`, `pidof`, `[ ... ]`, unknown
programs) can fail; actions (`systemctl start`, `kill`), `echo`, `sleep` and the like are
taken as succeeding, since their status says whether the action worked, not whether the
service is healthy. Every place where the script ends with status 0 is shown.

Also a check whose only probes look for keepalived's own process (`killall -0 keepalived`,
`pidof keepalived`, `systemctl is-active keepalived`): keepalived is running whenever it runs
the check, so the probe always succeeds.

## Why it matters
keepalived only looks at the exit status. A check that restarts nginx, prints "down" and
falls off the end exits 0: the `vrrp_script` stays OK, its weight never applies, and the VIP
stays on a node whose nginx is dead. This is the vendor-guide `chk_nginx.sh` pattern.

## Example
```
#!/bin/bash
if [ "$(ps -C nginx --no-heading | wc -l)" = "0" ]; then
    systemctl start nginx
fi
```

## Fix
Let the probe's status be the script's: `exec curl -fsS -o /dev/null --max-time 1
http://127.0.0.1/`, or `exit 1` on the path that finds nginx down. `haconf fix --unsafe`
replaces the script with such a probe, with a time limit below the `vrrp_script` timeout.

## References
- keepalived reads only a check's exit status: 0 is success, whatever it prints (keepalived.conf(5): https://www.keepalived.org/manpage.html, `vrrp_script`); https://github.com/acassen/keepalived/issues/1197
- bash(1), *EXIT STATUS*; POSIX Shell Command Language 2.8.2
"#,
    check: Check::Script(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    weight -20\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/bash\nif [ \"$(ps -C nginx --no-heading | wc -l)\" = \"0\" ]; then\n    systemctl start nginx\nfi\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n    weight -20\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\nexec curl -fsS -o /dev/null --max-time 0.5 http://127.0.0.1/\n",
        ),
    ],
};

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let Some(a) = cx.analysis() else { return };
    if let Some(d) = probes_keepalived_itself(cx, a) {
        out.push(d);
        return;
    }
    // A wait without a bound ends in keepalived's timeout, which is a failure.
    if a.can_fail() || a.ends.is_empty() || a.ends.iter().any(|e| e.elapsed.is_infinite()) {
        return;
    }
    // Where the script falls off its end: its last line. Explicit ends are where they are.
    let f = cx.db.get(cx.target.file);
    let text = &f.text[cx.target.span.start..cx.target.span.end];
    let trimmed = text.trim_end();
    let last_line_start = trimmed.rfind('\n').map_or(0, |i| i + 1);
    let last_line = Span::new(
        cx.target.span.start
            + last_line_start
            + (trimmed[last_line_start..].len() - trimmed[last_line_start..].trim_start().len()),
        cx.target.span.start + trimmed.len(),
    );
    let mut spans: Vec<Span> = a
        .ends
        .iter()
        .map(|e| {
            if e.kind == EndKind::Fallthrough {
                last_line
            } else {
                e.span
            }
        })
        .collect();
    spans.sort_by_key(|s| (s.start, s.end));
    spans.dedup();
    let primary = if a.ends.iter().any(|e| e.kind == EndKind::Fallthrough) {
        last_line
    } else {
        *spans.last().expect("ends is not empty")
    };
    let names = cx.target.names(cx.model);
    let others = spans.len() - 1;
    let msg = format!(
        "this check can never fail: every path ends with status 0 (here{}), so keepalived never sees a failure and {names} never changes this node's priority or state",
        match others {
            0 => String::new(),
            1 => " and at one other place".to_string(),
            n => format!(" and at {n} other places"),
        }
    );
    let mut d = cx.diag("HC001", primary, msg).with_help(
        "let the probe's status be the script's (`exec curl -fsS --max-time 1 http://127.0.0.1/`), or `exit 1` on the path that finds nginx down",
    );
    for s in spans.iter().filter(|s| **s != primary) {
        d.related.push(Related {
            file: cx.target.file,
            span: *s,
            message: "this path also ends with status 0".into(),
        });
    }
    out.push(d.with_fix(cx.probe_fix("HC001: the previous check could never fail")));
}

/// A check whose only probes look for keepalived's own process (`killall -0 keepalived`,
/// `pidof keepalived`, `systemctl is-active keepalived`): keepalived is running whenever it
/// runs the check, so the probe always succeeds.
fn probes_keepalived_itself(
    cx: &ScriptCtx,
    a: &crate::shell::analysis::Analysis,
) -> Option<Diagnostic> {
    use crate::shell::analysis::{ProbeKind, Role};
    let names_keepalived = |c: &crate::shell::analysis::Command| {
        c.args()
            .iter()
            .filter(|w| !w.starts_with('-'))
            .any(|w| super::service_named(w) == Some("keepalived"))
    };
    let mut found = None;
    for c in &a.commands {
        match c.role {
            Role::Probe(ProbeKind::Process) if names_keepalived(c) => {
                found.get_or_insert(c);
            }
            Role::Probe(ProbeKind::Process) | Role::Probe(ProbeKind::Service) | Role::Unknown => {
                return None;
            }
            Role::False => return None,
            _ => {}
        }
    }
    let p = found?;
    let shown = cx.db.get(cx.target.file).slice(p.span).trim().to_string();
    let names = cx.target.names(cx.model);
    Some(
        cx.diag(
            "HC001",
            p.span,
            format!(
                "this check can never fail: it looks for keepalived's own process (`{shown}`), which is running whenever keepalived runs the check, so {names} never changes this node's priority or state"
            ),
        )
        .with_help(super::probe_hint(None)),
    )
}
