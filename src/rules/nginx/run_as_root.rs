//! NX010: nginx workers running as root.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "NX010",
    name: "run-as-root",
    severity: Severity::Warning,
    group: crate::rules::Group::Security,
    default: true,
    why: "worker processes run as root: a bug in nginx or a module owns the host",
    fix: FixKind::Unsafe,
    summary: "`user root`",
    docs: r#"## What it finds
`user root;` in the main context of nginx.conf.

## Why it matters
The master process must start as root to bind port 80, but the workers — the processes that
parse every request — then keep root. Any flaw in nginx or a module becomes root on the node
that holds the VIP, and with it keepalived's control of the cluster.

## Example
```
user root;
```

## Fix
Run the workers as an unprivileged user: `nginx` (RHEL, Alpine, the nginx.org packages) or
`www-data` (Debian, Ubuntu). The catalog lists this fix as safe; haconf applies it only with
`--unsafe`, because a user that does not exist on the node stops nginx from starting, and
haconf cannot see the node's `/etc/passwd`.

## References
- https://nginx.org/en/docs/ngx_core_module.html#user
"#,
    check: Check::Node(check),
    bad: &[("nginx.conf", "user root;\nevents {}\n")],
    good: &[("nginx.conf", "user nginx;\nevents {}\n")],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let Some(u) = &cx.model().nginx.user else {
        return;
    };
    if u.value != "root" {
        return;
    }
    out.push(
        Diagnostic::new(
            "NX010",
            u.file,
            u.span,
            "nginx workers run as root: every request is parsed with root's rights",
        )
        .with_fix(Fix {
            applicability: Applicability::Unsafe,
            modes: Vec::new(),
            message: "run the workers as `nginx` (use `www-data` on Debian and Ubuntu)".into(),
            edits: vec![crate::fix::replace(u.file, u.span, "nginx")],
        }),
    );
}
