//! `haconf fmt` end to end: tricky layouts (insta snapshots of what a user gets), the seed
//! cluster, `--check` / `--diff` / `--stdin-filepath`, in-place writes, `[format]`,
//! `fix --format` and the language server's formatting requests.

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use common::haconf;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// `haconf fmt --stdin-filepath NAME ARGS` on `input`: (exit code, stdout, stderr).
fn stdin_fmt(name: &str, input: &str, args: &[&str]) -> (i32, String, String) {
    let mut child = haconf()
        .args(["fmt", "--stdin-filepath", name])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Formats `input` as `name`, checks that formatting the result changes nothing, returns it.
fn formatted(name: &str, input: &str) -> String {
    let (code, out, err) = stdin_fmt(name, input, &[]);
    assert_eq!(code, 0, "{err}");
    let (code, again, err) = stdin_fmt(name, &out, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(again, out, "fmt is not idempotent");
    out
}

#[test]
fn keepalived_comments_at_ends_of_lines() {
    insta::assert_snapshot!(formatted(
        "keepalived.conf",
        "vrrp_instance VI_1 {   # the web VIP\n  state MASTER     ! becomes BACKUP on ha2\n      priority 101#no space before it\n  auth_pass \"a#b!c\"   # a quoted # is not a comment\n}   # end\n"
    ));
}

#[test]
fn keepalived_one_line_blocks_and_lone_braces() {
    insta::assert_snapshot!(formatted(
        "keepalived.conf",
        "global_defs { router_id a }\nvrrp_instance VI_1\n{\nvirtual_ipaddress { 10.0.0.1/24 }\n  track_script\n  {   # scripts\nchk\n}\n  authentication { auth_type PASS\n auth_pass x }\n}\n"
    ));
}

#[test]
fn keepalived_definitions() {
    insta::assert_snapshot!(formatted(
        "keepalived.conf",
        "$IFACE=eth0\n   $VIPS=10.0.0.1/24 \\\n         10.0.0.2/24\n$EMPTY =\nvrrp_instance VI_1 {\n        interface    $IFACE\n   virtual_ipaddress {\n $VIPS\n   }\n}\n"
    ));
}

#[test]
fn keepalived_conditional_and_generated_lines() {
    insta::assert_snapshot!(formatted(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n@ha1   state MASTER\n   @^ha1 state BACKUP\n@ha1 priority 101\n  @ha2priority 100\n  @ha1 $PRIO=101\n virtual_ipaddress {\n~SEQ(n, 1, 3)    10.0.0.$n/24\n   }\n}\n"
    ));
}

#[test]
fn nginx_if_with_regexes() {
    insta::assert_snapshot!(formatted(
        "nginx.conf",
        "server {\nif ($http_user_agent ~* \"(curl|wget){1,2}\") {return 403;}\n  if ($request_uri ~ ^/old/(.*)$){ rewrite ^ /new/$1 permanent; }\n    location ~* \\.(png|jpe?g)$ { expires 7d; }\nlocation ~ \"^/a b/\" {return 204;}\n}\n"
    ));
}

#[test]
fn nginx_map_with_empty_keys() {
    insta::assert_snapshot!(formatted(
        "nginx.conf",
        "http {\nmap $http_upgrade $connection_upgrade {\ndefault upgrade;\n'' close;\n}\n  map $uri $new { hostnames; \"\" 0;  ~^/old/(?<rest>.*)$   /new/$rest; include more_redirects.map; }\n}\n"
    ));
}

#[test]
fn nginx_json_log_formats() {
    insta::assert_snapshot!(formatted(
        "nginx.conf",
        "http {\n  log_format  main  '$remote_addr - $remote_user [$time_local] \"$request\" '\n                    '$status $body_bytes_sent';\nlog_format json_combined escape=json\n  '{'\n    '\"time_local\":\"$time_local\",'\n    '\"status\": \"$status\"'\n  '}';\n    add_header Content-Security-Policy\n        \"default-src 'self'; \"\n        \"img-src 'self' data:\" always;\n}\n"
    ));
}

#[test]
fn nginx_statements_blocks_and_lua() {
    insta::assert_snapshot!(formatted(
        "nginx.conf",
        "events {}\nhttp { server { listen 80; server_name a.example b.example;   # names\n\n\n\n location / { root /srv; }\n location /lua { content_by_lua_block {\n      local t = { a = \"}\" }\n      ngx.say(t.a)\n  }\n }\n }\n}\n"
    ));
}

#[test]
fn the_seed_reads_like_a_hand_written_example() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed-cluster");
    let mut all = String::new();
    for f in [
        "ha1/keepalived.conf",
        "ha1/nginx.conf",
        "ha2/keepalived.conf",
    ] {
        let text = std::fs::read_to_string(seed.join(f)).unwrap();
        all.push_str(&format!("==> {f} <==\n{}", formatted(f, &text)));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn check_diff_and_write_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    common::write_tree(
        &c,
        &[
            (
                "ha1/keepalived.conf",
                "vrrp_instance VI_1 {\nstate MASTER\n}\n",
            ),
            (
                "ha1/nginx.conf",
                "events {}\nhttp { include conf.d/*.conf; }\n",
            ),
            ("ha1/conf.d/site.conf", "server {listen 80;}\n"),
            ("ha1/chk.sh", "#!/bin/sh\n  exit   0\n"),
        ],
    );
    use std::os::unix::fs::PermissionsExt;
    let ka = c.join("ha1/keepalived.conf");
    std::fs::set_permissions(&ka, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = |args: &[&str]| {
        let o = haconf().arg("fmt").args(args).arg(&c).output().unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["--check"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    for f in ["keepalived.conf", "nginx.conf", "site.conf"] {
        assert!(out.contains(f), "{out}");
    }
    assert!(err.contains("3 files would be reformatted"), "{err}");
    let (code, out, _) = run(&["--diff"]);
    assert_eq!(code, 1);
    assert!(out.contains("+    state MASTER"), "{out}");
    assert!(out.contains("+    listen 80;"), "{out}");
    // Nothing was written so far.
    assert_eq!(
        std::fs::read_to_string(&ka).unwrap(),
        "vrrp_instance VI_1 {\nstate MASTER\n}\n"
    );
    let (code, _, err) = run(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&ka).unwrap(),
        "vrrp_instance VI_1 {\n    state MASTER\n}\n"
    );
    assert_eq!(
        std::fs::metadata(&ka).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(c.join("ha1/.keepalived.conf.haconf-bak").exists());
    // The script is not a config: untouched.
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/chk.sh")).unwrap(),
        "#!/bin/sh\n  exit   0\n"
    );
    let (code, _, err) = run(&["--check"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 files would be reformatted"), "{err}");
}

#[test]
fn broken_files_are_refused_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let broken = "vrrp_instance VI_1 {\nstate MASTER\n";
    common::write_tree(
        &c,
        &[
            ("ha1/keepalived.conf", broken),
            ("ha1/nginx.conf", "events {}\nhttp {server {listen 80;}}\n"),
        ],
    );
    let o = haconf().args(["fmt"]).arg(&c).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("keepalived.conf:1:20: not formatted: the block opened here is never closed"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/keepalived.conf")).unwrap(),
        broken
    );
    // The other file is formatted all the same.
    assert!(
        std::fs::read_to_string(c.join("ha1/nginx.conf"))
            .unwrap()
            .contains("\n        listen 80;\n")
    );
}

#[test]
fn a_link_out_of_the_cluster_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.conf");
    std::fs::write(&outside, "server {listen 80;}\n").unwrap();
    let c = dir.path().join("c");
    common::write_tree(
        &c,
        &[
            ("ha1/keepalived.conf", "global_defs {\n}\n"),
            ("ha1/nginx.conf", "events {}\nhttp { include site.conf; }\n"),
        ],
    );
    std::os::unix::fs::symlink(&outside, c.join("ha1/site.conf")).unwrap();
    let o = haconf().args(["fmt"]).arg(&c).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("site.conf: outside the paths given"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "server {listen 80;}\n"
    );
}

#[test]
fn stdin_filepath_check_and_diff() {
    let (code, out, _) = stdin_fmt("ha1/nginx.conf", "http {server {listen 80;}}\n", &[]);
    assert_eq!(code, 0);
    assert_eq!(out, "http {\n    server {\n        listen 80;\n    }\n}\n");
    let (code, out, _) = stdin_fmt("keepalived.conf", "a {\n    b\n}\n", &["--check"]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = stdin_fmt("keepalived.conf", "a {\nb\n}\n", &["--check"]);
    assert_eq!(code, 1);
    assert!(out.contains("Would reformat: keepalived.conf"), "{out}");
    let (code, out, _) = stdin_fmt("keepalived.conf", "a {\nb\n}\n", &["--diff"]);
    assert_eq!(code, 1);
    assert!(out.contains("-b\n+    b\n"), "{out}");
    // The name decides the dialect: `;` is a word in keepalived, a terminator in nginx.
    let (_, ka, _) = stdin_fmt("keepalived.conf", "a {\nb; c\n}\n", &[]);
    assert_eq!(ka, "a {\n    b; c\n}\n");
    let (code, _, err) = stdin_fmt("nginx.conf", "http {\n", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("nginx.conf:1:6: not formatted"), "{err}");
}

#[test]
fn crlf_files_stay_crlf() {
    let (code, out, _) = stdin_fmt("keepalived.conf", "a {\r\nb 1\r\n}\r\n", &[]);
    assert_eq!(code, 0);
    assert_eq!(out, "a {\r\n    b 1\r\n}\r\n");
    let (_, out, _) = stdin_fmt(
        "nginx.conf",
        "http {\r\nserver { listen 80; }\r\n}\r\n",
        &[],
    );
    assert_eq!(
        out,
        "http {\r\n    server {\r\n        listen 80;\r\n    }\r\n}\r\n"
    );
}

#[test]
fn format_table_sets_the_indentation() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    common::write_tree(
        &c,
        &[
            ("haconf.toml", "[format]\nindent-style = \"tab\"\n"),
            ("ha1/keepalived.conf", "a {\nb {\nc\n}\n}\n"),
        ],
    );
    let o = haconf()
        .args(["fmt", "--no-backup"])
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(c.join("ha1/keepalived.conf")).unwrap(),
        "a {\n\tb {\n\t\tc\n\t}\n}\n"
    );
    assert!(!c.join("ha1/.keepalived.conf.haconf-bak").exists());
    std::fs::write(c.join("haconf.toml"), "[format]\nindent-width = 2\n").unwrap();
    let (_, out, _) = stdin_fmt(
        c.join("ha1/keepalived.conf").to_str().unwrap(),
        "a {\nb\n}\n",
        &[],
    );
    assert_eq!(out, "a {\n  b\n}\n");
    std::fs::write(c.join("haconf.toml"), "[format]\nindent-width = 0\n").unwrap();
    let o = haconf().args(["fmt"]).arg(&c).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("indent-width 0 is outside 1..16"), "{err}");
    std::fs::write(c.join("haconf.toml"), "[format]\nindent = 2\n").unwrap();
    let o = haconf().args(["fmt", "--check"]).arg(&c).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown field `indent`"));
}

#[test]
fn fix_format_formats_what_fix_writes() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed-cluster");
    let run = |extra: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        let o = haconf()
            .args(["fix", "--out"])
            .arg(out.path().join("o"))
            .args(extra)
            .arg(&seed)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(out.path().join("o/ha1/keepalived.conf")).unwrap();
        (out, text)
    };
    let (_o1, plain) = run(&[]);
    let (_o2, pretty) = run(&["--format"]);
    assert_ne!(plain, pretty);
    let (code, again, err) = stdin_fmt("keepalived.conf", &pretty, &["--check"]);
    assert_eq!(code, 0, "not formatted: {again}{err}");
    assert!(pretty.contains("\n    state MASTER\n"), "{pretty}");
}

#[test]
fn the_language_server_formats_documents_and_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c");
    let text = "vrrp_instance VI_1 {\nstate MASTER\n  interface eth0\n   priority 100\n}\n";
    common::write_tree(&c, &[("ha1/keepalived.conf", text)]);
    let path = c.join("ha1/keepalived.conf");
    let uri = lsp_client::uri(&path);
    let mut lsp = lsp_client::Client::start(env!("CARGO_BIN_EXE_haconf"));
    let init = lsp.initialize(&c);
    assert_eq!(
        init["result"]["capabilities"]["documentFormattingProvider"],
        true
    );
    assert_eq!(
        init["result"]["capabilities"]["documentRangeFormattingProvider"],
        true
    );
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "keepalived", "version": 1, "text": text}}),
    );
    let r = lsp.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    let all = apply(text, edits);
    assert_eq!(
        all,
        "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    priority 100\n}\n"
    );
    // Line 2 only (`  interface eth0`): the other lines stay as they are.
    let r = lsp.request(
        "textDocument/rangeFormatting",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 3}}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let some = apply(text, r["result"].as_array().unwrap());
    assert!(some.contains("\n    interface eth0\n"), "{some}");
    assert!(some.contains("\n   priority 100\n"), "{some}");
    // A broken buffer is refused with the reason.
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "a {\n"}]}),
    );
    let r = lsp.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("never closed")),
        "{r}"
    );
    lsp.shutdown();
}

/// Applies LSP text edits to `text`.
fn apply(text: &str, edits: &[serde_json::Value]) -> String {
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let pos = |p: &serde_json::Value| {
                haconf::lsp::offset_of(
                    text,
                    lsp_types::Position::new(
                        p["line"].as_u64().unwrap() as u32,
                        p["character"].as_u64().unwrap() as u32,
                    ),
                )
            };
            (
                pos(&e["range"]["start"]),
                pos(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_owned();
    for (s, e, t) in spans {
        out.replace_range(s..e, &t);
    }
    out
}
