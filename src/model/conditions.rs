//! What keepalived does before a statement means anything: `@id` / `@^id` conditions (a line
//! counts only on the node with that config-id) and `$NAME=value` definitions expanded in
//! later words.

use crate::project::KaUnit;
use crate::source::FileId;
use crate::syntax::keepalived::{Item, Stmt};
use std::collections::HashMap;

/// Whether a statement counts on the node whose config-id is `node_id` (`@id` / `@^id` lines).
pub fn active(stmt: &Stmt, node_id: &str) -> bool {
    match &stmt.condition {
        None => true,
        Some(c) => (c.id == node_id) != c.negated,
    }
}

/// `$NAME=value` definitions of the unit (single-line ones), by name; later ones win.
pub fn definitions(unit: &KaUnit) -> HashMap<String, String> {
    let mut defs = HashMap::new();
    let mut files: Vec<FileId> = unit.trees.keys().copied().collect();
    files.sort();
    for f in files {
        collect_defs(&unit.trees[&f].items, &mut defs);
    }
    defs
}

fn collect_defs(items: &[Item], defs: &mut HashMap<String, String>) {
    for i in items {
        match i {
            Item::Definition(d) if !d.value.ends_with('\\') => {
                defs.insert(d.name.clone(), d.value.clone());
            }
            Item::Stmt(s) => {
                if let Some(b) = &s.block {
                    collect_defs(&b.items, defs);
                }
            }
            _ => {}
        }
    }
}

/// Expands `$NAME` and `${NAME}` in a word; `None` if a name is not defined (the value is then
/// unknown to haconf, and not checked).
pub fn expand(word: &str, defs: &HashMap<String, String>) -> Option<String> {
    if !word.contains('$') {
        return Some(word.to_owned());
    }
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            let end = b.find('}')?;
            (&b[..end], &b[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push_str(defs.get(name)?);
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}
