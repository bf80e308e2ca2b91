//! Human output: one report per root cause, errors first, then a summary that says what to do
//! next.
//!
//! A finding that several nodes share (the same script copied to every node, a cluster rule
//! that reports each side of a difference) is printed once, with the other nodes as related
//! locations. A note that many reports share ("run by vrrp_script `chk`") is printed the
//! first time only. Nothing is lost: `--format json` keeps every finding as it is.

use super::display_path;
use crate::diagnostic::{Applicability, Diagnostic, Severity};
use crate::source::{FileId, SourceDb};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// Findings that have one root cause: `main` is printed, `others` are its other locations.
pub struct Group<'a> {
    pub main: &'a Diagnostic,
    pub others: Vec<&'a Diagnostic>,
    pub severity: Severity,
}

/// The message with the finding's own node name written as a placeholder, so the same finding
/// on two nodes compares equal.
fn normalized(d: &Diagnostic) -> String {
    match &d.node {
        Some(n) => d.message.replace(&format!("`{n}`"), "`<node>`"),
        None => d.message.clone(),
    }
}

/// (cluster part, path inside the node) of a finding's file: `c/ha1/etc/x` → (`c`, `etc/x`).
fn split_node_path(db: &SourceDb, d: &Diagnostic) -> Option<(String, String)> {
    let node = d.node.as_deref()?;
    let path = &db.get(d.file).path;
    let comps: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let i = comps.iter().rposition(|c| c == node)?;
    Some((comps[..i].join("/"), comps[i + 1..].join("/")))
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (a, b) = (find(parent, a), find(parent, b));
    if a != b {
        parent[a.max(b)] = a.min(b);
    }
}

/// Groups findings by root cause and orders the groups: errors first, then warnings, then
/// info; in input order within a severity.
pub fn groups<'a>(db: &SourceDb, diags: &'a [Diagnostic]) -> Vec<Group<'a>> {
    let mut parent: Vec<usize> = (0..diags.len()).collect();
    // The same finding, word for word, at the same place of the same file on several nodes of
    // one cluster.
    let mut same: HashMap<(&str, String, String, String, usize), usize> = HashMap::new();
    // Where each finding stands, to join the findings that point at each other (each side of
    // a difference between nodes).
    let mut at: HashMap<(&str, FileId, usize), usize> = HashMap::new();
    for (i, d) in diags.iter().enumerate() {
        let line = db.get(d.file).line_col(d.span.start).0;
        if let Some((cluster, inner)) = split_node_path(db, d) {
            let key = (d.code, normalized(d), cluster, inner, line);
            match same.get(&key) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    same.insert(key, i);
                }
            }
        }
        at.entry((d.code, d.file, line)).or_insert(i);
    }
    for (i, d) in diags.iter().enumerate() {
        for r in &d.related {
            if r.file == d.file {
                continue;
            }
            let line = db.get(r.file).line_col(r.span.start).0;
            if let Some(&j) = at.get(&(d.code, r.file, line))
                && diags[j].node != d.node
            {
                union(&mut parent, i, j);
            }
        }
    }
    let mut order: Vec<usize> = Vec::new();
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..diags.len() {
        let root = find(&mut parent, i);
        let m = members.entry(root).or_default();
        if m.is_empty() {
            order.push(root);
        }
        m.push(i);
    }
    let mut out: Vec<Group> = order
        .into_iter()
        .map(|root| {
            let m = &members[&root];
            Group {
                main: &diags[m[0]],
                others: m[1..].iter().map(|&i| &diags[i]).collect(),
                severity: m
                    .iter()
                    .map(|&i| diags[i].severity)
                    .max()
                    .unwrap_or(Severity::Info),
            }
        })
        .collect();
    // Stable: input order within a severity.
    out.sort_by_key(|g| std::cmp::Reverse(g.severity));
    out
}

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn severity(&self, s: Severity) -> &'static str {
        match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        }
    }
}

/// Messages are not wrapped (as rustc and ruff do not): the terminal wraps them, and a
/// finding stays on one line for `grep`. Line breaks inside a message become spaces.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn location(db: &SourceDb, file: FileId, offset: usize) -> String {
    let f = db.get(file);
    let (l, c) = f.line_col(offset);
    format!("{}:{l}:{c}", super::escape_controls(&display_path(&f.path)))
}

fn render_group(
    db: &SourceDb,
    g: &Group,
    st: &Style,
    red: &super::Redactor,
    seen_notes: &mut HashSet<(String, Vec<(FileId, usize)>)>,
    out: &mut String,
) {
    let d = g.main;
    let sev = d.severity.as_str();
    let head = format!("{sev}[{}]", d.code);
    let _ = writeln!(
        out,
        "{}: {}",
        st.paint(st.severity(d.severity), &head),
        st.paint("1", &one_line(&d.message))
    );
    let f = db.get(d.file);
    let (line, col) = f.line_col(d.span.start);
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    // The other nodes with the same finding: the same words on the `-->` line; another side
    // of a difference on a line of its own, with what differs.
    let main_norm = normalized(d);
    let mut plain: Vec<String> = Vec::new();
    let mut labelled: Vec<String> = Vec::new();
    for o in &g.others {
        let loc = location(db, o.file, o.span.start);
        if normalized(o) == main_norm {
            plain.push(loc);
            continue;
        }
        let node = o.node.as_deref().unwrap_or("?");
        let oline = db.get(o.file).line_col(o.span.start).0;
        let label = d
            .related
            .iter()
            .find(|r| r.file == o.file && db.get(r.file).line_col(r.span.start).0 == oline)
            .map_or(o.message.as_str(), |r| r.message.as_str());
        // "node `ha2`: X" says no more than the path, but X.
        let label = label
            .strip_prefix(&format!("node `{node}`"))
            .map_or(label, |l| l.trim_start_matches(':').trim_start());
        if label.is_empty() {
            plain.push(loc);
        } else {
            labelled.push(format!("also {loc}: {label}"));
        }
    }
    let mut at = location(db, d.file, d.span.start);
    if !plain.is_empty() {
        at = format!("{at}, also {}", plain.join(", "));
    }
    let _ = writeln!(out, "{pad}{} {}", st.paint("1;34", "-->"), one_line(&at));
    // The line, secrets masked, tabs as spaces, with carets under the span.
    let src: String = red.line(d.file, line).trim_end().replace('\t', " ");
    let src_chars = src.chars().count();
    const MAX: usize = 120;
    let shown: String = src.chars().take(MAX).collect();
    let ellipsis = if src_chars > MAX { "…" } else { "" };
    let span_chars = f
        .slice(d.span)
        .split('\n')
        .next()
        .unwrap_or("")
        .chars()
        .count();
    let from = col - 1;
    let carets = span_chars.max(1).min(MAX.saturating_sub(from).max(1));
    let bar = st.paint("1;34", "|");
    let _ = writeln!(
        out,
        "{} {bar} {shown}{ellipsis}",
        st.paint("1;34", &line.to_string())
    );
    let _ = writeln!(
        out,
        "{pad} {bar} {}{}",
        " ".repeat(from.min(MAX)),
        st.paint(st.severity(d.severity), &"^".repeat(carets))
    );
    let eq = format!("{pad} {}", st.paint("1;34", "="));
    // The other nodes with the same finding.
    let member_at: HashSet<(FileId, usize)> = std::iter::once(&d)
        .chain(g.others.iter())
        .map(|o| (o.file, db.get(o.file).line_col(o.span.start).0))
        .collect();
    for l in &labelled {
        let _ = writeln!(out, "{eq} {}", one_line(l));
    }
    // Notes: those that name another member are said above; the same note on every node is
    // said once, with each place.
    let mut notes: Vec<(String, Vec<(FileId, usize)>)> = Vec::new();
    for m in std::iter::once(&d).chain(g.others.iter()) {
        for r in &m.related {
            let rline = db.get(r.file).line_col(r.span.start).0;
            if member_at.contains(&(r.file, rline)) {
                continue;
            }
            if std::ptr::eq(*m, d) || normalized(m) == main_norm {
                match notes.iter_mut().find(|n| n.0 == r.message) {
                    Some(n) => {
                        if !n.1.contains(&(r.file, r.span.start)) {
                            n.1.push((r.file, r.span.start))
                        }
                    }
                    None => notes.push((r.message.clone(), vec![(r.file, r.span.start)])),
                }
            }
        }
    }
    for (msg, places) in notes {
        let key = (msg.clone(), places.clone());
        if !seen_notes.insert(key) {
            continue;
        }
        let locs: Vec<String> = places.iter().map(|&(f, o)| location(db, f, o)).collect();
        let s = format!("note: {msg}: {}", locs.join(", "));
        let _ = writeln!(out, "{eq} {}", one_line(&s));
    }
    if let Some(h) = &d.help {
        let s = format!("help: {h}");
        let _ = writeln!(out, "{eq} {}", one_line(&s));
    }
    if let Some(fx) = &d.fix {
        // The summary says which command applies which kind.
        let how = match fx.applicability {
            Applicability::Safe => "fix",
            Applicability::Unsafe => "unsafe fix",
        };
        let s = format!("{how}: {}", fx.message);
        let _ = writeln!(out, "{eq} {}", one_line(&s));
    }
    out.push('\n');
}

/// Renders all diagnostics, one report per root cause, and a summary. `color` selects ANSI
/// colours.
pub fn render(db: &SourceDb, diags: &[Diagnostic], color: bool) -> String {
    let st = Style { color };
    // Secrets masked and control characters escaped in every text shown.
    let red = super::Redactor::new(db);
    let shown: Vec<Diagnostic> = diags
        .iter()
        .map(|d| red.diag(d, super::Escape::Text).into_owned())
        .collect();
    let diags = &shown[..];
    let groups = groups(db, diags);
    let mut seen = HashSet::new();
    let mut out = String::new();
    for g in &groups {
        render_group(db, g, &st, &red, &mut seen, &mut out);
    }
    out.push_str(&summary_of(diags, groups.len()));
    out
}

/// The summary alone (`--quiet`).
pub fn summary(db: &SourceDb, diags: &[Diagnostic]) -> String {
    summary_of(diags, groups(db, diags).len())
}

/// `Found 3 errors, 2 warnings and 1 info (5 reports).` and what to do next.
fn summary_of(diags: &[Diagnostic], reports: usize) -> String {
    if diags.is_empty() {
        return "All checks passed.\n".into();
    }
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    for (s, w) in [(Severity::Error, "error"), (Severity::Warning, "warning")] {
        let n = count(s);
        if n > 0 {
            parts.push(plural(n, w));
        }
    }
    let n = count(Severity::Info);
    if n > 0 {
        parts.push(format!("{n} info"));
    }
    let fixes = |a: Applicability| {
        diags
            .iter()
            .filter(|d| d.fix.as_ref().is_some_and(|f| f.applicability == a))
            .count()
    };
    let (safe, unsafe_) = (fixes(Applicability::Safe), fixes(Applicability::Unsafe));
    let mut s = format!("Found {}", join_and(&parts));
    if reports != diags.len() {
        s.push_str(&format!(
            " ({} from {reports} root cause{})",
            if diags.len() == 1 {
                "one finding"
            } else {
                "findings"
            },
            if reports == 1 { "" } else { "s" }
        ));
    }
    s.push('.');
    match (safe, unsafe_) {
        (0, 0) => {}
        (0, u) => s.push_str(&format!(
            "\n{u} fixable with `haconf fix --unsafe` (the fixes change behaviour: review the diff)."
        )),
        (n, 0) => s.push_str(&format!("\n{n} fixable with `haconf fix`.")),
        (n, u) => s.push_str(&format!(
            "\n{n} fixable with `haconf fix`, {u} more with `haconf fix --unsafe` (they change behaviour: review the diff)."
        )),
    }
    s.push('\n');
    s
}

fn join_and(parts: &[String]) -> String {
    match parts.len() {
        0 => String::new(),
        1 => parts[0].clone(),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}
