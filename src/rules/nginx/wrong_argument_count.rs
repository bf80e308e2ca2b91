//! NX004: a directive with a number of arguments nginx does not accept.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NgCtx, Rule};
use crate::vocab::nginx::Vocabulary;

pub static RULE: Rule = Rule {
    code: "NX004",
    name: "wrong-argument-count",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nginx refuses to start",
    fix: FixKind::None,
    summary: "a directive with the wrong number of arguments (e.g. `worker_processes 1 2`)",
    docs: r#"## What it finds
A directive whose number of arguments its module does not accept, read from the
`ngx_command_t` tables of nginx: `worker_processes 1 2;`, `user;`, `add_header X-Frame-Options;`,
`sendfile on off;`. (A missing `;` that makes the next line's directive an argument is
NX013.)

## Why it matters
`nginx -t` fails with `invalid number of arguments in "x" directive`, and nginx does not
(re)load.

## Example
```
worker_processes 1 2;
```

## Fix
Give the directive the arguments its documentation lists; look for a missing `;` on the line
above when the extra arguments look like another directive.

## References
- nginx `src/core/ngx_conf_file.c` (`invalid number of arguments`)
"#,
    check: Check::Nginx(check),
    bad: &[("nginx.conf", "worker_processes 1 2;\nevents {}\n")],
    good: &[("nginx.conf", "worker_processes auto;\nevents {}\n")],
};

fn check(cx: &NgCtx, out: &mut Vec<Diagnostic>) {
    let vocab = Vocabulary::get();
    cx.unit.walk(&mut |file, d, ctx| {
        let rows = vocab.allowed_in(&d.name.value, ctx);
        if rows.is_empty() {
            return;
        }
        let n = d.args.len();
        if rows.iter().any(|r| r.arity.accepts(n)) {
            return;
        }
        if super::swallowed_directive::swallowed_at(&cx.db.get(file).text, d, ctx).is_some() {
            // NX013 reports the missing `;`, which is the real problem.
            return;
        }
        let expected = rows[0].arity.describe();
        let span = d.head_span();
        let diag = Diagnostic::new(
            "NX004",
            file,
            span,
            format!("`{}` takes {expected}, but has {n}", d.name.value),
        );
        out.push(diag);
    });
}
