//! KA022: priority 255 with weighted trackers.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA022",
    name: "priority-255-with-weight",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the address owner's priority cannot drop, so failover never happens",
    fix: FixKind::None,
    summary: "priority 255 (address owner) cannot be lowered by trackers",
    docs: r#"## What it finds
An instance whose priority is 255 — written, or implied by `state MASTER` without `priority`
— that tracks scripts with a non-zero weight.

## Why it matters
Priority 255 marks the address owner. keepalived never changes its priority and removes
weighted trackers from it (`ignoring tracked script ... due to address_owner`): the check that
was meant to lower the master below the backup does nothing.

## Example
```
vrrp_instance VI_1 {
    state MASTER          # no priority: 255
    track_script { chk_nginx weight -20 }
}
```

## Fix
Use a priority below 255 (e.g. 101 on the master, 100 on the backup), or a check with weight
0, which puts the node in FAULT instead.

## References
- keepalived `vrrp/vrrp.c` ("ignoring tracked script with weights due to address_owner")
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n    weight -20\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 255\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n    weight -20\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let ka = &cx.model().keepalived;
    for inst in &ka.instances {
        if inst.priority() != 255 {
            continue;
        }
        for t in &inst.track_scripts {
            let w = ka.tracker_weight(t);
            if w == 0 {
                continue;
            }
            let why = if inst.priority.is_some() {
                "priority 255"
            } else {
                "`state MASTER` without `priority`, which means 255"
            };
            out.push(Diagnostic::new(
                "KA022",
                t.file,
                t.span,
                format!("`{}` has {why}: keepalived drops the weight {w} of `{}`, and the check can never lower it", inst.name.value, t.name),
            ));
        }
    }
}
