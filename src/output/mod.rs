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

/// `--statistics`: findings per rule, most frequent first.
pub fn statistics(diags: &[crate::diagnostic::Diagnostic]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for d in diags {
        match counts.iter_mut().find(|c| c.0 == d.code) {
            Some(c) => c.1 += 1,
            None => counts.push((d.code, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut s = String::new();
    for (code, n) in counts {
        let r = crate::rules::by_code(code);
        let fix = r.map_or("", |r| match r.fix {
            crate::rules::FixKind::None => "",
            crate::rules::FixKind::Unsafe => "[unsafe fix]",
            _ => "[fix]",
        });
        let line = format!("{n:>5}  {code}  {:<44} {fix}", r.map_or("", |r| r.name));
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
