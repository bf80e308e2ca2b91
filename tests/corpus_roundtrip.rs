//! Every file of the shared corpus, and random token soup, prints back byte for byte.

mod common;

use haconf::syntax::{keepalived, nginx};
use proptest::prelude::*;

#[test]
#[cfg_attr(
    not(haconf_has_corpus),
    ignore = "needs the corpus (shared/ beside the repo, or HACONF_SHARED)"
)]
fn every_corpus_file_round_trips() {
    let Some(shared) = common::shared_or_skip("every_corpus_file_round_trips") else {
        return;
    };
    let files = common::files_below(&shared.join("corpus"));
    assert!(
        files.len() > 1000,
        "corpus looks incomplete: {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let src = haconf::source::SourceFile::new(f, bytes.clone());
        if keepalived::parse(&src.text).print(&bytes) != bytes {
            failures.push(format!("keepalived: {}", f.display()));
        }
        if nginx::parse(&src.text).print(&bytes) != bytes {
            failures.push(format!("nginx: {}", f.display()));
        }
    }
    println!(
        "round-trip: {} files, {} failures",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "not lossless:\n{}",
        failures.join("\n")
    );
}

fn soup() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "{",
        "}",
        ";",
        "\"",
        "'",
        "#",
        "!",
        "\\",
        "\n",
        "\r\n",
        " ",
        "\t",
        "$",
        "${x}",
        "@ha1 ",
        "@^x ",
        "$X=1",
        "~SEQ(n,1,3)",
        "vrrp_instance",
        "server",
        "_by_lua_block",
        "[[",
        "]]",
        "--",
        "(",
        ")",
        "word",
        "192.168.0.1/24",
        "\u{00e9}",
        "\u{201c}",
    ]);
    prop::collection::vec(
        prop_oneof![
            pieces.prop_map(|s| s.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..4),
        ],
        0..80,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn token_soup_is_lossless(bytes in soup()) {
        let src = haconf::source::SourceFile::new("soup", bytes.clone());
        let k = keepalived::parse(&src.text);
        prop_assert_eq!(k.print(&bytes), bytes.clone());
        let n = nginx::parse(&src.text);
        prop_assert_eq!(n.print(&bytes), bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// The whole pipeline (loading, includes, every rule) survives garbage.
    #[test]
    fn rules_survive_token_soup(ka in soup(), ng in soup()) {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("ha1");
        std::fs::create_dir_all(&node).unwrap();
        std::fs::write(node.join("keepalived.conf"), &ka).unwrap();
        std::fs::write(node.join("nginx.conf"), &ng).unwrap();
        let project = haconf::project::Project::load(&[dir.path().to_path_buf()]);
        let diags = haconf::rules::run(&project, &haconf::rules::Selection::default());
        // No rule failed (a panicking rule becomes an "internal error" finding), and every
        // finding points inside its file.
        for d in &diags {
            prop_assert!(!d.message.starts_with("internal error"), "{}", d.message);
            let len = project.db.get(d.file).text.len();
            prop_assert!(d.span.start <= d.span.end && d.span.end <= len, "{d:?} in {len} bytes");
        }
    }
}
