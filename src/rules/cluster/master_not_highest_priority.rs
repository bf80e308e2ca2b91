//! CL005: the MASTER node is not the one with the highest priority.

use super::{node_name, shared, top};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL005",
    name: "master-not-highest-priority",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the node meant as master loses the election",
    fix: FixKind::Safe,
    summary: "the node with `state MASTER` is not the one with the highest priority",
    docs: r#"## What it finds
An instance whose `state MASTER` node has a lower priority than another node.

## Why it matters
The MASTER takes the VIP at start, then the higher-priority backup preempts it: a needless
failover at every restart — or, with `nopreempt`, the "backup" keeps... nothing, and the
cluster does not behave as the file reads.

## Example
```
# ha1: state MASTER  priority 100      # ha2: state BACKUP  priority 150
```

## Fix
Let the states follow the priorities: `state` is only where a node starts, the priorities
decide who holds the VIP. `haconf fix` starts the lower node as BACKUP (and the
highest-priority node as MASTER when it says BACKUP), which is how the cluster behaves today.
If the other node was meant to be the master, raise its priority instead.

## References
- `man 5 keepalived.conf`, *state*, *priority*
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let Some((tn, ti)) = top(&members) else {
            continue;
        };
        for (n, inst) in &members {
            let Some(st) = inst.state.as_ref().filter(|_| inst.is_master()) else {
                continue;
            };
            if inst.priority() >= ti.priority() {
                continue;
            }
            let at = ti.priority_site();
            let mut d = Diagnostic::new(
                "CL005",
                st.file,
                st.span,
                format!("`{}` starts as MASTER on `{}` (priority {}), but `{}` has priority {} and takes the VIP over", j.name, node_name(cx, *n), inst.priority(), node_name(cx, tn), ti.priority()),
            )
            .with_related(Related { file: at.0, span: at.1, message: format!("priority {} on node `{}`", ti.priority(), node_name(cx, tn)) })
            .with_help("make the MASTER the node with the highest priority");
            // `state` is only where a node starts; priorities decide who holds the VIP. So
            // the states follow the priorities, and the cluster behaves as it does today.
            let mut edits = vec![crate::fix::replace(st.file, st.span, "BACKUP")];
            if let Some(ts) = &ti.state
                && !ti.is_master()
            {
                edits.push(crate::fix::replace(ts.file, ts.span, "MASTER"));
            }
            d = d.with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: format!(
                    "start `{}` as BACKUP{}: the priorities already make `{}` the master",
                    node_name(cx, *n),
                    if edits.len() > 1 {
                        format!(" and `{}` as MASTER", node_name(cx, tn))
                    } else {
                        String::new()
                    },
                    node_name(cx, tn)
                ),
                edits,
            });
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
