//! Renderers: one file per format. They print diagnostics; they never decide what is wrong.

pub mod baseline;
pub mod concise;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod redact;
pub mod sarif;

use std::path::Path;

/// A path as the user should see it: relative to the working directory when it is below it.
pub fn display_path(p: &Path) -> String {
    if p.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = p.strip_prefix(&cwd)
    {
        return rel.to_string_lossy().into_owned();
    }
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_owned()
}

pub use redact::{Escape, Redactor, escape_controls, is_secret_at, mask_secrets};

/// `--statistics`: findings per rule, most frequent first. A rule is marked fixable when the
/// findings of this run carry a fix (the same `fix` the JSON shows), not because the rule can
/// fix some other case.
pub fn statistics(diags: &[crate::diagnostic::Diagnostic]) -> String {
    use crate::diagnostic::Applicability;
    // (code, findings, with a safe fix, with an unsafe fix)
    let mut counts: Vec<(&str, usize, usize, usize)> = Vec::new();
    for d in diags {
        let i = match counts.iter().position(|c| c.0 == d.code) {
            Some(i) => i,
            None => {
                counts.push((d.code, 0, 0, 0));
                counts.len() - 1
            }
        };
        let c = &mut counts[i];
        c.1 += 1;
        match d.fix.as_ref().map(|f| f.applicability) {
            Some(Applicability::Safe) => c.2 += 1,
            Some(Applicability::Unsafe) => c.3 += 1,
            None => {}
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut s = String::new();
    for (code, n, safe, unsafe_) in counts {
        let name = crate::rules::by_code(code).map_or("", |r| r.name);
        let some = |k: usize| {
            if k < n {
                format!(" ({k} of {n})")
            } else {
                String::new()
            }
        };
        let fix = match (safe, unsafe_) {
            (0, 0) => String::new(),
            (k, 0) => format!("[fix]{}", some(k)),
            (0, k) => format!("[unsafe fix]{}", some(k)),
            (k, u) => format!("[fix]{} [unsafe fix]{}", some(k), some(u)),
        };
        let line = format!("{n:>5}  {code}  {name:<44} {fix}");
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
