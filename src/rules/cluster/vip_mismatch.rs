//! CL002: one instance, different VIP sets on different nodes.

use super::{node_name, shared, target, top};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "CL002",
    name: "vip-mismatch",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "failover moves a different set of addresses than the master holds",
    fix: FixKind::Safe,
    summary: "the virtual_ipaddress sets of one instance differ",
    docs: r#"## What it finds
One instance whose `virtual_ipaddress` set (addresses with their prefix, `/32` or `/128` when
none is written; order and duplicates ignored) differs between nodes.

## Why it matters
keepalived up to 2.3.2 drops adverts whose VIP count or list differs from its own
(`received an unexpected ip number count`): the backup stops hearing the master and takes the
VIPs too — split brain, typically right after a rolling change that added a VIP to one node.
Later versions only log it, and then the VIPs moved on failover are not the ones you expect.

## Example
```
# ha1                          # ha2
192.168.0.100/24               192.168.0.100/24
192.168.0.101/24
```

## Fix
The same VIP list on every node. `haconf fix` aligns on haconf.toml, else on the majority,
else on the node with the highest priority, and says which: it deletes the lines of the VIPs
a node has beyond that list and adds the ones it lacks (copied from a node that has them, with
their `dev`/`label`), leaving comments alone. Update the backups first when adding a VIP to a
running cluster.

## References
- https://github.com/acassen/keepalived/issues/1603, https://github.com/acassen/keepalived/issues/2175
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n        192.168.0.101/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.101/24\n        192.168.0.100/24\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n        192.168.0.101/24\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for (j, members) in shared(cx) {
        let sets: Vec<Vec<String>> = members.iter().map(|(_, i)| i.vip_set()).collect();
        if sets.iter().all(|s| *s == sets[0]) {
            continue;
        }
        let spec = cx.cm.spec.as_ref().and_then(|s| {
            s.instances
                .iter()
                .find(|i| i.name.as_ref().is_some_and(|n| n.get_ref() == &j.name))
                .map(|i| {
                    let mut v: Vec<String> = i
                        .vips
                        .iter()
                        .filter_map(|x| {
                            let (a, p) = x
                                .get_ref()
                                .split_once('/')
                                .map_or((x.get_ref().as_str(), None), |(a, p)| (a, Some(p)));
                            let ip: std::net::IpAddr = a.parse().ok()?;
                            Some(format!(
                                "{ip}/{}",
                                p.map_or(
                                    if ip.is_ipv4() {
                                        "32".into()
                                    } else {
                                        "128".into()
                                    },
                                    |p| p.to_owned()
                                )
                            ))
                        })
                        .collect();
                    v.sort();
                    v
                })
        });
        let by_prio = top(&members).map(|(_, i)| i.vip_set());
        let (want, why) = match target(spec, &sets, by_prio) {
            Some((w, why)) => (Some(w), why),
            None => (None, ""),
        };
        // A node that already has the wanted set: its lines are copied verbatim (dev, label).
        let reference = want
            .as_ref()
            .and_then(|w| members.iter().position(|(_, i)| i.vip_set() == *w));
        for (k, (n, inst)) in members.iter().enumerate() {
            let differs = match &want {
                Some(w) => sets[k] != *w,
                None => true,
            };
            if !differs {
                continue;
            }
            let (file, span) = inst
                .vip_block
                .map_or((inst.name.file, inst.name.span), |b| (b.file, b.head));
            let msg = match &want {
                Some(w) => {
                    let missing: Vec<&String> = w.iter().filter(|v| !sets[k].contains(v)).collect();
                    let extra: Vec<&String> = sets[k].iter().filter(|v| !w.contains(v)).collect();
                    let mut parts = Vec::new();
                    if !missing.is_empty() {
                        parts.push(format!(
                            "lacks {}",
                            missing
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    if !extra.is_empty() {
                        parts.push(format!(
                            "adds {}",
                            extra
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    format!(
                        "the VIPs of `{}` on node `{}` differ from the other nodes': it {}",
                        j.name,
                        node_name(cx, *n),
                        parts.join(" and ")
                    )
                }
                None => format!(
                    "the VIPs of `{}` differ between the nodes (node `{}`: {})",
                    j.name,
                    node_name(cx, *n),
                    sets[k].join(", ")
                ),
            };
            let mut d = Diagnostic::new("CL002", file, span, msg)
                .with_help("give every node the same virtual_ipaddress list; keepalived ≤ 2.3.2 drops adverts with a different list, and both nodes take the VIPs");
            for (m, (on, oi)) in members.iter().enumerate() {
                if m != k
                    && Some(&sets[m]) == want.as_ref()
                    && let Some(b) = oi.vip_block
                {
                    d.related.push(Related {
                        file: b.file,
                        span: b.head,
                        message: format!("node `{}`", node_name(cx, *on)),
                    });
                    break;
                }
            }
            if let Some(w) = &want
                && let Some(fix) =
                    align_fix(cx, inst, &sets[k], w, reference.map(|r| members[r].1), why)
            {
                d = d.with_fix(fix);
            }
            d.node = Some(node_name(cx, *n).to_owned());
            out.push(d);
        }
    }
}

/// Deletes the VIP lines the node has beyond `want` and adds the ones it lacks (copied from
/// `reference`'s lines, else written as `addr/prefix`), leaving comments and order alone.
fn align_fix(
    cx: &ClusterCtx,
    inst: &crate::model::Instance,
    have: &[String],
    want: &[String],
    reference: Option<&crate::model::Instance>,
    why: &str,
) -> Option<Fix> {
    let block = inst.vip_block?;
    let db = cx.db;
    let f = db.get(block.file);
    let head_line = f.line_col(block.open.start).0;
    let mut edits = Vec::new();
    for v in &inst.vips {
        if want.contains(&v.normalized()) {
            continue;
        }
        let line = f.line_col(v.span.start).0;
        // Only VIPs on lines of their own (not `virtual_ipaddress { a b }`).
        if line == head_line || block.close.is_none_or(|c| f.line_col(c.start).0 == line) {
            return None;
        }
        let start = crate::fix::line_start_word(db, block.file, v.span.start);
        edits.push(crate::fix::delete_stmt(
            db,
            block.file,
            Span::new(start, f.line_end(line)),
        ));
    }
    let mut lines: Vec<String> = Vec::new();
    for w in want.iter().filter(|w| !have.contains(w)) {
        let from_ref = reference.and_then(|r| {
            r.vips.iter().find(|v| v.normalized() == *w).map(|v| {
                let rf = db.get(v.file);
                let (l, _) = rf.line_col(v.span.start);
                let text = rf.line_text(l);
                let text = text.split(['#', '!']).next().unwrap_or(text).trim();
                text.to_string()
            })
        });
        lines.push(from_ref.unwrap_or_else(|| w.clone()));
    }
    if !lines.is_empty() {
        let items: Vec<Span> = inst.vips.iter().map(|v| v.span).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        edits.push(crate::fix::insert_in_block(db, &block, &items, &refs)?);
    }
    if edits.is_empty() {
        return None;
    }
    Some(Fix {
        applicability: Applicability::Safe,
        modes: Vec::new(),
        message: format!("use the VIPs of {why}: {}", want.join(", ")),
        edits,
    })
}
