//! CL011: a VIP outside the subnet of the nodes' interface.

use super::node_name;
use crate::cluster::spec::Net;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL011",
    name: "vip-outside-subnet",
    severity: Severity::Error,
    fix: FixKind::None,
    summary: "a VIP is not inside the subnet of the nodes' interface",
    docs: r#"## What it finds
A VIP that is not inside the cluster's subnet: `cluster.subnet` of haconf.toml, or else the
network the VIP's own prefix makes of it, checked against the nodes' addresses
(`unicast_src_ip`/`mcast_src_ip`, haconf.toml): if none of the nodes is in the VIP's network,
the VIP is on the wrong subnet (or has the wrong prefix).

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
- keepalived-facts: keepalived does not check the VIP against the interface subnet
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
