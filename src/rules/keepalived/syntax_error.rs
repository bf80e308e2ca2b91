//! KA001: what keepalived's parser itself rejects.

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::{IncludeProblem, is_ka_include};
use crate::rules::{Check, FixKind, KaCtx, Rule};
use crate::vocab::keepalived::{BlockKind, Vocabulary};

pub static RULE: Rule = Rule {
    code: "KA001",
    name: "keepalived-syntax-error",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived refuses or misreads the file",
    fix: FixKind::None,
    summary: "unbalanced braces, unterminated quote, a block keyword without its block, an include cycle",
    docs: r#"## What it finds
Text keepalived's parser cannot read as intended: a `}` with no open block, a block never
closed, a `"` never closed on its line, a keyword that opens a block (`vrrp_instance`,
`virtual_ipaddress`, ...) with no `{`, a `{` after a keyword that takes none, and include
cycles.

## Why it matters
keepalived does not stop at a syntax error: it logs it and goes on with what it understood.
One missing `}` can put the next `vrrp_instance` inside the previous one, where it is ignored,
and the node comes up without it. `keepalived -t` exits non-zero, but a service restart
happily starts the broken config.

## Example
```
vrrp_instance VI_1 {
    state MASTER
    virtual_ipaddress {
        192.168.0.100/24
    # the `}` of virtual_ipaddress is missing
}
```

## Fix
Balance the braces; haconf points at the block that is left open. keepalived's lexer cuts a
line at every brace, so `{` may stand on the keyword's line or on the next one.

## References
- keepalived `lib/parser.c` (`Extra '}' found`, `missing '}'s`, `Unexpected '{'`)
- `man 5 keepalived.conf`
"#,
    check: Check::Keepalived(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1\n{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress { 192.168.0.100/24 }\n}\n",
    )],
};

fn check(cx: &KaCtx, out: &mut Vec<Diagnostic>) {
    let unit = cx.unit;
    let mut files: Vec<_> = unit.trees.keys().copied().collect();
    files.sort();
    for f in files {
        if let Some(d) = crate::rules::not_text("KA001", cx.db, f) {
            out.push(d);
        }
        for e in &unit.trees[&f].errors {
            let mut d = Diagnostic::new("KA001", f, e.span, e.message.clone());
            d.help = e.help.clone();
            out.push(d);
        }
    }
    for inc in &unit.includes {
        for p in &inc.problems {
            if let IncludeProblem::Cycle(path) = p {
                out.push(
                    Diagnostic::new(
                        "KA001",
                        inc.file,
                        inc.pattern_span,
                        format!("include cycle: `{}` includes a file that is already being included", path.display()),
                    )
                    .with_help("keepalived follows includes without a cycle check; remove one of the includes"),
                );
            }
        }
    }
    let vocab = Vocabulary::get();
    unit.walk(&mut |file, stmt, path| {
        let Some(kw) = stmt.keyword() else { return };
        if stmt.generator.is_some() || kw.starts_with('$') || is_ka_include(stmt) {
            return;
        }
        if path != "/" && !vocab.is_keyword_block(path) {
            return;
        }
        let Some(k) = vocab.lookup(path, kw) else { return };
        match (&k.block, &stmt.block) {
            (BlockKind::Keywords | BlockKind::Values, None) => out.push(
                Diagnostic::new(
                    "KA001",
                    file,
                    stmt.head_span(),
                    format!("`{kw}` opens a block, but no `{{` follows it"),
                )
                .with_help(format!("write `{kw} {{ ... }}`; keepalived reports \"Missing '{{' at beginning of configuration block\"")),
            ),
            (BlockKind::None, Some(b)) => out.push(
                Diagnostic::new(
                    "KA001",
                    file,
                    b.open,
                    format!("`{kw}` takes no block, but a `{{` follows it"),
                )
                .with_help("keepalived ignores this brace (\"Unexpected '{'\"), and its `}` then closes the enclosing block"),
            ),
            _ => {}
        }
    });
}
