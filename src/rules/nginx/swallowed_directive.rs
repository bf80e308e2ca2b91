//! NX013: a missing `;` makes the next line's directive an argument of the previous one.

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, NgCtx, Rule};
use crate::source::Span;
use crate::syntax::nginx::Directive;
use crate::vocab::nginx::{Context, Vocabulary};

pub static RULE: Rule = Rule {
    code: "NX013",
    name: "directive-swallowed-by-missing-semicolon",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nginx silently reads the next directive as arguments",
    fix: FixKind::Safe,
    summary: "a missing `;` turns the next line's directive into arguments of the previous one",
    docs: r#"## What it finds
A directive without its `;` whose arguments continue on the next line with the name of a
directive allowed right there, unquoted and first on its line:
`server_name example.com` followed by `root /srv/www;`.

## Why it matters
nginx reads `server_name example.com root /srv/www;` as one directive. When the first
directive accepts any number of arguments (`server_name`, `index`, `listen` ...) `nginx -t`
passes, and the second directive is silently gone: the server has no `root`, `index` lists a
file called `rewrite`. When the count is wrong, nginx fails with a message about the wrong
directive.

## Example
```
server {
    server_name wiki.example.com
    root /srv/wiki;
}
```

## Fix
Add the `;` at the end of the first line (a safe fix: the next line was meant as a
directive).

## References
- nginx `src/core/ngx_conf_file.c` (`ngx_conf_read_token`: a directive ends only at `;` or `{`)
"#,
    check: Check::Nginx(check),
    bad: &[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        server_name wiki.example.com\n        root /srv/wiki;\n    }\n}\n",
    )],
    good: &[(
        "nginx.conf",
        "events {}\nhttp {\n    log_format main '$remote_addr'\n                    '$status';\n    server {\n        server_name wiki.example.com;\n        root /srv/wiki;\n    }\n}\n",
    )],
};

fn check(cx: &NgCtx, out: &mut Vec<Diagnostic>) {
    cx.unit.walk(&mut |file, d, ctx| {
        let Some(i) = swallowed_at(&cx.db.get(file).text, d, ctx) else { return };
        let prev = &d.args[i - 1];
        out.push(
            Diagnostic::new(
                "NX013",
                file,
                prev.span,
                format!(
                    "missing `;` after `{}`: `{}` on the next line is read as one more argument of `{}`",
                    prev.value, d.args[i].value, d.name.value
                ),
            )
            .with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: format!("end `{}` with `;`", d.name.value),
                edits: vec![Edit { file, span: Span::new(prev.span.end, prev.span.end), replacement: ";".into() }],
            }),
        );
    });
}

/// The index of the first argument of `d` that is really the next directive: unquoted, first
/// on its line, and the name of a directive allowed in `ctx`.
pub fn swallowed_at(text: &str, d: &Directive, ctx: Context) -> Option<usize> {
    let vocab = Vocabulary::get();
    (1..d.args.len()).find(|&i| {
        let (prev, a) = (&d.args[i - 1], &d.args[i]);
        let gap = &text[prev.span.end..a.span.start];
        !a.quoted
            && gap.contains('\n')
            && !gap.contains('#')
            && vocab
                .allowed_in(&a.value, ctx)
                .iter()
                .any(|r| !r.third_party)
    })
}
