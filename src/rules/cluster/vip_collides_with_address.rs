//! CL012: a VIP equal to a node address, or to its network's network/broadcast address.

use super::node_name;
use crate::cluster::spec::Net;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL012",
    name: "vip-collides-with-address",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the VIP collides with an address in use",
    fix: FixKind::None,
    summary: "a VIP equals a node address, the network or the broadcast address",
    docs: r#"## What it finds
A VIP that is also a node's own address (`unicast_src_ip`, `mcast_src_ip`, a `unicast_peer`,
or a node address in haconf.toml), or the network or broadcast address of its subnet
(`cluster.subnet`, else the VIP's own prefix).

## Why it matters
A VIP equal to a node's address moves that node's address to another machine on failover; a
network or broadcast address cannot be used as a host address at all. keepalived checks
neither.

## Example
```
virtual_ipaddress {
    192.168.0.255/24
}
```

## Fix
Pick an unused host address of the subnet for the VIP.

## References
- keepalived adds a `virtual_ipaddress` without checking for network or broadcast addresses (keepalived.conf(5): https://www.keepalived.org/manpage.html)
"#,
    check: Check::Cluster(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.255/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    let spec_net = cx.cm.spec.as_ref().and_then(|s| s.subnet());
    let mut node_addrs = Vec::new();
    for (n, m) in cx.cm.nodes.iter().enumerate() {
        if let Some(a) = cx.cm.node_address(n) {
            node_addrs.push((a, node_name(cx, n).to_owned()));
        }
        for i in &m.keepalived.instances {
            if let Some(s) = i.source() {
                node_addrs.push((s.value, node_name(cx, n).to_owned()));
            }
        }
    }
    for (n, m) in cx.cm.nodes.iter().enumerate() {
        for inst in &m.keepalived.instances {
            let peers: Vec<_> = inst.unicast_peers.iter().map(|p| p.value).collect();
            for v in &inst.vips {
                let msg = if let Some((_, who)) = node_addrs.iter().find(|(a, _)| *a == v.addr) {
                    format!(
                        "VIP {} is also the address of node `{who}`: failover moves that node's own address",
                        v.addr
                    )
                } else if peers.contains(&v.addr) {
                    format!(
                        "VIP {} is also listed as a unicast peer of `{}`",
                        v.addr, inst.name.value
                    )
                } else {
                    let net = spec_net.or(v.prefix.map(|p| Net {
                        addr: v.addr,
                        len: p,
                    }));
                    match net {
                        Some(net) if net.is_network_or_broadcast(v.addr) => {
                            format!(
                                "VIP {} is the network or broadcast address of {}",
                                v.addr,
                                net.canonical()
                            )
                        }
                        _ => continue,
                    }
                };
                let mut d = Diagnostic::new("CL012", v.file, v.span, msg);
                d.node = Some(node_name(cx, n).to_owned());
                out.push(d);
            }
        }
    }
}
