//! KA023: a script `timeout` set above its `interval`.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::model::fmt_seconds;
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA023",
    name: "script-timeout-not-below-interval",
    severity: Severity::Warning,
    group: crate::rules::Group::Pedantic,
    default: false,
    why: "a missing `timeout` is normal (it defaults to the interval); an explicit timeout above the interval only delays noticing a hung check. Checks that outlast their timeout are HC005",
    fix: FixKind::Safe,
    summary: "an explicit `timeout` above the `interval`: a hung check is noticed late, and the runs due meanwhile are skipped",
    docs: r#"## What it finds
A `vrrp_script` whose `timeout` is set above its `interval`. A missing `timeout` is not
reported: keepalived then uses the interval, which is a sound default.

## Why it matters
keepalived skips a run while the previous one is still going, and kills a run at its timeout
(SIGTERM, then SIGKILL 2 s later), counting it as a failure. With a timeout above the
interval, a check that hangs is noticed only at the timeout, and the runs that were due in
between are skipped: failover waits `timeout × fall` instead of `interval × fall`. A check
that outlasts its timeout on a normal run (a `sleep`, a probe with a longer limit of its own)
is HC005, which is on by default.

This rule is opt-in (pedantic): the delay is a tuning matter, not a broken failover.

## Example
```
vrrp_script chk_nginx {
    script "/etc/keepalived/chk_nginx.sh"
    interval 2
    timeout 15
}
```

## Fix
Set `timeout` at or below the interval, in whole seconds (keepalived 2.2 rejects `0.5`):
haconf writes interval − 1 s. Make the probe's own time limit (`curl --max-time`, which takes
fractions) shorter still.

## References
- keepalived `vrrp/vrrp_track.c`, `core/notify.c` (script timeouts)
- https://github.com/acassen/keepalived/issues/535
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 2\n    timeout 5\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 2\n}\nvrrp_script chk2 {\n    script \"/usr/bin/true\"\n    interval 2\n    timeout 1\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for s in &cx.model().keepalived.scripts {
        let interval = s.interval();
        let suggested = s.suggested_timeout();
        match &s.timeout {
            Some(t) if t.value <= interval => {}
            Some(t) => {
                let mut d = Diagnostic::new(
                    "KA023",
                    t.file,
                    t.span,
                    format!(
                        "`vrrp_script {}`: timeout {}s is above its interval {}s: a hung run is killed only after the timeout, and the runs due meanwhile are skipped",
                        s.name.value,
                        fmt_seconds(t.value),
                        fmt_seconds(interval)
                    ),
                );
                // Below the interval where keepalived's whole seconds allow it, else the interval.
                let v = suggested.unwrap_or(interval);
                d = d.with_fix(Fix {
                    applicability: Applicability::Safe,
                    modes: Vec::new(),
                    message: format!("set `timeout {}`", fmt_seconds(v)),
                    edits: vec![crate::fix::replace(t.file, t.span, fmt_seconds(v))],
                });
                out.push(d);
            }
            // No timeout: keepalived uses the interval, a sound default.
            None => {}
        }
    }
}
