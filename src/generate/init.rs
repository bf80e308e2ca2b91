//! `haconf init`: the haconf.toml that describes an existing cluster — the inverse of
//! `generate`. What the spec cannot express is listed, in the file and on stderr.

use crate::cluster::ClusterModel;
use crate::project::{Cluster, Project};
use crate::rules::script;
use crate::shell::analysis::{ProbeKind, Role};
use crate::vocab::nginx::Context;
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Inferred {
    pub toml: String,
    /// What the spec could not express.
    pub notes: Vec<String>,
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn most_common(v: &[String]) -> Option<String> {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for x in v {
        *counts.entry(x).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(k, c)| (*c, std::cmp::Reverse(*k)))
        .map(|(k, _)| k.clone())
}

pub fn infer(project: &Project, cluster: &Cluster, cm: &ClusterModel) -> Inferred {
    let db = &project.db;
    let mut notes: Vec<String> = Vec::new();
    let mut t = String::new();
    let joined: Vec<_> = cm
        .instances
        .iter()
        .filter(|j| !j.members.is_empty())
        .collect();
    // [cluster]
    let ifaces: Vec<String> = joined
        .iter()
        .flat_map(|j| cm.members(j))
        .filter_map(|(_, i)| i.interface.as_ref().map(|v| v.value.clone()))
        .collect();
    let interface = most_common(&ifaces).unwrap_or_else(|| "eth0".into());
    let unicast = joined.iter().filter(|j| j.members.len() >= 2).all(|j| {
        cm.members(j)
            .all(|(_, i)| !i.unicast_peers.is_empty() || i.unicast_src_ip.is_some())
    });
    let advert = joined
        .first()
        .and_then(|j| cm.members(j).next())
        .map_or(1.0, |(_, i)| i.advert_int.as_ref().map_or(1.0, |v| v.value));
    let profile = if advert < 1.0 {
        "fast"
    } else if advert >= 2.0 {
        "conservative"
    } else {
        "default"
    };
    let prof = super::profile(profile).unwrap_or(&super::PROFILES[1]);
    if (prof.advert_int - advert).abs() > f64::EPSILON {
        notes.push(format!(
            "advert_int {advert}: the nearest failover profile, `{profile}`, uses {}",
            prof.advert_int
        ));
    }
    // A directory name may hold what a spec name cannot (spaces, quotes, ...).
    let name = if crate::cluster::spec::is_name(&cluster.name) {
        cluster.name.clone()
    } else {
        let n: String = cluster
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let n = n
            .trim_start_matches(['-', '_', '.'])
            .chars()
            .take(64)
            .collect::<String>();
        let n = if n.is_empty() {
            "cluster".to_string()
        } else {
            n
        };
        notes.push(format!(
            "the directory name `{}` is not a cluster name: `{n}` is used",
            cluster.name.escape_debug()
        ));
        n
    };
    let _ = writeln!(t, "[cluster]\nname = {}", q(&name));
    let _ = writeln!(t, "interface = {}", q(&interface));
    let _ = writeln!(t, "failover = {}", q(profile));
    let _ = writeln!(
        t,
        "transport = {}",
        q(if unicast { "unicast" } else { "multicast" })
    );
    transport_notes(cluster, cm, &joined, unicast, &mut notes);
    global_notes(cluster, cm, &joined, &mut notes);
    let passes: Vec<String> = joined
        .iter()
        .flat_map(|j| cm.members(j))
        .filter_map(|(_, i)| {
            let a = i.auth.as_ref()?;
            (a.auth_type.as_ref()?.value == "PASS")
                .then(|| a.auth_pass.as_ref().map(|p| p.value.clone()))?
        })
        .collect();
    if let Some(p) = passes.first() {
        if prof.vrrp_version == 3 {
            notes.push("authentication: VRRPv3 (the `fast` profile) has none".into());
        } else {
            let p: String = p.chars().take(8).collect();
            let _ = writeln!(t, "auth_pass = {}", q(&p));
        }
    }
    // [[node]]
    for (n, node) in cluster.nodes.iter().enumerate() {
        let _ = writeln!(t, "\n[[node]]\nname = {}", q(&node.name));
        // The node's own address first (the model weighs every clue), then the advert
        // sources for the other family.
        let mut v4 = None;
        let mut v6 = None;
        if let Some(a) = cm.node_address(n) {
            if a.is_ipv4() {
                v4 = Some(a);
            } else {
                v6 = Some(a);
            }
        }
        for j in &joined {
            for (m, i) in cm.members(j) {
                if m == n
                    && let Some(a) = cm.member_address(n, i)
                {
                    if a.is_ipv4() {
                        v4.get_or_insert(a);
                    } else {
                        v6.get_or_insert(a);
                    }
                }
            }
        }
        match (v4, v6) {
            (Some(a), b) => {
                let _ = writeln!(t, "address = {}", q(&a.to_string()));
                if let Some(b) = b {
                    let _ = writeln!(t, "address6 = {}", q(&b.to_string()));
                }
            }
            (None, Some(b)) => {
                let _ = writeln!(t, "address = {}", q(&b.to_string()));
            }
            (None, None) => {
                if unicast {
                    notes.push(format!(
                        "node `{}`: its address could not be found",
                        node.name
                    ));
                }
            }
        }
        let mine: Vec<String> = joined
            .iter()
            .flat_map(|j| cm.members(j))
            .filter(|(m, _)| *m == n)
            .filter_map(|(_, i)| i.interface.as_ref().map(|v| v.value.clone()))
            .collect();
        if let Some(i) = most_common(&mine)
            && i != interface
        {
            let _ = writeln!(t, "interface = {}", q(&i));
        }
    }
    // [[instance]]
    for j in &joined {
        let members: Vec<_> = cm.members(j).collect();
        let first = members[0].1;
        let _ = writeln!(t, "\n[[instance]]\nname = {}", q(&j.name));
        if let Some(v) = &first.vrid {
            let _ = writeln!(t, "virtual_router_id = {}", v.value);
        }
        let vips = first.vip_set();
        let _ = writeln!(
            t,
            "vips = [{}]",
            vips.iter().map(|v| q(v)).collect::<Vec<_>>().join(", ")
        );
        if members.iter().any(|(_, i)| i.vip_set() != vips) {
            notes.push(format!(
                "instance `{}`: the nodes' VIPs differ; the first node's are kept",
                j.name
            ));
        }
        let prios: Vec<String> = members
            .iter()
            .map(|(n, i)| {
                format!(
                    "{} = {}",
                    bare_or_quoted(&cluster.nodes[*n].name),
                    i.priority().min(254)
                )
            })
            .collect();
        let _ = writeln!(t, "priority = {{ {} }}", prios.join(", "));
        let mut ps: Vec<u8> = members.iter().map(|(_, i)| i.priority()).collect();
        ps.sort();
        if ps.windows(2).any(|w| w[0] == w[1]) {
            notes.push(format!(
                "instance `{}`: two nodes share a priority (CL004); generate refuses until they differ",
                j.name
            ));
        }
        if members.len() < cluster.nodes.len() {
            notes.push(format!(
                "instance `{}` runs on {} of {} nodes; generate puts it on every node",
                j.name,
                members.len(),
                cluster.nodes.len()
            ));
        }
    }
    // [health_check], from the first tracked script.
    let tracked = joined.iter().find_map(|j| {
        cm.members(j)
            .find_map(|(n, i)| i.track_scripts.first().map(|tr| (n, tr.clone())))
    });
    if let Some((n, tr)) = tracked {
        let ka = &cm.nodes[n].keepalived;
        if let Some(s) = ka.script(&tr.name) {
            let targets = script::targets(db, &cluster.nodes[n], &cm.nodes[n]);
            let target = targets.iter().find(|x| {
                x.scripts(&cm.nodes[n])
                    .any(|y| y.name.value == s.name.value)
            });
            let analysis = target.and_then(|x| x.analysis());
            let cmds = analysis.map(|a| a.commands.clone()).unwrap_or_default();
            let service = cmds
                .iter()
                .any(|c| c.role == Role::Probe(ProbeKind::Service));
            let process = cmds
                .iter()
                .find(|c| c.role == Role::Probe(ProbeKind::Process));
            let _ = writeln!(t, "\n[health_check]");
            match (service, process) {
                (false, Some(p)) => {
                    let _ = writeln!(t, "kind = \"process\"");
                    if let Some(name) = p
                        .args()
                        .iter()
                        .rev()
                        .find(|a| !a.starts_with('-') && a.as_str() != "0")
                    {
                        let _ = writeln!(t, "process = {}", q(name));
                    }
                }
                (true, _) => {
                    let _ = writeln!(t, "kind = \"http\"");
                }
                (false, None) => {
                    let _ = writeln!(t, "kind = \"http\"");
                    notes.push(format!(
                        "health check `{}` ({}): not an HTTP or process probe haconf recognises; generate writes an HTTP check",
                        s.name.value,
                        s.script.as_ref().map_or("", |v| v.value.as_str())
                    ));
                }
            }
            if let (Some(x), Some(a)) = (target, analysis) {
                let kind = if !service && process.is_some() {
                    "process check"
                } else {
                    "HTTP check"
                };
                notes.push(check_note(
                    db,
                    x.file,
                    a,
                    &s.name.value,
                    s.script.as_ref().map_or("", |v| v.value.as_str()),
                    kind,
                    ka.tracker_weight(&tr),
                ));
            }
            let interval = s.interval().ceil().max(2.0);
            let _ = writeln!(t, "interval = {interval}");
            let timeout = s.timeout().floor();
            if timeout >= 1.0 && timeout < interval {
                let _ = writeln!(t, "timeout = {timeout}");
            }
            let _ = writeln!(t, "fall = {}\nrise = {}", s.fall(), s.rise());
            let w = ka.tracker_weight(&tr);
            let gap = joined
                .iter()
                .map(|j| {
                    let ps: Vec<i64> = cm
                        .members(j)
                        .map(|(_, i)| i64::from(i.priority()))
                        .collect();
                    ps.iter().max().unwrap_or(&0) - ps.iter().min().unwrap_or(&0)
                })
                .max()
                .unwrap_or(0);
            if w == 0 || (w < 0 && -w > gap) {
                let _ = writeln!(t, "weight = {w}");
            } else {
                notes.push(format!(
                    "health check weight {w} does not move the VIP past the priority gap {gap}; generate derives one that does"
                ));
            }
            if s.interval() != interval || s.interval().fract() != 0.0 {
                notes.push(format!(
                    "vrrp_script interval {}: whole seconds of at least 2 in the spec",
                    s.interval()
                ));
            }
        }
        let scripts: usize = cm
            .nodes
            .iter()
            .map(|m| m.keepalived.scripts.len())
            .max()
            .unwrap_or(0);
        if scripts > 1 {
            notes.push("more than one vrrp_script: the spec describes one health check".into());
        }
    } else {
        notes.push("no tracked health check: generate adds one".into());
    }
    // [nginx]
    let mut listen: Option<u16> = None;
    let mut backends: Vec<String> = Vec::new();
    if let Some(node) = cluster.nodes.first() {
        listen = cm.nodes[0].nginx.listens.iter().find_map(|l| l.port);
        for unit in &node.nginx {
            unit.walk(&mut |_, d, ctx| {
                if ctx == Context::Upstream
                    && d.name.value == "server"
                    && let Some(a) = d.args.first()
                    && !backends.contains(&a.value.to_string())
                {
                    backends.push(a.value.to_string());
                }
            });
        }
    }
    if listen.is_some() || !backends.is_empty() {
        let _ = writeln!(t, "\n[nginx]");
        if let Some(p) = listen {
            let _ = writeln!(t, "listen = {p}");
        }
        let good: Vec<&String> = backends
            .iter()
            .filter(|b| {
                b.rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            })
            .collect();
        if !good.is_empty() {
            let _ = writeln!(
                t,
                "backends = [{}]",
                good.iter().map(|b| q(b)).collect::<Vec<_>>().join(", ")
            );
        }
        if good.len() < backends.len() {
            notes.push(
                "upstream servers without a port (or sockets) are left out of backends".into(),
            );
        }
        notes.push(nginx_note(cluster));
    }
    // What else the configs say that the spec does not.
    let mut extra: Vec<&str> = Vec::new();
    for m in &cm.nodes {
        if !m.keepalived.sync_groups.is_empty() {
            extra.push("vrrp_sync_group");
        }
        if m.keepalived.instances.iter().any(|i| !i.notify.is_empty()) {
            extra.push("notify scripts");
        }
        if m.keepalived
            .instances
            .iter()
            .any(|i| !i.track_interfaces.is_empty())
        {
            extra.push("track_interface");
        }
        if m.keepalived
            .instances
            .iter()
            .any(|i| i.nopreempt.is_some() || i.preempt_delay.is_some())
        {
            extra.push("nopreempt / preempt_delay");
        }
    }
    extra.sort();
    extra.dedup();
    for e in extra {
        notes.push(e.to_string());
    }
    let mut head = format!(
        "# haconf.toml inferred by `haconf init` from the configs of `{}`.\n",
        cluster.name
    );
    if !notes.is_empty() {
        head.push_str(
            "# Where this spec, and so `haconf generate`, differs from today's configs:\n",
        );
        for n in &notes {
            let _ = writeln!(head, "# - {n}");
        }
    }
    head.push('\n');
    Inferred {
        toml: head + &t,
        notes,
    }
}

fn bare_or_quoted(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        k.to_string()
    } else {
        q(k)
    }
}

/// `a`, `b` and `c`, each in backticks.
fn names<'a>(v: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = v.into_iter().map(|n| format!("`{n}`")).collect();
    match v.len() {
        0 => String::new(),
        1 => v[0].clone(),
        n => format!("{} and {}", v[..n - 1].join(", "), v[n - 1]),
    }
}

/// How adverts travel: what the configs do today against what `transport` makes generate
/// write.
fn transport_notes(
    cluster: &Cluster,
    cm: &ClusterModel,
    joined: &[&crate::cluster::Joined],
    unicast: bool,
    notes: &mut Vec<String>,
) {
    for j in joined.iter().filter(|j| j.members.len() >= 2) {
        let node = |n: usize| cluster.nodes[n].name.as_str();
        if unicast {
            let no_peers: Vec<&str> = cm
                .members(j)
                .filter(|(_, i)| i.unicast_src_ip.is_some() && i.unicast_peers.is_empty())
                .map(|(n, _)| node(n))
                .collect();
            if !no_peers.is_empty() {
                notes.push(format!(
                    "transport = \"unicast\" keeps what the configs mean (`unicast_src_ip`), but `{}` lists no `unicast_peer` on {}, so keepalived sends multicast today (KA010); generate writes every node's peers, so the nodes will advertise to each other by unicast",
                    j.name,
                    names(no_peers)
                ));
            }
            let mcast: Vec<&str> = cm
                .members(j)
                .filter(|(_, i)| i.mcast_src_ip.is_some())
                .map(|(n, _)| node(n))
                .collect();
            if !mcast.is_empty() {
                notes.push(format!(
                    "`mcast_src_ip` of `{}` on {} is dropped: with unicast, generate writes `unicast_src_ip` only",
                    j.name,
                    names(mcast)
                ));
            }
        } else {
            let some: Vec<&str> = cm
                .members(j)
                .filter(|(_, i)| !i.unicast_peers.is_empty() || i.unicast_src_ip.is_some())
                .map(|(n, _)| node(n))
                .collect();
            if !some.is_empty() {
                notes.push(format!(
                    "transport = \"multicast\": `{}` has unicast settings on {} only; generate writes multicast on every node",
                    j.name,
                    names(some)
                ));
            }
        }
        // generate starts the node with the highest priority as MASTER, the others as BACKUP.
        let max = cm.members(j).map(|(_, i)| i.priority()).max().unwrap_or(0);
        for (n, i) in cm.members(j) {
            let want = if i.priority() == max {
                crate::model::State::Master
            } else {
                crate::model::State::Backup
            };
            if let Some(st) = &i.state
                && st.value != want
            {
                notes.push(format!(
                    "`{}` on `{}`: `state {}` becomes `state {}` (generate starts the node with the highest priority as MASTER)",
                    j.name,
                    node(n),
                    state_name(st.value),
                    state_name(want)
                ));
            }
        }
    }
}

fn state_name(s: crate::model::State) -> &'static str {
    match s {
        crate::model::State::Master => "MASTER",
        crate::model::State::Backup => "BACKUP",
    }
}

/// global_defs: generate names each router after its node and runs scripts with script
/// security.
fn global_notes(
    cluster: &Cluster,
    cm: &ClusterModel,
    joined: &[&crate::cluster::Joined],
    notes: &mut Vec<String>,
) {
    let mut renamed: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (n, m) in cm.nodes.iter().enumerate() {
        let Some(node) = cluster.nodes.get(n) else {
            continue;
        };
        if let Some(r) = &m.keepalived.global.router_id
            && r.value != node.name
        {
            renamed
                .entry(r.value.clone())
                .or_default()
                .push(node.name.as_str());
        }
    }
    for (id, on) in renamed {
        notes.push(format!(
            "router_id `{id}` on {} becomes each node's name",
            names(on)
        ));
    }
    let tracked = joined
        .iter()
        .flat_map(|j| cm.members(j))
        .any(|(_, i)| !i.track_scripts.is_empty());
    let without: Vec<&str> = cm
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, m)| m.keepalived.global.enable_script_security.is_none())
        .filter_map(|(n, _)| cluster.nodes.get(n).map(|x| x.name.as_str()))
        .collect();
    if tracked && !without.is_empty() {
        notes.push(format!(
            "generate adds `enable_script_security` and `script_user root`, which {} lack: keepalived then refuses a script that is not owned by root or that others can write (KA015)",
            names(without)
        ));
    }
}

/// What the generated check does instead of today's script.
fn check_note(
    db: &crate::source::SourceDb,
    file: crate::source::FileId,
    a: &crate::shell::analysis::Analysis,
    name: &str,
    path: &str,
    kind: &str,
    weight: i64,
) -> String {
    use crate::shell::analysis::Action;
    let text = |c: &crate::shell::analysis::Command| {
        let t = db
            .get(file)
            .slice(c.span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if t.chars().count() > 60 {
            format!("{}…", t.chars().take(60).collect::<String>())
        } else {
            t
        }
    };
    let mut dropped: Vec<String> = Vec::new();
    for c in &a.commands {
        let why = match &c.role {
            Role::Action(Action::StopKeepalived) => "stops keepalived",
            Role::Action(Action::Service(_)) => "repairs a service",
            Role::Action(Action::Write(_)) => "writes a file",
            _ if c.name == "sleep" => "waits",
            _ => continue,
        };
        dropped.push(format!("`{}` ({why})", text(c)));
    }
    let mut s = format!(
        "health check `{name}` (`{path}`): generate writes its own {kind} instead of this script, whose logic is not kept"
    );
    if !dropped.is_empty() {
        s.push_str(&format!("; dropped: {}", dropped.join(", ")));
    }
    if !a.can_fail() {
        s.push_str(&format!(
            "; today the check can never fail (HC001), so a failed nginx moves no VIP: the generated check fails{}",
            if weight != 0 {
                format!(", and `weight {weight}` then applies")
            } else {
                " and puts the node in FAULT".to_string()
            }
        ));
    }
    s
}

/// nginx: generate writes the template's nginx.conf with the spec's port and backends. The
/// first node's settings that the default template does not write are listed.
fn nginx_note(cluster: &Cluster) -> String {
    const TEMPLATE: &str = include_str!("../../templates/nginx.conf.tera");
    let template: String = TEMPLATE.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut dropped: Vec<String> = Vec::new();
    if let Some(node) = cluster.nodes.first() {
        for unit in &node.nginx {
            unit.walk(&mut |_, d, ctx| {
                let name = d.name.value.as_str();
                if d.block().is_some()
                    || name == "listen"
                    || (ctx == Context::Upstream && name == "server")
                {
                    return;
                }
                let args: Vec<&str> = d.args.iter().map(|a| a.value.as_str()).collect();
                let stmt = if args.is_empty() {
                    name.to_string()
                } else {
                    format!("{name} {}", args.join(" "))
                };
                if !template.contains(&format!("{stmt};")) && !dropped.contains(&stmt) {
                    dropped.push(stmt);
                }
            });
        }
    }
    let mut s = "nginx: generate writes its own nginx.conf, keeping only the listen port and the upstream servers".to_string();
    if !dropped.is_empty() {
        const MAX: usize = 10;
        let shown: Vec<String> = dropped.iter().take(MAX).map(|d| format!("`{d}`")).collect();
        s.push_str(&format!("; not written as today: {}", shown.join(", ")));
        if dropped.len() > MAX {
            s.push_str(&format!(" and {} more", dropped.len() - MAX));
        }
    }
    s
}
