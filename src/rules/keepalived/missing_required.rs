//! KA004: a block without a keyword it cannot work without.

use super::active;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{Check, FixKind, KaCtx, Rule};
use crate::syntax::keepalived::{Item, Stmt};

pub static RULE: Rule = Rule {
    code: "KA004",
    name: "missing-required",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived drops the instance or script",
    fix: FixKind::None,
    summary: "vrrp_instance without interface, virtual_router_id or virtual_ipaddress; vrrp_script without script",
    docs: r#"## What it finds
A `vrrp_instance` with no `virtual_router_id`, no `interface` (unless `unicast_src_ip`
names the source address), or no `virtual_ipaddress`; a `vrrp_script` with no `script`.
Lines guarded by `@id` count only on the node whose name is `id` (keepalived's config-id
defaults to the host name), so haconf checks each node with its own name.

## Why it matters
Without a VRID keepalived stops validating the instance (`the virtual router id must be
set`); without an interface it does not know where to send adverts; without VIPs the
instance moves nothing. A `vrrp_script` without `script` is removed, and every
`track_script` naming it silently tracks nothing.

## Example
```
vrrp_instance VI_1 {
    state MASTER
    priority 101
    virtual_ipaddress { 192.168.0.100/24 }
}
```

## Fix
Add the missing keyword: the same `virtual_router_id` on every node of the instance, the
interface that carries the VIP.

## References
- keepalived `vrrp/vrrp.c` (`vrrp_complete_instance`)
- `man 5 keepalived.conf`
"#,
    check: Check::Keepalived(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    interval 2\n}\nvrrp_instance VI_1 {\n    state MASTER\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/true\"\n}\nvrrp_instance VI_1 {\n    unicast_src_ip 192.168.0.10\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

/// The keywords present (and active on this node) in a block, following includes.
fn keywords_in(cx: &KaCtx, file: usize, items: &[Item], out: &mut Vec<String>, depth: usize) {
    for i in items {
        let Item::Stmt(s) = i else { continue };
        if !active(s, &cx.node.name) {
            continue;
        }
        if crate::project::is_ka_include(s)
            && depth < 8
            && let Some(inc) = cx.unit.include_at(file, s.span)
        {
            for t in &inc.targets {
                if let Some(tree) = cx.unit.trees.get(t) {
                    keywords_in(cx, *t, &tree.items, out, depth + 1);
                }
            }
        }
        if let Some(k) = s.keyword() {
            out.push(k.to_owned());
        }
    }
}

fn check(cx: &KaCtx, out: &mut Vec<Diagnostic>) {
    let mut found: Vec<(usize, &Stmt)> = Vec::new();
    cx.unit.walk(&mut |file, stmt, path| {
        if path == "/"
            && matches!(stmt.keyword(), Some("vrrp_instance" | "vrrp_script"))
            && stmt.block.is_some()
            && active(stmt, &cx.node.name)
        {
            found.push((file, stmt));
        }
    });
    for (file, stmt) in found {
        let Some(b) = &stmt.block else { continue };
        let mut kws = Vec::new();
        keywords_in(cx, file, &b.items, &mut kws, 0);
        let has = |k: &str| kws.iter().any(|x| x == k);
        let name = stmt.words.get(1).map_or("", |w| w.value.as_str());
        let mut missing = Vec::new();
        if stmt.keyword() == Some("vrrp_script") {
            if !has("script") {
                missing.push(("script", "keepalived removes the script (\"No script set\"), and every track_script naming it tracks nothing"));
            }
        } else {
            if !has("virtual_router_id") {
                missing.push(("virtual_router_id", "keepalived stops validating the instance: \"the virtual router id must be set\""));
            }
            if !has("interface") && !has("unicast_src_ip") {
                missing.push((
                    "interface",
                    "keepalived does not know where to send adverts",
                ));
            }
            if !has("virtual_ipaddress") && !has("no_virtual_ipaddress") {
                missing.push(("virtual_ipaddress", "the instance moves no address"));
            }
        }
        for (k, why) in missing {
            out.push(
                Diagnostic::new(
                    "KA004",
                    file,
                    stmt.head_span(),
                    format!("`{} {name}` has no `{k}`", stmt.keyword().unwrap_or("")),
                )
                .with_help(why.to_string()),
            );
        }
    }
}
