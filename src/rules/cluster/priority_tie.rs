//! CL004: two nodes with the same priority.

use super::{node_name, shared};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL004",
    name: "priority-tie",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "the master is chosen by IP address, not by the configuration",
    fix: FixKind::SafeSometimes,
    summary: "two nodes share a priority: the higher IP wins, surprisingly",
    docs: r#"## What it finds
The node with `state MASTER` and a `state BACKUP` node of one instance with the same
effective priority (as configured, with keepalived's defaults: 100, or 255 for `state MASTER`
without `priority`). Equal priorities among nodes of the same state (two BACKUPs, often with
`nopreempt`: whichever holds the VIP keeps it) are a design and are not reported.

## Why it matters
On a tie the node with the higher source IP address wins — rarely what anyone chose. Both
nodes can transition at once and back off, flapping the VIP (acassen/keepalived#2323), and a
check's weight has no gap to cross.

## Example
```
# ha1: state MASTER  priority 100      # ha2: state BACKUP  priority 100
```

## Fix
When the nodes' addresses are known and the priority is written, haconf gives the node that
wins the tie today (the higher address) one more point — a safe fix: the same node wins, now
on purpose. Better still, choose distinct priorities, with a gap smaller than the checks'
weights (e.g. 101 and 100 with `weight -20`).

## References
- RFC 5798 §6.4.3; https://github.com/acassen/keepalived/issues/2323, https://github.com/acassen/keepalived/issues/1810
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
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
            // Equal priorities among nodes of one `state` (two BACKUPs, often with
            // `nopreempt`) are a design: whichever comes first keeps the VIP. A tie between
            // the MASTER and a BACKUP is decided by address, not by the states written.
            let Some((on, other)) = members[..k]
                .iter()
                .find(|(_, o)| o.priority() == p && o.is_master() != inst.is_master())
            else {
                continue;
            };
            let at = |i: &crate::model::Instance| i.priority_site();
            let (f, s) = at(inst);
            let (of, os) = at(other);
            let mut d = Diagnostic::new(
                "CL004",
                f,
                s,
                format!("`{}` has priority {p} on both `{}` and `{}`: the node with the higher IP address wins the election, whatever `state` says", j.name, node_name(cx, *on), node_name(cx, *n)),
            )
            .with_related(Related { file: of, span: os, message: format!("priority {p} on node `{}`", node_name(cx, *on)) })
            .with_help("give each node its own priority");
            // Safe fix: one more point for the node that wins the tie today (the higher source
            // address), when its priority is written and the next value is free.
            let src = |m: usize, i: &crate::model::Instance| cx.cm.member_address(m, i);
            if let (Some(a), Some(b)) = (src(*n, inst), src(*on, other)) {
                let (wn, wi) = if a > b { (*n, *inst) } else { (*on, *other) };
                let used: Vec<u8> = members.iter().map(|(_, i)| i.priority()).collect();
                if let Some(pv) = &wi.priority
                    && p < 254
                    && !used.contains(&(p + 1))
                {
                    d.fix = Some(Fix {
                        applicability: Applicability::Safe,
                        modes: Vec::new(),
                        message: format!(
                            "give node `{}`, which wins the tie today, priority {}",
                            node_name(cx, wn),
                            p + 1
                        ),
                        edits: vec![crate::fix::replace(pv.file, pv.span, (p + 1).to_string())],
                    });
                }
            }
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}
