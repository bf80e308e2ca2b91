//! Findings about haconf's own inputs (codes HA…): the spec file and suppression comments.

use crate::diagnostic::Severity;
use crate::rules::{Check, FixKind, Rule};

pub static INVALID_SPEC: Rule = Rule {
    code: "HA001",
    name: "invalid-spec",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "a spec haconf cannot read turns the spec checks off",
    fix: FixKind::None,
    summary: "haconf.toml does not parse, or holds a value that cannot be right",
    docs: r#"## What it finds
A `haconf.toml` that is not valid TOML, has a key haconf does not know (a typo such as
`virtual_router_ip`), or a value that cannot be right: an address that is not one, a subnet
without a prefix length, a VRID outside 1–255, a priority for a node no `[[node]]` declares.
The diagnostic points into the TOML.

## Why it matters
The spec is what `check` compares the configs against (CL017) and what `generate` renders.
A spec haconf cannot read silently turns those comparisons off.

## Example
```toml
[[node]]
name = "ha1"
adress = "192.168.0.10"
```

## Fix
Correct the key or value; `schemas/haconf.schema.json` lets an editor with a TOML language
server (taplo, Even Better TOML) check the file as you type.

## References
- docs/generate.md, *The spec*
"#,
    check: Check::Engine,
    bad: &[(
        "../haconf.toml",
        "[[node]]\nname = \"ha1\"\nadress = \"192.168.0.10\"\n",
    )],
    good: &[(
        "../haconf.toml",
        "[[node]]\nname = \"ha1\"\naddress = \"192.168.0.10\"\n",
    )],
};

pub static UNUSED_SUPPRESSION: Rule = Rule {
    code: "HA002",
    name: "unused-suppression",
    severity: Severity::Warning,
    group: crate::rules::Group::Pedantic,
    default: false,
    why: "a stale suppression is harmless until it hides a new finding; ruff's RUF100 is opt-in too",
    fix: FixKind::None,
    summary: "a `haconf: ignore[CODE]` comment that suppresses nothing",
    docs: r#"## What it finds
A suppression comment (`# haconf: ignore[CL010] reason`, or with `!` in keepalived.conf) on a
line, or on the line above it, where the named rule reports nothing.

## Why it matters
A stale suppression hides the next real finding of that rule on that line, and tells the
reader something about the config that is no longer true.

## Example
```
global_defs {
    router_id ha1   # haconf: ignore[CL010] the names differ now
}
```

## Fix
Remove the comment, or the code that no longer applies from its list.

## References
- ruff's RUF100 (unused `noqa`), the model for this rule
"#,
    check: Check::Engine,
    bad: &[(
        "keepalived.conf",
        "global_defs {\n    router_id ha1 # haconf: ignore[KA002] nothing to hide\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "global_defs {\n    Router_id ha1 # haconf: ignore[KA002] kept on purpose\n}\n",
    )],
};
