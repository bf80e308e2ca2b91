//! NX011: the same value twice in one directive.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, FixKind, NgCtx, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "NX011",
    name: "duplicate-values",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "a repeated value is a copy-paste slip that often hides the value meant",
    fix: FixKind::Safe,
    summary: "the same value twice in one directive (`index index.html index.html`)",
    docs: r#"## What it finds
A value repeated in a directive whose arguments are a list of alternatives or a set: `index`,
`server_name`, `gzip_types`, `ssl_protocols`, `*_next_upstream`, the `*_types` directives,
`try_files` (before its last argument).

## Why it matters
The repeat does nothing, so it usually stands where something else was meant: the vendor
guide's `index index.html index.html` was `index index.html index.htm`, and its two nodes
already disagree on it.

## Example
```
location / {
    index index.html index.html;
}
```

## Fix
Remove the repeat (a safe fix: nginx reads the same list).

## References
- https://nginx.org/en/docs/http/ngx_http_index_module.html#index
"#,
    check: Check::Nginx(check),
    bad: &[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        location / {\n            index index.html index.html;\n        }\n    }\n}\n",
    )],
    good: &[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        location / {\n            index index.html index.htm;\n            try_files $uri $uri/ =404;\n        }\n    }\n}\n",
    )],
};

const SET_DIRECTIVES: &[&str] = &[
    "index",
    "server_name",
    "gzip_types",
    "ssl_protocols",
    "proxy_next_upstream",
    "fastcgi_next_upstream",
    "uwsgi_next_upstream",
    "scgi_next_upstream",
    "grpc_next_upstream",
    "memcached_next_upstream",
    "ssi_types",
    "sub_filter_types",
    "addition_types",
    "charset_types",
    "xslt_types",
    "gunzip_types",
    "brotli_types",
    "try_files",
];

fn check(cx: &NgCtx, out: &mut Vec<Diagnostic>) {
    cx.unit.walk(&mut |file, d, _| {
        let name = d.name.value.as_str();
        if !SET_DIRECTIVES.contains(&name) {
            return;
        }
        // try_files' last argument is the fallback, not an alternative.
        let n = if name == "try_files" {
            d.args.len().saturating_sub(1)
        } else {
            d.args.len()
        };
        let args = &d.args[..n];
        for (i, a) in args.iter().enumerate() {
            let Some(first) = args[..i].iter().find(|b| b.value == a.value) else {
                continue;
            };
            let prev_end = args[i - 1].span.end;
            out.push(
                Diagnostic::new(
                    "NX011",
                    file,
                    a.span,
                    format!("`{}` lists `{}` twice", name, a.value),
                )
                .with_related(Related {
                    file,
                    span: first.span,
                    message: "first listed here".into(),
                })
                .with_fix(Fix {
                    applicability: Applicability::Safe,
                    modes: Vec::new(),
                    message: format!("remove the second `{}`", a.value),
                    edits: vec![crate::fix::replace(
                        file,
                        Span::new(prev_end, a.span.end),
                        "",
                    )],
                }),
            );
        }
    });
}
