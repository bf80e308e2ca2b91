//! The cluster: nodes joined. Instances are matched across nodes (by name; when names differ,
//! by overlapping VIPs, then by VRID), node addresses and the subnet are worked out, the spec
//! (`haconf.toml`) is read, and the failover model is computed once.

pub mod failover;
pub mod spec;

use crate::model::{self, Instance, NodeModel};
use crate::project::Cluster;
use crate::source::SourceDb;
use std::collections::HashMap;
use std::net::IpAddr;

/// One VRRP instance as it exists across the nodes.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The name on the first node that has it.
    pub name: String,
    /// `(node index, instance index in that node's model)`.
    pub members: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub struct ClusterModel {
    pub nodes: Vec<NodeModel>,
    pub instances: Vec<Joined>,
    pub spec: Option<spec::Spec>,
    /// Problems reading haconf.toml (reported as HA001).
    pub spec_errors: Vec<crate::diagnostic::Diagnostic>,
    pub failover: Vec<failover::Table>,
    /// Each node's address (see [`ClusterModel::node_address`]), worked out once.
    pub addresses: Vec<Option<IpAddr>>,
}

impl ClusterModel {
    pub fn instance(&self, node: usize, idx: usize) -> &Instance {
        &self.nodes[node].keepalived.instances[idx]
    }

    /// The address a node is known by: haconf.toml, else a `unicast_src_ip`/`mcast_src_ip`.
    pub fn node_address(&self, node: usize) -> Option<IpAddr> {
        self.addresses.get(node).copied().flatten()
    }

    /// The address `inst` on `node` sends adverts from: its own `unicast_src_ip` /
    /// `mcast_src_ip`, else the node's address.
    pub fn member_address(&self, node: usize, inst: &Instance) -> Option<IpAddr> {
        inst.source()
            .map(|v| v.value)
            .or_else(|| self.node_address(node))
    }

    fn compute_address(&self, cluster: &Cluster, node: usize) -> Option<IpAddr> {
        if let Some(s) = &self.spec
            && let Some(n) = s.node(&cluster.nodes[node].name)
            && let Some(a) = n.address()
        {
            return Some(a);
        }
        self.nodes[node]
            .keepalived
            .instances
            .iter()
            .find_map(|i| i.source().map(|v| v.value))
    }

    /// The members of a joined instance as (node index, instance).
    pub fn members<'a>(
        &'a self,
        j: &'a Joined,
    ) -> impl Iterator<Item = (usize, &'a Instance)> + 'a {
        j.members.iter().map(|&(n, i)| (n, self.instance(n, i)))
    }
}

/// Matches the instances of all nodes.
pub fn join(nodes: &[NodeModel]) -> Vec<Joined> {
    let mut groups: Vec<Joined> = Vec::new();
    // Indexes keep joining linear for files with thousands of instances.
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_vip: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_vrid: HashMap<u8, Vec<usize>> = HashMap::new();
    let placed = |g: &Joined, n: usize| g.members.iter().any(|m| m.0 == n);
    for (n, node) in nodes.iter().enumerate() {
        for (i, inst) in node.keepalived.instances.iter().enumerate() {
            let vips = inst.vip_set();
            let free = |gs: Option<&Vec<usize>>| {
                gs.and_then(|v| v.iter().copied().find(|&g| !placed(&groups[g], n)))
            };
            // Shared VIPs identify an instance best (active-active pairs often swap names);
            // then the name; then the VRID.
            let pick = vips
                .iter()
                .find_map(|v| free(by_vip.get(v)))
                .or_else(|| free(by_name.get(&inst.name.value)))
                .or_else(|| {
                    let vrid = inst.vrid.as_ref()?.value;
                    by_vrid.get(&vrid)?.iter().copied().find(|&g| {
                        !placed(&groups[g], n)
                            && groups[g].members.iter().all(|&(gn, gi)| {
                                let o = &nodes[gn].keepalived.instances[gi];
                                o.vips.is_empty() == inst.vips.is_empty()
                            })
                            && !by_name
                                .get(&inst.name.value)
                                .is_some_and(|v| v.iter().any(|&x| !placed(&groups[x], n)))
                    })
                });
            let g = match pick {
                Some(g) => {
                    groups[g].members.push((n, i));
                    g
                }
                None => {
                    groups.push(Joined {
                        name: inst.name.value.clone(),
                        members: vec![(n, i)],
                    });
                    let g = groups.len() - 1;
                    by_name.entry(inst.name.value.clone()).or_default().push(g);
                    g
                }
            };
            for v in vips {
                let e = by_vip.entry(v).or_default();
                if !e.contains(&g) {
                    e.push(g);
                }
            }
            if let Some(v) = &inst.vrid {
                let e = by_vrid.entry(v.value).or_default();
                if !e.contains(&g) {
                    e.push(g);
                }
            }
        }
    }
    groups
}

/// Builds the model of a cluster.
pub fn build(db: &SourceDb, cluster: &Cluster) -> ClusterModel {
    let nodes: Vec<NodeModel> = cluster.nodes.iter().map(model::node_model).collect();
    let instances = join(&nodes);
    let (spec, spec_errors) = match cluster.spec_file {
        Some(f) => spec::parse(db, f),
        None => (None, Vec::new()),
    };
    let mut m = ClusterModel {
        nodes,
        instances,
        spec,
        spec_errors,
        failover: Vec::new(),
        addresses: Vec::new(),
    };
    m.addresses = (0..cluster.nodes.len())
        .map(|n| m.compute_address(cluster, n))
        .collect();
    m.failover = failover::compute(db, cluster, &m);
    m
}
