//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning. Rule metadata (descriptions, help,
//! default level) comes from the rules' own docs; results carry related locations on the other
//! nodes, fixes where a rule has one, and `partialFingerprints` without line numbers (file,
//! rule, text of the line), so a finding keeps its identity when lines move.

use super::{Escape, Redactor, display_path};
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceDb, Span};
use serde_json::{Value, json};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative URI reference for a path (forward slashes, reserved bytes percent-encoded).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// FNV-1a, 64 bits: stable across Rust releases, unlike `DefaultHasher`.
fn fnv(s: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// An artifact location: relative to SRCROOT for files below the working directory, an
/// absolute `file://` URI for the others (a relative reference must not start with `/`).
fn artifact(path: &str) -> Value {
    if path.starts_with('/') {
        json!({"uri": format!("file://{}", uri(path))})
    } else {
        json!({"uri": uri(path), "uriBaseId": "SRCROOT"})
    }
}

fn region(db: &SourceDb, file: usize, span: Span) -> Value {
    let f = db.get(file);
    let (sl, sc) = f.line_col(span.start);
    let (el, ec) = f.line_col(span.end);
    json!({"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec.max(if el == sl { sc } else { 1 })})
}

fn location(db: &SourceDb, file: usize, span: Span) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": artifact(&display_path(&db.get(file).path)),
            "region": region(db, file, span),
        }
    })
}

/// The first paragraph of a docs section.
fn section(docs: &str, title: &str) -> String {
    docs.split(&format!("## {title}\n"))
        .nth(1)
        .map(|s| s.split("\n## ").next().unwrap_or(s))
        .and_then(|s| s.split("\n\n").next())
        .unwrap_or("")
        .replace('\n', " ")
        .trim()
        .to_owned()
}

pub fn render(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let rules = crate::rules::all();
    let mut rule_meta: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": section(r.docs, "What it finds")},
                "help": {"text": format!("{}\n\nFix: {}", section(r.docs, "Why it matters"), section(r.docs, "Fix")), "markdown": r.docs},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"tags": [match &r.code[..2] { "KA" => "keepalived", "NX" => "nginx", "CL" => "cluster", "HC" => "health-check", _ => "haconf" }]},
            })
        })
        .collect();
    // shellcheck's codes are not in the registry: one descriptor per code seen, after ours.
    let mut ids: Vec<&str> = rules.iter().map(|r| r.code).collect();
    for d in diags {
        if crate::rules::script::shellcheck::is_sc(d.code) && !ids.contains(&d.code) {
            ids.push(d.code);
            let wiki = crate::rules::script::shellcheck::wiki(d.code);
            rule_meta.push(json!({
                "id": d.code,
                "name": format!("shellcheck-{}", d.code),
                "shortDescription": {"text": format!("shellcheck {}", d.code)},
                "helpUri": wiki,
                "help": {"text": format!("See {wiki}")},
                "properties": {"tags": ["shellcheck"]},
            }));
        }
    }
    let red = Redactor::new(db);
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let d = &*red.diag(d, Escape::Structured);
            let f = db.get(d.file);
            let (line, _) = f.line_col(d.span.start);
            let path = display_path(&f.path);
            let mut r = json!({
                "ruleId": d.code,
                "ruleIndex": ids.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": {"text": d.message},
                "locations": [location(db, d.file, d.span)],
                "partialFingerprints": {
                    "haconfLine/v1": fnv(&format!("{path}\0{}\0{}", d.code, red.line(d.file, line).trim())),
                },
            });
            if !d.related.is_empty() {
                r["relatedLocations"] = Value::Array(
                    d.related
                        .iter()
                        .enumerate()
                        .map(|(i, rel)| {
                            let mut l = location(db, rel.file, rel.span);
                            l["id"] = json!(i + 1);
                            l["message"] = json!({"text": rel.message});
                            l
                        })
                        .collect(),
                );
            }
            // SARIF cannot say "chmod": a fix with no text edit is left out.
            if let Some(fx) = d.fix.as_ref().filter(|f| !f.edits.is_empty()) {
                let mut changes: Vec<Value> = Vec::new();
                for e in &fx.edits {
                    let ef = db.get(e.file);
                    let inserted = e.replacement.clone();
                    changes.push(json!({
                        "artifactLocation": artifact(&display_path(&ef.path)),
                        "replacements": [{"deletedRegion": region(db, e.file, e.span), "insertedContent": {"text": inserted}}],
                    }));
                }
                r["fixes"] = json!([{"description": {"text": fx.message}, "artifactChanges": changes}]);
            }
            r
        })
        .collect();
    let root = std::env::current_dir()
        .map(|p| format!("file://{}/", uri(&p.to_string_lossy())))
        .unwrap_or_else(|_| "file:///".into());
    let v = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "haconf",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/haconf/haconf",
                "rules": rule_meta,
            }},
            "originalUriBaseIds": {"SRCROOT": {"uri": root}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
