//! CL018: a cluster that relies on multicast.

use super::{node_name, shared};
use crate::cluster::spec::Network;
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL018",
    name: "split-brain-risk-multicast",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "on a network that drops multicast both nodes hold the VIP; without `[cluster] network` it is info, because docker bridges, labs and LANs carry multicast",
    fix: FixKind::Safe,
    summary: "the cluster relies on multicast (no unicast peers anywhere) — dropped by most clouds",
    docs: r#"## What it finds
An instance shared by several nodes of which none lists `unicast_peer`: the nodes find each
other by multicast to 224.0.0.18 (or ff02::12). How it is reported depends on what is known
about the network:
- a warning when haconf.toml says `[cluster] network = "cloud"`, or when the configs (or
  haconf.toml's `transport = "unicast"`) show that unicast was meant — a `unicast_src_ip`
  without peers (KA010 reports that line);
- nothing when haconf.toml says `network = "lan"` or `transport = "multicast"`: the choice
  was made knowingly;
- otherwise info, with the line that declares the network: docker bridges, VirtualBox labs
  and LANs carry multicast, and a cluster on one is healthy.

## Why it matters
Cloud networks (AWS, Azure, GCP, Alibaba and most VPCs), many virtual switches and some
firewalls drop multicast or IP protocol 112. The nodes then never hear each other and all of
them become MASTER — silently, since each node's own view is healthy.

## Example
```
vrrp_instance VI_1 {
    interface eth0
    mcast_src_ip 192.168.0.10     # and no unicast_peer
}
```

## Fix
Unicast: `unicast_src_ip` with this node's address and `unicast_peer` with the others', on
every node. haconf writes the peers when it knows every node's address (a safe fix: on a
network that carries multicast, unicast works too). Allow IP protocol 112 between the nodes.

## References
- https://github.com/acassen/keepalived/issues/97, https://github.com/acassen/keepalived/issues/950, https://github.com/acassen/keepalived/issues/1367; clouds that drop multicast
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
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
    // A spec that says `transport = "multicast"` has made the choice knowingly.
    let chosen = cx
        .cm
        .spec
        .as_ref()
        .and_then(|s| s.cluster.as_ref())
        .and_then(|c| c.transport.as_ref())
        .is_some_and(|t| t.get_ref() == "multicast");
    if chosen {
        return;
    }
    let cluster = cx.cm.spec.as_ref().and_then(|s| s.cluster.as_ref());
    let network = cluster.and_then(|c| c.network);
    if network == Some(Network::Lan) {
        return;
    }
    // The spec asks for unicast in so many words.
    let spec_unicast = cluster
        .and_then(|c| c.transport.as_ref())
        .is_some_and(|t| t.get_ref() == "unicast");
    for (j, members) in shared(cx) {
        if members.iter().any(|(_, i)| i.uses_unicast()) {
            continue;
        }
        // What is known about the network: declared, or the configs' own intent (a
        // `unicast_src_ip` without peers means unicast was meant; KA010 says so too).
        let meant_unicast = members.iter().any(|(_, i)| i.unicast_src_ip.is_some());
        let known_bad = network == Some(Network::Cloud) || meant_unicast || spec_unicast;
        let (n0, first) = members[0];
        let addrs: Vec<Option<std::net::IpAddr>> = members
            .iter()
            .map(|(n, i)| cx.cm.member_address(*n, i))
            .collect();
        let mut d = Diagnostic::new("CL018", first.name.file, first.name.span, {
            let nodes = members
                .iter()
                .map(|(n, _)| format!("`{}`", node_name(cx, *n)))
                .collect::<Vec<_>>()
                .join(", ");
            if network == Some(Network::Cloud) {
                format!(
                    "`{}` on nodes {nodes} relies on multicast, which this cloud network (`network = \"cloud\"`) drops: every node becomes MASTER",
                    j.name
                )
            } else if meant_unicast || spec_unicast {
                format!(
                    "`{}` on nodes {nodes} relies on multicast although {} unicast: where the network drops multicast (most clouds do), every node becomes MASTER",
                    j.name,
                    if spec_unicast {
                        "haconf.toml asks for"
                    } else {
                        "`unicast_src_ip` shows it means"
                    }
                )
            } else {
                format!(
                    "`{}` on nodes {nodes} relies on multicast: fine on a LAN or a container bridge, but where the network drops it (most clouds do), every node becomes MASTER",
                    j.name
                )
            }
        });
        if !known_bad {
            // Docker bridges, VirtualBox labs and LANs carry multicast: without a declared
            // network this is a fact to know, not a defect.
            d.severity = Severity::Info;
        }
        // KA010 already adds the peers where unicast_src_ip is written; here, the case of
        // nodes that only name their multicast source.
        let all_known = addrs.iter().all(|a| a.is_some());
        let none_unicast_src = members.iter().all(|(_, i)| i.unicast_src_ip.is_none());
        if all_known && none_unicast_src && members.iter().all(|(_, i)| i.mcast_src_ip.is_some()) {
            let mut edits: Vec<Edit> = Vec::new();
            for (k, (_, inst)) in members.iter().enumerate() {
                let Some(m) = &inst.mcast_src_ip else {
                    continue;
                };
                let kw_start = crate::fix::line_start_word(cx.db, m.file, m.span.start);
                edits.push(crate::fix::replace(
                    m.file,
                    crate::source::Span::new(kw_start, kw_start + "mcast_src_ip".len()),
                    "unicast_src_ip",
                ));
                let others: Vec<std::net::IpAddr> = addrs
                    .iter()
                    .enumerate()
                    .filter(|(o, _)| *o != k)
                    .filter_map(|(_, a)| *a)
                    .collect();
                let block = crate::fix::peer_block(cx.db, m.file, m.span.start, &others);
                edits.push(crate::fix::insert_after_line(
                    cx.db,
                    m.file,
                    m.span.start,
                    &block,
                ));
            }
            d.fix = Some(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: "switch every node to unicast with the other nodes as peers".into(),
                edits,
            });
        } else {
            d.help = Some("configure `unicast_src_ip` and `unicast_peer` on every node".into());
        }
        if !known_bad {
            d.help = Some(format!(
                "say which network this is in haconf.toml: `[cluster] network = \"lan\"` (multicast works; this note goes away) or `network = \"cloud\"` (this becomes a warning){}",
                if d.fix.is_some() {
                    ""
                } else {
                    "; on a cloud, configure `unicast_src_ip` and `unicast_peer` on every node"
                }
            ));
        }
        d.node = Some(node_name(cx, n0).to_owned());
        out.push(d);
    }
}
