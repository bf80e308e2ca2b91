//! keepalived's vocabulary, read from `data/keepalived-keywords.tsv` (the researched fact table,
//! kept as data in the repo). It drives the unknown-keyword and invalid-value rules, and will
//! drive hover and completion.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../data/keepalived-keywords.tsv");

/// What a keyword's first argument must look like, as far as haconf checks it.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgKind {
    /// No argument (extra words are ignored by keepalived).
    Flag,
    /// Optional `on|off|true|false|yes|no`.
    Bool,
    /// Whole number in a range (decimal only: keepalived uses base 10).
    Int { min: i64, max: i64 },
    /// Seconds with an optional fraction, in a range.
    Decimal { min: f64, max: f64 },
    /// One of these words, case-sensitive.
    Enum(Vec<String>),
    /// An IPv4 or IPv6 address.
    Ip,
    /// Anything, but something must be there.
    Required,
    /// Anything or nothing.
    Optional,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    /// No block.
    None,
    /// A block of keywords, checked against the table at `path`.
    Keywords,
    /// A block of free-form entries (addresses, names, routes ...).
    Values,
}

#[derive(Debug, Clone)]
pub struct Keyword {
    /// `/` for the top level, else the enclosing keywords joined with `/`.
    pub path: String,
    pub name: String,
    pub args: String,
    pub default: String,
    pub since: String,
    pub notes: String,
    pub arg: ArgKind,
    pub block: BlockKind,
    /// Gone from keepalived (now "Unknown keyword").
    pub removed: bool,
    /// Added after keepalived 2.2.7, the version haconf targets (Debian's package).
    pub newer: bool,
}

impl Keyword {
    /// One-line documentation for hover and `explain`.
    pub fn doc(&self) -> String {
        let mut s = format!("`{} {}`", self.name, self.args);
        if !self.default.is_empty() {
            s.push_str(&format!(" (default: {})", self.default));
        }
        if !self.notes.is_empty() {
            s.push_str(". ");
            s.push_str(&self.notes);
        }
        s
    }
}

pub struct Vocabulary {
    by_path: HashMap<String, Vec<Keyword>>,
}

impl Vocabulary {
    pub fn get() -> &'static Vocabulary {
        static V: OnceLock<Vocabulary> = OnceLock::new();
        V.get_or_init(load)
    }

    /// Keywords allowed directly inside the block at `path` (`/` for the top level).
    pub fn keywords(&self, path: &str) -> &[Keyword] {
        self.by_path.get(path).map_or(&[], |v| v.as_slice())
    }

    pub fn lookup(&self, path: &str, name: &str) -> Option<&Keyword> {
        self.keywords(path)
            .iter()
            .find(|k| k.name == name && !k.removed && !k.newer)
    }

    /// A keyword at `path` that keepalived 2.2 does not accept but that exists in another
    /// version (removed ones and newer ones), to explain an unknown keyword.
    pub fn other_version(&self, path: &str, name: &str) -> Option<&Keyword> {
        self.keywords(path)
            .iter()
            .find(|k| k.name == name && (k.removed || k.newer))
    }

    /// Whether the block at `path` holds keywords (as opposed to values) — i.e. whether it is
    /// checked at all.
    pub fn is_keyword_block(&self, path: &str) -> bool {
        self.by_path
            .get(path)
            .is_some_and(|v| v.iter().any(|k| !k.name.starts_with('<')))
    }

    /// Every path a keyword may appear at, for "did you mean to put it in X" hints.
    pub fn paths_of(&self, name: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .by_path
            .iter()
            .filter(|(_, ks)| ks.iter().any(|k| k.name == name && !k.removed && !k.newer))
            .map(|(p, _)| p.as_str())
            .collect();
        v.sort();
        v
    }
}

/// The path of the block opened by `keyword` inside the block at `parent`.
pub fn child_path(parent: &str, keyword: &str) -> String {
    if parent == "/" {
        keyword.to_owned()
    } else {
        format!("{parent}/{keyword}")
    }
}

fn load() -> Vocabulary {
    let mut rows: Vec<Keyword> = Vec::new();
    for line in TABLE.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 2 || cols[1].is_empty() {
            continue;
        }
        let get = |i: usize| cols.get(i).copied().unwrap_or("").to_owned();
        let args = get(2);
        let notes = get(5);
        let removed = notes.contains("REMOVED");
        let newer = notes.contains("[not in 2.2.7]");
        let (path, name) = (get(0), get(1));
        // The table (from newer sources) says DECIMAL; keepalived 2.2.7, our oracle, reads a
        // vrrp_script's interval and timeout as whole seconds ("invalid number '0.5'").
        let arg = if path == "vrrp_script" && (name == "interval" || name == "timeout") {
            ArgKind::Int { min: 1, max: 4294 }
        } else {
            arg_kind(&args)
        };
        rows.push(Keyword {
            path,
            name,
            arg,
            block: BlockKind::None,
            args,
            default: get(3),
            since: get(4),
            notes,
            removed,
            newer,
        });
    }
    let paths: std::collections::HashSet<String> = rows
        .iter()
        .filter(|k| !k.name.starts_with('<'))
        .map(|k| k.path.clone())
        .collect();
    for k in &mut rows {
        let p = child_path(&k.path, &k.name);
        if paths.contains(&p) {
            k.block = BlockKind::Keywords;
        } else if k.args.contains("BLOCK") || k.args.trim_end().ends_with('{') {
            k.block = BlockKind::Values;
        }
    }
    // Check blocks inside real_server are keyword blocks whose keywords the table lists.
    let mut by_path: HashMap<String, Vec<Keyword>> = HashMap::new();
    for k in rows {
        by_path.entry(k.path.clone()).or_default().push(k);
    }
    Vocabulary { by_path }
}

/// Upper-case words of the table that name a type, not a literal value.
const PLACEHOLDERS: &[&str] = &[
    "IPADDR", "HOSTNAME", "NUMBER", "BITS", "PATH", "NAME", "MTU", "ADVERT",
];

fn parse_num(s: &str) -> Option<f64> {
    match s {
        "INT_MAX" => Some(i32::MAX as f64),
        "UINT_MAX" => Some(u32::MAX as f64),
        _ => s
            .trim_start_matches('(')
            .trim_start_matches('~')
            .parse()
            .ok(),
    }
}

/// Reads the `args` column loosely: only the shapes haconf validates are recognised; the rest
/// only require (or not) an argument.
fn arg_kind(args: &str) -> ArgKind {
    let a = args.trim();
    // `<...>` rows come from the man page, whose notation does not say what is optional.
    if a.is_empty() || a.starts_with('[') || a.starts_with('<') {
        return ArgKind::Optional;
    }
    if a.contains("BLOCK") || a.ends_with('{') {
        return ArgKind::Optional;
    }
    let first = a.split_whitespace().next().unwrap_or("");
    let range = a
        .split_whitespace()
        .find(|w| w.contains(".."))
        .and_then(|w| {
            let (lo, hi) = w.split_once("..")?;
            Some((parse_num(lo)?, parse_num(hi.trim_end_matches(','))?))
        });
    match first {
        "FLAG" => ArgKind::Flag,
        "BOOL?" => ArgKind::Bool,
        "UINT" | "INT" => {
            let (min, max) = range.unwrap_or(if first == "UINT" {
                (0.0, u32::MAX as f64)
            } else {
                (i32::MIN as f64, i32::MAX as f64)
            });
            let min = if a.contains(">=1") { 1.0 } else { min };
            ArgKind::Int {
                min: min as i64,
                max: max as i64,
            }
        }
        "DECIMAL" => {
            let (min, max) = range.unwrap_or((0.0, f64::MAX));
            ArgKind::Decimal { min, max }
        }
        "IPADDR" => ArgKind::Ip,
        _ if first.contains('|')
            && !a.contains("...")
            && first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '|' || c == '-')
            && !first.split('|').any(|alt| PLACEHOLDERS.contains(&alt)) =>
        {
            ArgKind::Enum(first.split('|').map(str::to_owned).collect())
        }
        _ => ArgKind::Required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads_and_types() {
        let v = Vocabulary::get();
        let prio = v.lookup("vrrp_instance", "priority").unwrap();
        assert_eq!(prio.arg, ArgKind::Int { min: 1, max: 255 });
        assert_eq!(
            v.lookup("vrrp_instance", "state").unwrap().arg,
            ArgKind::Enum(vec!["MASTER".into(), "BACKUP".into()])
        );
        assert_eq!(
            v.lookup("vrrp_instance", "virtual_ipaddress")
                .unwrap()
                .block,
            BlockKind::Values
        );
        assert_eq!(
            v.lookup("/", "vrrp_instance").unwrap().block,
            BlockKind::Keywords
        );
        assert_eq!(
            v.lookup("vrrp_instance", "authentication").unwrap().block,
            BlockKind::Keywords
        );
        assert!(v.lookup("/", "real_server_group").is_none());
        assert!(v.is_keyword_block("global_defs"));
        assert!(!v.is_keyword_block("vrrp_instance/virtual_ipaddress"));
        match &v.lookup("global_defs", "vrrp_garp_interval").unwrap().arg {
            ArgKind::Decimal { min, .. } => assert!(*min > 0.0),
            o => panic!("{o:?}"),
        }
    }
}
