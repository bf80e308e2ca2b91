//! CL013: when the master's checks fail, the VIP does not move.

use super::node_name;
use crate::cluster::failover::{NodeState, Scenario};
use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};

pub static RULE: Rule = Rule {
    code: "CL013",
    name: "failover-impossible",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the VIP stays on the failed node",
    fix: FixKind::Unsafe,
    summary: "when the master's checks fail, its priority stays ≥ a healthy backup's, so the VIP never moves",
    docs: r#"## What it finds
From the failover model (`haconf check --failover` shows it): an instance whose master, with
all its tracked scripts failing, still holds the VIP although a healthy backup exists —
because the weight is smaller than the priority gap (priority 150 with `weight -20` against a
backup at 100), because it only brings the master **level** with the backup (101 with
`weight -1` against 100: a backup that receives an advert of equal priority resets its
master-down timer and stays backup, RFC 5798 §6.4.2 — the address tie-break is only between
two masters), because the master is the address owner (255), or because the backups have
`nopreempt` while the checks only lower the master's priority. `haconf lab` runs the cluster
with real keepalived and shows the same.

## Why it matters
It is the number-one "failover does not happen" report: nginx is down on the master, the
check fails dutifully every two seconds, and the VIP stays on the dead node.

## Example
```
# ha1: priority 150, chk weight -20  ->  130 when nginx fails
# ha2: priority 100                  ->  still the backup
```

## Fix
A weight larger than the gap (here `weight -60`), a smaller gap, or weight 0 (a failed check
puts the node in FAULT, which always hands the VIP over). `haconf fix --unsafe` sets the
negative weight of each tracked script, on every node, to minus one more than the instance's
priority gap; it leaves positive weights (a failing master keeps its base priority, so only
a lower base helps), weights given on `track_script` lines and address owners (priority 255)
to a person.

## References
- https://github.com/acassen/keepalived/issues/2599, https://github.com/acassen/keepalived/issues/942 (weights too small), https://github.com/acassen/keepalived/issues/2483 (nopreempt + weights)
- RFC 5798 §6.4.2 (a backup resets its timer on an advert of greater or equal priority):
  https://www.rfc-editor.org/rfc/rfc5798#section-6.4.2
- `haconf check --failover` prints the model's table, and `haconf lab` runs it (docs/lab.md)
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    weight -20\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    weight -20\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    unicast_src_ip 192.168.0.20\n    unicast_peer {\n        192.168.0.10\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    weight -60\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    unicast_src_ip 192.168.0.10\n    unicast_peer {\n        192.168.0.20\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "vrrp_script chk {\n    script \"/usr/bin/true\"\n    weight -60\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    unicast_src_ip 192.168.0.20\n    unicast_peer {\n        192.168.0.10\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
        ),
    ],
};

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    for t in &cx.cm.failover {
        let j = &cx.cm.instances[t.instance];
        let Some(healthy) = t.rows.iter().find(|r| r.scenario == Scenario::Healthy) else {
            continue;
        };
        let Some(h) = healthy.holder.one() else {
            continue;
        };
        let Some(row) = t
            .rows
            .iter()
            .find(|r| r.scenario == Scenario::ChecksFail(h))
        else {
            continue;
        };
        if row.holder.one() != Some(h) || !matches!(row.states[h], NodeState::Up(_)) {
            continue;
        }
        // Is there a healthy backup at all?
        let backups: Vec<usize> = (0..row.states.len())
            .filter(|&m| m != h && matches!(row.states[m], NodeState::Up(_)))
            .collect();
        if backups.is_empty() {
            continue;
        }
        let (n, inst) = (
            j.members[h].0,
            cx.cm.instance(j.members[h].0, j.members[h].1),
        );
        let NodeState::Up(failed) = row.states[h] else {
            continue;
        };
        let best_backup = backups
            .iter()
            .filter_map(|&m| match row.states[m] {
                NodeState::Up(p) => Some((p, m)),
                _ => None,
            })
            .max();
        let Some((bp, bm)) = best_backup else {
            continue;
        };
        let why = if inst.priority() == 255 {
            "it is the address owner (priority 255), which checks cannot lower".to_owned()
        } else if failed == bp {
            format!(
                "{failed} is level with the backup's {bp}: an advert of equal priority keeps a backup a backup (RFC 5798 §6.4.2)"
            )
        } else if let Some(note) = &row.note {
            note.clone()
        } else {
            format!(
                "{failed} is not below the backup's {bp}: the weight does not cross the priority gap"
            )
        };
        let (file, span) = inst.priority_site();
        let mut d = Diagnostic::new(
            "CL013",
            file,
            span,
            format!(
                "failover is impossible for `{}`: when the checks of `{}` fail, its priority drops to {failed} and it keeps the VIP, because {why}",
                j.name,
                node_name(cx, n),
            ),
        )
        .with_help("make the weight larger than the priority gap, or use weight 0 so that a failed check means FAULT; see `haconf check --failover`");
        let (bn, bi) = (
            j.members[bm].0,
            cx.cm.instance(j.members[bm].0, j.members[bm].1),
        );
        let (bf, bs) = bi.priority_site();
        d.related.push(Related {
            file: bf,
            span: bs,
            message: format!("node `{}` stays at {bp}", node_name(cx, bn)),
        });
        for tr in &inst.track_scripts {
            d.related.push(Related {
                file: tr.file,
                span: tr.span,
                message: "tracked here".into(),
            });
        }
        if inst.priority() < 255
            // A weight cannot help against nopreempt backups.
            && !row.note.as_deref().is_some_and(|n| n.contains("nopreempt"))
            && let Some(fix) = weight_fix(cx, j, inst)
        {
            d = d.with_fix(fix);
        }
        d.node = Some(node_name(cx, n).to_owned());
        out.push(d);
    }
}

/// Sets the weight of every negatively weighted script `inst` tracks, on every node that
/// defines it, to minus one more than the priority gap of the instance, so that any one
/// failing check moves the VIP. Nothing when a track line overrides the weight.
fn weight_fix(
    cx: &ClusterCtx,
    j: &crate::cluster::Joined,
    inst: &crate::model::Instance,
) -> Option<Fix> {
    let prios: Vec<i64> = cx
        .cm
        .members(j)
        .map(|(_, i)| i64::from(i.priority()))
        .collect();
    let gap = prios.iter().max()? - prios.iter().min()?;
    let want = gap + 1;
    if want > 253 {
        return None;
    }
    let mut edits = Vec::new();
    let mut names = Vec::new();
    for tr in &inst.track_scripts {
        if tr.weight.is_some() {
            return None;
        }
        for (n, _) in cx.cm.members(j) {
            let Some(script) = cx.cm.nodes[n].keepalived.script(&tr.name) else {
                continue;
            };
            let Some(w) = &script.weight else { continue };
            // A positive weight only adds on success: a failing master keeps its base
            // priority, so no weight fixes that; a person lowers the base instead.
            if w.value >= 0 || -w.value >= want {
                continue;
            }
            let new = -want;
            edits.push(crate::fix::replace(w.file, w.span, new.to_string()));
            if !names.contains(&tr.name) {
                names.push(tr.name.clone());
            }
        }
    }
    edits.sort_by_key(|e| (e.file, e.span.start));
    edits.dedup();
    if edits.is_empty() {
        return None;
    }
    Some(Fix {
        applicability: Applicability::Unsafe,
        modes: Vec::new(),
        message: format!(
            "set the weight of {} to -{want} on every node: one more than the priority gap of {gap}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        edits,
    })
}
