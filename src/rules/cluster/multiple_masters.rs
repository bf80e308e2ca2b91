//! CL003: more than one node starts as MASTER.

use super::{node_name, shared, top};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL003",
    name: "multiple-masters",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "both nodes start as master and hold the VIP until the first advert",
    fix: FixKind::Safe,
    summary: "more than one node has `state MASTER`",
    docs: r#"## What it finds
One instance with `state MASTER` on more than one node.

## Why it matters
`state` is only the initial state, and the election settles it by priority — but both nodes
take the VIP at start until the first adverts arrive, send gratuitous ARPs, and flap. With
equal priorities the outcome is decided by IP address order.

## Example
```
# ha1: state MASTER  priority 101      # ha2: state MASTER  priority 100
```

## Fix
`state BACKUP` on every node but the one with the highest priority (a safe fix: the election
result does not change).

## References
- `man 5 keepalived.conf`, *state*
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let masters: Vec<&(usize, &crate::model::Instance)> =
            members.iter().filter(|(_, i)| i.is_master()).collect();
        if masters.len() < 2 {
            continue;
        }
        let keep = top(&members
            .iter()
            .filter(|(_, i)| i.is_master())
            .copied()
            .collect::<Vec<_>>())
        .map(|(n, _)| n);
        for (n, inst) in &masters {
            if Some(*n) == keep {
                continue;
            }
            let Some(st) = &inst.state else { continue };
            let mut d = Diagnostic::new(
                "CL003",
                st.file,
                st.span,
                format!(
                    "`{}` starts as MASTER on {} nodes; node `{}` should start as BACKUP",
                    j.name,
                    masters.len(),
                    node_name(cx, *n)
                ),
            )
            .with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: "start as `state BACKUP`".into(),
                edits: vec![crate::fix::replace(st.file, st.span, "BACKUP")],
            });
            if let Some(k) = keep
                && let Some((_, ki)) = members.iter().find(|(m, _)| *m == k)
                && let Some(ks) = &ki.state
            {
                d.related.push(Related {
                    file: ks.file,
                    span: ks.span,
                    message: format!("node `{}` has the highest priority", node_name(cx, k)),
                });
            }
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
