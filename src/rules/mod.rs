//! The rule catalog. Each rule lives in its own file with its code, kebab-case name, default
//! severity, fix availability, documentation and examples next to its check; this module only
//! lists them and runs them.

pub mod cluster;
pub mod keepalived;
pub mod meta;
pub mod nginx;
pub mod script;
pub mod suppress;

use crate::cluster::ClusterModel;
use crate::diagnostic::{Diagnostic, Severity};
use crate::model::NodeModel;
use crate::project::{Cluster, KaUnit, NgUnit, Node, Project};
use crate::source::SourceDb;

/// Whether a rule can fix what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixKind {
    None,
    /// Safe in some cases (e.g. a single close match for a typo).
    SafeSometimes,
    Safe,
    Unsafe,
}

impl FixKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::None => "none",
            FixKind::SafeSometimes => "safe (sometimes)",
            FixKind::Safe => "safe",
            FixKind::Unsafe => "unsafe",
        }
    }
}

/// What kind of problem a rule finds. The default selection is every rule whose `default` is
/// true: what breaks failover, loses the VIP, makes keepalived or nginx reject or silently
/// ignore the configuration, or is a real security hole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// Breaks failover, loses the VIP, or keepalived/nginx rejects or silently ignores the
    /// configuration. On by default.
    Correctness,
    /// A real security hole. On by default.
    Security,
    /// Very likely a mistake, though a deliberate setup can look the same: on by default
    /// where the pattern almost never is deliberate, opt-in otherwise.
    Suspicious,
    /// Facts and habits worth knowing, not defects. Opt-in.
    Pedantic,
}

impl Group {
    pub const ALL: [Group; 4] = [
        Group::Correctness,
        Group::Security,
        Group::Suspicious,
        Group::Pedantic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Group::Correctness => "correctness",
            Group::Security => "security",
            Group::Suspicious => "suspicious",
            Group::Pedantic => "pedantic",
        }
    }

    pub fn parse(s: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// What one keepalived check sees.
pub struct KaCtx<'a> {
    pub db: &'a SourceDb,
    pub node: &'a Node,
    pub unit: &'a KaUnit,
}

/// What one nginx check sees.
pub struct NgCtx<'a> {
    pub db: &'a SourceDb,
    pub node: &'a Node,
    pub unit: &'a NgUnit,
}

/// What a rule on one node's model sees: the node, its model, and its cluster (for fixes that
/// need the other nodes, such as the peers KA010 adds).
pub struct NodeCtx<'a> {
    pub db: &'a SourceDb,
    pub cluster: &'a Cluster,
    pub cm: &'a ClusterModel,
    pub index: usize,
}

impl NodeCtx<'_> {
    pub fn node(&self) -> &Node {
        &self.cluster.nodes[self.index]
    }
    pub fn model(&self) -> &NodeModel {
        &self.cm.nodes[self.index]
    }
}

/// What a cluster rule sees.
pub struct ClusterCtx<'a> {
    pub db: &'a SourceDb,
    pub cluster: &'a Cluster,
    pub cm: &'a ClusterModel,
}

/// What a fleet rule sees: every cluster.
pub struct FleetCtx<'a> {
    pub db: &'a SourceDb,
    pub clusters: &'a [(&'a Cluster, ClusterModel)],
}

#[derive(Clone, Copy)]
pub enum Check {
    Keepalived(fn(&KaCtx, &mut Vec<Diagnostic>)),
    Nginx(fn(&NgCtx, &mut Vec<Diagnostic>)),
    Node(fn(&NodeCtx, &mut Vec<Diagnostic>)),
    /// One health check of a node (a script file, or an inline `script "..."` command).
    Script(fn(&script::ScriptCtx, &mut Vec<Diagnostic>)),
    Cluster(fn(&ClusterCtx, &mut Vec<Diagnostic>)),
    Fleet(fn(&FleetCtx, &mut Vec<Diagnostic>)),
    /// Produced by the engine itself (suppressions, the spec), not by a check.
    Engine,
}

/// A small node directory: `(relative path, content)` pairs.
pub type Example = &'static [(&'static str, &'static str)];

pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub group: Group,
    /// Whether the rule runs without `--select` / `extend-select`.
    pub default: bool,
    /// One line: why the rule has its group and default.
    pub why: &'static str,
    pub fix: FixKind,
    /// One line: what it finds.
    pub summary: &'static str,
    /// Markdown with the sections *What it finds*, *Why it matters*, *Example*, *Fix*,
    /// *References*.
    pub docs: &'static str,
    pub check: Check,
    /// Must trigger the rule.
    pub bad: Example,
    /// Must not trigger it.
    pub good: Example,
}

pub fn all() -> &'static [&'static Rule] {
    static RULES: &[&Rule] = &[
        &keepalived::syntax_error::RULE,
        &keepalived::unknown_keyword::RULE,
        &keepalived::invalid_value::RULE,
        &keepalived::missing_required::RULE,
        &keepalived::include_not_found::RULE,
        &keepalived::unicast_source_without_peers::RULE,
        &keepalived::redundant_mcast_source::RULE,
        &keepalived::auth_pass_truncated::RULE,
        &keepalived::plaintext_auth::RULE,
        &keepalived::nopreempt_with_master::RULE,
        &keepalived::script_security_disabled::RULE,
        &keepalived::undefined_track_script::RULE,
        &keepalived::unused_vrrp_script::RULE,
        &keepalived::script_not_found::RULE,
        &keepalived::vip_without_prefix::RULE,
        &keepalived::duplicate_vrid_on_interface::RULE,
        &keepalived::vrrp_strict_blocks_vip::RULE,
        &keepalived::priority_255_with_weight::RULE,
        &keepalived::script_timeout_not_below_interval::RULE,
        &keepalived::weight_in_sync_group::RULE,
        &keepalived::no_health_check::RULE,
        &keepalived::typographic_quotes::RULE,
        &keepalived::master_without_priority::RULE,
        &keepalived::statements_on_one_line::RULE,
        &keepalived::interface_not_found::RULE,
        &script::check_never_fails::RULE,
        &script::check_only_process::RULE,
        &script::check_stops_keepalived::RULE,
        &script::check_has_side_effects::RULE,
        &script::check_slower_than_timeout::RULE,
        &script::script_not_executable::RULE,
        &script::probe_ignores_http_errors::RULE,
        &script::check_probes_vip::RULE,
        &script::script_syntax_error::RULE,
        &script::inline_shell_syntax::RULE,
        &nginx::syntax_error::RULE,
        &nginx::unknown_directive::RULE,
        &nginx::directive_not_allowed_here::RULE,
        &nginx::wrong_argument_count::RULE,
        &nginx::include_not_found::RULE,
        &nginx::run_as_root::RULE,
        &nginx::duplicate_values::RULE,
        &nginx::listen_on_vip::RULE,
        &nginx::swallowed_directive::RULE,
        &cluster::vrid_mismatch::RULE,
        &cluster::vip_mismatch::RULE,
        &cluster::multiple_masters::RULE,
        &cluster::priority_tie::RULE,
        &cluster::master_not_highest_priority::RULE,
        &cluster::unicast_peers_asymmetric::RULE,
        &cluster::unicast_peer_is_self::RULE,
        &cluster::auth_mismatch::RULE,
        &cluster::advert_params_mismatch::RULE,
        &cluster::router_id_duplicate::RULE,
        &cluster::vip_outside_subnet::RULE,
        &cluster::vip_collides_with_address::RULE,
        &cluster::failover_impossible::RULE,
        &cluster::vrid_collision_across_clusters::RULE,
        &cluster::nginx_config_drift::RULE,
        &cluster::health_check_drift::RULE,
        &cluster::spec_mismatch::RULE,
        &cluster::split_brain_risk_multicast::RULE,
        &cluster::keepalived_option_drift::RULE,
        &cluster::sync_group_mismatch::RULE,
        &cluster::vip_holder_unexpected::RULE,
        &meta::INVALID_SPEC,
        &meta::UNUSED_SUPPRESSION,
    ];
    RULES
}

/// The one finding for a file that is not UTF-8 text (see [`crate::source::NotText`]): an
/// error for a binary file (not parsed, so nothing else is said about it), a note for text
/// with a few bytes that are not UTF-8.
pub fn not_text(
    code: &'static str,
    db: &SourceDb,
    file: crate::source::FileId,
) -> Option<Diagnostic> {
    use crate::source::{NotText, Span};
    let f = db.get(file);
    Some(match f.not_text()? {
        NotText::Binary { offset, why } => Diagnostic::new(
            code,
            file,
            Span::new(offset, (offset + 1).min(f.text.len())),
            format!("not a text file: {why}; haconf does not check it"),
        )
        .with_help(
            "keepalived and nginx read their configs as text: is this the file you meant to ship?",
        ),
        NotText::NotUtf8 { offset, count } => {
            let mut d = Diagnostic::new(
                code,
                file,
                Span::new(offset, (offset + 1).min(f.text.len())),
                format!(
                    "not UTF-8 text: {count} byte{} that {} not UTF-8, the first here; haconf reads each as `?`",
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "is" } else { "are" }
                ),
            );
            d.severity = Severity::Info;
            d
        }
    })
}

pub fn by_code(code: &str) -> Option<&'static Rule> {
    all().iter().copied().find(|r| r.code == code)
}

/// Which rules run and which findings count, from `--select`, `--ignore` and the like.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Code prefixes, group names or `ALL`; empty means the default set.
    pub select: Vec<String>,
    /// Added to `select` (or to the default set).
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
}

/// Whether a selector (`ALL`, a code prefix, or a group name) names `code`.
fn selects(pattern: &str, code: &str) -> bool {
    if pattern == "ALL" || code.starts_with(pattern) {
        return true;
    }
    match Group::parse(pattern) {
        // shellcheck's findings are pedantic: opt-in, like its own optional checks.
        Some(Group::Pedantic) if script::shellcheck::is_sc(code) => true,
        Some(g) => by_code(code).is_some_and(|r| r.group == g),
        None => false,
    }
}

impl Selection {
    /// Every rule, shellcheck included (`--select ALL`).
    pub fn everything() -> Selection {
        Selection {
            select: vec!["ALL".into()],
            ..Selection::default()
        }
    }

    pub fn enabled(&self, code: &str) -> bool {
        let base = if self.select.is_empty() {
            by_code(code).is_some_and(|r| r.default)
        } else {
            self.select.iter().any(|p| selects(p, code))
        };
        (base || self.extend_select.iter().any(|p| selects(p, code)))
            && !self.ignore.iter().any(|p| selects(p, code))
    }

    /// This selection refined by a cluster's `[lint]`: the command line's `--select` wins
    /// over the file's `select`; `extend-select` and the ignores add up.
    pub fn with_spec(&self, spec: Option<&crate::cluster::spec::Spec>) -> LocalSelection {
        let lint = spec.and_then(|s| s.lint.clone()).unwrap_or_default();
        let select = if self.select.is_empty() {
            lint.select.clone()
        } else {
            self.select.clone()
        };
        let mut extend_select = self.extend_select.clone();
        extend_select.extend(lint.extend_select.iter().cloned());
        let mut ignore = self.ignore.clone();
        ignore.extend(lint.ignore.iter().cloned());
        LocalSelection {
            sel: Selection {
                select,
                extend_select,
                ignore,
            },
            per_file: lint.per_file_ignores,
            deploy_sets_modes: lint.deploy_sets_modes,
        }
    }
}

/// A selection with a cluster's per-file ignores.
pub struct LocalSelection {
    pub sel: Selection,
    pub per_file: std::collections::BTreeMap<String, Vec<String>>,
    /// `[lint] deploy-sets-modes`: file modes in the tree are not the deployed ones.
    pub deploy_sets_modes: bool,
}

impl LocalSelection {
    pub fn enabled(&self, code: &str) -> bool {
        self.sel.enabled(code)
    }

    /// Whether any shellcheck code can be reported: shellcheck is opt-in (`--select SC`,
    /// `--select SC2086`, `extend-select = ["SC"]`, `ALL`, or the `pedantic` group).
    pub fn sc_enabled(&self) -> bool {
        let sel = &self.sel;
        let names_sc =
            |p: &String| p == "ALL" || p == "pedantic" || p.starts_with("SC") || p == "S";
        let selected = sel.select.iter().any(names_sc) || sel.extend_select.iter().any(names_sc);
        selected
            && !sel
                .ignore
                .iter()
                .any(|p| p == "ALL" || p == "SC" || p == "S")
    }

    /// Drops diagnostics in files that `per-file-ignores` (paths relative to the cluster
    /// directory, globs allowed) exempts from their code.
    pub fn apply_per_file(&self, db: &SourceDb, cluster: &Cluster, diags: &mut Vec<Diagnostic>) {
        if self.per_file.is_empty() {
            return;
        }
        let Some(dir) = &cluster.dir else { return };
        let pats: Vec<(glob::Pattern, &Vec<String>)> = self
            .per_file
            .iter()
            .filter_map(|(p, codes)| glob::Pattern::new(p).ok().map(|g| (g, codes)))
            .collect();
        diags.retain(|d| {
            let path = &db.get(d.file).path;
            let Ok(rel) = path.strip_prefix(dir) else {
                return true;
            };
            !pats.iter().any(|(g, codes)| {
                g.matches_path(rel)
                    && codes
                        .iter()
                        .any(|c| c == "ALL" || d.code.starts_with(c.as_str()))
            })
        })
    }
}

/// The result of a run: the diagnostics, and the cluster models (for `--failover`).
pub struct Outcome<'p> {
    pub diagnostics: Vec<Diagnostic>,
    pub clusters: Vec<(&'p Cluster, ClusterModel)>,
}

/// Runs every enabled rule over the project. Diagnostics come back sorted and deduplicated
/// (a file included twice is checked twice but reported once), with suppressions applied.
pub fn run(project: &Project, sel: &Selection) -> Vec<Diagnostic> {
    run_full(project, sel).diagnostics
}

pub fn run_full<'p>(project: &'p Project, sel: &Selection) -> Outcome<'p> {
    let db = &project.db;
    let clusters: Vec<(&Cluster, ClusterModel)> = project
        .clusters
        .iter()
        .map(|c| (c, crate::cluster::build(db, c)))
        .collect();
    let mut out = Vec::new();
    for (cluster, cm) in &clusters {
        let mut found = Vec::new();
        let local = sel.with_spec(cm.spec.as_ref());
        for (index, node) in cluster.nodes.iter().enumerate() {
            let rules: Vec<&Rule> = all()
                .iter()
                .copied()
                .filter(|r| local.enabled(r.code))
                .collect();
            let run_node = |rules: &[&Rule]| {
                let mut out = Vec::new();
                for rule in rules {
                    // A rule that panics is a bug of haconf: it becomes an error on the node
                    // (so the run fails and says which rule), never a silent "no findings".
                    let before = out.len();
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_node_rule(db, cluster, cm, index, node, rule, &mut out)
                    }));
                    if let Err(payload) = ran {
                        out.truncate(before);
                        out.extend(rule_panicked(node, rule.code, payload.as_ref()));
                    }
                }
                out
            };
            // A big node (an editor's 10,000-line file) has its rules split over two
            // threads; small ones, the common case in fleets, stay on one.
            let mut node_diags = if node_bytes(db, node) > PARALLEL_BYTES && rules.len() > 1 {
                let (a, b) = rules.split_at(rules.len() / 2);
                std::thread::scope(|s| {
                    let h = s.spawn(|| run_node(b));
                    let mut first = run_node(a);
                    first.extend(h.join().expect("rule panics are caught in run_node"));
                    first
                })
            } else {
                run_node(&rules)
            };
            check_scripts(db, node, &cm.nodes[index], &local, &mut node_diags);
            for d in &mut node_diags {
                if d.node.is_none() {
                    d.node = Some(node.name.clone());
                }
            }
            found.extend(node_diags);
        }
        for rule in all() {
            if let Check::Cluster(f) = rule.check
                && local.enabled(rule.code)
            {
                f(&ClusterCtx { db, cluster, cm }, &mut found);
            }
        }
        if local.enabled("HA001") {
            found.extend(cm.spec_errors.iter().cloned());
        }
        local.apply_per_file(db, cluster, &mut found);
        out.extend(found);
    }
    for rule in all() {
        if let Check::Fleet(f) = rule.check
            && sel.enabled(rule.code)
        {
            f(
                &FleetCtx {
                    db,
                    clusters: &clusters,
                },
                &mut out,
            );
        }
    }
    // A code counts as enabled for suppressions when the command line or any cluster's
    // `[lint]` enables it (HA002 is opt-in, often through `extend-select`).
    let locals: Vec<LocalSelection> = clusters
        .iter()
        .map(|(_, cm)| sel.with_spec(cm.spec.as_ref()))
        .collect();
    let mut out = suppress::apply(project, out, &|c| {
        sel.enabled(c) || locals.iter().any(|l| l.enabled(c))
    });
    sort_dedup(db, &mut out);
    Outcome {
        diagnostics: out,
        clusters,
    }
}

/// Above this much text in one node, its rules run on two threads.
const PARALLEL_BYTES: usize = 64 * 1024;

/// The size of a node's configuration text.
/// Runs one per-node rule (keepalived, nginx or node-wide) on `node`.
fn run_node_rule(
    db: &SourceDb,
    cluster: &Cluster,
    cm: &ClusterModel,
    index: usize,
    node: &Node,
    rule: &Rule,
    out: &mut Vec<Diagnostic>,
) {
    match rule.check {
        Check::Keepalived(f) => {
            if let Some(unit) = &node.keepalived {
                f(&KaCtx { db, node, unit }, out);
            }
        }
        Check::Nginx(f) => {
            for unit in &node.nginx {
                f(&NgCtx { db, node, unit }, out);
            }
        }
        Check::Node(f) => f(
            &NodeCtx {
                db,
                cluster,
                cm,
                index,
            },
            out,
        ),
        _ => {}
    }
}

/// The error that stands for a rule that panicked on `node`, at the start of its main file.
fn rule_panicked(
    node: &Node,
    code: &'static str,
    payload: &(dyn std::any::Any + Send),
) -> Option<Diagnostic> {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    let file = node
        .keepalived
        .as_ref()
        .map(|u| u.root)
        .or_else(|| node.nginx.first().map(|u| u.root))?;
    let mut d = Diagnostic::new(
        code,
        file,
        crate::source::Span::new(0, 0),
        format!(
            "internal error: rule {code} failed on node `{}` ({what}); its findings are missing",
            node.name
        ),
    )
    .with_help("this is a bug in haconf: please report it with the file that caused it");
    d.severity = Severity::Error;
    Some(d)
}

fn node_bytes(db: &SourceDb, node: &Node) -> usize {
    let ka = node
        .keepalived
        .iter()
        .flat_map(|u| u.trees.keys())
        .map(|&f| db.get(f).text.len());
    let ng = node
        .nginx
        .iter()
        .flat_map(|u| u.trees.keys())
        .map(|&f| db.get(f).text.len());
    ka.chain(ng).sum()
}

/// The HC rules and shellcheck on one node's health checks.
fn check_scripts(
    db: &SourceDb,
    node: &Node,
    model: &NodeModel,
    local: &LocalSelection,
    out: &mut Vec<Diagnostic>,
) {
    let hc: Vec<_> = all()
        .iter()
        .filter_map(|r| match r.check {
            Check::Script(f) if local.enabled(r.code) => Some(f),
            _ => None,
        })
        .collect();
    let sc = local.sc_enabled();
    if hc.is_empty() && !sc {
        return;
    }
    let targets = script::targets(db, node, model);
    let deployed = tree_is_deployed(node, local.deploy_sets_modes);
    for target in &targets {
        let cx = script::ScriptCtx {
            db,
            node,
            model,
            target,
            deployed,
        };
        for f in &hc {
            f(&cx, out);
        }
    }
    if sc && !targets.is_empty() {
        let refs: Vec<&script::Target> = targets.iter().collect();
        for found in script::shellcheck::run_all(db, &refs) {
            out.extend(found.into_iter().filter(|d| local.enabled(d.code)));
        }
    }
}

/// Whether the node's tree shows what keepalived will find on the host: file modes, and which
/// scripts exist. True with the host's facts (`haconf pull`) and in an `etc/` overlay (unless
/// `[lint] deploy-sets-modes`); false in a flat repository layout, where scripts are often
/// installed, and their modes set, by the deploy.
pub fn tree_is_deployed(node: &Node, deploy_sets_modes: bool) -> bool {
    node.facts.is_some() || (node.layout == crate::project::Layout::Etc && !deploy_sets_modes)
}

/// `[lint] deploy-sets-modes` of a cluster's spec.
pub fn deploy_sets_modes(cm: &ClusterModel) -> bool {
    cm.spec
        .as_ref()
        .and_then(|s| s.lint.as_ref())
        .is_some_and(|l| l.deploy_sets_modes)
}

pub fn sort_dedup(db: &SourceDb, diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (
            db.get(a.file).path.as_path(),
            a.span.start,
            a.code,
            &a.message,
        )
            .cmp(&(
                db.get(b.file).path.as_path(),
                b.span.start,
                b.code,
                &b.message,
            ))
    });
    diags.dedup_by(|a, b| {
        a.file == b.file && a.span == b.span && a.code == b.code && a.message == b.message
    });
}

/// The closest candidates to `word` (for did-you-mean), best first.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let lw = word.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .filter(|c| !c.starts_with('<'))
        .filter_map(|c| {
            if c.eq_ignore_ascii_case(word) {
                return Some((0, c));
            }
            let d = strsim::damerau_levenshtein(&lw, &c.to_ascii_lowercase());
            let limit = match word.len() {
                0..=3 => 0,
                4..=6 => 1,
                7..=12 => 2,
                _ => 3,
            };
            (d <= limit).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    let best = scored.first().map(|s| s.0);
    scored
        .into_iter()
        .filter(|s| Some(s.0) == best)
        .map(|s| s.1)
        .collect()
}
