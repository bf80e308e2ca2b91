//! `haconf lab`: proof by execution. The cluster's own configs run with real keepalived and
//! nginx in namespaces of haconf's own ([`sandbox`]), faults are injected (nginx dies, the
//! check fails, the node crashes, keepalived stops, the node comes back, a partition,
//! multicast dropped), and what happens — who holds the VIP over time, how long until the VIP
//! answers again, samples with two holders — is set beside what the failover model
//! ([`crate::cluster::failover`]) predicts. A disagreement is a finding: the model, or the
//! cluster, is not what people think.

pub mod report;
pub mod sandbox;

use crate::cluster::failover::{self, Holder, Member, NodeState, Track};
use crate::cluster::{ClusterModel, Joined};
use crate::model::Instance;
use crate::project::{Cluster, Layout, Project};
use crate::source::SourceDb;
use sandbox::{NodePlan, Sandbox, nap, shell_quote, stopped};
use serde::Serialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Baseline,
    NginxDies,
    CheckFails,
    NodeCrash,
    KeepalivedStop,
    NodeReturns,
    Partition,
    MulticastDropped,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Baseline,
        Kind::NginxDies,
        Kind::CheckFails,
        Kind::NodeCrash,
        Kind::KeepalivedStop,
        Kind::NodeReturns,
        Kind::Partition,
        Kind::MulticastDropped,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Kind::Baseline => "baseline",
            Kind::NginxDies => "nginx-dies",
            Kind::CheckFails => "check-fails",
            Kind::NodeCrash => "node-crash",
            Kind::KeepalivedStop => "keepalived-stop",
            Kind::NodeReturns => "node-returns",
            Kind::Partition => "partition",
            Kind::MulticastDropped => "multicast-dropped",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// What the lab runs, as the command line says it.
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub scenarios: Vec<Kind>,
    /// `false`: multicast is dropped, as in a cloud VPC.
    pub multicast: bool,
    pub keep: bool,
    /// Progress on stderr.
    pub progress: bool,
    /// Labs run at once (each scenario has its own).
    pub jobs: usize,
}

/// One VRRP instance the lab watches.
#[derive(Debug, Clone)]
struct Watched {
    name: String,
    vip: IpAddr,
    /// Per member: (node index, instance index in that node's model).
    members: Vec<(usize, usize)>,
    ms: Vec<Member>,
    unicast: bool,
}

/// Everything needed to start the cluster, worked out once.
pub(crate) struct Plan {
    pub cluster: String,
    nodes: Vec<NodePlan>,
    names: Vec<String>,
    client: IpAddr,
    port: u16,
    watched: Vec<Watched>,
    cm: ClusterModel,
    /// Per node: tracked check programs (absolute paths inside the node) to fail.
    checks: Vec<Vec<String>>,
    /// Per node and script name: whether the script fails while nginx is dead.
    nginx_fails: Vec<Vec<(String, bool)>>,
    /// Flat layouts are staged here (deleted with the plan).
    _stage: tempfile::TempDir,
}

/// One sample of the lab: seconds from the fault, and per watched instance the nodes holding
/// its VIP and whether the VIP answered the client.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub t: f64,
    pub holders: Vec<Vec<usize>>,
    pub answered: Vec<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceResult {
    pub instance: String,
    pub vip: String,
    pub before: Vec<String>,
    pub predicted: Vec<String>,
    /// "one", "either", "split" or "nobody".
    pub predicted_kind: &'static str,
    pub observed: Vec<String>,
    pub takeover_seconds: Option<f64>,
    pub predicted_window: Option<[f64; 2]>,
    pub split_brain_samples: usize,
    pub vip_moves: usize,
    pub agrees: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: &'static str,
    pub fault: String,
    pub node: Option<String>,
    pub instances: Vec<InstanceResult>,
    /// Disagreements between the model and what happened, and lab problems.
    pub findings: Vec<String>,
    pub samples: Vec<Sample>,
    /// When the fault came (seconds, 0) and when the observation ended.
    pub duration: f64,
}

#[derive(Debug, Serialize)]
pub struct LabResult {
    pub version: u32,
    pub cluster: String,
    pub network: &'static str,
    pub nodes: Vec<NodeInfo>,
    pub scenarios: Vec<ScenarioResult>,
}

#[derive(Debug, Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub address: String,
    pub interface: String,
}

/// What the lab needs from the machine, or the one message that says what is missing.
pub fn preflight() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("haconf lab needs Linux (network, mount and PID namespaces)".into());
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        })
        .unwrap_or_default();
    if uid != "0" {
        return Err("haconf lab needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN, to make namespaces and mount the node's files): run it with sudo".into());
    }
    let mut missing = Vec::new();
    for (tool, args, pkg) in [
        ("keepalived", &["-v"][..], "keepalived"),
        ("nginx", &["-v"][..], "nginx (nginx-light is enough)"),
        ("ip", &["-V"][..], "iproute2"),
        ("bridge", &["-V"][..], "iproute2"),
        ("unshare", &["--version"][..], "util-linux"),
        ("nsenter", &["--version"][..], "util-linux"),
        ("curl", &["--version"][..], "curl"),
    ] {
        if std::process::Command::new(tool)
            .args(args)
            .output()
            .is_err()
        {
            missing.push((tool, pkg));
        }
    }
    if !missing.is_empty() {
        let tools: Vec<&str> = missing.iter().map(|m| m.0).collect();
        let mut pkgs: Vec<&str> = missing.iter().map(|m| m.1).collect();
        pkgs.dedup();
        return Err(format!(
            "haconf lab runs the cluster with the real tools, and {} {} not installed: install {} (Debian/Ubuntu: apt-get install {})",
            tools.join(", "),
            if tools.len() == 1 { "is" } else { "are" },
            pkgs.join(", "),
            pkgs.iter()
                .map(|p| p
                    .split_whitespace()
                    .next()
                    .unwrap_or(p)
                    .replace("nginx", "nginx-light"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let fs = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !fs.contains("overlay") {
        return Err("haconf lab needs the kernel's overlay filesystem (modprobe overlay)".into());
    }
    Ok(())
}

/// Builds the plan of one cluster.
pub(crate) fn plan(project: &Project, cluster: &Cluster) -> Result<Plan, String> {
    let db = &project.db;
    let cm = crate::cluster::build(db, cluster);
    if cluster.nodes.is_empty() {
        return Err(format!("cluster `{}` has no nodes", cluster.name));
    }
    let stage = tempfile::Builder::new()
        .prefix("haconf-lab-stage-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let mut watched = Vec::new();
    for j in &cm.instances {
        let Some((vip, _)) = first_v4_vip(&cm, j) else {
            continue;
        };
        let ms: Vec<Member> = cm.members(j).map(|(n, i)| Member::of(&cm, n, i)).collect();
        let unicast = cm.members(j).all(|(_, i)| i.uses_unicast());
        watched.push(Watched {
            name: j.name.clone(),
            vip,
            members: j.members.clone(),
            ms,
            unicast,
        });
    }
    if watched.is_empty() {
        return Err(format!(
            "cluster `{}` has no VRRP instance with an IPv4 VIP for the lab to watch",
            cluster.name
        ));
    }
    // Addresses: the node's own (haconf.toml, unicast_src_ip/mcast_src_ip), else one in the
    // VIP's network.
    let subnet = cm
        .spec
        .as_ref()
        .and_then(|s| s.subnet())
        .filter(|n| n.addr.is_ipv4() && n.len <= 30);
    let prefix = subnet.map_or(24, |n| n.len);
    let base = watched[0].vip;
    let mut used: Vec<IpAddr> = watched.iter().map(|w| w.vip).collect();
    let mut addrs: Vec<Option<IpAddr>> = (0..cluster.nodes.len())
        .map(|n| cm.node_address(n).filter(IpAddr::is_ipv4))
        .collect();
    used.extend(addrs.iter().flatten());
    let next_host = |used: &mut Vec<IpAddr>, from: u8| -> Result<IpAddr, String> {
        let IpAddr::V4(b) = base else {
            unreachable!("IPv4 VIPs only")
        };
        let o = b.octets();
        for h in from..=254 {
            let a = IpAddr::from([o[0], o[1], o[2], h]);
            if !used.contains(&a) {
                used.push(a);
                return Ok(a);
            }
        }
        Err("no free address in the VIP's /24".into())
    };
    for a in &mut addrs {
        if a.is_none() {
            *a = Some(next_host(&mut used, 11)?);
        }
    }
    let client = next_host(&mut used, 250)?;
    let port = cm
        .nodes
        .iter()
        .flat_map(|n| n.nginx.listens.iter())
        .find_map(|l| l.port.filter(|_| l.addr.is_none_or(|a| a.is_ipv4())))
        .unwrap_or(80);
    let mut nodes = Vec::new();
    let mut checks = Vec::new();
    let mut nginx_fails = Vec::new();
    for (k, node) in cluster.nodes.iter().enumerate() {
        let model = &cm.nodes[k];
        let ifs: Vec<String> = model
            .keepalived
            .instances
            .iter()
            .filter_map(|i| i.interface.as_ref().map(|v| v.value.clone()))
            .collect();
        let spec_if = cm
            .spec
            .as_ref()
            .and_then(|s| s.node(&node.name).and_then(|n| n.interface.clone()));
        let ifname = ifs
            .first()
            .cloned()
            .or(spec_if)
            .unwrap_or_else(|| "eth0".into());
        let mut extra: Vec<String> = ifs.into_iter().filter(|i| *i != ifname).collect();
        for i in &model.keepalived.instances {
            extra.extend(
                i.track_interfaces
                    .iter()
                    .map(|t| t.name.clone())
                    .filter(|t| *t != ifname && t != "lo"),
            );
        }
        extra.sort();
        extra.dedup();
        extra.retain(|x| valid_ifname(x));
        if !valid_ifname(&ifname) {
            return Err(format!(
                "node `{}`: `{ifname}` is not an interface name Linux accepts",
                node.name
            ));
        }
        let root = match node.layout {
            Layout::Etc => node.dir.clone(),
            Layout::Flat | Layout::Files => stage_flat(db, stage.path(), k, node)?,
        };
        nodes.push(NodePlan {
            name: node.name.clone(),
            root,
            ifname,
            extra_ifs: extra,
            addr: addrs[k].expect("assigned above"),
            prefix,
            users: model
                .nginx
                .user
                .iter()
                .filter_map(|u| u.value.split_whitespace().next().map(str::to_owned))
                .filter(|u| {
                    u.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                })
                .collect(),
        });
        let (c, nf) = check_programs(db, node, model);
        checks.push(c);
        nginx_fails.push(nf);
    }
    Ok(Plan {
        cluster: cluster.name.clone(),
        names: cluster.nodes.iter().map(|n| n.name.clone()).collect(),
        nodes,
        client,
        port,
        watched,
        cm,
        checks,
        nginx_fails,
        _stage: stage,
    })
}

fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 16
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

fn first_v4_vip(cm: &ClusterModel, j: &Joined) -> Option<(IpAddr, u8)> {
    cm.members(j)
        .flat_map(|(_, i)| i.vips.iter())
        .find(|v| v.addr.is_ipv4())
        .map(|v| (v.addr, v.prefix.unwrap_or(32)))
}

/// A flat node laid out as it would be deployed: keepalived.conf in /etc/keepalived, nginx.conf
/// in /etc/nginx, each program the configs name at its absolute path (found in the node by
/// name), executable and owned by root as a deployment sets them; any other file beside
/// keepalived.conf goes to /etc/keepalived (where flat repositories' includes point).
fn stage_flat(
    db: &SourceDb,
    stage: &Path,
    k: usize,
    node: &crate::project::Node,
) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let root = stage.join(format!("node{k}"));
    let put = |rel: &str, from: &Path, exec: bool| -> Result<(), String> {
        let to = root.join(rel.trim_start_matches('/'));
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        std::fs::copy(from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
        let mode = if exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", to.display()))
    };
    let dir = &node.dir;
    let mut placed: Vec<PathBuf> = Vec::new();
    if let Some(ka) = &node.keepalived {
        let p = db.get(ka.root).path.clone();
        put("etc/keepalived/keepalived.conf", &p, false)?;
        placed.push(p);
    }
    if let Some(ng) = node.nginx.first() {
        let p = db.get(ng.root).path.clone();
        put("etc/nginx/nginx.conf", &p, false)?;
        placed.push(p);
    }
    for p in &node.programs {
        if let Some(r) = &p.resolved
            && p.configured.starts_with('/')
            && r.is_file()
        {
            put(&p.configured, r, true)?;
            placed.push(r.clone());
        }
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let path = e.path();
            if !path.is_file() || placed.contains(&path) {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "haconf.toml" || name.starts_with('.') {
                continue;
            }
            let exec = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
                || name.ends_with(".sh");
            put(&format!("etc/keepalived/{name}"), &path, exec)?;
        }
    }
    Ok(root)
}

/// The programs the node's tracked checks run (to make them fail), and per `vrrp_script`
/// whether it fails while nginx is dead: it can fail (the shell analysis) and does not bring
/// nginx back itself.
fn check_programs(
    db: &SourceDb,
    node: &crate::project::Node,
    model: &crate::model::NodeModel,
) -> (Vec<String>, Vec<(String, bool)>) {
    let targets = crate::rules::script::targets(db, node, model);
    let mut progs = Vec::new();
    let mut fails = Vec::new();
    for (si, s) in model.keepalived.scripts.iter().enumerate() {
        let Some(cmd) = &s.script else { continue };
        if let Some(p) = crate::project::command_program(&cmd.value) {
            progs.push(p);
        }
        let t = targets.iter().find(|t| t.scripts.contains(&si));
        let f = t.and_then(|t| t.analysis()).is_some_and(|a| {
            let restarts = a.commands.iter().any(|c| {
                matches!(&c.role, crate::shell::analysis::Role::Action(crate::shell::analysis::Action::Service(x)) if x.contains("nginx"))
            });
            a.can_fail() && !restarts
        }) || t.is_some_and(|t| t.shell.is_none());
        fails.push((s.name.value.clone(), f));
    }
    progs.sort();
    progs.dedup();
    (progs, fails)
}

/// The state of every member of `w` when `fails` says which trackers of node `k` fail.
fn states_with(
    p: &Plan,
    w: &Watched,
    k: Option<usize>,
    fails: &dyn Fn(Track) -> bool,
) -> Vec<NodeState> {
    w.members
        .iter()
        .map(|&(n, idx)| {
            let f: &dyn Fn(Track) -> bool = if Some(n) == k { fails } else { &|_| false };
            failover::node_states(&p.cm.nodes[n], f)[idx]
        })
        .collect()
}

fn member_of(w: &Watched, node: usize) -> Option<usize> {
    w.members.iter().position(|&(n, _)| n == node)
}

/// The detection time of the failing checks of `inst`: ((fall - 1) × interval, fall ×
/// interval + timeout), the soonest of them.
fn detection(p: &Plan, node: usize, inst: &Instance, which: &dyn Fn(&str) -> bool) -> (f64, f64) {
    let ka = &p.cm.nodes[node].keepalived;
    let mut best: Option<(f64, f64)> = None;
    for t in &inst.track_scripts {
        if !which(&t.name) {
            continue;
        }
        let Some(s) = ka.script(&t.name) else {
            continue;
        };
        let (i, f) = (s.interval(), s.fall().max(1) as f64);
        let d = ((f - 1.0) * i, f * i + s.timeout());
        best = Some(best.map_or(d, |b: (f64, f64)| (b.0.min(d.0), b.1.min(d.1))));
    }
    best.unwrap_or((0.0, 0.0))
}

/// What the model says for one scenario and instance: who holds the VIP after, and the window
/// the takeover should fall in (when the holder changes).
struct Prediction {
    holder: Holder,
    note: Option<String>,
    window: Option<(f64, f64)>,
    /// Seconds after which nothing more should change.
    horizon: f64,
    /// Every member's state after the fault.
    states: Vec<NodeState>,
}

fn predict(
    p: &Plan,
    wi: usize,
    kind: Kind,
    node: usize,
    before: &Holder,
    multicast: bool,
) -> Prediction {
    let w = &p.watched[wi];
    let ms = &w.ms;
    let healthy = states_with(p, w, None, &|_| false);
    let m = member_of(w, node);
    let md = |x: usize, st: &[NodeState]| match st[x] {
        NodeState::Up(pr) => ms[x].master_down(pr),
        _ => ms[x].master_down(100),
    };
    let adv = ms.iter().map(|m| m.advert_int).fold(1.0, f64::max);
    let md_max = ms.iter().map(|m| m.master_down(1)).fold(0.0, f64::max);
    let all: Vec<usize> = (0..ms.len()).collect();
    let parts_for = |cut: Option<usize>| -> Vec<Vec<usize>> {
        if !w.unicast && !multicast {
            return all.iter().map(|&x| vec![x]).collect();
        }
        match cut {
            Some(c) => vec![vec![c], all.iter().copied().filter(|&x| x != c).collect()],
            None => vec![all.clone()],
        }
    };
    let inst = m.map(|mm| p.cm.instance(w.members[mm].0, w.members[mm].1));
    let (st, parts, det, how) = match kind {
        Kind::Baseline => {
            let parts = parts_for(None);
            let holder = if parts.len() > 1 {
                failover::settle_parts(ms, &healthy, &Holder::Nobody, &parts)
            } else {
                failover::converge(ms, &healthy).0
            };
            let note = if parts.len() > 1 {
                Some("multicast adverts are dropped: every node becomes master".to_owned())
            } else {
                failover::converge(ms, &healthy).1
            };
            return Prediction {
                holder,
                note,
                window: None,
                horizon: 2.0,
                states: healthy,
            };
        }
        Kind::NginxDies | Kind::CheckFails => {
            let nf = &p.nginx_fails[node];
            let failing =
                |name: &str| kind == Kind::CheckFails || nf.iter().any(|(n, f)| n == name && *f);
            let st = states_with(p, w, Some(node), &|t| match t {
                Track::Script(s) => failing(s),
                Track::Process(s) => kind == Kind::NginxDies && s.contains("nginx"),
                Track::Interface(_) => false,
            });
            let det = inst.map_or((0.0, 0.0), |i| detection(p, node, i, &failing));
            (st, parts_for(None), det, "check")
        }
        Kind::NodeCrash | Kind::KeepalivedStop => {
            let mut st = healthy.clone();
            if let Some(mm) = m {
                st[mm] = NodeState::Down;
            }
            (
                st,
                parts_for(None),
                (0.0, 0.0),
                if kind == Kind::KeepalivedStop {
                    "stop"
                } else {
                    "silence"
                },
            )
        }
        Kind::Partition => (healthy.clone(), parts_for(m), (0.0, 0.0), "silence"),
        Kind::MulticastDropped => {
            let parts = if w.unicast {
                vec![all.clone()]
            } else {
                all.iter().map(|&x| vec![x]).collect()
            };
            (healthy.clone(), parts, (0.0, 0.0), "silence")
        }
        Kind::NodeReturns => (healthy.clone(), parts_for(None), (0.0, 0.0), "return"),
    };
    let (holder, note) = if parts.len() > 1 {
        (failover::settle_parts(ms, &st, before, &parts), None)
    } else {
        failover::settle_from(ms, &st, before)
    };
    // The window: from the fault until the new holder's VIP answers.
    let old = before.one();
    let changes = holder != *before;
    let window = if !changes {
        None
    } else {
        let new = match &holder {
            Holder::One(x) => Some(*x),
            Holder::Split(v) | Holder::Either(v) => v.iter().copied().find(|x| Some(*x) != old),
            Holder::Parts(ps) => ps.concat().into_iter().find(|x| Some(*x) != old),
            Holder::Nobody => None,
        };
        new.map(|x| {
            if before.members().contains(&x) {
                // It holds the VIP already (split brain before): nothing to wait for.
                return (0.0, 1.5);
            }
            let mdx = md(x, &st);
            let delay = ms[x].preempt_delay;
            let (lo, hi) = match how {
                "stop" => (0.0, ms[x].skew(prio_of(st[x]))),
                "silence" => (mdx - adv, mdx),
                "return" => (0.0, 2.0 + return_checks(p, w, node) + mdx),
                _ => {
                    // The old master in FAULT sends priority 0: the skew alone; a lowered
                    // priority is ignored until the master-down timer runs out.
                    let fault = old.is_some_and(|o| st[o] == NodeState::Fault);
                    if fault {
                        (det.0, det.1 + ms[x].skew(prio_of(st[x])))
                    } else {
                        (det.0 + delay + mdx - adv, det.1 + delay + mdx)
                    }
                }
            };
            // Process start, ARP and the client's request interval.
            ((lo - 0.5).max(0.0), hi + 1.5)
        })
    };
    let horizon = match how {
        "check" => det.1 + md_max + 2.0,
        "return" => 2.0 + return_checks(p, w, node) + md_max + 2.0,
        _ => md_max + 2.0,
    };
    let horizon = window.map_or(horizon, |w| w.1.max(horizon));
    Prediction {
        holder,
        note,
        window,
        horizon,
        states: st,
    }
}

fn prio_of(s: NodeState) -> u8 {
    match s {
        NodeState::Up(p) => p,
        _ => 1,
    }
}

/// Seconds a returning node's checks take to report healthy: the longest interval × rise.
fn return_checks(p: &Plan, w: &Watched, node: usize) -> f64 {
    let Some(m) = member_of(w, node) else {
        return 0.0;
    };
    let inst = p.cm.instance(w.members[m].0, w.members[m].1);
    let ka = &p.cm.nodes[node].keepalived;
    inst.track_scripts
        .iter()
        .filter_map(|t| ka.script(&t.name))
        .map(|s| s.interval() * s.rise().max(1) as f64 + s.timeout())
        .fold(0.0, f64::max)
}

/// Runs the scenarios, each in a lab of its own, `jobs` at a time.
pub fn run(opts: &Options) -> Result<Vec<LabResult>, String> {
    sandbox::catch_signals();
    let project = Project::load(&opts.paths);
    if !project.errors.is_empty() {
        return Err(project.errors.join("\n"));
    }
    if project.clusters.is_empty() {
        return Err(
            "no cluster found (a directory of node directories with keepalived.conf)".into(),
        );
    }
    let mut out = Vec::new();
    for cluster in &project.clusters {
        let plan = plan(&project, cluster)?;
        let r = run_plan(&plan, opts);
        if opts.keep {
            // The kept lab's nodes still read their files from the stage.
            let _ = plan._stage.keep();
        }
        out.push(r?);
    }
    Ok(out)
}

fn run_plan(plan: &Plan, opts: &Options) -> Result<LabResult, String> {
    let kinds = &opts.scenarios;
    let total = kinds.len();
    if opts.progress {
        eprintln!(
            "haconf lab: cluster `{}`, {} node{}, network {}, {} scenario{}",
            plan.cluster,
            plan.nodes.len(),
            if plan.nodes.len() == 1 { "" } else { "s" },
            if opts.multicast { "lan" } else { "cloud" },
            total,
            if total == 1 { "" } else { "s" }
        );
    }
    let started = Instant::now();
    let jobs = if opts.keep { 1 } else { opts.jobs.max(1) };
    let results: std::sync::Mutex<Vec<(usize, Result<ScenarioResult, String>)>> =
        std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs.min(total) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= total || stopped() {
                        break;
                    }
                    let keep = opts.keep && i + 1 == total;
                    let r = run_scenario(plan, kinds[i], opts.multicast, keep);
                    let d = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    if opts.progress {
                        let line = match &r {
                            Ok(sr) => {
                                let ok = sr.findings.is_empty();
                                format!(
                                    "{} {}{}",
                                    if ok { "agrees" } else { "DISAGREES" },
                                    sr.instances
                                        .iter()
                                        .map(|ir| format!(
                                            "{}: {} -> {}{}",
                                            ir.instance,
                                            join_or(&ir.before, "nobody"),
                                            join_or(&ir.observed, "nobody"),
                                            ir.takeover_seconds
                                                .map_or(String::new(), |t| format!(" in {t:.1} s"))
                                        ))
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                    if ok {
                                        String::new()
                                    } else {
                                        format!(" ({})", sr.findings.join("; "))
                                    }
                                )
                            }
                            Err(e) => format!("failed: {e}"),
                        };
                        eprintln!(
                            "  [{d}/{total}] {:<18} {line}   ({:.0} s)",
                            kinds[i].name(),
                            started.elapsed().as_secs_f64()
                        );
                    }
                    results.lock().expect("not poisoned").push((i, r));
                }
            });
        }
    });
    if stopped() {
        return Err("interrupted: the lab was removed".into());
    }
    let mut rs = results.into_inner().expect("not poisoned");
    rs.sort_by_key(|r| r.0);
    let mut scenarios = Vec::new();
    for (_, r) in rs {
        scenarios.push(r?);
    }
    Ok(LabResult {
        version: 1,
        cluster: plan.cluster.clone(),
        network: if opts.multicast { "lan" } else { "cloud" },
        nodes: plan
            .nodes
            .iter()
            .map(|n| NodeInfo {
                name: n.name.clone(),
                address: format!("{}/{}", n.addr, n.prefix),
                interface: n.ifname.clone(),
            })
            .collect(),
        scenarios,
    })
}

fn join_or(v: &[String], none: &str) -> String {
    if v.is_empty() {
        none.to_owned()
    } else {
        v.join("+")
    }
}

/// A running lab and its samples.
struct Lab<'p> {
    plan: &'p Plan,
    sb: Sandbox,
    samples: Vec<Sample>,
    t0: Instant,
}

impl Lab<'_> {
    fn start_node(&self, k: usize) -> Result<(), String> {
        let n = &self.sb.nodes[k];
        n.sh("nginx 2>>/run/lab/nginx.log || { cat /run/lab/nginx.log >&2; exit 1; }")
            .map_err(|e| format!("nginx does not start on `{}`: {e}", n.name))?;
        n.sh("setsid keepalived -n -l -D >>/run/lab/keepalived.log 2>&1 </dev/null &")?;
        Ok(())
    }

    /// A node powers off: every process killed at once (no priority-0 goodbye), its link
    /// down, and the VIPs gone from its interfaces as they are from a machine that is off.
    fn crash(&self, k: usize) -> Result<(), String> {
        let n = &self.sb.nodes[k];
        // Frozen first, so no process can react to another's death (keepalived's children
        // get SIGTERM when the parent dies, and would send priority 0).
        n.signal_all(libc::SIGSTOP)?;
        self.sb.set_link(k, false)?;
        n.signal_all(libc::SIGKILL)?;
        let mut s = String::new();
        for w in &self.plan.watched {
            s.push_str(&format!("ip -4 addr flush to {}/32\n", w.vip));
        }
        s.push_str("true\n");
        n.sh(&s)?;
        Ok(())
    }

    fn sample(&mut self) -> Result<(), String> {
        if stopped() {
            return Err("interrupted".into());
        }
        let t = self.t0.elapsed().as_secs_f64();
        let mut addr_children = Vec::new();
        for n in &self.sb.nodes {
            addr_children.push(
                n.addr_cmd()
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .map_err(|e| e.to_string())?,
            );
        }
        let mut curls = Vec::new();
        for w in &self.plan.watched {
            let url = format!("http://{}:{}/", w.vip, self.plan.port);
            curls.push(
                self.sb
                    .client_request(&url)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .map_err(|e| e.to_string())?,
            );
        }
        let addrs: Vec<String> = addr_children
            .into_iter()
            .map(|c| {
                c.wait_with_output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default()
            })
            .collect();
        let answered: Vec<bool> = curls
            .into_iter()
            .map(|c| {
                c.wait_with_output().is_ok_and(|o| {
                    let code = String::from_utf8_lossy(&o.stdout);
                    code.trim().parse::<u16>().is_ok_and(|c| c > 0)
                })
            })
            .collect();
        let holders = self
            .plan
            .watched
            .iter()
            .map(|w| {
                let needle = format!(" inet {}/", w.vip);
                (0..addrs.len())
                    .filter(|&k| addrs[k].contains(&needle))
                    .collect()
            })
            .collect();
        self.samples.push(Sample {
            t,
            holders,
            answered,
        });
        Ok(())
    }

    /// Samples until `done` says so (given the seconds since t0) or `limit` seconds pass.
    fn watch(&mut self, limit: f64, done: &dyn Fn(&[Sample], f64) -> bool) -> Result<(), String> {
        let end = self.t0.elapsed().as_secs_f64() + limit;
        loop {
            let s = Instant::now();
            self.sample()?;
            let now = self.t0.elapsed().as_secs_f64();
            if now >= end || done(&self.samples, now) {
                return Ok(());
            }
            let spent = s.elapsed();
            if spent < Duration::from_millis(100) {
                nap(Duration::from_millis(100) - spent)?;
            }
        }
    }

    fn current(&self) -> Vec<Vec<usize>> {
        self.samples.last().map_or_else(
            || vec![Vec::new(); self.plan.watched.len()],
            |s| s.holders.clone(),
        )
    }

    /// Waits until every instance's holders have not changed for `quiet` seconds.
    fn settle(&mut self, quiet: f64, limit: f64) -> Result<(), String> {
        self.watch(limit, &|ss, now| {
            let Some(last) = ss.last() else { return false };
            let since = ss
                .iter()
                .rev()
                .find(|s| s.holders != last.holders)
                .map_or(ss[0].t, |s| s.t);
            now - since >= quiet && ss.len() > 1
        })
    }
}

fn holder_of(observed: &[usize], w: &Watched) -> Holder {
    let ms: Vec<usize> = observed.iter().filter_map(|&n| member_of(w, n)).collect();
    match ms.len() {
        0 => Holder::Nobody,
        1 => Holder::One(ms[0]),
        _ => Holder::Split(ms),
    }
}

fn run_scenario(
    plan: &Plan,
    kind: Kind,
    multicast: bool,
    keep: bool,
) -> Result<ScenarioResult, String> {
    let sb = Sandbox::new(&plan.nodes, plan.client, multicast, keep)?;
    let mut lab = Lab {
        plan,
        sb,
        samples: Vec::new(),
        t0: Instant::now(),
    };
    let r = scenario_in(&mut lab, kind, multicast);
    if keep {
        eprintln!(
            "The lab is still running (--keep). Enter it with:\n{}",
            lab.sb.how_to_enter()
        );
        lab.sb.keep();
    }
    r
}

fn scenario_in(lab: &mut Lab, kind: Kind, multicast: bool) -> Result<ScenarioResult, String> {
    let plan = lab.plan;
    for k in 0..lab.sb.nodes.len() {
        lab.start_node(k)?;
    }
    let md_max = plan
        .watched
        .iter()
        .flat_map(|w| w.ms.iter().map(|m| m.master_down(1)))
        .fold(0.0, f64::max);
    let checks_max = (0..plan.nodes.len())
        .map(|k| {
            plan.watched
                .iter()
                .map(|w| return_checks(plan, w, k))
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max);
    // Converged: nothing changed for a master-down interval (and the checks have run).
    nap(Duration::from_secs_f64(1.0))?;
    lab.settle(md_max + checks_max + 0.5, 40.0)?;
    let mut findings = Vec::new();
    let before_obs = lab.current();
    let before: Vec<Holder> = plan
        .watched
        .iter()
        .zip(&before_obs)
        .map(|(w, o)| holder_of(o, w))
        .collect();
    // The node the fault hits: the first instance's holder.
    let node = before_obs[0]
        .first()
        .copied()
        .or_else(|| plan.watched[0].members.first().map(|m| m.0))
        .unwrap_or(0);
    let name = &plan.names[node];
    // A node that crashes first, for the node-returns scenario.
    if kind == Kind::NodeReturns {
        lab.crash(node)?;
        lab.settle(md_max + 1.0, md_max + 15.0)?;
    }
    let mid_obs = lab.current();
    let before_fault: Vec<Holder> = plan
        .watched
        .iter()
        .zip(&mid_obs)
        .map(|(w, o)| holder_of(o, w))
        .collect();
    let preds: Vec<Prediction> = (0..plan.watched.len())
        .map(|wi| {
            let b = if kind == Kind::Baseline {
                &before[wi]
            } else {
                &before_fault[wi]
            };
            predict(plan, wi, kind, node, b, multicast)
        })
        .collect();
    let mut preds = preds;
    couple_sync_groups(plan, &mut preds, &before_fault, kind);
    // The fault.
    let t_fault = lab.t0.elapsed().as_secs_f64();
    let fault = match kind {
        Kind::Baseline => "none: the converged start".to_owned(),
        Kind::NginxDies => {
            lab.sb.nodes[node].sh("pids=$(pidof nginx); [ -z \"$pids\" ] || kill -9 $pids")?;
            format!("nginx killed on {name} (and not restarted)")
        }
        Kind::CheckFails => {
            let mut s = String::new();
            for prog in &plan.checks[node] {
                s.push_str(&format!(
                    "p=$(command -v {q} || true); [ -n \"$p\" ] && mount --bind /run/lab/fail \"$p\"\n",
                    q = shell_quote(prog)
                ));
            }
            s.push_str("true\n");
            lab.sb.nodes[node].sh(&s)?;
            format!("every tracked check on {name} exits 1")
        }
        Kind::NodeCrash => {
            lab.crash(node)?;
            format!("{name} crashes: every process killed, link down")
        }
        Kind::KeepalivedStop => {
            lab.sb.nodes[node].sh("kill -TERM $(cat /run/keepalived.pid)")?;
            format!("keepalived stopped cleanly on {name} (SIGTERM)")
        }
        Kind::NodeReturns => {
            lab.sb.set_link(node, true)?;
            lab.start_node(node)?;
            format!("{name} comes back after a crash (nginx and keepalived start)")
        }
        Kind::Partition => {
            lab.sb.set_attached(node, false)?;
            format!("{name} cut off from the others and the client (its link stays up)")
        }
        Kind::MulticastDropped => {
            lab.sb.set_multicast(false)?;
            "the network starts dropping multicast (VRRP adverts to 224.0.0.18)".to_owned()
        }
    };
    let horizon = preds.iter().map(|p| p.horizon).fold(0.0, f64::max);
    // Watch until every prediction is met and has held for a while, or the horizon passes.
    let hold = 2.0_f64.min(md_max);
    let tf = t_fault;
    let watched = &plan.watched;
    let pr = &preds;
    lab.watch(horizon, &|ss, now| {
        let Some(last) = ss.last() else { return false };
        let met = watched.iter().enumerate().all(|(wi, w)| {
            pr[wi].holder.admits(
                &last.holders[wi]
                    .iter()
                    .filter_map(|&n| member_of(w, n))
                    .collect::<Vec<_>>(),
            ) && (pr[wi].holder == Holder::Nobody
                || matches!(pr[wi].holder, Holder::Split(_))
                || last.answered[wi])
        });
        let changes = pr.iter().any(|p| p.window.is_some());
        if !met || !changes {
            return false;
        }
        let since = ss
            .iter()
            .rev()
            .find(|s| s.holders != last.holders)
            .map_or(tf, |s| s.t);
        now - since.max(tf) >= hold
    })?;
    let end = lab.t0.elapsed().as_secs_f64();
    // Results per instance.
    let names = &plan.names;
    let mut instances = Vec::new();
    for (wi, w) in plan.watched.iter().enumerate() {
        let after: Vec<&Sample> = lab.samples.iter().filter(|s| s.t >= t_fault).collect();
        let observed = after
            .last()
            .map(|s| s.holders[wi].clone())
            .unwrap_or_default();
        let obs_m: Vec<usize> = observed.iter().filter_map(|&n| member_of(w, n)).collect();
        let p = &preds[wi];
        let b = if kind == Kind::Baseline {
            &before[wi]
        } else {
            &before_fault[wi]
        };
        let pred_h = &p.holder;
        let agrees_holder = pred_h.admits(&obs_m);
        let moved = observed != mid_obs[wi];
        let takeover = if moved && !observed.is_empty() {
            after
                .iter()
                .find(|s| s.holders[wi] == observed && (observed.len() > 1 || s.answered[wi]))
                .map(|s| s.t - t_fault)
        } else {
            None
        };
        let mut agrees = agrees_holder;
        let member_names = |v: &[usize]| -> Vec<String> {
            v.iter().map(|&m| names[w.members[m].0].clone()).collect()
        };
        if !agrees_holder {
            findings.push(format!(
                "`{}`: the model predicts the VIP on {}, real keepalived put it on {}",
                w.name,
                describe(pred_h, &member_names),
                if observed.is_empty() {
                    "nobody".to_owned()
                } else {
                    observed
                        .iter()
                        .map(|&n| names[n].clone())
                        .collect::<Vec<_>>()
                        .join(" and ")
                }
            ));
        }
        if let (Some(t), Some((lo, hi))) = (takeover, p.window)
            && agrees_holder
            && (t < lo || t > hi)
        {
            agrees = false;
            findings.push(format!(
                "`{}`: the takeover took {t:.2} s, outside the model's window {lo:.1}–{hi:.1} s",
                w.name
            ));
        }
        let split = after.iter().filter(|s| s.holders[wi].len() > 1).count();
        // A move: a node that did not hold the VIP in the previous sample holds it now.
        let mut moves = 0;
        let mut prev: &Vec<usize> = &mid_obs[wi];
        for smp in lab.samples.iter().filter(|x| x.t >= t_fault) {
            moves += smp.holders[wi].iter().filter(|n| !prev.contains(n)).count();
            prev = &smp.holders[wi];
        }
        instances.push(InstanceResult {
            instance: w.name.clone(),
            vip: w.vip.to_string(),
            before: member_names(&b.members()),
            predicted: member_names(&pred_h.members()),
            predicted_kind: match pred_h {
                Holder::One(_) => "one",
                Holder::Either(_) => "either",
                Holder::Split(_) | Holder::Parts(_) => "split",
                Holder::Nobody => "nobody",
            },
            observed: observed.iter().map(|&n| names[n].clone()).collect(),
            takeover_seconds: takeover.map(|t| (t * 100.0).round() / 100.0),
            predicted_window: p
                .window
                .map(|(a, b)| [(a * 10.0).round() / 10.0, (b * 10.0).round() / 10.0]),
            split_brain_samples: split,
            vip_moves: moves,
            agrees,
            note: p.note.clone(),
        });
    }
    // Times relative to the fault.
    let samples = lab
        .samples
        .iter()
        .filter(|s| s.t >= t_fault - 2.0)
        .map(|s| Sample {
            t: ((s.t - t_fault) * 1000.0).round() / 1000.0,
            holders: s.holders.clone(),
            answered: s.answered.clone(),
        })
        .collect();
    Ok(ScenarioResult {
        name: kind.name(),
        fault,
        node: (kind != Kind::Baseline && kind != Kind::MulticastDropped).then(|| name.clone()),
        instances,
        findings,
        samples,
        duration: ((end - t_fault) * 1000.0).round() / 1000.0,
    })
}

/// The watched instances that are one sync group on every node that has them.
fn sync_groups(plan: &Plan) -> Vec<Vec<usize>> {
    let group_of = |wi: usize, node: usize, idx: usize| -> Option<String> {
        let _ = wi;
        let ka = &plan.cm.nodes[node].keepalived;
        ka.sync_group_of(&ka.instances[idx].name.value)
            .map(|g| g.name.value.clone())
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for a in 0..plan.watched.len() {
        if groups.iter().any(|g| g.contains(&a)) {
            continue;
        }
        let mut g = vec![a];
        for b in a + 1..plan.watched.len() {
            let same = plan.watched[a].members.iter().all(|&(n, ia)| {
                let ga = group_of(a, n, ia);
                ga.is_some()
                    && plan.watched[b]
                        .members
                        .iter()
                        .find(|m| m.0 == n)
                        .is_some_and(|&(_, ib)| group_of(b, n, ib) == ga)
            });
            if same {
                g.push(b);
            }
        }
        if g.len() > 1 {
            groups.push(g);
        }
    }
    groups
}

/// keepalived moves a sync group as one, and a node's group goes master only when every
/// member wants to ("prefer backup state to avoid thrashing", `vrrp_sync_can_goto_master` in
/// vrrp_sync.c): when the members' own elections disagree, the group stays where it was if
/// it can, and otherwise the outcome depends on timing.
fn couple_sync_groups(plan: &Plan, preds: &mut [Prediction], before: &[Holder], kind: Kind) {
    let node_set = |wi: usize, h: &Holder| -> Vec<usize> {
        let mut v: Vec<usize> = h
            .members()
            .iter()
            .map(|&m| plan.watched[wi].members[m].0)
            .collect();
        v.sort_unstable();
        v
    };
    for g in sync_groups(plan) {
        let sets: Vec<Vec<usize>> = g
            .iter()
            .map(|&wi| node_set(wi, &preds[wi].holder))
            .collect();
        let all_one = g
            .iter()
            .all(|&wi| matches!(preds[wi].holder, Holder::One(_)));
        let all_split = g
            .iter()
            .all(|&wi| matches!(preds[wi].holder, Holder::Split(_)));
        if (all_one || all_split) && sets.windows(2).all(|w| w[0] == w[1]) {
            continue;
        }
        // The node that held every member before, if it still can.
        let inc: Option<usize> = if kind == Kind::Baseline {
            None
        } else {
            let b0 = node_set(g[0], &before[g[0]]);
            (b0.len() == 1 && g.iter().all(|&wi| node_set(wi, &before[wi]) == b0))
                .then(|| b0[0])
                .filter(|&n| {
                    g.iter().all(|&wi| {
                        member_of(&plan.watched[wi], n)
                            .is_some_and(|m| matches!(preds[wi].states[m], NodeState::Up(_)))
                    })
                })
        };
        let mut union: Vec<usize> = sets.concat();
        union.sort_unstable();
        union.dedup();
        for &wi in &g {
            let w = &plan.watched[wi];
            let to_member = |n: usize| member_of(w, n);
            let (h, note) = match inc.and_then(to_member) {
                Some(m) => (
                    Holder::One(m),
                    "sync group: a node's group goes master only when every member would, so the group stays where it was",
                ),
                None => (
                    Holder::Either(union.iter().filter_map(|&n| to_member(n)).collect()),
                    "sync group whose members elect different nodes: the outcome depends on timing",
                ),
            };
            if h != preds[wi].holder {
                if h == before[wi] {
                    preds[wi].window = None;
                }
                preds[wi].holder = h;
                preds[wi].note = Some(note.to_owned());
            }
        }
    }
}

fn describe(h: &Holder, names: &dyn Fn(&[usize]) -> Vec<String>) -> String {
    match h {
        Holder::One(m) => names(&[*m]).join(""),
        Holder::Nobody => "nobody".into(),
        Holder::Either(v) => names(v).join(" or "),
        Holder::Split(v) => format!("{} at once (split brain)", names(v).join(" and ")),
        Holder::Parts(ps) => format!(
            "{} at once (split brain)",
            ps.iter()
                .map(|p| names(p).join(" or "))
                .collect::<Vec<_>>()
                .join(", and ")
        ),
    }
}
