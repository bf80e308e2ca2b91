//! KA024: weighted trackers on sync-group members, which keepalived drops.

use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA024",
    name: "weight-in-sync-group",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived drops the weights, so the check never moves the VIP",
    fix: FixKind::None,
    summary: "tracker weights on instances in a `vrrp_sync_group` are ignored",
    docs: r#"## What it finds
An instance that belongs to a `vrrp_sync_group` (without `sync_group_tracking_weight`) and
tracks a script with a non-zero weight.

## Why it matters
keepalived removes weighted trackers from sync-group members (`ignoring tracked script ...
with weights due to SYNC group`): the priority never moves, so the check that should hand the
VIP over does nothing.

## Example
```
vrrp_sync_group G1 { group { VI_1 VI_2 } }
vrrp_instance VI_1 { track_script { chk_nginx weight -20 } }
```

## Fix
Use weight 0 (a failed check then sends the whole group to FAULT), track the script on the
sync group, or add `sync_group_tracking_weight` to the group.

## References
- keepalived `vrrp/vrrp_sync.c`; https://github.com/acassen/keepalived/issues/2105, https://github.com/acassen/keepalived/issues/1813
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n    weight -20\n}\nvrrp_sync_group G1 {\n    group {\n        VI_1\n    }\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n}\nvrrp_sync_group G1 {\n    group {\n        VI_1\n    }\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let ka = &cx.model().keepalived;
    for inst in &ka.instances {
        let Some(g) = ka.sync_group_of(&inst.name.value) else {
            continue;
        };
        if g.tracking_weight {
            continue;
        }
        for t in &inst.track_scripts {
            let w = ka.tracker_weight(t);
            if w != 0 {
                out.push(
                    Diagnostic::new(
                        "KA024",
                        t.file,
                        t.span,
                        format!(
                            "`{}` is in sync group `{}`: keepalived ignores the weight {w} of `{}`",
                            inst.name.value, g.name.value, t.name
                        ),
                    )
                    .with_related(Related {
                        file: g.name.file,
                        span: g.name.span,
                        message: "the sync group".into(),
                    }),
                );
            }
        }
    }
}
