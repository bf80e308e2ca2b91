//! KA011: `mcast_src_ip` next to unicast settings.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA011",
    name: "redundant-mcast-source",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived silently uses one of two source addresses",
    fix: FixKind::Safe,
    summary: "`mcast_src_ip` together with unicast settings",
    docs: r#"## What it finds
An instance with `mcast_src_ip` and also `unicast_src_ip` or `unicast_peer`.

## Why it matters
`mcast_src_ip` and `unicast_src_ip` write the same field in keepalived: the one written last
wins and `keepalived -t` says nothing. Two lines that must agree will, one day, not agree
(one edited, the other not), and the source address of the adverts then depends on line order.
It also tells the reader multicast is in use when it is not.

## Example
```
vrrp_instance VI_1 {
    mcast_src_ip 192.168.0.10
    unicast_src_ip 192.168.0.10
    unicast_peer { 192.168.0.20 }
}
```

## Fix
Delete `mcast_src_ip` when `unicast_src_ip` is there (the same address, or the one that won
anyway when it comes later); otherwise rename it to `unicast_src_ip`. Safe: keepalived reads
the same source address.

## References
- keepalived `vrrp/vrrp_parser.c` (`vrrp_mcastsrcip_handler` and `vrrp_unicastsrcip_handler` share `saddr`)
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    mcast_src_ip 192.168.0.10\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    mcast_src_ip 192.168.0.10\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for inst in &cx.model().keepalived.instances {
        let Some(m) = &inst.mcast_src_ip else {
            continue;
        };
        if inst.unicast_src_ip.is_none() && inst.unicast_peers.is_empty() {
            continue;
        }
        let kw_start = crate::fix::line_start_word(cx.db, m.file, m.span.start);
        let stmt = crate::source::Span::new(kw_start, m.span.end);
        let mut d = Diagnostic::new(
            "KA011",
            m.file,
            stmt,
            if inst.unicast_peers.is_empty() {
                // Without peers keepalived sends multicast (KA010): do not call it unicast.
                format!(
                    "`{}` sets its advert source twice, with `mcast_src_ip` and `unicast_src_ip`",
                    inst.name.value
                )
            } else {
                format!(
                    "`{}` has `mcast_src_ip` although it is configured for unicast",
                    inst.name.value
                )
            },
        );
        match &inst.unicast_src_ip {
            Some(u) => {
                // Keepalived uses whichever is written last.
                let effective = if u.span.start > m.span.start || u.file != m.file {
                    u.value
                } else {
                    m.value
                };
                d.related.push(Related {
                    file: u.file,
                    span: u.span,
                    message: "`unicast_src_ip` sets the same source address".into(),
                });
                if effective == u.value {
                    d.fix = Some(Fix {
                        applicability: Applicability::Safe,
                        modes: Vec::new(),
                        message: "delete `mcast_src_ip`".into(),
                        edits: vec![crate::fix::delete_stmt(cx.db, m.file, stmt)],
                    });
                } else {
                    d.help = Some(format!(
                        "keepalived uses the later `mcast_src_ip {}`, not `unicast_src_ip {}`; keep one line",
                        m.value, u.value
                    ));
                }
            }
            None => {
                d.fix = Some(Fix {
                    applicability: Applicability::Safe,
                    modes: Vec::new(),
                    message: "write `unicast_src_ip` instead".into(),
                    edits: vec![crate::fix::replace(
                        m.file,
                        crate::source::Span::new(kw_start, kw_start + "mcast_src_ip".len()),
                        "unicast_src_ip",
                    )],
                });
            }
        }
        out.push(d);
    }
}
