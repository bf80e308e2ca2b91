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
    cx.unit.walk(&mut |file, d, ctx| {
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
        // A keyword glued to its first argument (`listen80`, `root/srv`): split it, never cut
        // the argument off (`listen80` → `listen` would leave `listen` without a port).
        if let Some((k, rest)) = glued(name) {
            let split = format!("{k} {rest}");
            diag.help = Some(format!("did you mean `{split}`? (a space is missing)"));
            let mut args = vec![crate::syntax::nginx::Word {
                span: d.name.span,
                value: rest.into(),
                quoted: false,
            }];
            args.extend(d.args.iter().cloned());
            if super::swallowed_directive::accepts(k, &args, d.block().is_some(), ctx) {
                diag.fix = Some(Fix {
                    applicability: Applicability::Safe,
                    modes: Vec::new(),
                    message: format!("split `{name}` into `{split}`"),
                    edits: vec![Edit {
                        file,
                        span: d.name.span,
                        replacement: split,
                    }],
                });
            }
            out.push(diag);
            return;
        }
        // A known name that is the unknown one cut short by more than a letter is no typo.
        let cands: Vec<&str> = suggest(name, known)
            .into_iter()
            .filter(|c| !(name.starts_with(*c) && name.len() > c.len() + 1))
            .collect();
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

/// `listen80` → (`listen`, `80`): the longest known directive (core or standard module) the
/// name starts with, followed by what can only be an argument — a character no directive
/// name has there (a digit, `/`, `.`, `$`, `:` ...), or `on`/`off`.
fn glued(name: &str) -> Option<(&'static str, &str)> {
    let vocab = Vocabulary::get();
    let k: &'static str = vocab
        .names()
        .filter(|k| k.len() < name.len() && name.starts_with(*k))
        .filter(|k| vocab.lookup(k).iter().any(|r| !r.third_party))
        .max_by_key(|k| k.len())?;
    let rest = &name[k.len()..];
    let first = rest.chars().next()?;
    let argument_like =
        !(first.is_ascii_alphabetic() || first == '_') || rest == "on" || rest == "off";
    let clean = !rest.contains(['"', '\'', '\\', '{', '}', ';']);
    (argument_like && clean).then_some((k, rest))
}
