//! The CLI end to end: arguments in; exit code, stdout and stderr out.

mod common;

use common::haconf;
use std::path::Path;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = haconf()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture_dirs() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut v = Vec::new();
    for fam in std::fs::read_dir(&root).unwrap().flatten() {
        // Scripts have their own test (tests/scripts.rs).
        if fam.file_name() == "scripts" {
            continue;
        }
        for case in std::fs::read_dir(fam.path()).unwrap().flatten() {
            v.push(
                case.path()
                    .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    v.sort();
    v
}

#[test]
fn fixtures_human_output() {
    for dir in fixture_dirs() {
        let (code, stdout, stderr) = run(&["check", "--color", "never", &dir]);
        let name = dir.replace('/', "__");
        insta::assert_snapshot!(
            name,
            format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
        );
    }
}

#[test]
fn json_output_follows_the_contract() {
    let (code, stdout, _) = run(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/keepalived/KA002",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["version"], 1);
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty());
    for d in diags {
        for key in [
            "code",
            "name",
            "severity",
            "message",
            "node",
            "file",
            "line",
            "column",
            "end_line",
            "end_column",
            "related",
            "fix",
        ] {
            assert!(d.get(key).is_some(), "missing {key} in {d}");
        }
        assert_eq!(d["node"], "ha1");
        assert!(
            d["file"]
                .as_str()
                .unwrap()
                .starts_with("tests/fixtures/keepalived/KA002/ha1/")
        );
    }
    // Sorted by file, line, column, code.
    let keys: Vec<(String, u64, u64, String)> = diags
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().into(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let fix = diags.iter().find(|d| !d["fix"].is_null()).unwrap();
    // keepalived skips the misspelt keyword today: the rename turns it on (docs/fix-safety.md).
    assert_eq!(fix["fix"]["applicability"], "unsafe");
    assert_eq!(fix["fix"]["edits"][0]["replacement"], "virtual_router_id");
    assert_eq!(
        v["summary"]["error"].as_u64().unwrap() as usize,
        diags.iter().filter(|d| d["severity"] == "error").count()
    );
    insta::assert_snapshot!("json_KA002", stdout);
}

#[test]
fn exit_codes() {
    // Warnings only: 1 by default, 0 with --fail-on error.
    assert_eq!(run(&["check", "tests/fixtures/keepalived/KA005"]).0, 1);
    assert_eq!(
        run(&[
            "check",
            "--fail-on",
            "error",
            "tests/fixtures/keepalived/KA005"
        ])
        .0,
        0
    );
    // Nothing found: 0.
    let (code, stdout, _) = run(&["check", "examples/seed-cluster", "--select", "KA001,NX001"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("All checks passed."));
    // Usage errors, missing input: 2.
    assert_eq!(run(&["check", "--format", "yaml"]).0, 2);
    assert_eq!(run(&["check", "no/such/dir"]).0, 2);
    assert_eq!(run(&["check", "--select", "ZZ9"]).0, 2);
    assert_eq!(run(&["frobnicate"]).0, 2);
    let (code, _, stderr) = run(&["check", "tests"]);
    assert_eq!(code, 1, "the fixtures are a fleet of clusters: {stderr}");
}

#[test]
fn select_and_ignore() {
    let count = |args: &[&str]| {
        let mut a = vec!["check", "--format", "json"];
        a.extend_from_slice(args);
        let (_, stdout, _) = run(&a);
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let all = count(&["tests/fixtures/keepalived/KA002"]);
    assert!(all.contains(&"KA002".to_owned()) && all.contains(&"KA004".to_owned()));
    assert!(
        count(&["--select", "KA002", "tests/fixtures/keepalived/KA002"])
            .iter()
            .all(|c| c == "KA002")
    );
    assert!(
        count(&[
            "--select",
            "KA",
            "--ignore",
            "KA0",
            "tests/fixtures/keepalived/KA002"
        ])
        .is_empty()
    );
    assert!(
        count(&[
            "--select",
            "KA00",
            "--ignore",
            "KA004",
            "tests/fixtures/keepalived/KA002"
        ])
        .iter()
        .all(|c| c == "KA002")
    );
}

#[test]
fn files_given_directly_and_fragments() {
    // A keepalived file by path, and an nginx fragment whose context haconf infers.
    let (code, stdout, stderr) = run(&[
        "check",
        "--color",
        "never",
        "-v",
        "tests/fixtures/keepalived/KA003/ha1/keepalived.conf",
        "tests/fixtures/layout/etc-overlay/web/ha1/etc/nginx/conf.d/site.conf",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.contains("KA003"));
    assert!(stdout.contains("missing `;` after `81`"));
    assert!(
        stderr.contains("as a fragment in `http` context"),
        "{stderr}"
    );
}

#[test]
fn rules_and_explain() {
    let (code, stdout, _) = run(&["rules"]);
    assert_eq!(code, 0);
    for c in ["KA001", "KA005", "NX001", "NX005", "NX013"] {
        assert!(stdout.contains(c));
    }
    let (code, stdout, _) = run(&["rules", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "KA002" && r["name"] == "unknown-keyword")
    );
    let (code, stdout, _) = run(&["explain", "ka002"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("## Why it matters"));
    let (code, stdout, _) = run(&["explain", "nginx-syntax-error"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("# NX001"));
    assert_eq!(run(&["explain", "XX999"]).0, 2);
}

#[test]
fn a_careful_cluster_has_nothing_above_info() {
    // Distinct priorities, symmetric unicast peers, script security, a probe that fails when
    // nginx fails, identical nginx configs, and a haconf.toml that agrees.
    let (code, stdout, _) = run(&[
        "check",
        "--format",
        "json",
        "--fail-on",
        "info",
        "tests/fixtures/cluster/careful",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["summary"]["error"], 0, "{stdout}");
    assert_eq!(v["summary"]["warning"], 0, "{stdout}");
    assert_eq!(code, if v["summary"]["info"] == 0 { 0 } else { 1 });
}

#[test]
fn seed_cluster_reports_the_known_problems_and_no_false_positives() {
    let (code, stdout, _) = run(&["check", "--format", "json", "examples/seed-cluster"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    for want in [
        "KA010", "KA011", "KA015", "CL010", "CL015", "CL018", "NX010", "NX011", "HC001", "HC002",
        "HC003", "HC004",
    ] {
        assert!(codes.contains(&want), "{want} missing from {codes:?}");
    }
    for never in ["CL001", "CL002", "CL004", "CL006", "CL008"] {
        assert!(!codes.contains(&never), "false positive {never}");
    }
}

#[test]
fn failover_table() {
    let (code, stdout, _) = run(&[
        "check",
        "--color",
        "never",
        "--failover",
        "examples/seed-cluster",
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("Failover: cluster `seed-cluster`, instance `VI_1`"),
        "{stdout}"
    );
    assert!(stdout.contains("ha1: checks fail"));
    let row = stdout
        .lines()
        .find(|l| l.contains("ha1: checks fail"))
        .unwrap();
    assert!(row.contains("  ha2  "), "the VIP would move to ha2: {row}");
    // The seed's check can never fail (HC001): the table says so.
    assert!(
        row.contains("cannot happen: the check can never fail (HC001)"),
        "{row}"
    );
}

#[test]
fn suppressions_and_lint_settings() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    common::write_tree(
        &c,
        &[
            (
                "haconf.toml",
                "[lint]\nextend-select = [\"HA002\"]\nignore = [\"KA025\", \"CL018\", \"KA019\"]\nfail-on = \"error\"\n",
            ),
            (
                "ha1/keepalived.conf",
                "global_defs {\n    router_id lb  # haconf: ignore[CL010] shared on purpose\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
            ),
            (
                "ha2/keepalived.conf",
                "global_defs {\n    ! haconf: ignore[CL010, KA002]\n    router_id lb\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
            ),
        ],
    );
    let out = common::haconf()
        .args(["check", "--format", "json"])
        .arg(&c)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["HA002"], "{v}");
    assert!(
        v["diagnostics"][0]["message"]
            .as_str()
            .unwrap()
            .contains("KA002")
    );
    // fail-on = "error" from haconf.toml: a warning does not fail.
    assert_eq!(out.status.code(), Some(0));
    // A broken haconf.toml points into the TOML.
    std::fs::write(
        c.join("haconf.toml"),
        "[[node]]\nname = \"ha1\"\nadress = \"1.2.3.4\"\n",
    )
    .unwrap();
    let out = common::haconf()
        .args(["check", "--format", "json"])
        .arg(&c)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "HA001")
        .expect("HA001");
    assert!(d["file"].as_str().unwrap().ends_with("haconf.toml"));
    assert_eq!(d["line"], 3);
}

#[test]
fn secrets_never_appear_in_output() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "Sup3rSecretPw";
    common::write_tree(
        dir.path(),
        &[
            (
                "c/ha1/keepalived.conf",
                &format!(
                    "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    authentication {{\n        auth_type PASS\n        auth_pass {secret}\n    }}\n    virtual_ipaddress {{\n        192.168.0.100/24\n    }}\n}}\n"
                ),
            ),
            (
                "c/ha2/keepalived.conf",
                "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    authentication {\n        auth_type PASS\n        auth_pass other123\n    }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
            ),
        ],
    );
    for format in ["human", "json"] {
        let out = common::haconf()
            .args(["check", "--color", "never", "--format", format])
            .arg(dir.path().join("c"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("KA012") && text.contains("CL008"), "{text}");
        for leak in [secret, &secret[..8], "other123"] {
            assert!(
                !text.contains(leak),
                "{format} output shows `{leak}`:\n{text}"
            );
        }
    }
}

#[test]
fn line_formats_and_statistics() {
    for (name, args) in [
        (
            "concise_seed",
            vec!["check", "--format", "concise", "examples/seed-cluster"],
        ),
        (
            "github_seed",
            vec!["check", "--format", "github", "examples/seed-cluster"],
        ),
        (
            "statistics_seed",
            vec!["check", "--statistics", "examples/seed-cluster"],
        ),
    ] {
        let (code, stdout, stderr) = run(&args);
        insta::assert_snapshot!(
            name,
            format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
        );
    }
    // SARIF: the absolute root of the run is the only machine-dependent part.
    let (code, stdout, _) = run(&["check", "--format", "sarif", "examples/seed-cluster"]);
    let root = format!("file://{}/", env!("CARGO_MANIFEST_DIR"));
    insta::assert_snapshot!(
        "sarif_seed",
        format!("exit: {code}\n{}", stdout.replace(&root, "file://ROOT/"))
    );
    // Every concise line is `file:line:col: CODE message`.
    let (_, stdout, _) = run(&["check", "--format", "concise", "tests/fixtures/nginx/NX004"]);
    for l in stdout.lines() {
        let mut parts = l.splitn(4, ':');
        assert!(parts.next().unwrap().ends_with(".conf"), "{l}");
        assert!(parts.next().unwrap().parse::<usize>().is_ok(), "{l}");
        assert!(parts.next().unwrap().parse::<usize>().is_ok(), "{l}");
        assert!(parts.next().unwrap().starts_with(" NX0"), "{l}");
    }
    // --exit-zero: findings do not fail; unreadable input still does.
    assert_eq!(run(&["check", "--exit-zero", "examples/seed-cluster"]).0, 0);
    assert_eq!(run(&["check", "--exit-zero", "no/such/dir"]).0, 2);
}

#[test]
fn baseline_survives_lines_shifting_down() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let ka = "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100\n    }\n}\n";
    common::write_tree(&c, &[("ha1/keepalived.conf", ka)]);
    let base = dir.path().join("baseline.json");
    let out = common::haconf()
        .args(["check", "--write-baseline"])
        .arg(&base)
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let check = || {
        let out = common::haconf()
            .args(["check", "--format", "json", "--baseline"])
            .arg(&base)
            .arg(&c)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            out.status.code(),
            v["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["code"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(check(), (Some(0), vec![]));
    // Three lines above every finding: nothing comes back.
    std::fs::write(
        c.join("ha1/keepalived.conf"),
        format!("! one\n! two\n! three\n{ka}"),
    )
    .unwrap();
    assert_eq!(check(), (Some(0), vec![]));
    // A new problem is reported, alone.
    std::fs::write(
        c.join("ha1/keepalived.conf"),
        format!(
            "! one\n! two\n! three\n{}",
            ka.replace("interface eth0", "interface eth0\n    Priority 100")
        ),
    )
    .unwrap();
    let (code, codes) = check();
    assert_eq!(code, Some(1));
    assert_eq!(codes, ["KA002"]);
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, _) = run(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(
            stdout.contains("haconf") && stdout.contains("check"),
            "{shell}"
        );
    }
    let (code, stdout, _) = run(&["manpage"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(".TH haconf 1"));
    assert_eq!(run(&["completions", "tcsh"]).0, 2);
}

fn seed_json() -> serde_json::Value {
    let (_, stdout, _) = run(&["check", "--format", "json", "examples/seed-cluster"]);
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn seed_human_report_is_short_and_loses_no_finding() {
    let (code, human, _) = run(&["check", "--color", "never", "examples/seed-cluster"]);
    assert_eq!(code, 1);
    // About two screens (it was 577 lines: one block per finding and per related note).
    let lines = human.lines().count();
    assert!(lines <= 110, "{lines} lines:\n{human}");
    // Every finding of the JSON is there: its code, and its place (as the report's own or as
    // one of the other nodes' locations).
    let v = seed_json();
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(diags.len() > 20);
    for d in diags {
        let code = d["code"].as_str().unwrap();
        assert!(human.contains(&format!("[{code}]")), "{code} missing");
        let loc = format!(
            "{}:{}:{}",
            d["file"].as_str().unwrap(),
            d["line"],
            d["column"]
        );
        assert!(human.contains(&loc), "{code} at {loc} missing:\n{human}");
    }
    // Errors first, then warnings, then info.
    let rank: Vec<u8> = human
        .lines()
        .filter_map(|l| {
            [("error[", 0), ("warning[", 1), ("info[", 2)]
                .iter()
                .find(|(p, _)| l.starts_with(p))
                .map(|&(_, r)| r)
        })
        .collect();
    assert!(
        rank.len() < diags.len(),
        "one report per root cause: {rank:?}"
    );
    assert!(rank.windows(2).all(|w| w[0] <= w[1]), "{rank:?}");
    // A note that every script finding shares is printed once.
    assert_eq!(human.matches("run by vrrp_script").count(), 1, "{human}");
    // The summary counts findings as the JSON does, and says what `fix` can do.
    let s = &v["summary"];
    // (The seed has no info finding at default settings: KA013 and KA019 are opt-in.)
    let found = if s["info"] == 0 {
        format!("Found {} errors and {} warnings", s["error"], s["warning"])
    } else {
        format!(
            "Found {} errors, {} warnings and {} info",
            s["error"], s["warning"], s["info"]
        )
    };
    assert!(human.contains(&found), "{human}");
    let fixes = |a: &str| {
        diags
            .iter()
            .filter(|d| d["fix"]["applicability"] == a)
            .count()
    };
    let closing = format!(
        "{} fixable with `haconf fix`, {} more with `haconf fix --unsafe`",
        fixes("safe"),
        fixes("unsafe")
    );
    assert!(human.contains(&closing), "{closing}\n{human}");
    // --quiet: the summary alone, with the same exit code.
    let (qcode, quiet, _) = run(&[
        "check",
        "--quiet",
        "--color",
        "never",
        "examples/seed-cluster",
    ]);
    assert_eq!(qcode, 1);
    assert!(human.ends_with(&quiet), "{quiet}");
    assert!(
        quiet.starts_with("Found ") && !quiet.contains("-->"),
        "{quiet}"
    );
    assert_eq!(quiet.lines().count(), 2, "{quiet}");
}

#[test]
fn concise_statistics_and_messages_agree_with_the_json() {
    let v = seed_json();
    let diags = v["diagnostics"].as_array().unwrap();
    // Concise: `file:line:col: CODE severity: message`, in the JSON's order.
    let (_, concise, _) = run(&["check", "--format", "concise", "examples/seed-cluster"]);
    let lines: Vec<&str> = concise.lines().collect();
    assert_eq!(lines.len(), diags.len());
    for (l, d) in lines.iter().zip(diags) {
        let want = format!(
            "{}:{}:{}: {} {}: ",
            d["file"].as_str().unwrap(),
            d["line"],
            d["column"],
            d["code"].as_str().unwrap(),
            d["severity"].as_str().unwrap()
        );
        assert!(l.starts_with(&want), "{l} / {want}");
    }
    // --statistics marks a rule fixable exactly when the JSON has a fix for its findings.
    let (_, stats, _) = run(&["check", "--statistics", "examples/seed-cluster"]);
    for l in stats.lines() {
        let code = l.split_whitespace().nth(1).unwrap();
        let has = |a: &str| {
            diags
                .iter()
                .any(|d| d["code"] == code && d["fix"]["applicability"] == a)
        };
        assert_eq!(l.contains("[fix]"), has("safe"), "{l}");
        assert_eq!(l.contains("[unsafe fix]"), has("unsafe"), "{l}");
    }
    for code in ["CL015", "CL018"] {
        let l = stats.lines().find(|l| l.contains(code)).unwrap();
        assert!(!l.contains("fix]"), "{l}");
    }
    // KA010 says `VI_1` falls back to multicast (no peers): KA011 must not call it unicast.
    let msg = |code: &str| {
        diags.iter().find(|d| d["code"] == code).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(msg("KA010").contains("falls back to multicast"));
    let ka011 = msg("KA011");
    assert!(!ka011.contains("configured for unicast"), "{ka011}");
}

#[test]
fn init_on_the_seed_lists_where_generate_will_differ() {
    let (code, toml, notes) = run(&["init", "--stdout", "examples/seed-cluster"]);
    assert_eq!(code, 0, "{notes}");
    // The configs' intent is kept ...
    assert!(toml.contains("transport = \"unicast\""), "{toml}");
    // ... and every place where generate will behave differently is said, on stderr and as
    // comments in the file.
    for want in [
        "sends multicast today (KA010)",
        "`mcast_src_ip` of `VI_1`",
        "router_id `master-node`",
        "`enable_script_security`",
        "`systemctl stop keepalived.service` (stops keepalived)",
        "`systemctl start nginx.service` (repairs a service)",
        "can never fail (HC001)",
        "`user root`",
        "`index index.html index.html`",
    ] {
        assert!(notes.contains(want), "stderr lacks {want}:\n{notes}");
        let commented = toml
            .lines()
            .any(|l| l.starts_with("# - ") && l.contains(want));
        assert!(commented, "haconf.toml lacks {want}:\n{toml}");
    }
    // The notes are comments: the spec still parses and still says what it says.
    let v: toml::Value = toml::from_str(&toml).unwrap();
    assert_eq!(v["cluster"]["transport"].as_str(), Some("unicast"));
}
