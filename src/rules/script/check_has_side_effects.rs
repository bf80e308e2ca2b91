//! HC004: a check that starts services or writes files.

use super::ScriptCtx;
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::shell::analysis::{Action, Role};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "HC004",
    name: "check-has-side-effects",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "restarts from the check hide failures and race with systemd",
    fix: FixKind::Unsafe,
    summary: "the check starts/restarts services or writes files: leave restarts to systemd",
    docs: r#"## What it finds
A health check that changes the system: starts, restarts, reloads or stops a service
(`systemctl`, `service`, `/etc/init.d/X`, `nginx`, `kill`, `docker restart`), or writes,
moves or removes files (`>`/`>>` to a file, `touch`, `rm`, `tee`, ...). Writes to
`/dev/null`, `/dev/stderr` and the like are fine. Stopping keepalived is HC003.

## Why it matters
The check runs every `interval` seconds, as root by default. A restart inside it hides the
failure it should report (the check passes while nginx flaps, and the VIP never moves),
fights systemd's own restart logic, and can outlast the `timeout`. Writes fail or hang on a
full or read-only disk, and turn the check itself into the failure.

## Example
```
if ! pidof nginx >/dev/null; then
    systemctl restart nginx
fi
```

## Fix
Report, do not repair: exit non-zero and let systemd restart nginx (`Restart=on-failure` in
its unit). Log with `logger` instead of writing files. `haconf fix --unsafe` removes the
service command (a file write needs a person).

## References
- systemd.service(5), `Restart=`
- a common pattern in published guides: checks that restart the service they check
"#,
    check: Check::Script(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\nif ! curl -fs -o /dev/null --max-time 0.5 http://127.0.0.1/; then\n    systemctl restart nginx\n    exit 1\nfi\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\nif ! curl -fs -o /dev/null --max-time 0.5 http://127.0.0.1/; then\n    logger -t chk \"nginx does not answer\"\n    exit 1\nfi\n",
        ),
    ],
};

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let Some(a) = cx.analysis() else { return };
    let f = cx.db.get(cx.target.file);
    for c in &a.commands {
        let Role::Action(action) = &c.role else {
            continue;
        };
        let shown = f.slice(c.span).to_string();
        let (msg, removable) = match action {
            Action::StopKeepalived => continue,
            Action::Service(what) => (
                format!(
                    "the check changes a service (`{what}`): a check that restarts hides the failure it should report; leave restarts to systemd"
                ),
                true,
            ),
            Action::Write(path) => (
                format!(
                    "the check writes `{path}` every interval: on a full or read-only disk the write fails or hangs, and the check with it"
                ),
                false,
            ),
        };
        let mut d = cx.diag("HC004", c.span, msg).with_help(
            "report, do not repair: exit non-zero and let systemd restart the service (`Restart=on-failure`); log with `logger`",
        );
        if removable && !cx.target.inline && !c.in_subst && !c.piped {
            // The whole line when the command is alone on it, else the command (as `:`).
            let (line, _) = f.line_col(c.span.start);
            let start = f.offset(line, 1);
            let end = f.line_end(line);
            let alone = f.slice(Span::new(start, end)).trim() == shown.trim();
            let (span, replacement) = if alone {
                let next = (end + 1).min(f.text.len());
                (Span::new(start, next), String::new())
            } else {
                (c.span, ":".to_string())
            };
            d = d.with_fix(Fix {
                applicability: Applicability::Unsafe,
                modes: Vec::new(),
                message: format!("remove `{shown}`"),
                edits: vec![Edit {
                    file: cx.target.file,
                    span,
                    replacement,
                }],
            });
        }
        out.push(d);
    }
}
