//! `haconf fix`: diffs of the fixes (default), `--check` for CI, `--write` in place, `--out
//! DIR`, or `--interactive`. Every write goes through [`crate::write`]; this module decides
//! what to write and says truthfully what happened.

mod interactive;
mod out;
mod terminal;

use crate::fix::engine;
use crate::output::display_path;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct FixArgs {
    /// Cluster directories, node directories or files (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Print unified diffs of the fixes and write nothing (the default). Exits 1 when there
    /// is something to fix, 0 when there is nothing.
    #[arg(long, conflicts_with_all = ["write", "out", "check"])]
    pub diff: bool,
    /// Print only the files the fixes would change (one a line) and the summary; write
    /// nothing. Exits 1 when there is something to fix, 0 when there is nothing (for CI).
    #[arg(long, conflicts_with_all = ["write", "out"])]
    pub check: bool,
    /// Apply the fixes in place, all files or none: atomically, keeping owner, mode and a
    /// `.NAME.haconf-bak` backup beside each file.
    #[arg(long, conflicts_with = "out")]
    pub write: bool,
    /// Write the corrected copy to DIR (with one input DIR is that input, with several one
    /// folder each); the input is left untouched. DIR must be new, empty, or an earlier
    /// `fix --out` output, which is replaced.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also apply fixes that change behaviour.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
    /// Show each fix with its finding and diff, and ask (one key): y(es) / n(o) / a(ll) /
    /// q(uit) / e (explain the rule). Accepted fixes are written in place, as with --write.
    #[arg(short, long, conflicts_with_all = ["write", "out", "diff", "check"])]
    pub interactive: bool,
    /// Print `auth_pass` values in diffs as they are (they are masked by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Format the files the fixes change (as `haconf fmt`; `[format] after-fix = true` too).
    #[arg(long)]
    pub format: bool,
    /// With --write or --interactive: keep no backup.
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
    if let Some(dir) = &args.out
        && let Err(e) = out::usable(&paths, dir)
    {
        eprintln!("error: --out {}: {e}", dir.display());
        return 2;
    }
    if args.interactive {
        return interactive::run(&paths, &args, &sel);
    }
    let mut outcome = engine::fix(&paths, !args.rules.no_spec, &sel, args.unsafe_);
    let unformatted: Vec<(PathBuf, Vec<u8>)> = outcome
        .changed
        .iter()
        .map(|(p, _, new)| (p.clone(), new.clone()))
        .collect();
    super::fmt::after_fix(&mut outcome.changed, outcome.project.as_ref(), args.format);
    // Formatting moved lines: the codes of a reformatted file are no longer per line.
    let reformatted: Vec<PathBuf> = outcome
        .changed
        .iter()
        .filter(|(p, _, new)| !unformatted.iter().any(|(q, b)| q == p && b == new))
        .map(|c| c.0.clone())
        .collect();
    for (c, m) in &outcome.dropped {
        eprintln!("warning: dropped the {c} fix \"{m}\": its result did not parse");
    }
    for (c, m, why) in &outcome.rejected {
        eprintln!("warning: rejected the safe {c} fix \"{m}\": {why}");
    }
    let touched = touched(&outcome);
    let tail = tail(&outcome, args.unsafe_);
    let n = outcome.applied.len();
    if let Some(dir) = &args.out {
        return match out::write(&paths, dir, &outcome) {
            Ok(()) => {
                eprintln!(
                    "Applied {} to {}; wrote the corrected copy to {}{tail}",
                    fixes(n),
                    files(touched.len()),
                    dir.display()
                );
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                eprintln!(
                    "Nothing was written to {}: {} to {} not applied{tail}",
                    dir.display(),
                    fixes(n),
                    files(touched.len())
                );
                2
            }
        };
    }
    if args.write {
        let mut rw = crate::write::Rewrite::new(&paths, !args.no_backup);
        for (path, old, new) in &outcome.changed {
            rw.content(path, old, new);
        }
        for (path, old, new) in &outcome.modes {
            rw.mode(path, *old, *new);
        }
        return report_write(rw.apply(), n, touched.len(), !args.no_backup, &tail);
    }
    let stdout = std::io::stdout();
    let mut so = stdout.lock();
    if args.check {
        for p in &touched {
            let _ = writeln!(so, "{}", display_path(p));
        }
    } else {
        for (path, old, new) in &outcome.changed {
            let diff =
                engine::unified_diff_secrets(&display_path(path), old, new, args.show_secrets);
            let codes = outcome.line_codes.get(path);
            let all: std::collections::BTreeSet<&str> =
                codes.into_iter().flatten().flatten().copied().collect();
            let per_line = codes.filter(|_| !reformatted.contains(path));
            let _ = so.write_all(engine::label_hunks(&diff, per_line, &all).as_bytes());
        }
        for (path, old, new) in &outcome.modes {
            let _ = writeln!(so, "{}", mode_line(&display_path(path), *old, *new));
        }
    }
    let _ = so.flush();
    eprintln!("Would apply {} to {}{tail}", fixes(n), files(touched.len()));
    i32::from(!touched.is_empty())
}

/// Every file the outcome changes (text or mode), sorted.
fn touched(outcome: &engine::Outcome) -> Vec<PathBuf> {
    let mut t: Vec<PathBuf> = outcome.changed.iter().map(|c| c.0.clone()).collect();
    t.extend(outcome.modes.iter().map(|m| m.0.clone()));
    t.sort();
    t.dedup();
    t
}

/// `; 2 more with --unsafe; 3 findings left for a person.`
fn tail(outcome: &engine::Outcome, with_unsafe: bool) -> String {
    let mut s = String::new();
    if !with_unsafe && outcome.unsafe_available > 0 {
        s.push_str(&format!(
            "; {} more with --unsafe",
            outcome.unsafe_available
        ));
    }
    let left = outcome.remaining.len();
    s.push_str(&format!(
        "; {left} finding{} left for a person.",
        if left == 1 { "" } else { "s" }
    ));
    s
}

fn fixes(n: usize) -> String {
    format!("{n} fix{}", if n == 1 { "" } else { "es" })
}

fn files(n: usize) -> String {
    format!("{n} file{}", if n == 1 { "" } else { "s" })
}

/// Prints what a [`crate::write::Rewrite`] did — every problem, and a summary that is true
/// (nothing is called applied unless it was) — and returns the exit code.
fn report_write(
    result: Result<crate::write::Applied, crate::write::Failure>,
    n_fixes: usize,
    n_files: usize,
    backup: bool,
    tail: &str,
) -> i32 {
    use crate::write::State;
    match result {
        Ok(applied) => {
            for (p, w) in &applied.warnings {
                eprintln!("warning: {}: {w}", display_path(p));
            }
            eprintln!(
                "Applied {} to {}{tail}",
                fixes(n_fixes),
                files(applied.files.len())
            );
            if backup && !applied.backups.is_empty() {
                eprintln!(
                    "The originals are kept beside them as .NAME.haconf-bak (hidden: no include glob loads them)."
                );
            }
            0
        }
        Err(f) => {
            for (p, e) in &f.problems {
                eprintln!("error: {}: {e}", display_path(p));
            }
            match &f.state {
                State::NothingWritten => eprintln!(
                    "Nothing was written: {} to {} not applied{tail}",
                    fixes(n_fixes),
                    files(n_files)
                ),
                State::RolledBack(k) => eprintln!(
                    "Nothing was changed: the {} already replaced {} put back; {} to {} not applied{tail}",
                    files(*k),
                    if *k == 1 { "was" } else { "were" },
                    fixes(n_fixes),
                    files(n_files)
                ),
                State::Damaged(states) => {
                    for (p, s) in states {
                        eprintln!("error: {}: {s}", display_path(p));
                    }
                    eprintln!(
                        "The write failed half-way and could not be undone: the files above need your attention; the others are as they were."
                    );
                }
            }
            2
        }
    }
}

/// `mode change 0644 => 0755 path` (as `git apply --summary` says it).
pub fn mode_line(path: &str, old: u32, new: u32) -> String {
    format!("mode change {old:04o} => {new:04o} {path}")
}

/// The rule code on each hunk header of a diff: `@@ -1,3 +1,3 @@ KA003`.
fn label_hunks(diff: &str, code: &str) -> String {
    let mut out = String::with_capacity(diff.len() + 16);
    for line in diff.split_inclusive('\n') {
        if line.starts_with("@@") {
            let body = line.trim_end_matches('\n');
            out.push_str(&format!("{body} {code}\n"));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The roots a write may touch: the paths given (a link out of them is refused).
fn roots(args: &FixArgs) -> Vec<PathBuf> {
    if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    }
}
