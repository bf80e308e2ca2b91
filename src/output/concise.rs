//! `--format concise`: one line per finding, `file:line:col: CODE severity: message`.

use super::{Escape, Redactor, display_path, escape_controls};
use crate::diagnostic::Diagnostic;
use crate::source::SourceDb;

pub fn render(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let mut s = String::new();
    let red = Redactor::new(db);
    for d in diags {
        let d = red.diag(d, Escape::Text);
        let f = db.get(d.file);
        let (l, c) = f.line_col(d.span.start);
        s.push_str(&format!(
            "{}:{l}:{c}: {} {}: {}\n",
            escape_controls(&display_path(&f.path)),
            d.code,
            d.severity.as_str(),
            one_line(&d.message)
        ));
    }
    s
}

/// Messages are one line already; this guards the line-oriented formats anyway.
pub fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
