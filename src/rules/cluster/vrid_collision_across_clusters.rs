//! CL014: two clusters on one subnet with the same virtual_router_id.

use crate::cluster::ClusterModel;
use crate::cluster::spec::Net;
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::rules::{Check, FixKind, FleetCtx, Rule};
use std::net::IpAddr;

pub static RULE: Rule = Rule {
    code: "CL014",
    name: "vrid-collision-across-clusters",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "two clusters fight over one VRID on the wire",
    fix: FixKind::None,
    summary: "two clusters on one L2 subnet use the same virtual_router_id",
    docs: r#"## What it finds
In a fleet (a directory of cluster directories), two clusters whose subnets overlap — their
haconf.toml `cluster.subnet`, else the networks of their VIPs and node addresses — and that use
the same `virtual_router_id` for an instance, unless both instances talk unicast (adverts then
only reach the listed peers).

## Why it matters
VRRP adverts of one cluster reach the other: `received an invalid passwd`, `ip address
associated with VRID not present`, and since keepalived 2.3.3 a foreign master with a higher
priority can make yours step down. This is the collision `keepalived -t` can never see: it
reads one file.

## Example
```
fleet/web-a/ha1/keepalived.conf:  virtual_router_id 51   (192.168.0.0/24)
fleet/web-b/ha1/keepalived.conf:  virtual_router_id 51   (192.168.0.0/24)
```

## Fix
Give each cluster on a segment its own VRIDs (haconf's generator derives them from the cluster
name and checks the fleet). `log_unknown_vrids` in `global_defs` helps spot clashes.

## References
- https://github.com/openshift/installer/issues/2966; https://github.com/redhat-cop/keepalived-operator/issues/26
"#,
    check: Check::Fleet(check),
    bad: &[
        (
            "../../b/ha1/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.101/24\n    }\n}\n",
        ),
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "../../b/ha1/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 52\n    virtual_ipaddress {\n        192.168.0.101/24\n    }\n}\n",
        ),
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

/// The networks a cluster sits on.
fn networks(cm: &ClusterModel) -> Vec<Net> {
    if let Some(n) = cm.spec.as_ref().and_then(|s| s.subnet()) {
        return vec![n];
    }
    let mut nets: Vec<Net> = Vec::new();
    for m in &cm.nodes {
        for i in &m.keepalived.instances {
            for v in &i.vips {
                if let Some(p) = v.prefix {
                    let net = Net {
                        addr: v.addr,
                        len: p,
                    }
                    .canonical();
                    if !nets.contains(&net) {
                        nets.push(net);
                    }
                }
            }
        }
    }
    nets
}

fn overlaps(a: &[Net], b: &[Net]) -> bool {
    a.iter()
        .any(|x| b.iter().any(|y| x.contains(y.addr) || y.contains(x.addr)))
}

fn addrs(cm: &ClusterModel) -> Vec<IpAddr> {
    cm.nodes
        .iter()
        .flat_map(|m| {
            m.keepalived
                .instances
                .iter()
                .flat_map(|i| i.vips.iter().map(|v| v.addr))
        })
        .collect()
}

fn check(cx: &FleetCtx, out: &mut Vec<Diagnostic>) {
    let clusters = cx.clusters;
    if clusters.len() < 2 {
        return;
    }
    let nets: Vec<Vec<Net>> = clusters.iter().map(|(_, m)| networks(m)).collect();
    let vips: Vec<Vec<IpAddr>> = clusters.iter().map(|(_, m)| addrs(m)).collect();
    // Candidate pairs: clusters that share a VRID (bucketed, so a fleet of distinct VRIDs
    // costs nothing), then the subnet test.
    let mut by_vrid: std::collections::HashMap<u8, Vec<usize>> = std::collections::HashMap::new();
    for (k, (_, m)) in clusters.iter().enumerate() {
        let mut vrids: Vec<u8> = m
            .nodes
            .iter()
            .flat_map(|n| {
                n.keepalived
                    .instances
                    .iter()
                    .filter_map(|i| i.vrid.as_ref().map(|v| v.value))
            })
            .collect();
        vrids.sort();
        vrids.dedup();
        for v in vrids {
            by_vrid.entry(v).or_default().push(k);
        }
    }
    let mut pairs: Vec<(usize, usize)> = by_vrid
        .values()
        .flat_map(|ks| {
            ks.iter()
                .enumerate()
                .flat_map(move |(i, &b)| ks[..i].iter().map(move |&a| (a, b)))
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    for (a, b) in pairs {
        let (ca, ma) = &clusters[a];
        let (cb, mb) = &clusters[b];
        let same_segment = overlaps(&nets[a], &nets[b])
            || vips[a]
                .iter()
                .any(|x| nets[b].iter().any(|n| n.contains(*x)))
            || vips[b]
                .iter()
                .any(|x| nets[a].iter().any(|n| n.contains(*x)));
        if !same_segment {
            continue;
        }
        for ia in ma.nodes.iter().flat_map(|m| m.keepalived.instances.iter()) {
            for (nb, mnode) in mb.nodes.iter().enumerate() {
                for ib in &mnode.keepalived.instances {
                    let (Some(va), Some(vb)) = (&ia.vrid, &ib.vrid) else {
                        continue;
                    };
                    if va.value != vb.value || (ia.uses_unicast() && ib.uses_unicast()) {
                        continue;
                    }
                    if ia.vips.first().map(|v| v.addr.is_ipv4())
                        != ib.vips.first().map(|v| v.addr.is_ipv4())
                    {
                        continue;
                    }
                    let mut d = Diagnostic::new(
                        "CL014",
                        vb.file,
                        vb.span,
                        format!("clusters `{}` and `{}` share a subnet and both use VRID {}: each hears the other's adverts", ca.name, cb.name, vb.value),
                    )
                    .with_related(Related { file: va.file, span: va.span, message: format!("VRID {} in cluster `{}`", va.value, ca.name) });
                    d.node = Some(cb.nodes[nb].name.clone());
                    out.push(d);
                }
            }
        }
    }
}
