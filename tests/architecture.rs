//! The layers of ARCHITECTURE.md, checked: a module may use the modules of lower layers
//! (and of its own), never one above it — except the back-edges listed here, each named in
//! ARCHITECTURE.md with where it should go. The list only shrinks: a new back-edge fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module of `src/` and its layer, from the bottom.
const LAYERS: &[(&str, u32)] = &[
    ("source", 0),
    ("quiet_panic", 0),
    ("syntax", 1),
    ("vocab", 1),
    ("shell", 1),
    ("net", 0),
    ("facts", 1),
    ("diagnostic", 1),
    ("write", 1),
    ("project", 2),
    ("model", 3),
    ("cluster", 4),
    ("rules", 5),
    ("output", 6),
    ("fix", 7),
    ("fmt", 7),
    ("generate", 7),
    ("lab", 7),
    ("pull", 8),
    ("lsp", 9),
    ("cli", 10),
    ("fuzzing", 11),
];

/// Uses that go up today (from, to). Remove an entry when its edge is gone.
const KNOWN_BACK_EDGES: &[(&str, &str)] = &[
    ("diagnostic", "rules"),
    ("cluster", "rules"),
    ("rules", "fix"),
];

fn layer(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|&(_, l)| l)
}

/// The top-level modules each top-level module names through `crate::`.
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" || top == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let used = out.entry(top.clone()).or_default();
            for name in crate_paths(&text) {
                if name != top {
                    used.insert(name);
                }
            }
        }
    }
    out
}

/// The first segment of every `crate::a::...` and `crate::{a, b::c}` in `text`.
fn crate_paths(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let first = item.trim().split("::").next().unwrap_or("");
                names.push(first.to_string());
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.push(rest[..end].to_string());
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = edges(&src);
    let mut problems = Vec::new();
    let mut seen_back_edges = BTreeSet::new();
    for (from, used) in &graph {
        let Some(lf) = layer(from) else {
            problems.push(format!(
                "`{from}` has no layer: add it to LAYERS here and to ARCHITECTURE.md"
            ));
            continue;
        };
        for to in used {
            let Some(lt) = layer(to) else { continue };
            if lt <= lf {
                continue;
            }
            if KNOWN_BACK_EDGES.contains(&(from.as_str(), to.as_str())) {
                seen_back_edges.insert((from.clone(), to.clone()));
            } else {
                problems.push(format!(
                    "`{from}` (layer {lf}) uses `{to}` (layer {lt}): move the shared piece down"
                ));
            }
        }
    }
    for (from, to) in KNOWN_BACK_EDGES {
        if !seen_back_edges.contains(&(from.to_string(), to.to_string())) {
            problems.push(format!(
                "the back-edge `{from}` -> `{to}` is gone: remove it from KNOWN_BACK_EDGES and ARCHITECTURE.md"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_path_reader_sees_groups_and_paths() {
    let names = crate_paths("use crate::{source::Span, rules};\nlet x = crate::model::build();");
    assert_eq!(names, ["source", "rules", "model"]);
}
