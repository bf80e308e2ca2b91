//! NX003: a known directive in a context where nginx does not allow it.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NgCtx, Rule};
use crate::vocab::nginx::{Context, Vocabulary};

pub static RULE: Rule = Rule {
    code: "NX003",
    name: "directive-not-allowed-here",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nginx refuses to start",
    fix: FixKind::None,
    summary: "a known directive in the wrong context (e.g. `listen` in `http`)",
    docs: r#"## What it finds
A directive nginx knows, in a block where its module does not accept it: `listen` directly in
`http`, `proxy_pass` in `server`, `add_header` in an `if` inside `server`, `user` in `http`.
Files that nothing includes are checked in the context their directives fit best, and haconf
says which one it inferred.

## Why it matters
`nginx -t` fails with `"x" directive is not allowed here`, and nginx does not (re)load.

## Example
```
http {
    listen 80;
}
```

## Fix
Move the directive into a block that accepts it; haconf names the contexts that do.

## References
- nginx `src/core/ngx_conf_file.c` (`ngx_conf_handler`)
- the *Context:* line of each directive at https://nginx.org/en/docs/dirindex.html
"#,
    check: Check::Nginx(check),
    bad: &[("nginx.conf", "events {}\nhttp {\n    listen 80;\n}\n")],
    good: &[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        listen 80;\n    }\n}\n",
    )],
};

fn check(cx: &NgCtx, out: &mut Vec<Diagnostic>) {
    let vocab = Vocabulary::get();
    cx.unit.walk(&mut |file, d, ctx| {
        if ctx == Context::Opaque {
            return;
        }
        let rows = vocab.lookup(&d.name.value);
        if rows.is_empty() || rows.iter().any(|r| r.contains_ctx(ctx)) {
            return;
        }
        let mut places: Vec<&str> = rows
            .iter()
            .flat_map(|r| r.contexts.iter().map(|c| c.name()))
            .collect();
        places.sort();
        places.dedup();
        out.push(
            Diagnostic::new(
                "NX003",
                file,
                d.name.span,
                format!("`{}` is not allowed in `{}`", d.name.value, ctx.name()),
            )
            .with_help(format!(
                "nginx accepts `{}` in: {}",
                d.name.value,
                places.join(", ")
            )),
        );
    });
}
