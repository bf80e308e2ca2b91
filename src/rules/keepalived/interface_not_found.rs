//! KA029: an interface the host does not have. Known only from a host's facts (`haconf pull`):
//! without them haconf cannot tell, and says nothing.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA029",
    name: "interface-not-found",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived cannot run the instance on an interface the host lacks",
    fix: FixKind::None,
    summary: "an `interface`, `track_interface` or VIP `dev` the host does not have (needs the host's facts)",
    docs: r#"## What it finds
An interface named by a `vrrp_instance` (`interface`), its `track_interface` block or a
`virtual_ipaddress` entry (`dev`) that does not exist on the host, by name or alternative
name. Only a node with the host's facts (`facts.json`, written by `haconf pull`) is checked:
a repository cannot say which interfaces a machine has, and haconf does not guess.

## Why it matters
keepalived looks the interfaces up when it starts. A missing one is fatal: keepalived logs
`Non-existent interface specified in configuration` and does not run the instance, so the
node never takes the VIP (`keepalived -t` on the host says the same). With
`dynamic_interfaces` in `global_defs`, keepalived waits for the interface instead, and the
instance stays in FAULT until it appears. Interface names change with a new kernel, a new
NIC or a cloud image (`eth0` becomes `ens5`) while the config stays.

## Example
```
# the host has lo and ens5
vrrp_instance VI_1 {
    interface eth0
}
```

## Fix
Use the host's interface name (`ip -br link` on the host), or set the name per node with
`@node` lines when the nodes differ.

## References
- keepalived `man 5 keepalived.conf`, *interface*, *dynamic_interfaces*:
  <https://keepalived.org/manpage.html>
"#,
    check: Check::Node(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "facts.json",
            r#"{"version": 1, "interfaces": [{"name": "lo"}, {"name": "ens5", "addresses": [{"address": "192.168.0.10", "prefix": 24}]}]}"#,
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface ens5\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n        10.9.9.9/32 dev lo\n    }\n}\n",
        ),
        (
            "facts.json",
            r#"{"version": 1, "interfaces": [{"name": "lo"}, {"name": "enp0s5", "altnames": ["ens5"], "addresses": [{"address": "192.168.0.10", "prefix": 24}]}]}"#,
        ),
    ],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let node = cx.node();
    let Some(facts) = node.facts.as_deref() else {
        return;
    };
    let Some(ifaces) = facts.interfaces.as_ref() else {
        return;
    };
    let dynamic = dynamic_interfaces(node);
    let host = facts.hostname.as_deref().unwrap_or(&node.name);
    let mut have: Vec<&str> = ifaces.iter().map(|i| i.name.as_str()).collect();
    have.sort_unstable();
    let consequence = if dynamic {
        "with `dynamic_interfaces` keepalived waits for it, and the instance stays in FAULT until it appears"
    } else {
        "keepalived will not run the instance (`Non-existent interface specified in configuration`)"
    };
    let mut report = |name: &str, what: &str, file, span| {
        if name.contains('$') || facts.interface(name).is_some() {
            return;
        }
        out.push(
            Diagnostic::new(
                "KA029",
                file,
                span,
                format!(
                    "{what} `{name}` does not exist on host `{host}` (it has {}): {consequence}",
                    have.join(", ")
                ),
            )
            .with_help("use the host's interface name (`ip -br link`), per node with `@node` lines if the nodes differ"),
        );
    };
    for inst in &cx.model().keepalived.instances {
        if let Some(i) = &inst.interface {
            report(&i.value, "interface", i.file, i.span);
        }
        for t in &inst.track_interfaces {
            report(&t.name, "tracked interface", t.file, t.span);
        }
        for v in &inst.vips {
            if let Some(d) = &v.dev {
                report(d, "the VIP's device", v.file, v.span);
            }
        }
    }
}

/// Whether `global_defs` sets `dynamic_interfaces`.
fn dynamic_interfaces(node: &crate::project::Node) -> bool {
    let mut found = false;
    if let Some(u) = &node.keepalived {
        u.walk(&mut |_, s, path| {
            if path == "global_defs" && s.keyword() == Some("dynamic_interfaces") {
                found = true;
            }
        });
    }
    found
}
