//! `haconf diff REPO LIVE`: what is deployed that is not in git, per node and file.
//!
//! The two sides rarely share a layout: a repository often keeps `ha1/keepalived.conf` and
//! `ha1/chk_nginx.sh` (flat), a pull writes `ha1/etc/keepalived/keepalived.conf` (overlay). So
//! files are paired by what they are on the host — their absolute path, as the configs name
//! them — which the project loader already knows: the main files' places, each include's
//! pattern, each program's configured path. Only files the configs reach are compared (a
//! README in the repository is not drift). Diffs are the fix engine's unified diffs, with
//! `auth_pass` values masked unless asked.

use crate::fix::engine::unified_diff_secrets;
use crate::project::{Include, Layout, Node, Project};
use crate::source::FileId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One side's file, as the host would have it.
#[derive(Debug, Clone)]
struct Side {
    file: FileId,
    mode: Option<u32>,
}

/// What `diff` found.
#[derive(Debug, Default)]
pub struct DriftReport {
    /// The unified diffs, with a `#` line before each saying what it is.
    pub text: String,
    /// Files whose content or mode differ.
    pub changed: usize,
    pub only_repo: usize,
    pub only_live: usize,
    /// Nodes on one side only.
    pub nodes_only: Vec<String>,
    /// Package files (`mime.types` ...) present on one side only, not compared.
    pub package_files: usize,
}

impl DriftReport {
    pub fn drifted(&self) -> bool {
        self.changed + self.only_repo + self.only_live + self.nodes_only.len() > 0
    }
}

fn load(path: &Path) -> Result<Project, String> {
    let p = Project::load_with(&[path.to_path_buf()], false);
    if let Some(e) = p.errors.first() {
        return Err(e.clone());
    }
    if p.clusters.len() != 1 {
        return Err(format!(
            "{}: holds {} clusters; give one cluster (or node) on each side",
            path.display(),
            p.clusters.len()
        ));
    }
    Ok(p)
}

/// Compares the cluster (or node) `repo` with `live`.
pub fn diff(repo: &Path, live: &Path, show_secrets: bool) -> Result<DriftReport, String> {
    let a = load(repo)?;
    let b = load(live)?;
    let nodes = |p: &Project| -> BTreeMap<String, usize> {
        p.clusters[0]
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect()
    };
    let (na, nb) = (nodes(&a), nodes(&b));
    let mut r = DriftReport::default();
    let names: BTreeSet<&String> = na.keys().chain(nb.keys()).collect();
    for name in names {
        let (Some(&ia), Some(&ib)) = (na.get(name), nb.get(name)) else {
            let side = if na.contains_key(name) {
                "REPO"
            } else {
                "LIVE"
            };
            let _ = writeln!(r.text, "# node {name}: only in {side}");
            r.nodes_only.push(name.clone());
            continue;
        };
        let (node_a, node_b) = (&a.clusters[0].nodes[ia], &b.clusters[0].nodes[ib]);
        let fa = host_files(&a, node_a);
        let fb = host_files(&b, node_b);
        let paths: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
        for path in paths {
            let label = format!("{name}{path}");
            match (fa.get(path), fb.get(path)) {
                (Some(x), Some(y)) => {
                    let (ta, tb) = (&a.db.get(x.file).bytes, &b.db.get(y.file).bytes);
                    let mode = match (x.mode, y.mode) {
                        (Some(m), Some(n)) if m != n => Some((m, n)),
                        _ => None,
                    };
                    if ta == tb && mode.is_none() {
                        continue;
                    }
                    r.changed += 1;
                    let _ = writeln!(
                        r.text,
                        "# {name}:{path}: {} -> {}",
                        a.db.get(x.file).path.display(),
                        b.db.get(y.file).path.display()
                    );
                    if let Some((m, n)) = mode {
                        let _ = writeln!(r.text, "# mode {m:04o} -> {n:04o}");
                    }
                    if ta != tb {
                        let d = unified_diff_secrets(&label, ta, tb, show_secrets);
                        if d.is_empty() {
                            let _ = writeln!(
                                r.text,
                                "# differs only in auth_pass values (not shown; --show-secrets shows them)"
                            );
                        }
                        r.text.push_str(&d);
                    }
                }
                (Some(x), None) => {
                    if is_package_file(path) {
                        r.package_files += 1;
                        continue;
                    }
                    r.only_repo += 1;
                    let _ = writeln!(
                        r.text,
                        "# {name}:{path}: only in REPO ({})",
                        a.db.get(x.file).path.display()
                    );
                    r.text.push_str(&unified_diff_secrets(
                        &label,
                        &a.db.get(x.file).bytes,
                        b"",
                        show_secrets,
                    ));
                }
                (None, Some(y)) => {
                    if is_package_file(path) {
                        r.package_files += 1;
                        continue;
                    }
                    r.only_live += 1;
                    let _ = writeln!(
                        r.text,
                        "# {name}:{path}: only in LIVE ({})",
                        b.db.get(y.file).path.display()
                    );
                    r.text.push_str(&unified_diff_secrets(
                        &label,
                        b"",
                        &b.db.get(y.file).bytes,
                        show_secrets,
                    ));
                }
                (None, None) => {}
            }
        }
    }
    Ok(r)
}

/// Files the nginx package installs: a repository rarely keeps them, a pull always has them.
fn is_package_file(path: &str) -> bool {
    crate::vocab::nginx::PACKAGE_FILES.iter().any(|f| {
        !f.contains('*') && (path == format!("/etc/nginx/{f}") || path.ends_with(&format!("/{f}")))
    })
}

/// Every file the node's configs reach, by its path on the host.
fn host_files(p: &Project, node: &Node) -> BTreeMap<String, Side> {
    let mut out: BTreeMap<String, Side> = BTreeMap::new();
    let facts = node.facts.as_deref();
    let mut put = |path: String, file: FileId| {
        let local = &p.db.get(file).path;
        // The host's mode when the facts have it (a copy may have lost it), else the file's.
        let mode = facts
            .and_then(|f| f.file(&path))
            .and_then(|f| f.mode_bits())
            .or_else(|| p.db.mode(local));
        out.entry(path).or_insert(Side { file, mode });
    };
    if node.layout == Layout::Etc {
        let mut ids: Vec<FileId> = Vec::new();
        if let Some(k) = &node.keepalived {
            ids.extend(k.trees.keys());
        }
        for u in &node.nginx {
            ids.extend(u.trees.keys());
        }
        ids.extend(node.programs.iter().filter_map(|pr| pr.file));
        for id in ids {
            if let Ok(rel) = p.db.get(id).path.strip_prefix(&node.dir) {
                put(format!("/{}", rel.to_string_lossy()), id);
            }
        }
        return out;
    }
    // Flat layout: the main files have their usual places; an included file is where its
    // pattern says; a program is where the config says.
    if let Some(k) = &node.keepalived
        && k.load_error.is_none()
    {
        let known = walk_includes(
            p,
            k.root,
            super::KEEPALIVED_CONF,
            &k.includes,
            IncludeBase::IncludingFile,
        );
        for (id, path) in known {
            put(path, id);
        }
    }
    for u in &node.nginx {
        if u.load_error.is_some() {
            continue;
        }
        let root_path = if u.inferred || u.context != crate::vocab::nginx::Context::Main {
            let rel = p.db.get(u.root).path.strip_prefix(&node.dir).ok();
            match rel {
                Some(r) => format!("/etc/nginx/{}", r.to_string_lossy()),
                None => continue,
            }
        } else {
            super::NGINX_CONF.to_owned()
        };
        let base =
            p.db.get(u.root)
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
        for (id, path) in walk_includes(
            p,
            u.root,
            &root_path,
            &u.includes,
            IncludeBase::ConfDir(base),
        ) {
            put(path, id);
        }
    }
    for pr in &node.programs {
        if let Some(f) = pr.file
            && pr.configured.starts_with('/')
        {
            put(pr.configured.clone(), f);
        }
    }
    out
}

/// What relative include patterns are relative to.
enum IncludeBase {
    /// keepalived: the including file's directory.
    IncludingFile,
    /// nginx: the main config's directory (local path; its host path is the root's).
    ConfDir(PathBuf),
}

/// Host paths of a unit's files, following the includes from `root` (at `root_path`).
fn walk_includes(
    p: &Project,
    root: FileId,
    root_path: &str,
    includes: &[Include],
    base: IncludeBase,
) -> Vec<(FileId, String)> {
    let mut known: HashMap<FileId, String> = HashMap::new();
    known.insert(root, root_path.to_owned());
    let mut queue = vec![root];
    let conf_host_dir = parent(root_path);
    while let Some(f) = queue.pop() {
        let Some(fpath) = known.get(&f).cloned() else {
            continue;
        };
        for inc in includes.iter().filter(|i| i.file == f) {
            for &t in &inc.targets {
                if known.contains_key(&t) {
                    continue;
                }
                let tname =
                    p.db.get(t)
                        .path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                let host = if inc.pattern.starts_with('/') {
                    // `/etc/keepalived/conf.d/*.conf` -> `/etc/keepalived/conf.d/<name>`.
                    format!("{}/{tname}", parent(&inc.pattern))
                } else {
                    let (local_base, host_base) = match &base {
                        IncludeBase::IncludingFile => (
                            p.db.get(f).path.parent().map(Path::to_path_buf),
                            parent(&fpath),
                        ),
                        IncludeBase::ConfDir(d) => (Some(d.clone()), conf_host_dir.clone()),
                    };
                    match local_base.and_then(|b| {
                        p.db.get(t)
                            .path
                            .strip_prefix(&b)
                            .ok()
                            .map(Path::to_path_buf)
                    }) {
                        Some(rel) => format!("{host_base}/{}", rel.to_string_lossy()),
                        None => format!("{host_base}/{tname}"),
                    }
                };
                known.insert(t, host);
                queue.push(t);
            }
        }
    }
    let mut v: Vec<(FileId, String)> = known.into_iter().collect();
    v.sort();
    v
}

fn parent(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((d, _)) if !d.is_empty() => d.to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path, files: &[(&str, &str, u32)]) {
        use std::os::unix::fs::PermissionsExt;
        for (rel, text, mode) in files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
    }

    #[test]
    fn a_flat_repository_pairs_with_an_overlay_pull() {
        let d = tempfile::tempdir().unwrap();
        let ka = "include /etc/keepalived/conf.d/*.conf\nvrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n}\n";
        let inst = "vrrp_instance VI_1 {\n    authentication {\n        auth_type PASS\n        auth_pass secret1\n    }\n}\n";
        tree(
            &d.path().join("repo"),
            &[
                ("ha1/keepalived.conf", ka, 0o644),
                ("ha1/conf.d/vi.conf", inst, 0o644),
                ("ha1/chk.sh", "#!/bin/sh\nexit 0\n", 0o755),
                ("ha1/README", "not a config", 0o644),
            ],
        );
        tree(
            &d.path().join("live"),
            &[
                ("ha1/etc/keepalived/keepalived.conf", ka, 0o600),
                (
                    "ha1/etc/keepalived/conf.d/vi.conf",
                    &inst.replace("secret1", "secret2"),
                    0o600,
                ),
                ("ha1/etc/keepalived/chk.sh", "#!/bin/sh\nexit 1\n", 0o644),
            ],
        );
        let r = diff(&d.path().join("repo"), &d.path().join("live"), false).unwrap();
        assert_eq!(r.changed, 3, "{}", r.text);
        assert_eq!(r.only_repo + r.only_live, 0, "{}", r.text);
        assert!(r.text.contains("mode 0644 -> 0600"), "{}", r.text);
        assert!(r.text.contains("differs only in auth_pass"), "{}", r.text);
        assert!(!r.text.contains("secret1") && !r.text.contains("secret2"));
        assert!(r.text.contains("-exit 0\n+exit 1"), "{}", r.text);
        let same = diff(&d.path().join("live"), &d.path().join("live"), false).unwrap();
        assert!(!same.drifted());
    }
}
