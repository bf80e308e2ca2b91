//! The fix engine: applies the fixes of the diagnostics as non-overlapping text edits, parses
//! and checks again, and loops until nothing changes. A fix whose edits overlap another's
//! waits for the next round; a round that adds syntax errors to a file is undone for that
//! file and its fixes are reported as dropped. Nothing here writes to disk.

use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::project::Project;
use crate::rules::{Selection, run};
use std::collections::HashMap;
use std::path::PathBuf;

/// At most this many rounds (each round applies every fix that does not conflict).
pub const MAX_ROUNDS: usize = 10;

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
    /// Findings left, with the fixes that `--unsafe` would apply among them.
    pub remaining: Vec<Diagnostic>,
    pub unsafe_available: usize,
    /// The project as fixed (for rendering the remaining findings).
    pub project: Option<Project>,
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

/// Runs the engine over `paths`.
pub fn fix(paths: &[PathBuf], read_spec: bool, sel: &Selection, with_unsafe: bool) -> Outcome {
    let mut overlay: HashMap<PathBuf, Vec<u8>> = HashMap::new();
    let mut originals: HashMap<PathBuf, Vec<u8>> = HashMap::new();
    let mut modes: HashMap<PathBuf, u32> = HashMap::new();
    let mut original_modes: HashMap<PathBuf, u32> = HashMap::new();
    let mut out = Outcome::default();
    let mut project = Project::load_overlaid(paths, read_spec, overlay.clone());
    let mut diags = run(&project, sel);
    for _ in 0..MAX_ROUNDS {
        let wanted = |a: Applicability| a == Applicability::Safe || with_unsafe;
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
        // Apply per file, from the end so offsets stay valid.
        let mut per_file: HashMap<usize, Vec<&Edit>> = HashMap::new();
        for d in &picked {
            for e in &d.fix.as_ref().unwrap().edits {
                per_file.entry(e.file).or_default().push(e);
            }
        }
        let mut next = overlay.clone();
        for d in &picked {
            for &(file, mode) in &d.fix.as_ref().unwrap().modes {
                let path = project.db.get(file).path.clone();
                if let Some(old) = project.db.mode(&path) {
                    original_modes.entry(path.clone()).or_insert(old);
                }
                modes.insert(path, mode);
            }
        }
        for (file, mut edits) in per_file {
            let sf = project.db.get(file);
            originals
                .entry(sf.path.clone())
                .or_insert_with(|| sf.bytes.clone());
            let mut bytes = sf.bytes.clone();
            edits.sort_by_key(|e| std::cmp::Reverse((e.span.start, e.span.end)));
            for e in edits {
                bytes.splice(e.span.start..e.span.end, e.replacement.bytes());
            }
            next.insert(sf.path.clone(), bytes);
        }
        let before = syntax_errors(&diags, &project);
        let candidate = Project::load_overlaid_modes(paths, read_spec, next.clone(), modes.clone());
        let cand_diags = run(&candidate, sel);
        let after = syntax_errors(&cand_diags, &candidate);
        // Undo the round for files that got new syntax errors.
        let broken: Vec<PathBuf> = after
            .iter()
            .filter(|(p, n)| **n > before.get(*p).copied().unwrap_or(0))
            .map(|(p, _)| p.clone())
            .collect();
        for d in &picked {
            let f = d.fix.as_ref().unwrap();
            let touches_broken = f
                .edits
                .iter()
                .any(|e| broken.contains(&project.db.get(e.file).path));
            let entry = (d.code.to_owned(), f.message.clone());
            if touches_broken {
                out.dropped.push(entry)
            } else {
                out.applied.push(entry)
            }
        }
        if !broken.is_empty() {
            for p in &broken {
                match overlay.get(p) {
                    Some(prev) => {
                        next.insert(p.clone(), prev.clone());
                    }
                    None => {
                        next.remove(p);
                    }
                }
            }
            overlay = next;
            project =
                Project::load_overlaid_modes(paths, read_spec, overlay.clone(), modes.clone());
            diags = run(&project, sel);
            // Fixes that broke a file are not tried again.
            let dropped = out.dropped.clone();
            diags.iter_mut().for_each(|d| {
                if d.fix
                    .as_ref()
                    .is_some_and(|f| dropped.iter().any(|x| x.0 == d.code && x.1 == f.message))
                {
                    d.fix = None;
                }
            });
            continue;
        }
        overlay = next;
        project = candidate;
        diags = cand_diags;
    }
    for (path, bytes) in &overlay {
        let orig = originals.get(path).cloned().unwrap_or_default();
        if &orig != bytes {
            out.changed.push((path.clone(), orig, bytes.clone()));
        }
    }
    out.changed.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, new) in &modes {
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
