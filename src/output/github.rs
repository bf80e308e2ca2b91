//! `--format github`: GitHub Actions workflow commands, so findings show as annotations on
//! the pull request (`::error file=...,line=...,col=...,title=CODE::message`).

use super::{Escape, Redactor, display_path, escape_controls};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceDb;

/// Workflow-command escaping of a property value.
fn prop(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Workflow-command escaping of the message.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub fn render(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let mut s = String::new();
    let red = Redactor::new(db);
    for d in diags {
        let d = red.diag(d, Escape::Text);
        let f = db.get(d.file);
        let (l, c) = f.line_col(d.span.start);
        let (el, ec) = f.line_col(d.span.end);
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let name = crate::rules::by_code(d.code).map_or("", |r| r.name);
        s.push_str(&format!(
            "::{level} file={},line={l},col={c},endLine={el},endColumn={ec},title={}::{}\n",
            prop(&escape_controls(&display_path(&f.path))),
            prop(&format!("{} ({name})", d.code)),
            data(&d.message)
        ));
    }
    s
}
