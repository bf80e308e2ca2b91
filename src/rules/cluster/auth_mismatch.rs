//! CL008: authentication differs between the nodes of one instance.

use super::{majority, node_name, shared};
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::rules::keepalived::auth_pass_truncated::mask;
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL008",
    name: "auth-mismatch",
    severity: Severity::Error,
    fix: FixKind::None,
    summary: "auth type or the effective (first 8 chars) password differs",
    docs: r#"## What it finds
An instance whose `auth_type`, or whose password as keepalived uses it (the first 8
characters), is not the same on every node — including authentication on some nodes only.

## Why it matters
A node drops every advert whose authentication does not match its own (`received an invalid
passwd`): it never hears the master, becomes MASTER itself, and both nodes hold the VIP.
Passwords are shown masked.

## Example
```
# ha1: auth_pass 1111      # ha2: auth_pass 2222
```

## Fix
The same `authentication` block on every node.

## References
- keepalived `vrrp/vrrp.c` (`vrrp_in_chk`: invalid password)
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass 2222\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass 12345678x\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass 12345678\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        // (type, effective password); keepalived ignores auth_type without auth_pass.
        let keys: Vec<Option<(String, String)>> = members
            .iter()
            .map(|(_, i)| {
                let a = i.auth.as_ref()?;
                let t = a.auth_type.as_ref()?.value.clone();
                let p: String = a.auth_pass.as_ref()?.value.chars().take(8).collect();
                Some((t, p))
            })
            .collect();
        if keys.iter().all(|k| *k == keys[0]) {
            continue;
        }
        let want = majority(&keys);
        for (k, (n, inst)) in members.iter().enumerate() {
            if want.as_ref() == Some(&keys[k]) {
                continue;
            }
            let (file, span) = inst
                .auth
                .as_ref()
                .map_or((inst.name.file, inst.name.span), |a| {
                    (a.block.file, a.block.head)
                });
            let describe = |x: &Option<(String, String)>| match x {
                Some((t, p)) => format!("{t} with password {}", mask(p)),
                None => "no authentication".to_owned(),
            };
            let mut d = Diagnostic::new(
                "CL008",
                file,
                span,
                format!(
                    "`{}` on node `{}` uses {}, unlike the other nodes{}: they drop each other's adverts and each takes the VIP",
                    j.name,
                    node_name(cx, *n),
                    describe(&keys[k]),
                    want.as_ref()
                        .map_or(String::new(), |w| format!(" ({})", describe(w)))
                ),
            );
            if let Some(w) = &want
                && let Some((_, (on, oi))) =
                    members.iter().enumerate().find(|(m, _)| &keys[*m] == w)
                && let Some(a) = &oi.auth
            {
                d.related.push(Related {
                    file: a.block.file,
                    span: a.block.head,
                    message: format!("node `{}`", node_name(cx, *on)),
                });
            }
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
