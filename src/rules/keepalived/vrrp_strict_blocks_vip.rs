//! KA021: strict mode that makes the VIP unreachable, or that keepalived will fight.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA021",
    name: "vrrp-strict-blocks-vip",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "with `vrrp_strict` keepalived makes the VIP unreachable or refuses the instance",
    fix: FixKind::None,
    summary: "`vrrp_strict` with priority < 255 and no `accept`, or with unicast/auth/preempt_delay",
    docs: r#"## What it finds
An instance in strict mode (`vrrp_strict` in `global_defs`, or `strict_mode` on the instance)
that has a priority below 255 and no `accept`, or that uses unicast peers, authentication or
`preempt_delay`, which strict mode forbids.

## Why it matters
Strict mode implies `no_accept` unless the node owns the address (priority 255): keepalived
installs an nftables/iptables rule that drops traffic to the VIP. The VIP moves, answers ping
on no node, and nginx behind it is unreachable. The upstream sample `keepalived.conf` ships
with `vrrp_strict`, which is how many clusters get it. Unicast, authentication and
`preempt_delay` are reset with errors in strict mode.

## Example
```
global_defs { vrrp_strict }
vrrp_instance VI_1 { priority 100 ... }
```

## Fix
Remove `vrrp_strict` (keepalived's defaults are what a web VIP wants), or add `accept` to
every instance.

## References
- https://github.com/acassen/keepalived/issues/2319, https://github.com/acassen/keepalived/issues/2339, https://github.com/acassen/keepalived/issues/474
- `man 5 keepalived.conf`, *vrrp_strict*
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "global_defs {\n    vrrp_strict\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "global_defs {\n    vrrp_strict\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    accept\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let ka = &cx.model().keepalived;
    for inst in &ka.instances {
        let Some(strict) = inst.strict_mode.or(ka.global.vrrp_strict) else {
            continue;
        };
        let mut why = Vec::new();
        if inst.priority() < 255 && inst.accept.is_none() {
            why.push(
                "without `accept` it drops all traffic to the VIP (priority below 255)".to_owned(),
            );
        }
        if inst.uses_unicast() {
            why.push("it refuses unicast peers".to_owned());
        }
        if inst.auth.is_some() {
            why.push("it ignores authentication".to_owned());
        }
        if inst.preempt_delay.is_some() {
            why.push("it resets `preempt_delay`".to_owned());
        }
        if why.is_empty() {
            continue;
        }
        let name = inst.name.value.as_str();
        out.push(
            Diagnostic::new(
                "KA021",
                inst.name.file,
                inst.name.span,
                format!("`{name}` runs in strict mode, and {}", why.join("; ")),
            )
            .with_related(crate::diagnostic::Related {
                file: strict.file,
                span: strict.span,
                message: "strict mode is switched on here".into(),
            })
            .with_help("remove `vrrp_strict`, or add `accept` to the instance"),
        );
    }
}
