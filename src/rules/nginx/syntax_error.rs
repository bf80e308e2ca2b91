//! NX001: what nginx's tokenizer and block handling reject.

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::IncludeProblem;
use crate::rules::{Check, FixKind, NgCtx, Rule};
use crate::syntax::nginx::End;
use crate::vocab::nginx::Vocabulary;

pub static RULE: Rule = Rule {
    code: "NX001",
    name: "nginx-syntax-error",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nginx refuses to start",
    fix: FixKind::None,
    summary: "missing `;`, unbalanced braces, unterminated quote",
    docs: r#"## What it finds
Text nginx cannot tokenize or structure: a directive not ended by `;`, a `}` with no open
block, a block never closed, a quote never closed, a block directive (`server`,
`location`, ...) ended by `;`, a simple directive followed by `{`, an include cycle.

## Why it matters
`nginx -t` fails and `nginx -s reload` keeps the old configuration — or, on a fresh
start after a failover, nginx does not start at all on the node that just took the VIP.

## Example
```
server {
    listen 80
}
```

## Fix
Add the missing `;` or brace where haconf points.

## References
- nginx `src/core/ngx_conf_file.c` (`ngx_conf_read_token`, `ngx_conf_handler`)
"#,
    check: Check::Nginx(check),
    bad: &[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        listen 80\n    }\n}\n",
    )],
    good: &[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        listen 80;\n    }\n}\n",
    )],
};

fn check(cx: &NgCtx, out: &mut Vec<Diagnostic>) {
    let unit = cx.unit;
    let mut files: Vec<_> = unit.trees.keys().copied().collect();
    files.sort();
    for f in files {
        if let Some(d) = crate::rules::not_text("NX001", cx.db, f) {
            out.push(d);
        }
        for e in &unit.trees[&f].errors {
            let mut d = Diagnostic::new("NX001", f, e.span, e.message.clone());
            d.help = e.help.clone();
            out.push(d);
        }
    }
    for inc in &unit.includes {
        for p in &inc.problems {
            if let IncludeProblem::Cycle(path) = p {
                out.push(Diagnostic::new(
                    "NX001",
                    inc.file,
                    inc.pattern_span,
                    format!(
                        "include cycle: `{}` is already being included",
                        path.display()
                    ),
                ));
            }
        }
    }
    let vocab = Vocabulary::get();
    unit.walk(&mut |file, d, ctx| {
        let rows = vocab.allowed_in(&d.name.value, ctx);
        if rows.is_empty() {
            return;
        }
        let name = &d.name.value;
        let block = rows.iter().any(|r| r.block);
        let simple = rows.iter().any(|r| !r.block);
        match &d.end {
            End::Semicolon(s) if block && !simple => out.push(
                Diagnostic::new(
                    "NX001",
                    file,
                    *s,
                    format!("`{name}` opens a block, but is ended by `;`"),
                )
                .with_help(format!(
                    "nginx reports: directive \"{name}\" has no opening \"{{\""
                )),
            ),
            End::Block(b) if simple && !block => out.push(
                Diagnostic::new(
                    "NX001",
                    file,
                    b.open,
                    format!("`{name}` takes no block, but `{{` follows it"),
                )
                .with_help(format!(
                    "nginx reports: directive \"{name}\" is not terminated by \";\""
                )),
            ),
            _ => {}
        }
    });
}
