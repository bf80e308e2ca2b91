//! KA027: `state MASTER` without `priority` — keepalived makes it 255.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Severity};
use crate::model::State;
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA027",
    name: "master-without-priority",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the node becomes the address owner (255), whose priority checks cannot lower",
    fix: FixKind::Safe,
    summary: "`state MASTER` without `priority`: keepalived makes it 255, the address owner",
    docs: r#"## What it finds
An instance with `state MASTER` and no `priority` line.

## Why it matters
keepalived then gives it priority 255 — the address owner — not the default 100. It takes the
VIP immediately at start, its weighted checks are dropped (KA022), and `nopreempt` is cleared.
Nobody writing `state MASTER` alone expects that.

## Example
```
vrrp_instance VI_1 {
    state MASTER
    interface eth0
}
```

## Fix
Write the priority. The safe fix writes `priority 255`, which keeps today's behaviour and makes
it visible; choose a lower one (e.g. 101 over the backups' 100) to let checks move the VIP.

## References
- keepalived `vrrp/vrrp.c` (`vrrp_complete_instance`: MASTER without priority is the owner)
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for inst in &cx.model().keepalived.instances {
        let Some(st) = inst.state.as_ref().filter(|s| s.value == State::Master) else {
            continue;
        };
        if inst.priority.is_some() {
            continue;
        }
        out.push(
            Diagnostic::new(
                "KA027",
                st.file,
                st.span,
                format!("`{}` has `state MASTER` and no `priority`: keepalived makes it 255, the address owner, whose checks cannot lower it", inst.name.value),
            )
            .with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: "write `priority 255` explicitly".into(),
                edits: vec![crate::fix::insert_after_line(cx.db, st.file, st.span.start, "priority 255")],
            }),
        );
    }
}
