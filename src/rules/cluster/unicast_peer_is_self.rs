//! CL007: a node lists its own address as a unicast peer.

use super::node_name;
use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL007",
    name: "unicast-peer-is-self",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "a node sends adverts to itself instead of a peer",
    fix: FixKind::Safe,
    summary: "a node lists its own address as a peer",
    docs: r#"## What it finds
A `unicast_peer` entry equal to the node's own address (its `unicast_src_ip`/`mcast_src_ip`,
or its address in haconf.toml).

## Why it matters
keepalived sends to every listed peer, itself included, and receives its own adverts. It is
the mark of one peer list copied to every node, which usually means another node is missing
somewhere (CL006).

## Example
```
# ha1 (192.168.0.10)
unicast_peer {
    192.168.0.10
    192.168.0.20
}
```

## Fix
Delete the entry (a safe fix).

## References
- keepalived sends its adverts to every listed `unicast_peer`, its own address included (keepalived's `vrrp/vrrp.c`)
"#,
    check: Check::Cluster(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.10\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (n, m) in cx.cm.nodes.iter().enumerate() {
        let node_addr = cx.cm.node_address(n);
        for inst in &m.keepalived.instances {
            if inst.unicast_peers.is_empty() {
                continue;
            }
            let own = inst.source().map(|v| v.value).or(node_addr);
            let Some(own) = own else { continue };
            for p in inst.unicast_peers.iter().filter(|p| p.value == own) {
                let f = cx.db.get(p.file);
                let line = f.line_col(p.span.start).0;
                let stmt = crate::source::Span::new(p.span.start, f.line_end(line));
                let mut d = Diagnostic::new(
                    "CL007",
                    p.file,
                    p.span,
                    format!(
                        "node `{}` lists its own address {own} as a unicast peer of `{}`",
                        node_name(cx, n),
                        inst.name.value
                    ),
                )
                .with_fix(Fix {
                    applicability: Applicability::Safe,
                    modes: Vec::new(),
                    message: format!("delete the peer {own}"),
                    edits: vec![crate::fix::delete_stmt(cx.db, p.file, stmt)],
                });
                d.node = Some(node_name(cx, n).to_owned());
                out.push(d);
            }
        }
    }
}
