//! CL015: nginx configurations that differ between nodes.

use crate::diagnostic::{Applicability, Diagnostic, Fix, Related, Severity};
use crate::rules::{Check, ClusterCtx, FixKind, Rule};
use crate::source::{FileId, Span};
use crate::syntax::nginx::TokenKind;
use std::path::PathBuf;

pub static RULE: Rule = Rule {
    code: "CL015",
    name: "nginx-config-drift",
    severity: Severity::Warning,
    group: crate::rules::Group::Suspicious,
    default: true,
    why: "the backup serves differently after failover",
    fix: FixKind::Unsafe,
    summary: "nginx configs differ between nodes beyond what haconf.toml declares per-node",
    docs: r#"## What it finds
An nginx file (the main config and everything it includes, compared by its path inside the
node) whose directives differ between nodes — whitespace and comments aside — or that some
nodes have and others lack. Files listed in haconf.toml under `[nginx] per-node` are left
alone, and so are differences that are meant or change nothing: a `server_name` that is an IP
address (each node's own), and `default_server` in a file with a single `server` block.

## Why it matters
The point of a VIP is that clients cannot tell which node answers. When the nodes' nginx
configs drift, a failover silently changes what the site does — a different `index`, a missing
`location`, another upstream — at the worst possible moment.

## Example
```
# ha1: index index.html index.html;      # ha2: index index.html index.htm;
```

## Fix
Make the files identical; haconf can replace the odd one out with the majority's version
(unsafe: it changes what that node serves).

## References
- the vendor guide behind examples/seed-cluster: its two nodes already differ in `index`
"#,
    check: Check::Cluster(check),
    bad: &[
        (
            "nginx.conf",
            "events {}\nhttp {\n    server {\n        listen 80;\n        index index.html;\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "global_defs {\n    router_id ha2\n}\n",
        ),
        (
            "../ha2/nginx.conf",
            "events {}\nhttp {\n    server {\n        listen 80;\n        index index.htm;\n    }\n}\n",
        ),
    ],
    good: &[
        (
            "nginx.conf",
            "events {}\nhttp {\n    server {\n        listen 80;\n        index index.html;   # ha1\n    }\n}\n",
        ),
        (
            "../ha2/keepalived.conf",
            "global_defs {\n    router_id ha2\n}\n",
        ),
        (
            "../ha2/nginx.conf",
            "events {}\nhttp {\n  server {\n    listen 80;\n    index index.html;\n  }\n}\n",
        ),
    ],
};

/// One node's copy of a file: node index, file, significant tokens.
type Copy = (usize, FileId, Vec<(String, Span)>);

/// A file's significant tokens (text and span).
fn tokens(cx: &ClusterCtx, file: FileId, tree: &crate::syntax::nginx::File) -> Vec<(String, Span)> {
    let text = &cx.db.get(file).text;
    let words: Vec<(String, Span)> = tree
        .tokens
        .iter()
        .filter(|t| {
            !matches!(
                t.kind,
                TokenKind::Whitespace | TokenKind::Newline | TokenKind::Comment
            )
        })
        .map(|t| (text[t.span().start..t.span().end].to_owned(), t.span()))
        .collect();
    // Differences that are meant or change nothing are compared as equal: a `server_name`
    // that is the node's own address (`server_name 172.18.0.2;` on one node, `.3` on the
    // other), and `default_server` where the file has a single `server` block.
    let servers = words
        .windows(2)
        .filter(|w| w[0].0 == "server" && w[1].0 == "{")
        .count();
    let mut out = Vec::with_capacity(words.len());
    let mut directive: Option<&str> = None;
    for (w, span) in &words {
        let starts = directive.is_none();
        if matches!(w.as_str(), ";" | "{" | "}") {
            directive = None;
        } else if starts {
            directive = Some(w.as_str());
        } else if directive == Some("server_name") && w.parse::<std::net::IpAddr>().is_ok() {
            out.push(("<this node's address>".to_string(), *span));
            continue;
        } else if directive == Some("listen") && w == "default_server" && servers <= 1 {
            continue;
        }
        out.push((w.clone(), *span));
    }
    out
}

fn check(cx: &ClusterCtx, out: &mut Vec<Diagnostic>) {
    let nodes = &cx.cluster.nodes;
    // Nothing to compare unless two nodes have nginx.
    if nodes.iter().filter(|n| !n.nginx.is_empty()).count() < 2 {
        return;
    }
    let per_node: Vec<String> = cx
        .cm
        .spec
        .as_ref()
        .and_then(|s| s.nginx.as_ref())
        .map(|n| n.per_node.clone())
        .unwrap_or_default();
    // rel path -> [(node, file, tokens)]
    let mut files: Vec<(PathBuf, Vec<Copy>)> = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        let mut seen = Vec::new();
        for u in &node.nginx {
            let mut ids: Vec<FileId> = u.trees.keys().copied().collect();
            ids.sort();
            for id in ids {
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                let path = &cx.db.get(id).path;
                let Ok(rel) = path.strip_prefix(&node.dir) else {
                    continue;
                };
                // The flat and etc/ layouts name the same file differently.
                let rel = rel.strip_prefix("etc/nginx").unwrap_or(rel).to_path_buf();
                if per_node
                    .iter()
                    .any(|p| glob::Pattern::new(p).is_ok_and(|g| g.matches_path(&rel)))
                {
                    continue;
                }
                let toks = tokens(cx, id, &u.trees[&id]);
                match files.iter_mut().find(|(p, _)| *p == rel) {
                    Some((_, v)) => v.push((n, id, toks)),
                    None => files.push((rel, vec![(n, id, toks)])),
                }
            }
        }
    }
    let with_nginx: Vec<usize> = (0..nodes.len())
        .filter(|&n| !nodes[n].nginx.is_empty())
        .collect();
    for (rel, copies) in &files {
        let variants: Vec<&Vec<(String, Span)>> = copies.iter().map(|c| &c.2).collect();
        let texts: Vec<Vec<&str>> = variants
            .iter()
            .map(|v| v.iter().map(|t| t.0.as_str()).collect())
            .collect();
        let maj = super::majority(&texts);
        if copies.len() < with_nginx.len() && copies.len() * 2 <= with_nginx.len() {
            // The file exists on a minority of nodes.
            for (n, id, _) in copies {
                let missing: Vec<&str> = with_nginx
                    .iter()
                    .filter(|m| !copies.iter().any(|c| c.0 == **m))
                    .map(|m| nodes[*m].name.as_str())
                    .collect();
                let mut d = Diagnostic::new(
                    "CL015",
                    *id,
                    Span::new(0, 0),
                    format!(
                        "`{}` exists on node `{}` but not on {}",
                        rel.display(),
                        nodes[*n].name,
                        missing.join(", ")
                    ),
                );
                d.node = Some(nodes[*n].name.clone());
                out.push(d);
            }
            continue;
        }
        if texts.iter().all(|t| *t == texts[0]) {
            continue;
        }
        for (k, (n, id, toks)) in copies.iter().enumerate() {
            if maj.as_ref() == Some(&texts[k]) {
                continue;
            }
            // The first differing token, against a majority copy (or the first other copy).
            let other = copies
                .iter()
                .enumerate()
                .find(|(m, _)| *m != k && (maj.is_none() || maj.as_ref() == Some(&texts[*m])))
                .map(|(_, c)| c);
            let Some((on, oid, otoks)) = other else {
                continue;
            };
            let i = toks
                .iter()
                .zip(otoks.iter())
                .position(|(a, b)| a.0 != b.0)
                .unwrap_or(toks.len().min(otoks.len()));
            let span = toks.get(i).map_or(Span::new(0, 0), |t| t.1);
            let ospan = otoks.get(i).map_or(Span::new(0, 0), |t| t.1);
            let f = cx.db.get(*id);
            let line = f.line_col(span.start).0;
            let mut d = Diagnostic::new(
                "CL015",
                *id,
                span,
                format!(
                    "`{}` on node `{}` differs from node `{}`{}: `{}`",
                    rel.display(),
                    nodes[*n].name,
                    nodes[*on].name,
                    if maj.is_some() {
                        " and the other nodes"
                    } else {
                        ""
                    },
                    f.line_text(line).trim()
                ),
            )
            .with_related(Related {
                file: *oid,
                span: ospan,
                message: format!(
                    "node `{}`: `{}`",
                    nodes[*on].name,
                    cx.db
                        .get(*oid)
                        .line_text(cx.db.get(*oid).line_col(ospan.start).0)
                        .trim()
                ),
            });
            if maj.is_some() {
                d.fix = Some(Fix {
                    applicability: Applicability::Unsafe,
                    modes: Vec::new(),
                    message: format!("make it identical to node `{}`'s", nodes[*on].name),
                    edits: vec![crate::fix::replace(
                        *id,
                        Span::new(0, f.text.len()),
                        cx.db.get(*oid).text.clone(),
                    )],
                });
            }
            d.node = Some(nodes[*n].name.clone());
            out.push(d);
        }
    }
}
