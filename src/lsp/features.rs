//! Hover, completion, go to definition and code actions, on top of the parsers and the
//! rules. Kept free of I/O so they can be tested on strings.

use crate::diagnostic::{Applicability, Diagnostic};
use crate::project::Project;
use crate::source::{FileId, Span};
use crate::syntax::{keepalived as ka, nginx as ng};
use crate::vocab::keepalived::{Vocabulary as KaVocab, child_path};
use crate::vocab::nginx::{Context, Vocabulary as NgVocab};
use lsp_types as lt;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Keepalived,
    /// An nginx file, with the context of its top-level directives.
    Nginx(Context),
    Script,
    Spec,
    Other,
}

/// What kind of file `path` is, as the project reads it.
pub fn kind_of(project: &Project, path: &Path) -> Kind {
    if path.file_name().is_some_and(|n| n == "haconf.toml") {
        return Kind::Spec;
    }
    let Some(id) = project.db.find(path) else {
        return guess(path);
    };
    for c in &project.clusters {
        for n in &c.nodes {
            if n.keepalived
                .as_ref()
                .is_some_and(|u| u.trees.contains_key(&id))
            {
                return Kind::Keepalived;
            }
            for u in &n.nginx {
                if u.trees.contains_key(&id) {
                    return Kind::Nginx(if u.root == id {
                        u.context
                    } else {
                        Context::Http
                    });
                }
            }
            if n.programs.iter().any(|p| p.file == Some(id)) {
                return Kind::Script;
            }
        }
    }
    guess(path)
}

/// The kind of a file from its name alone (before its cluster is loaded).
pub fn guess(path: &Path) -> Kind {
    let s = path.to_string_lossy();
    if s.contains("keepalived") && s.ends_with(".conf") {
        Kind::Keepalived
    } else if s.contains("nginx") || s.ends_with(".conf") {
        Kind::Nginx(Context::Main)
    } else if s.ends_with(".sh") {
        Kind::Script
    } else {
        Kind::Other
    }
}

/// The word around `at` (letters, digits, `_`, `-`, `.`, `/`) and its span.
fn word_at(text: &str, at: usize) -> Option<(Span, &str)> {
    let is = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '*');
    let at = at.min(text.len());
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is(*c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| !is(*c))
        .map_or(text.len(), |(i, _)| at + i);
    (start < end).then(|| (Span::new(start, end), &text[start..end]))
}

/// The keepalived block path at `at` ("/", "vrrp_instance", "vrrp_instance/track_script").
fn ka_path(items: &[ka::Item], at: usize, path: String) -> String {
    for it in items {
        let ka::Item::Stmt(s) = it else { continue };
        if let Some(b) = &s.block {
            let end = b.close.map_or(usize::MAX, |c| c.start);
            if b.open.end <= at && at <= end {
                let child = child_path(&path, s.keyword().unwrap_or(""));
                return ka_path(&b.items, at, child);
            }
        }
    }
    path
}

/// The keepalived statement whose words hold `at`, with its block path.
fn ka_stmt_at(items: &[ka::Item], at: usize) -> Option<(&ka::Stmt, String)> {
    let mut found = None;
    ka::walk(items, &mut Vec::new(), &mut |s, path| {
        if s.words
            .iter()
            .any(|w| w.span.start <= at && at <= w.span.end)
        {
            let p = path
                .iter()
                .fold("/".to_string(), |acc, k| child_path(&acc, k));
            found = Some((s, p));
        }
    });
    found
}

/// The nginx context at `at`.
fn ng_context(items: &[ng::Directive], at: usize, ctx: Context) -> Context {
    let vocab = NgVocab::get();
    for d in items {
        if let Some(b) = d.block() {
            let end = b.close.map_or(usize::MAX, |c| c.start);
            if b.open.end <= at && at <= end {
                let allowed = vocab.allowed_in(&d.name.value, ctx);
                let child = allowed
                    .first()
                    .copied()
                    .or_else(|| vocab.lookup(&d.name.value).first())
                    .map_or(ctx, |x| x.child_context(ctx));
                return ng_context(&b.items, at, child);
            }
        }
    }
    ctx
}

fn ng_directive_at(items: &[ng::Directive], at: usize) -> Option<&ng::Directive> {
    for d in items {
        if d.name.span.start <= at && at <= d.name.span.end {
            return Some(d);
        }
        if d.args
            .iter()
            .any(|a| a.span.start <= at && at <= a.span.end)
        {
            return Some(d);
        }
        if let Some(b) = d.block()
            && let Some(x) = ng_directive_at(&b.items, at)
        {
            return Some(x);
        }
    }
    None
}

/// Markdown for the keyword, directive or rule code at `at`.
pub fn hover(text: &str, at: usize, kind: Kind) -> Option<String> {
    // A rule code inside a suppression comment.
    let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    if let Some(i) = line.find("haconf: ignore[") {
        let (sp, w) = word_at(text, at)?;
        if sp.start >= line_start + i
            && let Some(rule) = crate::rules::by_code(w)
        {
            return Some(format!(
                "**{}** `{}` ({}, fix: {})\n\n{}",
                rule.code,
                rule.name,
                rule.severity.as_str(),
                rule.fix.as_str(),
                rule.docs
            ));
        }
    }
    match kind {
        Kind::Keepalived => {
            let file = ka::parse(text);
            let (s, path) = ka_stmt_at(&file.items, at)?;
            let kw = s.words.first()?;
            if !(kw.span.start <= at && at <= kw.span.end) {
                return None;
            }
            let vocab = KaVocab::get();
            let k = vocab.lookup(&path, &kw.value).or_else(|| {
                vocab
                    .paths_of(&kw.value)
                    .first()
                    .and_then(|p| vocab.lookup(p, &kw.value))
            })?;
            Some(format!(
                "**{}** (keepalived, in `{}`)\n\n{}",
                k.name,
                if path == "/" { "top level" } else { &path },
                k.doc()
            ))
        }
        Kind::Nginx(top) => {
            let file = ng::parse(text);
            let d = ng_directive_at(&file.items, at)?;
            if !(d.name.span.start <= at && at <= d.name.span.end) {
                return None;
            }
            let _ = top;
            let rows = NgVocab::get().lookup(&d.name.value);
            let r = rows.first()?;
            let ctxs: Vec<&str> = r.contexts.iter().map(|c| c.name()).collect();
            let mut s = format!(
                "**{}** (nginx, `{}`)\n\nContexts: {}",
                r.name,
                r.module,
                ctxs.join(", ")
            );
            if !r.notes.is_empty() {
                s.push_str(&format!("\n\n{}", r.notes));
            }
            Some(s)
        }
        _ => None,
    }
}

/// The keywords valid in the keepalived block at `at`, or the directives valid in the nginx
/// context at `at`.
pub fn completion(text: &str, at: usize, kind: Kind) -> Vec<lt::CompletionItem> {
    let mut out = Vec::new();
    match kind {
        Kind::Keepalived => {
            let file = ka::parse(text);
            let path = ka_path(&file.items, at, "/".into());
            for k in KaVocab::get().keywords(&path) {
                if k.name.starts_with('<') || k.removed {
                    continue;
                }
                out.push(lt::CompletionItem {
                    label: k.name.clone(),
                    kind: Some(lt::CompletionItemKind::KEYWORD),
                    detail: Some(k.args.clone()),
                    documentation: Some(lt::Documentation::String(k.doc())),
                    ..Default::default()
                });
            }
        }
        Kind::Nginx(top) => {
            let file = ng::parse(text);
            let ctx = ng_context(&file.items, at, top);
            let vocab = NgVocab::get();
            let mut names: Vec<&str> = vocab.names().collect();
            names.sort();
            for name in names {
                let rows = vocab.allowed_in(name, ctx);
                let Some(r) = rows.iter().find(|r| !r.third_party) else {
                    continue;
                };
                out.push(lt::CompletionItem {
                    label: name.to_string(),
                    kind: Some(lt::CompletionItemKind::KEYWORD),
                    detail: Some(r.module.clone()),
                    ..Default::default()
                });
            }
        }
        _ => {}
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out.dedup_by(|a, b| a.label == b.label);
    out
}

/// Where the name at `at` is defined: a `track_script` entry's `vrrp_script`, an include's
/// file.
pub fn definition(
    project: &Project,
    path: &Path,
    text: &str,
    at: usize,
    kind: Kind,
) -> Option<(FileId, Span)> {
    let (_, word) = word_at(text, at)?;
    match kind {
        Kind::Keepalived => {
            let file = ka::parse(text);
            let (s, p) = ka_stmt_at(&file.items, at)?;
            if crate::project::is_ka_include(s) {
                return include_target(project, path, s.words.get(1)?.value.as_str());
            }
            let tracked = p.ends_with("track_script")
                || (s.keyword() == Some("track_script") && s.words.len() > 1);
            if !tracked {
                return None;
            }
            // The vrrp_script of that name, in the node this file belongs to.
            let id = project.db.find(path)?;
            for c in &project.clusters {
                let cm = crate::cluster::build(&project.db, c);
                for (n, node) in c.nodes.iter().enumerate() {
                    if !node
                        .keepalived
                        .as_ref()
                        .is_some_and(|u| u.trees.contains_key(&id))
                    {
                        continue;
                    }
                    let s = cm.nodes[n].keepalived.script(word)?;
                    let b = s.block?;
                    return Some((b.file, s.name.span));
                }
            }
            None
        }
        Kind::Nginx(_) => {
            let file = ng::parse(text);
            let d = ng_directive_at(&file.items, at)?;
            if d.name.value != "include" {
                return None;
            }
            include_target(project, path, &d.args.first()?.value)
        }
        _ => None,
    }
}

/// The first file an include pattern names, relative to the including file's directory.
fn include_target(project: &Project, from: &Path, pattern: &str) -> Option<(FileId, Span)> {
    let dir = from.parent()?;
    let full = if Path::new(pattern).is_absolute() {
        pattern.to_string()
    } else {
        dir.join(pattern).to_string_lossy().into_owned()
    };
    let mut hits: Vec<std::path::PathBuf> = glob::glob(&full).ok()?.flatten().collect();
    if hits.is_empty() {
        // The flat layout: an absolute path found by file name in the node directory.
        let name = Path::new(pattern).file_name()?;
        let p = dir.join(name);
        if p.is_file() {
            hits.push(p);
        }
    }
    hits.sort();
    let target = hits.into_iter().next()?;
    let id = project.db.find(&target)?;
    Some((id, Span::new(0, 0)))
}

fn workspace_edit(project: &Project, edits: &[&crate::diagnostic::Edit]) -> lt::WorkspaceEdit {
    let db = &project.db;
    let mut changes: HashMap<lt::Url, Vec<lt::TextEdit>> = HashMap::new();
    for e in edits {
        let Ok(uri) = lt::Url::from_file_path(&db.get(e.file).path) else {
            continue;
        };
        changes.entry(uri).or_default().push(lt::TextEdit {
            range: super::range(db, e.file, e.span),
            new_text: e.replacement.clone(),
        });
    }
    lt::WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }
}

/// Quick fixes for the diagnostics in the range, "ignore this rule here", and "fix all safe".
pub fn code_actions(
    project: &Project,
    diags: &[Diagnostic],
    path: &Path,
    p: &lt::CodeActionParams,
) -> Vec<lt::CodeActionOrCommand> {
    let db = &project.db;
    let Some(id) = db.find(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let want = |k: &lt::CodeActionKind| {
        p.context
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| k.as_str().starts_with(o.as_str())))
    };
    let red = crate::output::Redactor::new(db);
    for d in diags.iter().filter(|d| d.file == id) {
        let r = super::range(db, d.file, d.span);
        let overlaps = r.start <= p.range.end && p.range.start <= r.end;
        if !overlaps {
            continue;
        }
        let lsp_diag = super::to_lsp(db, &red, d);
        if want(&lt::CodeActionKind::QUICKFIX)
            && let Some(fx) = &d.fix
            && !fx.edits.is_empty()
        {
            let edits: Vec<&crate::diagnostic::Edit> = fx.edits.iter().collect();
            out.push(lt::CodeActionOrCommand::CodeAction(lt::CodeAction {
                title: format!(
                    "{}{} ({})",
                    if fx.applicability == Applicability::Unsafe {
                        "[changes behaviour] "
                    } else {
                        ""
                    },
                    fx.message,
                    d.code
                ),
                kind: Some(lt::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp_diag.clone()]),
                edit: Some(workspace_edit(project, &edits)),
                is_preferred: Some(fx.applicability == Applicability::Safe),
                ..Default::default()
            }));
        }
        if want(&lt::CodeActionKind::QUICKFIX) {
            // `# haconf: ignore[CODE]` on its own line above, indented like the line.
            let f = db.get(d.file);
            let (line, _) = f.line_col(d.span.start);
            let start = f.offset(line, 1);
            let indent: String = f
                .line_text(line)
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect();
            let edit = crate::diagnostic::Edit {
                file: d.file,
                span: Span::new(start, start),
                replacement: format!("{indent}# haconf: ignore[{}]\n", d.code),
            };
            out.push(lt::CodeActionOrCommand::CodeAction(lt::CodeAction {
                title: format!("Ignore {} on this line", d.code),
                kind: Some(lt::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp_diag]),
                edit: Some(workspace_edit(project, &[&edit])),
                ..Default::default()
            }));
        }
    }
    let fix_all = lt::CodeActionKind::new("source.fixAll.haconf");
    if want(&fix_all) {
        // One round of the engine's choice: every safe fix that overlaps no other.
        let mut taken: Vec<(FileId, Span)> = Vec::new();
        let mut edits: Vec<&crate::diagnostic::Edit> = Vec::new();
        let mut n = 0;
        for d in diags {
            let Some(fx) = &d.fix else { continue };
            if fx.applicability != Applicability::Safe || fx.edits.is_empty() {
                continue;
            }
            let clash = fx.edits.iter().any(|e| {
                taken.iter().any(|(f, s)| {
                    *f == e.file
                        && (e.span.start < s.end && s.start < e.span.end || e.span.start == s.start)
                })
            });
            if clash {
                continue;
            }
            taken.extend(fx.edits.iter().map(|e| (e.file, e.span)));
            edits.extend(fx.edits.iter());
            n += 1;
        }
        if n > 0 {
            out.push(lt::CodeActionOrCommand::CodeAction(lt::CodeAction {
                title: format!("Fix all safe haconf findings ({n})"),
                kind: Some(fix_all),
                edit: Some(workspace_edit(project, &edits)),
                ..Default::default()
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_completion_follows_the_block() {
        let text = "vrrp_instance VI_1 {\n    \n}\n";
        let at = text.find("    ").unwrap() + 4;
        let items = completion(text, at, Kind::Keepalived);
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert!(labels.contains(&"virtual_router_id") && labels.contains(&"unicast_peer"));
        assert!(!labels.contains(&"router_id"));
        let top = completion(text, 0, Kind::Keepalived);
        assert!(top.iter().any(|i| i.label == "vrrp_script"));
    }

    #[test]
    fn nginx_completion_follows_the_context() {
        let text = "http {\n    server {\n        \n    }\n}\n";
        let at = text.find("        \n").unwrap() + 8;
        let items = completion(text, at, Kind::Nginx(Context::Main));
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert!(labels.contains(&"listen") && labels.contains(&"location"));
        assert!(!labels.contains(&"worker_processes"));
    }

    #[test]
    fn hover_on_keywords_and_codes() {
        let text = "vrrp_instance VI_1 {\n    advert_int 1\n}\n# haconf: ignore[KA013]\n";
        let h = hover(text, text.find("advert_int").unwrap() + 2, Kind::Keepalived).unwrap();
        assert!(h.contains("advert_int"), "{h}");
        let h = hover(text, text.find("KA013").unwrap() + 1, Kind::Keepalived).unwrap();
        assert!(h.contains("plaintext-auth") || h.contains("KA013"), "{h}");
    }
}
