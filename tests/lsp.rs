//! `haconf lsp` end to end: the real binary, JSON-RPC with Content-Length framing over stdio.

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use lsp_client::{Client, uri};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn codes(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Applies LSP text edits (ASCII text) to `text`.
fn apply(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let pos = |p: &Value| {
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

fn seed_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("seed-cluster");
    for node in ["ha1", "ha2"] {
        std::fs::create_dir_all(c.join(node)).unwrap();
        for f in [
            "keepalived.conf",
            "nginx.conf",
            "chk_nginx.sh",
            "index.html",
        ] {
            let from = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/seed-cluster")
                .join(node)
                .join(f);
            std::fs::write(c.join(node).join(f), std::fs::read(&from).unwrap()).unwrap();
        }
    }
    (dir, c)
}

#[test]
fn a_session_on_the_seed_cluster() {
    let (_tmp, c) = seed_copy();
    let ka = c.join("ha1/keepalived.conf");
    let ka_uri = uri(&ka);
    let ha2_uri = uri(&c.join("ha2/keepalived.conf"));
    let mut text = std::fs::read_to_string(&ka).unwrap();
    let mut lsp = Client::start(env!("CARGO_BIN_EXE_haconf"));
    let init = lsp.initialize(&c);
    assert!(
        init["result"]["capabilities"]["hoverProvider"] == true,
        "{init}"
    );

    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": ka_uri, "languageId": "keepalived", "version": 1, "text": text}}),
    );
    let diags = lsp.diagnostics(&ka_uri);
    let found = codes(&diags);
    assert!(
        found.contains(&"KA010".into()) && found.contains(&"CL010".into()),
        "{found:?}"
    );
    // Cross-node: the CL010 finding points at the other node's line.
    let cl010 = diags.iter().find(|d| d["code"] == "CL010").unwrap();
    assert_eq!(
        cl010["relatedInformation"][0]["location"]["uri"], ha2_uri,
        "{cl010}"
    );
    // ...and the other node's file gets its diagnostics too.
    assert!(codes(&lsp.diagnostics(&ha2_uri)).contains(&"CL010".into()));

    // The KA010 quick fix adds the peers; applied and sent back, KA010 is gone.
    let ka010 = diags.iter().find(|d| d["code"] == "KA010").unwrap().clone();
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": ka_uri}, "range": ka010["range"], "context": {"diagnostics": [ka010]}}),
    );
    let actions = actions["result"].as_array().unwrap().clone();
    let fix = actions
        .iter()
        .find(|a| {
            a["kind"] == "quickfix"
                && a["edit"]["changes"][&ka_uri].is_array()
                && a["title"].as_str().unwrap().contains("KA010")
        })
        .unwrap_or_else(|| panic!("no KA010 fix in {actions:#?}"));
    assert!(
        actions
            .iter()
            .any(|a| a["title"] == "Ignore KA010 on this line")
    );
    text = apply(&text, fix["edit"]["changes"][&ka_uri].as_array().unwrap());
    assert!(text.contains("unicast_peer"), "{text}");
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": ka_uri, "version": 2}, "contentChanges": [{"text": text}]}),
    );
    let after = codes(&lsp.diagnostics(&ka_uri));
    assert!(!after.contains(&"KA010".into()), "{after:?}");
    assert!(after.contains(&"CL010".into()), "{after:?}");

    // "Fix all safe" covers both nodes.
    let all = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": ka_uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": [], "only": ["source.fixAll.haconf"]}}),
    );
    let all = all["result"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(
        all[0]["edit"]["changes"][&ha2_uri].is_array(),
        "{:#}",
        all[0]
    );

    // Hover on a keyword.
    let line = text.lines().position(|l| l.contains("advert_int")).unwrap();
    let col = text.lines().nth(line).unwrap().find("advert_int").unwrap() + 3;
    let h = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": ka_uri}, "position": {"line": line, "character": col}}),
    );
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("advert_int"),
        "{h}"
    );

    // Completion inside vrrp_instance.
    let line = text.lines().position(|l| l.contains("advert_int")).unwrap();
    let c = lsp.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": ka_uri}, "position": {"line": line, "character": 0}}),
    );
    let labels: Vec<&str> = c["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"virtual_router_id") && !labels.contains(&"router_id"),
        "{labels:?}"
    );

    // Go to definition: track_script entry -> its vrrp_script.
    let lines: Vec<&str> = text.lines().collect();
    let line = lines
        .iter()
        .rposition(|l| l.trim() == "chk_http_port")
        .unwrap();
    let col = lines[line].find("chk_http_port").unwrap() + 2;
    let d = lsp.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": ka_uri}, "position": {"line": line, "character": col}}),
    );
    assert_eq!(d["result"]["uri"], ka_uri, "{d}");
    let def_line = d["result"]["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(lines[def_line].contains("vrrp_script chk_http_port"), "{d}");

    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn garbage_unknown_methods_and_loose_files_do_not_stop_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lsp = Client::start(env!("CARGO_BIN_EXE_haconf"));
    lsp.initialize(tmp.path());
    // Not JSON at all.
    lsp.raw("this is not json");
    let e = lsp.wait(|m| m["error"]["code"] == -32700);
    assert!(e["id"].is_null(), "{e}");
    // JSON, but not JSON-RPC.
    lsp.raw("{\"hello\": 1}");
    lsp.wait(|m| m["error"]["code"] == -32600);
    // An unknown method.
    let r = lsp.request("haconf/doesNotExist", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // Bad parameters.
    let r = lsp.request("textDocument/hover", json!({"nope": true}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // A document outside any cluster.
    let loose = tmp.path().join("loose.conf");
    let uri = uri(&loose);
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "nginx", "version": 1, "text": "http {\n    listen 80;\n}\n"}}),
    );
    let diags = lsp.diagnostics(&uri);
    assert!(!diags.is_empty());
    // Still answering, and with the directive's documentation, not an empty reply.
    let h = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 6}}),
    );
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("listen")),
        "{h}"
    );
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn haconf_toml_and_scripts_get_diagnostics_too() {
    let (_tmp, c) = seed_copy();
    let mut lsp = Client::start(env!("CARGO_BIN_EXE_haconf"));
    lsp.initialize(&c);
    // A spec with a misspelt key: HA001 where the typo is.
    let spec = c.join("haconf.toml");
    std::fs::write(&spec, "[[node]]\nname = \"ha1\"\n").unwrap();
    let spec_uri = uri(&spec);
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": spec_uri, "languageId": "toml", "version": 1, "text": "[[node]]\nname = \"ha1\"\nadress = \"192.168.0.10\"\n"}}),
    );
    let d = lsp.diagnostics(&spec_uri);
    let ha001 = d
        .iter()
        .find(|x| x["code"] == "HA001")
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(ha001["range"]["start"]["line"], 2, "{ha001}");
    // The check script: HC001 on its last line.
    let script = c.join("ha1/chk_nginx.sh");
    let script_uri = uri(&script);
    let text = std::fs::read_to_string(&script).unwrap();
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": script_uri, "languageId": "shellscript", "version": 1, "text": text}}),
    );
    let d = lsp.diagnostics(&script_uri);
    let found = codes(&d);
    assert!(
        found.contains(&"HC001".into()) && found.contains(&"HC003".into()),
        "{found:?}"
    );
    assert_eq!(lsp.shutdown(), Some(0));
}

/// A document far over the 16 MiB cap is refused with a diagnostic on it, and a request
/// sent right after it is answered within a second.
#[test]
fn a_40_mb_document_is_refused_and_the_server_stays_responsive() {
    let (_tmp, c) = seed_copy();
    let mut lsp = Client::start(env!("CARGO_BIN_EXE_haconf"));
    lsp.initialize(&c);
    let big = c.join("ha1/keepalived.conf");
    let big_uri = uri(&big);
    let line = "vrrp_instance VI_1 {\n    priority 100\n}\n";
    let text = line.repeat(40 * 1024 * 1024 / line.len());
    assert!(text.len() > 39 * 1024 * 1024);
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": big_uri, "languageId": "keepalived", "version": 1, "text": text}}),
    );
    drop(text);
    let small = c.join("ha2/keepalived.conf");
    let t = std::time::Instant::now();
    let h = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&small)}, "position": {"line": 1, "character": 3}}),
    );
    let took = t.elapsed();
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("global_defs")),
        "{h}"
    );
    assert!(
        took < std::time::Duration::from_secs(1),
        "hover took {took:?}"
    );
    let d = lsp.diagnostics(&big_uri);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than the 16 MiB"),
        "{d:#?}"
    );
    // Hover on the refused document answers at once, with nothing.
    let h = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": big_uri}, "position": {"line": 0, "character": 2}}),
    );
    assert!(h["result"].is_null(), "{h}");
    assert_eq!(lsp.shutdown(), Some(0));
}

/// While a large document (under the cap) is being analysed, requests are answered.
#[test]
fn requests_are_answered_while_a_large_document_is_analysed() {
    let (_tmp, c) = seed_copy();
    let mut lsp = Client::start(env!("CARGO_BIN_EXE_haconf"));
    lsp.initialize(&c);
    let big = c.join("ha1/keepalived.conf");
    let big_uri = uri(&big);
    let mut text = std::fs::read_to_string(&big).unwrap();
    let block = "vrrp_instance VI_X {\n    state BACKUP\n    interface eth0\n    virtual_router_id 77\n    priority 90\n    virtual_ipaddress {\n        192.168.0.200/24\n    }\n}\n";
    while text.len() < 12 * 1024 * 1024 {
        text.push_str(block);
    }
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": big_uri, "languageId": "keepalived", "version": 1, "text": text}}),
    );
    // Give the server the time to start the analysis, then ask.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let small = c.join("ha2/nginx.conf");
    let t = std::time::Instant::now();
    let h = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri(&small)}, "position": {"line": 0, "character": 1}}),
    );
    assert!(h.get("result").is_some(), "{h}");
    let hover_took = t.elapsed();
    let t = std::time::Instant::now();
    let id = lsp.send_request("shutdown", serde_json::Value::Null);
    let r = lsp.wait(|m| m["id"] == id);
    let shutdown_took = t.elapsed();
    assert!(r["result"].is_null(), "{r}");
    assert!(
        hover_took < std::time::Duration::from_secs(1)
            && shutdown_took < std::time::Duration::from_secs(1),
        "hover {hover_took:?}, shutdown {shutdown_took:?}"
    );
}

/// A Content-Length larger than its body: the frame is reported, the next message read,
/// and `shutdown` answered.
#[test]
fn a_short_body_is_reported_and_shutdown_still_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lsp = Client::start(env!("CARGO_BIN_EXE_haconf"));
    lsp.initialize(tmp.path());
    // A Content-Length smaller than the body, then garbage between frames.
    lsp.raw_bytes(b"Content-Length: 5\r\n\r\n{\"jsonrpc\":\"2.0\"}garbage\r\n");
    let e = lsp.wait(|m| m["error"]["code"] == -32700);
    assert!(e["id"].is_null(), "{e}");
    // A Content-Length larger than its body, then `shutdown`, whose header falls inside the
    // bytes the first frame claims.
    let body = r#"{"jsonrpc":"2.0","method":"haconf/nothing","params":{}}"#;
    lsp.raw_bytes(format!("Content-Length: {}\r\n\r\n{body}", body.len() + 500).as_bytes());
    let id = lsp.send_request("shutdown", serde_json::Value::Null);
    let r = lsp.wait(|m| m["id"] == id);
    assert!(r["result"].is_null(), "{r}");
    // Both faults were reported.
    lsp.wait(|m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("before a Content-Length header"))
    });
    lsp.wait(|m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("broken frame"))
    });
}

/// Every message the server sends says `"jsonrpc": "2.0"`: responses, errors,
/// notifications.
#[test]
fn every_message_carries_jsonrpc_2_0() {
    let (_tmp, c) = seed_copy();
    let mut lsp = Client::start(env!("CARGO_BIN_EXE_haconf"));
    lsp.initialize(&c);
    let ka = c.join("ha1/keepalived.conf");
    let ka_uri = uri(&ka);
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": ka_uri, "languageId": "keepalived", "version": 1, "text": std::fs::read_to_string(&ka).unwrap()}}),
    );
    let d = lsp.diagnostics(&ka_uri);
    assert!(!d.is_empty());
    lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": ka_uri}, "position": {"line": 0, "character": 0}}),
    );
    lsp.request("haconf/doesNotExist", json!({}));
    lsp.request("textDocument/hover", json!({"nope": true}));
    lsp.raw("not json");
    lsp.wait(|m| m["error"]["code"] == -32700);
    lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": ka_uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}),
    );
    let all = lsp.all.clone();
    assert!(all.len() >= 7, "{all:#?}");
    for m in &all {
        assert_eq!(m["jsonrpc"], "2.0", "{m}");
    }
    assert!(all.iter().any(|m| m.get("method").is_some()));
    assert!(all.iter().any(|m| m.get("error").is_some()));
    assert!(all.iter().any(|m| m.get("result").is_some()));
    assert_eq!(lsp.shutdown(), Some(0));
}
