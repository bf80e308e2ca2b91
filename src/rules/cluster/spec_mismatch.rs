//! CL017: the configs contradict haconf.toml.

use super::node_name;
use crate::cluster::spec::Priority;
use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL017",
    name: "spec-mismatch",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the configs are not the cluster the spec describes",
    fix: FixKind::Safe,
    summary: "the configs contradict haconf.toml (node address, VIP, priority order, VRID)",
    docs: r#"## What it finds
A config that says something else than haconf.toml: a node whose `unicast_src_ip` (or
`mcast_src_ip`) is not its `address`, an instance whose VRID or VIPs are not the spec's, or
whose priorities do not follow the spec's order. Instances are matched to `[[instance]]` by
name, then by VIPs.

## Why it matters
haconf.toml is the intent the team agreed on; a config that drifted from it is either a
mistake or an undocumented change, and every other rule that aligns on the spec needs to know.

## Example
```toml
[[instance]]
name = "VI_1"
virtual_router_id = 51
```
```
virtual_router_id 52
```

## Fix
Align the config to the spec (VRID and addresses: a safe fix), or update the spec.

## References
- docs/generate.md, *The spec*
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "../haconf.toml",
            "[[node]]\nname = \"ha1\"\naddress = \"192.168.0.10\"\n\n[[instance]]\nname = \"VI_1\"\nvirtual_router_id = 51\nvips = [\"192.168.0.100/24\"]\n",
        ),
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 52\n    unicast_src_ip 192.168.0.10\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "../haconf.toml",
            "[[node]]\nname = \"ha1\"\naddress = \"192.168.0.10\"\n\n[[instance]]\nname = \"VI_1\"\nvirtual_router_id = 51\nvips = [\"192.168.0.100/24\"]\n",
        ),
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.10\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    let Some(spec) = &cx.cm.spec else { return };
    // Node addresses.
    for (n, m) in cx.cm.nodes.iter().enumerate() {
        let Some(ns) = spec.node(node_name(cx, n)) else {
            continue;
        };
        // The node's address of the instance's family (`address`, or `address6`).
        for inst in &m.keepalived.instances {
            let Some(src) = inst.source() else { continue };
            let Some(want) = ns.address_of(src.value.is_ipv6()) else {
                continue;
            };
            if src.value == want {
                continue;
            }
            let mut d = Diagnostic::new(
                "CL017",
                src.file,
                src.span,
                format!("node `{}` sends `{}` adverts from {}, but haconf.toml gives its address as {want}", node_name(cx, n), inst.name.value, src.value),
            )
            .with_fix(Fix { applicability: Applicability::Safe, modes: Vec::new(), message: format!("use {want}, as haconf.toml"), edits: vec![crate::fix::replace(src.file, src.span, want.to_string())] });
            d.node = Some(node_name(cx, n).to_owned());
            out.push(d);
        }
    }
    // Instances.
    for si in &spec.instances {
        let svips: Vec<String> = si.vips.iter().map(|v| v.get_ref().clone()).collect();
        let joined = cx
            .cm
            .instances
            .iter()
            .find(|j| si.name.as_ref().is_some_and(|n| n.get_ref() == &j.name))
            .or_else(|| {
                cx.cm.instances.iter().find(|j| {
                    cx.cm.members(j).any(|(_, i)| {
                        i.vips.iter().any(|v| {
                            svips
                                .iter()
                                .any(|s| s.split('/').next() == Some(&v.addr.to_string()))
                        })
                    })
                })
            });
        let Some(j) = joined else { continue };
        for (n, inst) in cx.cm.members(j) {
            if let (Some(want), Some(have)) = (&si.virtual_router_id, &inst.vrid)
                && *want.get_ref() != have.value as i64
            {
                let mut d = Diagnostic::new(
                    "CL017",
                    have.file,
                    have.span,
                    format!(
                        "`{}` uses VRID {} on node `{}`, haconf.toml says {}",
                        j.name,
                        have.value,
                        node_name(cx, n),
                        want.get_ref()
                    ),
                )
                .with_fix(Fix {
                    applicability: Applicability::Safe,
                    modes: Vec::new(),
                    message: format!("use VRID {}, as haconf.toml", want.get_ref()),
                    edits: vec![crate::fix::replace(
                        have.file,
                        have.span,
                        want.get_ref().to_string(),
                    )],
                });
                d.node = Some(node_name(cx, n).to_owned());
                out.push(d);
            }
            if !svips.is_empty() {
                let mut want: Vec<String> = svips
                    .iter()
                    .filter_map(|s| {
                        let (a, p) = s
                            .split_once('/')
                            .map_or((s.as_str(), None), |(a, p)| (a, Some(p)));
                        let ip: std::net::IpAddr = a.parse().ok()?;
                        Some(format!(
                            "{ip}/{}",
                            p.map_or_else(
                                || if ip.is_ipv4() {
                                    "32".to_owned()
                                } else {
                                    "128".to_owned()
                                },
                                str::to_owned
                            )
                        ))
                    })
                    .collect();
                want.sort();
                if inst.vip_set() != want {
                    let (f, s) = inst
                        .vip_block
                        .map_or((inst.name.file, inst.name.span), |b| (b.file, b.head));
                    let mut d = Diagnostic::new(
                        "CL017",
                        f,
                        s,
                        format!(
                            "the VIPs of `{}` on node `{}` ({}) are not haconf.toml's ({})",
                            j.name,
                            node_name(cx, n),
                            inst.vip_set().join(", "),
                            want.join(", ")
                        ),
                    );
                    d.node = Some(node_name(cx, n).to_owned());
                    out.push(d);
                }
            }
        }
        // Priority order.
        if let Some(p) = &si.priority {
            let order: Vec<String> = match p.get_ref() {
                Priority::Order(o) => o.clone(),
                Priority::Map(m) => {
                    let mut v: Vec<(&String, &u8)> = m.iter().collect();
                    v.sort_by(|a, b| b.1.cmp(a.1));
                    v.into_iter().map(|(k, _)| k.clone()).collect()
                }
            };
            let mut have: Vec<(u8, String, &crate::model::Instance)> = cx
                .cm
                .members(j)
                .map(|(n, i)| (i.priority(), node_name(cx, n).to_owned(), i))
                .collect();
            have.sort_by_key(|h| std::cmp::Reverse(h.0));
            let have_order: Vec<&String> = have
                .iter()
                .map(|h| &h.1)
                .filter(|n| order.contains(n))
                .collect();
            let want_order: Vec<&String> = order
                .iter()
                .filter(|n| have.iter().any(|h| &h.1 == *n))
                .collect();
            if have_order != want_order
                && let Some(first) = have.first()
            {
                let (f, s) = first
                    .2
                    .priority
                    .as_ref()
                    .map_or((first.2.name.file, first.2.name.span), |v| (v.file, v.span));
                let mut d = Diagnostic::new(
                    "CL017",
                    f,
                    s,
                    format!(
                        "the priorities of `{}` order the nodes {}, haconf.toml orders them {}",
                        j.name,
                        have_order
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" > "),
                        want_order
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" > ")
                    ),
                );
                d.node = Some(first.1.clone());
                out.push(d);
            }
        }
    }
}
