//! KA002: a keyword keepalived does not know in the block it stands in.

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::project::is_ka_include;
use crate::rules::{Check, FixKind, KaCtx, Rule, suggest};
use crate::vocab::keepalived::Vocabulary;

pub static RULE: Rule = Rule {
    code: "KA002",
    name: "unknown-keyword",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "keepalived ignores the keyword, or `keepalived -t` rejects the file",
    fix: FixKind::Unsafe,
    summary: "a keyword keepalived does not know in that block (with did-you-mean)",
    docs: r#"## What it finds
A keyword keepalived 2.2 does not accept where it stands: a typo (`virtual_router_ip`),
wrong case (`Priority` — keepalived is case-sensitive), a keyword of another block
(`priority` in `global_defs`), a removed one (`lvs_id`) or one from a newer release.

## Why it matters
keepalived logs `Unknown keyword` and skips the line. The setting you wrote does not exist
for it: a misspelled `nopreempt` preempts, a misspelled `priority` leaves 100 on every node.

## Example
```
vrrp_instance VI_1 {
    Priority 101
}
```

## Fix
When exactly one known keyword is close, haconf offers to replace it. The fix changes
behaviour, so it is applied only with `--unsafe`: keepalived skips an unknown keyword and
runs without it, so spelling it right turns on a setting the node has been running without
(the corpus has `lvs_sync_daemon_inteface` in two instances: fixed, keepalived starts the
LVS sync daemon and complains that it was given twice). Otherwise haconf lists the
candidates, or says in which block the keyword belongs.

## References
- keepalived `lib/parser.c` (`Unknown keyword '%s'`)
- `man 5 keepalived.conf`
"#,
    check: Check::Keepalived(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    Priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 101\n    virtual_ipaddress {\n        192.168.0.100/24\n    }\n}\n",
    )],
};

fn check(cx: &KaCtx, out: &mut Vec<Diagnostic>) {
    let vocab = Vocabulary::get();
    cx.unit.walk(&mut |file, stmt, path| {
        let Some(word) = stmt.words.first() else { return };
        let kw = word.value.as_str();
        if stmt.generator.is_some() || kw.starts_with('$') || is_ka_include(stmt) {
            return;
        }
        if path != "/" && !vocab.is_keyword_block(path) {
            return;
        }
        if vocab.lookup(path, kw).is_some() {
            return;
        }
        if kw == "\\" {
            // What a commented line ending in `\` leaves behind; keepalived 2.2 reports it
            // at the top level only.
            if path == "/" {
                out.push(
                    Diagnostic::new("KA002", file, word.span, "a comment ending in `\\` leaves a stray `\\`, which keepalived reads as a keyword")
                        .with_help("keepalived reports \"Unknown keyword '\\'\"; remove the trailing backslash from the comment"),
                );
            }
            return;
        }
        let block = if path == "/" { "the top level".to_owned() } else { format!("`{}`", path.rsplit('/').next().unwrap_or(path)) };
        let mut d = Diagnostic::new("KA002", file, word.span, format!("unknown keyword `{kw}` in {block}"));
        if let Some(k) = vocab.other_version(path, kw) {
            d.message = if k.removed {
                format!("`{kw}` was removed from keepalived: {}", k.notes)
            } else {
                format!("`{kw}` needs keepalived {} or newer; keepalived 2.2 rejects it as unknown", k.since)
            };
            out.push(d);
            return;
        }
        let names = vocab.keywords(path).iter().filter(|k| !k.removed && !k.newer).map(|k| k.name.as_str());
        let cands = suggest(kw, names);
        let elsewhere = vocab.paths_of(kw);
        if cands.len() == 1 {
            let c = cands[0];
            d.help = Some(format!("did you mean `{c}`?"));
            d.fix = Some(Fix {
                applicability: Applicability::Unsafe,
                modes: Vec::new(),
                message: format!("replace `{kw}` with `{c}` (keepalived ignores `{kw}` today: this turns the setting on)"),
                edits: vec![Edit { file, span: word.span, replacement: c.to_owned() }],
            });
        } else if !cands.is_empty() {
            d.help = Some(format!(
                "did you mean one of {}?",
                cands.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ));
        } else if let Some(new) = alias_target(vocab, kw).filter(|n| vocab.lookup(path, n).is_some()) {
            d.message = format!("`{kw}` is an old name of `{new}`, which keepalived 2.2 does not accept in {block}");
            d.help = Some(format!("write `{new}`"));
            d.fix = Some(Fix {
                applicability: Applicability::Unsafe,
                modes: Vec::new(),
                message: format!("replace `{kw}` with `{new}` (keepalived ignores `{kw}` today: this turns the setting on)"),
                edits: vec![Edit { file, span: word.span, replacement: new }],
            });
        } else if !elsewhere.is_empty() {
            let places: Vec<String> = elsewhere
                .iter()
                .map(|p| if *p == "/" { "the top level".into() } else { format!("`{p}`") })
                .collect();
            d.message = format!("`{kw}` does not belong in {block}");
            d.help = Some(format!("`{kw}` is a keyword of {}", places.join(", ")));
        }
        out.push(d);
    });
}

/// For a keyword the table marks as an alias (`Deprecated alias of retry`), the current name.
fn alias_target(vocab: &Vocabulary, kw: &str) -> Option<String> {
    vocab.paths_of(kw).iter().find_map(|p| {
        let k = vocab.lookup(p, kw)?;
        let rest = k.notes.split("alias of ").nth(1)?;
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (!name.is_empty()).then_some(name)
    })
}
