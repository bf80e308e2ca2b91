//! Hostile strings in every string field of haconf.toml: `generate` either refuses the spec
//! with HA001 at the line of the value, or writes files that `keepalived -t` and `nginx -t`
//! accept and that hold no trace of the injected text. Also: a spec path with a newline, and
//! the fleet walk that must not read (or block on) what the user did not name.

mod common;

use common::haconf;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The marker every payload carries: it must never reach a generated file.
const MARK: &str = "PWNED";

/// A spec that sets every string field, one field a line. `@NAME@` marks where a field's
/// value goes (as a TOML string); the fields are listed in `FIELDS`.
const TEMPLATE: &str = r#"[cluster]
name = @cluster.name@
subnet = @cluster.subnet@
interface = @cluster.interface@
failover = @cluster.failover@
transport = @cluster.transport@
auth_pass = @cluster.auth_pass@

[[node]]
name = @node.name@
address = @node.address@
address6 = @node.address6@
interface = @node.interface@

[[node]]
name = "ha2"
address = "10.0.0.12"
address6 = "fd00::12"

[[instance]]
name = @instance.name@
vips = [@instance.vips@]
priority = [@instance.priority@, "ha2"]

[[instance]]
vips = ["10.0.0.101/24"]
priority = { @priority.key@ = 100, ha2 = 200 }

[health_check]
kind = @health_check.kind@
path = @health_check.path@
process = @health_check.process@

[nginx]
backends = [@nginx.backends@]
root = @nginx.root@
server_name = @nginx.server_name@
per-node = [@nginx.per-node@]

[lint]
select = [@lint.select@]
ignore = [@lint.ignore@]
fail-on = @lint.fail-on@
per-file-ignores = { @lint.pfi.key@ = [@lint.pfi.value@] }
"#;

/// Each field and its valid value. `node.name` and `priority` name the same node.
const FIELDS: &[(&str, &str)] = &[
    ("cluster.name", "web"),
    ("cluster.subnet", "10.0.0.0/24"),
    ("cluster.interface", "eth0"),
    ("cluster.failover", "default"),
    ("cluster.transport", "unicast"),
    ("cluster.auth_pass", "s3cret"),
    ("node.name", "ha1"),
    ("node.address", "10.0.0.11"),
    ("node.address6", "fd00::11"),
    ("node.interface", "eth0"),
    ("instance.name", "VI_1"),
    ("instance.vips", "10.0.0.100/24"),
    ("instance.priority", "ha1"),
    ("priority.key", "ha1"),
    ("health_check.kind", "http"),
    ("health_check.path", "/haconf-health"),
    ("health_check.process", "nginx"),
    ("nginx.backends", "10.0.1.31:8080"),
    ("nginx.root", "/var/www/html"),
    ("nginx.server_name", "example.com"),
    ("nginx.per-node", "index.html"),
    ("lint.select", "KA"),
    ("lint.ignore", "KA005"),
    ("lint.fail-on", "warning"),
    ("lint.pfi.key", "ha1/nginx.conf"),
    ("lint.pfi.value", "NX010"),
];

/// What an attacker appends to a value: line breaks of every kind, the separators, comment
/// starts, quotes and expansions of the three languages, and a whole keepalived block.
fn payloads() -> Vec<String> {
    let m = MARK;
    vec![
        format!("\ntouch /tmp/{m} #"),
        format!("\r{m}"),
        format!("\r\n{m}"),
        format!(";{m}"),
        format!("}}\nvrrp_script {m} {{\n script /bin/true\n}}"),
        format!("{{{m}"),
        format!("#{m}"),
        format!("!{m}"),
        format!("\"{m}"),
        format!("'{m}"),
        format!("$({m})"),
        format!("`{m}`"),
        format!("${{{m}}}"),
        format!("\0{m}"),
        format!("\u{2028}{m}"),
        format!("\u{2029}{m}"),
        format!("\u{85}{m}"),
        format!(" {m}"),
        format!("\t{m}"),
        format!("\\{m}"),
        format!("\u{202E}{m}"),
    ]
}

/// A one-line TOML basic string holding `s`: every character outside printable ASCII is
/// written as an escape, so each field stays on its line.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn spec_with(field: &str, value: &str) -> String {
    let mut s = TEMPLATE.to_owned();
    for (f, v) in FIELDS {
        let v = if *f == field { value } else { v };
        // The named node is the same in `node.name`, the order and the map.
        let v = if matches!(*f, "instance.priority" | "priority.key") && field == "node.name" {
            value
        } else {
            v
        };
        s = s.replace(&format!("@{f}@"), &toml_str(v));
    }
    s
}

fn line_of(spec: &str, field: &str) -> usize {
    let probe = TEMPLATE
        .lines()
        .position(|l| l.contains(&format!("@{field}@")))
        .unwrap();
    // The spec has the template's lines (escaped strings hold no raw newline).
    assert_eq!(spec.lines().count(), TEMPLATE.lines().count());
    probe + 1
}

struct Outcome {
    refused_at: Option<usize>,
    out: PathBuf,
}

fn run(dir: &Path, spec: &str) -> (std::process::Output, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("haconf.toml");
    std::fs::write(&path, spec).unwrap();
    let out = dir.join("out");
    let o = haconf()
        .arg("generate")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    (o, out)
}

/// Every generated file below `out` but the spec's copy.
fn generated(out: &Path) -> Vec<(PathBuf, String)> {
    common::files_below(out)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "haconf.toml"))
        .map(|p| {
            let t = String::from_utf8(std::fs::read(&p).unwrap()).unwrap();
            (p, t)
        })
        .collect()
}

fn keepalived_t(ns: &common::Netns, node: &Path) -> Result<(), String> {
    let conf = node.join("keepalived.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let script = node.join("chk_nginx.sh");
    std::fs::write(
        &conf,
        text.replace("/etc/keepalived/chk_nginx.sh", &script.to_string_lossy()),
    )
    .unwrap();
    let o = Command::new("ip")
        .args(["netns", "exec", &ns.name, "keepalived", "-t", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    if o.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("keepalived -t: {said}"))
    }
}

fn nginx_t(node: &Path) -> Result<(), String> {
    std::fs::copy("/etc/nginx/mime.types", node.join("mime.types")).unwrap();
    let o = Command::new("nginx")
        .arg("-t")
        .arg("-c")
        .arg(node.join("nginx.conf"))
        .arg("-p")
        .arg(node)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    if o.status.success() && !said.contains("[warn]") && !said.contains("[emerg]") {
        Ok(())
    } else {
        Err(format!("nginx -t: {said}"))
    }
}

#[test]
#[cfg_attr(
    not(all(haconf_has_keepalived, haconf_has_nginx, haconf_has_netns)),
    ignore = "needs keepalived, nginx, root with ip and unshare (network namespaces)"
)]
fn hostile_strings_in_every_field_are_refused_or_harmless() {
    let tools = common::require_tool("hostile_strings", "keepalived", &["--version"])
        && common::require_tool("hostile_strings", "nginx", &["-v"]);
    let ns = if tools {
        common::Netns::new("hostile_strings", &["eth0"])
    } else {
        None
    };
    let tmp = tempfile::tempdir().unwrap();
    // The spec without payload generates, so each refusal below is the payload's doing.
    let (o, _) = run(&tmp.path().join("clean"), &spec_with("", ""));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut failures = Vec::new();
    let mut refused = 0;
    let mut accepted = 0;
    for (k, (field, valid)) in FIELDS.iter().enumerate() {
        for (j, p) in payloads().iter().enumerate() {
            let value = format!("{valid}{p}");
            let spec = spec_with(field, &value);
            let dir = tmp.path().join(format!("f{k}-p{j}"));
            let (o, out) = run(&dir, &spec);
            let err = String::from_utf8_lossy(&o.stderr);
            let what = format!("{field} = {:?}", value);
            let outcome = Outcome {
                refused_at: (o.status.code() == Some(2)).then(|| line_of(&spec, field)),
                out,
            };
            if let Some(line) = outcome.refused_at {
                refused += 1;
                if !err.contains("HA001") || !err.contains(&format!("haconf.toml:{line}:")) {
                    failures.push(format!(
                        "{what}: refused, but not with HA001 at line {line}:\n{err}"
                    ));
                }
                if outcome.out.exists() {
                    failures.push(format!(
                        "{what}: refused, yet {} was written",
                        outcome.out.display()
                    ));
                }
                continue;
            }
            if !o.status.success() {
                failures.push(format!("{what}: exit {:?}: {err}", o.status.code()));
                continue;
            }
            accepted += 1;
            // `server_name` is names separated by spaces: " PWNED" is one more name, as asked.
            let asked = *field == "nginx.server_name" && p == &format!(" {MARK}");
            for (path, text) in generated(&outcome.out) {
                if asked {
                    let lines: Vec<&str> = text.lines().filter(|l| l.contains(MARK)).collect();
                    if !lines
                        .iter()
                        .all(|l| l.trim() == format!("server_name example.com {MARK};"))
                    {
                        failures.push(format!("{what}: {}: {lines:?}", path.display()));
                    }
                } else if text.contains(MARK) {
                    failures.push(format!(
                        "{what}: {} holds the payload:\n{text}",
                        path.display()
                    ));
                }
            }
            if let Some(ns) = &ns {
                for node in ["ha1", "ha2"] {
                    let nd = outcome.out.join(node);
                    for r in [keepalived_t(ns, &nd), nginx_t(&nd)] {
                        if let Err(e) = r {
                            failures.push(format!("{what}: {node}: {e}"));
                        }
                    }
                }
            }
        }
    }
    eprintln!("{refused} refused with HA001, {accepted} generated without the payload");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Every field that reaches a generated file refuses every payload.
    assert!(refused > accepted, "{refused} refused, {accepted} accepted");
}

#[test]
fn a_spec_path_with_a_newline_stays_in_its_comment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(format!("x\ntouch /tmp/{MARK} #"));
    let (o, out) = run(&dir, &spec_with("", ""));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (path, text) in generated(&out) {
        for line in text.lines() {
            assert!(
                !line.contains(MARK) || line.starts_with('#'),
                "{}: an injected line: {line:?}",
                path.display()
            );
        }
        let script = shell_lines(&text);
        assert!(!script.iter().any(|l| l.contains("touch")), "{script:?}");
    }
}

/// The lines of a text that a reader would not skip as a comment.
fn shell_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect()
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
}

/// A spec in a directory beside a FIFO, another cluster and a link: without `--fleet`
/// nothing beside the spec is read (the other cluster's VRID is not avoided: no fleet was
/// named); with it, the FIFO is skipped without being opened.
#[test]
fn the_fleet_is_read_only_where_named_and_never_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = tmp.path();
    let spec = spec_with("", "");
    let own = fleet.join("own");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(own.join("haconf.toml"), &spec).unwrap();
    // A FIFO beside the cluster, and one where a node's keepalived.conf would be.
    mkfifo(&fleet.join("a-fifo"));
    let other = fleet.join("other");
    std::fs::create_dir_all(other.join("n1")).unwrap();
    mkfifo(&other.join("n1/keepalived.conf"));
    // A node whose nginx.conf is a FIFO: a loader that opens it blocks for ever.
    let blocked = fleet.join("blocked");
    std::fs::create_dir_all(blocked.join("n1")).unwrap();
    std::fs::write(
        blocked.join("n1/keepalived.conf"),
        "vrrp_instance VI_1 {\n    virtual_router_id 7\n}\n",
    )
    .unwrap();
    mkfifo(&blocked.join("n1/nginx.conf"));
    std::os::unix::fs::symlink("/dev/zero", fleet.join("zero")).unwrap();
    // A sibling cluster whose VRID is the one `web` derives.
    let gen_into = |out: &Path, extra: &[&str]| {
        let mut cmd = haconf();
        cmd.arg("generate")
            .arg(own.join("haconf.toml"))
            .arg("--out")
            .arg(out)
            .args(extra);
        timed(cmd)
    };
    let first = fleet.join("first");
    let o = gen_into(&first, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let vrid = |dir: &Path| -> String {
        let t = std::fs::read_to_string(dir.join("ha1/keepalived.conf")).unwrap();
        t.lines()
            .filter(|l| l.trim_start().starts_with("virtual_router_id"))
            .map(|l| l.trim().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    // Without a fleet: the sibling is not read, the same VRIDs come out.
    let second = tmp.path().join("second-out");
    let o = gen_into(&second, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(vrid(&first), vrid(&second));
    // With one: the sibling's VRIDs are avoided, and the FIFOs did not block.
    let third = tmp.path().join("third-out");
    let o = gen_into(&third, &["--fleet", fleet.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(vrid(&first), vrid(&third));
}

/// Runs `cmd`, failing the test when it takes more than 20 s (a blocked open).
fn timed(mut cmd: Command) -> std::process::Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("generate blocked for 20 s");
        }
    }
}
