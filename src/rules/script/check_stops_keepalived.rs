//! HC003: a check that stops keepalived.

use super::ScriptCtx;
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::shell::analysis::{Action, Role};

pub static RULE: Rule = Rule {
    code: "HC003",
    name: "check-stops-keepalived",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the node leaves the cluster until someone starts keepalived again",
    fix: FixKind::Unsafe,
    summary: "the check stops keepalived: the node leaves the cluster until someone starts it again",
    docs: r#"## What it finds
A health check that stops or kills keepalived: `systemctl stop keepalived`,
`service keepalived stop`, `/etc/init.d/keepalived stop`, `killall keepalived`,
`pkill keepalived`, `kill $(cat /run/keepalived.pid)`.

## Why it matters
Stopping keepalived does move the VIP, but the node then stays out of the cluster: when
nginx comes back, nothing brings keepalived back, and the cluster runs without a backup until
someone notices. A failing check does the same hand-over and undoes itself: keepalived lowers
the priority (or enters FAULT) and restores it when the check passes again.

## Example
```
if ! curl -fs http://127.0.0.1/ >/dev/null; then
    systemctl stop keepalived
fi
```

## Fix
`exit 1` instead: the check fails, keepalived hands the VIP over, and takes it back by itself.
`haconf fix --unsafe` makes that replacement.

## References
- `vrrp_script` results, weights and FAULT: keepalived.conf(5): https://www.keepalived.org/manpage.html
- vendor guides that stop keepalived from the check, such as the one behind examples/seed-cluster
"#,
    check: Check::Script(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\nif ! curl -fs -o /dev/null --max-time 0.5 http://127.0.0.1/; then\n    systemctl stop keepalived\n    exit 1\nfi\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\nif ! curl -fs -o /dev/null --max-time 0.5 http://127.0.0.1/; then\n    exit 1\nfi\n",
        ),
    ],
};

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let Some(a) = cx.analysis() else { return };
    for c in &a.commands {
        if c.role != Role::Action(Action::StopKeepalived) {
            continue;
        }
        let shown = cx.db.get(cx.target.file).slice(c.span).to_string();
        let mut d = cx
            .diag(
                "HC003",
                c.span,
                format!(
                    "the check stops keepalived (`{shown}`): this node leaves the cluster until someone starts keepalived again"
                ),
            )
            .with_help("fail the check instead (`exit 1`): keepalived hands the VIP over and takes it back when the check passes");
        if !cx.target.inline && !c.in_subst && !c.piped {
            d = d.with_fix(Fix {
                applicability: Applicability::Unsafe,
                modes: Vec::new(),
                message: format!("replace `{shown}` with `exit 1`"),
                edits: vec![Edit {
                    file: cx.target.file,
                    span: c.span,
                    replacement: "exit 1".into(),
                }],
            });
        }
        out.push(d);
    }
}
