//! KA019: a VIP without a prefix length.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA019",
    name: "vip-without-prefix",
    severity: Severity::Info,
    group: crate::rules::Group::Pedantic,
    default: false,
    why: "keepalived's /32 works; the prefix is a matter of clarity",
    fix: FixKind::None,
    summary: "VIP without `/len`: keepalived adds it as /32",
    docs: r#"## What it finds
A `virtual_ipaddress` entry without `/prefix`.

## Why it matters
keepalived adds it as a /32 (IPv4) or /128 (IPv6) host address. That works for a VIP in the
interface's subnet, but no subnet route comes with it, `ip addr` shows it unlike the node's
own address, and the VIP lists of the nodes compare unequal if one writes `/24` and another
nothing.

## Example
```
virtual_ipaddress {
    192.168.0.100
}
```

## Fix
Write the prefix of the interface's subnet (`192.168.0.100/24`), the same on every node.
haconf does not guess the subnet for you.

## References
- `man 5 keepalived.conf`, *virtual_ipaddress*
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for inst in &cx.model().keepalived.instances {
        for v in inst.vips.iter().filter(|v| v.prefix.is_none()) {
            let host = if v.addr.is_ipv4() { 32 } else { 128 };
            out.push(Diagnostic::new(
                "KA019",
                v.file,
                v.span,
                format!(
                    "VIP `{}` has no prefix length: keepalived adds it as /{host}",
                    v.addr
                ),
            ));
        }
    }
}
