//! `--format json`: one object, `{"version": 1, "diagnostics": [...], "summary": {...}}`, with
//! the fields of the JSON contract (README, *Output formats*). Secrets are masked.

use super::display_path;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceDb;
use serde_json::{Value, json};

pub fn render(db: &SourceDb, diags: &[Diagnostic], notes: &[String]) -> String {
    let red = super::Redactor::new(db);
    let list: Vec<Value> = diags
        .iter()
        .map(|d| diagnostic(db, &red.diag(d, super::Escape::Structured)))
        .collect();
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let v = json!({
        "version": 1,
        "diagnostics": list,
        "summary": {
            "error": count(Severity::Error),
            "warning": count(Severity::Warning),
            "info": count(Severity::Info),
        },
        "notes": notes,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn diagnostic(db: &SourceDb, d: &Diagnostic) -> Value {
    let f = db.get(d.file);
    let (line, column) = f.line_col(d.span.start);
    let (end_line, end_column) = f.line_col(d.span.end);
    let name = crate::rules::by_code(d.code).map_or("", |r| r.name);
    let related: Vec<Value> = d
        .related
        .iter()
        .map(|r| {
            let rf = db.get(r.file);
            let (l, c) = rf.line_col(r.span.start);
            json!({"file": display_path(&rf.path), "line": l, "column": c, "message": r.message})
        })
        .collect();
    let fix = d.fix.as_ref().map(|fx| {
        let edits: Vec<Value> = fx
            .edits
            .iter()
            .map(|e| {
                let ef = db.get(e.file);
                let (sl, sc) = ef.line_col(e.span.start);
                let (el, ec) = ef.line_col(e.span.end);
                // Masked by the redactor when it writes a secret.
                let replacement = e.replacement.clone();
                json!({
                    "file": display_path(&ef.path),
                    "start_line": sl, "start_column": sc,
                    "end_line": el, "end_column": ec,
                    "replacement": replacement,
                })
            })
            .collect();
        let mut v = json!({"applicability": fx.applicability, "message": fx.message, "edits": edits});
        if !fx.modes.is_empty() {
            v["modes"] = fx
                .modes
                .iter()
                .map(|(file, mode)| {
                    json!({"file": display_path(&db.get(*file).path), "mode": format!("{mode:04o}")})
                })
                .collect();
        }
        v
    });
    json!({
        "code": d.code,
        "name": name,
        "severity": d.severity,
        "message": d.message,
        "node": d.node,
        "file": display_path(&f.path),
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "help": d.help,
        "related": related,
        "fix": fix,
    })
}
