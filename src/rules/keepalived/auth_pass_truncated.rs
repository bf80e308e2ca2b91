//! KA012: `auth_pass` longer than the 8 characters keepalived uses.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA012",
    name: "auth-pass-truncated",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived silently ignores part of the password",
    fix: FixKind::Safe,
    summary: "`auth_pass` longer than 8 characters",
    docs: r#"## What it finds
An `auth_pass` of more than 8 characters.

## Why it matters
VRRPv2 carries 8 bytes of password: keepalived uses the first 8 characters and logs
`Truncating auth_pass to 8 characters` (so `keepalived -t` fails). Tools and people that
truncate differently, or nodes where only one password was shortened, end up with different
passwords: adverts are dropped as `received an invalid passwd` and both nodes become MASTER.

## Example
```
authentication {
    auth_type PASS
    auth_pass supersecret
}
```

## Fix
Keep the 8 characters keepalived really uses (a safe fix: the password on the wire does not
change). Secrets are masked in haconf's output.

## References
- keepalived `vrrp/vrrp_parser.c` (`vrrp_auth_pass_handler`)
- https://github.com/acassen/keepalived/issues/2224
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass supersecret\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass s3cret99\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

/// `ab******`: how a secret is shown.
pub fn mask(s: &str) -> String {
    let keep: String = s.chars().take(2).collect();
    format!(
        "{keep}{}",
        "*".repeat(s.chars().count().saturating_sub(2).min(10))
    )
}

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for inst in &cx.model().keepalived.instances {
        let Some(p) = inst.auth.as_ref().and_then(|a| a.auth_pass.as_ref()) else {
            continue;
        };
        let n = p.value.chars().count();
        if n <= 8 {
            continue;
        }
        let kept: String = p.value.chars().take(8).collect();
        let quoted = cx.db.get(p.file).slice(p.span).starts_with('"');
        let replacement = if quoted {
            format!("\"{kept}\"")
        } else {
            kept.clone()
        };
        out.push(
            Diagnostic::new(
                "KA012",
                p.file,
                p.span,
                format!("`auth_pass` of `{}` has {n} characters; keepalived uses only the first 8 (`{}`)", inst.name.value, mask(&kept)),
            )
            .with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: "keep the first 8 characters".into(),
                edits: vec![crate::fix::replace(p.file, p.span, replacement)],
            }),
        );
    }
}
