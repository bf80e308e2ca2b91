//! CL019: instance options that should match differ between nodes.

use super::{majority, node_name, shared, top};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL019",
    name: "keepalived-option-drift",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "the nodes behave differently once they hold the VIP",
    fix: FixKind::Safe,
    summary: "instance options that should match differ between nodes (notify scripts, track_interface, garp settings, ...)",
    docs: r#"## What it finds
Options of one instance that are set differently — or only on some nodes — although they should
be the same everywhere: notify scripts (the program; its arguments may name the node, as
`notify.sh ha1` does), `track_interface`, `dont_track_primary`, `use_vmac`, `smtp_alert`, `accept`/`no_accept`, `strict_mode`, `nopreempt`, `preempt_delay`...
The per-node settings (state, priority, interface name, addresses, peers) are not compared,
nor are the gratuitous-ARP timers (`garp_*`): they change how often neighbours are told about
the move, not whether failover works.

## Why it matters
Each of these changes how failover behaves. When only one node runs a notify script, the
DNS update or alert it sends happens on half the failovers; when only one node tracks an
interface, only one direction of failover reacts to a cable pull.

## Example
```
# ha1: notify_master /etc/keepalived/master.sh      # ha2: (none)
```

## Fix
Set the option the same way on every node (or remove it everywhere). `haconf fix` aligns each
node on the majority, else on the node with the highest priority, and says which: it
replaces, adds or removes the statement (`track_interface` blocks are left to a person).
Notify commands are only ever added to a node that lacks one (copied from another node):
they often differ on purpose, with a node's name in a message.

## References
- `man 5 keepalived.conf`, *vrrp_instance*
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    notify_master /usr/bin/true\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    garp_master_delay 10\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth1\n    garp_master_delay 10\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
};

/// Options compared, per member: (keyword, value, where).
fn options(inst: &crate::model::Instance) -> Vec<(String, String, usize, crate::source::Span)> {
    let mut v: Vec<(String, String, usize, crate::source::Span)> = inst
        .options
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "track_bfd" | "virtual_ipaddress_excluded" | "virtual_routes" | "virtual_rules"
            ) && !k.starts_with("garp_")
        })
        .map(|(k, val)| (k.clone(), val.value.clone(), val.file, val.span))
        .collect();
    v.extend(
        inst.notify
            .iter()
            .map(|(k, val)| (k.clone(), val.value.clone(), val.file, val.span)),
    );
    for (k, l) in [
        ("nopreempt", inst.nopreempt),
        ("preempt_delay", inst.preempt_delay),
        ("accept", inst.accept),
        ("no_accept", inst.no_accept),
        ("strict_mode", inst.strict_mode),
    ] {
        if let Some(l) = l {
            v.push((k.into(), String::new(), l.file, l.span));
        }
    }
    let mut ti: Vec<&str> = inst
        .track_interfaces
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    ti.sort();
    if let Some(t) = inst.track_interfaces.first() {
        v.push(("track_interface".into(), ti.join(" "), t.file, t.span));
    }
    v
}

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let opts: Vec<Vec<(String, String, usize, crate::source::Span)>> =
            members.iter().map(|(_, i)| options(i)).collect();
        let mut keys: Vec<&String> = opts.iter().flatten().map(|o| &o.0).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let vals: Vec<Option<&String>> = opts
                .iter()
                .map(|o| o.iter().find(|x| &x.0 == key).map(|x| &x.1))
                .collect();
            if vals.iter().all(|v| *v == vals[0]) {
                continue;
            }
            // keepalived clears `nopreempt` on a `state MASTER` node (KA014 reports it): as
            // keepalived runs it, `nopreempt` on the MASTER only is the same as on no node.
            if key == "nopreempt" {
                let mut eff = members
                    .iter()
                    .zip(&vals)
                    .map(|((_, i), v)| if i.is_master() { None } else { *v });
                let first = eff.next().flatten();
                if eff.all(|v| v == first) {
                    continue;
                }
            }
            // Notify commands that run the same program on every node with other arguments:
            // the arguments name the node itself or its peer (`notify.sh ha1`,
            // `alert.py '10.0.0.1 is master'`), a difference that is meant.
            if key.starts_with("notify") {
                let progs: Vec<Option<String>> = vals
                    .iter()
                    .map(|v| v.and_then(|c| crate::project::command_program(c)))
                    .collect();
                if progs.iter().all(|p| p.is_some() && *p == progs[0]) {
                    continue;
                }
            }
            let want = majority(&vals);
            // The value to align on: the majority's, else the highest-priority node's.
            let aim: Option<(Option<&String>, &str)> = match &want {
                Some(w) => Some((*w, "the majority of the nodes")),
                None => top(&members).and_then(|(tn, _)| {
                    members
                        .iter()
                        .position(|(n, _)| *n == tn)
                        .map(|t| (vals[t], "the node with the highest priority"))
                }),
            };
            for (k, (n, inst)) in members.iter().enumerate() {
                if want.as_ref() == Some(&vals[k]) {
                    continue;
                }
                // Without a majority, the nodes that differ from the highest-priority one.
                match aim {
                    Some((w, _)) if want.is_none() && w == vals[k] => continue,
                    None if k > 0 => continue,
                    _ => {}
                }
                let here = opts[k].iter().find(|x| &x.0 == key);
                let (file, span) = here.map_or((inst.name.file, inst.name.span), |x| (x.2, x.3));
                let other = (0..members.len()).find(|&m| m != k && vals[m] != vals[k]);
                let describe = |v: Option<&String>| match v {
                    Some(s) if s.is_empty() => format!("`{key}`"),
                    Some(s) => format!("`{key} {s}`"),
                    None => format!("no `{key}`"),
                };
                let mut d = Diagnostic::new(
                    "CL019",
                    file,
                    span,
                    format!(
                        "`{}` has {} on node `{}`{}",
                        j.name,
                        describe(vals[k]),
                        node_name(cx, *n),
                        other.map_or(String::new(), |m| format!(
                            ", but {} on node `{}`",
                            describe(vals[m]),
                            node_name(cx, members[m].0)
                        ))
                    ),
                );
                if let Some(m) = other
                    && let Some(x) = opts[m].iter().find(|x| &x.0 == key)
                {
                    d.related.push(Related {
                        file: x.2,
                        span: x.3,
                        message: format!("node `{}`", node_name(cx, members[m].0)),
                    });
                }
                // Notify commands often differ on purpose (a node's name in a message): the
                // fix only adds one a node lacks, copied from another node; it never removes
                // or rewrites one.
                let aim_here = if key.starts_with("notify") {
                    match (vals[k], aim) {
                        (None, Some((Some(w), why))) => Some((Some(w), why)),
                        (None, _) => vals
                            .iter()
                            .flatten()
                            .next()
                            .map(|w| (Some(*w), "another node")),
                        _ => None,
                    }
                } else {
                    aim
                };
                // Copying a notify command whose script this node does not have would add a
                // command that cannot run (KA018): no fix then.
                let runnable = |c: &String| {
                    crate::project::command_program(c).is_none_or(|p| {
                        !p.starts_with('/')
                            || ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"]
                                .iter()
                                .any(|d| p.starts_with(d))
                            || cx.cluster.nodes[*n]
                                .program(&p)
                                .is_some_and(|x| x.resolved.is_some())
                    })
                };
                if let Some((w, why)) = aim_here
                    && w != vals[k]
                    && key != "track_interface"
                    && (!key.starts_with("notify") || w.is_none_or(runnable))
                    && let Some(fix) = align(cx, inst, key, here.map(|x| (x.2, x.3)), w, why)
                {
                    d = d.with_fix(fix);
                }
                d.node = Some(node_name(cx, *n).to_owned());
                out.push(d);
            }
        }
    }
}

/// The edit that gives `inst` the option `key` with value `want` (or removes it): the
/// statement is replaced, deleted, or added at the end of the instance.
fn align(
    cx: &ClusterCtx,
    inst: &crate::model::Instance,
    key: &str,
    here: Option<(crate::source::FileId, crate::source::Span)>,
    want: Option<&String>,
    why: &str,
) -> Option<Fix> {
    let text = want.map(|w| {
        if w.is_empty() {
            key.to_string()
        } else if key.starts_with("notify") {
            format!("{key} \"{w}\"")
        } else {
            format!("{key} {w}")
        }
    });
    let edit = match (here, &text) {
        (Some((file, span)), _) => {
            let stmt = statement_line(cx.db, file, span, key)?;
            match &text {
                Some(t) => crate::fix::replace(file, stmt, t.clone()),
                None => crate::fix::delete_stmt(cx.db, file, stmt),
            }
        }
        (None, Some(t)) => {
            // Indented like the instance's other statements.
            let items: Vec<crate::source::Span> = inst
                .options
                .iter()
                .map(|(_, v)| v.span)
                .chain(inst.priority.iter().map(|p| p.span))
                .chain(inst.vrid.iter().map(|p| p.span))
                .filter(|sp| sp.start < inst.block.close.map_or(usize::MAX, |c| c.start))
                .collect();
            let mut items = items;
            items.sort_by_key(|sp| sp.start);
            crate::fix::insert_in_block(cx.db, &inst.block, &items, &[t.as_str()])?
        }
        (None, None) => return None,
    };
    Some(Fix {
        applicability: Applicability::Safe,
        modes: Vec::new(),
        message: match &text {
            Some(t) => format!("use `{t}`, as {why}"),
            None => format!("remove `{key}`, as {why}"),
        },
        edits: vec![edit],
    })
}

/// The statement starting with `key` on the line of `span`, when it is alone on its line
/// (a trailing comment aside) and opens no block.
fn statement_line(
    db: &crate::source::SourceDb,
    file: crate::source::FileId,
    span: crate::source::Span,
    key: &str,
) -> Option<crate::source::Span> {
    let f = db.get(file);
    let (line, _) = f.line_col(span.start);
    let start = crate::fix::line_start_word(db, file, span.start);
    let line_end = f.line_end(line);
    let rest = &f.text[start..line_end];
    let code = rest.split(['#', '!']).next().unwrap_or(rest).trim_end();
    let first = code.split_whitespace().next()?;
    if first != key || code.contains(['{', '}', '"']) && !key.starts_with("notify") {
        return None;
    }
    Some(crate::source::Span::new(start, start + code.len()))
}
