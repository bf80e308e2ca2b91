//! Diagnostics: what a rule found, where, and how to fix it. Outputs render these; they never
//! decide what is wrong.

use crate::source::{FileId, Span};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    Safe,
    Unsafe,
}

/// Replace `span` of `file` with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub file: FileId,
    pub span: Span,
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub applicability: Applicability,
    /// File modes to set (`chmod`), with the text edits.
    pub modes: Vec<(FileId, u32)>,
    pub message: String,
    pub edits: Vec<Edit>,
}

/// Another place that explains the finding (often the same setting on another node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: FileId,
    pub span: Span,
    /// The node the file belongs to, or `None` for a cluster-wide finding.
    pub node: Option<String>,
    pub help: Option<String>,
    pub related: Vec<Related>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(code: &'static str, file: FileId, span: Span, message: impl Into<String>) -> Self {
        let severity = crate::rules::by_code(code).map_or(Severity::Error, |r| r.severity);
        Diagnostic {
            code,
            severity,
            message: message.into(),
            file,
            span,
            node: None,
            help: None,
            related: Vec::new(),
            fix: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    /// Keeps the fix only when `keep` (a fix that cannot be offered here).
    pub fn with_fix_if(mut self, keep: bool) -> Self {
        if !keep {
            self.fix = None;
        }
        self
    }

    pub fn with_related(mut self, r: Related) -> Self {
        self.related.push(r);
        self
    }
}
