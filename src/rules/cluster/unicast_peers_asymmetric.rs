//! CL006: a node's `unicast_peer` list is not exactly the other nodes' addresses.

use super::{node_name, shared};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};
use std::net::IpAddr;

pub static RULE: Rule = Rule {
    code: "CL006",
    name: "unicast-peers-asymmetric",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nodes do not hear each other: both hold the VIP",
    fix: FixKind::Safe,
    summary: "a node's `unicast_peer` set is not exactly the other nodes' source addresses",
    docs: r#"## What it finds
In an instance that uses unicast, a node whose `unicast_peer` list misses another node's
address (its `unicast_src_ip`, `mcast_src_ip`, or its address in haconf.toml), or lists an
address no node of the cluster has. A node that lists its own address is CL007.

## Why it matters
keepalived sends adverts only to the listed peers. A node missing from a peer list never hears
the master and becomes MASTER too; an address left over from a replaced node receives adverts
for nobody. Peer lists are edited per node by hand, which is how they drift.

## Example
```
# ha1 (192.168.0.10)                 # ha2 (192.168.0.20)
unicast_peer { 192.168.0.20 }        unicast_peer { 192.168.0.11 }
```

## Fix
Rewrite each node's `unicast_peer` to the other nodes' addresses (a safe fix: it is the only
configuration in which unicast VRRP works).

## References
- keepalived `vrrp/vrrp.c` (unicast send); clouds that drop multicast
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.20\n    unicast_peer {\n        192.168.0.11\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.20\n    unicast_peer {\n        192.168.0.10\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        if !members.iter().any(|(_, i)| i.uses_unicast()) {
            continue;
        }
        let addrs: Vec<Option<IpAddr>> = members
            .iter()
            .map(|(n, i)| cx.cm.member_address(*n, i))
            .collect();
        // Two nodes that claim one source address cannot be told apart by their peers: say
        // that, rather than that every peer list is wrong.
        let dup = (0..addrs.len()).find_map(|a| {
            (0..a)
                .find(|&b| addrs[a].is_some() && addrs[a] == addrs[b])
                .map(|b| (b, a))
        });
        if let Some((a, b)) = dup {
            let (nb, ib) = members[b];
            let at = ib
                .source()
                .map_or((ib.name.file, ib.name.span), |v| (v.file, v.span));
            let mut d = Diagnostic::new(
                "CL006",
                at.0,
                at.1,
                format!(
                    "nodes `{}` and `{}` both send the adverts of `{}` from {}: each node's `unicast_src_ip` must be its own address",
                    node_name(cx, members[a].0),
                    node_name(cx, nb),
                    j.name,
                    addrs[b].map_or(String::new(), |x| x.to_string())
                ),
            );
            d.node = Some(node_name(cx, nb).to_owned());
            out.push(d);
            continue;
        }
        for (k, (n, inst)) in members.iter().enumerate() {
            // A node without peers at all is KA010 (with a source) or relies on multicast.
            let Some(block) = inst.unicast_peer_block else {
                continue;
            };
            let own = addrs[k];
            let expected: Vec<IpAddr> = addrs
                .iter()
                .enumerate()
                .filter(|(m, _)| *m != k)
                .filter_map(|(_, a)| *a)
                .collect();
            let unknown = addrs.iter().enumerate().any(|(m, a)| m != k && a.is_none());
            let have: Vec<IpAddr> = inst
                .unicast_peers
                .iter()
                .map(|p| p.value)
                .filter(|p| Some(*p) != own)
                .collect();
            let missing: Vec<String> = expected
                .iter()
                .filter(|a| !have.contains(a))
                .map(|a| a.to_string())
                .collect();
            let extra: Vec<String> = if unknown {
                vec![]
            } else {
                have.iter()
                    .filter(|a| !expected.contains(a))
                    .map(|a| a.to_string())
                    .collect()
            };
            if missing.is_empty() && extra.is_empty() {
                continue;
            }
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("miss {}", missing.join(", ")));
            }
            if !extra.is_empty() {
                parts.push(format!(
                    "list {}, which no other node of the cluster has",
                    extra.join(", ")
                ));
            }
            let mut d = Diagnostic::new(
                "CL006",
                block.file,
                block.head,
                format!(
                    "the unicast peers of `{}` on node `{}` {}: nodes that do not hear each other both become MASTER",
                    j.name,
                    node_name(cx, *n),
                    parts.join(" and ")
                ),
            );
            if !unknown && !expected.is_empty() {
                let items: Vec<crate::source::Span> =
                    inst.unicast_peers.iter().map(|p| p.span).collect();
                let indent = items
                    .first()
                    .map(|s| crate::fix::indent_at(cx.db, block.file, s.start));
                if let (Some(close), Some(indent)) = (block.close, indent) {
                    let first_line = cx.db.get(block.file).line_col(items[0].start).0;
                    let start = cx.db.get(block.file).offset(first_line, 1);
                    let end_line = cx.db.get(block.file).line_col(close.start).0;
                    let end = cx.db.get(block.file).offset(end_line, 1);
                    if start < end
                        && cx.db.get(block.file).line_col(block.open.start).0 < first_line
                    {
                        let body: String =
                            expected.iter().map(|a| format!("{indent}{a}\n")).collect();
                        d.fix = Some(Fix {
                            applicability: Applicability::Safe,
                            modes: Vec::new(),
                            message: format!(
                                "list the other nodes: {}",
                                expected
                                    .iter()
                                    .map(|a| a.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            edits: vec![crate::fix::replace(
                                block.file,
                                crate::source::Span::new(start, end),
                                body,
                            )],
                        });
                    }
                }
            }
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
