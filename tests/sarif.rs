//! `--format sarif` passes the official SARIF validator (`Sarif.Multitool validate`, from the
//! npm package @microsoft/sarif-multitool-linux, which .ci/run installs and names in
//! HACONF_SARIF_VALIDATOR) on the seed cluster and the corpus cluster sets.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn validator() -> Option<PathBuf> {
    let p = std::env::var_os("HACONF_SARIF_VALIDATOR")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if p.is_none() {
        let msg = "sarif_validates: skipped: set HACONF_SARIF_VALIDATOR to Sarif.Multitool (npm @microsoft/sarif-multitool-linux)";
        if std::env::var("HACONF_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!("{msg} (HACONF_REQUIRE_ORACLES=1)");
        }
        common::skip_notice(msg);
    }
    p
}

fn errors(validator: &PathBuf, file: &std::path::Path) -> Vec<String> {
    let out = Command::new(validator)
        .arg("validate")
        .arg(file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Done."), "the validator did not run: {text}");
    text.lines()
        .filter(|l| l.contains(": error "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn sarif_validates() {
    let Some(v) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The validator must be able to fail.
    let bad = dir.path().join("bad.sarif");
    std::fs::write(
        &bad,
        r#"{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[]}]}"#,
    )
    .unwrap();
    assert!(
        !errors(&v, &bad).is_empty(),
        "the validator accepts a SARIF without a tool name"
    );
    let mut inputs = vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/seed-cluster"
    ))];
    if let Some(shared) = common::shared_or_skip("sarif_validates") {
        inputs.push(shared.join("corpus/clusters"));
    }
    for (i, input) in inputs.iter().enumerate() {
        let out = common::haconf()
            .args(["check", "--format", "sarif"])
            .arg(input)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let v_json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let results = v_json["runs"][0]["results"].as_array().unwrap();
        assert!(!results.is_empty());
        for r in results {
            let fp = r["partialFingerprints"]["haconfLine/v1"].as_str().unwrap();
            assert_eq!(fp.len(), 16);
        }
        let f = dir.path().join(format!("out{i}.sarif"));
        std::fs::write(&f, &out.stdout).unwrap();
        let errs = errors(&v, &f);
        assert!(errs.is_empty(), "{}: {errs:#?}", input.display());
    }
}
