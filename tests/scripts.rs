//! Health-check scripts: each fixture in tests/fixtures/scripts says on its `# expect:` line
//! which HC codes it must produce (and no others); the shell parser agrees with `bash -n`;
//! shellcheck's findings come through with their codes and honour `# shellcheck disable=`.

mod common;

use common::haconf;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scripts");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

fn expected(text: &str) -> BTreeSet<String> {
    let line = text
        .lines()
        .find_map(|l| l.trim_start_matches('#').trim().strip_prefix("expect:"))
        .expect("a fixture says what it expects");
    line.split_whitespace()
        .filter(|c| *c != "none")
        .map(str::to_owned)
        .collect()
}

const KEEPALIVED: &str = "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 3\n    timeout 2\n    weight -20\n}\n";
const INSTANCE: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n";

/// Runs `haconf check --format json` on a node made of the fixture; the HC codes found.
fn hc_codes(fixture: &Path, extra_env: &[(&str, &str)]) -> (BTreeSet<String>, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let node = tmp.path().join("ha1");
    std::fs::create_dir_all(&node).unwrap();
    let text = std::fs::read_to_string(fixture).unwrap();
    if fixture.extension().is_some_and(|e| e == "conf") {
        std::fs::write(node.join("keepalived.conf"), format!("{text}{INSTANCE}")).unwrap();
    } else {
        std::fs::write(
            node.join("keepalived.conf"),
            format!("{KEEPALIVED}{INSTANCE}"),
        )
        .unwrap();
        let script = node.join("chk.sh");
        std::fs::write(&script, &text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cmd = haconf();
    // shellcheck's findings are opt-in.
    cmd.args([
        "check",
        "--format",
        "json",
        "--exit-zero",
        "--extend-select",
        "SC",
    ])
    .arg(&node);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .filter(|c| c.starts_with("HC"))
        .map(str::to_owned)
        .collect();
    (codes, json)
}

#[test]
fn each_fixture_reports_exactly_what_it_expects() {
    let mut failures = Vec::new();
    for f in fixtures() {
        let want = expected(&std::fs::read_to_string(&f).unwrap());
        let (got, _) = hc_codes(&f, &[("HACONF_SHELLCHECK", "none")]);
        if got != want {
            failures.push(format!(
                "{}: expected {want:?}, got {got:?}",
                f.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every shell script of the fixtures: haconf's parser accepts exactly what `bash -n` accepts.
#[test]
fn the_parser_agrees_with_bash_n_on_the_fixtures() {
    let files: Vec<PathBuf> = fixtures()
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "sh"))
        .filter(|f| !f.ends_with("python.sh"))
        .collect();
    assert!(files.len() >= 15, "only {} fixture scripts", files.len());
    agrees_with_bash_n("the_parser_agrees_with_bash_n_on_the_fixtures", &files);
}

/// Every shell script of the corpus: the same agreement on scripts written by others.
#[test]
#[cfg_attr(
    not(haconf_has_corpus),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED)"
)]
fn the_parser_agrees_with_bash_n_on_the_corpus() {
    let test = "the_parser_agrees_with_bash_n_on_the_corpus";
    let Some(shared) = common::shared_or_skip(test) else {
        return;
    };
    let files: Vec<PathBuf> = common::files_below(&shared.join("corpus"))
        .into_iter()
        .filter(|f| {
            std::fs::read(f).is_ok_and(|b| {
                b.starts_with(b"#!/bin/") || f.extension().is_some_and(|e| e == "sh")
            })
        })
        .collect();
    assert!(files.len() > 30, "only {} corpus scripts", files.len());
    agrees_with_bash_n(test, &files);
}

fn agrees_with_bash_n(test: &str, files: &[PathBuf]) {
    if !common::require_tool(test, "bash", &["-c", "true"]) {
        return;
    }
    let mut disagree = Vec::new();
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        let ours = haconf::shell::parse(&text, 0).is_ok();
        let bash = std::process::Command::new("bash")
            .arg("-n")
            .arg(f)
            .output()
            .unwrap()
            .status
            .success();
        if ours != bash {
            disagree.push(format!("{}: haconf {ours}, bash -n {bash}", f.display()));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

#[test]
#[cfg_attr(not(haconf_has_shellcheck), ignore = "needs shellcheck")]
fn shellcheck_findings_come_through_and_honour_disable() {
    if !common::require_tool(
        "shellcheck_findings_come_through_and_honour_disable",
        "shellcheck",
        &["--version"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("unquoted.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n# expect: none\nport=$(cat /etc/port)\nexec curl -fs -o /dev/null --max-time 1 http://127.0.0.1:$port/\n",
    )
    .unwrap();
    let (_, json) = hc_codes(&script, &[]);
    let sc: Vec<&serde_json::Value> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "SC2086")
        .collect();
    assert_eq!(sc.len(), 1, "{json:#}");
    assert_eq!(sc[0]["line"], 4);
    assert_eq!(sc[0]["column"], 58);
    assert!(
        sc[0]["help"]
            .as_str()
            .unwrap()
            .contains("https://www.shellcheck.net/wiki/SC2086")
    );
    std::fs::write(
        &script,
        "#!/bin/sh\n# expect: none\nport=$(cat /etc/port)\n# shellcheck disable=SC2086\nexec curl -fs -o /dev/null --max-time 1 http://127.0.0.1:$port/\n",
    )
    .unwrap();
    let (_, json) = hc_codes(&script, &[]);
    assert!(
        !json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "SC2086"),
        "{json:#}"
    );
    // --ignore reaches shellcheck's codes too.
    std::fs::write(
        &script,
        "#!/bin/sh\n# expect: none\nport=$(cat /etc/port)\nexec curl -fs -o /dev/null --max-time 1 http://127.0.0.1:$port/\n",
    )
    .unwrap();
    let (_, json) = hc_codes(&script, &[]);
    assert!(
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "SC2086")
    );
    let node = tmp.path().join("ignored");
    std::fs::create_dir_all(&node).unwrap();
    std::fs::write(node.join("keepalived.conf"), KEEPALIVED).unwrap();
    std::fs::copy(&script, node.join("chk.sh")).unwrap();
    let out = haconf()
        .args([
            "check",
            "--format",
            "concise",
            "--exit-zero",
            "--extend-select",
            "SC",
            "--ignore",
            "SC2086",
        ])
        .arg(&node)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SC2086"));
}
