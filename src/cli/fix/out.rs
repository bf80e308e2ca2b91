//! `fix --out DIR`: the corrected copy of the inputs, built beside DIR and put in place in one
//! rename (see [`crate::write::Staging`]), so DIR is never half-written.
//!
//! With one input, DIR *is* that input corrected (the nodes of a cluster directly in DIR, as
//! `generate --out DIR` writes them); with several, DIR holds one folder per input, named
//! after it. DIR must be new, empty, or an earlier `fix --out` output (it holds the marker
//! file `.haconf-out`), which is replaced whole: haconf never mixes its copy into a directory
//! of other files, and never replaces one it did not write.

use crate::fix::engine;
use crate::write::Staging;
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The file that marks a directory as written by `fix --out`.
const MARKER: &str = ".haconf-out";

/// `path` made absolute without requiring it to exist (its existing part canonical).
fn absolute(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut p = path.to_path_buf();
    loop {
        if let Ok(c) = std::fs::canonicalize(&p) {
            return rest
                .iter()
                .rev()
                .fold(c, |acc, r: &std::ffi::OsString| acc.join(r));
        }
        match (p.file_name(), p.parent()) {
            (Some(n), Some(parent)) => {
                rest.push(n.to_owned());
                p = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Where each input goes in the copy (relative to DIR).
fn layout(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let mut out = Vec::new();
    for i in inputs {
        let real = std::fs::canonicalize(i).map_err(|e| format!("{}: {e}", i.display()))?;
        let name = real
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("input"));
        let rel = if inputs.len() == 1 && real.is_dir() {
            PathBuf::new()
        } else {
            name
        };
        if out.iter().any(|(_, r)| r == &rel) {
            return Err(format!(
                "two inputs are named {}; give them one at a time",
                rel.display()
            ));
        }
        out.push((real, rel));
    }
    Ok(out)
}

/// Whether the copy of `inputs` may be written to `dir`; why not, otherwise.
pub(super) fn usable(inputs: &[PathBuf], dir: &Path) -> Result<(), String> {
    let abs = absolute(dir);
    for (real, _) in layout(inputs)? {
        if abs.starts_with(&real) {
            return Err(format!(
                "is inside the input {}; choose a directory outside it",
                real.display()
            ));
        }
        if real.starts_with(&abs) {
            return Err(format!(
                "holds the input {}, which writing the copy would replace",
                real.display()
            ));
        }
    }
    let Ok(meta) = std::fs::metadata(dir) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err("exists and is not a directory".into());
    }
    let empty = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .next()
        .is_none();
    let ours = std::fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file());
    if !empty && !ours {
        return Err(format!(
            "is not empty and is not an earlier `haconf fix --out` output (no {MARKER} in it); \
             choose a new or empty directory"
        ));
    }
    Ok(())
}

/// Writes the corrected copy of `inputs` to `dir`: everything or nothing.
pub(super) fn write(
    inputs: &[PathBuf],
    dir: &Path,
    outcome: &engine::Outcome,
) -> Result<(), String> {
    usable(inputs, dir)?;
    let layout = layout(inputs)?;
    let inside = |p: &Path| layout.iter().any(|(r, _)| p.starts_with(r));
    let mut fixed: HashMap<PathBuf, &[u8]> = HashMap::new();
    let mut modes: HashMap<PathBuf, u32> = HashMap::new();
    let outside = |p: &Path| {
        format!(
            "{}: is a link to a file outside the input; its fix cannot be written to the copy",
            crate::output::display_path(p)
        )
    };
    for (path, _, new) in &outcome.changed {
        let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !inside(&real) {
            return Err(outside(path));
        }
        fixed.insert(real, new);
    }
    for (path, _, new) in &outcome.modes {
        let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !inside(&real) {
            return Err(outside(path));
        }
        modes.insert(real, *new);
    }
    let root_mode = match layout.as_slice() {
        [(real, rel)] if rel.as_os_str().is_empty() => {
            std::fs::metadata(real).map_or(0o755, |m| m.mode() & 0o7777)
        }
        _ => 0o755,
    };
    let err = |e: std::io::Error| format!("{}: {e}", dir.display());
    let mut staging = Staging::new(dir, root_mode).map_err(err)?;
    let mut placed = HashSet::new();
    let mut copy = Copy {
        staging: &mut staging,
        fixed: &fixed,
        modes: &modes,
        placed: &mut placed,
    };
    for (real, rel) in &layout {
        copy.tree(real, rel)?;
    }
    if let Some(lost) = fixed
        .keys()
        .chain(modes.keys())
        .find(|p| !placed.contains(*p))
    {
        return Err(format!(
            "{}: fixed, but not found when copying the input",
            lost.display()
        ));
    }
    staging
        .file(
            Path::new(MARKER),
            b"Written by `haconf fix --out`; the next `haconf fix --out` here replaces this directory whole.\n",
            0o644,
        )
        .map_err(err)?;
    staging.commit().map_err(err)
}

struct Copy<'a> {
    staging: &'a mut Staging,
    fixed: &'a HashMap<PathBuf, &'a [u8]>,
    modes: &'a HashMap<PathBuf, u32>,
    placed: &'a mut HashSet<PathBuf>,
}

impl Copy<'_> {
    /// Copies `src` to `rel` in the staging directory, with the fixed text and mode where
    /// there is one. Links are copied as links (never followed); FIFOs, sockets and devices
    /// are left out; so are haconf's own backups and temporary files.
    fn tree(&mut self, src: &Path, rel: &Path) -> Result<(), String> {
        let err = |e: std::io::Error| format!("copying {}: {e}", src.display());
        let meta = std::fs::symlink_metadata(src).map_err(err)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            if !rel.as_os_str().is_empty() {
                self.staging.dir(rel, meta.mode() & 0o7777).map_err(err)?;
            }
            let mut names: Vec<_> = std::fs::read_dir(src)
                .map_err(err)?
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| !crate::write::is_own_file(n))
                .filter(|n| !(rel.as_os_str().is_empty() && n == MARKER))
                .collect();
            names.sort();
            for n in names {
                self.tree(&src.join(&n), &rel.join(&n))?;
            }
        } else if ft.is_file() {
            let owned;
            let bytes = match self.fixed.get(src) {
                Some(b) => *b,
                None => {
                    owned = read_regular(src).map_err(err)?;
                    &owned
                }
            };
            let mode = self.modes.get(src).copied().unwrap_or(meta.mode() & 0o7777);
            self.staging.file(rel, bytes, mode).map_err(err)?;
            self.placed.insert(src.to_path_buf());
        } else if ft.is_symlink() {
            let target = std::fs::read_link(src).map_err(err)?;
            self.staging.symlink(rel, &target).map_err(err)?;
        }
        Ok(())
    }
}

/// Reads a file that was a regular file a moment ago, without blocking if it was swapped for
/// a FIFO since.
fn read_regular(p: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(p)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}
