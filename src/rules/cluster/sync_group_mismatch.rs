//! CL020: an instance's sync group differs between nodes.

use super::{majority, node_name, shared};
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL020",
    name: "sync-group-mismatch",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "instances move together on one node and alone on another",
    fix: FixKind::None,
    summary: "an instance is in a `vrrp_sync_group` on some nodes and not on others, or with other members",
    docs: r#"## What it finds
An instance whose sync-group membership differs between nodes: grouped on one node and alone
on another, or grouped with different instances.

## Why it matters
A sync group makes its instances change state together (the VIP and its gateway VIP, say). If
only one node groups them, a failure there moves both VIPs while the same failure on the other
node moves one: the instances end up on different nodes and traffic breaks. Sync groups also
drop weighted trackers (KA024) — on the grouping node only.

## Example
```
# ha1: vrrp_sync_group G1 { group { VI_1 VI_2 } }      # ha2: no sync group
```

## Fix
The same `vrrp_sync_group` blocks on every node.

## References
- `man 5 keepalived.conf`, *vrrp_sync_group*
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\nvrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    virtual_ipaddress {\n        192.168.0.101/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\nvrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    virtual_ipaddress {\n        192.168.0.101/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let groups: Vec<Option<Vec<String>>> = members
            .iter()
            .map(|(n, i)| {
                cx.cm.nodes[*n]
                    .keepalived
                    .sync_group_of(&i.name.value)
                    .map(|g| {
                        let mut v: Vec<String> = g
                            .members
                            .iter()
                            .map(|m| m.value.clone())
                            .filter(|m| *m != i.name.value)
                            .collect();
                        v.sort();
                        v
                    })
            })
            .collect();
        if groups.iter().all(|g| *g == groups[0]) {
            continue;
        }
        let want = majority(&groups);
        for (k, (n, inst)) in members.iter().enumerate() {
            if want.as_ref() == Some(&groups[k]) {
                continue;
            }
            let desc = |g: &Option<Vec<String>>| match g {
                None => "in no sync group".to_owned(),
                Some(v) if v.is_empty() => "alone in a sync group".to_owned(),
                Some(v) => format!("in a sync group with {}", v.join(", ")),
            };
            let (file, span) = cx.cm.nodes[*n]
                .keepalived
                .sync_group_of(&inst.name.value)
                .map_or((inst.name.file, inst.name.span), |g| {
                    (g.name.file, g.name.span)
                });
            let other = (0..members.len())
                .find(|&m| m != k && groups[m] != groups[k])
                .unwrap_or(0);
            let mut d = Diagnostic::new(
                "CL020",
                file,
                span,
                format!(
                    "`{}` is {} on node `{}`, but {} on node `{}`",
                    j.name,
                    desc(&groups[k]),
                    node_name(cx, *n),
                    desc(&groups[other]),
                    node_name(cx, members[other].0)
                ),
            );
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
