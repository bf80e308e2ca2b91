//! The properties the fuzz targets of `fuzz/` check, kept in the library so that
//! `tests/fuzz_replay.rs` replays the seed corpus and every crash ever found through the same
//! code in a plain `cargo test`, without cargo-fuzz or a nightly compiler.
//!
//! Each function takes arbitrary bytes and panics only when haconf is wrong: a parser that
//! panics, loses bytes, or returns a span outside the text; a spec that `generate` accepts but
//! renders into a file with a line the spec did not ask for; an LSP frame reader that stops
//! reading or grows without bound.

#![doc(hidden)]

use crate::lsp::features::{self, Kind};
use crate::source::{SourceFile, Span};
use crate::syntax::{keepalived as ka, nginx as ng};
use crate::vocab::nginx::Context;

/// The text the parsers see (invalid UTF-8 replaced byte for byte, as the loader does).
fn text_of(data: &[u8]) -> String {
    SourceFile::new("fuzz", data.to_vec()).text
}

/// A char boundary of `text` chosen by the input, for the editor features.
fn offset_in(text: &str, data: &[u8]) -> usize {
    let seed = data.iter().fold(0usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(*b))
    });
    let mut at = if text.is_empty() {
        0
    } else {
        seed % (text.len() + 1)
    };
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn check_span(text: &str, s: Span, what: &str) {
    assert!(
        s.start <= s.end && s.end <= text.len(),
        "{what} span {s:?} outside the text of {} bytes",
        text.len()
    );
    assert!(
        text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
        "{what} span {s:?} cuts a character"
    );
}

/// keepalived.conf: lossless parse, spans inside the text, hover and completion anywhere.
pub fn keepalived(data: &[u8]) {
    let text = text_of(data);
    let file = ka::parse(&text);
    assert_eq!(
        file.print(text.as_bytes()),
        text.as_bytes(),
        "the tokens do not rebuild the text"
    );
    for e in &file.errors {
        check_span(&text, e.span, "error");
    }
    let mut path = Vec::new();
    ka::walk(&file.items, &mut path, &mut |s, _| {
        check_span(&text, s.span, "statement");
        for w in &s.words {
            check_span(&text, w.span, "word");
        }
        if let Some(b) = &s.block {
            check_span(&text, b.open, "brace");
        }
    });
    let at = offset_in(&text, data);
    let _ = features::hover(&text, at, Kind::Keepalived);
    let _ = features::completion(&text, at, Kind::Keepalived);
}

/// nginx.conf: lossless parse, spans inside the text, hover and completion anywhere.
pub fn nginx(data: &[u8]) {
    let text = text_of(data);
    let file = ng::parse(&text);
    assert_eq!(
        file.print(text.as_bytes()),
        text.as_bytes(),
        "the tokens do not rebuild the text"
    );
    for e in &file.errors {
        check_span(&text, e.span, "error");
    }
    let mut path = Vec::new();
    ng::walk(&file.items, &mut path, &mut |d, _| {
        check_span(&text, d.span, "directive");
        check_span(&text, d.name.span, "name");
        for w in &d.args {
            check_span(&text, w.span, "argument");
        }
    });
    let at = offset_in(&text, data);
    let _ = features::hover(&text, at, Kind::Nginx(Context::Http));
    let _ = features::completion(&text, at, Kind::Nginx(Context::Main));
}

/// A check script: parsed as a shell does and its exit statuses analysed, with and without
/// `-e`; spans inside the text.
pub fn shell(data: &[u8]) {
    let text = text_of(data);
    match crate::shell::parse(&text, 0) {
        Ok(node) => {
            for errexit in [false, true] {
                let a = crate::shell::analysis::analyse(&node, errexit);
                for c in &a.commands {
                    check_span(&text, c.span, "command");
                    for w in &c.words {
                        check_span(&text, w.span, "word");
                    }
                    let _ = (c.args(), c.name_span());
                }
                let _ = a.can_fail();
            }
        }
        Err(e) => assert!(e.offset <= text.len(), "error offset outside the text"),
    }
}

/// haconf.toml: read as `check` and `generate` read it; when `generate` would accept it, the
/// files it renders hold exactly the statements the templates write — no line, block,
/// directive or command that came from a value — and no control character.
pub fn spec(data: &[u8]) {
    use crate::generate::{self, Layout, templates::Templates};
    let mut db = crate::source::SourceDb::new();
    let file = db.add(SourceFile::new("haconf.toml", data.to_vec()));
    let (spec, errs) = crate::cluster::spec::parse(&db, file);
    for e in &errs {
        check_span(&db.get(file).text, e.span, "HA001");
    }
    let Some(spec) = spec.filter(|_| errs.is_empty()) else {
        return;
    };
    let Ok(plans) = generate::plan(&spec, file, "fuzz/haconf.toml", &[]) else {
        return;
    };
    let tpl = Templates::load(None).expect("the built-in templates load");
    let files = generate::render(&plans, &tpl, Layout::Flat).expect("a planned spec renders");
    for g in &files {
        let text = &g.content;
        let name = g.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            !text.chars().any(|c| c != '\n' && c.is_control()),
            "{name}: a control character"
        );
        match name {
            "keepalived.conf" => {
                let f = ka::parse(text);
                assert!(f.errors.is_empty(), "{name}: {:?}\n{text}", f.errors);
                let mut path = Vec::new();
                ka::walk(&f.items, &mut path, &mut |s, up| {
                    let kw = s.keyword().unwrap_or("");
                    let up = up.join("/");
                    if up.ends_with("unicast_peer") || up.ends_with("virtual_ipaddress") {
                        let ip = kw.split_once('/').map_or(kw, |x| x.0);
                        assert!(
                            ip.parse::<std::net::IpAddr>().is_ok() && s.words.len() == 1,
                            "{name}: `{kw}` in {up} is not one address\n{text}"
                        );
                        return;
                    }
                    let known = KA_TEMPLATE.iter().any(|(p, k)| *k == kw && *p == up);
                    assert!(
                        known,
                        "{name}: `{kw}` in {up:?} is not from the template\n{text}"
                    );
                });
            }
            "nginx.conf" => {
                let f = ng::parse(text);
                assert!(f.errors.is_empty(), "{name}: {:?}\n{text}", f.errors);
                let mut path = Vec::new();
                ng::walk(&f.items, &mut path, &mut |d, _| {
                    assert!(
                        NGINX_TEMPLATE.contains(&d.name.value.as_str()),
                        "{name}: `{}` is not from the template\n{text}",
                        d.name.value
                    );
                });
            }
            _ => {
                let node = crate::shell::parse(text, 0).expect("the check script parses");
                let a = crate::shell::analysis::analyse(&node, false);
                assert_eq!(a.commands.len(), 1, "{name}: one command\n{text}");
                let code: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.is_empty())
                    .collect();
                assert_eq!(code.len(), 1, "{name}: one line of code\n{text}");
            }
        }
    }
}

/// (enclosing blocks, keyword) of every statement the keepalived template writes, or of a
/// value line inside a value block (an address).
const KA_TEMPLATE: &[(&str, &str)] = &[
    ("", "global_defs"),
    ("global_defs", "router_id"),
    ("global_defs", "enable_script_security"),
    ("global_defs", "script_user"),
    ("global_defs", "vrrp_version"),
    ("", "vrrp_script"),
    ("vrrp_script", "script"),
    ("vrrp_script", "interval"),
    ("vrrp_script", "timeout"),
    ("vrrp_script", "fall"),
    ("vrrp_script", "rise"),
    ("vrrp_script", "weight"),
    ("", "vrrp_instance"),
    ("vrrp_instance", "state"),
    ("vrrp_instance", "interface"),
    ("vrrp_instance", "virtual_router_id"),
    ("vrrp_instance", "priority"),
    ("vrrp_instance", "advert_int"),
    ("vrrp_instance", "unicast_src_ip"),
    ("vrrp_instance", "unicast_peer"),
    ("vrrp_instance", "mcast_src_ip"),
    ("vrrp_instance", "authentication"),
    ("vrrp_instance/authentication", "auth_type"),
    ("vrrp_instance/authentication", "auth_pass"),
    ("vrrp_instance", "virtual_ipaddress"),
    ("vrrp_instance", "track_script"),
    ("vrrp_instance/track_script", "chk_nginx"),
];

const NGINX_TEMPLATE: &[&str] = &[
    "user",
    "worker_processes",
    "pid",
    "error_log",
    "events",
    "worker_connections",
    "http",
    "include",
    "default_type",
    "sendfile",
    "keepalive_timeout",
    "access_log",
    "upstream",
    "server",
    "keepalive",
    "listen",
    "server_name",
    "location",
    "return",
    "proxy_pass",
    "proxy_http_version",
    "proxy_set_header",
    "proxy_connect_timeout",
    "proxy_read_timeout",
    "proxy_next_upstream",
    "proxy_next_upstream_tries",
    "root",
    "index",
    "try_files",
];

/// The LSP frame reader on arbitrary bytes: it ends (every frame makes progress), keeps no
/// frame larger than the input, and every answer it writes is JSON-RPC 2.0. (A good frame
/// after the bytes is not always read whole: the bytes may declare a length that covers it.)
pub fn lsp_framing(data: &[u8]) {
    use crate::lsp::transport::{Frame, FrameReader, handle};
    let good = br#"{"jsonrpc":"2.0","id":7,"method":"shutdown"}"#;
    let mut input = data.to_vec();
    input.extend_from_slice(format!("\r\n\r\nContent-Length: {}\r\n\r\n", good.len()).as_bytes());
    input.extend_from_slice(good);
    let mut r = FrameReader::new(&input[..]);
    let mut frames = 0;
    while let Some(f) = r.next_frame() {
        frames += 1;
        assert!(
            frames <= input.len() + 1,
            "the reader does not make progress"
        );
        if let Frame::Body(b) | Frame::Cut(b, _) = &f {
            assert!(b.len() <= input.len(), "a frame longer than the input");
        }
        let (_, replies) = handle(f);
        for reply in replies {
            let v: serde_json::Value = serde_json::from_str(&reply).expect("a reply is JSON");
            assert_eq!(v["jsonrpc"], "2.0");
        }
    }
}
