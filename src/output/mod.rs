//! Renderers: one file per format. They print diagnostics; they never decide what is wrong.

pub mod baseline;
pub mod concise;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
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

/// `text` with the value of every `auth_pass` line replaced by `*` (same length, so spans stay
/// valid): secrets never appear in output other than the files themselves.
pub fn mask_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("auth_pass") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match secret_range(line) {
            Some((a, b)) => {
                out.push_str(&line[..a]);
                out.extend(std::iter::repeat_n('*', line[a..b].chars().count()));
                out.push_str(&line[b..]);
            }
            None => out.push_str(line),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The byte range of the value on an `auth_pass` line.
fn secret_range(line: &str) -> Option<(usize, usize)> {
    let t = line.trim_start();
    let rest = t.strip_prefix("auth_pass")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let start = line.len() - rest.len() + (rest.len() - rest.trim_start().len());
    let v = &line[start..];
    let end = start
        + v.find(|c: char| c.is_whitespace() || c == '#' || c == '!' || c == '}')
            .unwrap_or(v.len());
    (end > start).then_some((start, end))
}

/// Whether `offset` of `text` falls inside an `auth_pass` value.
pub fn is_secret_at(text: &str, offset: usize) -> bool {
    let ls = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let le = text[ls..].find('\n').map_or(text.len(), |i| ls + i);
    secret_range(&text[ls..le]).is_some_and(|(a, b)| offset >= ls + a && offset <= ls + b)
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_masked_in_place() {
        let t = "a\n    auth_pass s3cr3t # c\nauth_passx y\n";
        let m = super::mask_secrets(t);
        assert_eq!(m, "a\n    auth_pass ****** # c\nauth_passx y\n");
        assert_eq!(m.len(), t.len());
        assert!(super::is_secret_at(t, t.find("s3").unwrap()));
        assert!(!super::is_secret_at(t, 0));
    }
}
