//! `haconf generate`, `init` and `schema`: generated clusters of every shape pass
//! `keepalived -t` and `nginx -t` without a message and `haconf check` finds nothing above
//! info; bad specs get HA001 with a position; `init` then `generate` keeps the addresses,
//! VIPs and VRIDs of the seed and of the corpus's sets; the checked-in schema and example are
//! what the code produces.

mod common;

use common::haconf;
use std::path::{Path, PathBuf};
use std::process::Command;

fn nodes(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "[[node]]\nname = \"ha{i}\"\naddress = \"10.0.0.{}\"\naddress6 = \"fd00::{}\"\n",
                10 + i,
                10 + i
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// (name, spec) of the shapes the issue asks for.
fn shapes() -> Vec<(&'static str, String)> {
    vec![
        (
            "two-nodes-default",
            format!(
                "[cluster]\nname = \"web\"\nauth_pass = \"s3cret\"\n\n{}\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n\n[nginx]\nbackends = [\"10.0.1.31:8080\", \"10.0.1.32:8080\"]\n",
                nodes(2)
            ),
        ),
        (
            "three-nodes-fast-ipv6",
            format!(
                "[cluster]\nname = \"v6\"\nfailover = \"fast\"\n\n{}\n[[instance]]\nvips = [\"fd00::100/64\"]\n",
                nodes(3)
            ),
        ),
        (
            "eight-nodes-conservative-multicast",
            format!(
                "[cluster]\nname = \"big\"\nfailover = \"conservative\"\ntransport = \"multicast\"\n\n{}\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n\n[health_check]\nkind = \"process\"\n",
                nodes(8)
            ),
        ),
        (
            "active-active",
            format!(
                "[cluster]\nname = \"aa\"\n\n{}\n[[instance]]\nname = \"VI_A\"\nvips = [\"10.0.0.100/24\"]\n\n[[instance]]\nname = \"VI_B\"\nvips = [\"10.0.0.101/24\"]\n",
                nodes(2)
            ),
        ),
    ]
}

fn generate(spec: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    std::fs::create_dir_all(dir).unwrap();
    let spec_path = dir.join("haconf.toml");
    std::fs::write(&spec_path, spec).unwrap();
    haconf()
        .arg("generate")
        .arg(&spec_path)
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .output()
        .unwrap()
}

fn node_dirs(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn every_shape_is_clean_for_haconf() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, spec) in shapes() {
        let dir = tmp.path().join(name);
        let o = generate(&spec, &dir, &[]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = haconf()
            .args(["check", "--format", "json", "--exit-zero"])
            .arg(dir.join("out"))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let above: Vec<String> = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] != "info")
            .map(|d| format!("{} {}:{} {}", d["code"], d["file"], d["line"], d["message"]))
            .collect();
        assert!(above.is_empty(), "{name}:\n{}", above.join("\n"));
        assert_eq!(
            node_dirs(&dir.join("out")).len(),
            spec.matches("[[node]]").count()
        );
    }
}

#[test]
#[cfg_attr(
    not(all(haconf_has_keepalived, haconf_has_netns)),
    ignore = "needs keepalived, root with ip and unshare (network namespaces)"
)]
fn every_shape_passes_keepalived_t_silently() {
    if !common::require_tool(
        "every_shape_passes_keepalived_t_silently",
        "keepalived",
        &["--version"],
    ) {
        return;
    }
    let Some(ns) = common::Netns::new("every_shape_passes_keepalived_t_silently", &["eth0"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (name, spec) in shapes() {
        let dir = tmp.path().join(name);
        assert!(generate(&spec, &dir, &[]).status.success());
        for node in node_dirs(&dir.join("out")) {
            // The script lives at /etc/keepalived/ on the node; here, in the copy.
            let conf = node.join("keepalived.conf");
            let text = std::fs::read_to_string(&conf).unwrap();
            let script = node.join("chk_nginx.sh");
            std::fs::write(
                &conf,
                text.replace("/etc/keepalived/chk_nginx.sh", &script.to_string_lossy()),
            )
            .unwrap();
            let out = Command::new("ip")
                .args(["netns", "exec", &ns.name, "keepalived", "-t", "-f"])
                .arg(&conf)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {}: {said}",
                node.display()
            );
            assert!(
                said.trim().is_empty(),
                "{name} {}: keepalived -t says:\n{said}",
                node.display()
            );
        }
    }
}

#[test]
#[cfg_attr(not(haconf_has_nginx), ignore = "needs nginx")]
fn every_shape_passes_nginx_t() {
    if !common::require_tool("every_shape_passes_nginx_t", "nginx", &["-v"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, spec) in shapes() {
        let dir = tmp.path().join(name);
        assert!(generate(&spec, &dir, &[]).status.success());
        for node in node_dirs(&dir.join("out")) {
            // mime.types ships with the nginx package, not with the node.
            std::fs::copy("/etc/nginx/mime.types", node.join("mime.types")).unwrap();
            let out = Command::new("nginx")
                .arg("-t")
                .arg("-c")
                .arg(node.join("nginx.conf"))
                .arg("-p")
                .arg(&node)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{name}: {said}");
            assert!(
                !said.contains("[warn]") && !said.contains("[emerg]"),
                "{name}: nginx -t says:\n{said}"
            );
        }
    }
}

#[test]
fn the_etc_layout_and_templates_override() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, spec) = &shapes()[0];
    let tpl = tmp.path().join("tpl");
    std::fs::create_dir_all(&tpl).unwrap();
    std::fs::write(
        tpl.join("chk_nginx.sh.tera"),
        "#!/bin/sh\n# mine, for {{ node }}\nexec /usr/bin/curl -fsS -o /dev/null --max-time {{ check.limit }} {{ check.url }}\n",
    )
    .unwrap();
    let dir = tmp.path().join("c");
    let o = generate(
        spec,
        &dir,
        &["--layout", "etc", "--templates", tpl.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let node = dir.join("out/ha1");
    assert!(node.join("etc/keepalived/keepalived.conf").is_file());
    assert!(node.join("etc/nginx/nginx.conf").is_file());
    let script = std::fs::read_to_string(node.join("etc/keepalived/chk_nginx.sh")).unwrap();
    assert!(script.contains("# mine, for ha1"), "{script}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(node.join("etc/keepalived/chk_nginx.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    // The etc layout is a cluster haconf reads like any other.
    let out = haconf()
        .args(["check", "--format", "concise", "--fail-on", "warning"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn diff_against_an_existing_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, spec) = &shapes()[0];
    let dir = tmp.path().join("c");
    assert!(generate(spec, &dir, &[]).status.success());
    let spec_path = dir.join("haconf.toml");
    let diff = |d: &Path| {
        haconf()
            .arg("generate")
            .arg(&spec_path)
            .arg("--diff")
            .arg(d)
            .output()
            .unwrap()
    };
    let o = diff(&dir.join("out"));
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    let ka = dir.join("out/ha2/keepalived.conf");
    let text = std::fs::read_to_string(&ka).unwrap();
    std::fs::write(&ka, text.replace("priority 190", "priority 150")).unwrap();
    let o = diff(&dir.join("out"));
    assert_eq!(o.status.code(), Some(1));
    let d = String::from_utf8_lossy(&o.stdout);
    assert!(
        d.contains("--- a/ha2/keepalived.conf")
            && d.contains("-    priority 150")
            && d.contains("+    priority 190"),
        "{d}"
    );
}

#[test]
fn bad_specs_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[cluster]\nfailover = \"fast\"\nauth_pass = \"x\"\n[[node]]\nname = \"a\"\naddress = \"10.0.0.1\"\n[[node]]\nname = \"b\"\naddress = \"10.0.0.2\"\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n",
            "VRRPv3",
            "haconf.toml:3:",
        ),
        (
            "[[node]]\nname = \"a\"\naddress = \"10.0.0.1\"\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n",
            "2 to 16 nodes",
            "haconf.toml:1:",
        ),
        (
            "[[node]]\nname = \"a\"\naddress = \"10.0.0.1\"\n[[node]]\nname = \"b\"\naddress = \"10.0.0.2\"\n[[instance]]\nvips = [\"10.0.0.100/24\", \"fd00::1/64\"]\n",
            "mixes IPv4 and IPv6",
            "haconf.toml:",
        ),
        (
            "[[node]]\nname = \"a\"\naddress = \"10.0.0.1\"\n[[node]]\nname = \"b\"\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n",
            "has no `address`",
            "haconf.toml:5:",
        ),
        (
            "[[node]]\nname = \"a\"\naddress = \"10.0.0.1\"\n[[node]]\nname = \"b\"\naddress = \"10.0.0.2\"\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n[health_check]\ninterval = 2\ntimeout = 2\n",
            "must be below its interval",
            "haconf.toml:",
        ),
        (
            "[[node]]\nname = \"a\"\naddress = \"10.0.0.1\"\n[[node]]\nname = \"b\"\naddress = \"10.0.0.2\"\n[[instance]]\nvips = [\"10.0.0.100/24\"]\npriority = { a = 100, b = 100 }\n",
            "share a priority",
            "haconf.toml:9:",
        ),
    ];
    for (k, (spec, what, at)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("bad{k}"));
        let o = generate(spec, &dir, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {k}: {err}");
        assert!(
            err.contains("HA001") && err.contains(what),
            "case {k}: {err}"
        );
        assert!(err.contains(at), "case {k}: no position {at}: {err}");
        assert!(!dir.join("out").exists(), "case {k}: nothing is written");
    }
}

#[test]
fn derived_vrids_avoid_the_fleet() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = tmp.path();
    // The spec says where its fleet is: the directory above.
    let spec = "[cluster]\nname = \"web\"\nfleet = \"..\"\n[[node]]\nname = \"a\"\naddress = \"10.0.0.1\"\n[[node]]\nname = \"b\"\naddress = \"10.0.0.2\"\n[[instance]]\nvips = [\"10.0.0.100/24\"]\n";
    // The VRID "web" derives, taken by another cluster of the fleet.
    let first = fleet.join("first");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::write(first.join("haconf.toml"), spec).unwrap();
    assert!(
        haconf()
            .arg("generate")
            .arg(first.join("haconf.toml"))
            .output()
            .unwrap()
            .status
            .success()
    );
    let vrid = |dir: &Path| -> String {
        let t = std::fs::read_to_string(dir.join("a/keepalived.conf")).unwrap();
        t.lines()
            .find(|l| l.trim_start().starts_with("virtual_router_id"))
            .unwrap()
            .trim()
            .to_owned()
    };
    let second = fleet.join("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(second.join("haconf.toml"), spec).unwrap();
    assert!(
        haconf()
            .arg("generate")
            .arg(second.join("haconf.toml"))
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_ne!(vrid(&first), vrid(&second));
    // And the fleet is clean for CL014.
    let o = haconf()
        .args(["check", "--format", "concise", "--select", "CL014"])
        .arg(fleet)
        .output()
        .unwrap();
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Addresses, VIPs and VRIDs of a cluster, per node name and instance.
fn essentials(dir: &Path) -> Vec<String> {
    let project = haconf::project::Project::load(&[dir.to_path_buf()]);
    let mut v = Vec::new();
    for c in &project.clusters {
        let cm = haconf::cluster::build(&project.db, c);
        for j in &cm.instances {
            for (n, i) in cm.members(j) {
                v.push(format!(
                    "{} {} vrid={:?} vips={:?} address={:?}",
                    c.nodes[n].name,
                    j.name,
                    i.vrid.as_ref().map(|x| x.value),
                    i.vip_set(),
                    cm.node_address(n)
                ));
            }
        }
    }
    v.sort();
    v
}

fn init_then_generate(cluster: &Path, tmp: &Path) -> Result<(Vec<String>, Vec<String>), String> {
    let o = haconf()
        .args(["init", "--stdout"])
        .arg(cluster)
        .output()
        .unwrap();
    if !o.status.success() {
        return Err(format!("init: {}", String::from_utf8_lossy(&o.stderr)));
    }
    let spec = tmp.join("haconf.toml");
    std::fs::write(&spec, &o.stdout).unwrap();
    let out = tmp.join("gen");
    let g = haconf()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    if !g.status.success() {
        return Err(format!(
            "generate: {}\n--- spec:\n{}",
            String::from_utf8_lossy(&g.stderr),
            String::from_utf8_lossy(&o.stdout)
        ));
    }
    Ok((essentials(cluster), essentials(&out)))
}

#[test]
fn init_then_generate_keeps_the_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed-cluster");
    let (before, after) = init_then_generate(&seed, tmp.path()).unwrap();
    assert_eq!(before, after);
}

#[test]
#[cfg_attr(
    not(haconf_has_corpus),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED)"
)]
fn init_then_generate_keeps_the_corpus_sets() {
    let Some(shared) = common::shared_or_skip("init_then_generate_keeps_the_corpus_sets") else {
        return;
    };
    let sets = shared.join("corpus/clusters");
    let mut ok = 0;
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for set in std::fs::read_dir(&sets).unwrap().flatten() {
        if !set.path().is_dir() {
            continue;
        }
        let name = set.file_name().to_string_lossy().into_owned();
        let tmp = tempfile::tempdir().unwrap();
        match init_then_generate(&set.path(), tmp.path()) {
            Ok((before, after)) if before == after => ok += 1,
            Ok((before, after)) => {
                failures.push(format!("{name}:\n  before {before:?}\n  after  {after:?}"))
            }
            Err(e) => skipped.push(format!("{name}: {e}")),
        }
    }
    eprintln!(
        "init → generate: {ok} sets kept; {} could not be generated:\n{}",
        skipped.len(),
        skipped.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ok >= 40, "only {ok} sets went through init and generate");
}

#[test]
fn the_checked_in_schema_is_current() {
    let o = haconf().arg("schema").output().unwrap();
    let want = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/haconf.schema.json"),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        want,
        "schemas/haconf.schema.json is stale: run `haconf schema > schemas/haconf.schema.json`"
    );
}

/// examples/seed-generated is what `generate` makes of its haconf.toml, byte for byte.
#[test]
fn the_generated_example_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let o = haconf()
        .current_dir(root)
        .args(["generate", "examples/seed-generated/haconf.toml", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let generated = common::files_below(tmp.path());
    // Six node files, and the spec beside them.
    assert_eq!(generated.len(), 7);
    for g in generated {
        let rel = g.strip_prefix(tmp.path()).unwrap();
        let checked_in = root.join("examples/seed-generated").join(rel);
        assert_eq!(
            std::fs::read_to_string(&checked_in).unwrap_or_default(),
            std::fs::read_to_string(&g).unwrap(),
            "{} is stale: run `haconf generate examples/seed-generated/haconf.toml`",
            rel.display()
        );
    }
}
