//! KA014: `nopreempt` / `preempt_delay` with `state MASTER`.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::model::State;
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA014",
    name: "nopreempt-with-master",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived silently ignores `nopreempt`: the node preempts although the config says it does not",
    fix: FixKind::Safe,
    summary: "`nopreempt`/`preempt_delay` with `state MASTER`: keepalived clears nopreempt",
    docs: r#"## What it finds
An instance with `nopreempt` or `preempt_delay` that starts as `state MASTER` (or has
priority 255).

## Why it matters
Both only work for an instance that starts as BACKUP. With `state MASTER` keepalived clears
them (`Warning - nopreempt will not work with initial state MASTER - clearing`): the node
takes the VIP back as soon as it returns, the very flap `nopreempt` was written to prevent.

## Example
```
vrrp_instance VI_1 {
    state MASTER
    nopreempt
    priority 101
}
```

## Fix
`state BACKUP` (a safe fix: it restores the only meaning the `nopreempt` line can have; the
higher priority still wins the first election).

## References
- keepalived `vrrp/vrrp.c` (`vrrp_complete_instance`)
- https://github.com/acassen/keepalived/issues/1472, https://github.com/acassen/keepalived/issues/1515
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    state MASTER\n    nopreempt\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    state BACKUP\n    nopreempt\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    for inst in &cx.model().keepalived.instances {
        let Some((what, loc)) = inst
            .nopreempt
            .map(|l| ("nopreempt", l))
            .or(inst.preempt_delay.map(|l| ("preempt_delay", l)))
        else {
            continue;
        };
        let master = inst.state.as_ref().filter(|s| s.value == State::Master);
        let owner = inst.priority() == 255;
        if master.is_none() && !owner {
            continue;
        }
        let mut d = Diagnostic::new(
            "KA014",
            loc.file,
            loc.span,
            if let Some(_m) = master {
                format!(
                    "`{what}` has no effect on `{}`: it starts as `state MASTER`, and keepalived clears it",
                    inst.name.value
                )
            } else {
                format!(
                    "`{what}` has no effect on `{}`: priority 255 (address owner) always preempts",
                    inst.name.value
                )
            },
        );
        if let Some(m) = master {
            d.related.push(Related {
                file: m.file,
                span: m.span,
                message: "starts as MASTER here".into(),
            });
            d.fix = Some(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: "start as `state BACKUP`".into(),
                edits: vec![crate::fix::replace(m.file, m.span, "BACKUP")],
            });
        }
        out.push(d);
    }
}
