//! Agreement with the real tools on the corpus.
//!
//! keepalived: `keepalived -t` runs live on every keepalived file of the corpus; where it
//! reports a syntax or keyword error, haconf must report one of KA001–KA004, and none where it
//! reports none. nginx: the recorded `nginx -t` (1.22.1, Debian, with the third-party modules
//! loaded where a config needs them) results of `reference/oracle/nginx-t-results.tsv` are the
//! ground truth, since reproducing their wrapping and stubbing live would test the harness more
//! than haconf. Each remaining disagreement is listed, with its reason, in
//! `tests/oracle/*-disagreements.tsv`; the test fails when the list and reality differ in
//! either direction.

mod common;

use haconf::project::Project;
use haconf::rules::{Selection, run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// haconf's verdict on one file given alone: does it report a syntax/vocabulary error?
fn haconf_syntax(path: &Path, codes: &[&str]) -> (bool, Vec<String>) {
    let project = Project::load(&[path.to_path_buf()]);
    let sel = Selection {
        select: codes.iter().map(|s| s.to_string()).collect(),
        ..Selection::default()
    };
    let diags = run(&project, &sel);
    let msgs: Vec<String> = diags
        .iter()
        .map(|d| {
            let f = project.db.get(d.file);
            format!(
                "{}:{} {} {}",
                f.path.file_name().unwrap().to_string_lossy(),
                f.line_col(d.span.start).0,
                d.code,
                d.message
            )
        })
        .collect();
    // An info note (a few bytes that are not UTF-8 in a comment, which nginx and keepalived
    // accept) is not a claim that the tool rejects the file.
    let rejects = diags
        .iter()
        .any(|d| d.severity >= haconf::diagnostic::Severity::Warning);
    (rejects, msgs)
}

fn load_expected(name: &str) -> BTreeMap<String, String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle")
        .join(name);
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            l.split_once('\t')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        })
        .collect()
}

fn compare(tool: &str, list: &str, verdicts: &[(String, bool, bool, String)]) {
    let expected = load_expected(list);
    let agree = verdicts.iter().filter(|v| v.1 == v.2).count();
    println!(
        "{tool}: haconf agrees with the oracle on {agree}/{} files",
        verdicts.len()
    );
    let mut problems = Vec::new();
    for (file, oracle, ours, detail) in verdicts {
        let listed = expected.contains_key(file);
        if oracle != ours && !listed {
            problems.push(format!(
                "new disagreement: {file}: oracle says {}, haconf says {}\n    {detail}",
                if *oracle { "syntax error" } else { "clean" },
                if *ours { "syntax error" } else { "clean" }
            ));
        }
        if oracle == ours && listed {
            problems.push(format!(
                "listed disagreement now agrees (remove it from tests/oracle/{list}): {file}"
            ));
        }
    }
    for f in expected.keys() {
        if !verdicts.iter().any(|v| &v.0 == f) {
            problems.push(format!(
                "listed in tests/oracle/{list} but not in the corpus: {f}"
            ));
        }
    }
    for p in &problems {
        println!("{p}");
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) with {tool} agreement (see above)",
        problems.len()
    );
}

/// Messages of `keepalived -t` that are syntax, vocabulary or value errors (KA001–KA004's
/// ground), as opposed to environment (interfaces, users, file permissions) and semantics.
fn keepalived_syntax_msg(m: &str) -> bool {
    const YES: &[&str] = &[
        "Unknown keyword",
        "Extra '}'",
        "missing '}'",
        "Unexpected '{'",
        "Missing '{'",
        "nterminated quote",
        "nmatched quote",
        "missing a parameter",
        "outside range",
        "not valid",
        "must be between",
        "nvalid",
        "unknown state",
        "unknown authentication type",
        "virtual router id must be set",
        "No VIP specified",
        "Unknown interface",
        "No script set",
        "Unknown configuration entry",
        "must be greater than 0",
        "must be in [",
        "is missing a value",
        "invalid",
    ];
    const NO: &[&str] = &[
        "doesn't exist",
        "Non-existent",
        "SECURITY",
        "nsecure",
        "not found/accessible",
        "Unable to set default user",
    ];
    YES.iter().any(|y| m.contains(y)) && !NO.iter().any(|n| m.contains(n))
}

/// What `keepalived -t` says (stderr and stdout) about `f` in the namespace, as config `id`.
fn keepalived_t(ns: &str, f: &Path, id: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "timeout",
            "20",
            "keepalived",
            "-t",
            "-i",
            id,
            "-f",
        ])
        .arg(f)
        .output()
        .expect("run keepalived -t");
    String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
}

/// Interface names the corpus configs use. `keepalived -t` checks that interfaces exist, so
/// it runs in a network namespace of the test's own that has exactly these (veth pairs), and
/// its verdicts do not depend on the machine.
const INTERFACES: &[&str] = &[
    "eth0", "eth1", "eth2", "eth0.1", "enp0s3", "enp0s8", "enp0s9", "enp1s0", "enp3s0", "ens32",
    "ens33", "ens160", "ens192", "em1", "em2", "wlan0", "bond0",
];

#[test]
#[cfg_attr(
    not(all(haconf_has_corpus, haconf_has_keepalived, haconf_has_netns)),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED), keepalived, root with ip and unshare (network namespaces)"
)]
fn keepalived_agreement() {
    let Some(shared) = common::shared_or_skip("keepalived_agreement") else {
        return;
    };
    if !common::require_tool("keepalived_agreement", "keepalived", &["--version"]) {
        return;
    }
    let Some(ns) = common::Netns::new("keepalived_agreement", INTERFACES) else {
        return;
    };
    let corpus = shared.join("corpus");
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["keepalived", "keepalived-wild"] {
        files.extend(
            common::files_below(&corpus.join(sub))
                .into_iter()
                .filter(|f| !f.ends_with("SOURCES.md")),
        );
    }
    files.extend(
        common::files_below(&corpus.join("clusters"))
            .into_iter()
            .filter(|f| f.file_name().is_some_and(|n| n == "keepalived.conf")),
    );
    let mut verdicts = Vec::new();
    for f in &files {
        // Same config-id as haconf's node name: the parent directory.
        let id = f
            .parent()
            .and_then(|p| p.file_name())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = keepalived_t(&ns.name, f, &id);
        let msgs: Vec<&str> = text.lines().filter(|l| keepalived_syntax_msg(l)).collect();
        let oracle = !msgs.is_empty();
        // Scripts in the corpus are read as keepalived configs by keepalived -t; read them so too.
        let (ours, detail) = haconf_syntax_forced(f);
        let rel = f
            .strip_prefix(&corpus)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let detail = format!(
            "keepalived: {:?}\n    haconf: {:?}",
            msgs.iter().take(3).collect::<Vec<_>>(),
            detail.iter().take(3).collect::<Vec<_>>()
        );
        verdicts.push((rel, oracle, ours, detail));
    }
    compare("keepalived -t", "keepalived-disagreements.tsv", &verdicts);
}

/// haconf on a file as keepalived config, whatever its name (copied to `keepalived.conf`
/// in a node directory named like the file's directory, so that `@id` lines resolve alike).
fn haconf_syntax_forced(f: &Path) -> (bool, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let id = f.parent().and_then(|p| p.file_name()).unwrap();
    let node = dir.path().join(id);
    std::fs::create_dir_all(&node).unwrap();
    // Includes resolve relative to the original directory: link its siblings.
    if let Ok(rd) = std::fs::read_dir(f.parent().unwrap()) {
        for e in rd.flatten() {
            let _ = std::os::unix::fs::symlink(e.path(), node.join(e.file_name()));
        }
    }
    let _ = std::fs::remove_file(node.join("keepalived.conf"));
    std::fs::copy(f, node.join("keepalived.conf")).unwrap();
    haconf_syntax(&node, &["KA001", "KA002", "KA003", "KA004"])
}

/// The recorded verdict of `nginx -t` on a corpus file: `Some(true)` syntax error,
/// `Some(false)` clean as far as syntax goes, `None` unknown (nginx stopped before reading it all).
fn nginx_oracle(row: &[&str], third_party: &dyn Fn(&str) -> bool) -> Option<bool> {
    let col = |i: usize| row.get(i).copied().unwrap_or("");
    let syntax = |m: &str| {
        [
            "unknown directive",
            "is not allowed here",
            "invalid number of arguments",
            "unexpected",
            "is not terminated",
            "has no opening",
            "unexpected end of file",
        ]
        .iter()
        .any(|p| m.contains(p))
    };
    let rc = col(4);
    let first = col(6);
    if rc.is_empty() {
        // The oracle harness did not run this file (it took it for empty or comment-only).
        return None;
    }
    if rc == "0" {
        return Some(false);
    }
    if first.contains("unknown directive") {
        let name = first.split('"').nth(1).unwrap_or("");
        if third_party(name) {
            return match col(8) {
                "0" => Some(false),
                "" => None,
                _ => Some(syntax(col(9))),
            };
        }
    }
    if col(5) == "missing-file" || col(5) == "missing-cert" {
        return match col(10) {
            "0" => Some(false),
            "" => None,
            _ => Some(syntax(col(12))),
        };
    }
    Some(syntax(first))
}

#[test]
#[cfg_attr(
    not(haconf_has_corpus),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED)"
)]
fn nginx_agreement() {
    let Some(shared) = common::shared_or_skip("nginx_agreement") else {
        return;
    };
    let corpus = shared.join("corpus/nginx");
    let tsv = std::fs::read_to_string(shared.join("reference/oracle/nginx-t-results.tsv")).unwrap();
    let vocab = haconf::vocab::nginx::Vocabulary::get();
    let third_party = |n: &str| {
        let rows = vocab.lookup(n);
        rows.is_empty()
            || rows.iter().all(|r| r.third_party)
            || [
                "perl_modules",
                "perl_require",
                "perl",
                "perl_set",
                "geoip_country",
                "geoip_city",
                "upload_progress",
                "track_uploads",
                "report_uploads",
            ]
            .contains(&n)
    };
    let mut seen = std::collections::HashSet::new();
    let mut verdicts = Vec::new();
    let mut unknown = 0;
    for line in tsv.lines().skip(1) {
        let row: Vec<&str> = line.split('\t').collect();
        let file = row[0];
        if !seen.insert(file.to_owned()) {
            continue;
        }
        let path = corpus.join(file);
        if !path.is_file() {
            continue;
        }
        let Some(oracle) = nginx_oracle(&row, &third_party) else {
            unknown += 1;
            continue;
        };
        let (ours, detail) = haconf_syntax(&path, &["NX001", "NX002", "NX003", "NX004"]);
        verdicts.push((
            format!("nginx/{file}"),
            oracle,
            ours,
            format!(
                "nginx: {:?}\n    haconf: {:?}",
                row.get(6),
                detail.iter().take(3).collect::<Vec<_>>()
            ),
        ));
    }
    println!(
        "nginx -t: {unknown} files left out: not run by the oracle, or nginx stopped at a missing include or certificate before reading them whole and no stubbed run exists"
    );
    compare("nginx -t", "nginx-disagreements.tsv", &verdicts);
}

/// What `haconf fix --unsafe` writes for the corpus's cluster sets never adds a syntax or
/// keyword message from `keepalived -t`: every message about the fixed keepalived.conf was
/// already there about the original.
#[test]
#[cfg_attr(
    not(all(haconf_has_corpus, haconf_has_keepalived, haconf_has_netns)),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED), keepalived, root with ip and unshare (network namespaces)"
)]
fn fixes_add_no_keepalived_errors() {
    let Some(shared) = common::shared_or_skip("fixes_add_no_keepalived_errors") else {
        return;
    };
    if !common::require_tool(
        "fixes_add_no_keepalived_errors",
        "keepalived",
        &["--version"],
    ) {
        return;
    }
    let Some(ns) = common::Netns::new("fixes_add_no_keepalived_errors", INTERFACES) else {
        return;
    };
    let messages = |f: &Path, id: &str| -> Vec<String> {
        let text = keepalived_t(&ns.name, f, id);
        let mut v: Vec<String> = text
            .lines()
            .filter(|l| keepalived_syntax_msg(l))
            // Without the `(file: Line N)` prefix: fixes move lines.
            .map(|l| {
                let l = l.trim();
                match l.strip_prefix('(').and_then(|r| r.split_once(") ")) {
                    Some((loc, rest)) if loc.contains("Line ") => rest.to_owned(),
                    _ => l.to_owned(),
                }
            })
            .collect();
        v.sort();
        v
    };
    let sets = shared.join("corpus/clusters");
    let out = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut added = Vec::new();
    for set in std::fs::read_dir(&sets).unwrap().flatten() {
        if !set.path().is_dir() {
            continue;
        }
        let name = set.file_name().to_string_lossy().into_owned();
        let o = common::haconf()
            .args(["fix", "--unsafe", "--out"])
            .arg(out.path().join(&name))
            .arg(set.path())
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        for before in common::files_below(&set.path())
            .into_iter()
            .filter(|f| f.file_name().is_some_and(|n| n == "keepalived.conf"))
        {
            let rel = before.strip_prefix(sets.as_path()).unwrap();
            let after = out.path().join(rel);
            if std::fs::read(&before).ok() == std::fs::read(&after).ok() {
                continue;
            }
            let id = before
                .parent()
                .and_then(|p| p.file_name())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let (b, a) = (messages(&before, &id), messages(&after, &id));
            checked += 1;
            for m in a.iter().filter(|m| !b.contains(m)) {
                added.push(format!("{}: {m}", rel.display()));
            }
        }
    }
    eprintln!("fixes_add_no_keepalived_errors: {checked} fixed keepalived.conf files compared");
    assert!(
        checked > 20,
        "only {checked} files were changed by the fixes"
    );
    assert!(
        added.is_empty(),
        "keepalived -t complains about fixed files:\n{}",
        added.join("\n")
    );
}
