//! Baselines: `--write-baseline FILE` records today's findings, `--baseline FILE` reports only
//! new ones. A finding is matched on (file, code, the text of its line), never on line
//! numbers, so an edit above a finding does not bring it back. Each recorded entry absorbs
//! one finding, so a second copy of the same problem on an identical line is still new.

use super::{Redactor, display_path};
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

/// The entry of a finding. Its line comes through the one redactor of every output, so a
/// secret is masked whatever its layout (a value alone on the line after `auth_pass` too).
fn entry(red: &Redactor, db: &SourceDb, d: &Diagnostic) -> Entry {
    let f = db.get(d.file);
    let (l, _) = f.line_col(d.span.start);
    Entry {
        file: display_path(&f.path),
        code: d.code.to_owned(),
        line: red.line(d.file, l).trim().to_owned(),
    }
}

pub fn write(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let b = Baseline {
        version: 1,
        findings: {
            let red = Redactor::new(db);
            diags.iter().map(|d| entry(&red, db, d)).collect()
        },
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
    let red = Redactor::new(db);
    diags
        .into_iter()
        .filter(|d| {
            let e = entry(&red, db, d);
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
