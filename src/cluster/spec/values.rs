//! What each string of haconf.toml may hold.
//!
//! `generate` writes spec strings into files that keepalived runs as root (its config and the
//! check script) and into nginx.conf, so a newline, a brace, a quote or a `$` in a name would
//! put lines and blocks there that nobody asked for. Every string of the spec is therefore
//! checked against what its field may hold — a name, an interface name, an address, a path —
//! from the TOML's own spans, so that a refusal (HA001) points at the value, and so that a
//! string in a place this table does not know (a key added later) still meets the strictest
//! rule that applies to all of them: no control characters. The templates quote every value
//! for its language too (`generate::templates`), but validation is the wall: what passes here
//! needs no quoting at all.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use std::net::IpAddr;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The kinds of string a spec holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Cluster, node and instance names: they become directory names, `router_id` and
    /// `vrrp_instance` names.
    Name,
    /// A Linux interface name (at most 15 bytes: IFNAMSIZ).
    Interface,
    Address,
    Network,
    Vip,
    /// A VRRP PASS password.
    AuthPass,
    /// A value from a fixed list (`failover`, `transport`, `kind`, `fail-on`).
    Word,
    /// The HTTP path the check requests.
    HttpPath,
    /// The process name `pgrep -x` looks for.
    Process,
    /// `host:port` of an upstream server.
    Backend,
    /// An absolute file system path written into nginx.conf.
    AbsPath,
    /// nginx `server_name`: names separated by single spaces.
    ServerName,
    /// A rule code or prefix.
    Code,
    /// A path or glob that only `check` reads (never written into a generated file).
    Pattern,
}

/// Where each field stands: its key path, `[]` for any array index.
const FIELDS: &[(&[&str], Field)] = &[
    (&["cluster", "name"], Field::Name),
    (&["cluster", "subnet"], Field::Network),
    (&["cluster", "interface"], Field::Interface),
    (&["cluster", "failover"], Field::Word),
    (&["cluster", "transport"], Field::Word),
    (&["cluster", "auth_pass"], Field::AuthPass),
    (&["cluster", "fleet"], Field::Pattern),
    (&["node", "[]", "name"], Field::Name),
    (&["node", "[]", "address"], Field::Address),
    (&["node", "[]", "address6"], Field::Address),
    (&["node", "[]", "interface"], Field::Interface),
    (&["instance", "[]", "name"], Field::Name),
    (&["instance", "[]", "vips", "[]"], Field::Vip),
    (&["instance", "[]", "priority", "[]"], Field::Name),
    (&["health_check", "kind"], Field::Word),
    (&["health_check", "path"], Field::HttpPath),
    (&["health_check", "process"], Field::Process),
    (&["nginx", "backends", "[]"], Field::Backend),
    (&["nginx", "root"], Field::AbsPath),
    (&["nginx", "server_name"], Field::ServerName),
    (&["nginx", "per-node", "[]"], Field::Pattern),
    (&["lint", "select", "[]"], Field::Code),
    (&["lint", "ignore", "[]"], Field::Code),
    (&["lint", "fail-on"], Field::Word),
    (&["lint", "per-file-ignores", "*", "[]"], Field::Code),
];

/// Tables whose keys are data, not field names: what the keys may hold.
const KEYS: &[(&[&str], Field)] = &[
    (&["instance", "[]", "priority"], Field::Name),
    (&["lint", "per-file-ignores"], Field::Pattern),
];

fn matches(pattern: &[&str], path: &[String]) -> bool {
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(path)
            .all(|(p, k)| *p == "*" || *p == k.as_str())
}

fn field_at(table: &[(&[&str], Field)], path: &[String]) -> Option<Field> {
    table.iter().find(|(p, _)| matches(p, path)).map(|x| x.1)
}

/// Characters that end or bend a line in some reader: control characters (C0, DEL, C1),
/// the Unicode line and paragraph separators, and the invisible format characters that make
/// a line read differently from what it holds (bidirectional overrides, zero-width ones).
pub(crate) fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// A character as a message shows it: never raw when it is not printable.
fn show(c: char) -> String {
    match c {
        '\n' => "a newline (`\\n`)".into(),
        '\r' => "a carriage return (`\\r`)".into(),
        '\t' => "a tab".into(),
        '\0' => "a NUL byte".into(),
        ' ' => "a space".into(),
        c if is_unsafe_char(c) => format!("the invisible character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

fn only(s: &str, allowed: impl Fn(char) -> bool) -> Result<(), char> {
    match s.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(c),
        None => Ok(()),
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn is_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Why `s` cannot be a value of `field` (`None`: it can). The messages never repeat a
/// password.
fn check(field: Field, s: &str) -> Option<String> {
    let bad = |c: char, what: &str| Some(format!("holds {}: {what}", show(c)));
    // Every field: nothing that ends or bends a line.
    if let Some(c) = s.chars().find(|c| is_unsafe_char(*c)) {
        return bad(c, "no value of haconf.toml may hold control characters");
    }
    match field {
        Field::Name => {
            let rule = "a name is 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit";
            if let Err(c) = only(s, name_char) {
                return bad(c, rule);
            }
            if s.is_empty() || s.len() > 64 || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Some(format!("`{s}` is not a name: {rule}"));
            }
        }
        Field::Interface => {
            let rule =
                "an interface name is 1 to 15 letters, digits, `-`, `_` or `.` (Linux's IFNAMSIZ)";
            if let Err(c) = only(s, name_char) {
                return bad(c, rule);
            }
            if s.is_empty() || s.len() > 15 || s == "." || s == ".." {
                return Some(format!("`{s}` is not an interface name: {rule}"));
            }
        }
        Field::Address => {
            if s.parse::<IpAddr>().is_err() {
                return Some(format!("`{}` is not an IP address", s.escape_debug()));
            }
        }
        Field::Network => {
            if super::Net::parse(s).is_none() {
                return Some(format!(
                    "`{}` is not a network (`192.168.0.0/24`)",
                    s.escape_debug()
                ));
            }
        }
        Field::Vip => {
            let (a, p) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
            let ok = a.parse::<IpAddr>().is_ok_and(|ip| {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                p.is_none_or(|p| {
                    p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u8>().is_ok_and(|l| l <= max)
                })
            });
            if !ok {
                return Some(format!(
                    "`{}` is not an address (`192.168.0.100/24`)",
                    s.escape_debug()
                ));
            }
        }
        Field::AuthPass => {
            let rule = "auth_pass is printable ASCII without spaces, quotes, `#`, `!`, `\\`, `$`, `{` or `}`";
            if let Err(c) = only(s, |c| {
                c.is_ascii_graphic()
                    && !matches!(c, '"' | '\'' | '#' | '!' | '\\' | '$' | '{' | '}')
            }) {
                return bad(c, rule);
            }
            if s.is_empty() || s.len() > 8 {
                return Some(
                    "auth_pass must be 1 to 8 characters: keepalived uses only the first 8".into(),
                );
            }
        }
        Field::Word => {
            if let Err(c) = only(s, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return bad(c, "the value is one of a fixed list of words");
            }
        }
        Field::HttpPath => {
            let rule = "the path starts with `/` and holds letters, digits and `/ . _ ~ % + , : @ = & ? -`";
            if let Err(c) = only(s, |c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        '/' | '.' | '_' | '~' | '%' | '+' | ',' | ':' | '@' | '=' | '&' | '?' | '-'
                    )
            }) {
                return bad(c, rule);
            }
            if !s.starts_with('/') || s.len() > 512 {
                return Some(format!("`{s}`: {rule}, at most 512 bytes"));
            }
        }
        Field::Process => {
            let rule = "a process name is 1 to 15 letters, digits, `-`, `_`, `.` or `:`, starting with a letter, digit or `_` (Linux keeps 15 bytes of a process name, which `pgrep -x` compares)";
            if let Err(c) = only(s, |c| name_char(c) || c == ':') {
                return bad(c, rule);
            }
            if s.is_empty()
                || s.len() > 15
                || !s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            {
                return Some(format!("`{s}`: {rule}"));
            }
        }
        Field::Backend => {
            let ok = s.rsplit_once(':').is_some_and(|(h, p)| {
                let host = match h.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                    Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
                    None => h.parse::<std::net::Ipv4Addr>().is_ok() || is_hostname(h),
                };
                host && p.bytes().all(|b| b.is_ascii_digit())
                    && p.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !ok {
                return Some(format!(
                    "backend `{}` is not host:port (`10.0.1.31:8080`, `app.internal:8080`, `[fd00::31]:8080`)",
                    s.escape_debug()
                ));
            }
        }
        Field::AbsPath => {
            let rule = "the path is absolute and holds letters, digits and `/ . _ - + @ % , = : ~`";
            if let Err(c) = only(s, |c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        '/' | '.' | '_' | '-' | '+' | '@' | '%' | ',' | '=' | ':' | '~'
                    )
            }) {
                return bad(c, rule);
            }
            if !s.starts_with('/') || s.len() > 1024 {
                return Some(format!("`{s}`: {rule}, at most 1024 bytes"));
            }
        }
        Field::ServerName => {
            let rule = "server_name is host names separated by single spaces (`*.example.com`, `.example.com`, `_`), no regular expressions";
            if let Err(c) = only(s, |c| name_char(c) || c == '*' || c == ' ') {
                return bad(c, rule);
            }
            let names_ok = s.split(' ').all(|n| {
                let core = n.strip_prefix("*.").or(n.strip_prefix('.')).unwrap_or(n);
                let core = core.strip_suffix(".*").unwrap_or(core);
                n == "_" || (!core.contains('*') && is_hostname(core))
            });
            if !names_ok {
                return Some(format!("`{s}`: {rule}"));
            }
        }
        Field::Code => {
            if let Err(c) = only(s, |c| c.is_ascii_alphanumeric()) {
                return bad(
                    c,
                    "a rule code or prefix is letters and digits (`KA`, `NX010`)",
                );
            }
        }
        Field::Pattern => {}
    }
    None
}

/// Whether `s` can be a cluster, node or instance name.
pub(crate) fn is_name(s: &str) -> bool {
    check(Field::Name, s).is_none()
}

/// The path of a value, for messages: `node[1].interface`.
fn dotted(path: &[String]) -> String {
    let mut s = String::new();
    for k in path {
        if k.starts_with('[') {
            s.push_str(k);
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(k);
        }
    }
    s
}

fn span<T>(s: &Spanned<T>) -> Span {
    let r = s.span();
    Span::new(r.start, r.end)
}

/// HA001 for every string of `text` (a haconf.toml that deserialized) that its field cannot
/// hold, each at the value (or key) itself.
pub(crate) fn check_strings(text: &str, file: FileId) -> Vec<Diagnostic> {
    let Ok(doc) = DeTable::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    walk_table(doc.get_ref(), &mut path, &mut shown, file, &mut out);
    out
}

fn walk_table(
    t: &DeTable<'_>,
    path: &mut Vec<String>,
    shown: &mut Vec<String>,
    file: FileId,
    out: &mut Vec<Diagnostic>,
) {
    let key_field = field_at(KEYS, path);
    for (k, v) in t.iter() {
        let key = k.get_ref().to_string();
        let as_key = key_field.unwrap_or(Field::Pattern);
        if let Some(why) = check(as_key, &key) {
            shown.push(key.escape_debug().to_string());
            out.push(Diagnostic::new(
                "HA001",
                file,
                span(k),
                format!("the key `{}` {why}", dotted(shown)),
            ));
            shown.pop();
        }
        // Keys that are data match `*` in FIELDS; field names match themselves.
        path.push(if key_field.is_some() {
            "*".into()
        } else {
            key.clone()
        });
        shown.push(key.escape_debug().to_string());
        walk_value(v, path, shown, file, out);
        shown.pop();
        path.pop();
    }
}

fn walk_value(
    v: &Spanned<DeValue<'_>>,
    path: &mut Vec<String>,
    shown: &mut Vec<String>,
    file: FileId,
    out: &mut Vec<Diagnostic>,
) {
    match v.get_ref() {
        DeValue::String(s) => {
            let field = field_at(FIELDS, path).unwrap_or(Field::Pattern);
            if let Some(why) = check(field, s) {
                let at = dotted(shown);
                let msg = if why.starts_with("holds") {
                    format!("`{at}` {why}")
                } else {
                    format!("`{at}`: {why}")
                };
                out.push(Diagnostic::new("HA001", file, span(v), msg));
            }
        }
        DeValue::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push("[]".into());
                shown.push(format!("[{i}]"));
                walk_value(x, path, shown, file, out);
                shown.pop();
                path.pop();
            }
        }
        DeValue::Table(t) => walk_table(t, path, shown, file, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert!(check(Field::Name, "ha1").is_none());
        assert!(check(Field::Name, "..").is_some());
        assert!(check(Field::Name, "x\ntouch /tmp/p #").is_some());
        assert!(check(Field::Interface, "eth0.100").is_none());
        assert!(check(Field::Interface, "eth0:1").is_some());
        assert!(check(Field::Interface, "abcdefghijklmnop").is_some());
        assert!(check(Field::AuthPass, "s3cret").is_none());
        assert!(check(Field::AuthPass, "a b").is_some());
        assert!(check(Field::AuthPass, "123456789").is_some());
        assert!(check(Field::Backend, "10.0.1.31:8080").is_none());
        assert!(check(Field::Backend, "[fd00::1]:80").is_none());
        assert!(check(Field::Backend, "app.internal:80").is_none());
        assert!(check(Field::Backend, "a;b:80").is_some());
        assert!(check(Field::ServerName, "example.com *.example.com _").is_none());
        assert!(check(Field::ServerName, "~^www").is_some());
        assert!(check(Field::HttpPath, "/health?x=1&y=2").is_none());
        assert!(check(Field::HttpPath, "/$(id)").is_some());
        assert!(check(Field::Process, "-f").is_some());
        assert!(check(Field::Vip, "10.0.0.1/24").is_none());
        assert!(check(Field::Vip, "10.0.0.1/+24").is_some());
        assert!(check(Field::Pattern, "ha1/nginx.conf").is_none());
        assert!(check(Field::Pattern, "a\u{2028}b").is_some());
    }
}
