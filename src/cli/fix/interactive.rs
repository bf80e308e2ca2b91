//! `fix --interactive`: one fix at a time, each shown with its finding, its rule code and its
//! diff, answered with one key. After every accepted fix the files are checked again (in
//! memory) and the offers recomputed on the new text, so a fix that overlapped the accepted
//! one is either gone or offered again as it now applies; a declined fix is not asked again.
//! Nothing is written until the questions end, and then all accepted fixes at once, as
//! `--write` does (Ctrl-C instead writes nothing).

use super::terminal::Keys;
use super::{FixArgs, display_path, engine, label_hunks, mode_line};
use crate::diagnostic::{Applicability, Diagnostic};
use crate::project::Project;
use crate::rules::Selection;
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// A fix already answered, in the coordinates of the current text.
#[derive(Clone)]
struct Answered {
    code: String,
    message: String,
    /// (file, start, end, replacement)
    edits: Vec<(PathBuf, usize, usize, String)>,
    modes: Vec<(PathBuf, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Yes,
    No,
    All,
    Quit,
    /// Ctrl-C: stop and write nothing.
    Abort,
}

/// What the session has accepted so far.
#[derive(Default, Clone)]
struct Accepted {
    /// Current text of every edited file.
    overlay: HashMap<PathBuf, Vec<u8>>,
    modes: HashMap<PathBuf, u32>,
    /// (code, message) of each accepted fix.
    fixes: Vec<(String, String)>,
}

/// What undoes the last accepted fix.
struct Undo {
    accepted: Accepted,
    answered: Vec<Answered>,
    /// The fix itself, as answered "no" on the text before it.
    this: Answered,
    /// Syntax errors per file before it.
    errors: HashMap<PathBuf, usize>,
    /// The findings before it, and the severity of the one it fixes when it is a safe fix
    /// (a safe fix may not add a finding as bad: see docs/fix-safety.md).
    findings: HashMap<engine::Key, usize>,
    safe: Option<crate::diagnostic::Severity>,
}

/// How many questions at most (a fix that keeps coming back cannot loop forever).
const MAX_QUESTIONS: usize = 10_000;

pub(super) fn run(paths: &[PathBuf], args: &FixArgs, sel: &Selection) -> i32 {
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: --interactive asks questions, but standard input is not a terminal; use --diff to see the fixes or --write to apply them"
        );
        return 2;
    }
    let read_spec = !args.rules.no_spec;
    let originals = Project::load_with(paths, read_spec);
    let keys = Keys::start();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut acc = Accepted::default();
    let mut answered: Vec<Answered> = Vec::new();
    // The state before the last accepted fix, to undo it when its result does not parse.
    let mut before_last: Option<Undo> = None;
    let mut all = false;
    let mut asked = 0;
    // The files as accepted so far, checked; reloaded only when an answer changed them.
    let mut checked: Option<(Project, Vec<Diagnostic>)> = None;
    loop {
        let (project, diags) = checked.get_or_insert_with(|| {
            let p = Project::load_overlaid_modes(
                paths,
                read_spec,
                acc.overlay.clone(),
                acc.modes.clone(),
            );
            let d = crate::rules::run(&p, sel);
            (p, d)
        });
        let (project, diags) = (&*project, &*diags);
        if let Some(undo) = before_last.take() {
            let now = syntax_errors(diags, project);
            if let Some(p) = now
                .iter()
                .find(|(p, n)| **n > undo.errors.get(*p).copied().unwrap_or(0))
                .map(|(p, _)| p.clone())
            {
                println!(
                    "(not applied: with it, {} no longer parses)",
                    display_path(&p)
                );
                // Back to before it, and never offered again.
                acc = undo.accepted;
                answered = undo.answered;
                answered.push(undo.this);
                checked = None;
                continue;
            }
            if let Some(sev) = undo.safe
                && let Some(f) = engine::new_findings(&undo.findings, diags, project)
                    .into_iter()
                    .find(|f| f.severity >= sev)
            {
                let file = project.db.get(f.file);
                println!(
                    "(not applied: with it, {}:{} has {} {})",
                    display_path(&file.path),
                    file.line_col(f.span.start.min(file.text.len())).0,
                    f.code,
                    f.message
                );
                acc = undo.accepted;
                answered = undo.answered;
                answered.push(undo.this);
                checked = None;
                continue;
            }
        }
        let offers: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| {
                d.fix.as_ref().is_some_and(|f| {
                    (!f.edits.is_empty() || !f.modes.is_empty())
                        && (f.applicability == Applicability::Safe || args.unsafe_)
                })
            })
            .filter(|d| !answered.iter().any(|a| a.matches(d, project)))
            // No fix edits a file that is not text.
            .filter(|d| {
                d.fix.as_ref().is_some_and(|f| {
                    f.edits
                        .iter()
                        .all(|e| crate::fix::is_text(&project.db.get(e.file).bytes))
                })
            })
            .collect();
        let Some(d) = offers.first().copied() else {
            break;
        };
        asked += 1;
        if asked > MAX_QUESTIONS {
            break;
        }
        show(d, project, offers.len() - 1, args.show_secrets);
        let reply = if all {
            Reply::Yes
        } else {
            ask(keys.as_ref(), &mut lines, d.code)
        };
        match reply {
            Reply::Abort => {
                drop(keys);
                println!();
                eprintln!("Aborted: nothing was written.");
                return 130;
            }
            Reply::Quit => break,
            Reply::No => answered.push(Answered::declined(d, project)),
            Reply::Yes | Reply::All => {
                all |= reply == Reply::All;
                before_last = Some(Undo {
                    accepted: acc.clone(),
                    answered: answered.clone(),
                    this: Answered::declined(d, project),
                    errors: syntax_errors(diags, project),
                    findings: engine::finding_counts(diags, project),
                    safe: d
                        .fix
                        .as_ref()
                        .filter(|f| f.applicability == Applicability::Safe)
                        .map(|_| d.severity),
                });
                let record = accept(d, project, &mut acc, &mut answered);
                answered.push(record);
                checked = None;
            }
        }
    }
    drop(keys);
    finish(&originals, &acc, args)
}

/// Syntax errors per file (a fix must not add one).
fn syntax_errors(diags: &[Diagnostic], project: &Project) -> HashMap<PathBuf, usize> {
    let mut m = HashMap::new();
    for d in diags
        .iter()
        .filter(|d| d.code == "KA001" || d.code == "NX001")
    {
        *m.entry(project.db.get(d.file).path.clone()).or_insert(0) += 1;
    }
    m
}

impl Answered {
    fn declined(d: &Diagnostic, project: &Project) -> Answered {
        let f = d.fix.as_ref().expect("offers have fixes");
        Answered {
            code: d.code.to_string(),
            message: f.message.clone(),
            edits: f
                .edits
                .iter()
                .map(|e| {
                    (
                        project.db.get(e.file).path.clone(),
                        e.span.start,
                        e.span.end,
                        e.replacement.clone(),
                    )
                })
                .collect(),
            modes: f
                .modes
                .iter()
                .map(|&(file, m)| (project.db.get(file).path.clone(), m))
                .collect(),
        }
    }

    fn matches(&self, d: &Diagnostic, project: &Project) -> bool {
        let Some(f) = &d.fix else { return false };
        d.code == self.code
            && f.message == self.message
            && f.edits.len() == self.edits.len()
            && f.modes.len() == self.modes.len()
            && f.edits.iter().all(|e| {
                let p = &project.db.get(e.file).path;
                self.edits.iter().any(|(ap, s, t, r)| {
                    ap == p && *s == e.span.start && *t == e.span.end && *r == e.replacement
                })
            })
            && f.modes.iter().all(|&(file, m)| {
                let p = &project.db.get(file).path;
                self.modes.iter().any(|(ap, am)| ap == p && *am == m)
            })
    }

    /// Moves the recorded edits of `path` past `applied` (sorted, non-overlapping edits on
    /// the old text); `false` when one of them overlaps an applied edit — that fix is then
    /// recomputed on the new text and may be offered again.
    fn shift(&mut self, path: &PathBuf, applied: &[(usize, usize, usize)]) -> bool {
        for (p, s, t, _) in &mut self.edits {
            if p != path {
                continue;
            }
            let mut delta: isize = 0;
            for &(a, b, len) in applied {
                let overlaps = (a < *t && *s < b) || (a == b && a == *s && *s == *t);
                if overlaps {
                    return false;
                }
                if b <= *s {
                    delta += len as isize - (b - a) as isize;
                }
            }
            *s = (*s as isize + delta) as usize;
            *t = (*t as isize + delta) as usize;
        }
        true
    }
}

/// Applies `d`'s fix to the accepted state; moves the earlier answers along; returns the
/// record of this answer (in the new text's coordinates).
fn accept(
    d: &Diagnostic,
    project: &Project,
    acc: &mut Accepted,
    answered: &mut Vec<Answered>,
) -> Answered {
    let f = d.fix.as_ref().expect("offers have fixes");
    let mut record = Answered {
        code: d.code.to_string(),
        message: f.message.clone(),
        edits: Vec::new(),
        modes: Vec::new(),
    };
    let mut files: Vec<usize> = f.edits.iter().map(|e| e.file).collect();
    files.sort();
    files.dedup();
    for file in files {
        let sf = project.db.get(file);
        let mut edits: Vec<_> = f.edits.iter().filter(|e| e.file == file).collect();
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        let mut bytes = Vec::with_capacity(sf.bytes.len());
        let mut at = 0;
        let mut applied = Vec::new();
        for e in &edits {
            bytes.extend_from_slice(&sf.bytes[at..e.span.start]);
            let start = bytes.len();
            bytes.extend_from_slice(e.replacement.as_bytes());
            record
                .edits
                .push((sf.path.clone(), start, bytes.len(), e.replacement.clone()));
            applied.push((e.span.start, e.span.end, e.replacement.len()));
            at = e.span.end;
        }
        bytes.extend_from_slice(&sf.bytes[at..]);
        answered.retain_mut(|a| a.shift(&sf.path, &applied));
        acc.overlay.insert(sf.path.clone(), bytes);
    }
    for &(file, mode) in &f.modes {
        let path = project.db.get(file).path.clone();
        record.modes.push((path.clone(), mode));
        acc.modes.insert(path, mode);
    }
    acc.fixes.push((d.code.to_string(), f.message.clone()));
    record
}

/// The finding, the fix and its diff (each hunk labelled with the rule code).
fn show(d: &Diagnostic, project: &Project, more: usize, show_secrets: bool) {
    let fx = d.fix.as_ref().expect("offers have fixes");
    let db = &project.db;
    let f = db.get(d.file);
    let (l, c) = f.line_col(d.span.start);
    let red = crate::output::Redactor::new(db);
    let esc = |s: &str| {
        if show_secrets {
            crate::output::escape_controls(s).into_owned()
        } else {
            red.text(s, crate::output::Escape::Text).into_owned()
        }
    };
    println!(
        "\n{}:{l}:{c}: {} {}  ({more} more after this one)",
        crate::output::escape_controls(&display_path(&f.path)),
        d.code,
        esc(&d.message)
    );
    println!(
        "fix ({}) [{}]: {}",
        if fx.applicability == Applicability::Safe {
            "safe"
        } else {
            "unsafe"
        },
        d.code,
        esc(&fx.message)
    );
    let mut files: Vec<usize> = fx.edits.iter().map(|e| e.file).collect();
    files.sort();
    files.dedup();
    for file in files {
        let sf = db.get(file);
        let mut bytes = sf.bytes.clone();
        let mut edits: Vec<_> = fx.edits.iter().filter(|e| e.file == file).collect();
        edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
        for e in edits {
            bytes.splice(e.span.start..e.span.end, e.replacement.bytes());
        }
        let diff =
            engine::unified_diff_secrets(&display_path(&sf.path), &sf.bytes, &bytes, show_secrets);
        print!("{}", label_hunks(&diff, d.code));
    }
    for &(file, mode) in &fx.modes {
        let path = &db.get(file).path;
        let old = db.mode(path).unwrap_or(mode);
        println!(
            "{}  [{}]",
            mode_line(&display_path(path), old, mode),
            d.code
        );
    }
}

/// Asks until a valid answer: one key when the terminal allows it, else a line.
fn ask(
    keys: Option<&Keys>,
    lines: &mut std::io::Lines<std::io::StdinLock<'_>>,
    code: &str,
) -> Reply {
    let prompt = || {
        print!("Apply this fix? [y]es / [n]o / [a]ll / [q]uit / [e]xplain {code}: ");
        let _ = std::io::stdout().flush();
    };
    prompt();
    loop {
        let key = match keys {
            Some(k) => match k.next() {
                None => return Reply::Quit,
                // Enter, space and the like: ignored (a habit, not an answer).
                Some(b) if b.is_ascii_whitespace() => continue,
                Some(b) => b,
            },
            None => match lines.next() {
                Some(Ok(l)) => match l.trim().to_ascii_lowercase().as_str() {
                    "" => {
                        prompt();
                        continue;
                    }
                    "yes" => b'y',
                    "no" => b'n',
                    "all" => b'a',
                    "quit" => b'q',
                    "explain" => b'e',
                    w if w.len() == 1 => w.as_bytes()[0],
                    _ => b'!',
                },
                _ => return Reply::Quit,
            },
        };
        if keys.is_some() && key.is_ascii_graphic() {
            println!("{}", key as char);
        }
        match key.to_ascii_lowercase() {
            b'y' => return Reply::Yes,
            b'n' => return Reply::No,
            b'a' => return Reply::All,
            b'q' | 0x04 => {
                if key == 0x04 {
                    println!();
                }
                return Reply::Quit;
            }
            0x03 => return Reply::Abort,
            b'e' | b'?' => {
                println!();
                print!("{}", explanation(code));
                println!();
            }
            _ => println!("Please answer y, n, a, q or e (Ctrl-C stops and writes nothing)."),
        }
        prompt();
    }
}

/// The rule's documentation, as `haconf explain` prints it.
fn explanation(code: &str) -> String {
    match crate::rules::by_code(code) {
        Some(r) => format!(
            "# {} ({})\n\nDefault severity: {}. Fix: {}.\n\n{}",
            r.code,
            r.name,
            r.severity.as_str(),
            r.fix.as_str(),
            r.docs
        ),
        None if crate::rules::script::shellcheck::is_sc(code) => format!(
            "# {code} (shellcheck)\n\nA finding of shellcheck on a health-check script, passed on with its own code.\nIts documentation: {}\n",
            crate::rules::script::shellcheck::wiki(code)
        ),
        None => format!("No documentation for {code}.\n"),
    }
}

/// Writes every accepted fix at once, as `--write` does.
fn finish(originals: &Project, acc: &Accepted, args: &FixArgs) -> i32 {
    let mut rw = crate::write::Rewrite::new(&super::roots(args), !args.no_backup);
    let mut touched: Vec<&PathBuf> = Vec::new();
    for (path, new) in &acc.overlay {
        let Some(id) = originals.db.find(path) else {
            continue;
        };
        let old = &originals.db.get(id).bytes;
        if old != new {
            rw.content(path, old, new);
            touched.push(path);
        }
    }
    for (path, &mode) in &acc.modes {
        let old = originals.db.mode(path).unwrap_or(mode);
        if old != mode {
            rw.mode(path, old, mode);
            touched.push(path);
        }
    }
    touched.sort();
    touched.dedup();
    println!();
    if rw.is_empty() {
        eprintln!("Applied 0 fixes: nothing was written.");
        return 0;
    }
    super::report_write(
        rw.apply(),
        acc.fixes.len(),
        touched.len(),
        !args.no_backup,
        ".",
    )
}
