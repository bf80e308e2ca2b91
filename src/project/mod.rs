//! Discovery and loading: which paths are fleets, clusters, nodes and files; reading them into
//! the [`SourceDb`]; parsing; following includes. This is the only stage that touches the file
//! system.

pub mod includes;

use crate::source::{FileId, SourceDb, Span};
use crate::syntax::{keepalived as ka, nginx as ng};
use crate::vocab::nginx::Context;
use includes::{KEEPALIVED_PREFIXES, NGINX_PREFIXES, Roots};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Includes nested deeper than this are reported as a likely cycle.
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// At most this many files are read per node.
pub const MAX_FILES_PER_NODE: usize = 20_000;

#[derive(Debug, Clone)]
pub enum IncludeProblem {
    /// The pattern matched nothing (and is not a file the package ships).
    NotFound,
    /// The pattern matched nothing, but names a file the nginx package installs.
    PackageFile,
    /// The include leads back to a file that is already being included.
    Cycle(PathBuf),
    /// More files matched than haconf reads.
    Truncated(usize),
    /// A matched file could not be read.
    Unreadable(PathBuf, String),
    /// Too deep.
    TooDeep,
}

#[derive(Debug, Clone)]
pub struct Include {
    /// The file holding the `include` statement.
    pub file: FileId,
    /// The whole statement.
    pub stmt: Span,
    pub pattern: String,
    pub pattern_span: Span,
    pub targets: Vec<FileId>,
    pub problems: Vec<IncludeProblem>,
}

/// A keepalived configuration: the main file and everything it includes.
#[derive(Debug, Clone)]
pub struct KaUnit {
    pub root: FileId,
    pub trees: HashMap<FileId, Arc<ka::File>>,
    pub includes: Vec<Include>,
    /// Problems reading the root itself (then `trees` is empty).
    pub load_error: Option<String>,
}

impl KaUnit {
    pub fn include_at(&self, file: FileId, stmt: Span) -> Option<&Include> {
        self.includes
            .iter()
            .find(|i| i.file == file && i.stmt == stmt)
    }

    /// Visits every statement with its block path (`/`-joined keywords, `/` at the top),
    /// following includes into the included files' statements.
    pub fn walk<'u>(&'u self, f: &mut dyn FnMut(FileId, &'u ka::Stmt, &str)) {
        let mut stack = vec![self.root];
        if let Some(t) = self.trees.get(&self.root) {
            self.walk_items(self.root, &t.items, "/", &mut stack, f);
        }
    }

    fn walk_items<'u>(
        &'u self,
        file: FileId,
        items: &'u [ka::Item],
        path: &str,
        stack: &mut Vec<FileId>,
        f: &mut dyn FnMut(FileId, &'u ka::Stmt, &str),
    ) {
        for item in items {
            let ka::Item::Stmt(s) = item else { continue };
            f(file, s, path);
            if is_ka_include(s)
                && let Some(inc) = self.include_at(file, s.span)
            {
                for &t in &inc.targets {
                    if stack.contains(&t) || stack.len() > MAX_INCLUDE_DEPTH {
                        continue;
                    }
                    if let Some(tree) = self.trees.get(&t) {
                        stack.push(t);
                        self.walk_items(t, &tree.items, path, stack, f);
                        stack.pop();
                    }
                }
            }
            if let Some(b) = &s.block {
                let child = crate::vocab::keepalived::child_path(path, s.keyword().unwrap_or(""));
                self.walk_items(file, &b.items, &child, stack, f);
            }
        }
    }
}

/// The program a keepalived command runs: its first word, shell-style (keepalived re-splits
/// `script` strings with quotes and backslashes). `None` for `</path` file tests.
pub fn command_program(cmd: &str) -> Option<String> {
    let cmd = cmd.trim_start();
    if cmd.starts_with('<') {
        return None;
    }
    let first = if let Some(rest) = cmd.strip_prefix('\'') {
        rest.split('\'').next().unwrap_or("")
    } else if let Some(rest) = cmd.strip_prefix('"') {
        rest.split('"').next().unwrap_or("")
    } else {
        cmd.split_whitespace().next().unwrap_or("")
    };
    (!first.is_empty()).then(|| first.to_owned())
}

pub fn is_ka_include(s: &ka::Stmt) -> bool {
    matches!(
        s.keyword(),
        Some("include" | "includer" | "includem" | "includew" | "includeb" | "includea")
    )
}

/// An nginx configuration: a main file (or a fragment) and everything it includes.
#[derive(Debug, Clone)]
pub struct NgUnit {
    pub root: FileId,
    pub trees: HashMap<FileId, Arc<ng::File>>,
    pub includes: Vec<Include>,
    /// The context the root's top-level directives are in.
    pub context: Context,
    /// True when the root is a fragment whose context haconf inferred.
    pub inferred: bool,
    pub load_error: Option<String>,
}

impl NgUnit {
    pub fn include_at(&self, file: FileId, stmt: Span) -> Option<&Include> {
        self.includes
            .iter()
            .find(|i| i.file == file && i.stmt == stmt)
    }

    /// Visits every directive with its context, following includes.
    pub fn walk(&self, f: &mut dyn FnMut(FileId, &ng::Directive, Context)) {
        let mut stack = vec![self.root];
        if let Some(t) = self.trees.get(&self.root) {
            self.walk_items(self.root, &t.items, self.context, &mut stack, f);
        }
    }

    fn walk_items(
        &self,
        file: FileId,
        items: &[ng::Directive],
        ctx: Context,
        stack: &mut Vec<FileId>,
        f: &mut dyn FnMut(FileId, &ng::Directive, Context),
    ) {
        for d in items {
            f(file, d, ctx);
            if d.name.value == "include"
                && let Some(inc) = self.include_at(file, d.span)
            {
                for &t in &inc.targets {
                    if stack.contains(&t) || stack.len() > MAX_INCLUDE_DEPTH {
                        continue;
                    }
                    if let Some(tree) = self.trees.get(&t) {
                        stack.push(t);
                        self.walk_items(t, &tree.items, ctx, stack, f);
                        stack.pop();
                    }
                }
            }
            if let Some(b) = d.block() {
                let child = child_context(&d.name.value, ctx);
                if child != Context::Opaque {
                    self.walk_items(file, &b.items, child, stack, f);
                }
            }
        }
    }
}

/// The context a block directive opens (opaque for blocks whose bodies are not directives).
pub fn child_context(name: &str, parent: Context) -> Context {
    let v = crate::vocab::nginx::Vocabulary::get();
    v.lookup(name)
        .first()
        .map_or(Context::Opaque, |d| d.child_context(parent))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `node/keepalived.conf`, `node/nginx.conf`.
    Flat,
    /// `node/etc/keepalived/keepalived.conf`, `node/etc/nginx/nginx.conf`.
    Etc,
    /// Files given one by one on the command line.
    Files,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    pub layout: Layout,
    pub keepalived: Option<KaUnit>,
    pub nginx: Vec<NgUnit>,
    /// The programs keepalived runs (vrrp_script `script`, notify scripts), resolved in the node.
    pub programs: Vec<Program>,
    /// The node's sysctl files set `net.ipv4.ip_nonlocal_bind = 1` (or the IPv6 one).
    pub nonlocal_bind: bool,
    /// What the live host said about itself (`facts.json`, written by `haconf pull`).
    pub facts: Option<Arc<crate::facts::Facts>>,
}

/// A program a config names, and what the node's files say about it.
#[derive(Debug, Clone)]
pub struct Program {
    /// The path or name as written (first word of the command).
    pub configured: String,
    /// The file in the node it resolves to.
    pub resolved: Option<PathBuf>,
    pub executable: bool,
    /// Its text, loaded (scripts are read for the health-check rules).
    pub file: Option<FileId>,
}

impl Node {
    pub fn program(&self, configured: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.configured == configured)
    }
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub dir: Option<PathBuf>,
    pub nodes: Vec<Node>,
    /// `haconf.toml`, when the cluster directory has one (and `--no-spec` is not given).
    pub spec_file: Option<FileId>,
}

/// Everything one run looks at.
#[derive(Debug, Default)]
pub struct Project {
    pub db: SourceDb,
    pub clusters: Vec<Cluster>,
    /// Paths that could not be used at all (usage errors: exit 2).
    pub errors: Vec<String>,
    /// Notes for the user that are not findings (inferred contexts ...).
    pub notes: Vec<String>,
    /// Whether to read `haconf.toml`.
    pub read_spec: bool,
}

/// Whether `d` is a node: it holds a `keepalived.conf` (or `etc/keepalived/keepalived.conf`).
/// Any file system object of that name counts, so that a FIFO, a directory or a link loop
/// where the config should be is reported for what it is rather than as "no cluster here".
pub fn is_node_dir(d: &Path) -> bool {
    exists(&d.join("keepalived.conf")) || exists(&d.join("etc/keepalived/keepalived.conf"))
}

/// Whether anything (a file, a directory, a FIFO, a broken link ...) is at `p`.
fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

fn subdirs(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && !is_hidden(p))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn name_of(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.to_string_lossy().into_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A sniff of whether a file given alone is keepalived (rather than nginx).
pub fn looks_like_keepalived(path: &Path, text: &str) -> bool {
    let name = name_of(path).to_lowercase();
    if name.contains("keepalived") {
        return true;
    }
    if name.contains("nginx") {
        return false;
    }
    text.lines().any(|l| {
        let l = l.trim_start();
        [
            "vrrp_instance",
            "global_defs",
            "vrrp_script",
            "virtual_server",
            "vrrp_sync_group",
        ]
        .iter()
        .any(|k| l.starts_with(k) && l[k.len()..].starts_with([' ', '\t', '{']))
    })
}

impl Project {
    /// Discovers and loads everything under `paths`.
    pub fn load(paths: &[PathBuf]) -> Project {
        Self::load_with(paths, true)
    }

    /// As [`Project::load`]; `read_spec: false` ignores `haconf.toml` (`--no-spec`).
    pub fn load_with(paths: &[PathBuf], read_spec: bool) -> Project {
        Self::load_overlaid(paths, read_spec, HashMap::new())
    }

    /// As [`Project::load_with`], reading the files in `overlay` from memory instead of disk
    /// (editor buffers; the fix engine's intermediate results).
    pub fn load_overlaid(
        paths: &[PathBuf],
        read_spec: bool,
        overlay: HashMap<PathBuf, Vec<u8>>,
    ) -> Project {
        Self::load_overlaid_modes(paths, read_spec, overlay, HashMap::new())
    }

    /// As `load_overlaid`, with file modes overlaid too (fixes that `chmod`).
    pub fn load_overlaid_modes(
        paths: &[PathBuf],
        read_spec: bool,
        overlay: HashMap<PathBuf, Vec<u8>>,
        modes: HashMap<PathBuf, u32>,
    ) -> Project {
        let mut p = Project {
            read_spec,
            ..Project::default()
        };
        for (path, bytes) in overlay {
            p.db.set_overlay(path, bytes);
        }
        for (path, mode) in modes {
            p.db.set_mode(path, mode);
        }
        let mut loose: Vec<PathBuf> = Vec::new();
        for path in paths {
            if p.db.has_overlay(path) {
                loose.push(path.clone());
                continue;
            }
            match crate::source::check_regular(path) {
                None => loose.push(path.clone()),
                Some(crate::source::LoadError::IsDir) => p.load_dir(path, 0),
                Some(e) => p.errors.push(format!("{}: {e}", path.display())),
            }
        }
        if !loose.is_empty() {
            p.load_files(&loose);
        }
        p
    }

    fn load_dir(&mut self, dir: &Path, depth: usize) {
        if is_node_dir(dir) {
            let name = name_of(dir);
            let node = self.load_node(dir, name.clone());
            let cname = dir.parent().map(name_of).unwrap_or_else(|| name.clone());
            self.clusters.push(Cluster {
                name: cname,
                dir: dir.parent().map(Path::to_path_buf),
                nodes: vec![node],
                spec_file: None,
            });
            return;
        }
        let children = subdirs(dir);
        let nodes: Vec<&PathBuf> = children.iter().filter(|c| is_node_dir(c)).collect();
        if !nodes.is_empty() {
            let nodes: Vec<Node> = nodes
                .iter()
                .map(|n| self.load_node(n, name_of(n)))
                .collect();
            let spec = dir.join("haconf.toml");
            let spec_file = if self.read_spec && spec.is_file() {
                self.db.load(&spec).ok()
            } else {
                None
            };
            self.clusters.push(Cluster {
                name: name_of(dir),
                dir: Some(dir.to_path_buf()),
                nodes,
                spec_file,
            });
            return;
        }
        if depth >= 4 {
            return;
        }
        let before = self.clusters.len();
        for c in &children {
            self.load_dir(c, depth + 1);
        }
        if depth == 0 && self.clusters.len() == before {
            self.errors.push(format!(
                "{}: no cluster here: no directory below it holds a keepalived.conf (or etc/keepalived/keepalived.conf)",
                dir.display()
            ));
        }
    }

    fn load_files(&mut self, files: &[PathBuf]) {
        let mut groups: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
        for f in files {
            let parent = f.parent().map(Path::to_path_buf).unwrap_or_default();
            match groups.iter_mut().find(|(p, _)| *p == parent) {
                Some((_, v)) => v.push(f.clone()),
                None => groups.push((parent, vec![f.clone()])),
            }
        }
        let mut nodes = Vec::new();
        for (dir, files) in groups {
            let name = if dir.as_os_str().is_empty() {
                ".".to_owned()
            } else {
                name_of(&dir)
            };
            let mut node = Node {
                name,
                dir: dir.clone(),
                layout: Layout::Files,
                keepalived: None,
                nginx: Vec::new(),
                programs: Vec::new(),
                nonlocal_bind: false,
                facts: None,
            };
            for f in files {
                // Read once, through the checks every read goes through; the sniff below and
                // the parse read the same bytes.
                let text = match self.db.load(&f) {
                    Ok(id) => self.db.get(id).text.clone(),
                    Err(e) => {
                        self.errors.push(format!("{}: {e}", f.display()));
                        continue;
                    }
                };
                if text.starts_with("#!") || f.extension().is_some_and(|e| e == "sh") {
                    self.notes.push(format!(
                        "{}: a script, not a config; health-check scripts are read through the vrrp_script that runs them",
                        f.display()
                    ));
                    continue;
                }
                if looks_like_keepalived(&f, &text) {
                    let roots = Roots {
                        node: dir.clone(),
                        conf_dir: dir.clone(),
                        prefixes: KEEPALIVED_PREFIXES,
                    };
                    let unit = self.load_ka(&f, &roots);
                    if node.keepalived.is_none() {
                        node.keepalived = Some(unit);
                    } else {
                        // A second keepalived file in one directory: check it as its own node.
                        let mut n = Node {
                            name: name_of(&f),
                            dir: dir.clone(),
                            layout: Layout::Files,
                            keepalived: Some(unit),
                            nginx: Vec::new(),
                            programs: Vec::new(),
                            nonlocal_bind: false,
                            facts: None,
                        };
                        n.programs = self.programs(&n);
                        nodes.push(n);
                    }
                } else {
                    // nginx resolves relative includes against its conf directory: for a
                    // fragment, the nearest directory above it that holds nginx.conf.
                    let conf_dir = f
                        .ancestors()
                        .skip(1)
                        .take(4)
                        .find(|d| d.join("nginx.conf").is_file())
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| dir.clone());
                    let roots = Roots {
                        node: conf_dir.clone(),
                        conf_dir,
                        prefixes: NGINX_PREFIXES,
                    };
                    let unit = self.load_ng(&f, &roots, None);
                    node.nginx.push(unit);
                }
            }
            node.programs = self.programs(&node);
            nodes.push(node);
        }
        self.clusters.push(Cluster {
            name: "(files)".into(),
            dir: None,
            nodes,
            spec_file: None,
        });
    }

    fn load_node(&mut self, dir: &Path, name: String) -> Node {
        let (layout, ka_path, ka_dir) = if exists(&dir.join("keepalived.conf")) {
            (Layout::Flat, dir.join("keepalived.conf"), dir.to_path_buf())
        } else {
            (
                Layout::Etc,
                dir.join("etc/keepalived/keepalived.conf"),
                dir.join("etc/keepalived"),
            )
        };
        let ka_roots = Roots {
            node: dir.to_path_buf(),
            conf_dir: ka_dir,
            prefixes: KEEPALIVED_PREFIXES,
        };
        let keepalived = Some(self.load_ka(&ka_path, &ka_roots));
        let mut nginx = Vec::new();
        let main = [dir.join("nginx.conf"), dir.join("etc/nginx/nginx.conf")]
            .into_iter()
            .find(|p| p.is_file());
        if let Some(main) = &main {
            let conf_dir = main.parent().map(Path::to_path_buf).unwrap_or_default();
            let roots = Roots {
                node: dir.to_path_buf(),
                conf_dir,
                prefixes: NGINX_PREFIXES,
            };
            nginx.push(self.load_ng(main, &roots, Some(Context::Main)));
        }
        // nginx fragments nothing includes (conf.d/*.conf in a repo without nginx.conf ...)
        // are checked on their own, with an inferred context.
        let mut reached: Vec<FileId> = Vec::new();
        if let Some(k) = &keepalived {
            reached.extend(k.trees.keys());
        }
        for u in &nginx {
            reached.extend(u.trees.keys());
        }
        let nginx_dir = if dir.join("etc/nginx").is_dir() {
            dir.join("etc/nginx")
        } else {
            dir.to_path_buf()
        };
        let mut loose = Vec::new();
        collect_conf_files(&nginx_dir, 0, &mut loose);
        for f in loose {
            if self.db.find(&f).is_some_and(|id| reached.contains(&id)) {
                continue;
            }
            if name_of(&f).contains("keepalived") {
                continue;
            }
            // Only regular files are collected; one that cannot be read is left to the
            // include that names it (if any) to report.
            let Ok(bytes) = crate::source::read_regular(&f, crate::source::MAX_FILE_SIZE) else {
                continue;
            };
            if looks_like_keepalived(&f, &String::from_utf8_lossy(&bytes)) {
                continue;
            }
            let roots = Roots {
                node: dir.to_path_buf(),
                conf_dir: main
                    .as_ref()
                    .and_then(|m| m.parent().map(Path::to_path_buf))
                    .unwrap_or_else(|| nginx_dir.clone()),
                prefixes: NGINX_PREFIXES,
            };
            nginx.push(self.load_ng(&f, &roots, None));
        }
        let mut node = Node {
            name,
            dir: dir.to_path_buf(),
            layout,
            keepalived,
            nginx,
            programs: Vec::new(),
            nonlocal_bind: nonlocal_bind(dir),
            facts: crate::facts::attach(dir, &mut self.errors),
        };
        node.programs = self.programs(&node);
        node
    }

    /// Resolves the programs keepalived runs on this node (scripts and notify commands).
    fn programs(&mut self, node: &Node) -> Vec<Program> {
        let Some(unit) = &node.keepalived else {
            return Vec::new();
        };
        let mut wanted: Vec<String> = Vec::new();
        unit.walk(&mut |_, s, path| {
            let is_cmd = (path == "vrrp_script" && s.keyword() == Some("script"))
                || s.keyword()
                    .is_some_and(|k| k.starts_with("notify") && k != "notify_priority_changes");
            if is_cmd
                && let Some(w) = s.words.get(1)
                && let Some(first) = command_program(&w.value)
                && !wanted.contains(&first)
            {
                wanted.push(first);
            }
        });
        let ka_dir = if node.layout == Layout::Etc {
            node.dir.join("etc/keepalived")
        } else {
            node.dir.clone()
        };
        let roots = Roots {
            node: node.dir.clone(),
            conf_dir: ka_dir.clone(),
            prefixes: KEEPALIVED_PREFIXES,
        };
        wanted
            .into_iter()
            .map(|configured| {
                let resolved = if configured.contains('/') && !configured.contains(['*', '?', '['])
                {
                    includes::resolve(&configured, &ka_dir, &roots)
                        .paths
                        .into_iter()
                        .next()
                } else {
                    None
                };
                let executable = resolved
                    .as_ref()
                    .and_then(|p| self.db.mode(p))
                    .is_some_and(|m| m & 0o111 != 0);
                let file = resolved.as_ref().and_then(|p| self.db.load(p).ok());
                Program {
                    configured,
                    resolved,
                    executable,
                    file,
                }
            })
            .collect()
    }

    /// Loads a keepalived config and, transitively, its includes.
    pub fn load_ka(&mut self, path: &Path, roots: &Roots) -> KaUnit {
        let mut unit = KaUnit {
            root: usize::MAX,
            trees: HashMap::new(),
            includes: Vec::new(),
            load_error: None,
        };
        match self.db.load(path) {
            Ok(id) => {
                unit.root = id;
                let mut stack = vec![id];
                self.ka_file(id, roots, &mut unit, &mut stack);
            }
            Err(e) => unit.load_error = Some(format!("{}: {e}", path.display())),
        }
        unit
    }

    fn ka_file(&mut self, id: FileId, roots: &Roots, unit: &mut KaUnit, stack: &mut Vec<FileId>) {
        if unit.trees.contains_key(&id) {
            return;
        }
        let src = self.db.get(id);
        // A binary file is one opaque token: KA001 reports it once, instead of a finding for
        // every "keyword" of its garbage.
        let tree = Arc::new(if src.is_binary() {
            ka::File {
                tokens: vec![crate::syntax::Token::new(
                    ka::TokenKind::Dropped,
                    Span::new(0, src.text.len()),
                )],
                items: Vec::new(),
                errors: Vec::new(),
            }
        } else {
            ka::parse(&src.text)
        });
        unit.trees.insert(id, tree.clone());
        let dir = self
            .db
            .get(id)
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut incs = Vec::new();
        ka::walk(&tree.items, &mut Vec::new(), &mut |s, _| {
            if is_ka_include(s)
                && let Some(w) = s.words.get(1)
            {
                incs.push((s.span, w.value.to_string(), w.span));
            }
        });
        for (stmt, pattern, pspan) in incs {
            let inc = self.follow(
                id,
                stmt,
                pattern,
                pspan,
                &dir,
                roots,
                stack,
                unit.trees.len(),
                |me, t, st| me.ka_file(t, roots, unit, st),
            );
            unit.includes.push(inc);
        }
    }

    /// Loads an nginx config (a main file when `context` is given, else a fragment whose
    /// context is inferred) and its includes.
    pub fn load_ng(&mut self, path: &Path, roots: &Roots, context: Option<Context>) -> NgUnit {
        let mut unit = NgUnit {
            root: usize::MAX,
            trees: HashMap::new(),
            includes: Vec::new(),
            context: context.unwrap_or(Context::Main),
            inferred: false,
            load_error: None,
        };
        match self.db.load(path) {
            Ok(id) => {
                unit.root = id;
                let mut stack = vec![id];
                self.ng_file(id, roots, &mut unit, &mut stack);
                if context.is_none() {
                    let ctx = infer_context(&unit.trees[&id].items);
                    unit.context = ctx;
                    if ctx != Context::Main {
                        unit.inferred = true;
                        self.notes.push(format!(
                            "{}: checked on its own, as a fragment in `{}` context (inferred from its directives)",
                            path.display(),
                            ctx.name()
                        ));
                    }
                }
            }
            Err(e) => unit.load_error = Some(format!("{}: {e}", path.display())),
        }
        unit
    }

    fn ng_file(&mut self, id: FileId, roots: &Roots, unit: &mut NgUnit, stack: &mut Vec<FileId>) {
        if unit.trees.contains_key(&id) {
            return;
        }
        let src = self.db.get(id);
        // As for keepalived: a binary file is not parsed, NX001 reports it once.
        let tree = Arc::new(if src.is_binary() {
            ng::File {
                tokens: vec![crate::syntax::Token::new(
                    ng::TokenKind::Raw,
                    Span::new(0, src.text.len()),
                )],
                items: Vec::new(),
                errors: Vec::new(),
            }
        } else {
            ng::parse(&src.text)
        });
        unit.trees.insert(id, tree.clone());
        let mut incs = Vec::new();
        ng::walk(&tree.items, &mut Vec::new(), &mut |d, _| {
            if d.name.value == "include"
                && let Some(w) = d.args.first()
            {
                incs.push((d.span, w.value.to_string(), w.span));
            }
        });
        let conf_dir = roots.conf_dir.clone();
        for (stmt, pattern, pspan) in incs {
            let inc = self.follow(
                id,
                stmt,
                pattern,
                pspan,
                &conf_dir,
                roots,
                stack,
                unit.trees.len(),
                |me, t, st| me.ng_file(t, roots, unit, st),
            );
            unit.includes.push(inc);
        }
    }

    /// Resolves one include and loads its targets with `load`.
    #[allow(clippy::too_many_arguments)]
    fn follow(
        &mut self,
        file: FileId,
        stmt: Span,
        pattern: String,
        pattern_span: Span,
        dir: &Path,
        roots: &Roots,
        stack: &mut Vec<FileId>,
        loaded: usize,
        mut load: impl FnMut(&mut Self, FileId, &mut Vec<FileId>),
    ) -> Include {
        let mut inc = Include {
            file,
            stmt,
            pattern: pattern.clone(),
            pattern_span,
            targets: Vec::new(),
            problems: Vec::new(),
        };
        if pattern.contains('$') {
            // `include $X` / `${X}`: depends on definitions; not followed.
            return inc;
        }
        let res = includes::resolve(&pattern, dir, roots);
        if res.truncated {
            inc.problems
                .push(IncludeProblem::Truncated(includes::MAX_MATCHES));
        }
        if res.paths.is_empty() {
            let shipped = crate::vocab::nginx::PACKAGE_FILES.iter().any(|f| {
                pattern == *f
                    || pattern.ends_with(&format!("/{f}"))
                    || (f.contains('*') && pattern.ends_with(f))
            });
            inc.problems
                .push(if shipped && roots.prefixes == NGINX_PREFIXES {
                    IncludeProblem::PackageFile
                } else {
                    IncludeProblem::NotFound
                });
        }
        if stack.len() > MAX_INCLUDE_DEPTH {
            inc.problems.push(IncludeProblem::TooDeep);
            return inc;
        }
        for p in res.paths {
            if loaded + inc.targets.len() >= MAX_FILES_PER_NODE {
                inc.problems
                    .push(IncludeProblem::Truncated(MAX_FILES_PER_NODE));
                break;
            }
            match self.db.load(&p) {
                Ok(t) => {
                    if stack.contains(&t) {
                        inc.problems.push(IncludeProblem::Cycle(p.clone()));
                        continue;
                    }
                    inc.targets.push(t);
                    stack.push(t);
                    load(self, t, stack);
                    stack.pop();
                }
                Err(e) => inc
                    .problems
                    .push(IncludeProblem::Unreadable(p.clone(), e.to_string())),
            }
        }
        inc
    }
}

fn collect_conf_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 3 || out.len() > 1000 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let meta = std::fs::symlink_metadata(&p);
        if meta.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        // FIFOs, sockets and devices are nobody's config (and reading a FIFO blocks).
        if meta
            .as_ref()
            .is_ok_and(|m| !m.is_dir() && crate::source::special_kind(m).is_some())
        {
            continue;
        }
        if p.is_dir() {
            if !is_hidden(&p) && name_of(&p) != "etc" {
                collect_conf_files(&p, depth + 1, out);
            }
        } else if is_hidden(&p) {
            // Hidden files (editor swap files, haconf's backups) are nobody's config.
            continue;
        } else if (p.extension().is_some_and(|e| e == "conf") && name_of(&p) != "nginx.conf")
            || p.parent().is_some_and(|d| name_of(d) == "sites-enabled")
        {
            out.push(p);
        }
    }
}

/// The context in which a fragment's top-level directives fit best: the one with the fewest
/// directives that would not be allowed there (ties go to the outermost).
pub fn infer_context(items: &[ng::Directive]) -> Context {
    let v = crate::vocab::nginx::Vocabulary::get();
    let candidates = [
        Context::Main,
        Context::Http,
        Context::Server,
        Context::Location,
        Context::Stream,
    ];
    let mut best = (usize::MAX, Context::Main);
    for c in candidates {
        let misplaced = items
            .iter()
            .filter(|d| {
                let rows = v.lookup(&d.name.value);
                !rows.is_empty() && !rows.iter().any(|r| r.contains_ctx(c))
            })
            .count();
        if misplaced < best.0 {
            best = (misplaced, c);
        }
    }
    best.1
}

/// Whether the node's sysctl files (`etc/sysctl.conf`, `etc/sysctl.d/*.conf`, or the same
/// names in the flat layout) set `ip_nonlocal_bind = 1`.
fn nonlocal_bind(dir: &Path) -> bool {
    let mut files = vec![dir.join("etc/sysctl.conf"), dir.join("sysctl.conf")];
    for d in [dir.join("etc/sysctl.d"), dir.join("sysctl.d")] {
        if let Ok(rd) = std::fs::read_dir(d) {
            files.extend(rd.flatten().map(|e| e.path()));
        }
    }
    files.iter().any(|f| {
        crate::source::read_regular(f, 1 << 20).is_ok_and(|t| {
            let t = String::from_utf8_lossy(&t);
            t.lines().any(|l| {
                let l = l.split('#').next().unwrap_or("").replace([' ', '\t'], "");
                l.contains("ip_nonlocal_bind=1")
            })
        })
    })
}
