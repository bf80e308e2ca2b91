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
    /// Show each fix with its finding and diff, and ask: yes / no / all / quit. Accepted fixes
    /// are written in place, as with --write.
    #[arg(short, long, conflicts_with_all = ["write", "out", "diff"])]
    pub interactive: bool,
    /// Print `auth_pass` values in diffs as they are (they are masked by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Format the files the fixes change (as `haconf fmt`; `[format] after-fix = true` too).
    #[arg(long)]
    pub format: bool,
    /// With --write: keep no backup.
    #[arg(long)]
    pub no_backup: bool,
    #[command(flatten)]
    pub rules: super::RuleArgs,
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
    let sel = match args.rules.selection() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if args.interactive {
        return interactive(&paths, &args, &sel);
    }
    let mut outcome = engine::fix(&paths, !args.rules.no_spec, &sel, args.unsafe_);
    super::fmt::after_fix(&mut outcome.changed, outcome.project.as_ref(), args.format);
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
        for (path, old, new) in &outcome.modes {
            if let Err(e) = chmod_in_place(&paths, path, *old, *new) {
                eprintln!("error: {}: {e}", display_path(path));
                code = 2;
            }
        }
    } else {
        for (path, old, new) in &outcome.changed {
            let _ = so.write_all(
                engine::unified_diff_secrets(&display_path(path), old, new, args.show_secrets)
                    .as_bytes(),
            );
        }
        for (path, old, new) in &outcome.modes {
            let _ = writeln!(so, "{}", mode_line(&display_path(path), *old, *new));
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
    let mut touched: Vec<&PathBuf> = outcome.changed.iter().map(|c| &c.0).collect();
    touched.extend(outcome.modes.iter().map(|m| &m.0));
    touched.sort();
    touched.dedup();
    let mut summary = format!(
        "{verb} {} fix{} to {} file{}",
        outcome.applied.len(),
        if outcome.applied.len() == 1 { "" } else { "es" },
        touched.len(),
        if touched.len() == 1 { "" } else { "s" }
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
pub(crate) fn write_in_place(
    roots: &[PathBuf],
    path: &Path,
    old: &[u8],
    new: &[u8],
    backup: bool,
) -> std::io::Result<()> {
    use std::io::Error;
    let real = real_inside(roots, path, "not written")?;
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

/// `mode change 0644 => 0755 path` (as `git apply --summary` says it).
pub fn mode_line(path: &str, old: u32, new: u32) -> String {
    format!("mode change {old:04o} => {new:04o} {path}")
}

/// The real path of `path`, if it lies inside one of the checked directories; an error that
/// ends with `what` (e.g. "not written") when a link leads out of them.
fn real_inside(roots: &[PathBuf], path: &Path, what: &str) -> std::io::Result<PathBuf> {
    let real = std::fs::canonicalize(path)?;
    let inside = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .any(|r| real.starts_with(&r) || r == real);
    if inside {
        Ok(real)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("is a link to a file outside the cluster; {what}"),
        ))
    }
}

/// Sets `path`'s mode to `new`: refuses a file outside the checked directories or whose
/// mode changed since it was read.
fn chmod_in_place(roots: &[PathBuf], path: &Path, old: u32, new: u32) -> std::io::Result<()> {
    use std::io::Error;
    use std::os::unix::fs::PermissionsExt;
    let real = real_inside(roots, path, "mode not changed")?;
    let now = std::fs::metadata(&real)?.permissions().mode() & 0o7777;
    if now != old {
        return Err(Error::other(
            "its mode changed since haconf read it; not changed",
        ));
    }
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(new))
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
    // Where an input file lands in the copy.
    let target = |path: &Path| -> Option<PathBuf> {
        let (root, dest) = mapped.iter().find(|(r, _)| path.starts_with(r))?;
        let rel = path.strip_prefix(root).unwrap_or(path);
        Some(if rel.as_os_str().is_empty() {
            dest.clone()
        } else {
            dest.join(rel)
        })
    };
    for (path, _, new) in &outcome.changed {
        let Some(target) = target(path) else { continue };
        std::fs::write(&target, new).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    for (path, _, new) in &outcome.modes {
        let Some(target) = target(path) else { continue };
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(*new))
            .map_err(|e| format!("{}: {e}", target.display()))?;
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

/// `--interactive`: one question per fix, then the accepted fixes are written in place.
fn interactive(paths: &[PathBuf], args: &FixArgs, sel: &Selection) -> i32 {
    use crate::diagnostic::{Applicability, Edit};
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: --interactive asks questions, but standard input is not a terminal; use --diff to see the fixes or --write to apply them"
        );
        return 2;
    }
    let project = crate::project::Project::load_with(paths, !args.rules.no_spec);
    let diags = crate::rules::run(&project, sel);
    let db = &project.db;
    let candidates: Vec<_> = diags
        .iter()
        .filter(|d| {
            d.fix.as_ref().is_some_and(|f| {
                (!f.edits.is_empty() || !f.modes.is_empty())
                    && (f.applicability == Applicability::Safe || args.unsafe_)
            })
        })
        .collect();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut accepted: Vec<&Edit> = Vec::new();
    let mut accepted_modes: Vec<(PathBuf, u32)> = Vec::new();
    let mut n_accepted = 0;
    let mut all = false;
    for (i, d) in candidates.iter().enumerate() {
        let fx = d.fix.as_ref().unwrap();
        let f = db.get(d.file);
        let (l, c) = f.line_col(d.span.start);
        println!(
            "\n[{}/{}] {}:{l}:{c}: {} {}",
            i + 1,
            candidates.len(),
            display_path(&f.path),
            d.code,
            d.message
        );
        println!(
            "fix ({}): {}",
            if fx.applicability == Applicability::Safe {
                "safe"
            } else {
                "unsafe"
            },
            fx.message
        );
        let mut files: Vec<usize> = fx.edits.iter().map(|e| e.file).collect();
        files.sort();
        files.dedup();
        for file in files {
            let sf = db.get(file);
            let mut bytes = sf.bytes.clone();
            let mut edits: Vec<&Edit> = fx.edits.iter().filter(|e| e.file == file).collect();
            edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
            for e in edits {
                bytes.splice(e.span.start..e.span.end, e.replacement.bytes());
            }
            print!(
                "{}",
                engine::unified_diff(&display_path(&sf.path), &sf.bytes, &bytes)
            );
        }
        for &(file, mode) in &fx.modes {
            let path = &db.get(file).path;
            let old = db.mode(path).unwrap_or(mode);
            println!("{}", mode_line(&display_path(path), old, mode));
        }
        let yes = if all {
            true
        } else {
            loop {
                print!("Apply this fix? [y]es / [n]o / [a]ll / [q]uit: ");
                let _ = std::io::stdout().flush();
                let Some(Ok(answer)) = lines.next() else {
                    return finish(&project, &accepted, &accepted_modes, n_accepted, args);
                };
                match answer.trim() {
                    "y" | "yes" => break true,
                    "n" | "no" => break false,
                    "a" | "all" => {
                        all = true;
                        break true;
                    }
                    "q" | "quit" => {
                        return finish(&project, &accepted, &accepted_modes, n_accepted, args);
                    }
                    _ => println!("Please answer y, n, a or q."),
                }
            }
        };
        if yes {
            let clash = fx.edits.iter().any(|e| {
                accepted.iter().any(|a| {
                    a.file == e.file && e.span.start < a.span.end && a.span.start < e.span.end
                })
            });
            if clash {
                println!("(skipped: it overlaps a fix you already accepted; run haconf fix again)");
            } else {
                accepted.extend(fx.edits.iter());
                accepted_modes.extend(
                    fx.modes
                        .iter()
                        .map(|&(file, mode)| (db.get(file).path.clone(), mode)),
                );
                n_accepted += 1;
            }
        }
    }
    finish(&project, &accepted, &accepted_modes, n_accepted, args)
}

fn finish(
    project: &crate::project::Project,
    accepted: &[&crate::diagnostic::Edit],
    modes: &[(PathBuf, u32)],
    n: usize,
    args: &FixArgs,
) -> i32 {
    let mut files: Vec<usize> = accepted.iter().map(|e| e.file).collect();
    files.sort();
    files.dedup();
    let roots: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut code = 0;
    for file in &files {
        let sf = project.db.get(*file);
        let mut bytes = sf.bytes.clone();
        let mut edits: Vec<&&crate::diagnostic::Edit> =
            accepted.iter().filter(|e| e.file == *file).collect();
        edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
        for e in edits {
            bytes.splice(e.span.start..e.span.end, e.replacement.bytes());
        }
        if let Err(e) = write_in_place(&roots, &sf.path, &sf.bytes, &bytes, !args.no_backup) {
            eprintln!("error: {}: {e}", display_path(&sf.path));
            code = 2;
        }
    }
    let mut n_files = files.len();
    for (path, mode) in modes {
        let old = project.db.mode(path).unwrap_or(*mode);
        if let Err(e) = chmod_in_place(&roots, path, old, *mode) {
            eprintln!("error: {}: {e}", display_path(path));
            code = 2;
        }
        if !files.iter().any(|f| &project.db.get(*f).path == path) {
            n_files += 1;
        }
    }
    let files = vec![(); n_files];
    println!(
        "\nApplied {n} fix{} to {} file{}.",
        if n == 1 { "" } else { "es" },
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
    code
}
