//! `--format junit`: JUnit XML, for CI systems that show test reports (GitLab, Jenkins).
//! One test suite per file, one failed test case per finding.

use super::{Escape, Redactor, display_path, escape_controls};
use crate::diagnostic::Diagnostic;
use crate::source::SourceDb;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub fn render(db: &SourceDb, diags: &[Diagnostic]) -> String {
    // XML 1.0 cannot hold most control characters even as references: they are escaped as
    // text, like in every other text output.
    let red = Redactor::new(db);
    let diags: Vec<Diagnostic> = diags
        .iter()
        .map(|d| red.diag(d, Escape::Text).into_owned())
        .collect();
    let mut files: Vec<(String, Vec<&Diagnostic>)> = Vec::new();
    for d in &diags {
        let p = escape_controls(&display_path(&db.get(d.file).path)).into_owned();
        match files.iter_mut().find(|(f, _)| *f == p) {
            Some((_, v)) => v.push(d),
            None => files.push((p, vec![d])),
        }
    }
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"haconf\" tests=\"{0}\" failures=\"{0}\">\n",
        diags.len()
    ));
    for (file, ds) in &files {
        s.push_str(&format!(
            "  <testsuite name=\"{0}\" tests=\"{1}\" failures=\"{1}\">\n",
            esc(file),
            ds.len()
        ));
        for d in ds {
            let (l, c) = db.get(d.file).line_col(d.span.start);
            s.push_str(&format!(
                "    <testcase name=\"{} at {file}:{l}:{c}\" classname=\"{}\">\n      <failure type=\"{}\" message=\"{}\">{}:{l}:{c}: {} {}</failure>\n    </testcase>\n",
                d.code,
                esc(file),
                d.severity.as_str(),
                esc(&d.message),
                esc(file),
                d.code,
                esc(&d.message),
                file = esc(file)
            ));
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}
