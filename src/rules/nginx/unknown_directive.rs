//! NX002: a directive nginx does not know.

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, NgCtx, Rule, suggest};
use crate::vocab::nginx::Vocabulary;

pub static RULE: Rule = Rule {
    code: "NX002",
    name: "unknown-directive",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nginx refuses to start",
    fix: FixKind::SafeSometimes,
    summary: "a directive nginx (core, standard modules, common third-party modules) does not know",
    docs: r#"## What it finds
A directive name that no module in haconf's table defines: nginx core and every standard
module, plus the common third-party modules (Lua, headers-more, brotli, geoip2, njs) and
NGINX Plus, whose directives are accepted since haconf cannot know which modules a node
loads. Matching is case-sensitive, as in nginx.

## Why it matters
`nginx -t` fails with `unknown directive`, and nginx refuses to (re)load.

## Example
```
location / {
    proxy_passs http://backend;
}
```

## Fix
When exactly one known directive is close, haconf offers it as a safe fix.

## References
- nginx `src/core/ngx_conf_file.c` (`unknown directive "%s"`)
- https://nginx.org/en/docs/dirindex.html
"#,
    check: Check::Nginx(check),
    bad: &[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        location / {\n            proxy_passs http://127.0.0.1:8080;\n        }\n    }\n}\n",
    )],
    good: &[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        location / {\n            proxy_pass http://127.0.0.1:8080;\n        }\n    }\n}\n",
    )],
};

fn check(cx: &NgCtx, out: &mut Vec<Diagnostic>) {
    let vocab = Vocabulary::get();
    cx.unit.walk(&mut |file, d, _ctx| {
        let name = &d.name.value;
        if !vocab.lookup(name).is_empty() {
            return;
        }
        let mut diag = Diagnostic::new(
            "NX002",
            file,
            d.name.span,
            format!("unknown directive `{name}`"),
        );
        let known = vocab
            .names()
            .filter(|n| vocab.lookup(n).iter().any(|r| !r.third_party));
        let cands = suggest(name, known);
        if cands.len() == 1 {
            let c = cands[0];
            diag.help = Some(format!("did you mean `{c}`?"));
            diag.fix = Some(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: format!("replace `{name}` with `{c}`"),
                edits: vec![Edit {
                    file,
                    span: d.name.span,
                    replacement: c.to_owned(),
                }],
            });
        } else if !cands.is_empty() {
            diag.help = Some(format!(
                "did you mean one of {}?",
                cands
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push(diag);
    });
}
