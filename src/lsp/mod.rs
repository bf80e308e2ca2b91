//! `haconf lsp`: the diagnostics in the editor, across nodes.
//!
//! Built on `lsp-server` + `lsp-types` (synchronous, the stack of rust-analyzer and ruff,
//! testable in memory; see docs/design-notes.md). Every request goes through the same
//! pipeline as the CLI: the cluster around the file is loaded with the open buffers overlaid
//! on the files on disk, the rules run, and the diagnostics of every file of the cluster are
//! published — so editing ha1/keepalived.conf updates CL findings on ha2 as well.
//!
//! The transport is our own Content-Length framing over stdio (`transport`), so that a
//! message that is not JSON gets a JSON-RPC parse error, a broken frame is reported and
//! skipped, and the server goes on.
//!
//! Analysis runs on a worker thread, one job at a time, so the main loop answers every
//! request while a large cluster is analysed: hover and completion from the buffer at once,
//! `shutdown` at once, and the requests that need the analysis (definition, code actions)
//! as soon as the analysis of their cluster is current. A buffer larger than the CLI's cap
//! (16 MiB, `source::MAX_FILE_SIZE`) is not analysed: it gets one diagnostic saying so.

mod formatting;
pub mod transport;

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::Project;
use crate::rules::Selection;
use crate::source::{FileId, SourceDb, Span};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lt;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// An open document.
enum Doc {
    Text(Arc<String>),
    /// Larger than the cap: not kept, not analysed (its size in bytes).
    TooLarge(usize),
}

/// What a finished analysis sends back to the main loop.
struct Analysed {
    scope: PathBuf,
    loaded: Scope,
    /// The diagnostics of each file, ready to publish.
    by_uri: HashMap<lt::Url, Vec<lt::Diagnostic>>,
    paths: Vec<PathBuf>,
}

#[derive(Default)]
pub struct Server {
    /// Open buffers, by path.
    docs: HashMap<PathBuf, Doc>,
    /// The last analysis of each scope.
    scopes: HashMap<PathBuf, Arc<Scope>>,
    /// The URIs published for each scope (to clear the ones that became clean).
    published: HashMap<PathBuf, HashSet<lt::Url>>,
    /// Documents changed since the last analysis, in order.
    dirty: Vec<PathBuf>,
    /// The scopes the worker is analysing now.
    running: Vec<PathBuf>,
    /// Requests waiting for the analysis of their scope.
    waiting: Vec<(PathBuf, Request)>,
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

/// A diagnostic for the editor, with its texts masked by `red` (the run's [`Redactor`]).
///
/// [`Redactor`]: crate::output::Redactor
pub fn to_lsp(db: &SourceDb, red: &crate::output::Redactor, d: &Diagnostic) -> lt::Diagnostic {
    let d = &*red.diag(d, crate::output::Escape::Structured);
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
    let mut message = d.message.clone();
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
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<Vec<Analysed>>();
        loop {
            crossbeam_channel::select! {
                recv(conn.receiver) -> msg => {
                    let Ok(msg) = msg else { return 0 };
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
                            self.request(conn, req);
                        }
                        Message::Notification(n) => {
                            if n.method == "exit" {
                                return if self.shutdown { 0 } else { 1 };
                            }
                            self.notification(conn, n);
                        }
                        Message::Response(_) => {}
                    }
                }
                recv(done_rx) -> done => {
                    if let Ok(done) = done {
                        self.finished(conn, done);
                    }
                }
            }
            // Changes that arrive faster than they are analysed are analysed once: only when
            // nothing else is waiting.
            if conn.receiver.is_empty() {
                self.start(&done_tx);
            }
        }
    }

    /// Starts analysing the documents changed since the last analysis (one pass per
    /// cluster), unless an analysis is running: its end starts the next.
    fn start(&mut self, done: &crossbeam_channel::Sender<Vec<Analysed>>) {
        if !self.running.is_empty() || self.dirty.is_empty() {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty);
        let mut scopes: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
        for path in dirty {
            let scope = scope_of(&path);
            match scopes.iter_mut().find(|(s, _)| *s == scope) {
                Some((_, v)) => v.push(path),
                None => scopes.push((scope, vec![path])),
            }
        }
        self.running = scopes.iter().map(|s| s.0.clone()).collect();
        let overlay = self.overlay();
        let too_large = self.too_large();
        let done = done.clone();
        std::thread::spawn(move || {
            let out = scopes
                .into_iter()
                .map(|(scope, paths)| analyse(scope, paths, &overlay, &too_large))
                .collect();
            let _ = done.send(out);
        });
    }

    /// Publishes what the worker found and answers the requests that waited for it.
    fn finished(&mut self, conn: &Connection, done: Vec<Analysed>) {
        for a in done {
            let mut by_uri = a.by_uri;
            let before = self.published.remove(&a.scope).unwrap_or_default();
            for u in before {
                by_uri.entry(u).or_default();
            }
            for p in &a.paths {
                if let Some(u) = path_uri(p) {
                    by_uri.entry(u).or_default();
                }
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
            self.published.insert(a.scope.clone(), now);
            self.scopes.insert(a.scope, Arc::new(a.loaded));
        }
        self.running.clear();
        let waiting = std::mem::take(&mut self.waiting);
        for (_, req) in waiting {
            self.request(conn, req);
        }
    }

    /// The open buffers the loader reads instead of the files (not the ones too large).
    fn overlay(&self) -> HashMap<PathBuf, Vec<u8>> {
        self.docs
            .iter()
            .filter_map(|(p, d)| match d {
                Doc::Text(t) => Some((p.clone(), t.as_bytes().to_vec())),
                Doc::TooLarge(_) => None,
            })
            .collect()
    }

    fn too_large(&self) -> HashMap<PathBuf, usize> {
        self.docs
            .iter()
            .filter_map(|(p, d)| match d {
                Doc::TooLarge(n) => Some((p.clone(), *n)),
                Doc::Text(_) => None,
            })
            .collect()
    }

    /// Whether the analysis of `scope` is current (nothing changed in it since, none running).
    fn current(&self, scope: &Path) -> bool {
        self.scopes.contains_key(scope)
            && !self.running.iter().any(|s| s == scope)
            && !self.dirty.iter().any(|p| scope_of(p) == scope)
    }

    fn request(&mut self, conn: &Connection, req: Request) {
        let id = req.id.clone();
        // Requests that need the analysis wait for it (and start it when nothing has).
        if matches!(
            req.method.as_str(),
            "textDocument/definition" | "textDocument/codeAction"
        ) && let Some(path) = req
            .params
            .get("textDocument")
            .and_then(|t| t.get("uri"))
            .and_then(|u| u.as_str())
            .and_then(|u| lt::Url::parse(u).ok())
            .and_then(|u| uri_path(&u))
        {
            let scope = scope_of(&path);
            if !self.current(&scope) {
                if !self.scopes.contains_key(&scope)
                    && !self.running.contains(&scope)
                    && !self.dirty.iter().any(|p| scope_of(p) == scope)
                {
                    self.dirty.push(path);
                }
                self.waiting.push((scope, req));
                return;
            }
        }
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

    /// Keeps `text` as the buffer of `path`, or only its size when it is over the cap.
    fn set_doc(&mut self, path: PathBuf, text: String) {
        let doc = if text.len() as u64 > crate::source::MAX_FILE_SIZE {
            Doc::TooLarge(text.len())
        } else {
            Doc::Text(Arc::new(text))
        };
        self.docs.insert(path, doc);
    }

    fn notification(&mut self, _conn: &Connection, n: Notification) {
        let path = match n.method.as_str() {
            transport::TOO_LARGE => {
                let size = n.params.get("size").and_then(|s| s.as_u64()).unwrap_or(0);
                n.params
                    .get("uri")
                    .and_then(|u| u.as_str())
                    .and_then(|u| lt::Url::parse(u).ok())
                    .and_then(|u| uri_path(&u))
                    .inspect(|path| {
                        self.docs.insert(path.clone(), Doc::TooLarge(size as usize));
                    })
            }
            "textDocument/didOpen" => parse::<lt::DidOpenTextDocumentParams>(n.params)
                .ok()
                .and_then(|p| {
                    let path = uri_path(&p.text_document.uri)?;
                    self.set_doc(path.clone(), p.text_document.text);
                    Some(path)
                }),
            "textDocument/didChange" => parse::<lt::DidChangeTextDocumentParams>(n.params)
                .ok()
                .and_then(|p| {
                    let path = uri_path(&p.text_document.uri)?;
                    let mut text = match self.docs.get(&path) {
                        Some(Doc::Text(t)) => Some(t.as_str().to_owned()),
                        // Only a whole new text can bring a buffer back under the cap.
                        Some(Doc::TooLarge(_)) => None,
                        None => std::fs::read_to_string(&path).ok(),
                    };
                    for c in p.content_changes {
                        match (c.range, text.as_mut()) {
                            // Incremental: replace the range (UTF-16 positions).
                            (Some(r), Some(text)) => {
                                let a = offset_of(text, r.start);
                                let b = offset_of(text, r.end).max(a);
                                text.replace_range(a..b, &c.text);
                            }
                            (Some(_), None) => {}
                            (None, _) => text = Some(c.text),
                        }
                    }
                    match text {
                        Some(t) => self.set_doc(path.clone(), t),
                        None => {
                            if !matches!(self.docs.get(&path), Some(Doc::TooLarge(_))) {
                                self.docs.remove(&path);
                            }
                        }
                    }
                    Some(path)
                }),
            "textDocument/didSave" => parse::<lt::DidSaveTextDocumentParams>(n.params)
                .ok()
                .and_then(|p| {
                    let path = uri_path(&p.text_document.uri)?;
                    if let Some(t) = p.text {
                        self.set_doc(path.clone(), t);
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

    /// The last analysis of the scope holding `path`, if any.
    fn scope_for(&self, path: &Path) -> Option<&Scope> {
        self.scopes.get(&scope_of(path)).map(|s| &**s)
    }

    /// The buffer of `path`, else the file (none when either is over the cap).
    fn text_of(&self, path: &Path) -> Option<Arc<String>> {
        match self.docs.get(path) {
            Some(Doc::Text(t)) => Some(t.clone()),
            Some(Doc::TooLarge(_)) => None,
            None => {
                let m = std::fs::metadata(path).ok()?;
                if !m.is_file() || m.len() > crate::source::MAX_FILE_SIZE {
                    return None;
                }
                std::fs::read_to_string(path).ok().map(Arc::new)
            }
        }
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
        if matches!(self.docs.get(&path), Some(Doc::TooLarge(_))) {
            return Vec::new();
        }
        let Some(scope) = self.scope_for(&path) else {
            return Vec::new();
        };
        features::code_actions(&scope.project, &scope.diags, &path, p)
    }

    /// What kind of file `path` is, as the last analysis of its cluster read it (a guess
    /// from its name before the first).
    fn kind(&mut self, path: &Path) -> features::Kind {
        match self.scope_for(path) {
            Some(scope) => features::kind_of(&scope.project, path),
            None => features::guess(path),
        }
    }
}

/// Loads `scope` with the open buffers, runs the rules, and makes the diagnostics to publish
/// (on the worker thread). A buffer over the cap gets one diagnostic instead of any other.
fn analyse(
    scope: PathBuf,
    paths: Vec<PathBuf>,
    overlay: &HashMap<PathBuf, Vec<u8>>,
    too_large: &HashMap<PathBuf, usize>,
) -> Analysed {
    let t0 = std::time::Instant::now();
    let project = Project::load_overlaid(std::slice::from_ref(&scope), true, overlay.clone());
    let t1 = std::time::Instant::now();
    let diags = crate::rules::run(&project, &Selection::default());
    if timing() {
        eprintln!("load {:?} rules {:?}", t1 - t0, t1.elapsed());
    }
    let db = &project.db;
    let mut by_uri: HashMap<lt::Url, Vec<lt::Diagnostic>> = HashMap::new();
    let red = crate::output::Redactor::new(db);
    for d in &diags {
        let path = &db.get(d.file).path;
        if too_large.contains_key(path) {
            continue;
        }
        if let Some(u) = path_uri(path) {
            by_uri.entry(u).or_default().push(to_lsp(db, &red, d));
        }
    }
    for (path, size) in too_large {
        if scope_of(path) != scope {
            continue;
        }
        if let Some(u) = path_uri(path) {
            by_uri.insert(u, vec![too_large_diagnostic(*size)]);
        }
    }
    Analysed {
        scope,
        loaded: Scope { project, diags },
        by_uri,
        paths,
    }
}

/// The one diagnostic of a buffer over the cap, on its first line.
fn too_large_diagnostic(size: usize) -> lt::Diagnostic {
    lt::Diagnostic {
        range: lt::Range::new(lt::Position::new(0, 0), lt::Position::new(0, 0)),
        severity: Some(lt::DiagnosticSeverity::ERROR),
        source: Some("haconf".into()),
        message: format!(
            "this document is {:.1} MiB, larger than the {} MiB haconf reads: it is not analysed (the rest of the cluster is checked against the file as saved)",
            size as f64 / (1024.0 * 1024.0),
            crate::source::MAX_FILE_SIZE / (1024 * 1024)
        ),
        ..Default::default()
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("invalid parameters: {e}"))
}

pub mod features;
