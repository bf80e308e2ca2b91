//! Every rule carries an example that must trigger it and one that must not; this walks them
//! all, so inverted logic or a rule that never fires is caught for free. It also checks that
//! each rule's documentation has the fixed sections.

mod common;

use haconf::project::Project;
use haconf::rules::{Selection, all, run};

fn codes_for(files: &[(&str, &str)]) -> Vec<String> {
    // A fleet with one cluster `a` whose first node is `ha1`: examples name other nodes
    // (`../ha2/...`), the cluster's haconf.toml (`../haconf.toml`) or other clusters
    // (`../../b/ha1/...`) relative to ha1.
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("fleet/a/ha1");
    let files: Vec<(&str, &str)> = files.to_vec();
    let mut with_ka = files.clone();
    if !files.iter().any(|(p, _)| p.ends_with("keepalived.conf")) {
        // A node is a directory with a keepalived.conf.
        with_ka.push(("keepalived.conf", "global_defs {\n    router_id ha1\n}\n"));
    }
    common::write_tree(&node, &with_ka);
    for other in std::fs::read_dir(dir.path().join("fleet/a"))
        .unwrap()
        .flatten()
    {
        // Every node directory needs a keepalived.conf.
        if other.path().is_dir() && !other.path().join("keepalived.conf").exists() {
            std::fs::write(other.path().join("keepalived.conf"), "global_defs {\n}\n").unwrap();
        }
    }
    let project = Project::load(&[dir.path().join("fleet")]);
    assert!(project.errors.is_empty(), "{:?}", project.errors);
    run(&project, &Selection::everything())
        .iter()
        .map(|d| d.code.to_string())
        .collect()
}

#[test]
fn bad_examples_trigger_and_good_ones_do_not() {
    let mut failures = Vec::new();
    for rule in all() {
        let bad = codes_for(rule.bad);
        if !bad.iter().any(|c| c == rule.code) {
            failures.push(format!(
                "{}: its bad example does not trigger it (got {bad:?})",
                rule.code
            ));
        }
        let good = codes_for(rule.good);
        if good.iter().any(|c| c == rule.code) {
            failures.push(format!("{}: its good example triggers it", rule.code));
        }
        // The good examples are clean for every syntax rule, so they can be copied.
        if let Some(c) = good
            .iter()
            .find(|c| matches!(c.as_str(), "KA001" | "KA002" | "NX001" | "NX002" | "HC009"))
        {
            failures.push(format!(
                "{}: its good example has a syntax finding {c}",
                rule.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn docs_have_the_fixed_sections_and_codes_are_unique() {
    let mut seen = std::collections::HashSet::new();
    for rule in all() {
        assert!(seen.insert(rule.code), "duplicate code {}", rule.code);
        for section in [
            "## What it finds",
            "## Why it matters",
            "## Example",
            "## Fix",
            "## References",
        ] {
            assert!(
                rule.docs.contains(section),
                "{} lacks `{section}`",
                rule.code
            );
        }
        assert!(
            rule.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} name not kebab-case",
            rule.code
        );
    }
}

#[test]
#[cfg_attr(
    not(haconf_has_corpus),
    ignore = "needs the rule catalog (shared/ beside the repo, or HACONF_SHARED)"
)]
fn rule_codes_match_the_catalog() {
    // RULES.md is the contract: a code here must carry the same name there.
    let Some(shared) = common::shared_or_skip("rule_codes_match_the_catalog") else {
        return;
    };
    let catalog = std::fs::read_to_string(shared.join("RULES.md")).unwrap();
    for rule in all() {
        // Rules haconf adds beyond the catalog take codes the catalog does not use.
        let Some(row) = catalog
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", rule.code)))
        else {
            assert!(
                !catalog.contains(rule.code),
                "{} is used differently in RULES.md",
                rule.code
            );
            continue;
        };
        assert!(
            row.contains(&format!("| {} |", rule.name)),
            "{}: name differs from RULES.md: {row}",
            rule.code
        );
    }
}

/// What a user sees for each rule's bad example, as a reviewed snapshot (one per rule).
#[test]
fn bad_examples_render() {
    for rule in all() {
        let dir = tempfile::tempdir().unwrap();
        common::write_tree(&dir.path().join("fleet/a/ha1"), rule.bad);
        for other in std::fs::read_dir(dir.path().join("fleet/a"))
            .unwrap()
            .flatten()
        {
            if other.path().is_dir() && !other.path().join("keepalived.conf").exists() {
                std::fs::write(other.path().join("keepalived.conf"), "global_defs {\n}\n").unwrap();
            }
        }
        let out = common::haconf()
            .args(["check", "--color", "never", "--select", rule.code, "fleet"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        insta::assert_snapshot!(format!("rule_{}", rule.code), text);
    }
}

/// What a user reads stands in the project: no rule's documentation (shown by `haconf
/// explain`, hover and SARIF) points at the steering repo's notes, which a clone lacks.
#[test]
fn rule_docs_refer_only_to_what_a_user_has() {
    let private = [
        "../shared",
        "RULES.md",
        "DESIGN.md",
        "keepalived-facts",
        "ha-pitfalls",
    ];
    let mut bad = Vec::new();
    for rule in all() {
        let out = common::haconf()
            .args(["explain", rule.code])
            .output()
            .unwrap();
        assert!(out.status.success(), "explain {} failed", rule.code);
        let text = String::from_utf8_lossy(&out.stdout);
        for p in private {
            if text.contains(p) {
                bad.push(format!("{}: mentions {p}", rule.code));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
