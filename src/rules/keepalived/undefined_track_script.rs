//! KA016: `track_script` naming a `vrrp_script` that does not exist (yet).

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Related, Severity};
use crate::rules::{Check, FixKind, NodeCtx, Rule, suggest};

pub static RULE: Rule = Rule {
    code: "KA016",
    name: "undefined-track-script",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "the instance has no health check although the config says it has",
    fix: FixKind::Unsafe,
    summary: "`track_script` names a `vrrp_script` that is not defined",
    docs: r#"## What it finds
A `track_script` entry whose name no `vrrp_script` defines — a typo, or a script defined in a
file that is not included — and one whose `vrrp_script` comes *after* the instance: keepalived
looks the name up while it reads the instance, so a later definition is not found.

## Why it matters
keepalived logs `track script X not found, ignoring...` and runs the instance without the
check: nginx can die and the VIP stays where it is.

## Example
```
vrrp_instance VI_1 {
    track_script {
        chk_ngnix
    }
}
vrrp_script chk_nginx { ... }
```

## Fix
Correct the name, or move the `vrrp_script` above the instances that track it. When exactly
one defined script has a close name, haconf offers it (unsafe: it switches a check on).

## References
- keepalived `vrrp/vrrp_parser.c` (`vrrp_track_scr_handler`: "track script %s not found, ignoring...")
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk_nginx\n    }\n}\nvrrp_script chk_nginx {\n    script \"/usr/bin/true\"\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk_nginx {\n    script \"/usr/bin/true\"\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n    track_script {\n        chk_nginx\n    }\n}\n",
    )],
};

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let ka = &cx.model().keepalived;
    let mut order = ka.script_order.iter();
    for inst in &ka.instances {
        for t in &inst.track_scripts {
            let defined_before = order.next().map_or(0, |o| o.1);
            let pos = ka.scripts.iter().position(|s| s.name.value == t.name);
            match pos {
                Some(p) if p < defined_before => {}
                Some(p) => {
                    let s = &ka.scripts[p];
                    out.push(
                        Diagnostic::new(
                            "KA016",
                            t.file,
                            t.span,
                            format!("`{}` is defined only after `{}`: keepalived looks it up while reading the instance, and ignores it", t.name, inst.name.value),
                        )
                        .with_related(Related { file: s.name.file, span: s.name.span, message: "defined here, too late".into() })
                        .with_help("move the `vrrp_script` above the instances that track it"),
                    );
                }
                None => {
                    let mut d = Diagnostic::new(
                        "KA016",
                        t.file,
                        t.span,
                        format!(
                            "`{}` tracks `{}`, which no `vrrp_script` defines: keepalived ignores it",
                            inst.name.value, t.name
                        ),
                    );
                    let cands = suggest(&t.name, ka.scripts.iter().map(|s| s.name.value.as_str()));
                    if let [c] = cands.as_slice() {
                        d.help = Some(format!("did you mean `{c}`?"));
                        let name_span =
                            crate::source::Span::new(t.span.start, t.span.start + t.name.len());
                        d.fix = Some(Fix {
                            applicability: Applicability::Unsafe,
                            modes: Vec::new(),
                            message: format!("track `{c}`"),
                            edits: vec![Edit {
                                file: t.file,
                                span: name_span,
                                replacement: c.to_string(),
                            }],
                        });
                    }
                    out.push(d);
                }
            }
        }
    }
}
