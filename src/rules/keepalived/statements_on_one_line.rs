//! KA028: several statements on one line, which keepalived reads as one.

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::is_ka_include;
use crate::rules::{Check, FixKind, KaCtx, Rule};
use crate::vocab::keepalived::{ArgKind, Vocabulary};

pub static RULE: Rule = Rule {
    code: "KA028",
    name: "statements-on-one-line",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived reads the first statement and silently drops the rest",
    fix: FixKind::None,
    summary: "several statements on one line: keepalived reads the first and silently drops the rest",
    docs: r#"## What it finds
A line that holds more than one statement: `virtual_router_id 51 priority 100`, the one-line
`authentication { auth_type PASS auth_pass secret }`, or `track_script { chk_a chk_b }`.
haconf reports a line whose extra words include a keyword of the same block, and a
`track_script`/`track_process`/`track_interface` entry followed by anything but `weight N`,
`reverse` or `noreverse` (a second name, `weight=0`).

## Why it matters
keepalived cuts lines only at braces, never between statements, and ignores extra words
without a message. `auth_type PASS auth_pass secret` sets no password: the instance runs
without authentication (and `keepalived -t` only says "no password given"). `priority 100`
after the VRID is simply gone. In `track_script { chk_a chk_b }` keepalived reads `chk_b`
as an option, rejects it, and drops **both** scripts.

## Example
```
authentication { auth_type PASS auth_pass 1111 }
```

## Fix
One statement per line:
```
authentication {
    auth_type PASS
    auth_pass 1111
}
```

## References
- keepalived reads one statement per line: the words after the first keyword are its arguments (keepalived.conf(5): https://www.keepalived.org/manpage.html)
- https://github.com/acassen/keepalived/issues/2256
"#,
    check: Check::Keepalived(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51 priority 100\n    authentication { auth_type PASS auth_pass 1111 }\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n    virtual_ipaddress {\n        192.168.0.100/24 dev eth0 label eth0:1\n    }\n    track_script {\n        chk weight -20 reverse\n    }\n}\n",
    )],
};

fn check(cx: &KaCtx, out: &mut Vec<Diagnostic>) {
    let vocab = Vocabulary::get();
    cx.unit.walk(&mut |file, stmt, path| {
        let Some(kw) = stmt.keyword() else { return };
        if stmt.generator.is_some() || kw.starts_with('$') || is_ka_include(stmt) {
            return;
        }
        let last = path.rsplit('/').next().unwrap_or(path);
        if matches!(last, "track_script" | "track_process" | "track_interface" | "track_file" | "track_bfd") {
            if let Some(w) = stmt.words.get(1)
                && !matches!(w.value.as_str(), "weight" | "reverse" | "noreverse")
            {
                out.push(
                    Diagnostic::new(
                        "KA028",
                        file,
                        w.span,
                        format!(
                            "`{}` after `{kw}` is not `weight N`, `reverse` or `noreverse`: keepalived rejects it (\"unknown track option\") and drops the entry",
                            w.value
                        ),
                    )
                    .with_help("one tracker a line, optionally followed by `weight N` and `reverse`"),
                );
            }
            return;
        }
        if path != "/" && !vocab.is_keyword_block(path) {
            return;
        }
        let Some(k) = vocab.lookup(path, kw) else { return };
        // Only keywords whose arguments are known to be few; free-form ones are left alone.
        let first_extra = match k.arg {
            ArgKind::Flag => 1,
            ArgKind::Bool | ArgKind::Int { .. } | ArgKind::Decimal { .. } | ArgKind::Enum(_) | ArgKind::Ip => 2,
            _ => return,
        };
        let Some(w) = stmt.words.iter().skip(first_extra).find(|w| !w.quoted && vocab.lookup(path, &w.value).is_some()) else { return };
        let kept: Vec<&str> = stmt.words[..first_extra.min(stmt.words.len())].iter().map(|w| w.value.as_str()).collect();
        out.push(
            Diagnostic::new(
                "KA028",
                file,
                w.span,
                format!("`{}` starts a second statement on this line: keepalived reads only `{}` and silently drops the rest", w.value, kept.join(" ")),
            )
            .with_help(format!("put `{}` on a line of its own", w.value)),
        );
    });
}
