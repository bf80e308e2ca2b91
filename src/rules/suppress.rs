//! Suppression comments: `# haconf: ignore[CODE, CODE] reason` (keepalived also accepts `!`)
//! at the end of a line, or alone on the line above, silences those codes on that line.
//! Suppressions that silence nothing are reported (HA002).

use crate::diagnostic::Diagnostic;
use crate::project::Project;
use crate::source::{FileId, Span};

struct Suppression {
    file: FileId,
    /// The 1-based line it applies to.
    target: usize,
    codes: Vec<String>,
    span: Span,
    used: Vec<bool>,
}

const MARK: &str = "haconf: ignore[";

fn scan(project: &Project, file: FileId, out: &mut Vec<Suppression>) {
    let f = project.db.get(file);
    if !f.text.contains(MARK) {
        return;
    }
    let n = f.line_count();
    for line in 1..=n {
        let text = f.line_text(line);
        let Some(at) = text.find(MARK) else { continue };
        let before = &text[..at];
        let Some(c) = before.rfind(['#', '!']) else {
            continue;
        };
        if !before[c + 1..].trim().is_empty() {
            continue;
        }
        let rest = &text[at + MARK.len()..];
        let Some(close) = rest.find(']') else {
            continue;
        };
        let codes: Vec<String> = rest[..close]
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let own_line = before[..c].trim().is_empty();
        let target = if own_line {
            // The next line that is not blank and not only a comment.
            (line + 1..=n)
                .find(|&l| {
                    let t = f.line_text(l).trim_start();
                    !t.is_empty() && !t.starts_with('#') && !t.starts_with('!')
                })
                .unwrap_or(line)
        } else {
            line
        };
        let start = f.offset(line, 1) + c;
        let end = f.offset(line, 1) + at + MARK.len() + close + 1;
        let used = vec![false; codes.len()];
        out.push(Suppression {
            file,
            target,
            codes,
            span: Span::new(start, end),
            used,
        });
    }
}

/// `enabled` tells which codes run: a suppression of a code that did not run is not unused.
pub fn apply(
    project: &Project,
    diags: Vec<Diagnostic>,
    enabled: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut sups = Vec::new();
    for id in 0..project.db.len() {
        if project
            .db
            .get(id)
            .path
            .extension()
            .is_some_and(|e| e == "toml")
        {
            continue;
        }
        scan(project, id, &mut sups);
    }
    if sups.is_empty() {
        return diags;
    }
    let mut kept = Vec::with_capacity(diags.len());
    for d in diags {
        let line = project.db.get(d.file).line_col(d.span.start).0;
        let mut hit = false;
        for s in sups
            .iter_mut()
            .filter(|s| s.file == d.file && s.target == line)
        {
            for (i, c) in s.codes.iter().enumerate() {
                if c == "ALL" || d.code.starts_with(c.as_str()) {
                    s.used[i] = true;
                    hit = true;
                }
            }
        }
        if !hit {
            kept.push(d);
        }
    }
    if enabled("HA002") {
        for s in &sups {
            let unused: Vec<&str> = s
                .codes
                .iter()
                .zip(&s.used)
                .filter(|(c, u)| !**u && (c.as_str() == "ALL" || enabled(c)))
                .map(|(c, _)| c.as_str())
                .collect();
            if !unused.is_empty() {
                kept.push(
                    Diagnostic::new(
                        "HA002",
                        s.file,
                        s.span,
                        format!(
                            "this suppression of {} matches no finding on its line",
                            unused.join(", ")
                        ),
                    )
                    .with_help("remove it, or the codes that no longer apply"),
                );
            }
        }
    }
    kept
}
