//! CL001: one instance, different VRIDs on different nodes.

use super::{node_name, shared, target, top};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL001",
    name: "vrid-mismatch",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the nodes do not see each other as one router: both hold the VIP",
    fix: FixKind::Safe,
    summary: "the same instance (same VIPs) has different virtual_router_id on different nodes",
    docs: r#"## What it finds
One VRRP instance — matched across nodes by name, or by overlapping VIPs when the names differ
— whose `virtual_router_id` is not the same on every node.

## Why it matters
The VRID names the virtual router on the wire. Nodes with different VRIDs are in different
virtual routers: each hears nobody, each becomes MASTER, and both claim the VIP.

## Example
```
# ha1                         # ha2
virtual_router_id 51          virtual_router_id 52
```

## Fix
The same VRID everywhere: haconf aligns on haconf.toml, else on the majority, else on the
node with the highest priority, and says which.

## References
- RFC 5798 §5.2.3; templated VRIDs that collide across clusters
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 52\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let vrids: Vec<u8> = members
            .iter()
            .filter_map(|(_, i)| i.vrid.as_ref().map(|v| v.value))
            .collect();
        if vrids.len() < 2 || vrids.iter().all(|v| *v == vrids[0]) {
            continue;
        }
        let spec = cx.cm.spec.as_ref().and_then(|s| {
            s.instances
                .iter()
                .find(|i| i.name.as_ref().is_some_and(|n| n.get_ref() == &j.name))
                .and_then(|i| i.virtual_router_id.as_ref().map(|v| *v.get_ref() as u8))
        });
        let by_prio = top(&members).and_then(|(_, i)| i.vrid.as_ref().map(|v| v.value));
        let Some((want, why)) = target(spec, &vrids, by_prio) else {
            continue;
        };
        let holder = members
            .iter()
            .find(|(_, i)| i.vrid.as_ref().is_some_and(|v| v.value == want));
        for (n, inst) in &members {
            let Some(v) = &inst.vrid else { continue };
            if v.value == want {
                continue;
            }
            let mut d = Diagnostic::new(
                "CL001",
                v.file,
                v.span,
                format!("`{}` uses VRID {} on node `{}` but {want} elsewhere: the nodes form separate virtual routers, and each takes the VIP", j.name, v.value, node_name(cx, *n)),
            )
            .with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: format!("use VRID {want}, as {why}"),
                edits: vec![crate::fix::replace(v.file, v.span, want.to_string())],
            });
            if let Some((hn, hi)) = holder
                && let Some(hv) = &hi.vrid
            {
                d.related.push(Related {
                    file: hv.file,
                    span: hv.span,
                    message: format!("VRID {want} on node `{}`", node_name(cx, *hn)),
                });
            }
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
