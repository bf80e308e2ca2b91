//! KA026: typographic quotes and other paste debris where keepalived expects `"`.

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, KaCtx, Rule};
use crate::source::Span;
use crate::syntax::keepalived::TokenKind;

pub static RULE: Rule = Rule {
    code: "KA026",
    name: "typographic-quotes",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived reads the quotes as part of the value",
    fix: FixKind::Safe,
    summary: "“smart” quotes or other paste debris where keepalived expects `\"`",
    docs: r#"## What it finds
Typographic quotes (`“ ” „ ‘ ’ ＂`) outside comments, usually pasted from a web page, a chat or a
word processor.

## Why it matters
keepalived only knows the ASCII `"`. `script “/etc/keepalived/chk.sh”` names a file whose name
starts with `“`, which does not exist: the check is disabled, or at run time counts as
passing, and the VIP never moves.

## Example
```
vrrp_script chk_nginx {
    script “/etc/keepalived/chk_nginx.sh”
}
```

## Fix
Replace them with `"` (a safe fix).

## References
- keepalived `lib/parser.c` (only `"` quotes)
"#,
    check: Check::Keepalived(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \u{201c}/usr/bin/true\u{201d}\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "# \u{201c}quoted\u{201d} in a comment is fine\nvrrp_script chk {\n    script \"/usr/bin/true\"\n}\n",
    )],
};

const SMART: &[char] = &[
    '\u{201c}', '\u{201d}', '\u{201e}', '\u{201f}', '\u{2018}', '\u{2019}', '\u{ff02}', '\u{00ab}',
    '\u{00bb}',
];

fn check(cx: &KaCtx, out: &mut Vec<Diagnostic>) {
    let mut files: Vec<_> = cx.unit.trees.keys().copied().collect();
    files.sort();
    for f in files {
        let text = &cx.db.get(f).text;
        for t in &cx.unit.trees[&f].tokens {
            if !matches!(t.kind, TokenKind::Word | TokenKind::Quoted) {
                continue;
            }
            let sp = t.span();
            let s = &text[sp.start..sp.end];
            if !s.contains(SMART) {
                continue;
            }
            let edits: Vec<Edit> = s
                .char_indices()
                .filter(|(_, c)| SMART.contains(c))
                .map(|(i, c)| Edit {
                    file: f,
                    span: Span::new(sp.start + i, sp.start + i + c.len_utf8()),
                    replacement: "\"".into(),
                })
                .collect();
            out.push(
                Diagnostic::new(
                    "KA026",
                    f,
                    sp,
                    format!("`{s}` contains typographic quotes; keepalived only understands `\"`"),
                )
                .with_fix(Fix {
                    applicability: Applicability::Safe,
                    modes: Vec::new(),
                    message: "use `\"`".into(),
                    edits,
                }),
            );
        }
    }
}
