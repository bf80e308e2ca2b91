//! `haconf.toml`: the cluster's intent. Read with serde + toml; a mistake is a diagnostic that
//! points into the TOML (rule HA001).

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceDb, Span};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use toml::Spanned;

mod values;
pub(crate) use values::{is_name, is_unsafe_char};

/// `haconf.toml`: what a cluster is meant to be. `check` compares the configs with it,
/// `generate` renders them from it, `init` infers it from them.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub cluster: Option<ClusterSpec>,
    /// The nodes, in order: without explicit priorities, the first is the master.
    #[serde(default, rename = "node")]
    pub nodes: Vec<NodeSpec>,
    /// VRRP instances; two with opposite priorities make an active-active pair.
    #[serde(default, rename = "instance")]
    pub instances: Vec<InstanceSpec>,
    pub health_check: Option<HealthCheckSpec>,
    pub nginx: Option<NginxSpec>,
    /// Lint settings for `haconf check`.
    pub lint: Option<LintSpec>,
    /// Layout settings for `haconf fmt` (and `haconf fix --format`).
    pub format: Option<FormatSpec>,
}

#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// The cluster's name; a VRID is derived from it when an instance gives none.
    pub name: Option<String>,
    /// The nodes' subnet, `192.168.0.0/24`.
    #[schemars(with = "Option<String>")]
    pub subnet: Option<Spanned<String>>,
    /// The interface VRRP runs on (default `eth0`).
    pub interface: Option<String>,
    /// Timers and VRRP version: `fast`, `default` or `conservative`.
    #[schemars(with = "Option<String>")]
    pub failover: Option<Spanned<String>>,
    /// The network the nodes share: `cloud` (drops multicast: CL018 is a warning) or `lan`
    /// (carries multicast: CL018 stays quiet). Unset: CL018 is info.
    pub network: Option<Network>,
    /// `unicast` (default: clouds drop multicast) or `multicast`.
    #[schemars(with = "Option<String>")]
    pub transport: Option<Spanned<String>>,
    /// VRRP password (PASS authentication), at most 8 characters; not with VRRPv3 (`fast`).
    #[schemars(with = "Option<String>")]
    pub auth_pass: Option<Spanned<String>>,
    /// The fleet this cluster belongs to: a directory of clusters (relative to this file's
    /// directory) whose VRIDs `generate` avoids when it derives one. Without it (or
    /// `generate --fleet DIR`), no other directory is read.
    #[schemars(with = "Option<String>")]
    pub fleet: Option<Spanned<String>>,
}

/// The network a cluster runs on, as far as VRRP cares.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// A cloud VPC (AWS, GCP, Azure, OpenStack, ...): multicast is dropped.
    Cloud,
    /// A LAN, a lab or a container bridge where multicast reaches every node.
    Lan,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The node's own address (unicast source and peer); required with unicast.
    #[schemars(with = "Option<String>")]
    pub address: Option<Spanned<String>>,
    /// Its IPv6 address, for instances with IPv6 VIPs over unicast.
    #[schemars(with = "Option<String>")]
    pub address6: Option<Spanned<String>>,
    /// This node's interface, when it differs from the cluster's.
    pub interface: Option<String>,
}

impl NodeSpec {
    pub fn address(&self) -> Option<IpAddr> {
        self.address.as_ref().and_then(|a| a.get_ref().parse().ok())
    }

    /// The node's address of one family: `address` or `address6`, whichever is IPv6 or not.
    pub fn address_of(&self, v6: bool) -> Option<IpAddr> {
        [&self.address, &self.address6]
            .into_iter()
            .flatten()
            .filter_map(|a| a.get_ref().parse::<IpAddr>().ok())
            .find(|ip| ip.is_ipv6() == v6)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Priority {
    /// `{ ha1 = 101, ha2 = 100 }`
    Map(BTreeMap<String, u8>),
    /// `["ha1", "ha2"]`: highest first.
    Order(Vec<String>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    /// The instance's name (default `VI_1`, `VI_2`, ...).
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// 1..255; derived from the cluster name when absent, avoiding the fleet's others.
    #[schemars(with = "Option<i64>")]
    pub virtual_router_id: Option<Spanned<i64>>,
    /// The virtual addresses with their prefix, all IPv4 or all IPv6.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub vips: Vec<Spanned<String>>,
    /// A map of node to priority (1..254), or the nodes highest first.
    #[schemars(with = "Option<Priority>")]
    pub priority: Option<Spanned<Priority>>,
}

#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// `http` (default: a request to the local nginx) or `process`.
    pub kind: Option<String>,
    /// Seconds between runs (whole seconds; default from the failover profile).
    pub interval: Option<f64>,
    /// Seconds before keepalived kills a run (below the interval).
    pub timeout: Option<f64>,
    pub fall: Option<u32>,
    pub rise: Option<u32>,
    /// The weight of a failed check (default: just past the largest priority gap).
    pub weight: Option<i32>,
    /// The path the HTTP check requests (default `/haconf-health`, answered by nginx itself;
    /// `/` also tests the backends).
    pub path: Option<String>,
    /// The process a `process` check looks for (default `nginx`).
    pub process: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NginxSpec {
    /// The port nginx listens on, on every address (default 80).
    pub listen: Option<u16>,
    /// `host:port` of the upstream servers; none: nginx serves static files.
    #[serde(default)]
    pub backends: Vec<String>,
    /// Where static files live (default `/var/www/html`).
    pub root: Option<String>,
    /// `server_name` (default `_`).
    pub server_name: Option<String>,
    /// Files whose differences between nodes are intended (CL015 leaves them alone).
    #[serde(default, rename = "per-node")]
    pub per_node: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintSpec {
    /// Rule codes, prefixes or groups to run instead of the default set (`ALL`: every rule).
    #[serde(default)]
    pub select: Vec<String>,
    /// Rule codes, prefixes or groups to run in addition to the default set (or `select`).
    #[serde(default, rename = "extend-select")]
    pub extend_select: Vec<String>,
    /// Rule codes or prefixes not to run.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// The deploy sets file modes (and ships scripts) itself: missing execute bits and script
    /// files absent from the tree are info, not errors (HC006, KA018), even in an `etc/`
    /// overlay.
    #[serde(default, rename = "deploy-sets-modes")]
    pub deploy_sets_modes: bool,
    /// The lowest severity that fails the run: `error`, `warning` or `info`.
    #[serde(rename = "fail-on")]
    #[schemars(with = "Option<String>")]
    pub fail_on: Option<Spanned<String>>,
    /// `{ "ha1/nginx.conf" = ["NX010"] }`: paths relative to the cluster directory, globs allowed.
    #[serde(default, rename = "per-file-ignores")]
    pub per_file_ignores: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatSpec {
    /// Indent blocks with `space`s (default) or one `tab` per level.
    #[serde(rename = "indent-style")]
    pub indent_style: Option<IndentStyle>,
    /// Spaces per level with `indent-style = "space"`: 1..16 (default 4).
    #[serde(rename = "indent-width")]
    #[schemars(range(min = 1, max = 16))]
    pub indent_width: Option<u8>,
    /// `haconf fix` formats the files it writes, as `haconf fix --format` does (default false).
    #[serde(default, rename = "after-fix")]
    pub after_fix: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IndentStyle {
    Space,
    Tab,
}

/// The JSON Schema of haconf.toml (checked in as `schemas/haconf.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Spec);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

pub use crate::net::Net;

impl Spec {
    pub fn node(&self, name: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.name.get_ref() == name)
    }
    pub fn subnet(&self) -> Option<Net> {
        self.cluster
            .as_ref()?
            .subnet
            .as_ref()
            .and_then(|s| Net::parse(s.get_ref()))
    }
}

fn span_of<T>(s: &Spanned<T>) -> Span {
    let r = s.span();
    Span::new(r.start, r.end)
}

/// Reads haconf.toml; returns the spec (if it parses) and HA001 diagnostics.
pub fn parse(db: &SourceDb, file: FileId) -> (Option<Spec>, Vec<Diagnostic>) {
    let text = &db.get(file).text;
    let spec: Spec = match toml::from_str(text) {
        Ok(s) => s,
        Err(e) => {
            let span = e
                .span()
                .map_or(Span::new(0, 0), |r| Span::new(r.start, r.end));
            let msg = e.message().to_owned();
            return (
                None,
                vec![Diagnostic::new(
                    "HA001",
                    file,
                    span,
                    format!("haconf.toml: {msg}"),
                )],
            );
        }
    };
    let mut errs = values::check_strings(text, file);
    let mut err = |span: Span, msg: String| errs.push(Diagnostic::new("HA001", file, span, msg));
    for i in &spec.instances {
        if let Some(v) = &i.virtual_router_id
            && !(1..=255).contains(v.get_ref())
        {
            err(
                span_of(v),
                format!("virtual_router_id {} is outside 1..255", v.get_ref()),
            );
        }
        if let Some(p) = &i.priority {
            let names: Vec<&String> = match p.get_ref() {
                Priority::Map(m) => m.keys().collect(),
                Priority::Order(o) => o.iter().collect(),
            };
            for n in names {
                if !spec.nodes.is_empty() && spec.node(n).is_none() {
                    err(
                        span_of(p),
                        format!(
                            "priority names `{}`, which no [[node]] declares",
                            n.escape_debug()
                        ),
                    );
                }
            }
        }
    }
    if let Some(l) = &spec.lint
        && let Some(f) = &l.fail_on
        && crate::diagnostic::Severity::parse(f.get_ref()).is_none()
    {
        err(
            span_of(f),
            format!(
                "fail-on `{}` must be error, warning or info",
                f.get_ref().escape_debug()
            ),
        );
    }
    (Some(spec), errs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets() {
        let n = Net::parse("192.168.0.0/24").unwrap();
        assert!(n.contains("192.168.0.77".parse().unwrap()));
        assert!(!n.contains("192.168.1.1".parse().unwrap()));
        assert!(n.is_network_or_broadcast("192.168.0.255".parse().unwrap()));
        assert!(n.is_network_or_broadcast("192.168.0.0".parse().unwrap()));
        assert!(!n.is_network_or_broadcast("192.168.0.1".parse().unwrap()));
        let v6 = Net::parse("fd00::/64").unwrap();
        assert!(v6.contains("fd00::5".parse().unwrap()));
        assert!(Net::parse("10.0.0.0/33").is_none());
        assert!(
            Net::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }
}
