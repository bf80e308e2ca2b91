//! CL004: two nodes with the same priority.

use super::{node_name, shared};
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL004",
    name: "priority-tie",
    severity: Severity::Warning,
    fix: FixKind::None,
    summary: "two nodes share a priority: the higher IP wins, surprisingly",
    docs: r#"## What it finds
Two nodes of one instance with the same effective priority (as configured, with keepalived's
defaults: 100, or 255 for `state MASTER` without `priority`).

## Why it matters
On a tie the node with the higher source IP address wins — rarely what anyone chose. Both
nodes can transition at once and back off, flapping the VIP (acassen/keepalived#2323), and a
check's weight has no gap to cross.

## Example
```
# ha1: priority 100      # ha2: priority 100
```

## Fix
Distinct priorities, with a gap smaller than the checks' weights (e.g. 101 and 100 with
`weight -20`).

## References
- RFC 5798 §6.4.3; acassen/keepalived#2323, #1810
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        for (k, (n, inst)) in members.iter().enumerate() {
            let p = inst.priority();
            let Some((on, other)) = members[..k].iter().find(|(_, o)| o.priority() == p) else {
                continue;
            };
            let at = |i: &crate::model::Instance| i.priority_site();
            let (f, s) = at(inst);
            let (of, os) = at(other);
            let mut d = Diagnostic::new(
                "CL004",
                f,
                s,
                format!("`{}` has priority {p} on both `{}` and `{}`: the node with the higher IP address wins, and both may flap", j.name, node_name(cx, *on), node_name(cx, *n)),
            )
            .with_related(Related { file: of, span: os, message: format!("priority {p} on node `{}`", node_name(cx, *on)) })
            .with_help("give each node its own priority");
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
