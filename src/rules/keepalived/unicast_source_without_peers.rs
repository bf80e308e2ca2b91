//! KA010: `unicast_src_ip` without `unicast_peer` — keepalived falls back to multicast.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA010",
    name: "unicast-source-without-peers",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the configs ask for unicast and keepalived silently runs multicast",
    fix: FixKind::Safe,
    summary: "`unicast_src_ip` but no `unicast_peer`: keepalived silently uses multicast",
    docs: r#"## What it finds
A `vrrp_instance` with a `unicast_src_ip` (the sign that unicast was meant) and no
`unicast_peer` entries.

## Why it matters
Unicast is only used when `unicast_peer` lists at least one peer. Without it keepalived logs
a deprecation warning and sends multicast adverts to 224.0.0.18. Cloud networks (AWS, Azure,
GCP, Alibaba, most VPCs) and many switches drop multicast, so the nodes never hear each other
and every node becomes MASTER: two machines answer for the VIP.

## Example
```
vrrp_instance VI_1 {
    interface eth0
    unicast_src_ip 192.168.0.10
    virtual_router_id 51
    virtual_ipaddress { 192.168.0.100/24 }
}
```

## Fix
Add `unicast_peer { ... }` with the other nodes' addresses. haconf takes them from the same
instance on the other nodes of the cluster (their `unicast_src_ip`/`mcast_src_ip`, or the
addresses in haconf.toml), which is the only meaning the config can have had: a safe fix.

## References
- keepalived `vrrp/vrrp.c`: "A unicast keyword has been specified without any unicast peers. Defaulting to multicast"
- https://github.com/acassen/keepalived/issues/950, https://github.com/acassen/keepalived/issues/97 (split brain in clouds)
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    unicast_src_ip 192.168.0.10\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for (idx, inst) in cx.model().keepalived.instances.iter().enumerate() {
        let Some(src) = &inst.unicast_src_ip else {
            continue;
        };
        if !inst.unicast_peers.is_empty() {
            continue;
        }
        let mut d = Diagnostic::new(
            "KA010",
            src.file,
            src.span,
            format!(
                "`{}` sets `unicast_src_ip` but lists no `unicast_peer`: keepalived falls back to multicast, which most clouds drop, and every node becomes MASTER",
                inst.name.value
            ),
        );
        // The peers: this instance's source addresses on the other nodes.
        let joined = cx
            .cm
            .instances
            .iter()
            .find(|j| j.members.contains(&(cx.index, idx)));
        let mut peers = Vec::new();
        let mut complete = true;
        if let Some(j) = joined {
            for (n, other) in cx.cm.members(j) {
                if n == cx.index {
                    continue;
                }
                match cx.cm.member_address(n, other) {
                    Some(a) if a != src.value => {
                        peers.push(a.to_string());
                        if let Some(v) = other.source() {
                            d.related.push(Related {
                                file: v.file,
                                span: v.span,
                                message: format!("`{}` on node `{}`", a, cx.cluster.nodes[n].name),
                            });
                        }
                    }
                    _ => complete = false,
                }
            }
        }
        if !peers.is_empty() && complete {
            let block = crate::fix::peer_block(cx.db, src.file, src.span.start, &peers);
            d.fix = Some(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: format!("add `unicast_peer {{ {} }}`", peers.join(" ")),
                edits: vec![crate::fix::insert_after_line(
                    cx.db,
                    src.file,
                    src.span.start,
                    &block,
                )],
            });
        } else {
            d.help = Some("add `unicast_peer { ... }` listing the other nodes' addresses".into());
        }
        out.push(d);
    }
}
