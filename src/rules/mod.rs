//! The rule catalog. Each rule lives in its own file with its code, kebab-case name, default
//! severity, fix availability, documentation and examples next to its check; this module only
//! lists them and runs them.

pub mod keepalived;
pub mod nginx;

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::{KaUnit, NgUnit, Node, Project};
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

#[derive(Clone, Copy)]
pub enum Check {
    Keepalived(fn(&KaCtx, &mut Vec<Diagnostic>)),
    Nginx(fn(&NgCtx, &mut Vec<Diagnostic>)),
}

/// A small node directory: `(relative path, content)` pairs.
pub type Example = &'static [(&'static str, &'static str)];

pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
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
        &nginx::syntax_error::RULE,
        &nginx::unknown_directive::RULE,
        &nginx::directive_not_allowed_here::RULE,
        &nginx::wrong_argument_count::RULE,
        &nginx::include_not_found::RULE,
        &nginx::swallowed_directive::RULE,
    ];
    RULES
}

pub fn by_code(code: &str) -> Option<&'static Rule> {
    all().iter().copied().find(|r| r.code == code)
}

/// Which rules run and which findings count, from `--select`, `--ignore` and the like.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Code prefixes; empty means all.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Selection {
    pub fn enabled(&self, code: &str) -> bool {
        let m = |p: &String| p == "ALL" || code.starts_with(p.as_str());
        (self.select.is_empty() || self.select.iter().any(m)) && !self.ignore.iter().any(m)
    }
}

/// Runs every enabled rule over the project. Diagnostics come back sorted and deduplicated
/// (a file included twice is checked twice but reported once).
pub fn run(project: &Project, sel: &Selection) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for cluster in &project.clusters {
        for node in &cluster.nodes {
            let mut node_diags = Vec::new();
            for rule in all() {
                if !sel.enabled(rule.code) {
                    continue;
                }
                match rule.check {
                    Check::Keepalived(f) => {
                        if let Some(unit) = &node.keepalived {
                            f(
                                &KaCtx {
                                    db: &project.db,
                                    node,
                                    unit,
                                },
                                &mut node_diags,
                            );
                        }
                    }
                    Check::Nginx(f) => {
                        for unit in &node.nginx {
                            f(
                                &NgCtx {
                                    db: &project.db,
                                    node,
                                    unit,
                                },
                                &mut node_diags,
                            );
                        }
                    }
                }
            }
            for d in &mut node_diags {
                if d.node.is_none() {
                    d.node = Some(node.name.clone());
                }
            }
            out.extend(node_diags);
        }
    }
    sort_dedup(&project.db, &mut out);
    out
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
