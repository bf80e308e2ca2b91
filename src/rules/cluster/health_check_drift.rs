//! CL016: health checks that differ between the nodes of one instance.

use super::{majority, node_name, shared};
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::model::{Instance, Keepalived};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL016",
    name: "health-check-drift",
    severity: Severity::Warning,
    fix: FixKind::None,
    summary: "health checks differ between nodes: missing on some, different scripts, or different interval / weight / fall / rise",
    docs: r#"## What it finds
An instance whose tracked scripts differ between nodes: a check tracked on some nodes only, a
different command, or a different `interval`, `timeout`, effective `weight`, `fall` or `rise`.

## Why it matters
Failover is a comparison of priorities, so both sides must move by the same rules. A check on
the master only means the backup keeps the VIP when its own nginx is dead; a weight of −5 on
one node and −50 on the other means the model you reasoned about is not the one that runs.

## Example
```
# ha1: vrrp_script chk { interval 2  weight -20 }     # ha2: vrrp_script chk { interval 5  weight -2 }
```

## Fix
The same `vrrp_script` blocks and `track_script` lines on every node.

## References
- RULES.md, *Failover analysis*; acassen/keepalived#535
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 2\n    weight -20\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 5\n    weight -2\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 2\n    weight -20\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_script chk {\n    weight -20\n    interval 2\n    script \"/usr/bin/true\"\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
    ],
};

/// What a node's checks for one instance amount to, as comparable text.
fn summary(ka: &Keepalived, inst: &Instance) -> Vec<String> {
    let mut v: Vec<String> = inst
        .track_scripts
        .iter()
        .map(|t| match ka.script(&t.name) {
            Some(s) => format!(
                "`{}` (`{}`, interval {}, timeout {}, weight {}, fall {}, rise {})",
                t.name,
                s.script.as_ref().map_or("", |c| c.value.as_str()),
                s.interval(),
                s.timeout(),
                t.weight.unwrap_or_else(|| s.weight()),
                s.fall(),
                s.rise()
            ),
            None => format!("`{}` (undefined)", t.name),
        })
        .collect();
    v.sort();
    v
}

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let sums: Vec<Vec<String>> = members
            .iter()
            .map(|(n, i)| summary(&cx.cm.nodes[*n].keepalived, i))
            .collect();
        if sums.iter().all(|s| *s == sums[0]) {
            continue;
        }
        let want = majority(&sums);
        for (k, (n, inst)) in members.iter().enumerate() {
            if want.as_ref() == Some(&sums[k]) {
                continue;
            }
            // Without a majority there is no odd one out: report the difference once.
            if want.is_none() && k > 0 {
                continue;
            }
            let Some(other) = (0..members.len())
                .find(|&m| m != k && (want.is_none() || want.as_ref() == Some(&sums[m])))
            else {
                continue;
            };
            let differ: Vec<&String> = sums[k]
                .iter()
                .filter(|s| !sums[other].contains(s))
                .collect();
            let lack: Vec<&String> = sums[other]
                .iter()
                .filter(|s| !sums[k].contains(s))
                .collect();
            let mut parts = Vec::new();
            if !differ.is_empty() {
                parts.push(format!(
                    "tracks {}",
                    differ
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !lack.is_empty() {
                parts.push(format!(
                    "where node `{}` tracks {}",
                    node_name(cx, members[other].0),
                    lack.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if differ.is_empty() && !lack.is_empty() {
                parts[0] = format!("tracks nothing {}", parts[0]);
            }
            let (file, span) = inst
                .track_script_block
                .map_or((inst.name.file, inst.name.span), |b| (b.file, b.head));
            let mut d = Diagnostic::new(
                "CL016",
                file,
                span,
                format!(
                    "health checks of `{}` differ: node `{}` {}",
                    j.name,
                    node_name(cx, *n),
                    parts.join(" ")
                ),
            );
            let oi = members[other].1;
            let (of, os) = oi
                .track_script_block
                .map_or((oi.name.file, oi.name.span), |b| (b.file, b.head));
            d.related.push(Related {
                file: of,
                span: os,
                message: format!("node `{}`", node_name(cx, members[other].0)),
            });
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
