//! NX013: a missing `;` makes the next line's directive an argument of the previous one.

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, NgCtx, Rule};
use crate::source::Span;
use crate::syntax::nginx::Directive;
use crate::vocab::nginx::{Context, Vocabulary};

pub static RULE: Rule = Rule {
    code: "NX013",
    name: "directive-swallowed-by-missing-semicolon",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nginx silently reads the next directive as arguments",
    fix: FixKind::SafeSometimes,
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

haconf decides as nginx does. When nginx would reject the file (`root /srv` followed by
`index index.html;`: `root` takes one argument) the finding is an **error**. When nginx
accepts it, it is only a **note**, and only when the two directives the `;` would make are
valid too; a directive whose next-line arguments are its own (`access_log /var/log/x.log
main` followed by `gzip flush=5m;`, which are parameters of `access_log`) is not reported.

## Example
```
server {
    server_name wiki.example.com
    root /srv/wiki;
}
```

## Fix
Add the `;` at the end of the first line. haconf offers the fix only when nginx accepts both
directives that result (their argument counts, their blocks, `on`/`off` for a flag). It is
safe when nginx rejects the file as it is (nothing runs with it yet); when nginx accepts it,
the `;` changes what nginx does, so the fix is applied only with `--unsafe`.

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
        let next = &d.args[i];
        // Decide as nginx does: does it accept the directive as written, and would it
        // accept the two directives the `;` makes?
        let accepted = accepts(&d.name.value, &d.args, d.block().is_some(), ctx);
        let split_ok = accepts(&d.name.value, &d.args[..i], false, ctx)
            && accepts(&next.value, &d.args[i + 1..], d.block().is_some(), ctx);
        if accepted && !split_ok {
            // nginx reads it as one directive, and only that reading is valid
            // (`access_log /x.log main gzip flush=5m;`): nothing to report.
            return;
        }
        let mut diag = if accepted {
            let mut diag = Diagnostic::new(
                "NX013",
                file,
                prev.span,
                format!(
                    "`{}` on the next line is read as one more argument of `{}` (no `;` after `{}`); nginx accepts it, but if `{}` was meant as a directive it is silently ignored",
                    next.value, d.name.value, prev.value, next.value
                ),
            );
            diag.severity = Severity::Info;
            diag
        } else {
            let mut diag = Diagnostic::new(
                "NX013",
                file,
                prev.span,
                format!(
                    "missing `;` after `{}`: `{}` on the next line is read as one more argument of `{}`, and nginx rejects the result",
                    prev.value, next.value, d.name.value
                ),
            );
            diag.severity = Severity::Error;
            diag
        };
        if split_ok {
            // When nginx accepts the file as it is, the `;` changes what it does (a
            // directive it ignored today takes effect): not safe.
            diag = diag.with_fix(Fix {
                applicability: if accepted {
                    Applicability::Unsafe
                } else {
                    Applicability::Safe
                },
                modes: Vec::new(),
                message: format!("end `{}` with `;`", d.name.value),
                edits: vec![Edit { file, span: Span::new(prev.span.end, prev.span.end), replacement: ";".into() }],
            });
        }
        out.push(diag);
    });
}

/// Whether nginx accepts directive `name` with `args` (and a block or not) in `ctx`: its
/// argument count, its block, and `on`/`off` for a flag.
pub fn accepts(name: &str, args: &[crate::syntax::nginx::Word], block: bool, ctx: Context) -> bool {
    // nginx checks the parameters of some directives by name: `listen 80 server_name x`
    // fails with `invalid parameter "server_name"`.
    if name == "listen" && !args.iter().skip(1).all(|a| listen_param(&a.value)) {
        return false;
    }
    if name == "return" && args.len() == 2 && !args[0].value.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let rows = Vocabulary::get().allowed_in(name, ctx);
    rows.iter().any(|r| {
        r.arity.accepts(args.len())
            && r.block == block
            && (r.arity != crate::vocab::nginx::Arity::Flag
                || args.iter().all(|a| {
                    a.value.eq_ignore_ascii_case("on") || a.value.eq_ignore_ascii_case("off")
                }))
    })
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

/// A parameter `listen` accepts after the address (nginx `ngx_http_core_listen`,
/// `ngx_stream_core_listen`).
fn listen_param(p: &str) -> bool {
    const FLAGS: &[&str] = &[
        "default_server",
        "default",
        "ssl",
        "http2",
        "quic",
        "proxy_protocol",
        "reuseport",
        "deferred",
        "bind",
        "udp",
    ];
    const KEYS: &[&str] = &[
        "backlog=",
        "rcvbuf=",
        "sndbuf=",
        "setfib=",
        "fastopen=",
        "accept_filter=",
        "ipv6only=",
        "so_keepalive=",
    ];
    FLAGS.contains(&p) || KEYS.iter().any(|k| p.starts_with(k))
}
