//! HC010: shell syntax in an inline `script "..."` command, which keepalived runs without a
//! shell.

use super::ScriptCtx;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "HC010",
    name: "inline-check-shell-syntax",
    severity: Severity::Warning,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived runs no shell: redirections, pipes and `&&` become arguments, so the check runs something other than what is written",
    fix: FixKind::None,
    summary: "shell syntax (`>`, `|`, `&&`, `;`, `$(...)`) in an inline `script \"...\"`: keepalived runs no shell, so it becomes arguments",
    docs: r#"## What it finds
An inline `vrrp_script` command — `script "pidof nginx > /dev/null"` — that uses shell
syntax: a redirection (`>`, `2>/dev/null`, `&>`), a pipe, `&&`, `||`, `;`, `&`, a command
substitution (`$(...)`, backquotes) or a variable (`$VAR`). A command run through a shell
on purpose (`/bin/sh -c '...'`) is not reported.

## Why it matters
keepalived splits an inline command into words itself (honouring quotes) and executes the
first word directly: no shell reads the line. `pidof nginx > /dev/null` runs `pidof` with the
three arguments `nginx`, `>` and `/dev/null`; `killall -0 nginx && curl ...` passes `&&`,
`curl` and the URL to killall as process names. The check then tests something other than
what is written — often it passes or fails for an unrelated reason.

## Example
```
vrrp_script chk_nginx {
    script "pidof nginx > /dev/null"
}
```

## Fix
Drop redirections (keepalived discards a check's output anyway), put anything that needs a
shell in a script file with a `#!` line, or run it as `script "/bin/sh -c '...'"`.

## References
- keepalived `core/notify.c` (commands are split into words and executed without a shell)
- keepalived.conf(5), `vrrp_script`
"#,
    check: Check::Script(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"pidof nginx > /dev/null\"\n    interval 2\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/curl -fsS -o /dev/null --max-time 1 http://127.0.0.1/\"\n    interval 2\n}\nvrrp_script chk2 {\n    script \"/bin/sh -c 'pidof nginx > /dev/null'\"\n    interval 2\n}\n",
    )],
};

/// The words of an inline command as keepalived splits them: (text, span, quoted).
fn words(text: &str, base: usize) -> Vec<(String, Span, bool)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        let mut quoted = false;
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            end = i + c.len_utf8();
            if c == '"' || c == '\'' {
                quoted = true;
                for (j, d) in chars.by_ref() {
                    end = j + d.len_utf8();
                    if d == c {
                        break;
                    }
                    word.push(d);
                }
            } else {
                word.push(c);
            }
        }
        out.push((word, Span::new(base + start, base + end), quoted));
    }
    out
}

/// The shell construct an unquoted word is, if any.
fn shell_syntax(w: &str) -> Option<&'static str> {
    if matches!(w, "|" | "||" | "&&" | ";" | "&" | "|&") || w.ends_with(';') {
        return Some("a command separator or pipe");
    }
    let redirect = w.starts_with('>')
        || w.starts_with('<')
        || w.starts_with("&>")
        || (w.len() > 1
            && w.as_bytes()[0].is_ascii_digit()
            && (w.as_bytes()[1] == b'>' || w.as_bytes()[1] == b'<'));
    if redirect {
        return Some("a redirection");
    }
    if w.contains("$(") || w.contains('`') {
        return Some("a command substitution");
    }
    if w.contains('$') {
        return Some("a variable");
    }
    None
}

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let t = cx.target;
    if !t.inline {
        return;
    }
    let text = &cx.db.get(t.file).text[t.span.start..t.span.end];
    let ws = words(text, t.span.start);
    let Some((prog, _, _)) = ws.first() else {
        return;
    };
    let base = crate::shell::analysis::basename(prog);
    // `sh -c '...'`: a shell on purpose.
    if matches!(
        base,
        "sh" | "bash" | "dash" | "ash" | "ksh" | "zsh" | "busybox"
    ) && ws.iter().any(|(w, _, q)| !q && w == "-c")
    {
        return;
    }
    let Some((i, (w, span, _), what)) = ws
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, (_, _, q))| !q)
        .find_map(|(i, x)| shell_syntax(&x.0).map(|k| (i, x, k)))
    else {
        return;
    };
    let rest: Vec<String> = ws[i..].iter().map(|(w, _, _)| format!("`{w}`")).collect();
    out.push(
        cx.diag(
            "HC010",
            *span,
            format!(
                "`{w}` is {what}, but keepalived runs this command without a shell: {} become arguments of `{base}`",
                rest.join(", ")
            ),
        )
        .with_help(
            "drop redirections (keepalived discards the output), or move the command into a script with a `#!` line, or use `/bin/sh -c '...'`",
        ),
    );
}
