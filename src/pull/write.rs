//! Where pulled files land: every file of `--out` is created through [`create_file`], inside a
//! staging directory of this run that is renamed into place per node when the host is done.
//!
//! A pulled `keepalived.conf` is often `0600` because it holds `auth_pass`: it must stay
//! that way. A name that is taken (by a link, planted or not) is refused, and the file is
//! written by haconf's writer with the host's mode from its first byte.
//! Set-user-ID, set-group-ID and sticky bits are dropped on the copy (a set-uid script
//! copied under the user's name would be a gift to an attacker); `facts.json` keeps the
//! host's real mode.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Component, Path, PathBuf};

/// Creates `path` (which must not exist: a pull never overwrites, and a name that is taken,
/// by a link or anything else, is refused) with `bytes` and the permission bits of `mode`.
/// The one function through which pull writes a file; the writing itself is haconf's writer
/// (`crate::write`: exclusive temporary file with the final mode before a byte is written,
/// synced, renamed, never following a link).
pub(crate) fn create_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists", path.display()),
        ));
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no file name",
        ));
    };
    crate::write::write_file(dir, Path::new(name), bytes, mode & 0o777, false)
}

/// The local path of the host's `remote` path below `root`, or why it cannot have one (not
/// absolute, `..`, or the facts file's own name).
pub(crate) fn local_path(root: &Path, remote: &str) -> Result<PathBuf, String> {
    let p = Path::new(remote);
    if !p.is_absolute() {
        return Err(format!("`{remote}` is not an absolute path"));
    }
    let mut out = root.to_path_buf();
    let mut parts = 0;
    for c in p.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => {
                out.push(n);
                parts += 1;
            }
            Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(format!("`{remote}` has a `..` component"));
            }
        }
    }
    if parts == 0 {
        return Err(format!("`{remote}` names no file"));
    }
    if parts == 1
        && out
            .file_name()
            .is_some_and(|n| n == crate::facts::FILE_NAME)
    {
        return Err(format!("`{remote}` would take the place of the facts file"));
    }
    Ok(out)
}

/// Creates the directories from `root` (which exists) down to `dir`, refusing to go through
/// anything that is not a real directory.
pub(crate) fn make_dirs(root: &Path, dir: &Path) -> std::io::Result<()> {
    let rel = dir
        .strip_prefix(root)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "outside the output"))?;
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{} is not a directory", cur.display()),
                ));
            }
            Err(_) => DirBuilder::new().mode(0o755).create(&cur)?,
        }
    }
    Ok(())
}

/// Writes the host's file `remote` below the node's staging directory `root`.
pub(crate) fn put(root: &Path, remote: &str, bytes: &[u8], mode: u32) -> Result<PathBuf, String> {
    let path = local_path(root, remote)?;
    if let Some(dir) = path.parent() {
        make_dirs(root, dir).map_err(|e| e.to_string())?;
    }
    create_file(&path, bytes, mode).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The staging directory of one run inside `--out`: removed (with whatever a failed host
/// left in it) when dropped.
pub(crate) struct Staging {
    pub dir: PathBuf,
}

impl Staging {
    pub fn new(out: &Path) -> std::io::Result<Staging> {
        remove_stale(out);
        let name = format!(
            ".haconf-pull-{}-{}",
            std::process::id(),
            &super::remote::nonce()[..8]
        );
        let dir = out.join(name);
        DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Staging { dir })
    }

    /// Moves the finished node `name` into `out`, replacing an older pull of it when
    /// `replace`.
    pub fn commit(&self, out: &Path, name: &str, replace: bool) -> std::io::Result<()> {
        let from = self.dir.join(name);
        let to = out.join(name);
        if std::fs::symlink_metadata(&to).is_ok() {
            if !replace {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{} exists (pass --force to replace it)", to.display()),
                ));
            }
            let old = self.dir.join(format!(".old-{name}"));
            std::fs::rename(&to, &old)?;
            std::fs::rename(&from, &to)?;
            // remove_dir_all does not follow links: a link in the old tree is removed, not
            // what it points to.
            let _ = std::fs::remove_dir_all(&old);
            return Ok(());
        }
        std::fs::rename(&from, &to)
    }
}

/// Removes what an interrupted pull (its process gone) left in `out`.
fn remove_stale(out: &Path) {
    let Ok(rd) = std::fs::read_dir(out) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(".haconf-pull-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn modes_are_kept_and_links_are_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let p = put(d.path(), "/etc/keepalived/keepalived.conf", b"x", 0o600).unwrap();
        let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(m, 0o600);
        let p = put(d.path(), "/etc/keepalived/chk.sh", b"#!/bin/sh\n", 0o4775).unwrap();
        let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(m, 0o775, "umask does not narrow it, set-uid is dropped");
        let target = d.path().join("target");
        std::os::unix::fs::symlink(&target, d.path().join("etc/link")).unwrap();
        assert!(put(d.path(), "/etc/link", b"y", 0o644).is_err());
        assert!(!target.exists());
        assert!(put(d.path(), "/etc/link/inside", b"y", 0o644).is_err());
        assert!(put(d.path(), "/etc/../x", b"y", 0o644).is_err());
        assert!(put(d.path(), "/facts.json", b"{}", 0o644).is_err());
        assert!(put(d.path(), "relative", b"y", 0o644).is_err());
    }

    #[test]
    fn an_interrupted_pull_is_cleaned_up_by_the_next() {
        let d = tempfile::tempdir().unwrap();
        let dead = d.path().join(".haconf-pull-999999999-abcd");
        let alive = d
            .path()
            .join(format!(".haconf-pull-{}-x", std::process::id()));
        std::fs::create_dir_all(dead.join("ha1")).unwrap();
        std::fs::create_dir_all(&alive).unwrap();
        let s = Staging::new(d.path()).unwrap();
        assert!(!dead.exists());
        assert!(alive.exists(), "a running pull's directory stays");
        drop(s);
    }
}
