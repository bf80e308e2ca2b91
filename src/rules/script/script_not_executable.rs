//! HC006: a check script keepalived cannot execute as intended.

use super::ScriptCtx;
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "HC006",
    name: "script-not-executable",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "a check that cannot run counts as success; in a repository layout modes are set at deploy time, so a missing execute bit is info there",
    fix: FixKind::Safe,
    summary: "missing shebang, or no execute bit",
    docs: r#"## What it finds
A check script the node ships that has no execute bit, whose first line is not a `#!`
line (including the common typo `#/bin/bash`, which is a comment), or whose `#!` line ends
with a carriage return (a file saved with Windows line endings: the kernel then looks for
an interpreter named `/bin/bash\r`).

The execute bit is an error only where the tree shows what keepalived will find: with the
host's facts (`haconf pull`), or in an `etc/` overlay (`ha1/etc/keepalived/...`). In a flat
repository layout (`ha1/keepalived.conf`, `ha1/chk.sh`) modes are usually set by the deploy
(Ansible's `mode:`, a package, `install -m 755`), so a missing bit there is info; so is every
missing bit when haconf.toml says `[lint] deploy-sets-modes = true`. The `#!` line and line
endings are the file's content and are reported everywhere.

## Why it matters
keepalived disables a `vrrp_script` it cannot execute, and at run time a script that cannot
be executed counts as **success**. A script without `#!` is run through `system()`, that is
`/bin/sh` — dash on Debian and Ubuntu — so bash syntax (`[[ ]]`, arrays, `function`) fails,
usually in a way that makes the check pass or always fail; keepalived only logs "Please add a
#! shebang" to syslog.

## Example
```
#/bin/bash
[[ $(pidof nginx) ]] || exit 1
```

## Fix
Start the script with `#!/bin/sh` (or `#!/bin/bash` when it uses bash), and `chmod 755` it.
`haconf fix` does both: it adds the missing `#!` (turning `#/bin/bash` into `#!/bin/bash`, or
adding `#!/bin/sh`, which is how keepalived runs it today) and sets the execute bit where
the file can be read (`0644` → `0755`); `--diff` shows it as `mode change 0644 => 0755`.
Make the same change in the tool that deploys the script.

With a host's facts (`facts.json`, written by `haconf pull`), the execute bit is the host's
own, whatever the mode of the copy being checked.

## References
- keepalived runs a script without `#!` through the shell and logs 'Please add a #! shebang' (keepalived's `core/notify.c`)
- keepalived `core/notify.c` ("Script errors aren't server errors")
"#,
    check: Check::Script(check),
    bad: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
        ),
        ("chk.sh", "#/bin/bash\n[[ $(pidof nginx) ]] || exit 1\n"),
    ],
    good: &[
        (
            "keepalived.conf",
            "vrrp_script chk {\n    script \"/etc/keepalived/chk.sh\"\n    interval 2\n    timeout 1\n}\n",
        ),
        (
            "chk.sh",
            "#!/bin/sh\nexec curl -fs -o /dev/null --max-time 0.5 http://127.0.0.1/\n",
        ),
    ],
};

fn check(cx: &ScriptCtx, out: &mut Vec<Diagnostic>) {
    let t = cx.target;
    if t.inline {
        return;
    }
    let f = cx.db.get(t.file);
    // A compiled program (ELF) needs no `#!`: the kernel runs it as it is.
    let elf = f.bytes.starts_with(b"\x7fELF");
    // A file that is not text is never edited (not even its mode): a fix cannot know what
    // it is.
    let text = crate::fix::is_text(&f.bytes);
    let first_end = f.text.find('\n').unwrap_or(f.text.len());
    let first = &f.text[..first_end];
    if f.text.starts_with("#!") && first.ends_with('\r') {
        // Windows line endings: the kernel reads `/bin/sh\r` as the interpreter's name.
        let interp = first[2..].trim_end_matches('\r').trim();
        let edits: Vec<Edit> = f
            .text
            .match_indices("\r\n")
            .map(|(i, _)| Edit {
                file: t.file,
                span: Span::new(i, i + 1),
                replacement: String::new(),
            })
            .collect();
        out.push(
            cx.diag("HC006", Span::new(0, first_end - 1), format!(
                "the `#!` line ends with a carriage return (Windows line endings): the kernel looks for an interpreter named `{interp}\\r`, which does not exist, so the script cannot run, and a check that cannot run counts as success"
            ))
            .with_help("convert the file to Unix line endings (`sed -i 's/\\r$//'`, or your editor's LF setting)")
            .with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: "convert to Unix line endings".into(),
                edits,
            })
            .with_fix_if(text),
        );
    }
    if !elf && !f.text.starts_with("#!") {
        let typo = first.starts_with('#') && first.contains("/bin/");
        let (msg, edit) = if typo {
            (
                format!(
                    "the first line `{}` is a comment, not a `#!` line: keepalived runs the script through /bin/sh (dash on Debian), not `{}`",
                    first.trim_end(),
                    first[1..].trim()
                ),
                Edit {
                    file: t.file,
                    span: Span::new(0, 1),
                    replacement: "#!".into(),
                },
            )
        } else {
            (
                "the script has no `#!` line: keepalived runs it through /bin/sh (dash on Debian) and logs \"Please add a #! shebang\"".to_string(),
                Edit {
                    file: t.file,
                    span: Span::new(0, 0),
                    replacement: "#!/bin/sh\n".into(),
                },
            )
        };
        let fix_msg = if typo {
            format!("make it `#!{}`", first[1..].trim())
        } else {
            "add `#!/bin/sh` (how keepalived runs it today)".to_string()
        };
        let d = cx
            .diag("HC006", Span::new(0, first_end), msg)
            .with_help("start the script with `#!/bin/sh`, or `#!/bin/bash` when it uses bash");
        out.push(if text {
            d.with_fix(Fix {
                applicability: Applicability::Safe,
                modes: Vec::new(),
                message: fix_msg,
                edits: vec![edit],
            })
        } else {
            d
        });
    }
    // The host's own mode, when its facts have it (`haconf pull`), is the one keepalived sees:
    // a copy may have lost the bit, or gained it.
    let on_host = t.program.and_then(|i| {
        cx.node
            .facts
            .as_deref()?
            .file(&cx.node.programs[i].configured)
    });
    if let Some(p) = t.program.map(|i| &cx.node.programs[i])
        && p.resolved.is_some()
        && !on_host.and_then(|f| f.executable()).unwrap_or(p.executable)
    {
        let mode = on_host
            .and_then(|f| f.mode.as_deref())
            .map_or(String::new(), |m| format!(" on the host (mode {m})"));
        let mut d = if cx.deployed {
            cx.diag(
                "HC006",
                Span::new(0, first_end),
                format!(
                    "`{}` has no execute bit{mode}: keepalived cannot run it, and a check that cannot run counts as success",
                    p.configured
                ),
            )
            .with_help("`chmod 755` the script on every node (and in the tool that deploys it)")
        } else {
            // A flat repository: modes are usually set when the files are deployed.
            cx.diag(
                "HC006",
                Span::new(0, first_end),
                format!(
                    "`{}` has no execute bit in this repository: unless the deploy sets it, keepalived cannot run it, and a check that cannot run counts as success",
                    p.configured
                ),
            )
            .with_help("make sure the deploy installs it with mode 755 (or `chmod +x` it here); a tree laid out as `etc/keepalived/...`, or pulled with `haconf pull`, is checked as deployed")
        };
        if !cx.deployed {
            d.severity = Severity::Info;
        }
        // Only the copy can be fixed here: one that is executable already has nothing to fix,
        // whatever the host has.
        out.push(if p.executable || !text {
            d
        } else {
            d.with_fix(Fix {
                applicability: Applicability::Safe,
                modes: vec![(t.file, chmod_x(cx.db.mode(&cx.db.get(t.file).path)))],
                message: "make it executable (`chmod +x`)".into(),
                edits: Vec::new(),
            })
        });
    }
}

/// The mode with the execute bits added where it can be read (0644 → 0755, 0600 → 0700).
fn chmod_x(mode: Option<u32>) -> u32 {
    let m = mode.unwrap_or(0o644);
    m | ((m & 0o444) >> 2)
}
