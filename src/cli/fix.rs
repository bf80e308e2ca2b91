//! `haconf fix`: diffs of the fixes (default), `--write` in place, or `--out DIR`.

use crate::fix::engine;
use crate::output::display_path;
use crate::rules::Selection;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct FixArgs {
    /// Cluster directories, node directories or files (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Print unified diffs of the fixes and write nothing (the default).
    #[arg(long, conflicts_with_all = ["write", "out"])]
    pub diff: bool,
    /// Apply the fixes in place: atomically, keeping permissions and a `.haconf-bak` backup.
    #[arg(long, conflicts_with = "out")]
    pub write: bool,
    /// Write the whole corrected cluster to DIR; the input is left untouched.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also apply fixes that change behaviour.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
    /// With --write: keep no backup.
    #[arg(long)]
    pub no_backup: bool,
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    #[arg(long)]
    pub no_spec: bool,
}

pub fn run(args: FixArgs) -> i32 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    for p in &paths {
        if !p.exists() {
            eprintln!("error: {}: no such file or directory", p.display());
            return 2;
        }
    }
    let sel = Selection {
        select: args.select.iter().map(|s| s.trim().to_owned()).collect(),
        ignore: args.ignore.iter().map(|s| s.trim().to_owned()).collect(),
    };
    let outcome = engine::fix(&paths, !args.no_spec, &sel, args.unsafe_);
    let stdout = std::io::stdout();
    let mut so = stdout.lock();
    let mut code = 0;
    if let Some(dir) = &args.out {
        if let Err(e) = write_out(&paths, dir, &outcome) {
            eprintln!("error: {e}");
            return 2;
        }
    } else if args.write {
        for (path, old, new) in &outcome.changed {
            if let Err(e) = write_in_place(&paths, path, old, new, !args.no_backup) {
                eprintln!("error: {}: {e}", display_path(path));
                code = 2;
            }
        }
    } else {
        for (path, old, new) in &outcome.changed {
            let _ = so.write_all(engine::unified_diff(&display_path(path), old, new).as_bytes());
        }
    }
    for (c, m) in &outcome.dropped {
        eprintln!("warning: dropped the {c} fix \"{m}\": its result did not parse");
    }
    let left = outcome.remaining.len();
    let verb = if args.write || args.out.is_some() {
        "Applied"
    } else {
        "Would apply"
    };
    let mut summary = format!(
        "{verb} {} fix{} to {} file{}",
        outcome.applied.len(),
        if outcome.applied.len() == 1 { "" } else { "es" },
        outcome.changed.len(),
        if outcome.changed.len() == 1 { "" } else { "s" }
    );
    if !args.unsafe_ && outcome.unsafe_available > 0 {
        summary.push_str(&format!(
            "; {} more with --unsafe",
            outcome.unsafe_available
        ));
    }
    summary.push_str(&format!(
        "; {left} finding{} left for a person.",
        if left == 1 { "" } else { "s" }
    ));
    eprintln!("{summary}");
    code
}

/// Writes `new` over `path` atomically: refuses a file that changed since it was read or a
/// symlink leading out of the checked directories; keeps permissions; keeps a backup.
fn write_in_place(
    roots: &[PathBuf],
    path: &Path,
    old: &[u8],
    new: &[u8],
    backup: bool,
) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    let real = std::fs::canonicalize(path)?;
    let inside = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .any(|r| real.starts_with(&r) || r == real);
    if !inside {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            "is a link to a file outside the cluster; not written",
        ));
    }
    if std::fs::read(&real)? != old {
        return Err(Error::other(
            "changed on disk since haconf read it; not written",
        ));
    }
    let meta = std::fs::metadata(&real)?;
    let dir = real.parent().unwrap_or(Path::new("."));
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if backup {
        std::fs::write(dir.join(format!("{name}.haconf-bak")), old)?;
    }
    let tmp = dir.join(format!(".{name}.haconf-tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(new)?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, meta.permissions())?;
        std::fs::rename(&tmp, &real)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Copies each input directory (or file) into `out`, then writes the fixed files there.
fn write_out(roots: &[PathBuf], out: &Path, outcome: &engine::Outcome) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut mapped: Vec<(PathBuf, PathBuf)> = Vec::new();
    for r in roots {
        let name = std::fs::canonicalize(r)
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_owned()))
            .unwrap_or_else(|| "input".into());
        let dest = out.join(&name);
        copy_tree(r, &dest).map_err(|e| format!("copying {}: {e}", r.display()))?;
        mapped.push((r.clone(), dest));
    }
    for (path, _, new) in &outcome.changed {
        let Some((root, dest)) = mapped.iter().find(|(r, _)| path.starts_with(r)) else {
            continue;
        };
        let rel = path.strip_prefix(root).unwrap_or(path);
        let target = if rel.as_os_str().is_empty() {
            dest.clone()
        } else {
            dest.join(rel)
        };
        std::fs::write(&target, new).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if meta.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        // Keep the directory writable in the copy even if the input was read-only.
        Ok(())
    } else if meta.is_file() {
        std::fs::copy(from, to)?;
        let mut perm = meta.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(to, perm)
    } else {
        Ok(()) // symlinks are not followed out of the cluster
    }
}
