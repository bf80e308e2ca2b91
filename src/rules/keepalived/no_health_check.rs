//! KA025: an instance that tracks nothing.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA025",
    name: "no-health-check",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: false,
    why: "many clusters move the VIP on host failure only, or check the service elsewhere (LVS real servers); opt in where every instance must track its service",
    fix: FixKind::None,
    summary: "an instance tracks no script, process or file: nginx can die and the VIP stays",
    docs: r#"## What it finds
A `vrrp_instance` without `track_script`, `track_process` or `track_file` (and not in a sync
group that tracks one).

This rule is opt-in (`--extend-select KA025`): many clusters move the VIP on host failure
only, on purpose, or check their service elsewhere (an LVS director's `virtual_server`
checkers).

## Why it matters
keepalived then only fails over when the whole node (or its interface) goes away. When nginx
crashes or hangs, the node keeps the VIP and every request fails.

## Example
```
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress { 192.168.0.100/24 }
}
```

## Fix
Track a check that fails when nginx fails: a `vrrp_script` with an HTTP probe and a time
limit, or `vrrp_track_process` on nginx.

## References
- `man 5 keepalived.conf`, *vrrp_script*, *vrrp_track_process*
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_track_process nginx {\n    process nginx\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_process {\n        nginx\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let ka = &cx.model().keepalived;
    for inst in &ka.instances {
        if inst.has_health_check() {
            continue;
        }
        if ka.sync_group_of(&inst.name.value).is_some_and(|g| g.tracks) {
            continue;
        }
        out.push(Diagnostic::new(
            "KA025",
            inst.name.file,
            inst.name.span,
            format!(
                "`{}` tracks no health check: if {} dies, this node keeps the VIP",
                inst.name.value,
                if cx.node().nginx.is_empty() {
                    "the service it fronts"
                } else {
                    "nginx"
                }
            ),
        ));
    }
}
