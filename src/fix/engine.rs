//! The fix engine: applies the fixes of the diagnostics as non-overlapping text edits, parses
//! and checks again, and loops until nothing changes. A fix whose edits overlap another's
//! waits for the next round. Two nets catch a fix that does harm:
//!
//! - a round that adds syntax errors to a file is undone for that file, and its fixes are
//!   reported as dropped;
//! - a safe fix whose result has a finding the text before it did not have, of the same or a
//!   higher severity than the one it fixes, anywhere in the project, is rejected (reported,
//!   never silently left out). When a round adds such a finding, each of its safe fixes is
//!   tried alone to find the one responsible.
//!
//! No fix edits a file that is not text (a compiled check program, another encoding).
//! Nothing here writes to disk.

use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::project::Project;
use crate::rules::{Selection, run};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

/// At most this many rounds (each round applies every fix that does not conflict).
pub const MAX_ROUNDS: usize = 10;

/// The rule codes of the fixes that changed each line of a fixed text (index 0 = line 1).
pub type LineCodes = Vec<BTreeSet<&'static str>>;

#[derive(Debug, Default)]
pub struct Outcome {
    /// Original and fixed bytes of every changed file.
    pub changed: Vec<(PathBuf, Vec<u8>, Vec<u8>)>,
    /// Files whose mode changes: (path, old mode, new mode).
    pub modes: Vec<(PathBuf, u32, u32)>,
    /// (code, message) of the fixes applied.
    pub applied: Vec<(String, String)>,
    /// Fixes dropped because their result did not parse.
    pub dropped: Vec<(String, String)>,
    /// Safe fixes the safety net rejected: (code, fix message, why).
    pub rejected: Vec<(String, String, String)>,
    /// Findings left, with the fixes that `--unsafe` would apply among them.
    pub remaining: Vec<Diagnostic>,
    pub unsafe_available: usize,
    /// The project as fixed (for rendering the remaining findings).
    pub project: Option<Project>,
    /// For each changed file, which rules' fixes changed each line of its fixed text.
    pub line_codes: HashMap<PathBuf, LineCodes>,
}

fn syntax_errors(diags: &[Diagnostic], project: &Project) -> HashMap<PathBuf, usize> {
    let mut m = HashMap::new();
    for d in diags
        .iter()
        .filter(|d| d.code == "KA001" || d.code == "NX001")
    {
        *m.entry(project.db.get(d.file).path.clone()).or_insert(0) += 1;
    }
    m
}

/// What identifies a finding across edits: its rule, its file and its message with numbers
/// taken out (line numbers and offsets move when text is inserted above).
pub type Key = (&'static str, PathBuf, String);

fn key(d: &Diagnostic, project: &Project) -> Key {
    let mut msg = String::with_capacity(d.message.len());
    let mut in_digits = false;
    for c in d.message.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                msg.push('#');
            }
            in_digits = true;
        } else {
            in_digits = false;
            msg.push(c);
        }
    }
    (d.code, project.db.get(d.file).path.clone(), msg)
}

/// How many findings of each key.
pub fn finding_counts(diags: &[Diagnostic], project: &Project) -> HashMap<Key, usize> {
    let mut m = HashMap::new();
    for d in diags {
        *m.entry(key(d, project)).or_insert(0) += 1;
    }
    m
}

/// The findings of `after` that `before` (counted by [`finding_counts`]) did not have.
pub fn new_findings<'a>(
    before: &HashMap<Key, usize>,
    after: &'a [Diagnostic],
    project: &Project,
) -> Vec<&'a Diagnostic> {
    let mut seen: HashMap<Key, usize> = HashMap::new();
    let mut out = Vec::new();
    for d in after {
        let k = key(d, project);
        let n = seen.entry(k.clone()).or_insert(0);
        *n += 1;
        if *n > before.get(&k).copied().unwrap_or(0) {
            out.push(d);
        }
    }
    out
}

/// One sentence for a finding a fix would add: `NX004 (error) in nginx.conf: ...`.
fn describe(d: &Diagnostic, project: &Project) -> String {
    let f = project.db.get(d.file);
    let (line, _) = f.line_col(d.span.start.min(f.text.len()));
    format!(
        "it adds {} ({}) at {}:{line}: {}",
        d.code,
        d.severity.as_str(),
        crate::output::display_path(&f.path),
        d.message
    )
}

/// A fix as the nets remember it: (code, fix message, file of its first edit or mode).
type FixId = (&'static str, String, Option<PathBuf>);

fn fix_id(d: &Diagnostic, project: &Project) -> Option<FixId> {
    let f = d.fix.as_ref()?;
    let file = f
        .edits
        .first()
        .map(|e| e.file)
        .or(f.modes.first().map(|m| m.0))
        .map(|id| project.db.get(id).path.clone());
    Some((d.code, f.message.clone(), file))
}

/// Removes the fixes the nets refused from freshly computed findings.
fn forget(diags: &mut [Diagnostic], project: &Project, blocked: &HashSet<FixId>) {
    for d in diags.iter_mut() {
        if fix_id(d, project).is_some_and(|id| blocked.contains(&id)) {
            d.fix = None;
        }
    }
}

/// The files as fixed so far.
#[derive(Clone, Default)]
struct State {
    overlay: HashMap<PathBuf, Vec<u8>>,
    modes: HashMap<PathBuf, u32>,
    codes: HashMap<PathBuf, LineCodes>,
}

fn newlines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// `state` with the fixes of `fixes` applied (their edits must not overlap).
fn apply(project: &Project, state: &State, fixes: &[&Diagnostic]) -> State {
    let mut next = state.clone();
    let mut per_file: HashMap<usize, Vec<(&Edit, &'static str)>> = HashMap::new();
    for d in fixes {
        let f = d.fix.as_ref().expect("picked fixes have a fix");
        for e in &f.edits {
            per_file.entry(e.file).or_default().push((e, d.code));
        }
        for &(file, mode) in &f.modes {
            next.modes.insert(project.db.get(file).path.clone(), mode);
        }
    }
    for (file, mut edits) in per_file {
        let sf = project.db.get(file);
        let mut bytes = sf.bytes.clone();
        let codes = next
            .codes
            .entry(sf.path.clone())
            .or_insert_with(|| vec![BTreeSet::new(); newlines(&bytes) + 1]);
        if codes.len() != newlines(&bytes) + 1 {
            *codes = vec![BTreeSet::new(); newlines(&bytes) + 1];
        }
        edits.sort_by_key(|(e, _)| std::cmp::Reverse((e.span.start, e.span.end)));
        for (e, code) in edits {
            let (s, t) = (e.span.start.min(bytes.len()), e.span.end.min(bytes.len()));
            let l1 = newlines(&bytes[..s]);
            let l2 = l1 + newlines(&bytes[s..t]);
            let mut u: BTreeSet<&'static str> = BTreeSet::new();
            for c in &codes[l1..=l2] {
                u.extend(c.iter().copied());
            }
            u.insert(code);
            let n = 1 + newlines(e.replacement.as_bytes());
            codes.splice(l1..=l2, std::iter::repeat_n(u, n));
            bytes.splice(s..t, e.replacement.bytes());
        }
        next.overlay.insert(sf.path.clone(), bytes);
    }
    next
}

/// The fixes grouped by rule and words: the same fix on several nodes is one group.
fn groups<'a>(fixes: &[&'a Diagnostic]) -> Vec<Vec<&'a Diagnostic>> {
    let mut out: Vec<Vec<&Diagnostic>> = Vec::new();
    for &d in fixes {
        let msg = &d.fix.as_ref().unwrap().message;
        match out
            .iter_mut()
            .find(|g| g[0].code == d.code && &g[0].fix.as_ref().unwrap().message == msg)
        {
            Some(g) => g.push(d),
            None => out.push(vec![d]),
        }
    }
    out
}

/// Runs the engine over `paths`.
pub fn fix(paths: &[PathBuf], read_spec: bool, sel: &Selection, with_unsafe: bool) -> Outcome {
    let mut state = State::default();
    let mut originals: HashMap<PathBuf, Vec<u8>> = HashMap::new();
    let mut original_modes: HashMap<PathBuf, u32> = HashMap::new();
    let mut blocked: HashSet<FixId> = HashSet::new();
    let mut out = Outcome::default();
    let mut project = Project::load_overlaid(paths, read_spec, HashMap::new());
    let mut diags = run(&project, sel);
    let wanted = |a: Applicability| a == Applicability::Safe || with_unsafe;
    let mut rounds = 0;
    let mut tries = 0;
    // One fix (group) per round, once a round added a finding and the culprit is unknown.
    let mut serial = false;
    while (rounds < MAX_ROUNDS || serial && rounds < MAX_ROUNDS * 10) && tries < MAX_ROUNDS * 30 {
        tries += 1;
        // No fix edits a file that is not text.
        for d in diags.iter_mut() {
            let Some(f) = &d.fix else { continue };
            if !wanted(f.applicability) {
                continue;
            }
            if let Some(e) = f
                .edits
                .iter()
                .find(|e| !crate::fix::is_text(&project.db.get(e.file).bytes))
            {
                let path = crate::output::display_path(&project.db.get(e.file).path);
                out.rejected.push((
                    d.code.to_owned(),
                    f.message.clone(),
                    format!("{path} is not a text file, and haconf never edits one"),
                ));
                if let Some(id) = fix_id(d, &project) {
                    blocked.insert(id);
                }
                d.fix = None;
            }
        }
        // Pick fixes whose edits overlap nothing already picked (all edits of a fix or none).
        let mut picked: Vec<&Diagnostic> = Vec::new();
        let mut taken: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
        for d in &diags {
            let Some(f) = &d.fix else { continue };
            if !wanted(f.applicability) || (f.edits.is_empty() && f.modes.is_empty()) {
                continue;
            }
            let clash = f.edits.iter().any(|e| {
                taken.get(&e.file).is_some_and(|v| {
                    v.iter().any(|&(s, t)| {
                        e.span.start < t && s < e.span.end
                            || (e.span.is_empty() && e.span.start == s && s == t)
                    })
                })
            }) || f.edits.iter().enumerate().any(|(i, a)| {
                f.edits[..i].iter().any(|b| {
                    a.file == b.file && a.span.start < b.span.end && b.span.start < a.span.end
                })
            });
            if clash {
                continue;
            }
            for e in &f.edits {
                taken
                    .entry(e.file)
                    .or_default()
                    .push((e.span.start, e.span.end));
            }
            picked.push(d);
        }
        if picked.is_empty() {
            break;
        }
        if serial {
            let first = groups(&picked).swap_remove(0);
            picked.retain(|d| first.iter().any(|f| std::ptr::eq(*f, *d)));
        }
        let mut next = apply(&project, &state, &picked);
        let before = syntax_errors(&diags, &project);
        let candidate = Project::load_overlaid_modes(
            paths,
            read_spec,
            next.overlay.clone(),
            next.modes.clone(),
        );
        let mut cand_diags = run(&candidate, sel);
        let after = syntax_errors(&cand_diags, &candidate);
        // Undo the round for files that got new syntax errors.
        let broken: Vec<PathBuf> = after
            .iter()
            .filter(|(p, n)| **n > before.get(*p).copied().unwrap_or(0))
            .map(|(p, _)| p.clone())
            .collect();
        if !broken.is_empty() {
            for d in &picked {
                let f = d.fix.as_ref().unwrap();
                if f.edits
                    .iter()
                    .any(|e| broken.contains(&project.db.get(e.file).path))
                {
                    out.dropped.push((d.code.to_owned(), f.message.clone()));
                    if let Some(id) = fix_id(d, &project) {
                        blocked.insert(id);
                    }
                }
            }
            // The round is tried again without them.
            forget(&mut diags, &project, &blocked);
            continue;
        }
        // The safety net: a safe fix may not add a finding as bad as the one it fixes.
        let counts = finding_counts(&diags, &project);
        let fresh = new_findings(&counts, &cand_diags, &candidate);
        // ... and a fix must remove its finding: one that leaves it would be offered again
        // and again (`priority 255` added above an invalid `priority 300` that still wins).
        let after_counts = finding_counts(&cand_diags, &candidate);
        let mut fixed_per_key: HashMap<Key, usize> = HashMap::new();
        for d in &picked {
            *fixed_per_key.entry(key(d, &project)).or_insert(0) += 1;
        }
        let ineffective: Vec<&Diagnostic> = picked
            .iter()
            .copied()
            .filter(|d| {
                let k = key(d, &project);
                let before = counts.get(&k).copied().unwrap_or(0);
                let now = after_counts.get(&k).copied().unwrap_or(0);
                now + fixed_per_key[&k] > before
            })
            .collect();
        if !ineffective.is_empty() {
            for d in ineffective {
                let f = d.fix.as_ref().unwrap();
                out.rejected.push((
                    d.code.to_owned(),
                    f.message.clone(),
                    "its finding is still there after it".into(),
                ));
                if let Some(id) = fix_id(d, &project) {
                    blocked.insert(id);
                }
            }
            forget(&mut diags, &project, &blocked);
            continue;
        }
        let safe: Vec<&Diagnostic> = picked
            .iter()
            .copied()
            .filter(|d| d.fix.as_ref().unwrap().applicability == Applicability::Safe)
            .collect();
        let weakest = safe.iter().map(|d| d.severity).min();
        if let Some(weakest) = weakest
            && fresh.iter().any(|f| f.severity >= weakest)
        {
            let mut culprits: Vec<(&Diagnostic, String)> = Vec::new();
            if groups(&picked).len() > 1 {
                // Which one? From here on, one fix at a time (the same fix on several nodes
                // counts as one: a rule comparing the nodes would see them differ half-way).
                serial = true;
                continue;
            }
            if let Some(f) = fresh.iter().find(|f| f.severity >= weakest) {
                let why = describe(f, &candidate);
                culprits.extend(safe.iter().map(|&d| (d, why.clone())));
            }
            if !culprits.is_empty() {
                for (d, why) in culprits {
                    let f = d.fix.as_ref().unwrap();
                    out.rejected
                        .push((d.code.to_owned(), f.message.clone(), why));
                    if let Some(id) = fix_id(d, &project) {
                        blocked.insert(id);
                    }
                }
                forget(&mut diags, &project, &blocked);
                continue;
            }
        }
        for d in &picked {
            let f = d.fix.as_ref().unwrap();
            out.applied.push((d.code.to_owned(), f.message.clone()));
            for e in &f.edits {
                let sf = project.db.get(e.file);
                originals
                    .entry(sf.path.clone())
                    .or_insert_with(|| sf.bytes.clone());
            }
            for &(file, _) in &f.modes {
                let path = project.db.get(file).path.clone();
                if let Some(old) = project.db.mode(&path) {
                    original_modes.entry(path).or_insert(old);
                }
            }
        }
        forget(&mut cand_diags, &candidate, &blocked);
        std::mem::swap(&mut state, &mut next);
        project = candidate;
        diags = cand_diags;
        rounds += 1;
    }
    for (path, bytes) in &state.overlay {
        let orig = originals.get(path).cloned().unwrap_or_default();
        if &orig != bytes {
            out.changed.push((path.clone(), orig, bytes.clone()));
            if let Some(c) = state.codes.get(path) {
                out.line_codes.insert(path.clone(), c.clone());
            }
        }
    }
    out.changed.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, new) in &state.modes {
        let old = original_modes.get(path).copied().unwrap_or(*new);
        if old != *new {
            out.modes.push((path.clone(), old, *new));
        }
    }
    out.modes.sort();
    out.unsafe_available = diags
        .iter()
        .filter(|d| {
            d.fix
                .as_ref()
                .is_some_and(|f| f.applicability == Applicability::Unsafe)
        })
        .count();
    out.remaining = diags;
    out.project = Some(project);
    out
}

/// The rule codes of a fixed file's diff, on each hunk header: `@@ -1,3 +1,3 @@ NX013`.
/// `codes` says which rules changed each line of the new text; without it (or when it does
/// not match the text, after `--format`) every hunk gets `all`.
pub fn label_hunks(diff: &str, codes: Option<&LineCodes>, all: &BTreeSet<&str>) -> String {
    let mut out = String::with_capacity(diff.len() + 64);
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if !line.starts_with("@@") {
            out.push_str(line);
            i += 1;
            continue;
        }
        // `@@ -a,b +c,d @@`: walk the hunk, collecting the codes of its changed lines.
        let start = line
            .split(' ')
            .find(|w| w.starts_with('+'))
            .and_then(|w| w[1..].split(',').next()?.parse::<usize>().ok())
            .unwrap_or(1);
        let mut new_line = start.max(1);
        let mut found: BTreeSet<&str> = BTreeSet::new();
        let mut j = i + 1;
        while j < lines.len() && !lines[j].starts_with("@@") && !lines[j].starts_with("--- ") {
            let l = lines[j];
            let at = |n: usize| codes.and_then(|c| c.get(n.saturating_sub(1)));
            if l.starts_with('+') {
                found.extend(at(new_line).into_iter().flatten().copied());
                new_line += 1;
            } else if l.starts_with('-') {
                // A deleted line: its fix marked the line that took its place.
                found.extend(at(new_line).into_iter().flatten().copied());
                if new_line > 1 {
                    found.extend(at(new_line - 1).into_iter().flatten().copied());
                }
            } else if !l.starts_with('\\') {
                new_line += 1;
            }
            j += 1;
        }
        if codes.is_none() || found.is_empty() {
            found = all.clone();
        }
        let head = line.trim_end_matches('\n');
        if found.is_empty() {
            out.push_str(line);
        } else {
            let list: Vec<&str> = found.into_iter().collect();
            out.push_str(&format!("{head} {}\n", list.join(" ")));
        }
        i += 1;
    }
    out
}

/// A unified diff of one file, `--- a/PATH` / `+++ b/PATH`, with secrets masked.
pub fn unified_diff(path: &str, old: &[u8], new: &[u8]) -> String {
    unified_diff_secrets(path, old, new, false)
}

/// As [`unified_diff`]; `show_secrets` prints `auth_pass` values as they are.
pub fn unified_diff_secrets(path: &str, old: &[u8], new: &[u8], show_secrets: bool) -> String {
    let (old, new) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    let (old, new) = if show_secrets {
        (old.into_owned(), new.into_owned())
    } else {
        (
            crate::output::mask_secrets(&old).into_owned(),
            crate::output::mask_secrets(&new).into_owned(),
        )
    };
    // A diff is read on a terminal: control characters of the configs are shown escaped.
    let (old, new) = (
        crate::output::escape_controls(&old).into_owned(),
        crate::output::escape_controls(&new).into_owned(),
    );
    let path = crate::output::escape_controls(path);
    let diff = similar::TextDiff::from_lines(&old, &new);
    diff.unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
