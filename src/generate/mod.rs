//! `haconf generate`: a whole cluster from haconf.toml, correct by construction.
//!
//! The spec is validated (HA001, pointing into the TOML), every value it leaves out is derived
//! (`plan`), and the files are rendered from templates (`templates`), one directory per node.
//! The derivations, and why:
//! - priorities: 200, 190, 180, ... in node order (rotated per instance, so a second instance
//!   is mastered by the second node: active-active); a failed check puts the node in FAULT
//!   (weight 0), which hands the VIP over at once, while a backup ignores a lower-priority
//!   advert and waits out its master-down timer (measured: 3.0 s against 5.3 s with the
//!   default profile). A check path through the backends, which can fail on every node at
//!   once, gets a weight just past the largest gap instead (`-(gap + 10)`), so the VIP stays
//!   on the master rather than on no node;
//! - unicast peers (clouds drop multicast), `router_id` = node name, `enable_script_security`
//!   with `script_user root`;
//! - check timers from the failover profile: whole-second interval, timeout = interval − 1,
//!   and a probe time limit below the timeout;
//! - nginx listening on the wildcard address, so it starts on backups too;
//! - a VRID from the cluster name, avoiding the VRIDs of the other clusters of the fleet.

pub mod init;
pub mod templates;

use crate::cluster::spec::{Priority, Spec};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use serde::Serialize;
use std::net::IpAddr;

/// Timers and VRRP version for one failover profile.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub name: &'static str,
    pub vrrp_version: u8,
    /// Seconds between adverts.
    pub advert_int: f64,
    /// vrrp_script interval and timeout, whole seconds (keepalived 2.2 reads no fractions).
    pub interval: u32,
    pub timeout: u32,
    pub fall: u32,
    pub rise: u32,
}

/// The profiles. Failover after a node dies: a backup takes over after 3 × advert_int plus a
/// skew below one advert_int. After a failed check: within `fall × interval` (plus the probe's
/// own limit) the master's priority drops and it says so at once; the backup preempts on that
/// advert.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "fast",
        vrrp_version: 3,
        advert_int: 0.5,
        interval: 2,
        timeout: 1,
        fall: 1,
        rise: 2,
    },
    Profile {
        name: "default",
        vrrp_version: 2,
        advert_int: 1.0,
        interval: 2,
        timeout: 1,
        fall: 2,
        rise: 2,
    },
    Profile {
        name: "conservative",
        vrrp_version: 2,
        advert_int: 2.0,
        interval: 5,
        timeout: 3,
        fall: 3,
        rise: 3,
    },
];

pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

#[derive(Debug, Clone, Serialize)]
pub struct InstancePlan {
    pub name: String,
    pub vrid: u8,
    pub state: &'static str,
    pub priority: u8,
    pub interface: String,
    pub vips: Vec<String>,
    pub ipv6: bool,
    pub unicast_src: Option<String>,
    pub unicast_peers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckPlan {
    pub kind: String,
    pub url: String,
    pub process: String,
    pub interval: u32,
    pub timeout: u32,
    pub fall: u32,
    pub rise: u32,
    pub weight: i32,
    /// The probe's own limit, below the timeout (curl takes fractions).
    pub limit: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NginxPlan {
    pub listen: u16,
    pub ipv6: bool,
    pub backends: Vec<String>,
    pub root: String,
    pub server_name: String,
    /// `server_name` split into its names, for templates to quote one by one.
    pub server_names: Vec<String>,
    pub health_path: String,
}

/// Everything a node's templates see.
#[derive(Debug, Clone, Serialize)]
pub struct NodePlan {
    /// The spec's path as given, for the files' header comments (control characters, which
    /// a path may hold, replaced by `?`).
    pub spec: String,
    pub cluster: String,
    pub node: String,
    pub profile: Profile,
    pub unicast: bool,
    pub auth_pass: Option<String>,
    pub instances: Vec<InstancePlan>,
    pub check: CheckPlan,
    pub nginx: NginxPlan,
    pub script_path: String,
}

/// An instance as derived: name, VRID, VIPs, IPv6, (node, priority).
type Derived = (String, u8, Vec<String>, bool, Vec<(String, u8)>);

/// FNV-1a, for a VRID that depends only on the cluster name.
fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x01000193);
    }
    h
}

fn span<T>(s: &toml::Spanned<T>) -> Span {
    let r = s.span();
    Span::new(r.start, r.end)
}

/// Validates the spec for generation and derives every value; `taken` are the VRIDs of the
/// fleet's other clusters. `spec_path` is shown in the generated files' headers.
pub fn plan(
    spec: &Spec,
    file: FileId,
    spec_path: &str,
    taken: &[u8],
) -> Result<Vec<NodePlan>, Vec<Diagnostic>> {
    let mut errs: Vec<Diagnostic> = Vec::new();
    let mut err = |span: Span, msg: String| errs.push(Diagnostic::new("HA001", file, span, msg));
    let top = Span::new(0, 0);
    let cluster = spec.cluster.clone().unwrap_or_default();
    let name = cluster.name.clone().unwrap_or_else(|| "cluster".into());
    let interface = cluster.interface.clone().unwrap_or_else(|| "eth0".into());
    let prof = match &cluster.failover {
        None => &PROFILES[1],
        Some(p) => match profile(p.get_ref()) {
            Some(x) => x,
            None => {
                err(
                    span(p),
                    format!(
                        "failover profile `{}` is not one of fast, default, conservative",
                        p.get_ref()
                    ),
                );
                &PROFILES[1]
            }
        },
    };
    let unicast = match &cluster.transport {
        None => true,
        Some(t) => match t.get_ref().as_str() {
            "unicast" => true,
            "multicast" => false,
            other => {
                err(
                    span(t),
                    format!("transport `{other}` is not unicast or multicast"),
                );
                true
            }
        },
    };
    let auth_pass = match &cluster.auth_pass {
        Some(p) if prof.vrrp_version == 3 => {
            err(
                span(p),
                "VRRPv3 (the `fast` profile) has no authentication: remove auth_pass or pick another profile".into(),
            );
            None
        }
        Some(p) if p.get_ref().is_empty() || p.get_ref().chars().count() > 8 => {
            err(
                span(p),
                "auth_pass must be 1 to 8 characters: keepalived uses only the first 8".into(),
            );
            None
        }
        Some(p) if p.get_ref().contains(['"', ' ', '#', '!', '\'', '\\']) => {
            err(
                span(p),
                "auth_pass must not contain spaces, quotes, `#`, `!` or `\\`".into(),
            );
            None
        }
        Some(p) => Some(p.get_ref().clone()),
        None => None,
    };
    let n = spec.nodes.len();
    if !(2..=16).contains(&n) {
        err(
            top,
            format!("a cluster has 2 to 16 nodes; this spec declares {n} ([[node]])"),
        );
    }
    let mut names: Vec<&str> = Vec::new();
    for node in &spec.nodes {
        let nm = node.name.get_ref().as_str();
        // Also checked when the spec is read; here again because the name becomes a
        // directory: `..` would write outside the output directory.
        if !nm.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !nm
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            err(
                span(&node.name),
                format!(
                    "node name `{}` must be letters, digits, `-`, `_` or `.`, starting with a letter or digit",
                    nm.escape_debug()
                ),
            );
        }
        if names.contains(&nm) {
            err(span(&node.name), format!("node `{nm}` is declared twice"));
        }
        names.push(nm);
        if unicast && node.address.is_none() {
            err(
                span(&node.name),
                format!(
                    "node `{nm}` has no `address`, which unicast needs (or set transport = \"multicast\")"
                ),
            );
        }
        for a in [&node.address, &node.address6].into_iter().flatten() {
            if a.get_ref().parse::<IpAddr>().is_err() {
                err(span(a), format!("`{}` is not an IP address", a.get_ref()));
            }
        }
    }
    if spec.instances.is_empty() {
        err(
            top,
            "the spec has no [[instance]]: nothing to make highly available".into(),
        );
    }
    // Health check.
    let hc = spec.health_check.clone().unwrap_or_default();
    let kind = hc.kind.clone().unwrap_or_else(|| "http".into());
    if kind != "http" && kind != "process" {
        err(
            top,
            format!("health_check.kind `{kind}` is not http or process"),
        );
    }
    let whole = |v: f64| v.fract() == 0.0 && (1.0..=4294.0).contains(&v);
    let interval = hc.interval.unwrap_or(f64::from(prof.interval));
    let timeout = hc.timeout.unwrap_or(if hc.interval.is_some() {
        (interval - 1.0).max(1.0)
    } else {
        f64::from(prof.timeout)
    });
    if !whole(interval) || !whole(timeout) {
        err(
            top,
            "health_check interval and timeout are whole seconds (keepalived 2.2 reads no fractions)".into(),
        );
    } else if timeout >= interval {
        err(
            top,
            format!(
                "health_check timeout {timeout} must be below its interval {interval} (so at least interval = 2)"
            ),
        );
    }
    let limit = if timeout > 1.0 {
        timeout - 0.5
    } else {
        timeout * 0.8
    };
    // nginx.
    let ng = spec.nginx.clone().unwrap_or_default();
    let listen = ng.listen.unwrap_or(80);
    if listen == 0 {
        err(top, "nginx.listen must be a port, 1..65535".into());
    }
    for b in &ng.backends {
        let ok = b
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if !ok {
            err(top, format!("backend `{b}` is not host:port"));
        }
    }
    let health_path = hc.path.clone().unwrap_or_else(|| "/haconf-health".into());
    if !health_path.starts_with('/') || health_path.contains(char::is_whitespace) {
        err(
            top,
            format!("health_check.path `{health_path}` must start with `/` and have no spaces"),
        );
    }
    // Instances.
    let mut used: Vec<u8> = taken.to_vec();
    let mut insts: Vec<Derived> = Vec::new();
    for (k, i) in spec.instances.iter().enumerate() {
        let iname = i
            .name
            .as_ref()
            .map_or_else(|| format!("VI_{}", k + 1), |n| n.get_ref().clone());
        let ispan = i.name.as_ref().map_or(top, span);
        if i.vips.is_empty() {
            err(ispan, format!("instance `{iname}` has no vips"));
        }
        let mut vips = Vec::new();
        let mut fams = Vec::new();
        for v in &i.vips {
            let (a, p) = v
                .get_ref()
                .split_once('/')
                .map_or((v.get_ref().as_str(), None), |(a, p)| (a, Some(p)));
            match a.parse::<IpAddr>() {
                Ok(ip) => {
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    let prefix = match p.map(str::parse::<u8>) {
                        None => max,
                        Some(Ok(l)) if l <= max => l,
                        Some(_) => {
                            err(
                                span(v),
                                format!("`{}` has a bad prefix length", v.get_ref()),
                            );
                            max
                        }
                    };
                    fams.push(ip.is_ipv6());
                    vips.push(format!("{ip}/{prefix}"));
                }
                Err(_) => err(
                    span(v),
                    format!("`{}` is not an address (`192.168.0.100/24`)", v.get_ref()),
                ),
            }
        }
        let ipv6 = fams.first().copied().unwrap_or(false);
        if fams.iter().any(|f| *f != ipv6) {
            err(
                ispan,
                format!("instance `{iname}` mixes IPv4 and IPv6 VIPs: use one instance per family"),
            );
        }
        if ipv6 && unicast {
            for node in &spec.nodes {
                if node.address_of(true).is_none() {
                    err(
                        span(&node.name),
                        format!(
                            "instance `{iname}` has IPv6 VIPs: node `{}` needs an IPv6 `address6` for unicast",
                            node.name.get_ref()
                        ),
                    );
                }
            }
        } else if unicast && !fams.is_empty() {
            // An IPv6 `address` alone leaves an IPv4 instance without its advert source
            // (found by fuzzing: the template had no `unicast_src_ip` value to write).
            for node in &spec.nodes {
                if node.address.is_some() && node.address_of(false).is_none() {
                    err(
                        span(&node.name),
                        format!(
                            "instance `{iname}` has IPv4 VIPs: node `{}` needs an IPv4 `address` for unicast",
                            node.name.get_ref()
                        ),
                    );
                }
            }
        }
        // VRID: given, else derived from the cluster name, skipping the fleet's.
        let vrid = match &i.virtual_router_id {
            Some(v) if (1..=255).contains(v.get_ref()) => *v.get_ref() as u8,
            Some(v) => {
                err(
                    span(v),
                    format!("virtual_router_id {} is outside 1..255", v.get_ref()),
                );
                1
            }
            None => {
                let base = (fnv(&name) % 255) as usize + k;
                let free = (0..255)
                    .map(|d| ((base + d) % 255 + 1) as u8)
                    .find(|v| !used.contains(v));
                match free {
                    Some(v) => v,
                    None => {
                        err(ispan, "every VRID 1..255 is taken in this fleet".into());
                        1
                    }
                }
            }
        };
        if insts.iter().any(|x| x.1 == vrid) {
            err(ispan, format!("instance `{iname}` reuses VRID {vrid}"));
        }
        used.push(vrid);
        // Priorities: given, else 200, 190, ... in node order rotated by the instance index.
        let prios: Vec<(String, u8)> = match i.priority.as_ref().map(|p| (p, p.get_ref())) {
            Some((p, Priority::Map(m))) => {
                for nm in &names {
                    if !m.contains_key(*nm) {
                        err(span(p), format!("priority gives none for node `{nm}`"));
                    }
                }
                for (nm, v) in m {
                    if !names.contains(&nm.as_str()) {
                        err(
                            span(p),
                            format!("priority names `{nm}`, which no [[node]] declares"),
                        );
                    }
                    if *v == 0 || *v == 255 {
                        err(
                            span(p),
                            format!(
                                "priority {v} of `{nm}` must be 1..254 (255 is the address owner)"
                            ),
                        );
                    }
                }
                let mut vals: Vec<u8> = m.values().copied().collect();
                vals.sort();
                if vals.windows(2).any(|w| w[0] == w[1]) {
                    err(span(p), "two nodes share a priority: the tie is broken by IP address, which nobody reads in a config".into());
                }
                names
                    .iter()
                    .map(|nm| (nm.to_string(), m.get(*nm).copied().unwrap_or(1)))
                    .collect()
            }
            Some((p, Priority::Order(o))) => {
                for nm in o {
                    if !names.contains(&nm.as_str()) {
                        err(
                            span(p),
                            format!("priority names `{nm}`, which no [[node]] declares"),
                        );
                    }
                }
                if o.len() != names.len() {
                    err(
                        span(p),
                        "the priority order must name every node once".into(),
                    );
                }
                names
                    .iter()
                    .map(|nm| {
                        let pos = o.iter().position(|x| x == nm).unwrap_or(o.len());
                        (nm.to_string(), 200u8.saturating_sub(10 * pos as u8))
                    })
                    .collect()
            }
            None => names
                .iter()
                .enumerate()
                .map(|(j, nm)| {
                    let pos = (j + n - (k % n.max(1))) % n.max(1);
                    (nm.to_string(), 200u8.saturating_sub(10 * pos as u8))
                })
                .collect(),
        };
        insts.push((iname, vrid, vips, ipv6, prios));
    }
    let gap = insts
        .iter()
        .map(|x| {
            let max = x.4.iter().map(|p| p.1).max().unwrap_or(0);
            let min = x.4.iter().map(|p| p.1).min().unwrap_or(0);
            i32::from(max - min)
        })
        .max()
        .unwrap_or(0);
    let weight = match hc.weight {
        Some(0) => 0,
        Some(w) if w > 0 || -w <= gap => {
            err(
                top,
                format!(
                    "health_check.weight {w} does not move the VIP: it must be negative and larger than the priority gap {gap} (or 0 for FAULT)"
                ),
            );
            w
        }
        Some(w) if w < -253 => {
            err(top, format!("health_check.weight {w} is outside -253..253"));
            w
        }
        Some(w) => w,
        // The local health endpoint fails only with this node's nginx: FAULT (weight 0)
        // hands the VIP over at once (measured: tests/failover_live.rs, docs/generate.md).
        None if health_path == "/haconf-health" || kind == "process" => 0,
        // A path through the backends can fail on every node at once: a weight keeps the VIP
        // on the master then, rather than on no node.
        None if gap + 10 <= 253 => -(gap + 10),
        None => {
            err(
                top,
                format!("the priority gap {gap} is too wide for a weight (at most 253)"),
            );
            -253
        }
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    let url = format!("http://127.0.0.1:{listen}{health_path}");
    let server_name = ng.server_name.clone().unwrap_or_else(|| "_".into());
    let mut out = Vec::new();
    for node in &spec.nodes {
        let nm = node.name.get_ref().clone();
        let iface = node.interface.clone().unwrap_or_else(|| interface.clone());
        let addr_for = |n: &crate::cluster::spec::NodeSpec, v6: bool| {
            n.address_of(v6).map(|ip| ip.to_string())
        };
        let instances = insts
            .iter()
            .map(|(iname, vrid, vips, ipv6, prios)| {
                let prio = prios.iter().find(|p| p.0 == nm).map_or(1, |p| p.1);
                let max = prios.iter().map(|p| p.1).max().unwrap_or(0);
                InstancePlan {
                    name: iname.clone(),
                    vrid: *vrid,
                    state: if prio == max { "MASTER" } else { "BACKUP" },
                    priority: prio,
                    interface: iface.clone(),
                    vips: vips.clone(),
                    ipv6: *ipv6,
                    // The advert source: unicast_src_ip, or mcast_src_ip with multicast.
                    unicast_src: addr_for(node, *ipv6),
                    unicast_peers: if unicast {
                        spec.nodes
                            .iter()
                            .filter(|o| o.name.get_ref() != &nm)
                            .filter_map(|o| addr_for(o, *ipv6))
                            .collect()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        out.push(NodePlan {
            spec: templates::comment(spec_path),
            cluster: name.clone(),
            node: nm,
            profile: prof.clone(),
            unicast,
            auth_pass: auth_pass.clone(),
            instances,
            check: CheckPlan {
                kind: kind.clone(),
                url: url.clone(),
                process: hc.process.clone().unwrap_or_else(|| "nginx".into()),
                interval: interval as u32,
                timeout: timeout as u32,
                fall: hc.fall.unwrap_or(prof.fall).max(1),
                rise: hc.rise.unwrap_or(prof.rise).max(1),
                weight,
                limit: crate::model::fmt_seconds(limit),
            },
            nginx: NginxPlan {
                listen,
                ipv6: insts.iter().any(|x| x.3),
                backends: ng.backends.clone(),
                root: ng.root.clone().unwrap_or_else(|| "/var/www/html".into()),
                server_name: server_name.clone(),
                server_names: server_name.split_whitespace().map(String::from).collect(),
                health_path: health_path.clone(),
            },
            script_path: "/etc/keepalived/chk_nginx.sh".into(),
        });
    }
    Ok(out)
}

/// How generated node directories are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `ha1/keepalived.conf`, `ha1/nginx.conf`, `ha1/chk_nginx.sh`
    Flat,
    /// `ha1/etc/keepalived/keepalived.conf`, `ha1/etc/nginx/nginx.conf`, ...
    Etc,
}

/// One generated file: its path relative to the output directory, content, mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub path: std::path::PathBuf,
    pub content: String,
    pub mode: u32,
}

/// Renders every node's files.
pub fn render(
    plans: &[NodePlan],
    tpl: &templates::Templates,
    layout: Layout,
) -> Result<Vec<Generated>, String> {
    let mut out = Vec::new();
    for p in plans {
        let dir = std::path::PathBuf::from(&p.node);
        let (ka, ng, sh) = match layout {
            Layout::Flat => (
                dir.join("keepalived.conf"),
                dir.join("nginx.conf"),
                dir.join("chk_nginx.sh"),
            ),
            Layout::Etc => (
                dir.join("etc/keepalived/keepalived.conf"),
                dir.join("etc/nginx/nginx.conf"),
                dir.join("etc/keepalived/chk_nginx.sh"),
            ),
        };
        out.push(Generated {
            path: ka,
            content: tpl.render("keepalived.conf", p)?,
            mode: 0o644,
        });
        out.push(Generated {
            path: ng,
            content: tpl.render("nginx.conf", p)?,
            mode: 0o644,
        });
        out.push(Generated {
            path: sh,
            content: tpl.render("chk_nginx.sh", p)?,
            mode: 0o755,
        });
    }
    Ok(out)
}
