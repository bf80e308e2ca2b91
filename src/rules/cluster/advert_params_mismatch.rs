//! CL009: advert_int, VRRP version or down_timer_adverts differ between nodes.

use super::{majority, node_name, shared};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL009",
    name: "advert-params-mismatch",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived drops adverts with other parameters: both nodes hold the VIP",
    fix: FixKind::Safe,
    summary: "advert_int, vrrp version or down_timer_adverts differ",
    docs: r#"## What it finds
An instance whose `advert_int`, VRRP version (instance `version`, else `vrrp_version`, else 2
— 3 for IPv6) or `down_timer_adverts` differs between nodes.

## Why it matters
A VRRPv2 backup drops adverts whose interval differs from its own (`advertisement interval
mismatch`) and takes the VIP: split brain. Versions 2 and 3 do not understand each other's
packets at all. `down_timer_adverts` sets when a backup declares the master dead; different
values make failover times differ per direction.

## Example
```
# ha1: advert_int 1      # ha2: advert_int 3
```

## Fix
The same values on every node (the majority's, written where it differs: a safe fix).

## References
- keepalived `vrrp/vrrp.c` (advert interval checks); RFC 3768 §7.1
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    advert_int 1\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    advert_int 3\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    advert_int 1\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let params: [(&str, Vec<String>); 3] = [
            (
                "advert_int",
                members
                    .iter()
                    .map(|(_, i)| format!("{}", i.advert_int()))
                    .collect(),
            ),
            (
                "VRRP version",
                members
                    .iter()
                    .map(|(n, i)| i.version(&cx.cm.nodes[*n].keepalived.global).to_string())
                    .collect(),
            ),
            (
                "down_timer_adverts",
                members
                    .iter()
                    .map(|(n, i)| {
                        i.down_timer_adverts
                            .as_ref()
                            .map(|v| v.value)
                            .or(cx.cm.nodes[*n]
                                .keepalived
                                .global
                                .vrrp_down_timer_adverts
                                .as_ref()
                                .map(|v| v.value))
                            .unwrap_or(3)
                            .to_string()
                    })
                    .collect(),
            ),
        ];
        for (what, vals) in params {
            if vals.iter().all(|v| *v == vals[0]) {
                continue;
            }
            let want = majority(&vals);
            for (k, (n, inst)) in members.iter().enumerate() {
                if want.as_ref() == Some(&vals[k]) {
                    continue;
                }
                let site = match what {
                    "advert_int" => inst.advert_int.as_ref().map(|v| (v.file, v.span)),
                    "VRRP version" => inst.version.as_ref().map(|v| (v.file, v.span)),
                    _ => inst.down_timer_adverts.as_ref().map(|v| (v.file, v.span)),
                };
                let (file, span) = site.unwrap_or((inst.name.file, inst.name.span));
                let mut d = Diagnostic::new(
                    "CL009",
                    file,
                    span,
                    format!(
                        "`{}` has {what} {} on node `{}`{}: the nodes misread each other's adverts",
                        j.name,
                        vals[k],
                        node_name(cx, *n),
                        want.as_ref()
                            .map_or(String::new(), |w| format!(", {w} on the others"))
                    ),
                );
                if let (Some(w), Some((f, s)), true) = (&want, site, what == "advert_int") {
                    d.fix = Some(Fix {
                        applicability: Applicability::Safe,
                        modes: Vec::new(),
                        message: format!("use advert_int {w}, as the majority"),
                        edits: vec![crate::fix::replace(f, s, w.clone())],
                    });
                }
                d.node = Some(node_name(cx, *n).to_owned());
                out.push(d);
            }
        }
    }
}
