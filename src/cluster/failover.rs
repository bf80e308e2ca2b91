//! The failover model: for each instance and each failure scenario, every node's effective
//! priority and the node that ends up holding the VIP — what `check --failover` prints, what
//! CL013 reads, and what `haconf lab` checks against real keepalived.
//!
//! It follows the VRRP state machine of RFC 5798 (§6.4) as keepalived 2.2.7 implements it
//! (`keepalived/vrrp/vrrp.c`, `vrrp_scheduler.c`), not a "highest priority wins" reading:
//!
//! - A backup that receives an advert of priority **greater than or equal to** its own resets
//!   its master-down timer and stays backup (RFC 5798 §6.4.2; keepalived `vrrp_state_backup`).
//!   So a failed master brought exactly level with a healthy backup keeps the VIP: the
//!   address tie-break exists only between two masters (§6.4.3, `vrrp_state_master_rx`).
//! - A backup that may preempt ignores adverts of lower priority ("received lower priority
//!   advert - discarding" in 2.2.7): its master-down timer, `3 × advert_int + skew`, runs out
//!   and it takes over. With `nopreempt`, or while `preempt_delay` runs, it resets the timer
//!   on any advert and stays backup.
//! - A master that stops cleanly, or goes to FAULT, sends priority 0 (`vrrp_restore_interface`,
//!   `vrrp_state_leave_master`): backups take over after their skew time alone (§6.4.2).
//! - A tracked script, process or interface with weight 0 puts the instance in FAULT while it
//!   fails; a weight moves the priority (`+w` while OK for w > 0, `+w` while failing for
//!   w < 0, mirrored by `reverse`), clamped to 1..254 (`vrrp_track.c`). A weight on the
//!   `track_script` line overrides the script's.
//! - Priority 255 (the address owner) never moves; weighted trackers on it, or on a member of
//!   a sync group without `sync_group_tracking_weight`, are dropped — except tracked
//!   interfaces of a sync-group member, whose weight becomes 0 (FAULT) (`vrrp_complete_instance`).
//! - A sync group moves together: one member in FAULT takes every member on that node to
//!   FAULT (`vrrp_sync.c`).
//! - keepalived clears `nopreempt` and `preempt_delay` on an instance that starts as `state
//!   MASTER`, and `nopreempt` at priority 255. An initial MASTER becomes master after one
//!   advert interval; an initial BACKUP after the full master-down interval
//!   (`vrrp_init_state`).

use super::{ClusterModel, Joined};
use crate::model::{Instance, NodeModel};
use crate::project::Cluster;
use crate::source::SourceDb;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Running, with this effective priority.
    Up(u8),
    /// keepalived puts the instance in FAULT (an unweighted tracker failed).
    Fault,
    /// The node, or its keepalived, is down.
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scenario {
    Healthy,
    ChecksFail(usize),
    NodeDown(usize),
}

/// Who holds the VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// This member, alone.
    One(usize),
    /// Nobody (every node down or in FAULT).
    Nobody,
    /// One of these members, decided by a race the configs do not settle (start order).
    Either(Vec<usize>),
    /// All of these at once: split brain (they cannot hear each other).
    Split(Vec<usize>),
    /// One of each set at once: split brain between groups that cannot hear each other, each
    /// electing one of its own by timing.
    Parts(Vec<Vec<usize>>),
}

impl Holder {
    /// The single holder, when there is exactly one.
    pub fn one(&self) -> Option<usize> {
        match self {
            Holder::One(m) => Some(*m),
            _ => None,
        }
    }
    /// Whether `observed` (the members holding the VIP) is what this predicts.
    pub(crate) fn admits(&self, observed: &[usize]) -> bool {
        match self {
            Holder::One(m) => observed == [*m],
            Holder::Nobody => observed.is_empty(),
            Holder::Either(v) => observed.len() == 1 && v.contains(&observed[0]),
            Holder::Split(v) => {
                let mut o = observed.to_vec();
                o.sort_unstable();
                let mut w = v.clone();
                w.sort_unstable();
                o == w
            }
            Holder::Parts(ps) => {
                observed.len() == ps.len()
                    && ps
                        .iter()
                        .all(|p| observed.iter().filter(|o| p.contains(o)).count() == 1)
            }
        }
    }
    fn of_set(mut v: Vec<usize>, split: bool) -> Holder {
        v.sort_unstable();
        v.dedup();
        match v.len() {
            0 => Holder::Nobody,
            1 => Holder::One(v[0]),
            _ if split => Holder::Split(v),
            _ => Holder::Either(v),
        }
    }
    /// Every member that may hold the VIP.
    pub fn members(&self) -> Vec<usize> {
        match self {
            Holder::One(m) => vec![*m],
            Holder::Nobody => Vec::new(),
            Holder::Either(v) | Holder::Split(v) => v.clone(),
            Holder::Parts(ps) => ps.concat(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: Scenario,
    /// Per member (in `Joined::members` order).
    pub states: Vec<NodeState>,
    pub holder: Holder,
    /// Why the holder is who it is, when that is not simply the highest priority.
    pub note: Option<String>,
    /// For `ChecksFail`: the failing node's every tracked check is a script that can never
    /// fail (HC001), so this row describes something that cannot happen.
    pub cannot_happen: bool,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// Index into `ClusterModel::instances`.
    pub instance: usize,
    pub rows: Vec<Row>,
}

/// What VRRP needs to know about one member of an instance, as keepalived will run it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// `state MASTER` (or the address owner): it becomes master after one advert interval.
    pub initial_master: bool,
    /// After keepalived clears it for an initial MASTER or priority 255.
    pub nopreempt: bool,
    /// Seconds, after keepalived clears it for an initial MASTER or nopreempt.
    pub preempt_delay: f64,
    pub advert_int: f64,
    pub version: u8,
    pub down_adverts: u32,
}

impl Member {
    pub(crate) fn of(cm: &ClusterModel, node: usize, inst: &Instance) -> Member {
        let ka = &cm.nodes[node].keepalived;
        let owner = inst.priority() == 255;
        let initial_master = inst.is_master() || owner;
        let nopreempt = inst.nopreempt.is_some() && !inst.is_master() && !owner;
        let preempt_delay = if inst.is_master() || nopreempt {
            0.0
        } else {
            inst.preempt_delay_secs.unwrap_or(0.0)
        };
        Member {
            initial_master,
            nopreempt,
            preempt_delay,
            advert_int: inst.advert_int(),
            version: inst.version(&ka.global),
            down_adverts: inst
                .down_timer_adverts
                .as_ref()
                .map(|v| v.value)
                .or(ka.global.vrrp_down_timer_adverts.as_ref().map(|v| v.value))
                .unwrap_or(3),
        }
    }

    /// keepalived's skew time at `prio`: `(256 - prio) / 256` s for VRRPv2, scaled by the
    /// advert interval for VRRPv3 (`VRRP_TIMER_SKEW` in vrrp.h).
    pub(crate) fn skew(&self, prio: u8) -> f64 {
        let f = f64::from(256 - u32::from(prio)) / 256.0;
        if self.version == 3 {
            f * self.advert_int
        } else {
            f
        }
    }

    /// The master-down interval: `down_timer_adverts × advert_int + skew` (RFC 5798 §6.1).
    pub(crate) fn master_down(&self, prio: u8) -> f64 {
        f64::from(self.down_adverts) * self.advert_int + self.skew(prio)
    }
}

/// The kinds of tracker, for saying which ones fail in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Track<'a> {
    Script(&'a str),
    Process(&'a str),
    Interface(&'a str),
}

/// Effective state of `inst` on `node` while the trackers for which `fails` says true fail
/// (before sync groups are applied: see [`node_states`]).
pub(crate) fn effective(
    node: &NodeModel,
    inst: &Instance,
    fails: &dyn Fn(Track) -> bool,
) -> NodeState {
    let base = inst.priority();
    let ka = &node.keepalived;
    let in_sync = ka
        .sync_group_of(&inst.name.value)
        .is_some_and(|g| !g.tracking_weight);
    // keepalived drops weighted trackers of the address owner and of sync-group members.
    let drops = base == 255 || in_sync;
    let mut sum: i64 = 0;
    let mut fault = false;
    let mut apply = |w: i64, reverse: bool, failing: bool, weight_to_fault: bool| {
        let failing = failing != reverse;
        if w == 0 || (weight_to_fault && in_sync) {
            fault |= failing;
            return;
        }
        if drops {
            return;
        }
        // `reverse` turns "failing" into "ok" above; the sign says when the weight counts.
        if (w > 0) != failing {
            sum += w;
        }
    };
    for t in &inst.track_scripts {
        let Some(script) = ka.script(&t.name) else {
            continue;
        };
        let w = t.weight.unwrap_or_else(|| script.weight());
        let reverse = t.reverse.unwrap_or(script.reverse);
        apply(w, reverse, fails(Track::Script(&t.name)), false);
    }
    // The object's own weight is not in the model (it defaults to 0): the track line's.
    for t in &inst.track_processes {
        let w = t.weight.unwrap_or(0);
        apply(
            w,
            t.reverse.unwrap_or(false),
            fails(Track::Process(&t.name)),
            false,
        );
    }
    for t in &inst.track_interfaces {
        let w = t.weight.unwrap_or(0);
        apply(
            w,
            t.reverse.unwrap_or(false),
            fails(Track::Interface(&t.name)),
            true,
        );
    }
    // The instance's own interface going down is always a FAULT.
    if let Some(i) = &inst.interface
        && fails(Track::Interface(&i.value))
    {
        fault = true;
    }
    if fault {
        return NodeState::Fault;
    }
    if base == 255 {
        return NodeState::Up(255);
    }
    NodeState::Up((i64::from(base) + sum).clamp(1, 254) as u8)
}

/// The state of every instance of a node (indexed like `keepalived.instances`), with sync
/// groups applied: one member in FAULT takes the whole group there.
pub(crate) fn node_states(node: &NodeModel, fails: &dyn Fn(Track) -> bool) -> Vec<NodeState> {
    let ka = &node.keepalived;
    let mut st: Vec<NodeState> = ka
        .instances
        .iter()
        .map(|i| effective(node, i, fails))
        .collect();
    for g in &ka.sync_groups {
        let idx: Vec<usize> = g
            .members
            .iter()
            .filter_map(|m| ka.instances.iter().position(|i| i.name.value == m.value))
            .collect();
        if idx.iter().any(|&i| st[i] == NodeState::Fault) {
            for i in idx {
                st[i] = NodeState::Fault;
            }
        }
    }
    st
}

fn prio(s: NodeState) -> Option<u8> {
    match s {
        NodeState::Up(p) => Some(p),
        _ => None,
    }
}

/// Among `cands`, whose master-down timers run out, the ones that may end master: the
/// highest priority (its skew is the shortest). Between equal priorities the first timer to
/// run out wins — the backup that heard the master's last advert first (with unicast, the
/// first in its `unicast_peer` list), or the first started — and its advert of equal priority
/// keeps the other a backup (§6.4.2); the higher address decides only between two masters
/// that hear each other (§6.4.3), which a race rarely leaves. So a tie is "either".
fn best_of_masters(st: &[NodeState], cands: &[usize]) -> Option<Vec<usize>> {
    let top = cands.iter().filter_map(|&m| prio(st[m])).max()?;
    Some(
        cands
            .iter()
            .copied()
            .filter(|&m| prio(st[m]) == Some(top))
            .collect(),
    )
}

/// Who holds the VIP once things settle, given who held it before (`incumbent`, if it is
/// still up), among members that hear each other.
pub(crate) fn settle(
    ms: &[Member],
    st: &[NodeState],
    incumbent: Option<usize>,
) -> (Holder, Option<String>) {
    let up: Vec<usize> = (0..st.len()).filter(|&m| prio(st[m]).is_some()).collect();
    if up.is_empty() {
        return (Holder::Nobody, None);
    }
    if let Some(h) = incumbent
        && let Some(ph) = prio(st[h])
    {
        // Backups that may preempt take over when the master's priority is below theirs;
        // the one with the shortest master-down timer (the highest priority) goes first.
        let challengers: Vec<usize> = up
            .iter()
            .copied()
            .filter(|&m| m != h && !ms[m].nopreempt && prio(st[m]).is_some_and(|p| p > ph))
            .collect();
        if challengers.is_empty() {
            let note = up
                .iter()
                .find(|&&m| m != h && prio(st[m]).is_some_and(|p| p > ph) && ms[m].nopreempt)
                .map(|_| "a backup with higher priority has nopreempt: it does not take over from a running master".to_owned())
                .or_else(|| {
                    up.iter()
                        .any(|&m| m != h && prio(st[m]) == Some(ph))
                        .then(|| "equal priority: an advert of equal priority keeps a backup a backup (RFC 5798 §6.4.2)".to_owned())
                });
            return (Holder::One(h), note);
        }
        return match best_of_masters(st, &challengers) {
            Some(v) if v.len() == 1 => (Holder::One(v[0]), None),
            Some(v) => (
                Holder::Either(v),
                Some(
                    "equal priorities: the first backup whose timer runs out becomes master"
                        .to_owned(),
                ),
            ),
            None => (Holder::Nobody, None),
        };
    }
    // Nobody is master: every backup's timer runs out, the highest priority first; equal
    // ones expire together and the higher address wins between the two masters.
    match best_of_masters(st, &up) {
        Some(v) if v.len() == 1 => (Holder::One(v[0]), None),
        Some(v) => (
            Holder::Either(v),
            Some("equal priorities; the source addresses are unknown".to_owned()),
        ),
        None => (Holder::Nobody, None),
    }
}

/// [`settle`] from each possible previous holder.
pub(crate) fn settle_from(
    ms: &[Member],
    st: &[NodeState],
    before: &Holder,
) -> (Holder, Option<String>) {
    let starts: Vec<Option<usize>> = match before {
        Holder::One(m) => vec![Some(*m)],
        Holder::Nobody => vec![None],
        Holder::Either(v) | Holder::Split(v) => v.iter().map(|&m| Some(m)).collect(),
        Holder::Parts(ps) => ps.concat().into_iter().map(Some).collect(),
    };
    let mut outs = Vec::new();
    let mut note = None;
    for s in starts {
        let (h, n) = settle(ms, st, s);
        note = note.or(n);
        outs.extend(h.members());
    }
    let h = Holder::of_set(outs, false);
    (h, note)
}

/// Who holds the VIP after all nodes start together (the converged start).
pub(crate) fn converge(ms: &[Member], st: &[NodeState]) -> (Holder, Option<String>) {
    let up: Vec<usize> = (0..st.len()).filter(|&m| prio(st[m]).is_some()).collect();
    if up.is_empty() {
        return (Holder::Nobody, None);
    }
    // Initial MASTERs time out after one advert interval, far ahead of any BACKUP; between
    // them, §6.4.3 decides. Without one, any backup may be first (start order).
    let first_masters: Vec<usize> = up
        .iter()
        .copied()
        .filter(|&m| ms[m].initial_master)
        .collect();
    let firsts: Vec<usize> = if first_masters.is_empty() {
        up.clone()
    } else {
        best_of_masters(st, &first_masters).unwrap_or(first_masters)
    };
    let mut outs = Vec::new();
    let mut note = None;
    for f in firsts {
        let (h, n) = settle(ms, st, Some(f));
        note = note.or(n);
        outs.extend(h.members());
    }
    let h = Holder::of_set(outs, false);
    if matches!(h, Holder::Either(_)) {
        note = Some(
            "who becomes master first depends on start order (nopreempt or equal priorities)"
                .to_owned(),
        );
    }
    (h, note)
}

/// [`settle_from`] where members in different `parts` cannot hear each other: each part
/// elects its own master, and more than one is split brain.
pub(crate) fn settle_parts(
    ms: &[Member],
    st: &[NodeState],
    before: &Holder,
    parts: &[Vec<usize>],
) -> Holder {
    let mut sets: Vec<Vec<usize>> = Vec::new();
    for part in parts {
        let sub_ms: Vec<Member> = part.iter().map(|&m| ms[m].clone()).collect();
        let sub_st: Vec<NodeState> = part.iter().map(|&m| st[m]).collect();
        let local: Vec<usize> = before
            .members()
            .iter()
            .filter_map(|m| part.iter().position(|x| x == m))
            .collect();
        let sub_before = Holder::of_set(local, false);
        let (h, _) = settle_from(&sub_ms, &sub_st, &sub_before);
        let v: Vec<usize> = h.members().iter().map(|&i| part[i]).collect();
        if !v.is_empty() {
            sets.push(v);
        }
    }
    match sets.len() {
        0 => Holder::Nobody,
        1 => Holder::of_set(sets.remove(0), false),
        _ if sets.iter().all(|s| s.len() == 1) => Holder::of_set(sets.concat(), true),
        _ => Holder::Parts(sets),
    }
}

pub fn compute(db: &SourceDb, cluster: &Cluster, cm: &ClusterModel) -> Vec<Table> {
    let mut out = Vec::new();
    for (ji, j) in cm.instances.iter().enumerate() {
        if j.members.len() < 2 {
            continue;
        }
        out.push(table(db, cluster, cm, ji, j));
    }
    out
}

/// Whether every check `inst` tracks on `node` is a script that can never fail (HC001).
fn checks_never_fail(
    db: &SourceDb,
    cluster: &Cluster,
    cm: &ClusterModel,
    node: usize,
    inst: &Instance,
) -> bool {
    if inst.track_scripts.is_empty() || !inst.track_processes.is_empty() {
        return false;
    }
    let model = &cm.nodes[node];
    let targets = crate::rules::script::targets(db, &cluster.nodes[node], model);
    inst.track_scripts.iter().all(|t| {
        let Some(si) = model
            .keepalived
            .scripts
            .iter()
            .rposition(|s| s.name.value == t.name)
        else {
            return false;
        };
        targets.iter().any(|tg| {
            tg.scripts.contains(&si)
                && tg.analysis().is_some_and(|a| {
                    !a.can_fail()
                        && !a.ends.is_empty()
                        && a.ends.iter().all(|e| e.elapsed.is_finite())
                })
        })
    })
}

fn table(db: &SourceDb, cluster: &Cluster, cm: &ClusterModel, ji: usize, j: &Joined) -> Table {
    let insts: Vec<(usize, &Instance)> = cm.members(j).collect();
    let ms: Vec<Member> = insts.iter().map(|(n, i)| Member::of(cm, *n, i)).collect();
    let state_of = |m: usize, fails: &dyn Fn(Track) -> bool| {
        let (n, idx) = j.members[m];
        node_states(&cm.nodes[n], fails)[idx]
    };
    let healthy: Vec<NodeState> = (0..ms.len()).map(|m| state_of(m, &|_| false)).collect();
    let (holder0, note0) = converge(&ms, &healthy);
    let mut rows = vec![Row {
        scenario: Scenario::Healthy,
        states: healthy.clone(),
        holder: holder0.clone(),
        note: note0,
        cannot_happen: false,
    }];
    for (m, (n, inst)) in insts.iter().enumerate() {
        // track_file trackers follow a value, not pass/fail: they are not modelled.
        if inst.track_scripts.is_empty() && inst.track_processes.is_empty() {
            continue;
        }
        let mut states = healthy.clone();
        states[m] = state_of(m, &|t| matches!(t, Track::Script(_) | Track::Process(_)));
        let (holder, note) = settle_from(&ms, &states, &holder0);
        rows.push(Row {
            scenario: Scenario::ChecksFail(m),
            states,
            holder,
            note,
            cannot_happen: checks_never_fail(db, cluster, cm, *n, inst),
        });
    }
    for m in 0..ms.len() {
        let mut states = healthy.clone();
        states[m] = NodeState::Down;
        let (holder, note) = settle_from(&ms, &states, &holder0);
        rows.push(Row {
            scenario: Scenario::NodeDown(m),
            states,
            holder,
            note,
            cannot_happen: false,
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
            let h = match &r.holder {
                Holder::One(h) => names[*h].to_owned(),
                Holder::Nobody => "nobody".to_owned(),
                Holder::Either(v) => {
                    let v: Vec<&str> = v.iter().map(|&m| names[m]).collect();
                    format!("{} (either)", v.join(" or "))
                }
                Holder::Split(v) => {
                    let v: Vec<&str> = v.iter().map(|&m| names[m]).collect();
                    format!("{} (split brain)", v.join(" and "))
                }
                Holder::Parts(ps) => {
                    let v: Vec<String> = ps
                        .iter()
                        .map(|p| p.iter().map(|&m| names[m]).collect::<Vec<_>>().join(" or "))
                        .collect();
                    format!("{} (split brain)", v.join(", and "))
                }
            };
            s.push_str(&format!("  {h}"));
            let mut notes: Vec<String> = Vec::new();
            if let Some(n) = &r.note {
                notes.push(n.clone());
            }
            if r.cannot_happen {
                notes.push("cannot happen: the check can never fail (HC001)".to_owned());
            }
            if !notes.is_empty() {
                s.push_str(&format!("  ({})", notes.join("; ")));
            }
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(initial_master: bool, nopreempt: bool, _src: u8) -> Member {
        Member {
            initial_master,
            nopreempt,
            preempt_delay: 0.0,
            advert_int: 1.0,
            version: 2,
            down_adverts: 3,
        }
    }

    #[test]
    fn a_level_failed_master_keeps_the_vip() {
        let ms = [m(true, false, 1), m(false, false, 2)];
        let (h, note) = settle(&ms, &[NodeState::Up(100), NodeState::Up(100)], Some(0));
        assert_eq!(h, Holder::One(0));
        assert!(note.unwrap().contains("equal priority"));
        // One below: the backup preempts.
        let (h, _) = settle(&ms, &[NodeState::Up(99), NodeState::Up(100)], Some(0));
        assert_eq!(h, Holder::One(1));
    }

    #[test]
    fn nopreempt_backups_wait_and_fault_hands_over() {
        let ms = [m(false, true, 1), m(false, true, 2)];
        let (h, _) = settle(&ms, &[NodeState::Up(90), NodeState::Up(100)], Some(0));
        assert_eq!(h, Holder::One(0));
        let (h, _) = settle(&ms, &[NodeState::Fault, NodeState::Up(100)], Some(0));
        assert_eq!(h, Holder::One(1));
        // Both BACKUP with nopreempt: the first to start keeps it.
        let (h, _) = converge(&ms, &[NodeState::Up(90), NodeState::Up(100)]);
        assert_eq!(h, Holder::Either(vec![0, 1]));
    }

    #[test]
    fn an_initial_master_wins_a_tie_at_start_and_split_parts_each_elect() {
        let ms = [m(true, false, 1), m(false, false, 2)];
        let (h, _) = converge(&ms, &[NodeState::Up(100), NodeState::Up(100)]);
        assert_eq!(h, Holder::One(0));
        let st = [NodeState::Up(100), NodeState::Up(100)];
        let h = settle_parts(&ms, &st, &Holder::One(0), &[vec![0], vec![1]]);
        assert_eq!(h, Holder::Split(vec![0, 1]));
        assert!(h.admits(&[1, 0]));
    }

    #[test]
    fn skew_follows_the_version() {
        let mut a = m(false, false, 1);
        a.advert_int = 2.0;
        assert!((a.master_down(100) - (6.0 + 156.0 / 256.0)).abs() < 1e-9);
        a.version = 3;
        assert!((a.master_down(100) - (6.0 + 2.0 * 156.0 / 256.0)).abs() < 1e-9);
    }
}
