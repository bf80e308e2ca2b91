//! The default rule set over every real-world cluster set of the corpus, each set checked on its own
//! (the sets come from unrelated repositories, so they are not one fleet). The summary —
//! set → codes with counts — is a checked-in snapshot: a change that adds or removes findings
//! shows up in review. docs/corpus-review.md records how the findings were reviewed, and
//! docs/precision-review.md reviews every finding at warning or above, before and after the
//! default set.

mod common;

use haconf::project::Project;
use haconf::rules::{Selection, run};

#[test]
#[cfg_attr(
    not(haconf_has_corpus),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED)"
)]
fn cluster_sets_summary() {
    let Some(shared) = common::shared_or_skip("cluster_sets_summary") else {
        return;
    };
    let root = shared.join("corpus/clusters");
    let mut sets: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    let mut summary = String::new();
    let mut total = 0;
    for set in &sets {
        let project = Project::load(std::slice::from_ref(set));
        let diags = run(&project, &Selection::default());
        total += diags.len();
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for d in &diags {
            *counts.entry(d.code).or_default() += 1;
        }
        let codes: Vec<String> = counts
            .iter()
            .map(|(c, n)| {
                if *n == 1 {
                    c.to_string()
                } else {
                    format!("{c}×{n}")
                }
            })
            .collect();
        summary.push_str(&format!(
            "{}: {}\n",
            set.file_name().unwrap().to_string_lossy(),
            codes.join(" ")
        ));
    }
    summary.push_str(&format!("total: {total} findings in {} sets\n", sets.len()));
    insta::assert_snapshot!("cluster_sets", summary);
}
