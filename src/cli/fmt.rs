//! `haconf fmt`: rewrites keepalived.conf and nginx.conf (and the files they include) in one
//! layout, or with `--check` / `--diff` says what would change. The layout and its safety
//! check live in `crate::fmt`; this module finds the files, reads `[format]` from the nearest
//! haconf.toml, and writes. Health-check scripts are left alone (shfmt formats shell).

use crate::fix::engine;
use crate::fmt::{self, Lang, Options};
use crate::fmt::{options_for, spec_format_for};
use crate::output::display_path;
use crate::project::{Project, looks_like_keepalived};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct FmtArgs {
    /// Cluster directories, node directories or files (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Write nothing: list the files that would change, and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Write nothing: print the diffs, and exit 1 if there are any.
    #[arg(long)]
    pub diff: bool,
    /// Format standard input as if it were the file P (its dialect and the `[format]` of the
    /// haconf.toml above it) and print the result.
    #[arg(long, value_name = "P", conflicts_with = "paths")]
    pub stdin_filepath: Option<PathBuf>,
    /// Keep no `.haconf-bak` backup of the files rewritten.
    #[arg(long)]
    pub no_backup: bool,
}

pub fn run(args: FmtArgs) -> i32 {
    if let Some(p) = &args.stdin_filepath {
        return stdin(p, &args);
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    // A file given is formatted alone (a script is not a config: shfmt formats shell); in
    // a directory, every config haconf reads there, includes and fragments too.
    let (given, dirs): (Vec<PathBuf>, Vec<PathBuf>) =
        paths.iter().cloned().partition(|p| p.is_file());
    let mut code = 0;
    let mut files: Vec<(PathBuf, Lang, Vec<u8>)> = Vec::new();
    for f in given {
        let bytes = match read_config(&f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {}: {e}", display_path(&f));
                code = 2;
                continue;
            }
        };
        if bytes.starts_with(b"#!") || f.extension().is_some_and(|e| e == "sh") {
            eprintln!(
                "note: {}: a script, not a config; haconf fmt leaves it alone (shfmt formats shell)",
                display_path(&f)
            );
            continue;
        }
        let lang = lang_of_file(&f, &bytes);
        files.push((f, lang, bytes));
    }
    if !dirs.is_empty() {
        let project = Project::load_with(&dirs, false);
        if !project.errors.is_empty() {
            for e in &project.errors {
                eprintln!("error: {e}");
            }
            return 2;
        }
        for n in project.clusters.iter().flat_map(|c| &c.nodes) {
            let mut units: Vec<(Lang, Vec<usize>)> = Vec::new();
            if let Some(k) = &n.keepalived {
                if let Some(e) = &k.load_error {
                    eprintln!("error: {e}");
                    code = 2;
                }
                units.push((Lang::Keepalived, k.trees.keys().copied().collect()));
            }
            for u in &n.nginx {
                if let Some(e) = &u.load_error {
                    eprintln!("error: {e}");
                    code = 2;
                }
                units.push((Lang::Nginx, u.trees.keys().copied().collect()));
            }
            for (lang, ids) in units {
                for id in ids {
                    let f = project.db.get(id);
                    files.push((f.path.clone(), lang, f.bytes.clone()));
                }
            }
        }
    }
    // Files given are written in their directory; directories below themselves.
    let roots: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            if p.is_file() {
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            } else {
                p.clone()
            }
        })
        .collect();
    let inside: Vec<PathBuf> = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    let mut options = OptionsCache::default();
    let (mut changed, mut unchanged) = (0usize, 0usize);
    let stdout = std::io::stdout();
    let mut so = stdout.lock();
    for (path, lang, old) in &files {
        let shown = display_path(path);
        let real_inside =
            std::fs::canonicalize(path).is_ok_and(|r| inside.iter().any(|i| r.starts_with(i)));
        if !real_inside {
            eprintln!("note: {shown}: outside the paths given (an include); not formatted");
            continue;
        }
        let opts = match options.for_path(path) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: {e}");
                code = 2;
                continue;
            }
        };
        let new = match fmt::format(old, *lang, &opts) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("error: {}", e.report(&shown));
                code = 2;
                continue;
            }
        };
        if &new == old {
            unchanged += 1;
            continue;
        }
        changed += 1;
        if args.diff {
            let _ = so.write_all(engine::unified_diff(&shown, old, &new).as_bytes());
        }
        if args.check && !args.diff {
            let _ = writeln!(so, "Would reformat: {shown}");
        }
        if !args.check
            && !args.diff
            && let Err(e) = write_formatted(&roots, path, old, &new, !args.no_backup)
        {
            eprintln!("error: {shown}: {e}");
            code = 2;
            changed -= 1;
        }
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if args.check || args.diff {
        eprintln!(
            "{changed} file{} would be reformatted, {unchanged} file{} already formatted",
            plural(changed),
            plural(unchanged)
        );
        if changed > 0 && code == 0 {
            code = 1;
        }
    } else {
        eprintln!(
            "{changed} file{} reformatted, {unchanged} file{} left unchanged",
            plural(changed),
            plural(unchanged)
        );
    }
    code
}

/// A config's bytes, refusing what `check` would not read either (a 100 MB "config").
fn read_config(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::source::read_regular(path, crate::source::MAX_FILE_SIZE)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// The one place `fmt` writes a file: through the writer every haconf write uses (atomic,
/// no link followed out of `roots`, a file changed since it was read refused, mode, owner
/// and, unless told not to, a backup kept).
pub(crate) fn write_formatted(
    roots: &[PathBuf],
    path: &Path,
    old: &[u8],
    new: &[u8],
    backup: bool,
) -> std::io::Result<()> {
    let mut rw = crate::write::Rewrite::new(roots, backup);
    rw.content(path, old, new);
    match rw.apply() {
        Ok(a) => {
            for (p, w) in a.warnings {
                eprintln!("warning: {}: {w}", display_path(&p));
            }
            Ok(())
        }
        Err(f) => Err(std::io::Error::other(
            f.problems
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

/// `--stdin-filepath P`: standard input formatted as P would be.
fn stdin(path: &Path, args: &FmtArgs) -> i32 {
    let mut old = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut old) {
        eprintln!("error: reading standard input: {e}");
        return 2;
    }
    let lang = lang_of_file(path, &old);
    let opts = match options_for(path) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let shown = display_path(path);
    let new = match fmt::format(&old, lang, &opts) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {}", e.report(&shown));
            return 2;
        }
    };
    let mut so = std::io::stdout().lock();
    if args.diff {
        let _ = so.write_all(engine::unified_diff(&shown, &old, &new).as_bytes());
    } else if args.check {
        if new != old {
            let _ = writeln!(so, "Would reformat: {shown}");
        }
    } else {
        let _ = so.write_all(&new);
    }
    i32::from((args.check || args.diff) && new != old)
}

/// The dialect of a file met on its own: as `check` reads a file given alone.
pub(crate) fn lang_of_file(path: &Path, bytes: &[u8]) -> Lang {
    if looks_like_keepalived(path, &String::from_utf8_lossy(bytes)) {
        Lang::Keepalived
    } else {
        Lang::Nginx
    }
}

/// The dialect `project` reads `path` in, if it reads it at all (scripts: `None`).
pub(crate) fn lang_in(project: &Project, path: &Path) -> Option<Lang> {
    let id = project.db.find(path)?;
    for n in project.clusters.iter().flat_map(|c| &c.nodes) {
        if n.keepalived
            .as_ref()
            .is_some_and(|k| k.trees.contains_key(&id))
        {
            return Some(Lang::Keepalived);
        }
        if n.nginx.iter().any(|u| u.trees.contains_key(&id)) {
            return Some(Lang::Nginx);
        }
    }
    None
}

/// Options by directory: a cluster's files share one haconf.toml, read once.
#[derive(Default)]
struct OptionsCache(HashMap<PathBuf, Result<Options, String>>);

impl OptionsCache {
    fn for_path(&mut self, path: &Path) -> Result<Options, String> {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        self.0
            .entry(dir)
            .or_insert_with(|| options_for(path))
            .clone()
    }
}

/// `fix --format`, or `[format] after-fix = true`: formats what `fix` is about to write. A
/// file the formatter refuses is written as fixed, unformatted, with a warning.
pub(crate) fn after_fix(
    changed: &mut Vec<(PathBuf, Vec<u8>, Vec<u8>)>,
    project: Option<&Project>,
    forced: bool,
) {
    for (path, _, new) in changed.iter_mut() {
        let Ok((opts, wanted)) = spec_format_for(path) else {
            continue;
        };
        if !(forced || wanted) {
            continue;
        }
        let lang = project
            .and_then(|p| lang_in(p, path))
            .unwrap_or_else(|| lang_of_file(path, new));
        match fmt::format(new, lang, &opts) {
            Ok(f) => *new = f,
            Err(e) => eprintln!(
                "warning: written unformatted: {}",
                e.report(&display_path(path))
            ),
        }
    }
    changed.retain(|(_, old, new)| old != new);
}
