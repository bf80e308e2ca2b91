//! KA018: a script keepalived is told to run that the node does not have.

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::Val;
use crate::project::command_program;
use crate::rules::{Check, FixKind, NodeCtx, Rule};

pub static RULE: Rule = Rule {
    code: "KA018",
    name: "script-not-found",
    severity: Severity::Error,
    group: crate::rules::Group::Correctness,
    default: true,
    why: "a check that cannot run counts as success, so the VIP never moves; in a repository layout the file may be deployed by other means, so missing files and modes are info there",
    fix: FixKind::None,
    summary: "a `vrrp_script`/notify path that is not in the node's files, is relative, or is not executable",
    docs: r#"## What it finds
The program of a `vrrp_script` or `notify*` command that:
- is an absolute path the node directory does not contain (looked up under the node root,
  then by file name in the flat layout) — system programs in `/bin`, `/sbin`, `/usr/bin`,
  `/usr/sbin` are assumed present;
- is a relative path with a `/` (keepalived runs from `/`, so `scripts/chk.sh` means
  `/scripts/chk.sh`);
- is a notify script that exists but has no execute bit (a `vrrp_script` without one is
  HC006, which also checks its `#!` line).
A bare name (`killall`, `pidof`) is looked up in `PATH` by keepalived and is not reported.

A script absent from the node, or without its execute bit, is an error only where the tree
shows what the host has: an `etc/` overlay (`ha1/etc/keepalived/...`) or the host's facts. In
a flat repository layout the deploy often ships scripts and sets modes, so there it is info
(and everywhere with `[lint] deploy-sets-modes = true`). A path wrapped in typographic quotes
is KA026's finding, not this one's.

With a host's facts (`facts.json`, written by `haconf pull`), what the host has decides:
a program missing there (system directories included) or without its execute bit there is
reported, whatever the copy being checked holds; one the host has is not.

## Why it matters
keepalived disables a track script it cannot find or execute (`Disabling track script X since
not found/accessible`), and at run time a script that cannot be executed counts as
**success**. Either way the check never fails and the VIP never moves.

## Example
```
vrrp_script chk_nginx {
    script "/etc/keepalived/chk_nginx.sh"   # not shipped with this node
}
```

## Fix
Ship the script with every node (and `chmod 755` it), or fix the path.

## References
- keepalived `core/notify.c` ("Script errors aren't server errors")
- keepalived `vrrp/vrrp_track.c`
"#,
    check: Check::Node(check),
    bad: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/etc/keepalived/chk_nginx.sh\"\n}\n",
    )],
    good: &[(
        "keepalived.conf",
        "vrrp_script chk {\n    script \"/usr/bin/pgrep -x nginx\"\n}\nvrrp_script chk2 {\n    script \"killall -0 nginx\"\n}\n",
    )],
};

const SYSTEM_DIRS: &[&str] = &[
    "/bin/",
    "/sbin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/libexec/",
    "/lib/",
    "/usr/lib/",
];

fn check(cx: &NodeCtx, out: &mut Vec<Diagnostic>) {
    let ka = &cx.model().keepalived;
    // (command, whether it is a vrrp_script's: HC006 reports those without an execute bit)
    let mut cmds: Vec<(&Val<String>, bool)> = ka
        .scripts
        .iter()
        .filter_map(|s| s.script.as_ref().map(|v| (v, true)))
        .collect();
    for i in &ka.instances {
        cmds.extend(i.notify.iter().map(|n| (&n.1, false)));
    }
    let deployed =
        crate::rules::tree_is_deployed(cx.node(), crate::rules::deploy_sets_modes(cx.cm));
    for (c, is_check) in cmds {
        let Some(prog) = command_program(&c.value) else {
            continue;
        };
        if !prog.contains('/') {
            continue;
        }
        // Paste debris around the path is KA026's finding, with its fix: one cause, one report.
        if prog.starts_with([
            '\u{201c}', '\u{201d}', '\u{2018}', '\u{2019}', '\u{ab}', '\u{bb}',
        ]) {
            continue;
        }
        let mut in_repo_only = false;
        let on_host = cx.node().facts.as_deref().and_then(|f| f.file(&prog));
        let msg = if !prog.starts_with('/') {
            format!(
                "`{prog}` is a relative path; keepalived runs scripts from `/`, so it looks for `/{prog}`"
            )
        } else if let Some(h) = on_host {
            // The host's facts (`haconf pull`) say what keepalived will find, system
            // directories included.
            match on_host_problem(cx, &prog, h, is_check) {
                Some(m) => m,
                None => continue,
            }
        } else if SYSTEM_DIRS.iter().any(|d| prog.starts_with(d)) {
            continue;
        } else {
            match cx.node().program(&prog) {
                Some(p) if p.resolved.is_some() && !p.executable && is_check => continue,
                Some(p) if p.resolved.is_some() && !p.executable => {
                    if deployed {
                        format!(
                            "`{prog}` is not executable: keepalived cannot run it, and a script that cannot run counts as success"
                        )
                    } else {
                        in_repo_only = true;
                        format!(
                            "`{prog}` is not executable in this repository: unless the deploy sets its mode, keepalived cannot run it, and a script that cannot run counts as success"
                        )
                    }
                }
                Some(p) if p.resolved.is_some() => continue,
                _ if deployed => format!(
                    "`{prog}` is not among node `{}`'s files: keepalived disables the check, or counts it as always passing",
                    cx.node().name
                ),
                _ => {
                    in_repo_only = true;
                    format!(
                        "`{prog}` is not among node `{}`'s files: unless the deploy installs it, keepalived disables the check, or counts it as always passing",
                        cx.node().name
                    )
                }
            }
        };
        let mut d = Diagnostic::new("KA018", c.file, c.span, msg);
        if in_repo_only {
            // A flat repository often holds only the configs; the deploy ships the scripts
            // and sets modes. Only an `etc/` overlay or the host's facts show what keepalived
            // will find.
            d.severity = Severity::Info;
            d = d.with_help("a tree laid out as `etc/keepalived/...`, or pulled with `haconf pull`, is checked as deployed");
        }
        out.push(d);
    }
}

/// What is wrong with `prog` on the host, as its facts have it (`None`: nothing).
fn on_host_problem(
    cx: &NodeCtx,
    prog: &str,
    h: &crate::facts::FileFact,
    is_check: bool,
) -> Option<String> {
    use crate::facts::FileKind;
    let host = cx
        .node()
        .facts
        .as_deref()
        .and_then(|f| f.hostname.as_deref())
        .unwrap_or(&cx.node().name);
    match h.kind {
        FileKind::Missing | FileKind::DanglingLink => Some(format!(
            "`{prog}` does not exist on host `{host}`: keepalived disables the check, or counts it as always passing"
        )),
        FileKind::File => match h.executable() {
            // HC006 reports a check script it has read; one it could not read is reported here.
            Some(false)
                if is_check && cx.node().program(prog).is_some_and(|p| p.file.is_some()) =>
            {
                None
            }
            Some(false) => Some(format!(
                "`{prog}` is not executable on host `{host}` (mode {}): keepalived cannot run it, and a script that cannot run counts as success",
                h.mode.as_deref().unwrap_or("?")
            )),
            _ => None,
        },
        FileKind::Other => None,
        k => Some(format!(
            "`{prog}` is {} on host `{host}`, not a program keepalived can run",
            k.describe()
        )),
    }
}
