//! The typed view of one node, built from its syntax trees, with spans back into the files.
//!
//! It reads what keepalived reads: only the lines active on this node (`@id`), definitions
//! expanded, the last value of a repeated scalar keyword, and keepalived's defaults
//! (`state MASTER` without `priority` means 255).

pub mod conditions;

use crate::project::{KaUnit, NgUnit, Node, is_ka_include};
use crate::source::{FileId, Span};
use crate::syntax::keepalived::{Item, Stmt};
use conditions::{active, definitions, expand};
use std::collections::HashMap;
use std::net::IpAddr;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Val<T> {
    pub value: T,
    pub file: FileId,
    pub span: Span,
}

/// A whole statement: its keyword's file and span (for deletions and related locations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub file: FileId,
    /// The statement's words.
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct GlobalDefs {
    /// The `global_defs` block (the last one if several), for insertions.
    pub block: Option<BlockLoc>,
    pub router_id: Option<Val<String>>,
    pub enable_script_security: Option<Loc>,
    pub script_user: Option<Val<String>>,
    pub vrrp_strict: Option<Loc>,
    pub vrrp_version: Option<Val<u8>>,
    pub vrrp_garp_interval: Option<Val<String>>,
    pub vrrp_down_timer_adverts: Option<Val<u32>>,
}

/// Where a block is, for edits that insert a line into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLoc {
    pub file: FileId,
    /// The statement that opens the block (keyword ... `{`).
    pub head: Span,
    pub open: Span,
    pub close: Option<Span>,
}

#[derive(Debug, Clone)]
pub struct Script {
    pub name: Val<String>,
    pub block: Option<BlockLoc>,
    /// The command as written (`/etc/keepalived/chk.sh`, `"killall -0 nginx"`).
    pub script: Option<Val<String>>,
    pub interval: Option<Val<f64>>,
    pub timeout: Option<Val<f64>>,
    pub weight: Option<Val<i64>>,
    pub reverse: bool,
    pub fall: Option<Val<u64>>,
    pub rise: Option<Val<u64>>,
    pub user: Option<Val<String>>,
}

impl Script {
    pub fn interval(&self) -> f64 {
        self.interval.as_ref().map_or(1.0, |v| v.value)
    }
    /// keepalived's default timeout is the interval.
    pub fn timeout(&self) -> f64 {
        self.timeout.as_ref().map_or(self.interval(), |v| v.value)
    }
    /// The timeout haconf suggests (KA023): the interval − 1 s, in whole seconds (keepalived
    /// 2.2 reads no fractions here); none for a 1 s interval, which nothing is below.
    pub fn suggested_timeout(&self) -> Option<f64> {
        let interval = self.interval().floor();
        (interval >= 2.0).then_some(interval - 1.0)
    }
    /// The timeout once KA023 is satisfied: the configured one when it is below the interval,
    /// else the suggested one.
    pub fn sound_timeout(&self) -> f64 {
        if self.timeout() < self.interval() {
            self.timeout()
        } else {
            self.suggested_timeout().unwrap_or(self.timeout())
        }
    }
    pub fn weight(&self) -> i64 {
        self.weight.as_ref().map_or(0, |v| v.value)
    }
    pub fn fall(&self) -> u64 {
        self.fall.as_ref().map_or(1, |v| v.value)
    }
    pub fn rise(&self) -> u64 {
        self.rise.as_ref().map_or(1, |v| v.value)
    }
    /// The program the command runs (first word of the command).
    pub fn program(&self) -> Option<&str> {
        self.script
            .as_ref()
            .and_then(|s| s.value.split_whitespace().next())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Master,
    Backup,
}

#[derive(Debug, Clone)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix: Option<u8>,
    pub dev: Option<String>,
    pub label: Option<String>,
    pub file: FileId,
    pub span: Span,
}

impl Vip {
    /// `addr/prefix` with keepalived's default prefix (/32, /128).
    pub fn normalized(&self) -> String {
        let p = self
            .prefix
            .unwrap_or(if self.addr.is_ipv4() { 32 } else { 128 });
        format!("{}/{}", self.addr, p)
    }
}

#[derive(Debug, Clone)]
pub struct Tracker {
    pub name: String,
    /// A per-instance `weight` on the track line, overriding the object's own.
    pub weight: Option<i64>,
    pub reverse: Option<bool>,
    pub file: FileId,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Auth {
    pub auth_type: Option<Val<String>>,
    pub auth_pass: Option<Val<String>>,
    pub block: BlockLoc,
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub name: Val<String>,
    pub block: BlockLoc,
    pub state: Option<Val<State>>,
    pub interface: Option<Val<String>>,
    pub vrid: Option<Val<u8>>,
    pub priority: Option<Val<u8>>,
    pub advert_int: Option<Val<f64>>,
    pub version: Option<Val<u8>>,
    pub nopreempt: Option<Loc>,
    pub preempt_delay: Option<Loc>,
    /// The seconds `preempt_delay` gives (keepalived takes 0 to 1000).
    pub preempt_delay_secs: Option<f64>,
    pub auth: Option<Auth>,
    pub unicast_src_ip: Option<Val<IpAddr>>,
    /// The `unicast_peer` block, if any.
    pub unicast_peer_block: Option<BlockLoc>,
    pub unicast_peers: Vec<Val<IpAddr>>,
    pub mcast_src_ip: Option<Val<IpAddr>>,
    pub vips: Vec<Vip>,
    pub vip_block: Option<BlockLoc>,
    pub track_scripts: Vec<Tracker>,
    pub track_script_block: Option<BlockLoc>,
    pub track_interfaces: Vec<Tracker>,
    pub track_processes: Vec<Tracker>,
    pub track_files: Vec<Tracker>,
    pub notify: Vec<(String, Val<String>)>,
    pub strict_mode: Option<Loc>,
    pub accept: Option<Loc>,
    pub no_accept: Option<Loc>,
    pub down_timer_adverts: Option<Val<u32>>,
    /// Every other keyword of the instance, with its arguments joined (for drift checks).
    pub options: Vec<(String, Val<String>)>,
}

impl Instance {
    /// keepalived's effective priority: given, else 255 for `state MASTER`, else 100.
    pub fn priority(&self) -> u8 {
        match (&self.priority, &self.state) {
            (Some(p), _) => p.value,
            (None, Some(s)) if s.value == State::Master => 255,
            _ => 100,
        }
    }
    /// Where the priority is written, else the instance's name (for diagnostics).
    pub fn priority_site(&self) -> (FileId, Span) {
        self.priority
            .as_ref()
            .map_or((self.name.file, self.name.span), |v| (v.file, v.span))
    }
    pub fn is_master(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.value == State::Master)
    }
    pub fn advert_int(&self) -> f64 {
        self.advert_int.as_ref().map_or(1.0, |v| v.value)
    }
    /// The VRRP version: the instance's, else the global one, else 3 for IPv6, else 2.
    pub fn version(&self, global: &GlobalDefs) -> u8 {
        if let Some(v) = &self.version {
            return v.value;
        }
        if let Some(v) = &global.vrrp_version {
            return v.value;
        }
        if self.vips.first().is_some_and(|v| v.addr.is_ipv6()) {
            3
        } else {
            2
        }
    }
    /// The address this node sends adverts from, as configured.
    pub fn source(&self) -> Option<&Val<IpAddr>> {
        self.unicast_src_ip.as_ref().or(self.mcast_src_ip.as_ref())
    }
    pub fn uses_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
    /// The VIP set, normalised and sorted.
    pub fn vip_set(&self) -> Vec<String> {
        let mut v: Vec<String> = self.vips.iter().map(Vip::normalized).collect();
        v.sort();
        v.dedup();
        v
    }
    /// Whether any tracker can change this instance's priority or state.
    pub fn has_health_check(&self) -> bool {
        !self.track_scripts.is_empty()
            || !self.track_processes.is_empty()
            || !self.track_files.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct SyncGroup {
    pub name: Val<String>,
    pub members: Vec<Val<String>>,
    pub tracking_weight: bool,
    /// The group itself tracks scripts, processes, files or interfaces.
    pub tracks: bool,
}

/// keepalived's part of a node.
#[derive(Debug, Clone, Default)]
pub struct Keepalived {
    pub global: GlobalDefs,
    pub scripts: Vec<Script>,
    pub instances: Vec<Instance>,
    pub sync_groups: Vec<SyncGroup>,
    /// `track_script` names in the order keepalived reads them, with the index of the
    /// first `vrrp_script` of that name read before (for forward references).
    pub script_order: Vec<(String, usize)>,
}

impl Keepalived {
    pub fn script(&self, name: &str) -> Option<&Script> {
        self.scripts.iter().rev().find(|s| s.name.value == name)
    }
    /// A tracked script's weight on an instance: the track line's, else the script's, else 0.
    pub fn tracker_weight(&self, t: &Tracker) -> i64 {
        t.weight
            .or_else(|| self.script(&t.name).map(|s| s.weight()))
            .unwrap_or(0)
    }
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name.value == name)
    }
    pub fn sync_group_of(&self, instance: &str) -> Option<&SyncGroup> {
        self.sync_groups
            .iter()
            .find(|g| g.members.iter().any(|m| m.value == instance))
    }
}

/// One `listen` of nginx.
#[derive(Debug, Clone)]
pub struct Listen {
    pub addr: Option<IpAddr>,
    pub port: Option<u16>,
    pub file: FileId,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct Nginx {
    pub user: Option<Val<String>>,
    pub listens: Vec<Listen>,
    pub servers: usize,
    pub upstreams: Vec<Val<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct NodeModel {
    pub keepalived: Keepalived,
    pub nginx: Nginx,
}

fn blockloc(file: FileId, s: &Stmt) -> Option<BlockLoc> {
    s.block.as_ref().map(|b| BlockLoc {
        file,
        head: s.head_span(),
        open: b.open,
        close: b.close,
    })
}

/// Seconds as keepalived and curl take them: `2`, `0.5`, `1.25` (at most 3 decimals).
pub fn fmt_seconds(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn parse_decimal(s: &str) -> Option<f64> {
    let (a, b) = s.split_once('.').unwrap_or((s, "0"));
    if a.is_empty()
        || !a.bytes().all(|c| c.is_ascii_digit())
        || !b.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// The address part of `IP[/len]`.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.split_once('/').map_or(s, |(a, _)| a).parse().ok()
}

struct Reader<'a> {
    unit: &'a KaUnit,
    node: &'a str,
    defs: HashMap<String, String>,
}

impl Reader<'_> {
    /// The active statements of a block, includes followed, with their file.
    fn stmts<'t>(
        &'t self,
        file: FileId,
        items: &'t [Item],
        out: &mut Vec<(FileId, &'t Stmt)>,
        depth: usize,
    ) {
        for i in items {
            let Item::Stmt(s) = i else { continue };
            if !active(s, self.node) || s.generator.is_some() {
                continue;
            }
            if is_ka_include(s) {
                if depth < 16
                    && let Some(inc) = self.unit.include_at(file, s.span)
                {
                    for t in &inc.targets {
                        if let Some(tree) = self.unit.trees.get(t) {
                            self.stmts(*t, &tree.items, out, depth + 1);
                        }
                    }
                }
                continue;
            }
            out.push((file, s));
        }
    }

    fn arg(&self, s: &Stmt, i: usize) -> Option<(String, Span)> {
        let w = s.words.get(i)?;
        Some((expand(&w.value, &self.defs)?, w.span))
    }

    fn val<T>(&self, file: FileId, s: &Stmt, f: impl Fn(&str) -> Option<T>) -> Option<Val<T>> {
        let (v, span) = self.arg(s, 1)?;
        Some(Val {
            value: f(&v)?,
            file,
            span,
        })
    }

    /// The command of a `script`/`notify*` line. keepalived re-tokenises these with shell-like
    /// rules, so `'...'` quotes too (the config lexer only knows `"`): the words from an
    /// opening `'` to the closing one are the command.
    fn command(&self, file: FileId, s: &Stmt) -> Option<Val<String>> {
        let first = s.words.get(1)?;
        if !first.value.starts_with('\'') {
            return self.val(file, s, |v| Some(v.to_owned()));
        }
        let mut parts: Vec<&str> = Vec::new();
        let mut end = first.span;
        for (k, w) in s.words[1..].iter().enumerate() {
            parts.push(&w.value);
            end = w.span;
            let closes = if k == 0 {
                w.value.len() > 1 && w.value.ends_with('\'')
            } else {
                w.value.ends_with('\'')
            };
            if closes {
                break;
            }
        }
        let joined = parts.join(" ");
        let inner = joined.strip_prefix('\'').unwrap_or(&joined);
        let inner = inner.strip_suffix('\'').unwrap_or(inner);
        Some(Val {
            value: expand(inner, &self.defs)?,
            file,
            span: Span::new(first.span.start, end.end),
        })
    }

    fn loc(file: FileId, s: &Stmt) -> Loc {
        Loc {
            file,
            span: s.head_span(),
        }
    }

    fn children<'t>(&'t self, file: FileId, s: &'t Stmt) -> Vec<(FileId, &'t Stmt)> {
        let mut v = Vec::new();
        if let Some(b) = &s.block {
            self.stmts(file, &b.items, &mut v, 0);
        }
        v
    }

    fn trackers(&self, file: FileId, s: &Stmt) -> Vec<Tracker> {
        self.children(file, s)
            .into_iter()
            .filter_map(|(f, e)| {
                let name = self.arg(e, 0)?.0;
                let mut t = Tracker {
                    name,
                    weight: None,
                    reverse: None,
                    file: f,
                    span: e.head_span(),
                };
                let words: Vec<String> = (1..e.words.len())
                    .filter_map(|i| self.arg(e, i).map(|a| a.0))
                    .collect();
                if let Some(i) = words.iter().position(|w| w == "weight") {
                    t.weight = words.get(i + 1).and_then(|w| w.parse().ok());
                }
                if words.iter().any(|w| w == "reverse") {
                    t.reverse = Some(true);
                } else if words.iter().any(|w| w == "noreverse") {
                    t.reverse = Some(false);
                }
                Some(t)
            })
            .collect()
    }
}

pub fn keepalived(unit: &KaUnit, node: &str) -> Keepalived {
    let r = Reader {
        unit,
        node,
        defs: definitions(unit),
    };
    let mut m = Keepalived::default();
    let Some(tree) = unit.trees.get(&unit.root) else {
        return m;
    };
    let mut top = Vec::new();
    r.stmts(unit.root, &tree.items, &mut top, 0);
    for (file, s) in top {
        match s.keyword() {
            Some("global_defs") => read_global(&r, file, s, &mut m.global),
            Some("vrrp_script") => {
                if let Some((name, span)) = r.arg(s, 1) {
                    m.scripts.push(read_script(&r, file, s, name, span));
                }
            }
            Some("vrrp_instance") => {
                if let Some((name, span)) = r.arg(s, 1) {
                    let inst = read_instance(&r, file, s, name, span);
                    for t in &inst.track_scripts {
                        m.script_order.push((t.name.clone(), m.scripts.len()));
                    }
                    m.instances.push(inst);
                }
            }
            Some("vrrp_sync_group") => {
                if let Some((name, span)) = r.arg(s, 1) {
                    let mut g = SyncGroup {
                        name: Val {
                            value: name,
                            file,
                            span,
                        },
                        members: Vec::new(),
                        tracking_weight: false,
                        tracks: false,
                    };
                    for (f, c) in r.children(file, s) {
                        match c.keyword() {
                            Some("group") => {
                                for (gf, e) in r.children(f, c) {
                                    for i in 0..e.words.len() {
                                        if let Some((v, sp)) = r.arg(e, i) {
                                            g.members.push(Val {
                                                value: v,
                                                file: gf,
                                                span: sp,
                                            });
                                        }
                                    }
                                }
                            }
                            Some("sync_group_tracking_weight") => g.tracking_weight = true,
                            Some(k) if k.starts_with("track_") => g.tracks = true,
                            _ => {}
                        }
                    }
                    m.sync_groups.push(g);
                }
            }
            _ => {}
        }
    }
    m
}

fn read_global(r: &Reader, file: FileId, s: &Stmt, g: &mut GlobalDefs) {
    g.block = blockloc(file, s);
    for (f, c) in r.children(file, s) {
        match c.keyword() {
            Some("router_id") => g.router_id = r.val(f, c, |v| Some(v.to_owned())),
            Some("enable_script_security") => g.enable_script_security = Some(Reader::loc(f, c)),
            Some("script_user") => g.script_user = r.val(f, c, |v| Some(v.to_owned())),
            Some("vrrp_strict") => {
                let on = r
                    .arg(c, 1)
                    .is_none_or(|(v, _)| matches!(v.as_str(), "on" | "true" | "yes"));
                g.vrrp_strict = on.then(|| Reader::loc(f, c));
            }
            Some("vrrp_version") => g.vrrp_version = r.val(f, c, |v| v.parse().ok()),
            Some("vrrp_garp_interval") => {
                g.vrrp_garp_interval = r.val(f, c, |v| Some(v.to_owned()))
            }
            Some("vrrp_down_timer_adverts") => {
                g.vrrp_down_timer_adverts = r.val(f, c, |v| v.parse().ok())
            }
            _ => {}
        }
    }
}

fn read_script(r: &Reader, file: FileId, s: &Stmt, name: String, span: Span) -> Script {
    let mut sc = Script {
        name: Val {
            value: name,
            file,
            span,
        },
        block: blockloc(file, s),
        script: None,
        interval: None,
        timeout: None,
        weight: None,
        reverse: false,
        fall: None,
        rise: None,
        user: None,
    };
    for (f, c) in r.children(file, s) {
        match c.keyword() {
            Some("script") => {
                // The command is the first word (quoted when it has arguments); words after
                // it name a user.
                sc.script = r.command(f, c);
            }
            Some("interval") => sc.interval = r.val(f, c, parse_decimal),
            Some("timeout") => sc.timeout = r.val(f, c, parse_decimal),
            Some("weight") => {
                sc.weight = r.val(f, c, |v| v.parse().ok());
                sc.reverse = r.arg(c, 2).is_some_and(|(v, _)| v == "reverse");
            }
            Some("fall") => sc.fall = r.val(f, c, |v| v.parse().ok()),
            Some("rise") => sc.rise = r.val(f, c, |v| v.parse().ok()),
            Some("user") => sc.user = r.val(f, c, |v| Some(v.to_owned())),
            _ => {}
        }
    }
    sc
}

fn read_instance(r: &Reader, file: FileId, s: &Stmt, name: String, span: Span) -> Instance {
    let mut i = Instance {
        name: Val {
            value: name,
            file,
            span,
        },
        block: blockloc(file, s).unwrap_or(BlockLoc {
            file,
            head: s.head_span(),
            open: s.span,
            close: None,
        }),
        state: None,
        interface: None,
        vrid: None,
        priority: None,
        advert_int: None,
        version: None,
        nopreempt: None,
        preempt_delay: None,
        preempt_delay_secs: None,
        auth: None,
        unicast_src_ip: None,
        unicast_peer_block: None,
        unicast_peers: Vec::new(),
        mcast_src_ip: None,
        vips: Vec::new(),
        vip_block: None,
        track_scripts: Vec::new(),
        track_script_block: None,
        track_interfaces: Vec::new(),
        track_processes: Vec::new(),
        track_files: Vec::new(),
        notify: Vec::new(),
        strict_mode: None,
        accept: None,
        no_accept: None,
        down_timer_adverts: None,
        options: Vec::new(),
    };
    for (f, c) in r.children(file, s) {
        let Some(kw) = c.keyword() else { continue };
        match kw {
            "state" => {
                let v = r.val(f, c, |v| match v {
                    "MASTER" => Some(State::Master),
                    "BACKUP" => Some(State::Backup),
                    _ => None,
                });
                // keepalived keeps a first `state MASTER` over a later BACKUP.
                if !i.is_master() {
                    i.state = v.or(i.state.take());
                }
            }
            "interface" => i.interface = r.val(f, c, |v| Some(v.to_owned())),
            "virtual_router_id" => i.vrid = r.val(f, c, |v| v.parse().ok().filter(|n| *n >= 1)),
            "priority" => i.priority = r.val(f, c, |v| v.parse().ok().filter(|n| *n >= 1)),
            "advert_int" => i.advert_int = r.val(f, c, parse_decimal),
            "version" => i.version = r.val(f, c, |v| v.parse().ok()),
            "nopreempt" => i.nopreempt = Some(Reader::loc(f, c)),
            "preempt" => i.nopreempt = None,
            "preempt_delay" => {
                i.preempt_delay = Some(Reader::loc(f, c));
                i.preempt_delay_secs = r.val(f, c, parse_decimal).map(|v| v.value);
            }
            "authentication" => {
                let mut a = Auth {
                    auth_type: None,
                    auth_pass: None,
                    block: blockloc(f, c).unwrap_or(BlockLoc {
                        file: f,
                        head: c.head_span(),
                        open: c.span,
                        close: None,
                    }),
                };
                for (af, e) in r.children(f, c) {
                    match e.keyword() {
                        Some("auth_type") => a.auth_type = r.val(af, e, |v| Some(v.to_owned())),
                        Some("auth_pass") => a.auth_pass = r.val(af, e, |v| Some(v.to_owned())),
                        _ => {}
                    }
                }
                i.auth = Some(a);
            }
            "unicast_src_ip" => i.unicast_src_ip = r.val(f, c, parse_ip),
            "mcast_src_ip" => i.mcast_src_ip = r.val(f, c, parse_ip),
            "unicast_peer" => {
                i.unicast_peer_block = blockloc(f, c);
                for (pf, e) in r.children(f, c) {
                    if let Some(v) = r.val_at(pf, e, 0, parse_ip) {
                        i.unicast_peers.push(v);
                    }
                }
            }
            "virtual_ipaddress" => {
                i.vip_block = blockloc(f, c);
                for (vf, e) in r.children(f, c) {
                    if let Some(v) = read_vip(r, vf, e) {
                        i.vips.push(v);
                    }
                }
            }
            "track_script" => {
                i.track_script_block = blockloc(f, c);
                i.track_scripts.extend(r.trackers(f, c));
            }
            "track_interface" => i.track_interfaces.extend(r.trackers(f, c)),
            "track_process" => i.track_processes.extend(r.trackers(f, c)),
            "track_file" => i.track_files.extend(r.trackers(f, c)),
            "strict_mode" => i.strict_mode = Some(Reader::loc(f, c)),
            "accept" => i.accept = Some(Reader::loc(f, c)),
            "no_accept" => i.no_accept = Some(Reader::loc(f, c)),
            "down_timer_adverts" => i.down_timer_adverts = r.val(f, c, |v| v.parse().ok()),
            k if k.starts_with("notify") => {
                if let Some(v) = r.command(f, c) {
                    i.notify.push((k.to_owned(), v));
                }
            }
            k => {
                let args: Vec<String> = (1..c.words.len())
                    .filter_map(|n| r.arg(c, n).map(|a| a.0))
                    .collect();
                i.options.push((
                    k.to_owned(),
                    Val {
                        value: args.join(" "),
                        file: f,
                        span: c.head_span(),
                    },
                ));
            }
        }
    }
    i
}

impl Reader<'_> {
    fn val_at<T>(
        &self,
        file: FileId,
        s: &Stmt,
        i: usize,
        f: impl Fn(&str) -> Option<T>,
    ) -> Option<Val<T>> {
        let (v, span) = self.arg(s, i)?;
        Some(Val {
            value: f(&v)?,
            file,
            span,
        })
    }
}

fn read_vip(r: &Reader, file: FileId, e: &Stmt) -> Option<Vip> {
    let (first, span) = r.arg(e, 0)?;
    let (a, p) = match first.split_once('/') {
        Some((a, p)) => (a, Some(p.parse().ok()?)),
        None => (first.as_str(), None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let words: Vec<String> = (1..e.words.len())
        .filter_map(|i| r.arg(e, i).map(|x| x.0))
        .collect();
    let after = |k: &str| {
        words
            .iter()
            .position(|w| w == k)
            .and_then(|i| words.get(i + 1).cloned())
    };
    Some(Vip {
        addr,
        prefix: p,
        dev: after("dev"),
        label: after("label"),
        file,
        span: span.cover(e.head_span()),
    })
}

/// nginx's part of a node: the main config (or the fragments, when there is none).
pub fn nginx(units: &[NgUnit]) -> Nginx {
    let mut m = Nginx::default();
    for u in units {
        u.walk(&mut |file, d, ctx| {
            use crate::vocab::nginx::Context;
            match (d.name.value.as_str(), ctx) {
                ("user", Context::Main) => {
                    if let Some(a) = d.args.first() {
                        m.user = Some(Val {
                            value: a.value.to_string(),
                            file,
                            span: a.span,
                        });
                    }
                }
                ("listen", Context::Server) => {
                    if let Some(a) = d.args.first() {
                        let (addr, port) = parse_listen(&a.value);
                        m.listens.push(Listen {
                            addr,
                            port,
                            file,
                            span: a.span,
                        });
                    }
                }
                ("server", Context::Http) => m.servers += 1,
                ("upstream", Context::Http) => {
                    if let Some(a) = d.args.first() {
                        m.upstreams.push(Val {
                            value: a.value.to_string(),
                            file,
                            span: a.span,
                        });
                    }
                }
                _ => {}
            }
        });
    }
    m
}

/// `listen` address: `80`, `1.2.3.4:80`, `[::1]:80`, `1.2.3.4`, `*:80`, `unix:...`.
pub fn parse_listen(v: &str) -> (Option<IpAddr>, Option<u16>) {
    if v.starts_with("unix:") {
        return (None, None);
    }
    if let Some(rest) = v.strip_prefix('[') {
        let (a, p) = rest.split_once(']').unwrap_or((rest, ""));
        return (
            a.parse().ok(),
            p.strip_prefix(':').and_then(|p| p.parse().ok()),
        );
    }
    if let Ok(p) = v.parse::<u16>() {
        return (None, Some(p));
    }
    match v.rsplit_once(':') {
        Some((a, p)) => (a.parse().ok(), p.parse().ok()),
        None => (v.parse().ok(), None),
    }
}

pub fn node_model(node: &Node) -> NodeModel {
    NodeModel {
        keepalived: node
            .keepalived
            .as_ref()
            .map(|k| keepalived(k, &node.name))
            .unwrap_or_default(),
        nginx: nginx(&node.nginx),
    }
}
