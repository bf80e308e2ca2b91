//! `haconf fmt` on every config of the shared corpus and of tests/fixtures: the meaning is
//! unchanged (the parse trees, independently of the tool's own token check), formatting is
//! idempotent, and the real tools' verdicts are the same before and after — `nginx -t` on
//! every corpus nginx file (wrapped as the recorded oracle run wrapped it), `keepalived -t` on
//! every corpus keepalived file in a network namespace that has the interfaces they name.

mod common;

use haconf::fmt::{Error, Lang, Options, format};
use haconf::syntax::{keepalived as ka, nginx as ng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The meaning of an nginx file as the parser sees it: every directive with its arguments'
/// values, its nesting, and raw Lua bodies; plus the comments.
fn nginx_meaning(bytes: &[u8]) -> Vec<String> {
    let src = haconf::source::SourceFile::new("x", bytes.to_vec());
    let f = ng::parse(&src.text);
    let mut out = Vec::new();
    ng::walk(&f.items, &mut Vec::new(), &mut |d, path| {
        let mut s = format!("{}|{}", path.len(), d.name.value);
        for a in &d.args {
            s.push('|');
            s.push_str(&a.value);
        }
        if let Some(b) = d.block() {
            s.push_str(" {");
            if let Some(r) = b.raw {
                s.push_str(src.slice(r));
            }
        }
        out.push(s);
    });
    out.extend(
        f.tokens
            .iter()
            .filter(|t| t.kind == ng::TokenKind::Comment)
            .map(|t| src.slice(t.span()).trim_end().to_owned()),
    );
    out
}

/// The meaning of a keepalived file: each statement's words with its condition, generator
/// and nesting; definitions; comments.
fn keepalived_meaning(bytes: &[u8]) -> Vec<String> {
    let src = haconf::source::SourceFile::new("x", bytes.to_vec());
    let f = ka::parse(&src.text);
    let mut out = Vec::new();
    fn items(
        list: &[ka::Item],
        depth: usize,
        src: &haconf::source::SourceFile,
        out: &mut Vec<String>,
    ) {
        for i in list {
            match i {
                ka::Item::Definition(d) => {
                    out.push(format!("{depth}|${}={}", d.name, src.slice(d.span)))
                }
                ka::Item::Stmt(s) => {
                    let mut line = format!("{depth}|");
                    if let Some(c) = &s.condition {
                        line.push_str(&format!("@{}{} ", if c.negated { "^" } else { "" }, c.id));
                    }
                    if let Some(g) = s.generator {
                        line.push_str(src.slice(g));
                    }
                    for w in &s.words {
                        line.push('|');
                        line.push_str(&w.value);
                    }
                    out.push(line);
                    if let Some(b) = &s.block {
                        items(&b.items, depth + 1, src, out);
                    }
                }
            }
        }
    }
    items(&f.items, 0, &src, &mut out);
    out.extend(
        f.tokens
            .iter()
            .filter(|t| t.kind == ka::TokenKind::Comment)
            .map(|t| src.slice(t.span()).trim_end().to_owned()),
    );
    out
}

/// The configs to format: (path, dialect), as haconf reads them.
fn corpus_files(shared: &Path) -> Vec<(PathBuf, Lang)> {
    let corpus = shared.join("corpus");
    let mut v: Vec<(PathBuf, Lang)> = Vec::new();
    for f in common::files_below(&corpus.join("nginx")) {
        if !f.ends_with("SOURCES.md") {
            v.push((f, Lang::Nginx));
        }
    }
    for sub in ["keepalived", "keepalived-wild"] {
        for f in common::files_below(&corpus.join(sub)) {
            if !f.ends_with("SOURCES.md") {
                v.push((f, Lang::Keepalived));
            }
        }
    }
    v.extend(project_files(&corpus.join("clusters")));
    v
}

/// The keepalived and nginx files of the clusters below `dir`, as `haconf fmt` finds them.
fn project_files(dir: &Path) -> Vec<(PathBuf, Lang)> {
    let mut v = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let p = haconf::project::Project::load_with(&[d], false);
        for n in p.clusters.iter().flat_map(|c| &c.nodes) {
            if let Some(k) = &n.keepalived {
                for id in k.trees.keys() {
                    v.push((p.db.get(*id).path.clone(), Lang::Keepalived));
                }
            }
            for u in &n.nginx {
                for id in u.trees.keys() {
                    v.push((p.db.get(*id).path.clone(), Lang::Nginx));
                }
            }
        }
    }
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

#[derive(Default, Debug)]
struct Counts {
    files: usize,
    changed: usize,
    refused: Vec<String>,
}

fn check_all(
    files: &[(PathBuf, Lang)],
    counts: &mut BTreeMap<&'static str, Counts>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (f, lang) in files {
        let bytes = std::fs::read(f).unwrap();
        let c = counts
            .entry(match lang {
                Lang::Keepalived => "keepalived",
                Lang::Nginx => "nginx",
            })
            .or_default();
        c.files += 1;
        let once = match format(&bytes, *lang, &Options::default()) {
            Ok(o) => o,
            Err(Error::Syntax { line, col, message }) => {
                // Refused files must be broken for haconf's parser too.
                let src = haconf::source::SourceFile::new("x", bytes.clone());
                let broken = match lang {
                    Lang::Keepalived => !ka::parse(&src.text).errors.is_empty(),
                    Lang::Nginx => !ng::parse(&src.text).errors.is_empty(),
                };
                if !broken {
                    problems.push(format!("{}: refused but parses: {message}", f.display()));
                }
                c.refused
                    .push(format!("{}:{line}:{col}: {message}", f.display()));
                continue;
            }
            Err(e) => {
                problems.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        if once != bytes {
            c.changed += 1;
        }
        let meaning = |b: &[u8]| match lang {
            Lang::Keepalived => keepalived_meaning(b),
            Lang::Nginx => nginx_meaning(b),
        };
        if meaning(&bytes) != meaning(&once) {
            problems.push(format!("{}: the parse tree changed", f.display()));
        }
        match format(&once, *lang, &Options::default()) {
            Ok(twice) if twice == once => {}
            Ok(_) => problems.push(format!("{}: fmt twice differs from fmt once", f.display())),
            Err(e) => problems.push(format!(
                "{}: the formatted file is refused: {e}",
                f.display()
            )),
        }
        // Tabs and other widths keep the meaning and are idempotent too.
        let tabs = Options {
            indent: haconf::fmt::Indent::Tabs,
        };
        let t1 = format(&bytes, *lang, &tabs).unwrap();
        if format(&t1, *lang, &tabs).unwrap() != t1 {
            problems.push(format!("{}: with tabs, fmt twice differs", f.display()));
        }
    }
    problems
}

#[test]
#[cfg_attr(
    not(haconf_has_corpus),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED)"
)]
fn corpus_and_fixtures_keep_their_meaning_and_are_idempotent() {
    let mut counts = BTreeMap::new();
    let mut problems = Vec::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut fixture_files = Vec::new();
    for fam in ["cluster", "keepalived", "nginx", "layout"] {
        fixture_files.extend(project_files(&fixtures.join(fam)));
    }
    fixture_files.extend(project_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
    ));
    problems.extend(check_all(&fixture_files, &mut counts));
    println!("fixtures and examples: {} files", fixture_files.len());
    if let Some(shared) =
        common::shared_or_skip("corpus_and_fixtures_keep_their_meaning_and_are_idempotent")
    {
        let files = corpus_files(&shared);
        problems.extend(check_all(&files, &mut counts));
    }
    for (lang, c) in &counts {
        println!(
            "{lang}: {} files, {} changed by fmt, {} refused (broken structure), meaning and idempotence checked on the rest",
            c.files,
            c.changed,
            c.refused.len()
        );
        for r in &c.refused {
            println!("  refused: {r}");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The lines of a tool's output with the places in them (paths, line numbers) taken out,
/// sorted: formatting moves lines, and the copies live in different directories.
fn normalized(text: &str, dir: &Path) -> Vec<String> {
    let d = dir.to_string_lossy();
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            let l = l.replace(d.as_ref(), "DIR");
            // nginx's error log prefix: `2026/01/01 10:00:00 [emerg] 123#123: `.
            let l = match l.find("] ") {
                Some(i) if l.starts_with(|c: char| c.is_ascii_digit()) => {
                    let rest = &l[i + 2..];
                    let pid = rest.find(": ").filter(|&j| rest[..j].contains('#'));
                    format!(
                        "{}{}",
                        &l[l.find('[').unwrap_or(0)..i + 2],
                        pid.map_or(rest, |j| &rest[j + 2..])
                    )
                }
                _ => l,
            };
            // nginx: `in FILE:LINE`; keepalived: `(FILE: Line N)` / `(Line N)`.
            let mut out = String::new();
            let mut rest = l.as_str();
            while let Some(i) = rest.find(":") {
                let (a, b) = rest.split_at(i);
                out.push_str(a);
                let digits = b[1..].chars().take_while(|c| c.is_ascii_digit()).count();
                if digits > 0 {
                    rest = &b[1 + digits..];
                } else {
                    out.push(':');
                    rest = &b[1..];
                }
            }
            out.push_str(rest);
            let out = match out.find("Line ") {
                Some(i) => {
                    let tail = &out[i + 5..];
                    let n = tail.chars().take_while(|c| c.is_ascii_digit()).count();
                    format!("{}Line N{}", &out[..i], &tail[n..])
                }
                None => out,
            };
            out.trim().to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Copies `from` into `to`, formatting the files listed (relative paths) on the way.
fn copy_formatted(from: &Path, to: &Path, format_these: &[(PathBuf, Lang)]) {
    for f in common::files_below(from) {
        let rel = f.strip_prefix(from).unwrap();
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let bytes = std::fs::read(&f).unwrap();
        let out = match format_these.iter().find(|(p, _)| p == &f) {
            Some((_, lang)) => format(&bytes, *lang, &Options::default()).unwrap_or(bytes),
            None => bytes,
        };
        std::fs::write(&dest, out).unwrap();
        let mode = std::fs::metadata(&f).unwrap().permissions();
        std::fs::set_permissions(&dest, mode).unwrap();
    }
}

#[test]
#[cfg_attr(
    not(all(haconf_has_corpus, haconf_has_nginx, haconf_has_netns)),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED), nginx, root with ip and unshare (network namespaces)"
)]
fn nginx_t_verdicts_are_unchanged() {
    let Some(shared) = common::shared_or_skip("nginx_t_verdicts_are_unchanged") else {
        return;
    };
    if !common::require_tool("nginx_t_verdicts_are_unchanged", "nginx", &["-v"]) {
        return;
    }
    // No network: hostnames fail at once instead of waiting for a resolver.
    let Some(ns) = common::Netns::new("nginx_t_verdicts_are_unchanged", &[]) else {
        return;
    };
    let corpus = shared.join("corpus/nginx");
    let tsv = std::fs::read_to_string(shared.join("reference/oracle/nginx-t-results.tsv")).unwrap();
    let mut kinds: BTreeMap<String, String> = BTreeMap::new();
    for line in tsv.lines().skip(1) {
        let row: Vec<&str> = line.split('\t').collect();
        kinds
            .entry(row[0].to_owned())
            .or_insert_with(|| row[2].to_owned());
    }
    let files: Vec<(PathBuf, Lang)> = kinds
        .keys()
        .map(|f| (corpus.join(f), Lang::Nginx))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    copy_formatted(&corpus, &a, &[]);
    copy_formatted(&corpus, &b, &files);
    // The clusters' nginx files too: a file with `events` or `http` at the top is a main
    // config, anything else a fragment of `http`.
    let clusters = shared.join("corpus/clusters");
    let cluster_files: Vec<(PathBuf, Lang)> = project_files(&clusters)
        .into_iter()
        .filter(|f| f.1 == Lang::Nginx)
        .collect();
    copy_formatted(&clusters, &a.join("_clusters"), &[]);
    copy_formatted(&clusters, &b.join("_clusters"), &cluster_files);
    for (f, _) in &cluster_files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let main = text
            .lines()
            .any(|l| l.starts_with("events") || l.starts_with("http"));
        let rel = format!("_clusters/{}", f.strip_prefix(&clusters).unwrap().display());
        kinds.insert(rel, if main { "main" } else { "http" }.to_owned());
    }
    // One script runs every `nginx -t`, in a mount namespace of its own where nginx's log,
    // cache and state directories are empty tmpfs (nginx -t creates files there).
    let mut script = String::from(
        "set +e\nfor d in /var/log/nginx /var/lib/nginx /var/cache/nginx; do [ -d $d ] && mount -t tmpfs none $d; done\n",
    );
    let mut cases = Vec::new();
    for (i, (rel, kind)) in kinds.iter().enumerate() {
        for (side, root) in [("a", &a), ("b", &b)] {
            let _ = side;
            let file = root.join(rel);
            let dir = file.parent().unwrap();
            let conf = match kind.as_str() {
                "http" | "server" | "location" => {
                    let inc = format!("include {};", file.display());
                    let body = match kind.as_str() {
                        "http" => format!("events {{}}\nhttp {{\n{inc}\n}}\n"),
                        "server" => format!(
                            "events {{}}\nhttp {{\nserver {{\nlisten 127.0.0.1:8080;\n{inc}\n}}\n}}\n"
                        ),
                        _ => format!(
                            "events {{}}\nhttp {{\nserver {{\nlisten 127.0.0.1:8080;\nlocation / {{\n{inc}\n}}\n}}\n}}\n"
                        ),
                    };
                    // Beside the file, so relative includes resolve as they would for it.
                    let w = dir.join(format!(".haconf-wrap-{i}"));
                    std::fs::write(&w, body).unwrap();
                    w
                }
                _ => file.clone(),
            };
            let out = tmp.path().join(format!("out-{side}-{i}"));
            script.push_str(&format!(
                "nginx -t -e stderr -p '{}/' -c '{}' >'{}' 2>&1; echo $? >>'{}'\n",
                dir.display(),
                conf.display(),
                out.display(),
                out.display()
            ));
        }
        cases.push((i, rel.clone()));
    }
    let script_path = tmp.path().join("run.sh");
    std::fs::write(&script_path, script).unwrap();
    let st = Command::new("ip")
        .args(["netns", "exec", &ns.name, "sh"])
        .arg(&script_path)
        .status()
        .unwrap();
    assert!(st.success());
    let mut differ = Vec::new();
    let mut passing = 0;
    for (i, rel) in &cases {
        let read = |side: &str| {
            std::fs::read_to_string(tmp.path().join(format!("out-{side}-{i}"))).unwrap_or_default()
        };
        let (oa, ob) = (read("a"), read("b"));
        let (na, nb) = (normalized(&oa, &a), normalized(&ob, &b));
        if oa.trim_end().ends_with("\n0") {
            passing += 1;
        }
        if na != nb {
            differ.push(format!("{rel}:\n  before: {na:?}\n  after:  {nb:?}"));
        }
    }
    println!(
        "nginx -t: {} files (the 826 of corpus/nginx, the rest from corpus/clusters) run before and after fmt, {passing} pass, {} verdicts differ",
        cases.len(),
        differ.len()
    );
    assert!(cases.len() >= 826 + 20, "{} files", cases.len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Interface names the corpus configs use (as in tests/oracle_agreement.rs).
const INTERFACES: &[&str] = &[
    "eth0", "eth1", "eth2", "eth0.1", "enp0s3", "enp0s8", "enp0s9", "enp1s0", "enp3s0", "ens32",
    "ens33", "ens160", "ens192", "em1", "em2", "wlan0", "bond0",
];

#[test]
#[cfg_attr(
    not(all(haconf_has_corpus, haconf_has_keepalived, haconf_has_netns)),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED), keepalived, root with ip and unshare (network namespaces)"
)]
fn keepalived_t_verdicts_are_unchanged() {
    let Some(shared) = common::shared_or_skip("keepalived_t_verdicts_are_unchanged") else {
        return;
    };
    if !common::require_tool(
        "keepalived_t_verdicts_are_unchanged",
        "keepalived",
        &["--version"],
    ) {
        return;
    }
    let Some(ns) = common::Netns::new("keepalived_t_verdicts_are_unchanged", INTERFACES) else {
        return;
    };
    let corpus = shared.join("corpus");
    let files: Vec<(PathBuf, Lang)> = corpus_files(&shared)
        .into_iter()
        .filter(|f| f.1 == Lang::Keepalived)
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut differ = Vec::new();
    let mut silent = 0;
    for sub in ["keepalived", "keepalived-wild", "clusters"] {
        copy_formatted(&corpus.join(sub), &a.join(sub), &[]);
        copy_formatted(&corpus.join(sub), &b.join(sub), &files);
    }
    for (f, _) in &files {
        let rel = f.strip_prefix(&corpus).unwrap();
        let id = f
            .parent()
            .and_then(|p| p.file_name())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let run = |root: &Path| {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns.name,
                    "timeout",
                    "20",
                    "keepalived",
                    "-t",
                    "-i",
                    &id,
                    "-f",
                ])
                .arg(root.join(rel))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            (out.status.code(), normalized(&text, root))
        };
        let (ra, rb) = (run(&a), run(&b));
        if ra.0 == Some(0) && ra.1.is_empty() {
            silent += 1;
        }
        if ra != rb {
            differ.push(format!(
                "{}:\n  before: {ra:?}\n  after:  {rb:?}",
                rel.display()
            ));
        }
    }
    println!(
        "keepalived -t: {} corpus files run before and after fmt, {silent} silent passes, {} verdicts differ",
        files.len(),
        differ.len()
    );
    assert!(files.len() > 100);
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn verdicts_are_compared_without_places_only() {
    let d = Path::new("/tmp/x/a");
    let a = normalized(
        "2026/01/01 10:00:00 [emerg] 12#12: unknown directive \"foo\" in /tmp/x/a/n.conf:3\nnginx: configuration file /tmp/x/a/n.conf test failed\n1",
        d,
    );
    let b = normalized(
        "2026/01/01 10:00:07 [emerg] 99#99: unknown directive \"foo\" in /tmp/x/a/n.conf:5\nnginx: configuration file /tmp/x/a/n.conf test failed\n1",
        d,
    );
    assert_eq!(a, b);
    let c = normalized(
        "2026/01/01 10:00:07 [emerg] 99#99: unknown directive \"fo\" in /tmp/x/a/n.conf:5\n1",
        d,
    );
    assert_ne!(a, c);
    assert_ne!(
        normalized("(Line 3) Unknown keyword 'a'", d),
        normalized("(Line 3) Unknown keyword 'b'", d)
    );
    assert_eq!(
        normalized("(/tmp/x/a/k.conf: Line 3) x", d),
        normalized("(/tmp/x/a/k.conf: Line 9) x", d)
    );
}
