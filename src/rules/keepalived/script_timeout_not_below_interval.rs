//! KA023: a script `timeout` missing or not below its `interval`.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::model::fmt_seconds;
use crate::rules::{Check, FixKind, NodeCtx, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "KA023",
    name: "script-timeout-not-below-interval",
    severity: Severity::Warning,
    fix: FixKind::Safe,
    summary: "`timeout` missing or ≥ `interval`: a slow check is killed and counted as failed",
    docs: r#"## What it finds
A `vrrp_script` with no `timeout` (keepalived then uses the interval) or a `timeout` not below
its `interval`.

## Why it matters
keepalived skips a run while the previous one is still going, so a check that hangs as long
as the interval delays every later result; at the timeout it is killed (SIGTERM, then SIGKILL)
and counted as a failure. A timeout clearly below the interval keeps the rhythm: one result
every interval, and a hung probe is a failure, not a stall.

## Example
```
vrrp_script chk_nginx {
    script "/etc/keepalived/chk_nginx.sh"
    interval 2
}
```

## Fix
Set `timeout` below the interval, in whole seconds (keepalived 2.2 rejects `0.5`): haconf
writes interval − 1 s; with a 1 s interval nothing is below, so use `interval 2`, `timeout 1`.
Make the probe's own time limit (`curl --max-time`, which takes fractions) shorter still.

## References
- keepalived `vrrp/vrrp_track.c`, `core/notify.c` (script timeouts)
- https://github.com/acassen/keepalived/issues/535
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 2\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 2\n    timeout 1\n}\n",
    )],
};

/// Help when the interval is 1 s: keepalived 2.2 reads whole seconds, so no timeout is below.
const ONE_SECOND: &str = "keepalived 2.2 reads whole seconds here, so nothing is below a 1 s interval: use `interval 2` with `timeout 1`";

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for s in &cx.model().keepalived.scripts {
        let interval = s.interval();
        let suggested = s.suggested_timeout();
        match &s.timeout {
            Some(t) if t.value < interval => {}
            Some(t) => {
                let mut d = Diagnostic::new(
                    "KA023",
                    t.file,
                    t.span,
                    format!(
                        "`vrrp_script {}`: timeout {}s is not below its interval {}s",
                        s.name.value,
                        fmt_seconds(t.value),
                        fmt_seconds(interval)
                    ),
                );
                match suggested {
                    Some(v) => {
                        d = d.with_fix(Fix {
                            applicability: Applicability::Safe,
                            modes: Vec::new(),
                            message: format!("set `timeout {}`", fmt_seconds(v)),
                            edits: vec![crate::fix::replace(t.file, t.span, fmt_seconds(v))],
                        })
                    }
                    None => d = d.with_help(ONE_SECOND),
                }
                out.push(d);
            }
            None => {
                let mut d = Diagnostic::new(
                    "KA023",
                    s.name.file,
                    s.name.span,
                    format!(
                        "`vrrp_script {}` has no timeout: keepalived uses the interval ({}s), so a hung check stalls every later run",
                        s.name.value,
                        fmt_seconds(interval)
                    ),
                );
                let Some(suggested) = suggested else {
                    out.push(d.with_help(ONE_SECOND));
                    continue;
                };
                if let Some(b) = &s.block {
                    let items: Vec<Span> = [
                        s.script.as_ref().map(|v| v.span),
                        s.interval.as_ref().map(|v| v.span),
                        s.weight.as_ref().map(|v| v.span),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    if let Some(e) = crate::fix::insert_in_block(
                        cx.db,
                        b,
                        &items,
                        &[&format!("timeout {}", fmt_seconds(suggested))],
                    ) {
                        d.fix = Some(Fix {
                            applicability: Applicability::Safe,
                            modes: Vec::new(),
                            message: format!("add `timeout {}`", fmt_seconds(suggested)),
                            edits: vec![e],
                        });
                    }
                }
                out.push(d);
            }
        }
    }
}
