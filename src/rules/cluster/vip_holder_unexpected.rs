//! CL021: the VIP is not where the failover model says it should be, right now. Known only
//! from the hosts' facts (`haconf pull`): which host has the address on an interface.

use super::node_name;
use crate::cluster::failover::Scenario;
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::facts::Facts;
use crate::rules::{Check, ClusterCtx, FixKind, Rule};
use std::net::IpAddr;

/// Facts collected further apart than this are not one moment of the cluster.
const SNAPSHOT_SPREAD_SECS: u64 = 300;

pub static RULE: Rule = Rule {
    code: "CL021",
    name: "vip-holder-unexpected",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the live cluster is not where the model says it should be",
    fix: FixKind::None,
    summary: "the live VIP is on another node than the model's expected holder, on none, or on several (needs the hosts' facts)",
    docs: r#"## What it finds
For each VRRP instance whose nodes all have the hosts' facts (`facts.json`, written by
`haconf pull`), the node that holds the VIP right now (has the address on an interface)
against the node the failover model says holds it when everything is healthy (`haconf check
--failover`, first row):
- the VIP is on another node: something is failing now — keepalived is not running on the
  expected node, its checks fail, or it does not hear the others;
- the VIP is on no node;
- the VIP is on two nodes at once: both are MASTER (split brain; reported as an error).

Not reported when the expected holder has `nopreempt` (after a failover the VIP stays
where it went, by design), when the model cannot tell the holder (equal priorities without
known source addresses), or when the facts of the nodes were collected more than five
minutes apart (they are not one moment).

## Why it matters
A cluster whose VIP is already on the backup has no failover left: the next failure is an
outage. A VIP on two nodes means clients reach either at random, and ARP flaps between them.
Nothing in the configuration shows either; only the hosts do.

## Example
```
# ha1: priority 150, ha2: priority 100, all checks passing in the model;
# on the hosts now: 192.168.0.100 is on ha2's eth0, and keepalived is not running on ha1
```

## Fix
Find what fails on the expected node: `systemctl status keepalived`, `journalctl -u
keepalived` (a check script failing, `Non-existent interface`, adverts from another VRID),
and whether the nodes hear each other's adverts (`tcpdump -ni eth0 vrrp`).

## References
- RFC 5798, section 6.4 (master election): <https://www.rfc-editor.org/rfc/rfc5798#section-6.4>
- keepalived `man 5 keepalived.conf`, *nopreempt*: <https://keepalived.org/manpage.html>
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "facts.json",
            r#"{"version": 1, "keepalived": {"installed": true, "processes": []}, "interfaces": [{"name": "eth0", "addresses": [{"address": "192.168.0.10", "prefix": 24}]}]}"#,
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    unicast_src_ip 192.168.0.20\n    unicast_peer {\n        192.168.0.10\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/facts.json",
            r#"{"version": 1, "keepalived": {"installed": true, "processes": [{"pid": 7, "args": "/usr/sbin/keepalived"}]}, "interfaces": [{"name": "eth0", "addresses": [{"address": "192.168.0.20", "prefix": 24}, {"address": "192.168.0.100", "prefix": 24}]}]}"#,
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "facts.json",
            r#"{"version": 1, "interfaces": [{"name": "eth0", "addresses": [{"address": "192.168.0.10", "prefix": 24}, {"address": "192.168.0.100", "prefix": 24}]}]}"#,
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    unicast_src_ip 192.168.0.20\n    unicast_peer {\n        192.168.0.10\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/facts.json",
            r#"{"version": 1, "interfaces": [{"name": "eth0", "addresses": [{"address": "192.168.0.20", "prefix": 24}]}]}"#,
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for table in &cx.cm.failover {
        let j = &cx.cm.instances[table.instance];
        let members: Vec<(usize, &crate::model::Instance)> = cx.cm.members(j).collect();
        let facts: Vec<&Facts> = members
            .iter()
            .filter_map(|(n, _)| {
                cx.cluster.nodes[*n]
                    .facts
                    .as_deref()
                    .filter(|f| f.interfaces.is_some())
            })
            .collect();
        if facts.len() != members.len() || !one_moment(&facts) {
            continue;
        }
        let Some(healthy) = table.rows.iter().find(|r| r.scenario == Scenario::Healthy) else {
            continue;
        };
        let Some(expected) = healthy.holder.one().filter(|_| healthy.note.is_none()) else {
            continue;
        };
        let mut vips: Vec<IpAddr> = members
            .iter()
            .flat_map(|(_, i)| i.vips.iter().map(|v| v.addr))
            .collect();
        vips.sort();
        vips.dedup();
        let Some(&shown) = vips.first() else {
            continue;
        };
        let holders: Vec<usize> = (0..members.len())
            .filter(|&m| vips.iter().any(|&a| facts[m].holds(a)))
            .collect();
        let name = |m: usize| node_name(cx, members[m].0);
        let (en, einst) = members[expected];
        let anchor = einst
            .vips
            .first()
            .map_or((einst.name.file, einst.name.span), |v| (v.file, v.span));
        let related = |m: usize| {
            let i = members[m].1;
            let (file, span) = i
                .vips
                .first()
                .map_or((i.name.file, i.name.span), |v| (v.file, v.span));
            Related {
                file,
                span,
                message: format!("`{}` holds it now", name(m)),
            }
        };
        let why = match facts[expected].keepalived_running() {
            Some(false) => format!("keepalived is not running on `{}`", name(expected)),
            _ => format!(
                "keepalived runs on `{}`: its checks fail, its interface is down, or it does not hear the other nodes",
                name(expected)
            ),
        };
        let mut d = match holders.as_slice() {
            [h] if *h == expected => continue,
            [h] => {
                if einst.nopreempt.is_some() {
                    continue;
                }
                Diagnostic::new(
                    "CL021",
                    anchor.0,
                    anchor.1,
                    format!(
                        "VIP {shown} of `{}` is on `{}` right now, but the model says `{}` should hold it: something is failing now ({why})",
                        j.name,
                        name(*h),
                        name(expected)
                    ),
                )
                .with_related(related(*h))
            }
            [] => Diagnostic::new(
                "CL021",
                anchor.0,
                anchor.1,
                format!(
                    "no node holds VIP {shown} of `{}` right now; the model says `{}` should ({why})",
                    j.name,
                    name(expected)
                ),
            ),
            many => {
                let names: Vec<String> = many.iter().map(|&m| format!("`{}`", name(m))).collect();
                let mut d = Diagnostic::new(
                    "CL021",
                    anchor.0,
                    anchor.1,
                    format!(
                        "VIP {shown} of `{}` is on {} at the same time right now: more than one node is MASTER (split brain)",
                        j.name,
                        names.join(" and ")
                    ),
                );
                d.severity = Severity::Error;
                for &m in many {
                    d = d.with_related(related(m));
                }
                d
            }
        };
        d.node = Some(node_name(cx, en).to_owned());
        out.push(d.with_help(
            "see `journalctl -u keepalived` on the nodes; `haconf check --failover` shows what the model expects",
        ));
    }
}

/// Whether the facts were collected close enough together to be one picture of the cluster.
fn one_moment(facts: &[&Facts]) -> bool {
    let times: Vec<u64> = facts.iter().filter_map(|f| f.collected_at).collect();
    match (times.iter().min(), times.iter().max()) {
        (Some(a), Some(b)) => b - a <= SNAPSHOT_SPREAD_SECS,
        _ => true,
    }
}
