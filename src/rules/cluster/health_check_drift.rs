//! CL016: health checks that differ between the nodes of one instance.

use super::{majority, node_name, shared, top};
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Related, Severity};
use crate::model::{Instance, Keepalived};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "CL016",
    name: "health-check-drift",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "failover works on one node and not on the other",
    fix: FixKind::Unsafe,
    summary: "health checks differ between nodes: missing on the master or on a peer of equal rank, a different script, or undefined",
    docs: r#"## What it finds
An instance whose health checks test different things on different nodes: a check tracked on
some nodes only, a check whose script differs (by content: the same script installed at
another path is the same check), or one that is undefined on some node.

Not reported: a standby node (below the top priority) that tracks no check at all — a
deliberate design: it only has to take the VIP when the master fails — and differences in
`interval`, `timeout`, `fall`, `rise` or `weight`, which are tuned against each node's
priority; whether failover still works with them is CL013's question.

## Why it matters
Failover is a comparison of priorities, so both sides must move by the same rules. A check on
the master only means the backup keeps the VIP when its own nginx is dead, and a different
script on each node means the nodes give the VIP up for different reasons.

## Example
```
# ha1: vrrp_script chk { script "/etc/keepalived/chk_nginx.sh" }
# ha2: vrrp_script chk { script "killall -0 nginx" }
```

## Fix
The same `vrrp_script` blocks and `track_script` lines on every node. `haconf fix --unsafe`
copies them from the majority's node, else from the node with the highest priority (it says
which): the `vrrp_script` blocks that node tracks replace (or are added before the instance
of) the odd node's, and its `track_script` block replaces the odd node's. The script files
themselves are not copied; KA018 says when a node lacks one.

## References
- `haconf check --failover` prints the model's table (README, *Using it*); https://github.com/acassen/keepalived/issues/535
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 2\n    weight -20\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/pgrep -x nginx\"\n    interval 5\n    weight -2\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    interval 2\n    weight -20\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_script chk {\n    weight -20\n    interval 2\n    script \"/usr/bin/true\"\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
    ],
};

/// What a node's checks for one instance amount to, as comparable text: for messages.
fn summary(ka: &Keepalived, inst: &Instance) -> Vec<String> {
    let mut v: Vec<String> = inst
        .track_scripts
        .iter()
        .map(|t| match ka.script(&t.name) {
            Some(s) => format!(
                "`{}` (`{}`, interval {}, timeout {}, weight {}, fall {}, rise {})",
                t.name,
                s.script.as_ref().map_or("", |c| c.value.as_str()),
                s.interval(),
                s.timeout(),
                t.weight.unwrap_or_else(|| s.weight()),
                s.fall(),
                s.rise()
            ),
            None => format!("`{}` (undefined)", t.name),
        })
        .collect();
    v.sort();
    v
}

/// What decides whether two nodes' checks test the same thing: the checks tracked, a script
/// file by its content (the same script installed at another path is the same check). Timers
/// and weights are tuned per node; whether failover still works with them is CL013's question.
fn behaviour(cx: &ClusterCtx, n: usize, inst: &Instance) -> Vec<String> {
    let ka = &cx.cm.nodes[n].keepalived;
    let node = &cx.cluster.nodes[n];
    let mut v: Vec<String> = inst
        .track_scripts
        .iter()
        .map(|t| match ka.script(&t.name) {
            Some(s) => {
                let cmd = s.script.as_ref().map_or("", |c| c.value.as_str());
                let prog = crate::project::command_program(cmd);
                match prog
                    .as_deref()
                    .and_then(|p| node.program(p))
                    .and_then(|p| p.file)
                {
                    Some(f) => {
                        let rest = cmd.split_whitespace().skip(1).collect::<Vec<_>>().join(" ");
                        format!("file:{}:{rest}", cx.db.get(f).text)
                    }
                    None => cmd.to_string(),
                }
            }
            None => format!("`{}` (undefined)", t.name),
        })
        .collect();
    v.sort();
    v
}

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let top_priority = members.iter().map(|(_, i)| i.priority()).max();
        // Standbys without any check are left out of the comparison (see below).
        let same: Vec<Vec<String>> = members
            .iter()
            .map(|(n, i)| behaviour(cx, *n, i))
            .zip(members.iter())
            .filter(|(b, (_, i))| !b.is_empty() || Some(i.priority()) == top_priority)
            .map(|(b, _)| b)
            .collect();
        if same.iter().all(|s| *s == same[0]) {
            continue;
        }
        let sums: Vec<Vec<String>> = members
            .iter()
            .map(|(n, i)| summary(&cx.cm.nodes[*n].keepalived, i))
            .collect();
        let want = majority(&sums);
        // The node to copy from: one of the majority, else the highest-priority node.
        let reference = match &want {
            Some(w) => sums.iter().position(|x| x == w),
            None => top(&members).and_then(|(tn, _)| members.iter().position(|(n, _)| *n == tn)),
        };
        for (k, (n, inst)) in members.iter().enumerate() {
            if want.as_ref() == Some(&sums[k]) {
                continue;
            }
            // A standby (below the top priority) that tracks nothing is a common, deliberate
            // design: it only has to take the VIP when the master fails.
            if sums[k].is_empty() && Some(inst.priority()) < top_priority {
                continue;
            }
            // Without a majority, the nodes that differ from the highest-priority one.
            match reference {
                Some(r) if want.is_none() && sums[r] == sums[k] => continue,
                None if k > 0 => continue,
                _ => {}
            }
            let Some(other) = (0..members.len())
                .find(|&m| m != k && (want.is_none() || want.as_ref() == Some(&sums[m])))
            else {
                continue;
            };
            let differ: Vec<&String> = sums[k]
                .iter()
                .filter(|s| !sums[other].contains(s))
                .collect();
            let lack: Vec<&String> = sums[other]
                .iter()
                .filter(|s| !sums[k].contains(s))
                .collect();
            let mut parts = Vec::new();
            if !differ.is_empty() {
                parts.push(format!(
                    "tracks {}",
                    differ
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !lack.is_empty() {
                parts.push(format!(
                    "where node `{}` tracks {}",
                    node_name(cx, members[other].0),
                    lack.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if differ.is_empty() && !lack.is_empty() {
                parts[0] = format!("tracks nothing {}", parts[0]);
            }
            let (file, span) = inst
                .track_script_block
                .map_or((inst.name.file, inst.name.span), |b| (b.file, b.head));
            let mut d = Diagnostic::new(
                "CL016",
                file,
                span,
                format!(
                    "health checks of `{}` differ: node `{}` {}",
                    j.name,
                    node_name(cx, *n),
                    parts.join(" ")
                ),
            );
            let oi = members[other].1;
            let (of, os) = oi
                .track_script_block
                .map_or((oi.name.file, oi.name.span), |b| (b.file, b.head));
            d.related.push(Related {
                file: of,
                span: os,
                message: format!("node `{}`", node_name(cx, members[other].0)),
            });
            if let Some(r) = reference
                && r != k
                && let Some(fix) = copy_checks(
                    cx,
                    (*n, inst),
                    members[r],
                    if want.is_some() {
                        "the majority of the nodes"
                    } else {
                        "the node with the highest priority"
                    },
                )
            {
                d = d.with_fix(fix);
            }
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}

/// The text of a block statement, from its keyword to its closing brace.
fn block_text(cx: &ClusterCtx, b: &crate::model::BlockLoc) -> Option<(Span, String)> {
    let close = b.close?;
    let span = Span::new(b.head.start, close.end);
    Some((span, cx.db.get(b.file).slice(span).to_string()))
}

/// Edits that give node `odd` the health checks of node `reference` for one instance.
fn copy_checks(
    cx: &ClusterCtx,
    (on, oi): (usize, &Instance),
    (rn, ri): (usize, &Instance),
    why: &str,
) -> Option<Fix> {
    let oka = &cx.cm.nodes[on].keepalived;
    let rka = &cx.cm.nodes[rn].keepalived;
    let mut edits: Vec<Edit> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for t in &ri.track_scripts {
        if names.contains(&t.name.as_str()) {
            continue;
        }
        names.push(&t.name);
        let (_, text) = block_text(cx, rka.script(&t.name)?.block.as_ref()?)?;
        match oka.script(&t.name).and_then(|s| s.block.as_ref()) {
            Some(b) => {
                let (span, mine) = block_text(cx, b)?;
                if mine != text {
                    edits.push(crate::fix::replace(b.file, span, text));
                }
            }
            None => {
                // Before the instance, at the start of its line.
                let at = cx
                    .db
                    .get(oi.block.file)
                    .offset(cx.db.get(oi.block.file).line_col(oi.block.head.start).0, 1);
                edits.push(Edit {
                    file: oi.block.file,
                    span: Span::new(at, at),
                    replacement: format!("{text}\n\n"),
                });
            }
        }
    }
    match (
        ri.track_script_block.as_ref(),
        oi.track_script_block.as_ref(),
    ) {
        (Some(rb), Some(ob)) => {
            let (_, text) = block_text(cx, rb)?;
            let (span, mine) = block_text(cx, ob)?;
            if mine != text {
                edits.push(crate::fix::replace(ob.file, span, text));
            }
        }
        (Some(rb), None) => {
            let (_, text) = block_text(cx, rb)?;
            let lines: Vec<String> = text
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    let l = l.trim();
                    if i == 0 || l.starts_with('}') {
                        l.to_string()
                    } else {
                        format!("    {l}")
                    }
                })
                .collect();
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let mut items: Vec<Span> = oi.options.iter().map(|(_, v)| v.span).collect();
            items.extend(oi.priority.iter().map(|p| p.span));
            items.sort_by_key(|s| s.start);
            edits.push(crate::fix::insert_in_block(
                cx.db, &oi.block, &items, &refs,
            )?);
        }
        // The reference tracks nothing: removing checks is for a person to decide.
        (None, _) => return None,
    }
    if edits.is_empty() {
        return None;
    }
    Some(Fix {
        applicability: Applicability::Unsafe,
        modes: Vec::new(),
        message: format!(
            "copy the health checks of node `{}` ({why})",
            cx.cluster.nodes[rn].name
        ),
        edits,
    })
}
