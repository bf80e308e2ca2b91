//! The failover model: for each instance and each failure scenario, every node's effective
//! priority and the node that ends up holding the VIP.
//!
//! VRRP as keepalived implements it: the highest effective priority wins; a tie goes to the
//! higher source address; a backup takes over from a lower-priority master only if it may
//! preempt; a tracked script with weight 0 puts the instance in FAULT when it fails; weights
//! move the priority (`+w` while OK for w > 0, `+w` while failed for w < 0, mirrored by
//! `reverse`), clamped to 1..254; priority 255 (the address owner) never moves, and weighted
//! trackers on it, or on a sync-group member without `sync_group_tracking_weight`, are dropped.

use super::{ClusterModel, Joined};
use crate::model::{Instance, NodeModel};
use crate::project::Cluster;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Running, with this effective priority.
    Up(u8),
    /// keepalived puts the instance in FAULT (an unweighted check failed).
    Fault,
    /// The node is down.
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scenario {
    Healthy,
    ChecksFail(usize),
    NodeDown(usize),
}

#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: Scenario,
    /// Per member (in `Joined::members` order).
    pub states: Vec<NodeState>,
    /// The member index holding the VIP, or `None` when nobody does (or it cannot be told).
    pub holder: Option<usize>,
    /// Why the holder is who it is, when that is not simply the highest priority.
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// Index into `ClusterModel::instances`.
    pub instance: usize,
    pub rows: Vec<Row>,
}

/// Effective state of `inst` on `node` when its tracked scripts and processes are all healthy
/// (`failing == false`) or all failing.
fn effective(node: &NodeModel, inst: &Instance, failing: bool) -> NodeState {
    let base = inst.priority();
    let ka = &node.keepalived;
    let in_sync = ka
        .sync_group_of(&inst.name.value)
        .is_some_and(|g| !g.tracking_weight);
    let mut sum: i64 = 0;
    for t in &inst.track_scripts {
        let Some(script) = ka.script(&t.name) else {
            continue;
        };
        let w = t.weight.unwrap_or_else(|| script.weight());
        let reverse = t.reverse.unwrap_or(script.reverse);
        if w == 0 {
            if failing != reverse {
                return NodeState::Fault;
            }
            continue;
        }
        if base == 255 || in_sync {
            continue; // keepalived drops weighted trackers here
        }
        let ok = failing == reverse; // reverse: "up" counts as failed
        sum += match (w > 0, ok) {
            (true, true) => w,
            (false, false) => w,
            _ => 0,
        };
    }
    // Tracked processes: the weight on the track line (the object's own weight is not in the
    // model, and defaults to 0); 0 means FAULT while the process is gone.
    for t in &inst.track_processes {
        let w = t.weight.unwrap_or(0);
        let reverse = t.reverse.unwrap_or(false);
        if w == 0 {
            if failing != reverse {
                return NodeState::Fault;
            }
            continue;
        }
        if base == 255 || in_sync {
            continue;
        }
        let ok = failing == reverse;
        if (w > 0) == ok {
            sum += w;
        }
    }
    if base == 255 {
        return NodeState::Up(255);
    }
    NodeState::Up((base as i64 + sum).clamp(1, 254) as u8)
}

/// The member that wins an election among `states`, and whether a tie made it undecidable.
fn elect(states: &[NodeState], sources: &[Option<IpAddr>]) -> (Option<usize>, bool) {
    let best = states
        .iter()
        .filter_map(|s| match s {
            NodeState::Up(p) => Some(*p),
            _ => None,
        })
        .max();
    let Some(best) = best else {
        return (None, false);
    };
    let tied: Vec<usize> = (0..states.len())
        .filter(|&i| states[i] == NodeState::Up(best))
        .collect();
    if tied.len() == 1 {
        return (Some(tied[0]), false);
    }
    // Equal priorities: the higher source address wins.
    if tied.iter().all(|&i| sources[i].is_some()) {
        let w = tied.iter().copied().max_by_key(|&i| sources[i]);
        return (w, false);
    }
    (None, true)
}

pub fn compute(cluster: &Cluster, cm: &ClusterModel) -> Vec<Table> {
    let mut out = Vec::new();
    for (ji, j) in cm.instances.iter().enumerate() {
        if j.members.len() < 2 {
            continue;
        }
        out.push(table(cluster, cm, ji, j));
    }
    out
}

fn table(cluster: &Cluster, cm: &ClusterModel, ji: usize, j: &Joined) -> Table {
    let members: Vec<(usize, &Instance)> = cm.members(j).collect();
    let sources: Vec<Option<IpAddr>> = members
        .iter()
        .map(|(n, i)| cm.member_address(*n, i))
        .collect();
    let healthy: Vec<NodeState> = members
        .iter()
        .map(|(n, i)| effective(&cm.nodes[*n], i, false))
        .collect();
    let (holder0, tie0) = elect(&healthy, &sources);
    let mut rows = vec![Row {
        scenario: Scenario::Healthy,
        states: healthy.clone(),
        holder: holder0,
        note: tie0.then(|| "equal priorities; the source addresses are unknown".to_owned()),
    }];
    for (m, (n, inst)) in members.iter().enumerate() {
        // track_file trackers follow a value, not pass/fail: they are not modelled.
        if !inst.track_scripts.is_empty() || !inst.track_processes.is_empty() {
            let mut states = healthy.clone();
            states[m] = effective(&cm.nodes[*n], inst, true);
            let (mut holder, tie) = elect(&states, &sources);
            let mut note =
                tie.then(|| "equal priorities; the source addresses are unknown".to_owned());
            // Without preemption the current holder keeps the VIP while it is up.
            if let (Some(h0), Some(h)) = (holder0, holder)
                && h != h0
                && matches!(states[h0], NodeState::Up(_))
                && members[h].1.nopreempt.is_some()
                // keepalived clears nopreempt on an initial MASTER and on the address owner.
                && !members[h].1.is_master()
                && members[h].1.priority() != 255
            {
                holder = Some(h0);
                note = Some(format!(
                    "`{}` has nopreempt: it does not take over from a running master",
                    cluster.nodes[members[h].0].name
                ));
            }
            rows.push(Row {
                scenario: Scenario::ChecksFail(m),
                states,
                holder,
                note,
            });
        }
    }
    for m in 0..members.len() {
        let mut states = healthy.clone();
        states[m] = NodeState::Down;
        let (holder, tie) = elect(&states, &sources);
        rows.push(Row {
            scenario: Scenario::NodeDown(m),
            states,
            holder,
            note: tie.then(|| "equal priorities; the source addresses are unknown".to_owned()),
        });
    }
    Table { instance: ji, rows }
}

/// The table as text, for `haconf check --failover`.
pub fn render(cluster: &Cluster, cm: &ClusterModel) -> String {
    let mut s = String::new();
    for t in &cm.failover {
        let j = &cm.instances[t.instance];
        let names: Vec<&str> = j
            .members
            .iter()
            .map(|&(n, _)| cluster.nodes[n].name.as_str())
            .collect();
        s.push_str(&format!(
            "\nFailover: cluster `{}`, instance `{}`\n",
            cluster.name, j.name
        ));
        let scen = |sc: &Scenario| match sc {
            Scenario::Healthy => "all healthy".to_owned(),
            Scenario::ChecksFail(m) => format!("{}: checks fail", names[*m]),
            Scenario::NodeDown(m) => format!("{}: down", names[*m]),
        };
        let w0 = t
            .rows
            .iter()
            .map(|r| scen(&r.scenario).len())
            .max()
            .unwrap_or(8)
            .max(8);
        let ws: Vec<usize> = names.iter().map(|n| n.len().max(5)).collect();
        s.push_str(&format!("  {:<w0$}", "scenario"));
        for (n, w) in names.iter().zip(&ws) {
            s.push_str(&format!("  {n:>w$}"));
        }
        s.push_str("  VIP on\n");
        for r in &t.rows {
            s.push_str(&format!("  {:<w0$}", scen(&r.scenario)));
            for (st, w) in r.states.iter().zip(&ws) {
                let v = match st {
                    NodeState::Up(p) => p.to_string(),
                    NodeState::Fault => "FAULT".into(),
                    NodeState::Down => "down".into(),
                };
                s.push_str(&format!("  {v:>w$}"));
            }
            let h = r.holder.map_or("?", |h| names[h]);
            s.push_str(&format!("  {h}"));
            if let Some(n) = &r.note {
                s.push_str(&format!("  ({n})"));
            }
            s.push('\n');
        }
    }
    s
}
