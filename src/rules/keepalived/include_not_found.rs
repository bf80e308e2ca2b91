//! KA005: an `include` whose pattern matches no file.

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::IncludeProblem;
use crate::rules::{Check, FixKind, KaCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA005",
    name: "include-not-found",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the included configuration is silently missing",
    fix: FixKind::None,
    summary: "`include` pattern that matches nothing",
    docs: r#"## What it finds
An `include` (or `includer`, `includem`, ...) whose pattern matches no file in the node.
Relative patterns resolve from the including file's directory; absolute ones inside the node
directory (the machine's `/` in the `etc/` layout), then by file name in the flat layout.
haconf also reports a pattern that matches more files than it reads.

## Why it matters
A plain `include` of a missing file is not an error for keepalived: it prints
`Config files missing` and goes on, so the instances you meant to include never exist. Only
`includea` and friends turn it into an error.

## Example
```
include /etc/keepalived/conf.d/*.conf   # but conf.d/ is empty
```

## Fix
Ship the included files with the node, or fix the path. Include cycles are KA001.

## References
- keepalived `lib/parser.c` (`Config files missing`)
- `man 5 keepalived.conf`, section *include*
"#,
    check: Check::Keepalived(check),
    bad: &[("keepalived.conf", "include /etc/keepalived/conf.d/*.conf\n")],
    good: &[
        ("keepalived.conf", "include conf.d/*.conf\n"),
        ("conf.d/vi.conf", "global_defs {\n    router_id ha1\n}\n"),
    ],
};

fn check(cx: &KaCtx, out: &mut Vec<Diagnostic>) {
    for inc in &cx.unit.includes {
        for p in &inc.problems {
            let d = match p {
                IncludeProblem::NotFound | IncludeProblem::PackageFile => Diagnostic::new(
                    "KA005",
                    inc.file,
                    inc.pattern_span,
                    format!("`include {}` matches no file in node `{}`", inc.pattern, cx.node.name),
                )
                .with_help("keepalived only logs \"Config files missing\" and runs without what this file should add"),
                IncludeProblem::Truncated(n) => Diagnostic::new(
                    "KA005",
                    inc.file,
                    inc.pattern_span,
                    format!("`include {}` matches more than {n} files; haconf read the first {n}", inc.pattern),
                ),
                IncludeProblem::Unreadable(path, e) => Diagnostic::new(
                    "KA005",
                    inc.file,
                    inc.pattern_span,
                    format!("`{}` matched by this include cannot be read: {e}", path.display()),
                ),
                IncludeProblem::TooDeep => Diagnostic::new(
                    "KA005",
                    inc.file,
                    inc.pattern_span,
                    format!("includes nested more than {} deep; not followed further", crate::project::MAX_INCLUDE_DEPTH),
                ),
                IncludeProblem::Cycle(_) => continue,
            };
            out.push(d);
        }
    }
}
