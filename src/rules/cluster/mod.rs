//! Rules across the nodes of one cluster, or across the clusters of a fleet (codes CL…).

pub mod advert_params_mismatch;
pub mod auth_mismatch;
pub mod failover_impossible;
pub mod health_check_drift;
pub mod keepalived_option_drift;
pub mod master_not_highest_priority;
pub mod multiple_masters;
pub mod nginx_config_drift;
pub mod priority_tie;
pub mod router_id_duplicate;
pub mod spec_mismatch;
pub mod split_brain_risk_multicast;
pub mod sync_group_mismatch;
pub mod unicast_peer_is_self;
pub mod unicast_peers_asymmetric;
pub mod vip_collides_with_address;
pub mod vip_holder_unexpected;
pub mod vip_mismatch;
pub mod vip_outside_subnet;
pub mod vrid_collision_across_clusters;
pub mod vrid_mismatch;

use crate::cluster::Joined;
use crate::model::Instance;
use crate::rules::ClusterCtx;

/// The value most members share, when one value is held by more members than any other.
pub fn majority<T: PartialEq + Clone>(values: &[T]) -> Option<T> {
    let mut counts: Vec<(T, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(x, _)| x == v) {
            Some(c) => c.1 += 1,
            None => counts.push((v.clone(), 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    match counts.as_slice() {
        [(v, a), (_, b), ..] if a > b => Some(v.clone()),
        [(v, _)] => Some(v.clone()),
        _ => None,
    }
}

/// Joined instances present on at least two nodes, with their members.
pub fn shared<'a>(
    cx: &'a ClusterCtx,
) -> impl Iterator<Item = (&'a Joined, Vec<(usize, &'a Instance)>)> + 'a {
    cx.cm
        .instances
        .iter()
        .filter(|j| j.members.len() >= 2)
        .map(|j| (j, cx.cm.members(j).collect()))
}

/// The value to align on: the spec's, else the majority's, else the highest-priority node's;
/// and which of the three it was.
pub fn target<T: PartialEq + Clone>(
    spec: Option<T>,
    values: &[T],
    by_priority: Option<T>,
) -> Option<(T, &'static str)> {
    if let Some(s) = spec {
        return Some((s, "haconf.toml"));
    }
    if let Some(m) = majority(values) {
        return Some((m, "the majority of the nodes"));
    }
    by_priority.map(|p| (p, "the node with the highest priority"))
}

/// The member with the highest configured priority.
pub fn top<'a>(members: &[(usize, &'a Instance)]) -> Option<(usize, &'a Instance)> {
    members.iter().copied().max_by_key(|(_, i)| i.priority())
}

pub fn node_name<'a>(cx: &'a ClusterCtx, n: usize) -> &'a str {
    &cx.cluster.nodes[n].name
}
