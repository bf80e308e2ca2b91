//! HC007: `curl` whose status ignores HTTP errors.

use super::ScriptCtx;
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::shell::analysis::{Role, has_flag};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "HC007",
    name: "probe-ignores-http-errors",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "an HTTP error answer counts as healthy",
    fix: FixKind::Safe,
    summary: "`curl` without `-f`/`--fail` (or `wget` that cannot fail): a 502 counts as healthy",
    docs: r#"## What it finds
A `curl` whose exit status is used (not captured with `$(...)`, not piped into `grep`, no
`-w`/`--write-out` to read the status code) and that has no `-f`, `--fail` or
`--fail-with-body`. (`wget` exits 8 on an HTTP error by itself and is not reported.)

Not reported: a probe of kube-apiserver (port 6443) on a path other than `/healthz`,
`/livez` or `/readyz`. The API server answers anonymous requests to `/` with 401 or 403, so
with `-f` kubeadm's `curl --insecure https://localhost:6443/` would always fail; without it,
the probe rightly asks only that the server answers.

## Why it matters
Without `-f`, curl exits 0 whenever the server answers, whatever the answer: a 502 from a dead
upstream, a 404, a 500 all count as healthy, and the VIP stays on the broken node.

## Example
```
vrrp_script chk_nginx {
    script "/usr/bin/curl -s -o /dev/null http://127.0.0.1/"
}
```

## Fix
Add `-f` (`curl -fsS ...`). `haconf fix` inserts it after `curl`.

## References
- curl(1), `-f, --fail`: "Fail fast with no output at all on server errors"
"#,
    check: Check::Script(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/curl -s -o /dev/null --max-time 1 http://127.0.0.1/\"\n    interval 2\n    timeout 1\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/curl -fs -o /dev/null --max-time 1 http://127.0.0.1/\"\n    interval 2\n    timeout 1\n}\n",
    )],
};

/// curl's short options that take a value (a cluster stops at them).
const CURL_VALUED: &str = "AbcCdDeEFHKmoPQrtTuUwxXyYz";

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let Some(a) = cx.analysis() else { return };
    for c in &a.commands {
        if c.name != "curl" || !matches!(c.role, Role::Probe(_)) || c.in_subst || c.piped {
            continue;
        }
        let args: Vec<&str> = c.args().iter().map(String::as_str).collect();
        let fails = has_flag(&args, 'f', &["fail", "fail-with-body"], CURL_VALUED);
        let reads_code = has_flag(&args, 'w', &["write-out"], CURL_VALUED);
        if fails || reads_code {
            continue;
        }
        let service = c.args().iter().find_map(|a| super::service_named(a));
        // kube-apiserver answers anonymous requests to `/` with 401/403: with `-f` the probe
        // would always fail. The kubeadm check (`curl --insecure https://localhost:6443/`)
        // rightly asks only that the server answers.
        if service == Some("kube-apiserver")
            && !c
                .args()
                .iter()
                .any(|a| a.contains("/healthz") || a.contains("/livez") || a.contains("/readyz"))
        {
            continue;
        }
        let who = match service {
            Some(s) => s.to_string(),
            None if !cx.model.nginx.listens.is_empty() => "nginx".to_string(),
            None => "the service".to_string(),
        };
        let name = c.name_span();
        out.push(
            cx.diag(
                "HC007",
                name,
                format!("`curl` without `-f` exits 0 on any HTTP answer: a 502 or 404 from {who} counts as healthy"),
            )
            .with_help("add `-f` (`curl -fsS ...`)")
            .with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: "add `-f` to curl".into(),
                edits: vec![Edit {
                    file: cx.target.file,
                    span: Span::new(name.end, name.end),
                    replacement: " -f".into(),
                }],
            }),
        );
    }
}
