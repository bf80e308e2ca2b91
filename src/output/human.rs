//! Human output: each finding with its source snippet (miette), then a summary.

use super::display_path;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceDb;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

struct Report<'a> {
    d: &'a Diagnostic,
    src: NamedSource<Arc<str>>,
    /// The finding itself (else a related location of another finding).
    main: bool,
    related: Vec<Report<'a>>,
    severity: Severity,
    message: String,
    span: crate::source::Span,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if !self.main {
            return None;
        }
        let name = crate::rules::by_code(self.d.code).map_or("", |r| r.name);
        Some(Box::new(format!("{}({})", self.d.code, name)))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if !self.main {
            return None;
        }
        let mut parts = Vec::new();
        if let Some(h) = &self.d.help {
            parts.push(h.clone());
        }
        if let Some(fx) = &self.d.fix {
            let how = match fx.applicability {
                crate::diagnostic::Applicability::Safe => "suggested fix",
                crate::diagnostic::Applicability::Unsafe => "suggested fix (changes behaviour)",
            };
            parts.push(format!("{how}: {}", fx.message));
        }
        if parts.is_empty() {
            None
        } else {
            Some(Box::new(parts.join("\n")))
        }
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let len = self.span.len();
        let label = (!self.main).then(|| self.message.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new(
            label,
            self.span.start,
            len,
        ))))
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

/// Renders all diagnostics and a summary. `color` selects the themed output.
pub fn render(db: &SourceDb, diags: &[Diagnostic], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_width(100);
    let red = super::Redactor::new(db);
    let mut cache: HashMap<usize, Arc<str>> = HashMap::new();
    let mut src = |file: usize| -> NamedSource<Arc<str>> {
        let f = db.get(file);
        let text = cache
            .entry(file)
            .or_insert_with(|| red.source(file))
            .clone();
        NamedSource::new(super::escape_controls(&display_path(&f.path)), text)
    };
    let mut out = String::new();
    for d in diags {
        let d = &*red.diag(d, super::Escape::Text);
        let related = d
            .related
            .iter()
            .map(|r| Report {
                d,
                src: src(r.file),
                main: false,
                related: vec![],
                severity: Severity::Info,
                message: r.message.clone(),
                span: r.span,
            })
            .collect();
        let report = Report {
            d,
            src: src(d.file),
            main: true,
            related,
            severity: d.severity,
            message: d.message.clone(),
            span: d.span,
        };
        let _ = handler.render_report(&mut out, &report);
        out.push('\n');
    }
    out.push_str(&summary(diags));
    out
}

/// `Found 3 errors, 2 warnings and 1 info.` and how many have a fix.
pub fn summary(diags: &[Diagnostic]) -> String {
    if diags.is_empty() {
        return "All checks passed.\n".into();
    }
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    for (s, w) in [(Severity::Error, "error"), (Severity::Warning, "warning")] {
        let n = count(s);
        if n > 0 {
            parts.push(plural(n, w));
        }
    }
    let n = count(Severity::Info);
    if n > 0 {
        parts.push(format!("{n} info"));
    }
    let safe = diags
        .iter()
        .filter(|d| {
            d.fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Safe)
        })
        .count();
    let unsafe_ = diags
        .iter()
        .filter(|d| {
            d.fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Unsafe)
        })
        .count();
    let mut s = format!("Found {}.", join_and(&parts));
    if safe + unsafe_ > 0 {
        s.push_str(&format!(
            "\n{} with a suggested fix ({safe} safe, {unsafe_} changing behaviour).",
            safe + unsafe_
        ));
    }
    s.push('\n');
    s
}

fn join_and(parts: &[String]) -> String {
    match parts.len() {
        0 => String::new(),
        1 => parts[0].clone(),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}
