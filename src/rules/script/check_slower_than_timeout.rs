//! HC005: waits in a check that can outlast its `timeout`.

use super::ScriptCtx;
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::model::fmt_seconds;
use crate::rules::{Check, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "HC005",
    name: "check-slower-than-timeout",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived kills the check at its timeout and counts a failure",
    fix: FixKind::None,
    summary: "`sleep`/waits that can outlast the vrrp_script timeout (default: interval)",
    docs: r#"## What it finds
A path through a health check whose explicit waits add up to the `vrrp_script`'s `timeout`
or more: `sleep N`, `timeout N cmd`, `curl --max-time N`, `nc -w N`, summed along the
slowest path (a `for` loop over N words counts N times; a wait inside a `while` loop has no
bound). The timeout is the `vrrp_script`'s `timeout`, which defaults to its `interval`.

## Why it matters
When the timeout expires keepalived kills the script (SIGTERM, SIGKILL 2 s later) and counts
a failure. A path that always sleeps past the timeout turns "nginx was restarted" into a
failure anyway, and the rest of the script (the re-check, the cleanup) never runs. Runs do
not overlap, so a slow check also delays the next one.

## Example
```
vrrp_script chk_nginx {
    script "/etc/keepalived/chk_nginx.sh"   # sleep 2 on one path
    interval 2                              # timeout defaults to 2
}
```

## Fix
Keep every wait well below the timeout (and the timeout below the interval), or drop the
waits: a check reports, it does not wait for repairs.

## References
- `vrrp_script` `timeout` defaults to the interval; on expiry keepalived sends SIGTERM to the script's process group, SIGKILL later, and counts a failure (keepalived.conf(5): https://www.keepalived.org/manpage.html)
"#,
    check: Check::Script(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\ncurl -fs -o /dev/null --max-time 1 http://127.0.0.1/ && exit 0\nsleep 2\nexec curl -fs -o /dev/null --max-time 1 http://127.0.0.1/\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 3\n    timeout 2\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\nexec curl -fs -o /dev/null --max-time 1 http://127.0.0.1/\n",
        ),
    ],
};

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let Some(a) = cx.analysis() else { return };
    let Some((timeout, script)) = cx.target.timeout(cx.model) else {
        return;
    };
    let Some(worst) = a.ends.iter().max_by(|x, y| x.elapsed.total_cmp(&y.elapsed)) else {
        return;
    };
    if worst.elapsed < timeout || worst.waits.is_empty() {
        return;
    }
    // Point at the wait that reaches the timeout.
    let mut sum = 0.0;
    let mut at = worst.waits[0].0;
    for (span, w) in &worst.waits {
        sum += w;
        at = *span;
        if sum >= timeout {
            break;
        }
    }
    let f = cx.db.get(cx.target.file);
    let waits: Vec<String> = worst
        .waits
        .iter()
        .map(|(s, _)| format!("`{}`", f.slice(*s).trim()))
        .collect();
    let how_long = if worst.elapsed.is_infinite() {
        "without a bound (a wait inside a loop)".to_string()
    } else {
        format!("{} s", fmt_seconds(worst.elapsed))
    };
    let source = if script.timeout.is_some() {
        "its `timeout`".to_string()
    } else {
        format!(
            "no `timeout`, so the interval of {} s",
            fmt_seconds(script.interval())
        )
    };
    let mut d = cx.diag(
        "HC005",
        at,
        format!(
            "this path can wait {how_long} ({}), but keepalived kills `{}` after {} s ({source}) and counts a failure",
            waits.join(", "),
            script.name.value,
            fmt_seconds(timeout)
        ),
    )
    .with_help("keep the waits well below the vrrp_script's timeout, or drop them: a check reports, it does not wait for repairs");
    let anchor = script
        .timeout
        .as_ref()
        .map(|v| (v.file, v.span, "the timeout"))
        .or_else(|| {
            script
                .interval
                .as_ref()
                .map(|v| (v.file, v.span, "the interval, which is also the timeout"))
        })
        .or_else(|| {
            script.block.map(|b| {
                (
                    b.file,
                    b.head,
                    "the vrrp_script (default interval and timeout: 1 s)",
                )
            })
        });
    if let Some((file, span, what)) = anchor {
        d.related.push(Related {
            file,
            span,
            message: what.to_string(),
        });
    }
    out.push(d);
}
