//! NX005: an nginx `include` that matches nothing.

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::IncludeProblem;
use crate::rules::{Check, FixKind, NgCtx, Rule};

pub static RULE: Rule = Rule {
    code: "NX005",
    name: "include-not-found",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "nginx refuses to start (a plain path) or silently loads nothing (a glob)",
    fix: FixKind::None,
    summary: "`include` that matches nothing (relative paths resolve against the conf dir)",
    docs: r#"## What it finds
An `include` whose file or glob matches nothing in the node. Relative paths resolve against
the main config's directory (nginx's conf prefix), not the including file's; absolute paths
resolve inside the node (`etc/` layout), or by stripping `/etc/nginx/` (flat layout). Files
the nginx package ships (`mime.types`, `fastcgi_params`, `proxy_params`, ...) are not
reported when absent: every node has them. A glob that matches nothing in a flat repository
layout is info: nginx accepts it, and the directories it names are often filled on the host.

## Why it matters
An include of a missing *file* makes `nginx -t` fail; a *glob* that matches nothing is
silently empty, so the sites you meant to serve are not served.

## Example
```
include conf.d/*.conf;   # but conf.d/ is empty in this node
```

## Fix
Ship the included files with the node, or fix the path.

## References
- nginx `src/core/ngx_conf_file.c` (`ngx_conf_include`)
"#,
    check: Check::Nginx(check),
    bad: &[(
        "nginx.conf",
        "events {}\nhttp {\n    include sites/app.conf;\n}\n",
    )],
    good: &[
        (
            "nginx.conf",
            "events {}\nhttp {\n    include mime.types;\n    include sites/*.conf;\n}\n",
        ),
        ("sites/app.conf", "server {\n    listen 80;\n}\n"),
    ],
};

fn check(cx: &NgCtx, out: &mut Vec<Diagnostic>) {
    for inc in &cx.unit.includes {
        for p in &inc.problems {
            let msg = match p {
                IncludeProblem::NotFound => format!(
                    "`include {}` matches no file in node `{}`",
                    inc.pattern, cx.node.name
                ),
                IncludeProblem::Truncated(n) => format!(
                    "`include {}` matches more than {n} files; haconf read the first {n}",
                    inc.pattern
                ),
                IncludeProblem::Unreadable(path, e) => {
                    format!("`{}` cannot be read: {e}", path.display())
                }
                IncludeProblem::TooDeep => format!(
                    "includes nested more than {} deep; not followed further",
                    crate::project::MAX_INCLUDE_DEPTH
                ),
                IncludeProblem::PackageFile | IncludeProblem::Cycle(_) => continue,
            };
            let mut d = Diagnostic::new("NX005", inc.file, inc.pattern_span, msg);
            // nginx accepts a glob that matches nothing; in a repository that holds only the
            // configs, directories the distribution fills (`modules/*.conf`, `conf.d/*.conf`)
            // are empty here and not on the host.
            if matches!(p, IncludeProblem::NotFound)
                && inc.pattern.contains(['*', '?', '['])
                && !crate::rules::tree_is_deployed(cx.node, false)
            {
                d.severity = Severity::Info;
                d = d.with_help("nginx loads nothing from a glob that matches nothing; a tree laid out as `etc/nginx/...`, or pulled with `haconf pull`, is checked as deployed");
            }
            out.push(d);
        }
    }
}
