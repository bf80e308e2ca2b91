//! KA020: two instances of one node with the same VRID on the same interface.

use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA020",
    name: "duplicate-vrid-on-interface",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "two instances fight over one VRID on the wire",
    fix: FixKind::None,
    summary: "two instances on one interface with the same virtual_router_id",
    docs: r#"## What it finds
Two `vrrp_instance`s of one node with the same `virtual_router_id`, the same interface and the
same address family. (Unicast instances whose peer lists do not overlap may share a VRID, and
are not reported.)

## Why it matters
The VRID identifies the virtual router on the wire, and its virtual MAC is derived from it.
Two instances with one VRID on one segment read each other's adverts: `keepalived -t` reports
`VI_1 and VI_2 both use VRID 51`, and at run time both VIPs follow whichever instance wins.

## Example
```
vrrp_instance VI_1 { interface eth0  virtual_router_id 51 ... }
vrrp_instance VI_2 { interface eth0  virtual_router_id 51 ... }
```

## Fix
Give each instance its own VRID (the same one on every node).

## References
- keepalived `vrrp/vrrp.c` (`vrrp_complete_init`: "both use VRID")
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\nvrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.101/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\nvrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    virtual_ipaddress {\n        192.168.0.101/24\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let insts = &cx.model().keepalived.instances;
    // Grouped by (VRID, interface, family): linear in the number of instances.
    let mut seen: std::collections::HashMap<(u8, Option<&str>, bool), Vec<usize>> =
        std::collections::HashMap::new();
    for (i, a) in insts.iter().enumerate() {
        let Some(va) = &a.vrid else { continue };
        let ia = a.interface.as_ref().map(|v| v.value.as_str());
        let v6 = a.vips.first().is_some_and(|v| v.addr.is_ipv6());
        let earlier = seen.entry((va.value, ia, v6)).or_default();
        let clash = earlier.iter().map(|&k| &insts[k]).find(|b| {
            !(a.uses_unicast()
                && b.uses_unicast()
                && !a
                    .unicast_peers
                    .iter()
                    .any(|p| b.unicast_peers.iter().any(|q| q.value == p.value)))
        });
        if let Some(b) = clash
            && let Some(vb) = &b.vrid
        {
            out.push(
                Diagnostic::new(
                    "KA020",
                    va.file,
                    va.span,
                    format!(
                        "`{}` and `{}` both use VRID {} on {}",
                        b.name.value,
                        a.name.value,
                        va.value,
                        ia.map_or("the same interface".to_owned(), |i| format!(
                            "interface `{i}`"
                        ))
                    ),
                )
                .with_related(Related {
                    file: vb.file,
                    span: vb.span,
                    message: format!("`{}` uses it here", b.name.value),
                }),
            );
        }
        earlier.push(i);
    }
}
