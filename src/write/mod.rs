//! Every file haconf writes goes through this module — `fix --write`, `fix --interactive`,
//! `fix --out`, `generate`, `init` and shellcheck's cache — so the rules for writing files
//! that keepalived runs as root are kept in one place:
//!
//! - A new file's content first goes to a temporary file created exclusively (`O_EXCL |
//!   O_NOFOLLOW`) under an unpredictable name in the target's own directory, with the final
//!   owner and mode before a byte is written; it is synced, renamed over the target, and the
//!   directory synced. The rename replaces the name: a link there is replaced, never
//!   followed, and every name is resolved in a directory held open by descriptor.
//! - A rewritten file keeps its owner and mode. Its backup, `.NAME.haconf-bak` (see
//!   [`names`] for why a leading dot), is the original file itself, kept by a hard link (or
//!   a synced copy with the same owner and mode where a link is not possible) and put in
//!   place by a rename after the new file is in: an older backup is replaced only by a
//!   whole one.
//! - Several files are written as one change ([`Rewrite`]): every target is checked first,
//!   every new file is written and synced beside its target, and only then are they renamed
//!   into place; if one rename fails, the files already replaced get their original back.
//! - A run that was killed leaves at most hidden files named after the process; the next
//!   write in that directory removes them (or keeps the original as the backup, if the
//!   interrupted run had already replaced it).

mod dir;
pub(crate) mod names;

use dir::{Dir, Kind};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub(crate) use names::{backup_name, is_own_file};

/// The most a file holding a secret (an `auth_pass`) may allow: its owner only, and never
/// more than the file it comes from (`source`), when there is one.
pub(crate) fn secret_mode(source: Option<u32>) -> u32 {
    0o600 & source.unwrap_or(0o600)
}

/// Writes `bytes` as the file `root/rel`, creating the directories of `rel` below `root`
/// (with mode 0755, or 0700 when `private`); a directory or file below `root` that is a link
/// is replaced or refused, never followed. An existing file keeps its owner; the new one
/// gets `mode`.
pub(crate) fn write_file(
    root: &Path,
    rel: &Path,
    bytes: &[u8],
    mode: u32,
    private: bool,
) -> io::Result<()> {
    let name = rel
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let parent = rel.parent().unwrap_or(Path::new(""));
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(if private { 0o700 } else { 0o755 })
            .create(root)?;
    }
    let dir = Dir::open_below(root, parent, if private { 0o700 } else { 0o755 })?;
    sweep(&dir, name);
    let (uid, gid) = match dir.kind(name) {
        Kind::File => {
            let st = dir.stat(name)?;
            (st.st_uid, st.st_gid)
        }
        Kind::Dir => {
            return Err(io::Error::other(format!(
                "{} is a directory",
                dir.path.join(name).display()
            )));
        }
        // SAFETY: these only read the process's ids.
        _ => unsafe { (libc::geteuid(), libc::getegid()) },
    };
    let (tmp, mut f) = dir.create_temp(name, "tmp", mode & 0o700)?;
    let written = (|| {
        dir::set_owner_mode(&f, uid, gid, mode)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        dir.rename(&tmp, name)?;
        dir.sync()
    })();
    if written.is_err() {
        let _ = dir.unlink(&tmp);
    }
    written
}

/// Removes what killed haconf processes left beside `name`: their temporary files, and
/// their saved originals — which become the backup when the target no longer holds them
/// (the interrupted run had replaced it).
fn sweep(dir: &Dir, name: &OsStr) {
    let Ok(names) = dir.names() else { return };
    for n in names {
        let Some((tag, pid)) = names::leftover_of(name, &n) else {
            continue;
        };
        if pid == std::process::id() || dir::alive(pid) || dir.kind(&n) != Kind::File {
            continue;
        }
        if tag == "old" && !same_content(dir, &n, name) {
            let _ = dir.rename(&n, &backup_name(name));
        } else {
            let _ = dir.unlink(&n);
        }
    }
    let _ = dir.sync();
}

fn same_content(dir: &Dir, a: &OsStr, b: &OsStr) -> bool {
    let read = |n: &OsStr| -> Option<Vec<u8>> {
        let mut v = Vec::new();
        dir.open_file(n).ok()?.read_to_end(&mut v).ok()?;
        Some(v)
    };
    match (dir.stat(a), dir.stat(b)) {
        (Ok(x), Ok(y)) if (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino) => true,
        (Ok(_), Ok(_)) => read(a).is_some() && read(a) == read(b),
        _ => false,
    }
}

/// A change to several existing files, made all at once or not at all.
#[derive(Debug)]
pub(crate) struct Rewrite {
    roots: Vec<PathBuf>,
    backup: bool,
    items: Vec<Item>,
}

#[derive(Debug)]
struct Item {
    path: PathBuf,
    /// (what haconf read, what to write)
    content: Option<(Vec<u8>, Vec<u8>)>,
    /// (mode haconf read, new mode)
    mode: Option<(u32, u32)>,
}

/// What [`Rewrite::apply`] did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// The files changed (as given).
    pub(crate) files: Vec<PathBuf>,
    /// The backups kept.
    pub(crate) backups: Vec<PathBuf>,
    /// Changes that were made but whose backup could not be kept.
    pub(crate) warnings: Vec<(PathBuf, String)>,
}

/// Why [`Rewrite::apply`] did not change the files, and what state they are in.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Every problem found: (path as given, what is wrong).
    pub(crate) problems: Vec<(PathBuf, String)>,
    pub(crate) state: State,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Refused before any file was replaced: every file is as it was.
    NothingWritten,
    /// Some files were replaced, then a later one failed; those were put back, and every
    /// file is as it was.
    RolledBack(usize),
    /// Putting back failed too: (path, what it holds now).
    Damaged(Vec<(PathBuf, String)>),
}

/// One target, checked and open.
struct Target {
    shown: PathBuf,
    dir: Dir,
    name: OsString,
    file: File,
    id: (u64, u64),
    owner: (u32, u32),
    mode: u32,
    content: Option<(Vec<u8>, Vec<u8>)>,
    new_mode: Option<u32>,
    /// The new content, written and synced beside the target.
    temp: Option<OsString>,
    /// The original, kept (a hard link or a copy) until the change is done.
    saved: Option<OsString>,
    replaced: bool,
}

impl Rewrite {
    /// A change to files below `roots` (a link leading out of them is refused); `backup`
    /// keeps each original as `.NAME.haconf-bak`.
    pub(crate) fn new(roots: &[PathBuf], backup: bool) -> Rewrite {
        Rewrite {
            roots: roots.to_vec(),
            backup,
            items: Vec::new(),
        }
    }

    /// Replace `path`, which held `old` when haconf read it, with `new`.
    pub(crate) fn content(&mut self, path: &Path, old: &[u8], new: &[u8]) {
        self.item(path).content = Some((old.to_vec(), new.to_vec()));
    }

    /// Change `path`'s mode from `old` (as haconf read it) to `new`.
    pub(crate) fn mode(&mut self, path: &Path, old: u32, new: u32) {
        self.item(path).mode = Some((old & 0o7777, new & 0o7777));
    }

    fn item(&mut self, path: &Path) -> &mut Item {
        let i = match self.items.iter().position(|i| i.path == path) {
            Some(i) => i,
            None => {
                self.items.push(Item {
                    path: path.to_path_buf(),
                    content: None,
                    mode: None,
                });
                self.items.len() - 1
            }
        };
        &mut self.items[i]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Checks every target, writes every new file beside its target, then replaces them;
    /// on any failure, leaves every file as it was (or says exactly where it could not).
    pub(crate) fn apply(self) -> Result<Applied, Failure> {
        let backup = self.backup;
        let mut targets = self.check()?;
        if let Err(p) = prepare(&mut targets) {
            discard(&targets);
            return Err(Failure {
                problems: vec![p],
                state: State::NothingWritten,
            });
        }
        if let Err((i, e)) = commit(&mut targets) {
            let state = roll_back(&mut targets);
            discard(&targets);
            return Err(Failure {
                problems: vec![(targets[i].shown.clone(), e.to_string())],
                state,
            });
        }
        Ok(finish(&mut targets, backup))
    }

    /// Opens and checks every target; all problems, or none.
    fn check(self) -> Result<Vec<Target>, Failure> {
        let roots: Vec<PathBuf> = self
            .roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .collect();
        let mut problems = Vec::new();
        let mut targets: Vec<Target> = Vec::new();
        for item in self.items {
            match check_one(&roots, &item, self.backup) {
                Ok(t) => {
                    // The same file reached by two paths (a link inside the cluster).
                    if let Some(prev) = targets.iter_mut().find(|p| p.id == t.id) {
                        let texts_agree = prev.content.is_none()
                            || t.content.is_none()
                            || prev.content.as_ref().map(|c| &c.1)
                                == t.content.as_ref().map(|c| &c.1);
                        let modes_agree = prev.new_mode.is_none()
                            || t.new_mode.is_none()
                            || prev.new_mode == t.new_mode;
                        if texts_agree && modes_agree {
                            prev.content = prev.content.take().or(t.content);
                            prev.new_mode = prev.new_mode.or(t.new_mode);
                            continue;
                        }
                        problems.push((
                            item.path.clone(),
                            format!(
                                "is the same file as {}, with other fixes; not written",
                                prev.shown.display()
                            ),
                        ));
                        continue;
                    }
                    targets.push(t);
                }
                Err(e) => problems.push((item.path.clone(), e)),
            }
        }
        if problems.is_empty() {
            Ok(targets)
        } else {
            Err(Failure {
                problems,
                state: State::NothingWritten,
            })
        }
    }
}

fn check_one(roots: &[PathBuf], item: &Item, backup: bool) -> Result<Target, String> {
    let real = std::fs::canonicalize(&item.path).map_err(|e| e.to_string())?;
    if !roots.iter().any(|r| real.starts_with(r)) {
        return Err("is a link to a file outside the cluster; not written".into());
    }
    let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
        return Err("not a file".into());
    };
    let dir = Dir::open(parent).map_err(|e| e.to_string())?;
    let mut file = dir.open_file(name).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode() & 0o7777;
    if let Some((old, _)) = &item.content {
        let mut now = Vec::with_capacity(old.len());
        file.read_to_end(&mut now).map_err(|e| e.to_string())?;
        if &now != old {
            return Err("changed on disk since haconf read it; not written".into());
        }
    }
    if let Some((old, _)) = item.mode
        && old != mode
    {
        return Err("its mode changed since haconf read it; not changed".into());
    }
    // SAFETY: reads the process's effective user id.
    let euid = unsafe { libc::geteuid() };
    if item.content.is_none() && euid != 0 && euid != meta.uid() {
        return Err(format!(
            "belongs to user {}; its mode can only be changed by that user or root",
            meta.uid()
        ));
    }
    if item.content.is_some() {
        dir.writable()
            .map_err(|e| format!("its directory {} is not writable: {e}", parent.display()))?;
        let b = backup_name(name);
        if backup && !matches!(dir.kind(&b), Kind::Missing | Kind::File) {
            return Err(format!(
                "{} is not a regular file (a link or a directory: not made by haconf); \
                 remove it or use --no-backup",
                parent.join(&b).display()
            ));
        }
    }
    Ok(Target {
        shown: item.path.clone(),
        dir,
        name: name.to_owned(),
        file,
        id: (meta.dev(), meta.ino()),
        owner: (meta.uid(), meta.gid()),
        mode,
        content: item.content.clone(),
        new_mode: item.mode.map(|m| m.1),
        temp: None,
        saved: None,
        replaced: false,
    })
}

/// Writes every new file and keeps every original, beside its target; replaces nothing.
fn prepare(targets: &mut [Target]) -> Result<(), (PathBuf, String)> {
    for t in targets.iter_mut() {
        let Some((old, new)) = &t.content else {
            continue;
        };
        sweep(&t.dir, &t.name);
        let err = |e: io::Error| (t.shown.clone(), e.to_string());
        let mode = t.new_mode.unwrap_or(t.mode);
        let (tmp, mut f) = t
            .dir
            .create_temp(&t.name, "tmp", mode & 0o700)
            .map_err(err)?;
        t.temp = Some(tmp);
        dir::set_owner_mode(&f, t.owner.0, t.owner.1, mode).map_err(err)?;
        f.write_all(new).map_err(err)?;
        f.sync_all().map_err(err)?;
        // The original, kept under a second name: the same file (owner, mode and content
        // whole by construction), or a copy where a hard link is refused.
        let saved = names::temp_name(&t.name, "old");
        match t.dir.link(&t.name, &saved) {
            Ok(()) => {
                t.saved = Some(saved.clone());
                let st = t.dir.stat(&saved).map_err(err)?;
                if (st.st_dev, st.st_ino) != t.id {
                    return Err((
                        t.shown.clone(),
                        "replaced on disk since haconf read it; not written".into(),
                    ));
                }
            }
            Err(_) => {
                let (name, mut c) = t
                    .dir
                    .create_temp(&t.name, "old", t.mode & 0o700)
                    .map_err(err)?;
                t.saved = Some(name);
                dir::set_owner_mode(&c, t.owner.0, t.owner.1, t.mode).map_err(err)?;
                c.write_all(old).map_err(err)?;
                c.sync_all().map_err(err)?;
            }
        }
        // Still what haconf read (an edit in place would not change the file's identity).
        let mut now = vec![0; old.len() + 1];
        let n = read_at_all(&t.file, &mut now).map_err(err)?;
        if &now[..n] != old.as_slice() {
            return Err((
                t.shown.clone(),
                "changed on disk since haconf read it; not written".into(),
            ));
        }
    }
    for t in targets.iter() {
        t.dir.sync().map_err(|e| (t.shown.clone(), e.to_string()))?;
    }
    Ok(())
}

fn read_at_all(f: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
thread_local! {
    /// Makes the commit of the target with this index fail (tests of the roll-back).
    static FAIL_COMMIT_AT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Puts every new file (and mode) in place; the index of the one that failed.
fn commit(targets: &mut [Target]) -> Result<(), (usize, io::Error)> {
    for (i, t) in targets.iter_mut().enumerate() {
        #[cfg(test)]
        if FAIL_COMMIT_AT.with(|f| f.get()) == Some(i) {
            return Err((i, io::Error::other("injected failure")));
        }
        let r = match &t.temp {
            Some(tmp) => t.dir.rename(tmp, &t.name),
            None => match t.new_mode {
                Some(m) => {
                    use std::os::unix::fs::PermissionsExt;
                    t.file.set_permissions(std::fs::Permissions::from_mode(m))
                }
                None => Ok(()),
            },
        };
        r.map_err(|e| (i, e))?;
        t.replaced = true;
        if t.temp.is_some() {
            t.temp = None;
        }
    }
    for t in targets.iter() {
        let _ = t.dir.sync();
    }
    Ok(())
}

/// Gives the files already replaced their original back.
fn roll_back(targets: &mut [Target]) -> State {
    let mut restored = 0;
    let mut damaged = Vec::new();
    for t in targets.iter_mut().rev().filter(|t| t.replaced) {
        let r = if t.content.is_some() {
            match &t.saved {
                Some(saved) => t.dir.rename(saved, &t.name).map(|()| t.saved = None),
                None => Err(io::Error::other("no saved original")),
            }
        } else {
            use std::os::unix::fs::PermissionsExt;
            t.file
                .set_permissions(std::fs::Permissions::from_mode(t.mode))
        };
        match r {
            Ok(()) => restored += 1,
            Err(e) => damaged.push((
                t.shown.clone(),
                match (&t.content, &t.saved) {
                    (Some(_), Some(saved)) => format!(
                        "holds the fixed text; putting the original back failed ({e}); the original is {}",
                        t.dir.path.join(saved).display()
                    ),
                    _ => format!("has the new mode; putting the old one back failed ({e})"),
                },
            )),
        }
        let _ = t.dir.sync();
    }
    if damaged.is_empty() {
        State::RolledBack(restored)
    } else {
        State::Damaged(damaged)
    }
}

/// Removes the temporary files and saved originals that are no longer needed.
fn discard(targets: &[Target]) {
    for t in targets {
        for n in [&t.temp, &t.saved].into_iter().flatten() {
            let _ = t.dir.unlink(n);
        }
        let _ = t.dir.sync();
    }
}

/// Every file is in place: each saved original becomes the backup, or goes.
fn finish(targets: &mut [Target], backup: bool) -> Applied {
    let mut out = Applied::default();
    for t in targets.iter_mut() {
        out.files.push(t.shown.clone());
        let Some(saved) = t.saved.take() else {
            continue;
        };
        if backup {
            let b = backup_name(&t.name);
            match t.dir.rename(&saved, &b) {
                Ok(()) => out.backups.push(t.dir.path.join(&b)),
                Err(e) => {
                    out.warnings
                        .push((t.shown.clone(), format!("written, but no backup kept: {e}")));
                    let _ = t.dir.unlink(&saved);
                }
            }
        } else {
            let _ = t.dir.unlink(&saved);
        }
        let _ = t.dir.sync();
    }
    out
}

/// A directory built under a hidden temporary name beside its destination and put in place
/// in one rename when complete (`fix --out`): the destination is never half-written.
pub(crate) struct Staging {
    parent: Dir,
    name: OsString,
    tmp: OsString,
    root: Dir,
    mode: u32,
    dirs: Vec<(PathBuf, u32)>,
    done: bool,
}

impl Staging {
    /// Starts building `dest` (created with `mode` when put in place).
    pub(crate) fn new(dest: &Path, mode: u32) -> io::Result<Staging> {
        let abs = if dest.exists() {
            std::fs::canonicalize(dest)?
        } else {
            let parent = dest
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent)?;
            let name = dest.file_name().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "not a directory name")
            })?;
            std::fs::canonicalize(parent)?.join(name)
        };
        let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory name",
            ));
        };
        let parent = Dir::open(parent)?;
        sweep(&parent, name);
        let mut last = None;
        for _ in 0..16 {
            let tmp = names::temp_name(name, "tmp");
            match parent.subdir_new(&tmp) {
                Ok(root) => {
                    return Ok(Staging {
                        parent,
                        name: name.to_owned(),
                        tmp,
                        root,
                        mode,
                        dirs: Vec::new(),
                        done: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// A directory at `rel`; it gets `mode` when the whole is put in place (so a read-only
    /// directory can still be filled).
    pub(crate) fn dir(&mut self, rel: &Path, mode: u32) -> io::Result<()> {
        Dir::open_below(&self.root.path, rel, 0o700)?;
        self.dirs.push((rel.to_path_buf(), mode));
        Ok(())
    }

    /// A new file at `rel` (its directory must exist) with `bytes` and `mode`.
    pub(crate) fn file(&self, rel: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
        let (d, name) = self.parent_of(rel)?;
        let mut f = d.create_new(name, mode & 0o700)?;
        dir::set_owner_mode(
            &f,
            // SAFETY: these only read the process's ids.
            unsafe { libc::geteuid() },
            unsafe { libc::getegid() },
            mode,
        )?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    /// A symbolic link at `rel` holding `target` (copied as it is, never followed).
    pub(crate) fn symlink(&self, rel: &Path, target: &Path) -> io::Result<()> {
        let (d, name) = self.parent_of(rel)?;
        d.symlink(target.as_os_str(), name)
    }

    fn parent_of<'a>(&self, rel: &'a Path) -> io::Result<(Dir, &'a OsStr)> {
        let name = rel
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let d = Dir::open_below(
            &self.root.path,
            rel.parent().unwrap_or(Path::new("")),
            0o700,
        )?;
        Ok((d, name))
    }

    /// Puts the directory in place: it replaces `dest` (an empty directory, or one the
    /// caller agreed to replace) in one step.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        // Deepest first: a directory's mode may forbid entering it.
        for (rel, mode) in self.dirs.iter().rev() {
            let d = Dir::open_below(&self.root.path, rel, 0o700)?;
            d.sync()?;
            d.set_mode(*mode)?;
        }
        self.root.set_mode(self.mode)?;
        self.root.sync()?;
        match self.parent.kind(&self.name) {
            Kind::Missing => self.parent.rename(&self.tmp, &self.name)?,
            Kind::Dir => {
                if self.parent.exchange(&self.tmp, &self.name).is_err() {
                    // No RENAME_EXCHANGE on this file system: two renames.
                    let old = names::temp_name(&self.name, "old");
                    self.parent.rename(&self.name, &old)?;
                    if let Err(e) = self.parent.rename(&self.tmp, &self.name) {
                        let _ = self.parent.rename(&old, &self.name);
                        return Err(e);
                    }
                    self.tmp = old;
                }
                // `tmp` now names the previous output.
                let _ = std::fs::remove_dir_all(self.parent.path.join(&self.tmp));
            }
            _ => {
                return Err(io::Error::other(format!(
                    "{} is not a directory",
                    self.parent.path.join(&self.name).display()
                )));
            }
        }
        self.done = true;
        self.parent.sync()
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(self.parent.path.join(&self.tmp));
            let _ = self.parent.sync();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = d.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failure_half_way_puts_back_what_was_replaced() {
        let d = tree(&[("a/x", "a0"), ("b/x", "b0"), ("c/x", "c0")]);
        let paths: Vec<PathBuf> = ["a/x", "b/x", "c/x"]
            .iter()
            .map(|r| d.path().join(r))
            .collect();
        let inodes: Vec<u64> = paths
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().ino())
            .collect();
        let mut rw = Rewrite::new(&[d.path().to_path_buf()], true);
        for (p, new) in paths.iter().zip(["a1", "b1", "c1"]) {
            let old = std::fs::read(p).unwrap();
            rw.content(p, &old, new.as_bytes());
        }
        FAIL_COMMIT_AT.with(|f| f.set(Some(2)));
        let err = rw.apply().unwrap_err();
        FAIL_COMMIT_AT.with(|f| f.set(None));
        assert_eq!(err.state, State::RolledBack(2));
        assert!(err.problems[0].1.contains("injected failure"));
        for ((p, old), ino) in paths.iter().zip(["a0", "b0", "c0"]).zip(inodes) {
            assert_eq!(std::fs::read_to_string(p).unwrap(), old);
            // The very file that was there: same inode, so same owner, mode and links.
            assert_eq!(std::fs::metadata(p).unwrap().ino(), ino);
            assert_eq!(names(p.parent().unwrap()), vec!["x".to_string()]);
        }
    }

    #[test]
    fn a_link_at_the_target_is_replaced_not_followed() {
        let d = tree(&[("victim", "keep\n")]);
        let out = d.path().join("out");
        std::fs::create_dir_all(out.join("n")).unwrap();
        std::os::unix::fs::symlink(d.path().join("victim"), out.join("n/f")).unwrap();
        write_file(&out, Path::new("n/f"), b"new\n", 0o600, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("victim")).unwrap(),
            "keep\n"
        );
        let m = std::fs::symlink_metadata(out.join("n/f")).unwrap();
        assert!(m.is_file());
        assert_eq!(m.mode() & 0o7777, 0o600);
        // A directory below the root that is a link is refused, not entered.
        std::os::unix::fs::symlink(d.path(), out.join("m")).unwrap();
        let e = write_file(&out, Path::new("m/f"), b"x", 0o644, false).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!d.path().join("f").exists());
    }

    #[test]
    fn leftovers_of_a_dead_run_are_cleared_or_kept_as_the_backup() {
        let d = tree(&[("n/f", "new")]);
        let dir = d.path().join("n");
        // A process id that no longer runs.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let tmp = format!(".f.haconf-tmp-{dead}-0123456789abcdef");
        let old = format!(".f.haconf-old-{dead}-0123456789abcdef");
        std::fs::write(dir.join(&tmp), "half").unwrap();
        std::fs::write(dir.join(&old), "the original").unwrap();
        // One of a live process (this one) is left alone.
        let live = format!(".f.haconf-tmp-{}-0123456789abcdef", std::process::id());
        std::fs::write(dir.join(&live), "busy").unwrap();
        let mut rw = Rewrite::new(&[d.path().to_path_buf()], false);
        rw.content(&dir.join("f"), b"new", b"newer");
        rw.apply().unwrap();
        assert_eq!(
            names(&dir),
            vec![".f.haconf-bak".to_string(), live.clone(), "f".to_string()]
        );
        assert_eq!(
            std::fs::read_to_string(dir.join(".f.haconf-bak")).unwrap(),
            "the original"
        );
        assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "newer");
    }

    #[test]
    fn a_file_changed_since_it_was_read_stops_every_write() {
        let d = tree(&[("a/x", "a0"), ("b/x", "b0")]);
        let mut rw = Rewrite::new(&[d.path().to_path_buf()], true);
        rw.content(&d.path().join("a/x"), b"a0", b"a1");
        rw.content(&d.path().join("b/x"), b"b-read-earlier", b"b1");
        let err = rw.apply().unwrap_err();
        assert_eq!(err.state, State::NothingWritten);
        assert_eq!(err.problems.len(), 1);
        assert!(err.problems[0].1.contains("changed on disk"));
        assert_eq!(std::fs::read_to_string(d.path().join("a/x")).unwrap(), "a0");
        assert_eq!(names(&d.path().join("a")), vec!["x".to_string()]);
    }
}
