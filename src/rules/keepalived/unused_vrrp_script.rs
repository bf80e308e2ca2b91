//! KA017: a `vrrp_script` that no instance or sync group tracks.

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA017",
    name: "unused-vrrp-script",
    severity: Severity::Warning,
    group: crate::rules::Group::Pedantic,
    default: false,
    why: "dead configuration; an instance without any check is KA025",
    fix: FixKind::None,
    summary: "a `vrrp_script` no instance tracks",
    docs: r#"## What it finds
A `vrrp_script` that no `track_script` of an instance or sync group names.

## Why it matters
keepalived runs it every `interval` and ignores the result. Usually the `track_script` that
should name it is missing or misspelled, so the instance has no working health check.

## Example
```
vrrp_script chk_nginx { script "/etc/keepalived/chk_nginx.sh" }
vrrp_instance VI_1 { ... }   # no track_script
```

## Fix
Track it from the instance (`track_script { chk_nginx }`), or delete it.

## References
- `man 5 keepalived.conf`, *vrrp_script* and *track_script*
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk_nginx {\n    script \"/usr/bin/true\"\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk_nginx {\n    script \"/usr/bin/true\"\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk_nginx\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let ka = &cx.model().keepalived;
    // Sync groups track scripts too; they are not in the model's instance list.
    let mut group_tracked: Vec<String> = Vec::new();
    if let Some(unit) = &cx.node().keepalived {
        unit.walk(&mut |_, s, path| {
            if path == "vrrp_sync_group/track_script"
                && let Some(w) = s.words.first()
            {
                group_tracked.push(w.value.to_string());
            }
        });
    }
    for s in &ka.scripts {
        let used = ka
            .instances
            .iter()
            .any(|i| i.track_scripts.iter().any(|t| t.name == s.name.value))
            || group_tracked.contains(&s.name.value);
        if !used {
            out.push(Diagnostic::new(
                "KA017",
                s.name.file,
                s.name.span,
                format!("`vrrp_script {}` is defined but no instance tracks it: its result changes nothing", s.name.value),
            ));
        }
    }
}
