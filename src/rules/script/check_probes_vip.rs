//! HC008: a probe that targets the VIP.

use super::ScriptCtx;
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::shell::analysis::{ProbeKind, Role};
use std::net::IpAddr;

pub static RULE: Rule = Rule {
    code: "HC008",
    name: "check-probes-vip",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "every node tests the VIP holder, so all fail or pass together",
    fix: FixKind::None,
    summary: "the probe targets the VIP, not the local nginx: it tests whichever node holds the VIP",
    docs: r#"## What it finds
A probe (`curl`, `wget`, `nc`, `telnet`, ...) whose target address is one of the node's
virtual IPs, written literally or through a variable the script sets once (`IP=...`).

Not reported: a VIP probe guarded by a test that this node holds the VIP (`if ip addr | grep
-q $VIP; then curl https://$VIP:6443/; fi`, kubeadm's `check_apiserver.sh`): it only runs
where the VIP is local, so it tests this node's own service.

## Why it matters
The VIP is served by whichever node holds it. On the master the check tests itself; on a
backup it tests the master, so a backup with a dead nginx looks healthy and is ready to take
over the VIP it cannot serve — and when the master fails, the backups' checks fail too
until one of them takes the VIP over.

## Example
```
vrrp_instance VI_1 {
    virtual_ipaddress {
        192.168.0.100/24
    }
}
vrrp_script chk {
    script "/usr/bin/curl -fs http://192.168.0.100/"
}
```

## Fix
Probe the node's own nginx: `http://127.0.0.1/` (with nginx listening on the wildcard
address, NX011), or the node's own address.

## References
- a common pattern in published guides: checks that probe the VIP
"#,
    check: Check::Script(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/curl -fs -o /dev/null --max-time 1 http://192.168.0.100/\"\n    interval 2\n    timeout 1\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/curl -fs -o /dev/null --max-time 1 http://127.0.0.1/\"\n    interval 2\n    timeout 1\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
    )],
};

/// The host of `scheme://host[:port]/...`, `host:port`, or a bare address.
fn host_of(arg: &str) -> Option<IpAddr> {
    let rest = arg.split_once("://").map_or(arg, |(_, r)| r);
    let rest = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next()?.parse().ok();
    }
    if let Ok(a) = rest.parse::<IpAddr>() {
        return Some(a);
    }
    rest.rsplit_once(':').and_then(|(h, _)| h.parse().ok())
}

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let Some(a) = cx.analysis() else { return };
    let vips: Vec<(&crate::model::Vip, &str)> = cx
        .model
        .keepalived
        .instances
        .iter()
        .flat_map(|i| i.vips.iter().map(move |v| (v, i.name.value.as_str())))
        .collect();
    for c in &a.commands {
        if c.role != Role::Probe(ProbeKind::Service) {
            continue;
        }
        let Some((addr, vip, inst)) = c
            .args()
            .iter()
            .filter(|a| !a.starts_with('-'))
            .filter_map(|a| host_of(a))
            .find_map(|h| {
                vips.iter()
                    .find(|(v, _)| v.addr == h)
                    .map(|(v, i)| (h, *v, *i))
            })
        else {
            continue;
        };
        // The kubeadm pattern: `if ip addr | grep -q $VIP; then curl https://$VIP...; fi`
        // probes the VIP only on the node that holds it, which is this node's own service.
        if guarded_by_vip_test(a, c.span.start, &addr.to_string()) {
            continue;
        }
        let service = c
            .args()
            .iter()
            .find_map(|a| super::service_named(a))
            .unwrap_or(if cx.model.nginx.listens.is_empty() {
                "service"
            } else {
                "nginx"
            });
        let d = cx
            .diag(
                "HC008",
                c.span,
                format!(
                    "the probe targets {addr}, a VIP of `{inst}`: it tests whichever node holds the VIP, not this node's {service}"
                ),
            )
            .with_help(format!("probe this node's {service} on `127.0.0.1` or the node's own address, or probe the VIP only when this node holds it (`if ip -o addr | grep -qF ' {addr}/'; then ...`)"))
            .with_related(Related {
                file: vip.file,
                span: vip.span,
                message: "the VIP".into(),
            });
        out.push(d);
    }
}

/// Whether a command before `at` tests that this node holds `vip` (`ip addr | grep VIP`,
/// `ip a show | grep -q $VIP`, `hostname -I | grep`): a probe after it is the guarded VIP
/// probe of kubeadm's check_apiserver.sh, which only runs where the VIP is local.
fn guarded_by_vip_test(a: &crate::shell::analysis::Analysis, at: usize, vip: &str) -> bool {
    a.commands.iter().any(|g| {
        g.span.start < at
            && g.name == "grep"
            && g.args().iter().any(|w| w.contains(vip))
            && a.commands.iter().any(|ip| {
                ip.piped
                    && ip.span.end <= g.span.start
                    && (ip.name == "ip" || ip.name == "hostname" || ip.name == "ifconfig")
            })
    })
}
