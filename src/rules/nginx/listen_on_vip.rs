//! NX012: nginx binds a VIP address, which exists only on the node that holds it.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "NX012",
    name: "listen-on-vip-without-nonlocal-bind",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nginx cannot start on the backup, so failover lands on a node that serves nothing",
    fix: FixKind::Unsafe,
    summary: "`listen` on a VIP address: nginx cannot start on the backup unless `net.ipv4.ip_nonlocal_bind=1`",
    docs: r#"## What it finds
A `listen` whose address is one of the cluster's VIPs, on a node whose files do not set
`net.ipv4.ip_nonlocal_bind = 1` (or `net.ipv6.ip_nonlocal_bind`) in `etc/sysctl.conf` or
`etc/sysctl.d/*.conf`.

## Why it matters
On a backup the VIP is not configured, so `bind()` fails with "cannot assign requested
address" and nginx does not start. The backup's own health check then fails, and when the
master dies the VIP moves to a node without a running nginx.

## Example
```
server {
    listen 192.168.0.100:80;
}
```

## Fix
Listen on the wildcard (`listen 80;`), which works on every node (unsafe: nginx then also
answers on the node's own addresses), or set `net.ipv4.ip_nonlocal_bind = 1` on every node.

## References
- https://nginx.org/en/docs/http/ngx_http_core_module.html#listen
"#,
    check: Check::Node(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "nginx.conf",
            "events {}\nhttp {\n    server {\n        listen 192.168.0.100:80;\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "nginx.conf",
            "events {}\nhttp {\n    server {\n        listen 80;\n    }\n}\n",
        ),
    ],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let listens = &cx.model().nginx.listens;
    if listens.iter().all(|l| l.addr.is_none()) {
        return;
    }
    let mut vips = Vec::new();
    for m in &cx.cm.nodes {
        for i in &m.keepalived.instances {
            vips.extend(i.vips.iter().cloned());
        }
    }
    if vips.is_empty() || cx.node().nonlocal_bind {
        return;
    }
    for l in listens {
        let Some(addr) = l.addr else { continue };
        let Some(v) = vips.iter().find(|v| v.addr == addr) else {
            continue;
        };
        let port = l.port.map_or("80".to_owned(), |p| p.to_string());
        out.push(
            Diagnostic::new(
                "NX012",
                l.file,
                l.span,
                format!("nginx listens on the VIP {addr}: on a backup, which does not hold it, nginx cannot bind it and does not start"),
            )
            .with_related(Related { file: v.file, span: v.span, message: "the VIP".into() })
            .with_help("listen on the wildcard address, or set net.ipv4.ip_nonlocal_bind = 1 on every node")
            .with_fix(Fix {
                applicability: Applicability::Unsafe,
                modes: Vec::new(),
                message: format!("listen on `{port}` (every address)"),
                edits: vec![crate::fix::replace(l.file, l.span, port)],
            }),
        );
    }
}
