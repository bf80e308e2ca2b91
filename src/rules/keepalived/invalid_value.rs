//! KA003: a value of the wrong type or out of range.

use super::{definitions, expand};
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::project::is_ka_include;
use crate::rules::{Check, FixKind, KaCtx, Rule};
use crate::syntax::keepalived::Stmt;
use crate::vocab::keepalived::{ArgKind, Vocabulary};
use std::net::IpAddr;

pub static RULE: Rule = Rule {
    code: "KA003",
    name: "invalid-value",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived rejects the value or replaces it with a default",
    fix: FixKind::SafeSometimes,
    summary: "wrong type or out of range: VRID, priority, weight, advert_int, addresses, timers",
    docs: r#"## What it finds
A value keepalived rejects: `virtual_router_id` outside 1–255 (or written in hex),
`priority` outside 1–255, a weight outside −253..253, `advert_int 0`, an address that is not
an IP address, a VIP prefix longer than the family allows, an enumerated value in the wrong
case (`state master`), a keyword that needs a value and has none, `vrrp_garp_interval 0`.
Ranges come from haconf's keyword table (`data/keepalived-keywords.tsv`).

## Why it matters
keepalived rarely stops on a bad value: it logs an error and uses its default instead.
`state master` becomes BACKUP, `priority 300` becomes 100 — on every node alike, so the
cluster elects by IP address. A keyword with no value at all aborts the whole parse.

## Example
```
vrrp_instance VI_1 {
    state master
    priority 300
}
```

## Fix
Use a value in range. For an enumerated value written in the wrong case haconf offers the
correct spelling as a safe fix.

## References
- keepalived `lib/parser.c` (`read_unsigned`, `read_int`, `read_decimal_unsigned`)
- keepalived `vrrp/vrrp_parser.c`
- `man 5 keepalived.conf`
"#,
    check: Check::Keepalived(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    state master\n    interface eth0\n    virtual_router_id 256\n    virtual_ipaddress {\n        192.168.0.300/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 255\n    priority 101\n    advert_int 1\n    virtual_ipaddress {\n        192.168.0.100/24 dev eth0 label eth0:1\n        fe80::10/64\n    }\n    unicast_peer {\n        192.168.0.20\n    }\n    track_script {\n        chk weight -20\n    }\n}\n",
    )],
};

/// Value blocks whose entries start with an address.
const ADDRESS_BLOCKS: &[&str] = &[
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "static_ipaddress",
    "unicast_peer",
];

fn check(cx: &KaCtx, out: &mut Vec<Diagnostic>) {
    let vocab = Vocabulary::get();
    let defs = definitions(cx.unit);
    cx.unit.walk(&mut |file, stmt, path| {
        let Some(kw) = stmt.keyword() else { return };
        if stmt.generator.is_some() || kw.starts_with('$') || is_ka_include(stmt) {
            return;
        }
        let last = path.rsplit('/').next().unwrap_or(path);
        if ROUTE_BLOCKS.contains(&last) {
            check_route(file, stmt, &defs, out);
            return;
        }
        if ADDRESS_BLOCKS.contains(&last) {
            check_address(file, stmt, last, &defs, out);
            return;
        }
        if last == "track_script" || last == "track_interface" {
            check_weight(file, stmt, 253, &defs, out);
            return;
        }
        if last == "track_process" || last == "track_file" && path != "track_file" {
            check_weight(file, stmt, 254, &defs, out);
            return;
        }
        if path != "/" && !vocab.is_keyword_block(path) {
            return;
        }
        let Some(k) = vocab.lookup(path, kw) else { return };
        let arg = stmt.words.get(1);
        if arg.is_none() && stmt.block.is_some() && k.args.starts_with("NAME ") {
            out.push(
                Diagnostic::new("KA003", file, stmt.head_span(), format!("`{kw}` is missing its name"))
                    .with_help(format!("write `{kw} NAME {{ ... }}`; keepalived aborts the whole configuration on a keyword missing its parameter")),
            );
            return;
        }
        match (&k.arg, arg) {
            (ArgKind::Flag | ArgKind::Optional, _) => {}
            (ArgKind::Bool, None) => {}
            (_, None) => {
                if stmt.block.is_none() {
                    out.push(
                        Diagnostic::new("KA003", file, stmt.head_span(), format!("`{kw}` is missing its value ({})", k.args))
                            .with_help("keepalived aborts the whole configuration on a keyword missing its parameter"),
                    );
                }
            }
            (kind, Some(w)) => {
                let Some(v) = expand(&w.value, &defs) else { return };
                if let Some((msg, fix)) = validate(kind, &v) {
                    let mut d = Diagnostic::new("KA003", file, w.span, format!("`{kw} {v}`: {msg}"));
                    if let Some(r) = fix {
                        d.help = Some(format!("did you mean `{r}`?"));
                        d.fix = Some(Fix {
                            applicability: Applicability::Safe,
                            modes: Vec::new(),
                            message: format!("write `{r}`"),
                            edits: vec![Edit { file, span: w.span, replacement: r }],
                        });
                    }
                    out.push(d);
                }
            }
        }
    });
}

/// `None` if `v` is valid for `kind`; else a message and, maybe, the value meant.
fn validate(kind: &ArgKind, v: &str) -> Option<(String, Option<String>)> {
    match kind {
        ArgKind::Int { min, max } => match v.parse::<i64>() {
            Ok(n) if n >= *min && n <= *max => None,
            Ok(_) => Some((format!("must be between {min} and {max}"), None)),
            Err(_) => Some((
                format!("not a whole decimal number (range {min}..{max})"),
                None,
            )),
        },
        ArgKind::Decimal { min, max } => {
            let ok_shape = {
                let (a, b) = v.split_once('.').unwrap_or((v, "0"));
                !a.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && !b.is_empty()
                    && b.bytes().all(|c| c.is_ascii_digit())
            };
            match v.parse::<f64>() {
                Ok(n) if ok_shape && n >= *min && n <= *max => None,
                Ok(_) if ok_shape => Some((format!("must be between {min} and {max}"), None)),
                _ => Some(("not a number of seconds".into(), None)),
            }
        }
        ArgKind::Bool => {
            if ["on", "off", "true", "false", "yes", "no"].contains(&v) {
                None
            } else {
                let lower = v.to_ascii_lowercase();
                let fix = ["on", "off", "true", "false", "yes", "no"]
                    .contains(&lower.as_str())
                    .then_some(lower);
                Some((
                    "must be one of on, off, true, false, yes, no (lower case)".into(),
                    fix,
                ))
            }
        }
        ArgKind::Enum(vals) => {
            if vals.iter().any(|x| x == v) {
                None
            } else {
                let fix = vals.iter().find(|x| x.eq_ignore_ascii_case(v)).cloned();
                Some((
                    format!("must be one of {} (case-sensitive)", vals.join(", ")),
                    fix,
                ))
            }
        }
        ArgKind::Ip => {
            // keepalived reads an address with an optional `/len`, and ignores the length.
            let addr = v.split_once('/').map_or(v, |(a, _)| a);
            if addr.parse::<IpAddr>().is_ok() {
                None
            } else {
                Some(("not an IP address".into(), None))
            }
        }
        ArgKind::Flag | ArgKind::Optional | ArgKind::Required => None,
    }
}

fn check_address(
    file: usize,
    stmt: &Stmt,
    block: &str,
    defs: &std::collections::HashMap<String, String>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(w) = stmt.words.first() else { return };
    let Some(v) = expand(&w.value, defs) else {
        return;
    };
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v.as_str(), None),
    };
    if block == "virtual_ipaddress"
        || block == "virtual_ipaddress_excluded"
        || block == "static_ipaddress"
    {
        // keepalived also accepts a range `a.b.c.d-e`.
        if addr.contains('-') && !addr.contains(':') {
            return;
        }
    }
    let Ok(ip) = addr.parse::<IpAddr>() else {
        out.push(Diagnostic::new(
            "KA003",
            file,
            w.span,
            format!("`{v}` in `{block}` is not an IP address"),
        ));
        return;
    };
    if let Some(p) = prefix {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        match p.parse::<u32>() {
            Ok(n) if n <= max => {}
            _ => out.push(Diagnostic::new(
                "KA003",
                file,
                w.span,
                format!("prefix `/{p}` of `{addr}` is not a prefix length 0..{max}; keepalived falls back to /{max}"),
            )),
        }
    }
}

/// Blocks of `ip route` / `ip rule` lines.
const ROUTE_BLOCKS: &[&str] = &[
    "virtual_routes",
    "virtual_rules",
    "static_routes",
    "static_rules",
];

/// Words that, in a route or rule line, are followed by an address.
const ROUTE_ADDRESS_WORDS: &[&str] = &["from", "to", "src", "via", "gw", "or"];

/// The addresses of a route or rule line must parse (keepalived skips the whole line otherwise).
fn check_route(
    file: usize,
    stmt: &Stmt,
    defs: &std::collections::HashMap<String, String>,
    out: &mut Vec<Diagnostic>,
) {
    let mut expect_addr = true; // the destination of a route comes first
    for w in &stmt.words {
        let Some(v) = expand(&w.value, defs) else {
            return;
        };
        let looks_like_addr = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '/'))
            && v.contains(['.', ':']);
        if expect_addr && looks_like_addr {
            let (addr, prefix) = v
                .split_once('/')
                .map_or((v.as_str(), None), |(a, p)| (a, Some(p)));
            let ok = addr.parse::<IpAddr>().is_ok_and(|ip| {
                prefix.is_none_or(|p| {
                    p.parse::<u32>()
                        .is_ok_and(|n| n <= if ip.is_ipv4() { 32 } else { 128 })
                })
            });
            if !ok {
                out.push(
                    Diagnostic::new(
                        "KA003",
                        file,
                        w.span,
                        format!("`{v}` is not a valid address"),
                    )
                    .with_help("keepalived skips this line (\"VRRP parsed invalid IP\")"),
                );
            }
        }
        expect_addr = ROUTE_ADDRESS_WORDS.contains(&v.as_str());
    }
}

fn check_weight(
    file: usize,
    stmt: &Stmt,
    limit: i64,
    defs: &std::collections::HashMap<String, String>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(i) = stmt.words.iter().position(|w| w.value == "weight") else {
        return;
    };
    let Some(w) = stmt.words.get(i + 1) else {
        out.push(Diagnostic::new(
            "KA003",
            file,
            stmt.words[i].span,
            "`weight` is missing its value",
        ));
        return;
    };
    let Some(v) = expand(&w.value, defs) else {
        return;
    };
    match v.parse::<i64>() {
        Ok(n) if n.abs() <= limit => {}
        _ => out.push(Diagnostic::new(
            "KA003",
            file,
            w.span,
            format!("weight `{v}` must be a whole number in -{limit}..{limit}"),
        )),
    }
}
