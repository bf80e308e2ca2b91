//! `haconf lsp`: the diagnostics in the editor, across nodes.
//!
//! Built on `lsp-server` + `lsp-types` (synchronous, the stack of rust-analyzer and ruff,
//! testable in memory; see docs/design-notes.md). Every request goes through the same
//! pipeline as the CLI: the cluster around the file is loaded with the open buffers overlaid
//! on the files on disk, the rules run, and the diagnostics of every file of the cluster are
//! published — so editing ha1/keepalived.conf updates CL findings on ha2 as well.
//!
//! The transport is our own Content-Length framing over stdio (`transport`), so that a
//! message that is not JSON gets a JSON-RPC parse error and the server goes on.

mod formatting;
mod transport;

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::Project;
use crate::rules::Selection;
use crate::source::{FileId, SourceDb, Span};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lt;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Runs the server on stdio until `exit`.
pub fn run() -> i32 {
    let (conn, threads) = transport::stdio();
    let caps = lt::ServerCapabilities {
        text_document_sync: Some(lt::TextDocumentSyncCapability::Kind(
            lt::TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(lt::HoverProviderCapability::Simple(true)),
        completion_provider: Some(lt::CompletionOptions::default()),
        definition_provider: Some(lt::OneOf::Left(true)),
        document_formatting_provider: Some(lt::OneOf::Left(true)),
        document_range_formatting_provider: Some(lt::OneOf::Left(true)),
        code_action_provider: Some(lt::CodeActionProviderCapability::Options(
            lt::CodeActionOptions {
                code_action_kinds: Some(vec![
                    lt::CodeActionKind::QUICKFIX,
                    lt::CodeActionKind::new("source.fixAll.haconf"),
                ]),
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    let caps = serde_json::to_value(caps).unwrap_or_default();
    if let Err(e) = conn.initialize(caps) {
        eprintln!("haconf lsp: {e}");
        return 2;
    }
    let mut server = Server::default();
    let code = server.main_loop(&conn);
    drop(conn);
    threads.finish();
    code
}

/// One loaded scope (a cluster directory, or a loose file) and what the rules found in it.
struct Scope {
    project: Project,
    diags: Vec<Diagnostic>,
}

#[derive(Default)]
pub struct Server {
    /// Open buffers, by path.
    docs: HashMap<PathBuf, String>,
    /// The last analysis of each scope.
    scopes: HashMap<PathBuf, Scope>,
    /// The URIs published for each scope (to clear the ones that became clean).
    published: HashMap<PathBuf, HashSet<lt::Url>>,
    /// Documents changed since the last analysis, in order.
    dirty: Vec<PathBuf>,
    shutdown: bool,
}

/// The cluster directory around `path`: the parent of the nearest node directory (one with
/// keepalived.conf, or etc/keepalived/keepalived.conf); else the file itself.
pub fn scope_of(path: &Path) -> PathBuf {
    for anc in path.ancestors().skip(1) {
        if anc.join("keepalived.conf").is_file()
            || anc.join("etc/keepalived/keepalived.conf").is_file()
        {
            return anc.parent().unwrap_or(anc).to_path_buf();
        }
        if anc.join("haconf.toml").is_file() {
            return anc.to_path_buf();
        }
    }
    path.to_path_buf()
}

/// `HACONF_LSP_TIMING=1` prints where the time of each analysis goes (read once).
pub(crate) fn timing() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("HACONF_LSP_TIMING").is_some())
}

fn uri_path(uri: &lt::Url) -> Option<PathBuf> {
    uri.to_file_path().ok()
}

fn path_uri(p: &Path) -> Option<lt::Url> {
    lt::Url::from_file_path(p).ok()
}

/// An LSP position (UTF-16) of a byte offset.
pub fn position(db: &SourceDb, file: FileId, offset: usize) -> lt::Position {
    let f = db.get(file);
    let (line, _) = f.line_col(offset);
    let start = f.offset(line, 1);
    let upto = &f.text[start..offset.clamp(start, f.text.len())];
    lt::Position::new((line - 1) as u32, upto.encode_utf16().count() as u32)
}

pub fn range(db: &SourceDb, file: FileId, span: Span) -> lt::Range {
    lt::Range::new(position(db, file, span.start), position(db, file, span.end))
}

/// The byte offset of an LSP position in `text`.
pub fn offset_of(text: &str, pos: lt::Position) -> usize {
    let mut line_start = 0;
    for _ in 0..pos.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let mut units = 0u32;
    for (i, c) in text[line_start..line_end].char_indices() {
        if units >= pos.character {
            return line_start + i;
        }
        units += c.len_utf16() as u32;
    }
    line_end
}

fn severity(s: Severity) -> lt::DiagnosticSeverity {
    match s {
        Severity::Error => lt::DiagnosticSeverity::ERROR,
        Severity::Warning => lt::DiagnosticSeverity::WARNING,
        Severity::Info => lt::DiagnosticSeverity::INFORMATION,
    }
}

pub fn to_lsp(db: &SourceDb, d: &Diagnostic) -> lt::Diagnostic {
    let related: Vec<lt::DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|r| {
            Some(lt::DiagnosticRelatedInformation {
                location: lt::Location::new(
                    path_uri(&db.get(r.file).path)?,
                    range(db, r.file, r.span),
                ),
                message: r.message.clone(),
            })
        })
        .collect();
    let name = crate::rules::by_code(d.code).map_or("", |r| r.name);
    let href = if crate::rules::script::shellcheck::is_sc(d.code) {
        lt::Url::parse(&crate::rules::script::shellcheck::wiki(d.code)).ok()
    } else {
        None
    };
    let mut message = crate::output::mask_secrets(&d.message).into_owned();
    if let Some(h) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    lt::Diagnostic {
        range: range(db, d.file, d.span),
        severity: Some(severity(d.severity)),
        code: Some(lt::NumberOrString::String(d.code.to_string())),
        code_description: href.map(|href| lt::CodeDescription { href }),
        source: Some(if name.is_empty() {
            "haconf".into()
        } else {
            format!("haconf({name})")
        }),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

fn reply<T: serde::Serialize>(conn: &Connection, id: lsp_server::RequestId, value: T) {
    let _ = conn
        .sender
        .send(Message::Response(Response::new_ok(id, value)));
}

impl Server {
    fn main_loop(&mut self, conn: &Connection) -> i32 {
        for msg in &conn.receiver {
            match msg {
                Message::Request(req) => {
                    if self.shutdown {
                        let _ = conn.sender.send(Message::Response(Response::new_err(
                            req.id,
                            ErrorCode::InvalidRequest as i32,
                            "the server is shutting down".into(),
                        )));
                        continue;
                    }
                    if req.method == "shutdown" {
                        self.shutdown = true;
                        reply(conn, req.id, serde_json::Value::Null);
                        continue;
                    }
                    // A request sees every change before it.
                    self.flush(conn);
                    self.request(conn, req);
                }
                Message::Notification(n) => {
                    if n.method == "exit" {
                        return if self.shutdown { 0 } else { 1 };
                    }
                    self.notification(n);
                }
                Message::Response(_) => {}
            }
            // Changes that arrive faster than they are analysed are analysed once: only when
            // nothing else is waiting.
            if conn.receiver.is_empty() {
                self.flush(conn);
            }
        }
        0
    }

    /// Analyses the documents changed since the last analysis (one pass per cluster).
    fn flush(&mut self, conn: &Connection) {
        let dirty = std::mem::take(&mut self.dirty);
        let mut scopes: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
        for path in dirty {
            let scope = scope_of(&path);
            match scopes.iter_mut().find(|(s, _)| *s == scope) {
                Some((_, v)) => v.push(path),
                None => scopes.push((scope, vec![path])),
            }
        }
        for (scope, paths) in scopes {
            self.analyse(conn, &scope, &paths);
        }
    }

    fn request(&mut self, conn: &Connection, req: Request) {
        let id = req.id.clone();
        let result: Result<serde_json::Value, String> = match req.method.as_str() {
            "textDocument/hover" => parse::<lt::HoverParams>(req.params)
                .map(|p| serde_json::to_value(self.hover(&p)).unwrap_or_default()),
            "textDocument/completion" => parse::<lt::CompletionParams>(req.params)
                .map(|p| serde_json::to_value(self.completion(&p)).unwrap_or_default()),
            "textDocument/definition" => parse::<lt::GotoDefinitionParams>(req.params)
                .map(|p| serde_json::to_value(self.definition(&p)).unwrap_or_default()),
            "textDocument/codeAction" => parse::<lt::CodeActionParams>(req.params)
                .map(|p| serde_json::to_value(self.code_actions(&p)).unwrap_or_default()),
            "textDocument/formatting" => parse::<lt::DocumentFormattingParams>(req.params)
                .and_then(|p| self.formatting(&p.text_document.uri, None))
                .map(|e| serde_json::to_value(e).unwrap_or_default()),
            "textDocument/rangeFormatting" => {
                parse::<lt::DocumentRangeFormattingParams>(req.params)
                    .and_then(|p| self.formatting(&p.text_document.uri, Some(p.range)))
                    .map(|e| serde_json::to_value(e).unwrap_or_default())
            }
            _ => {
                let _ = conn.sender.send(Message::Response(Response::new_err(
                    id,
                    ErrorCode::MethodNotFound as i32,
                    format!("haconf does not handle `{}`", req.method),
                )));
                return;
            }
        };
        match result {
            Ok(v) => reply(conn, id, v),
            Err(e) => {
                let _ = conn.sender.send(Message::Response(Response::new_err(
                    id,
                    ErrorCode::InvalidParams as i32,
                    e,
                )));
            }
        }
    }

    fn notification(&mut self, n: Notification) {
        let path = match n.method.as_str() {
            "textDocument/didOpen" => parse::<lt::DidOpenTextDocumentParams>(n.params)
                .ok()
                .and_then(|p| {
                    let path = uri_path(&p.text_document.uri)?;
                    self.docs.insert(path.clone(), p.text_document.text);
                    Some(path)
                }),
            "textDocument/didChange" => parse::<lt::DidChangeTextDocumentParams>(n.params)
                .ok()
                .and_then(|p| {
                    let path = uri_path(&p.text_document.uri)?;
                    let mut text = self.text_of(&path).unwrap_or_default();
                    for c in p.content_changes {
                        match c.range {
                            // Incremental: replace the range (UTF-16 positions).
                            Some(r) => {
                                let a = offset_of(&text, r.start);
                                let b = offset_of(&text, r.end).max(a);
                                text.replace_range(a..b, &c.text);
                            }
                            None => text = c.text,
                        }
                    }
                    self.docs.insert(path.clone(), text);
                    Some(path)
                }),
            "textDocument/didSave" => parse::<lt::DidSaveTextDocumentParams>(n.params)
                .ok()
                .and_then(|p| {
                    let path = uri_path(&p.text_document.uri)?;
                    if let Some(t) = p.text {
                        self.docs.insert(path.clone(), t);
                    }
                    Some(path)
                }),
            "textDocument/didClose" => parse::<lt::DidCloseTextDocumentParams>(n.params)
                .ok()
                .and_then(|p| {
                    let path = uri_path(&p.text_document.uri)?;
                    self.docs.remove(&path);
                    Some(path)
                }),
            _ => None,
        };
        if let Some(path) = path
            && !self.dirty.contains(&path)
        {
            self.dirty.push(path);
        }
    }

    /// Loads `scope` with the open buffers, runs the rules, publishes; `paths` (the changed
    /// documents) are published even when clean.
    pub fn analyse(&mut self, conn: &Connection, scope: &Path, paths: &[PathBuf]) {
        let scope = scope.to_path_buf();
        let loaded = self.load(&scope);
        let t = std::time::Instant::now();
        let (project, diags) = (&loaded.project, &loaded.diags);
        let db = &project.db;
        let mut by_uri: HashMap<lt::Url, Vec<lt::Diagnostic>> = HashMap::new();
        for d in diags {
            if let Some(u) = path_uri(&db.get(d.file).path) {
                by_uri.entry(u).or_default().push(to_lsp(db, d));
            }
        }
        // The changed files are always published (empty when clean).
        for p in paths {
            if let Some(u) = path_uri(p) {
                by_uri.entry(u).or_default();
            }
        }
        let before = self.published.remove(&scope).unwrap_or_default();
        for u in before {
            by_uri.entry(u).or_default();
        }
        let mut now = HashSet::new();
        for (uri, list) in by_uri {
            if !list.is_empty() {
                now.insert(uri.clone());
            }
            let params = lt::PublishDiagnosticsParams::new(uri, list, None);
            let _ = conn.sender.send(Message::Notification(Notification::new(
                "textDocument/publishDiagnostics".into(),
                params,
            )));
        }
        if timing() {
            eprintln!("publish {:?}", t.elapsed());
        }
        self.published.insert(scope.clone(), now);
        self.scopes.insert(scope, loaded);
    }

    /// `scope` loaded with the open buffers in place of the files, and what the rules find.
    fn load(&self, scope: &Path) -> Scope {
        let overlay: HashMap<PathBuf, Vec<u8>> = self
            .docs
            .iter()
            .map(|(p, t)| (p.clone(), t.as_bytes().to_vec()))
            .collect();
        let t0 = std::time::Instant::now();
        let project = Project::load_overlaid(&[scope.to_path_buf()], true, overlay);
        let t1 = std::time::Instant::now();
        let diags = crate::rules::run(&project, &Selection::default());
        if timing() {
            eprintln!("load {:?} rules {:?}", t1 - t0, t1.elapsed());
        }
        Scope { project, diags }
    }

    /// The scope holding `path`, loading it when it is not.
    fn scope_for(&mut self, path: &Path) -> Option<&Scope> {
        let key = scope_of(path);
        if !self.scopes.contains_key(&key) {
            let loaded = self.load(&key);
            self.scopes.insert(key.clone(), loaded);
        }
        self.scopes.get(&key)
    }

    fn text_of(&self, path: &Path) -> Option<String> {
        self.docs
            .get(path)
            .cloned()
            .or_else(|| std::fs::read_to_string(path).ok())
    }

    fn hover(&mut self, p: &lt::HoverParams) -> Option<lt::Hover> {
        let path = uri_path(&p.text_document_position_params.text_document.uri)?;
        let text = self.text_of(&path)?;
        let at = offset_of(&text, p.text_document_position_params.position);
        let kind = self.kind(&path);
        let md = features::hover(&text, at, kind)?;
        Some(lt::Hover {
            contents: lt::HoverContents::Markup(lt::MarkupContent {
                kind: lt::MarkupKind::Markdown,
                value: md,
            }),
            range: None,
        })
    }

    fn completion(&mut self, p: &lt::CompletionParams) -> Option<lt::CompletionResponse> {
        let path = uri_path(&p.text_document_position.text_document.uri)?;
        let text = self.text_of(&path)?;
        let at = offset_of(&text, p.text_document_position.position);
        let kind = self.kind(&path);
        Some(lt::CompletionResponse::Array(features::completion(
            &text, at, kind,
        )))
    }

    fn definition(&mut self, p: &lt::GotoDefinitionParams) -> Option<lt::GotoDefinitionResponse> {
        let path = uri_path(&p.text_document_position_params.text_document.uri)?;
        let text = self.text_of(&path)?;
        let at = offset_of(&text, p.text_document_position_params.position);
        let kind = self.kind(&path);
        let scope = self.scope_for(&path)?;
        let (file, span) = features::definition(&scope.project, &path, &text, at, kind)?;
        let db = &scope.project.db;
        Some(lt::GotoDefinitionResponse::Scalar(lt::Location::new(
            path_uri(&db.get(file).path)?,
            range(db, file, span),
        )))
    }

    fn code_actions(&mut self, p: &lt::CodeActionParams) -> Vec<lt::CodeActionOrCommand> {
        let Some(path) = uri_path(&p.text_document.uri) else {
            return Vec::new();
        };
        let Some(scope) = self.scope_for(&path) else {
            return Vec::new();
        };
        features::code_actions(&scope.project, &scope.diags, &path, p)
    }

    /// What kind of file `path` is, as the cluster around it reads it.
    fn kind(&mut self, path: &Path) -> features::Kind {
        let Some(scope) = self.scope_for(path) else {
            return features::Kind::Other;
        };
        features::kind_of(&scope.project, path)
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("invalid parameters: {e}"))
}

pub mod features;
