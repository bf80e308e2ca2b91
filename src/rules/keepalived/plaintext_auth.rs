//! KA013: `auth_type PASS`.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA013",
    name: "plaintext-auth",
    severity: Severity::Info,
    group: crate::rules::Group::Pedantic,
    default: false,
    why: "a fact about VRRP authentication, not a defect: PASS is cleartext by design",
    fix: FixKind::None,
    summary: "`auth_type PASS` (cleartext, dropped in VRRPv3)",
    docs: r#"## What it finds
`authentication { auth_type PASS ... }`.

## Why it matters
The password travels in clear text in every advert, so it protects against mistakes (a
second cluster with the same VRID), not attackers. RFC 5798 (VRRPv3) removed authentication;
keepalived ignores it for `version 3` and in strict mode.

## Example
```
authentication {
    auth_type PASS
    auth_pass 1111
}
```

## Fix
Keep it if it separates clusters that share a segment (it does that well); otherwise use
distinct VRIDs, `vrrp_check_unicast_src` with unicast peers, or keepalived's `auth_hmac`
(2.4+). Nothing to change automatically.

## References
- RFC 3768 §5.3.6, RFC 5798 §9
- `man 5 keepalived.conf`, *authentication*
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for inst in &cx.model().keepalived.instances {
        let Some(t) = inst.auth.as_ref().and_then(|a| a.auth_type.as_ref()) else {
            continue;
        };
        if t.value == "PASS" {
            out.push(Diagnostic::new(
                "KA013",
                t.file,
                t.span,
                format!(
                    "`{}` sends its VRRP password in clear text",
                    inst.name.value
                ),
            ));
        }
    }
}
