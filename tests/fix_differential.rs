//! The proof behind "safe": over the shared corpus (nginx files, keepalived files, clusters)
//! and the project's fixtures, every safe fix is applied **alone**, and then all of them
//! **together** as `haconf fix` applies them, and:
//!
//! - a file that `nginx -t` / `keepalived -t` accepted before is still accepted after;
//! - the fixed text has no finding the original did not have (a safe fix applied alone that
//!   adds one must be one the engine's safety net rejects: it then never reaches a file);
//! - a second `haconf fix` on the fixed text changes nothing.
//!
//! The whole corpus takes about 25 s on one core (only inputs with safe fixes reach the real
//! tools), so CI runs all of it. `HACONF_FIX_DIFF=K/N` runs shard K (0-based) of N of the
//! corpus, for a quick look. Without the corpus or the tools the test says so and skips
//! those parts; with `HACONF_REQUIRE_ORACLES=1` that is a failure.

mod common;

use haconf::diagnostic::{Applicability, Diagnostic, Severity};
use haconf::fix::engine;
use haconf::project::Project;
use haconf::rules::Selection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Interface names the corpus configs use (as in tests/oracle_agreement.rs).
const INTERFACES: &[&str] = &[
    "eth0", "eth1", "eth2", "eth0.1", "enp0s3", "enp0s8", "enp0s9", "enp1s0", "enp3s0", "ens32",
    "ens33", "ens160", "ens192", "em1", "em2", "wlan0", "bond0",
];

/// One thing `haconf fix` is pointed at: a file or a cluster directory, in the work copy.
struct Unit {
    path: PathBuf,
    /// How `nginx -t` reads each nginx file of the corpus: main, http, server, location.
    kind: Option<String>,
}

#[derive(Default, Debug)]
struct Counts {
    units: usize,
    units_with_fixes: usize,
    fixes_alone: usize,
    caught_by_net: usize,
    caught: Vec<String>,
    /// Findings of a lower severity than the fixed one that a fix let appear (a fixed
    /// syntax error shows what it hid).
    revealed: usize,
    together_runs: usize,
    files_changed: usize,
    nginx_runs: usize,
    keepalived_runs: usize,
    accepted_before: usize,
}

struct Oracles {
    ns: Option<common::Netns>,
    nginx: bool,
    keepalived: bool,
    /// Verdicts of the unchanged files.
    before: HashMap<PathBuf, Verdict>,
}

/// What a tool said: whether it accepted the file, and (keepalived, which goes on after a
/// complaint) its complaints without places.
#[derive(Clone, Debug, PartialEq)]
struct Verdict {
    ok: bool,
    complaints: Vec<String>,
}

/// keepalived's lines without `(FILE: Line N)` / `(Line N)` and paths.
fn complaints(text: &str, file: &Path) -> Vec<String> {
    let dir = file.parent().unwrap().to_string_lossy().into_owned();
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            let l = l.replace(&dir, "DIR");
            let l = match (l.starts_with('('), l.find(") ")) {
                (true, Some(i)) if l[..i].contains("Line ") => l[i + 2..].to_owned(),
                _ => l,
            };
            l.trim().to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

impl Oracles {
    /// Whether the real tool accepts `file` as it is now on disk (None: no tool for it).
    fn verdict(&self, file: &Path, lang: Lang, kind: &str, counts: &mut Counts) -> Option<Verdict> {
        let ns = self.ns.as_ref()?;
        match lang {
            Lang::Nginx if self.nginx => {
                counts.nginx_runs += 1;
                let dir = file.parent().unwrap();
                let conf = if kind == "main" {
                    file.to_path_buf()
                } else {
                    let inc = format!("include {};", file.display());
                    let body = match kind {
                        "server" => format!(
                            "events {{}}\nhttp {{\nserver {{\nlisten 127.0.0.1:8080;\n{inc}\n}}\n}}\n"
                        ),
                        "location" => format!(
                            "events {{}}\nhttp {{\nserver {{\nlisten 127.0.0.1:8080;\nlocation / {{\n{inc}\n}}\n}}\n}}\n"
                        ),
                        _ => format!("events {{}}\nhttp {{\n{inc}\n}}\n"),
                    };
                    // Beside the file, so relative includes resolve as they would for it.
                    let w = dir.join(".haconf-diff-wrap");
                    std::fs::write(&w, body).unwrap();
                    w
                };
                let script = format!(
                    "for d in /var/log/nginx /var/lib/nginx /var/cache/nginx; do [ -d $d ] && mount -t tmpfs none $d; done; exec timeout 20 nginx -t -q -e stderr -p '{}/' -c '{}'",
                    dir.display(),
                    conf.display()
                );
                let o = Command::new("ip")
                    .args(["netns", "exec", &ns.name, "sh", "-c", &script])
                    .output()
                    .unwrap();
                if kind != "main" {
                    let _ = std::fs::remove_file(&conf);
                }
                Some(Verdict {
                    ok: o.status.success(),
                    complaints: Vec::new(),
                })
            }
            Lang::Keepalived if self.keepalived => {
                counts.keepalived_runs += 1;
                let o = Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        &ns.name,
                        "timeout",
                        "20",
                        "keepalived",
                        "-t",
                        "-i",
                        "ha1",
                        "-f",
                    ])
                    .arg(file)
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&o.stderr).into_owned()
                    + &String::from_utf8_lossy(&o.stdout);
                Some(Verdict {
                    ok: o.status.success(),
                    complaints: complaints(&text, file),
                })
            }
            _ => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Nginx,
    Keepalived,
    Other,
}

/// The language of each file of a project.
fn langs(p: &Project) -> HashMap<PathBuf, Lang> {
    let mut m = HashMap::new();
    for n in p.clusters.iter().flat_map(|c| &c.nodes) {
        if let Some(k) = &n.keepalived {
            for id in k.trees.keys() {
                m.insert(p.db.get(*id).path.clone(), Lang::Keepalived);
            }
        }
        for u in &n.nginx {
            for id in u.trees.keys() {
                m.insert(p.db.get(*id).path.clone(), Lang::Nginx);
            }
        }
    }
    m
}

/// A finding as compared across edits: rule, file, message without numbers.
fn key(d: &Diagnostic, p: &Project) -> String {
    let msg: String = d
        .message
        .split(|c: char| c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("#");
    format!("{} {} {msg}", d.code, p.db.get(d.file).path.display())
}

/// Each finding's count and severity.
fn counts_of(diags: &[Diagnostic], p: &Project) -> BTreeMap<String, (usize, Severity)> {
    let mut m = BTreeMap::new();
    for d in diags {
        m.entry(key(d, p)).or_insert((0, d.severity)).0 += 1;
    }
    m
}

/// The findings of `after` that `before` did not have, with their severity.
fn added(
    before: &BTreeMap<String, (usize, Severity)>,
    after: &BTreeMap<String, (usize, Severity)>,
) -> Vec<(String, Severity)> {
    after
        .iter()
        .filter(|(k, (n, _))| *n > before.get(*k).map_or(0, |b| b.0))
        .map(|(k, (_, s))| (k.clone(), *s))
        .collect()
}

/// The nginx kind of a file that is not in the oracle table: a main config when it has
/// `events` or `http` at the top, else a fragment of `http`.
fn guess_kind(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let main = text
        .lines()
        .any(|l| l.starts_with("events") || l.starts_with("http"));
    if main { "main" } else { "http" }.into()
}

/// Saves files, to put them back after a trial.
struct Saved(Vec<(PathBuf, Vec<u8>, u32)>);

impl Saved {
    fn of(paths: &[PathBuf]) -> Saved {
        use std::os::unix::fs::PermissionsExt;
        Saved(
            paths
                .iter()
                .filter_map(|p| {
                    let b = std::fs::read(p).ok()?;
                    let m = std::fs::metadata(p).ok()?.permissions().mode();
                    Some((p.clone(), b, m))
                })
                .collect(),
        )
    }
    fn restore(&self) {
        use std::os::unix::fs::PermissionsExt;
        for (p, b, m) in &self.0 {
            std::fs::write(p, b).unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(*m)).unwrap();
        }
    }
}

/// Checks that the files in `touched` are accepted by the tools if they were before.
fn tools_still_accept(
    touched: &[PathBuf],
    lang_of: &HashMap<PathBuf, Lang>,
    unit: &Unit,
    or: &mut Oracles,
    counts: &mut Counts,
    what: &str,
    problems: &mut Vec<String>,
) {
    for f in touched {
        let lang = lang_of.get(f).copied().unwrap_or(Lang::Other);
        let kind = match (&unit.kind, f == &unit.path) {
            (Some(k), true) => k.clone(),
            _ => guess_kind(f),
        };
        let Some(before) = or.before.get(f).cloned() else {
            continue;
        };
        let Some(after) = or.verdict(f, lang, &kind, counts) else {
            continue;
        };
        if before.ok && !after.ok {
            problems.push(format!(
                "{}: {what}: the tool accepted the file before and rejects it after: {:?}",
                f.display(),
                after.complaints
            ));
        }
        let new: Vec<&String> = after
            .complaints
            .iter()
            .filter(|c| !before.complaints.contains(c))
            .collect();
        if !new.is_empty() {
            problems.push(format!(
                "{}: {what}: keepalived -t has new complaints: {new:?}",
                f.display()
            ));
        }
    }
}

/// The verdicts of the unchanged files of a unit, cached.
fn verdicts_before(
    files: &[PathBuf],
    lang_of: &HashMap<PathBuf, Lang>,
    unit: &Unit,
    or: &mut Oracles,
    counts: &mut Counts,
) {
    for f in files {
        if or.before.contains_key(f) {
            continue;
        }
        let lang = lang_of.get(f).copied().unwrap_or(Lang::Other);
        let kind = match (&unit.kind, f == &unit.path) {
            (Some(k), true) => k.clone(),
            _ => guess_kind(f),
        };
        if let Some(v) = or.verdict(f, lang, &kind, counts) {
            counts.accepted_before += usize::from(v.ok);
            or.before.insert(f.clone(), v);
        }
    }
}

fn check_unit(unit: &Unit, or: &mut Oracles, counts: &mut Counts, problems: &mut Vec<String>) {
    counts.units += 1;
    let sel = Selection::default();
    let paths = [unit.path.clone()];
    let p0 = Project::load_with(&paths, true);
    let d0 = haconf::rules::run(&p0, &sel);
    let c0 = counts_of(&d0, &p0);
    let lang_of = langs(&p0);
    let safe: Vec<&Diagnostic> = d0
        .iter()
        .filter(|d| {
            d.fix.as_ref().is_some_and(|f| {
                f.applicability == Applicability::Safe
                    && (!f.edits.is_empty() || !f.modes.is_empty())
            })
        })
        .collect();
    if safe.is_empty() {
        return;
    }
    counts.units_with_fixes += 1;
    // All together, as `haconf fix` does: what its safety net rejects.
    let together = engine::fix(&paths, true, &sel, false);
    let rejected: HashSet<(String, String)> = together
        .rejected
        .iter()
        .map(|(c, m, _)| (c.clone(), m.clone()))
        .chain(together.dropped.iter().cloned())
        .collect();
    let mut all_files: Vec<PathBuf> = safe
        .iter()
        .flat_map(|d| {
            let f = d.fix.as_ref().unwrap();
            f.edits
                .iter()
                .map(|e| p0.db.get(e.file).path.clone())
                .chain(f.modes.iter().map(|m| p0.db.get(m.0).path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    all_files.extend(together.changed.iter().map(|c| c.0.clone()));
    all_files.extend(together.modes.iter().map(|c| c.0.clone()));
    all_files.sort();
    all_files.dedup();
    verdicts_before(&all_files, &lang_of, unit, or, counts);
    let saved = Saved::of(&all_files);
    // Each safe fix alone. The same fix on several nodes (same rule, same words) goes in
    // at once: a rule that compares the nodes would otherwise see them differ half-way.
    let mut groups: Vec<((String, String), Vec<&Diagnostic>)> = Vec::new();
    for d in &safe {
        let id = (d.code.to_owned(), d.fix.as_ref().unwrap().message.clone());
        match groups.iter_mut().find(|g| g.0 == id) {
            Some(g) => g.1.push(d),
            None => groups.push((id, vec![d])),
        }
    }
    for (id, group) in &groups {
        counts.fixes_alone += 1;
        let mut per: BTreeMap<haconf::source::FileId, Vec<&haconf::diagnostic::Edit>> =
            BTreeMap::new();
        let mut touched: Vec<PathBuf> = Vec::new();
        for d in group {
            let f = d.fix.as_ref().unwrap();
            for e in &f.edits {
                let v = per.entry(e.file).or_default();
                // Two findings may share one fix: its edits go in once.
                if !v.iter().any(|x| {
                    x.span.start < e.span.end.max(e.span.start + 1)
                        && e.span.start < x.span.end.max(x.span.start + 1)
                }) {
                    v.push(e);
                }
            }
            for &(file, mode) in &f.modes {
                use std::os::unix::fs::PermissionsExt;
                let path = p0.db.get(file).path.clone();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
                touched.push(path);
            }
        }
        for (file, mut edits) in per {
            if edits.is_empty() {
                continue;
            }
            let path = p0.db.get(file).path.clone();
            let mut bytes = p0.db.get(file).bytes.clone();
            edits.sort_by_key(|e| std::cmp::Reverse((e.span.start, e.span.end)));
            for e in edits {
                bytes.splice(e.span.start..e.span.end, e.replacement.bytes());
            }
            std::fs::write(&path, bytes).unwrap();
            touched.push(path);
        }
        let p1 = Project::load_with(&paths, true);
        let d1 = haconf::rules::run(&p1, &sel);
        let new = added(&c0, &counts_of(&d1, &p1));
        let weakest = group.iter().map(|d| d.severity).min().unwrap();
        let what = format!("{} fix \"{}\" alone", id.0, id.1);
        let (bad, revealed): (Vec<_>, Vec<_>) = new.into_iter().partition(|n| n.1 >= weakest);
        counts.revealed += revealed.len();
        if rejected.contains(id) {
            counts.caught_by_net += 1;
            counts.caught.push(format!(
                "{}: {what}",
                unit.path.file_name().unwrap().to_string_lossy()
            ));
        } else {
            if !bad.is_empty() {
                problems.push(format!("{}: {what} adds {bad:?}", unit.path.display()));
            }
            tools_still_accept(&touched, &lang_of, unit, or, counts, &what, problems);
        }
        saved.restore();
    }
    // All together.
    counts.together_runs += 1;
    counts.files_changed += together.changed.len();
    for (path, _, new) in &together.changed {
        std::fs::write(path, new).unwrap();
    }
    for (path, _, mode) in &together.modes {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    let touched: Vec<PathBuf> = together
        .changed
        .iter()
        .map(|c| c.0.clone())
        .chain(together.modes.iter().map(|m| m.0.clone()))
        .collect();
    tools_still_accept(
        &touched,
        &lang_of,
        unit,
        or,
        counts,
        "all safe fixes together",
        problems,
    );
    let p1 = Project::load_with(&paths, true);
    let d1 = haconf::rules::run(&p1, &sel);
    let weakest = safe.iter().map(|d| d.severity).min().unwrap();
    let new: Vec<_> = added(&c0, &counts_of(&d1, &p1))
        .into_iter()
        .filter(|n| n.1 >= weakest)
        .collect();
    if !new.is_empty() {
        problems.push(format!(
            "{}: all safe fixes together add {new:?}",
            unit.path.display()
        ));
    }
    let again = engine::fix(&paths, true, &sel, false);
    if !again.changed.is_empty() || !again.modes.is_empty() {
        problems.push(format!(
            "{}: a second run changes {:?}",
            unit.path.display(),
            again
                .changed
                .iter()
                .map(|c| c.0.display().to_string())
                .collect::<Vec<_>>()
        ));
    }
    saved.restore();
}

/// Copies `from` into `to` (files and modes).
fn copy_tree(from: &Path, to: &Path) {
    for f in common::files_below(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Which inputs of the corpus this run takes: (shard, of).
fn sample() -> (usize, usize, bool) {
    match std::env::var("HACONF_FIX_DIFF").as_deref() {
        Ok("all") | Ok("") => (0, 1, true),
        Ok(s) => {
            let (k, n) = s.split_once('/').expect("HACONF_FIX_DIFF=all or K/N");
            (k.parse().unwrap(), n.parse().unwrap(), true)
        }
        Err(_) => (0, 1, false),
    }
}

#[test]
fn safe_fixes_keep_valid_files_valid_add_no_finding_and_are_idempotent() {
    let test = "safe_fixes_keep_valid_files_valid_add_no_finding_and_are_idempotent";
    let nginx = common::require_tool(test, "nginx", &["-v"]);
    let keepalived = common::require_tool(test, "keepalived", &["--version"]);
    let ns = if nginx || keepalived {
        common::Netns::new(test, INTERFACES)
    } else {
        None
    };
    let mut or = Oracles {
        ns,
        nginx,
        keepalived,
        before: HashMap::new(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let mut units: Vec<(String, Unit)> = Vec::new();
    // The project's own fixtures and examples: always, whole.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_tree(&root.join("tests/fixtures"), &work.join("fixtures"));
    copy_tree(&root.join("examples"), &work.join("examples"));
    for fam in ["cluster", "keepalived", "nginx", "layout", "scripts"] {
        for d in subdirs(&work.join("fixtures").join(fam)) {
            units.push((
                "fixtures".into(),
                Unit {
                    path: d,
                    kind: None,
                },
            ));
        }
    }
    for d in subdirs(&work.join("examples")) {
        units.push((
            "fixtures".into(),
            Unit {
                path: d,
                kind: None,
            },
        ));
    }
    let (shard, of, explicit) = sample();
    let mut corpus_units = Vec::new();
    if let Some(shared) = common::shared_or_skip(test) {
        let corpus = shared.join("corpus");
        copy_tree(&corpus, &work.join("corpus"));
        let tsv =
            std::fs::read_to_string(shared.join("reference/oracle/nginx-t-results.tsv")).unwrap();
        let mut kinds: BTreeMap<String, String> = BTreeMap::new();
        for line in tsv.lines().skip(1) {
            let row: Vec<&str> = line.split('\t').collect();
            kinds
                .entry(row[0].to_owned())
                .or_insert_with(|| row[2].to_owned());
        }
        for (f, k) in kinds {
            corpus_units.push((
                "nginx".to_owned(),
                Unit {
                    path: work.join("corpus/nginx").join(f),
                    kind: Some(k),
                },
            ));
        }
        for sub in ["keepalived", "keepalived-wild"] {
            for f in common::files_below(&work.join("corpus").join(sub)) {
                if !f.ends_with("SOURCES.md") {
                    corpus_units.push((
                        "keepalived".into(),
                        Unit {
                            path: f,
                            kind: None,
                        },
                    ));
                }
            }
        }
        for d in subdirs(&work.join("corpus/clusters")) {
            corpus_units.push((
                "clusters".into(),
                Unit {
                    path: d,
                    kind: None,
                },
            ));
        }
    }
    let total_corpus = corpus_units.len();
    units.extend(
        corpus_units
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % of == shard)
            .map(|(_, u)| u),
    );
    let started = std::time::Instant::now();
    let mut per: BTreeMap<String, Counts> = BTreeMap::new();
    let mut problems = Vec::new();
    for (family, unit) in &units {
        let c = per.entry(family.clone()).or_default();
        check_unit(unit, &mut or, c, &mut problems);
    }
    println!(
        "fix differential: corpus shard {shard} of {of}{} ({} of {total_corpus} corpus inputs), {:.1}s",
        if explicit { " (HACONF_FIX_DIFF)" } else { "" },
        units.iter().filter(|u| u.0 != "fixtures").count(),
        started.elapsed().as_secs_f64()
    );
    for (family, c) in &per {
        println!(
            "  {family}: {} inputs, {} with safe fixes, {} fixes tried alone ({} caught by the safety net, {} lower-severity findings revealed), {} all-together runs changing {} files, {} nginx -t and {} keepalived -t runs, {} files accepted before",
            c.units,
            c.units_with_fixes,
            c.fixes_alone,
            c.caught_by_net,
            c.revealed,
            c.together_runs,
            c.files_changed,
            c.nginx_runs,
            c.keepalived_runs,
            c.accepted_before
        );
        for x in &c.caught {
            println!("    caught by the net: {x}");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The two slips the nginx fixes exist for, made on a valid file: the first `;` at the end of
/// a simple directive followed by another directive taken out, and the first keyword whose
/// argument starts with a digit or `/` glued to it (`listen 80;` → `listen80;`).
fn mutants(text: &str) -> Vec<(&'static str, String)> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let word = |l: &str| -> Option<String> {
        let t = l.trim_start();
        let w: String = t
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
            .collect();
        (!w.is_empty() && t[w.len()..].starts_with([' ', '\t'])).then_some(w)
    };
    let simple = |l: &str| {
        let t = l.trim();
        word(l).is_some()
            && t.ends_with(';')
            && !t.contains(['{', '}', '#', '\'', '"'])
            && t.matches(';').count() == 1
    };
    let mut out = Vec::new();
    for i in 0..lines.len() {
        if !simple(lines[i]) {
            continue;
        }
        let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
        if next.is_some_and(|n| word(n).is_some()) {
            let mut m: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let l = &m[i];
            let at = l.rfind(';').unwrap();
            m[i] = format!("{}{}", &l[..at], &l[at + 1..]);
            out.push(("missing `;`", m.concat()));
            break;
        }
    }
    for i in 0..lines.len() {
        if !simple(lines[i]) {
            continue;
        }
        let t = lines[i].trim_start();
        let w = word(lines[i]).unwrap();
        let rest = &t[w.len()..];
        if rest.starts_with(' ') && rest[1..].starts_with(|c: char| c.is_ascii_digit() || c == '/')
        {
            let mut m: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            let indent = &lines[i][..lines[i].len() - t.len()];
            m[i] = format!("{indent}{w}{}", &rest[1..]);
            out.push(("glued keyword", m.concat()));
            break;
        }
    }
    out
}

#[test]
#[cfg_attr(
    not(all(haconf_has_corpus, haconf_has_nginx, haconf_has_netns)),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED), nginx, root with ip and unshare (network namespaces)"
)]
fn safe_fixes_of_slips_in_valid_nginx_files_pass_nginx_t() {
    let test = "safe_fixes_of_slips_in_valid_nginx_files_pass_nginx_t";
    let Some(shared) = common::shared_or_skip(test) else {
        return;
    };
    if !common::require_tool(test, "nginx", &["-v"]) {
        return;
    }
    let Some(ns) = common::Netns::new(test, &[]) else {
        return;
    };
    let or = Oracles {
        ns: Some(ns),
        nginx: true,
        keepalived: false,
        before: HashMap::new(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("nginx");
    copy_tree(&shared.join("corpus/nginx"), &work);
    let tsv = std::fs::read_to_string(shared.join("reference/oracle/nginx-t-results.tsv")).unwrap();
    let (shard, of, _) = sample();
    let mut counts = Counts::default();
    let (mut valid, mut made, mut rejected_by_nginx, mut restored, mut left) = (0, 0, 0, 0, 0);
    let mut problems = Vec::new();
    let sel = Selection::default();
    let mut seen = HashSet::new();
    for (i, line) in tsv.lines().skip(1).enumerate() {
        let row: Vec<&str> = line.split('\t').collect();
        if i % of != shard || row[4] != "0" || !seen.insert(row[0].to_owned()) {
            continue;
        }
        let (file, kind) = (work.join(row[0]), row[2]);
        if or
            .verdict(&file, Lang::Nginx, kind, &mut counts)
            .is_none_or(|v| !v.ok)
        {
            continue;
        }
        valid += 1;
        let original = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&original).into_owned();
        for (slip, mutant) in mutants(&text) {
            made += 1;
            std::fs::write(&file, &mutant).unwrap();
            let broken = !or
                .verdict(&file, Lang::Nginx, kind, &mut counts)
                .unwrap()
                .ok;
            rejected_by_nginx += usize::from(broken);
            let outcome = engine::fix(std::slice::from_ref(&file), true, &sel, false);
            if outcome.changed.is_empty() {
                left += 1;
            } else {
                for (p, _, new) in &outcome.changed {
                    std::fs::write(p, new).unwrap();
                }
                let after = or.verdict(&file, Lang::Nginx, kind, &mut counts).unwrap();
                if after.ok {
                    restored += 1;
                } else {
                    problems.push(format!(
                        "{}: {slip}: the safe fixes ({:?}) leave a file nginx -t rejects",
                        row[0], outcome.applied
                    ));
                }
            }
            std::fs::write(&file, &original).unwrap();
        }
    }
    println!(
        "slips in valid nginx files: {valid} files that nginx -t accepts, {made} slips made ({rejected_by_nginx} rejected by nginx -t), {restored} repaired by safe fixes to a file nginx -t accepts, {left} left for a person, {} nginx -t runs",
        counts.nginx_runs
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
