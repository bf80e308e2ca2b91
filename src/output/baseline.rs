//! Baselines: `--write-baseline FILE` records today's findings, `--baseline FILE` reports only
//! new ones. A finding is matched on (file, code, the text of its line), never on line
//! numbers, so an edit above a finding does not bring it back. Each recorded entry absorbs
//! one finding, so a second copy of the same problem on an identical line is still new.

use super::{display_path, mask_secrets};
use crate::diagnostic::Diagnostic;
use crate::source::SourceDb;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub file: String,
    pub code: String,
    /// The finding's line, trimmed (secrets masked).
    pub line: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

fn entry(db: &SourceDb, d: &Diagnostic) -> Entry {
    let f = db.get(d.file);
    let (l, _) = f.line_col(d.span.start);
    Entry {
        file: display_path(&f.path),
        code: d.code.to_owned(),
        line: mask_secrets(f.line_text(l).trim()).into_owned(),
    }
}

pub fn write(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let b = Baseline {
        version: 1,
        findings: diags.iter().map(|d| entry(db, d)).collect(),
    };
    let mut s = serde_json::to_string_pretty(&b).unwrap_or_default();
    s.push('\n');
    s
}

pub fn parse(text: &str) -> Result<Baseline, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// The findings not in the baseline.
pub fn filter(db: &SourceDb, diags: Vec<Diagnostic>, baseline: &Baseline) -> Vec<Diagnostic> {
    let mut left: Vec<Option<&Entry>> = baseline.findings.iter().map(Some).collect();
    diags
        .into_iter()
        .filter(|d| {
            let e = entry(db, d);
            match left.iter_mut().find(|x| x.is_some_and(|x| *x == e)) {
                Some(slot) => {
                    *slot = None;
                    false
                }
                None => true,
            }
        })
        .collect()
}
