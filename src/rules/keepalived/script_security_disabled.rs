//! KA015: scripts configured without `enable_script_security` or without `script_user`.

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};
use crate::source::Span;

pub static RULE: Rule = Rule {
    code: "KA015",
    name: "script-security-disabled",
    severity: Severity::Warning,
    group: crate::rules::Group::Security,
    default: true,
    why: "`keepalived -t` fails with SECURITY VIOLATION, and scripts others can write run as root",
    fix: FixKind::Unsafe,
    summary: "scripts configured without `enable_script_security` or without `script_user`",
    docs: r#"## What it finds
A node that runs scripts (`vrrp_script`, `notify*`) whose `global_defs` lacks
`enable_script_security`, or has it but names no `script_user` while some script has no
`user` of its own.

## Why it matters
Without `enable_script_security` keepalived runs every script as root even when the script,
or a directory above it, is writable by others — and logs `SECURITY VIOLATION` (so
`keepalived -t` exits 6). With it but without `script_user`, keepalived runs scripts as the
user `keepalived_script`; where that user does not exist, it **removes** the scripts
(`Unable to set default user`), and every `track_script` silently tracks nothing.

## Example
```
global_defs {
    router_id ha1
}
vrrp_script chk_nginx {
    script "/etc/keepalived/chk_nginx.sh"
}
```

## Fix
Add `enable_script_security` and `script_user root` (or a dedicated user that exists on every
node) to `global_defs`. Unsafe: keepalived then refuses scripts whose path is writable by
non-root users, so check ownership and modes first.

## References
- keepalived `core/global_parser.c`, `vrrp/vrrp_track.c` (script security)
- https://github.com/acassen/keepalived/issues/901, https://github.com/acassen/keepalived/issues/2184
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "global_defs {\n    router_id ha1\n}\nvrrp_script chk {\n    script \"/usr/bin/true\"\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "global_defs {\n    router_id ha1\n    enable_script_security\n    script_user root\n}\nvrrp_script chk {\n    script \"/usr/bin/true\"\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let ka = &cx.model().keepalived;
    let has_notify = ka.instances.iter().any(|i| !i.notify.is_empty());
    if ka.scripts.is_empty() && !has_notify {
        return;
    }
    let g = &ka.global;
    let security = g.enable_script_security.is_some();
    let user =
        g.script_user.is_some() || (ka.scripts.iter().all(|s| s.user.is_some()) && !has_notify);
    if security && user {
        return;
    }
    let Some(unit) = &cx.node().keepalived else {
        return;
    };
    // Point at the first script definition.
    let (file, span) = ka
        .scripts
        .first()
        .map(|s| (s.name.file, s.name.span))
        .or_else(|| {
            ka.instances
                .iter()
                .find_map(|i| i.notify.first().map(|n| (n.1.file, n.1.span)))
        })
        .unwrap_or((unit.root, Span::new(0, 0)));
    let msg = if !security {
        "scripts run without `enable_script_security`: keepalived runs them as root even if others can write them, and `keepalived -t` fails with SECURITY VIOLATION".to_owned()
    } else {
        "`enable_script_security` without `script_user`: scripts run as `keepalived_script`, and keepalived removes them where that user does not exist".to_owned()
    };
    let mut lines = Vec::new();
    if !security {
        lines.push("enable_script_security");
    }
    if !user {
        lines.push("script_user root");
    }
    let edits: Vec<Edit> = match &g.block {
        Some(b) => {
            let items: Vec<Span> = [
                g.router_id.as_ref().map(|v| v.span),
                g.enable_script_security.map(|l| l.span),
                g.script_user.as_ref().map(|v| v.span),
            ]
            .into_iter()
            .flatten()
            .collect();
            crate::fix::insert_in_block(cx.db, b, &items, &lines)
                .into_iter()
                .collect()
        }
        None => vec![Edit {
            file: unit.root,
            span: Span::new(0, 0),
            replacement: format!(
                "global_defs {{\n{}\n}}\n\n",
                lines
                    .iter()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }],
    };
    let mut d = Diagnostic::new("KA015", file, span, msg);
    if !edits.is_empty() {
        d.fix = Some(Fix {
            applicability: Applicability::Unsafe,
            modes: Vec::new(),
            message: format!("add `{}` to global_defs", lines.join("` and `")),
            edits,
        });
    }
    out.push(d);
}
