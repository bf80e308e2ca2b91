//! CL011: a VIP outside the subnet of the nodes' interface.

use super::node_name;
use crate::cluster::spec::Net;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL011",
    name: "vip-outside-subnet",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the VIP is unreachable on that network",
    fix: FixKind::None,
    summary: "a VIP is not inside the subnet of the nodes' interface",
    docs: r#"## What it finds
A VIP that is not inside the cluster's subnet: `cluster.subnet` of haconf.toml, or else the
network the VIP's own prefix makes of it, checked against the nodes' addresses
(`unicast_src_ip`/`mcast_src_ip`, haconf.toml): if none of the nodes is in the VIP's network,
the VIP is on the wrong subnet (or has the wrong prefix).

With a host's facts (`haconf pull` writes `facts.json` in the node), the VIP is checked against
the real networks of the interface it goes on, as the host reports them — also for a VIP
written without a prefix (`/32`), which nothing else could judge. Addresses that are VIPs of
the cluster are left out (a VIP held now does not vouch for itself).

## Why it matters
keepalived adds the address wherever it is told, without checking. A VIP outside the
interface's subnet is not reachable from the LAN (no router sends traffic for it to this
segment), and gratuitous ARPs for it are ignored: failover "works" and nobody can connect.

## Example
```
# nodes 192.168.0.10 and .20
virtual_ipaddress {
    192.168.1.100/24
}
```

## Fix
Use an address of the nodes' subnet, with the subnet's prefix length.

## References
- keepalived adds a `virtual_ipaddress` without checking it against the interface's subnet (keepalived.conf(5): https://www.keepalived.org/manpage.html)
"#,
    check: Check::Cluster(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.1.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n        10.9.9.9/32 dev lo\n    }\n}\n",
    )],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    let spec_net = cx.cm.spec.as_ref().and_then(|s| s.subnet());
    for (n, m) in cx.cm.nodes.iter().enumerate() {
        // The host's facts know the interface's real networks: no guessing from prefixes.
        if let Some(facts) = cx.cluster.nodes[n].facts.as_deref()
            && facts.interfaces.is_some()
        {
            check_with_facts(cx, n, facts, out);
            continue;
        }
        let own = cx.cm.node_address(n);
        for inst in &m.keepalived.instances {
            let src = inst.source().map(|v| v.value).or(own);
            for v in &inst.vips {
                // A VIP on another device (`dev lo`, a second NIC) follows that device's subnet.
                if v.dev
                    .as_ref()
                    .is_some_and(|d| inst.interface.as_ref().is_none_or(|i| &i.value != d))
                {
                    continue;
                }
                let (net, from) = match (spec_net, v.prefix) {
                    (Some(s), _) => (s, "the cluster subnet"),
                    (None, Some(p)) if p < if v.addr.is_ipv4() { 31 } else { 127 } => (
                        Net {
                            addr: v.addr,
                            len: p,
                        },
                        "its own prefix",
                    ),
                    _ => continue,
                };
                let Some(src) = src else { continue };
                if src.is_ipv4() != v.addr.is_ipv4() {
                    continue;
                }
                if spec_net.is_some() {
                    if net.contains(v.addr) {
                        continue;
                    }
                } else if net.contains(src) {
                    continue;
                }
                let mut d = Diagnostic::new(
                    "CL011",
                    v.file,
                    v.span,
                    if spec_net.is_some() {
                        format!("VIP {} is outside the cluster subnet {net}", v.addr)
                    } else {
                        format!(
                            "VIP {} is not in the subnet of node `{}` ({src}): with {from} it is in {}",
                            v.addr,
                            node_name(cx, n),
                            net.canonical()
                        )
                    },
                );
                d.node = Some(node_name(cx, n).to_owned());
                out.push(d);
            }
        }
    }
}

/// CL011 on a node whose host reported its interfaces.
fn check_with_facts(
    cx: &ClusterCtx,
    n: usize,
    facts: &crate::facts::Facts,
    out: &mut Vec<Diagnostic>,
) {
    let vips: Vec<std::net::IpAddr> = cx
        .cm
        .nodes
        .iter()
        .flat_map(|m| &m.keepalived.instances)
        .flat_map(|i| &i.vips)
        .map(|v| v.addr)
        .collect();
    for inst in &cx.cm.nodes[n].keepalived.instances {
        for v in &inst.vips {
            let own_if = inst.interface.as_ref().map(|i| &i.value);
            // A VIP on another device (`dev lo`, a second NIC) is placed there on purpose.
            if v.dev.is_some() && v.dev.as_ref() != own_if {
                continue;
            }
            let Some(dev) = v.dev.as_ref().or(own_if) else {
                continue;
            };
            // An interface the host lacks is KA029's finding.
            let Some(iface) = facts.interface(dev) else {
                continue;
            };
            let nets = facts.networks(iface, v.addr, &vips);
            if nets.is_empty() || nets.iter().any(|net| net.contains(v.addr)) {
                continue;
            }
            let list: Vec<String> = nets.iter().map(|net| net.to_string()).collect();
            let mut d = Diagnostic::new(
                "CL011",
                v.file,
                v.span,
                format!(
                    "VIP {} is outside every subnet of `{dev}` on host `{}` ({}), as the host reports them: nothing on that network routes it here",
                    v.addr,
                    node_name(cx, n),
                    list.join(", ")
                ),
            )
            .with_help("use an address of the interface's subnet, or put the VIP on the interface that has its network (`dev`)");
            d.node = Some(node_name(cx, n).to_owned());
            out.push(d);
        }
    }
}
