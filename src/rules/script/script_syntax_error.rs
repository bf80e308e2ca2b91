//! HC009: a check script that does not parse as shell.

use super::ScriptCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "HC009",
    name: "script-syntax-error",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "a script that does not parse fails on every run",
    fix: FixKind::None,
    summary: "the script does not parse as shell: it fails on every run",
    docs: r#"## What it finds
A health-check script (or inline `script "..."` command) that a shell cannot parse: an `if`
without `fi`, an unterminated quote, a stray `)`. Scripts are parsed with bash's grammar
(`brush-parser`); a script with a non-shell `#!` (python, perl) is not parsed.

## Why it matters
The shell reports the syntax error and exits with status 2 before running anything, on every
run — or, when the error is near the end, after running part of it. The check is then always
failing (the VIP leaves a healthy node), or keepalived disables it.

## Example
```
#!/bin/sh
if ! pidof nginx; then
    exit 1
```

## Fix
Correct the script; `bash -n script` (or `sh -n`) shows the same error.

## References
- bash(1), `-n`
"#,
    check: Check::Script(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
        ),
        ("chk.sh", "#!/bin/sh\nif ! pidof nginx; then\n    exit 1\n"),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\nif ! pidof nginx; then\n    exit 1\nfi\n",
        ),
    ],
};

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let len = cx.target.span.len();
    if cx.target.shell.is_none() && len > super::MAX_SHELL_PARSE {
        let mut d = cx.diag(
            "HC009",
            Span::new(cx.target.span.start, cx.target.span.start),
            format!(
                "not analysed: the script is {len} bytes, more than the {} KiB of shell haconf parses",
                super::MAX_SHELL_PARSE / 1024
            ),
        );
        d.severity = crate::diagnostic::Severity::Info;
        out.push(d);
        return;
    }
    let Some(e) = cx.target.parse_error() else {
        return;
    };
    let f = cx.db.get(cx.target.file);
    let at = e.offset.min(f.text.len());
    let end = f.text[at..]
        .find(['\n', ' ', '\t'])
        .map_or(f.text.len(), |i| at + i.max(1))
        .min(cx.target.span.end.max(at));
    out.push(
        cx.diag(
            "HC009",
            Span::new(at, end.max(at)),
            format!(
                "the script does not parse as shell ({}): the shell stops here with status 2 on every run",
                e.message
            ),
        )
        .with_help("`bash -n` on the script shows the same error"),
    );
}
