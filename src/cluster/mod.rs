//! The cluster: nodes joined. Instances are matched across nodes (by name; when names differ,
//! by overlapping VIPs, then by VRID), node addresses and the subnet are worked out, the spec
//! (`haconf.toml`) is read, and the failover model is computed once.

pub mod failover;
pub mod spec;

use crate::model::{self, Instance, NodeModel};
use crate::project::Cluster;
use crate::source::SourceDb;
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
}

impl ClusterModel {
    pub fn instance(&self, node: usize, idx: usize) -> &Instance {
        &self.nodes[node].keepalived.instances[idx]
    }

    /// The address a node is known by: haconf.toml, else a `unicast_src_ip`/`mcast_src_ip`.
    pub fn node_address(&self, cluster: &Cluster, node: usize) -> Option<IpAddr> {
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
    let placed = |g: &Joined, n: usize| g.members.iter().any(|m| m.0 == n);
    for (n, node) in nodes.iter().enumerate() {
        for (i, inst) in node.keepalived.instances.iter().enumerate() {
            let vips = inst.vip_set();
            let pick = groups
                .iter()
                .position(|g| !placed(g, n) && g.name == inst.name.value)
                .or_else(|| {
                    groups.iter().position(|g| {
                        !placed(g, n)
                            && !vips.is_empty()
                            && g.members.iter().any(|&(gn, gi)| {
                                let other = nodes[gn].keepalived.instances[gi].vip_set();
                                other.iter().any(|v| vips.contains(v))
                            })
                    })
                })
                .or_else(|| {
                    groups.iter().position(|g| {
                        !placed(g, n)
                            && inst.vrid.is_some()
                            && g.members.iter().all(|&(gn, gi)| {
                                let o = &nodes[gn].keepalived.instances[gi];
                                o.vrid.as_ref().map(|v| v.value)
                                    == inst.vrid.as_ref().map(|v| v.value)
                                    && o.vips.is_empty() == inst.vips.is_empty()
                            })
                            && !groups.iter().any(|other| {
                                // Not if another group matches by name on a later node.
                                other.name == inst.name.value && !placed(other, n)
                            })
                    })
                });
            match pick {
                Some(g) => groups[g].members.push((n, i)),
                None => groups.push(Joined {
                    name: inst.name.value.clone(),
                    members: vec![(n, i)],
                }),
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
    };
    m.failover = failover::compute(cluster, &m);
    m
}
