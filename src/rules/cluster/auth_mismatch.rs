//! CL008: authentication differs between the nodes of one instance.

use super::{majority, node_name, shared, top};
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Related, Severity};
use crate::rules::keepalived::auth_pass_truncated::mask;
use crate::rules::{Check, ClusterCtx, FixKind, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "CL008",
    name: "auth-mismatch",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "adverts are dropped: both nodes hold the VIP",
    fix: FixKind::Safe,
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
The same `authentication` block on every node. `haconf fix` aligns on the majority, else on
the node with the highest priority (and says which): it copies that node's `auth_type` and
`auth_pass`, adds the block where it is missing, or removes it when that node has none.
Printed diffs mask the password.

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
        // The node to copy from: one of the majority, else the highest-priority node.
        let (reference, why) = match &want {
            Some(w) => (
                keys.iter().position(|x| x == w),
                "the majority of the nodes",
            ),
            None => (
                top(&members).and_then(|(tn, _)| members.iter().position(|(n, _)| *n == tn)),
                "the node with the highest priority",
            ),
        };
        for (k, (n, inst)) in members.iter().enumerate() {
            if want.as_ref() == Some(&keys[k]) {
                continue;
            }
            if want.is_none() && reference.is_some_and(|r| keys[r] == keys[k]) {
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
            if let Some(r) = reference
                && let Some(fix) = copy_auth(cx, inst, members[r], why)
            {
                d = d.with_fix(fix);
            }
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}

/// Gives `inst` the authentication of the reference node's instance.
fn copy_auth(
    cx: &ClusterCtx,
    inst: &crate::model::Instance,
    (rn, ri): (usize, &crate::model::Instance),
    why: &str,
) -> Option<Fix> {
    let raw = |v: &crate::model::Val<String>| cx.db.get(v.file).slice(v.span).to_string();
    let mut edits: Vec<Edit> = Vec::new();
    match (&inst.auth, &ri.auth) {
        (Some(mine), Some(theirs)) => {
            let (tt, tp) = (theirs.auth_type.as_ref()?, theirs.auth_pass.as_ref()?);
            for (have, want) in [(&mine.auth_type, tt), (&mine.auth_pass, tp)] {
                match have {
                    Some(h) if h.value != want.value => {
                        edits.push(crate::fix::replace(h.file, h.span, raw(want)))
                    }
                    Some(_) => {}
                    None => return None,
                }
            }
        }
        (None, Some(theirs)) => {
            let (tt, tp) = (theirs.auth_type.as_ref()?, theirs.auth_pass.as_ref()?);
            let lines = [
                "authentication {".to_string(),
                format!("    auth_type {}", raw(tt)),
                format!("    auth_pass {}", raw(tp)),
                "}".to_string(),
            ];
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let mut items: Vec<Span> = inst.options.iter().map(|(_, v)| v.span).collect();
            items.extend(inst.priority.iter().map(|p| p.span));
            items.sort_by_key(|s| s.start);
            edits.push(crate::fix::insert_in_block(
                cx.db,
                &inst.block,
                &items,
                &refs,
            )?);
        }
        (Some(mine), None) => {
            let close = mine.block.close?;
            edits.push(crate::fix::delete_stmt(
                cx.db,
                mine.block.file,
                Span::new(mine.block.head.start, close.end),
            ));
        }
        (None, None) => return None,
    }
    if edits.is_empty() {
        return None;
    }
    Some(Fix {
        applicability: Applicability::Safe,
        modes: Vec::new(),
        message: format!(
            "use the authentication of node `{}` ({why})",
            cx.cluster.nodes[rn].name
        ),
        edits,
    })
}
