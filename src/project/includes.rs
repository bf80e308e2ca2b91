//! Include resolution for keepalived and nginx, inside a node's directory.
//!
//! A node directory stands for a machine's root (`etc/` overlay layout) or for its config
//! directory (flat layout). Absolute paths in a config are looked up under the node root, then
//! with a well-known config prefix (`/etc/nginx/`, `/etc/keepalived/`) stripped relative to the
//! config directory, then by file name in the node directory. Nothing outside the node is read.

use std::path::{Path, PathBuf};

/// More matches than this from one pattern are cut off (and reported).
pub const MAX_MATCHES: usize = 10_000;

/// Where one program's config lives in a node.
#[derive(Debug, Clone)]
pub struct Roots {
    /// The node directory (the machine's `/` in the overlay layout).
    pub node: PathBuf,
    /// The directory relative includes resolve against (nginx: the main config's directory).
    pub conf_dir: PathBuf,
    /// Prefixes of absolute paths that mean "the config directory" for this program.
    pub prefixes: &'static [&'static str],
}

pub const NGINX_PREFIXES: &[&str] = &[
    "/etc/nginx/",
    "/usr/local/nginx/conf/",
    "/usr/local/etc/nginx/",
    "/opt/nginx/conf/",
    "/usr/local/openresty/nginx/conf/",
    "/config/nginx/",
];
pub const KEEPALIVED_PREFIXES: &[&str] = &["/etc/keepalived/", "/usr/local/etc/keepalived/"];

/// Expands `{a,b}` alternatives (keepalived globs with GLOB_BRACE).
pub fn expand_braces(p: &str) -> Vec<String> {
    let Some(open) = p.find('{') else {
        return vec![p.to_owned()];
    };
    let Some(close_rel) = p[open..].find('}') else {
        return vec![p.to_owned()];
    };
    let close = open + close_rel;
    let (pre, alts, post) = (&p[..open], &p[open + 1..close], &p[close + 1..]);
    let mut out = Vec::new();
    for alt in alts.split(',') {
        for rest in expand_braces(post) {
            out.push(format!("{pre}{alt}{rest}"));
            if out.len() > 64 {
                return out;
            }
        }
    }
    out
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// Matches `pattern` relative to `base`; only regular files, sorted (glob order), capped.
fn glob_in(base: &Path, pattern: &str) -> (Vec<PathBuf>, bool) {
    let full = base.join(pattern);
    if !is_glob(pattern) {
        // Anything by that name is a match, a FIFO, a device or a directory too: loading it
        // reports what it is (keepalived and nginx would block on a FIFO, or fail).
        return if std::fs::symlink_metadata(&full).is_ok() {
            (vec![full], false)
        } else {
            (vec![], false)
        };
    }
    let escaped = glob::Pattern::escape(&base.to_string_lossy());
    let pat = format!("{}/{}", escaped.trim_end_matches('/'), pattern);
    let mut out = Vec::new();
    let mut truncated = false;
    // As glob(3) without GLOB_PERIOD (nginx and keepalived): a wildcard never matches a
    // leading dot, so hidden files (haconf's own backups among them) are not included.
    let opts = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..glob::MatchOptions::new()
    };
    if let Ok(paths) = glob::glob_with(&pat, opts) {
        for p in paths.flatten() {
            // Directories a wildcard matches are skipped; special files are kept, for the
            // load to report them (never to open them).
            if !p.is_dir() && std::fs::symlink_metadata(&p).is_ok() {
                if out.len() >= MAX_MATCHES {
                    truncated = true;
                    break;
                }
                out.push(p);
            }
        }
    }
    out.sort();
    (out, truncated)
}

/// The result of resolving one include pattern.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub paths: Vec<PathBuf>,
    pub truncated: bool,
}

/// Resolves an include pattern as the program would on the node.
/// `including_dir` is the directory relative patterns resolve against.
pub fn resolve(pattern: &str, including_dir: &Path, roots: &Roots) -> Resolved {
    let mut res = Resolved::default();
    for pat in expand_braces(pattern) {
        let (paths, trunc) = resolve_one(&pat, including_dir, roots);
        res.truncated |= trunc;
        for p in paths {
            if !res.paths.contains(&p) {
                res.paths.push(p);
            }
        }
    }
    res
}

fn resolve_one(pat: &str, including_dir: &Path, roots: &Roots) -> (Vec<PathBuf>, bool) {
    if let Some(abs) = pat.strip_prefix('/') {
        if abs.split('/').any(|c| c == "..") {
            return (vec![], false);
        }
        let r = glob_in(&roots.node, abs);
        if !r.0.is_empty() {
            return r;
        }
        for prefix in roots.prefixes {
            if let Some(rest) = pat.strip_prefix(prefix) {
                let r = glob_in(&roots.conf_dir, rest);
                if !r.0.is_empty() {
                    return r;
                }
            }
        }
        // Flat layout: a file is looked up by name in the node directory; a glob keeps its
        // last directory (`/x/conf.d/*.conf` -> `conf.d/*.conf`), so that it never matches
        // the node's own main config.
        let p = Path::new(pat);
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            return (vec![], false);
        };
        let rel = if is_glob(name) {
            match p
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|d| d.to_str())
            {
                Some(dir) => format!("{dir}/{name}"),
                None => return (vec![], false),
            }
        } else {
            name.to_owned()
        };
        let r = glob_in(&roots.node, &rel);
        if !r.0.is_empty() || roots.conf_dir == roots.node {
            return r;
        }
        glob_in(&roots.conf_dir, &rel)
    } else {
        if pat.split('/').any(|c| c == "..") {
            // Allowed, but never outside the node.
            let r = glob_in(including_dir, pat);
            let kept: Vec<PathBuf> =
                r.0.into_iter()
                    .filter(|p| {
                        p.canonicalize()
                            .ok()
                            .zip(roots.node.canonicalize().ok())
                            .is_some_and(|(a, b)| a.starts_with(b))
                    })
                    .collect();
            return (kept, r.1);
        }
        glob_in(including_dir, pat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(expand_braces("x"), ["x"]);
    }

    #[test]
    fn absolute_paths_stay_in_node() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("conf.d")).unwrap();
        std::fs::write(d.path().join("conf.d/a.conf"), "x").unwrap();
        std::fs::write(d.path().join("chk.sh"), "x").unwrap();
        let roots = Roots {
            node: d.path().to_owned(),
            conf_dir: d.path().to_owned(),
            prefixes: NGINX_PREFIXES,
        };
        let r = resolve("/etc/nginx/conf.d/*.conf", d.path(), &roots);
        assert_eq!(r.paths.len(), 1);
        let r = resolve("/etc/keepalived/chk.sh", d.path(), &roots);
        assert_eq!(r.paths.len(), 1);
        assert!(resolve("/etc/passwd", d.path(), &roots).paths.is_empty());
        assert!(
            resolve("/../../etc/passwd", d.path(), &roots)
                .paths
                .is_empty()
        );
    }
}
