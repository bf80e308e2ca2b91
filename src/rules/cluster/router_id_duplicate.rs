//! CL010: the same `router_id` on several nodes.

use super::node_name;
use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL010",
    name: "router-id-duplicate",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "logs, notifications and SNMP cannot tell the nodes apart",
    fix: FixKind::Safe,
    summary: "`global_defs router_id` is identical on several nodes",
    docs: r#"## What it finds
The same `router_id` in `global_defs` on more than one node of a cluster.

## Why it matters
keepalived does not send it in VRRP, but puts it in every email alert, SNMP trap and log
subject. With one `router_id master-node` copied to both nodes, the alert at 3 a.m. says
"master-node became MASTER" whichever machine it came from — and after a failover the
"master-node" is the backup. It is the surest sign a config was copied between nodes unedited.

## Example
```
# ha1 and ha2
global_defs {
    router_id master-node
}
```

## Fix
`router_id` = the node's name (a safe fix: it changes labels only).

## References
- `router_id` names the node in SMTP alerts and SNMP only (keepalived.conf(5): https://www.keepalived.org/manpage.html)
"#,
    check: Check::Cluster(check),
    bad: &[
        ("keepalived.conf", "global_defs {\n    router_id lb\n}\n"),
        (
            "../ha2/keepalived.conf",
            "global_defs {\n    router_id lb\n}\n",
        ),
    ],
    good: &[
        ("keepalived.conf", "global_defs {\n    router_id ha1\n}\n"),
        (
            "../ha2/keepalived.conf",
            "global_defs {\n    router_id ha2\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    let ids: Vec<Option<&crate::model::Val<String>>> = cx
        .cm
        .nodes
        .iter()
        .map(|m| m.keepalived.global.router_id.as_ref())
        .collect();
    for (n, id) in ids.iter().enumerate() {
        let Some(id) = id else { continue };
        let others: Vec<usize> = (0..ids.len())
            .filter(|&m| m != n && ids[m].is_some_and(|o| o.value == id.value))
            .collect();
        if others.is_empty() {
            continue;
        }
        let name = node_name(cx, n);
        let mut d = Diagnostic::new(
            "CL010",
            id.file,
            id.span,
            format!(
                "router_id `{}` is also used by node `{}`: alerts and logs cannot tell the nodes apart",
                id.value,
                node_name(cx, others[0])
            ),
        );
        if let Some(o) = ids[others[0]] {
            d.related.push(Related {
                file: o.file,
                span: o.span,
                message: format!("node `{}`", node_name(cx, others[0])),
            });
        }
        if name != id.value && !ids.iter().any(|x| x.is_some_and(|x| x.value == name)) {
            d.fix = Some(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: format!("set router_id to the node's name, `{name}`"),
                edits: vec![crate::fix::replace(id.file, id.span, name)],
            });
        }
        d.node = Some(name.to_owned());
        out.push(d);
    }
}
