//! `textDocument/formatting` and `textDocument/rangeFormatting`: `haconf fmt` on the open
//! buffer, with the `[format]` of the haconf.toml above it (the editor's tab settings are not
//! used, so the editor and `haconf fmt --check` in CI agree).
//!
//! The answer is the line diff between the buffer and its formatted text, so the editor
//! keeps cursors and folds on the lines that did not change; a range request gets the edits
//! of the lines it covers (keepalived and nginx layouts are line by line, so those edits
//! stand on their own).

use super::{Server, uri_path};
use crate::fmt::Lang;
use crate::lsp::features::Kind;
use lsp_types as lt;

impl Server {
    /// The edits that format the document (or the lines of `range`); `None` for files that
    /// are not keepalived or nginx configs. A file the formatter refuses is an error.
    pub(super) fn formatting(
        &mut self,
        uri: &lt::Url,
        range: Option<lt::Range>,
    ) -> Result<Option<Vec<lt::TextEdit>>, String> {
        let Some(path) = uri_path(uri) else {
            return Ok(None);
        };
        let Some(text) = self.text_of(&path) else {
            return Ok(None);
        };
        let lang = match self.kind(&path) {
            Kind::Keepalived => Lang::Keepalived,
            Kind::Nginx(_) => Lang::Nginx,
            _ => return Ok(None),
        };
        let opts = crate::fmt::options_for(&path)?;
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let new = crate::fmt::format(text.as_bytes(), lang, &opts).map_err(|e| e.report(&name))?;
        let new = String::from_utf8_lossy(&new).into_owned();
        Ok(Some(line_edits(&text, &new, range)))
    }
}

/// One edit per changed run of lines, from `old` to `new`; with `range`, only the runs that
/// touch its lines.
pub(crate) fn line_edits(old: &str, new: &str, range: Option<lt::Range>) -> Vec<lt::TextEdit> {
    let starts = |s: &str| -> Vec<usize> {
        std::iter::once(0)
            .chain(s.match_indices('\n').map(|(i, _)| i + 1))
            .collect()
    };
    let (old_starts, new_starts) = (starts(old), starts(new));
    let offset = |starts: &[usize], len: usize, line: usize| {
        starts.get(line).copied().unwrap_or(len).min(len)
    };
    let diff = similar::TextDiff::from_lines(old, new);
    // Runs of changed lines; a run that keeps its number of lines (re-indented lines) is cut
    // into single lines, so a range request gets exactly its lines.
    let mut runs = Vec::new();
    for op in diff.ops() {
        let (o, n) = (op.old_range(), op.new_range());
        match op {
            similar::DiffOp::Equal { .. } => {}
            similar::DiffOp::Replace { .. } if o.len() == n.len() => {
                runs.extend(o.zip(n).map(|(a, b)| (a..a + 1, b..b + 1)));
            }
            _ => runs.push((o, n)),
        }
    }
    let mut edits = Vec::new();
    for (o, n) in runs {
        if let Some(r) = range {
            let (first, last) = (r.start.line as usize, r.end.line as usize);
            let touches = if o.is_empty() {
                o.start >= first && o.start <= last + 1
            } else {
                o.start <= last && o.end > first
            };
            if !touches {
                continue;
            }
        }
        let a = offset(&old_starts, old.len(), o.start);
        let b = offset(&old_starts, old.len(), o.end);
        let na = offset(&new_starts, new.len(), n.start);
        let nb = offset(&new_starts, new.len(), n.end);
        edits.push(lt::TextEdit {
            range: lt::Range::new(position(old, a), position(old, b)),
            new_text: new[na..nb].to_owned(),
        });
    }
    edits
}

/// The LSP position (UTF-16 columns) of a byte offset.
fn position(text: &str, at: usize) -> lt::Position {
    let before = &text[..at];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    lt::Position::new(line as u32, text[start..at].encode_utf16().count() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_rebuild_the_new_text() {
        let old = "a {\nb 1\n  c 2\n}\nd";
        let new = "a {\n    b 1\n    c 2\n}\nd\n";
        let edits = line_edits(old, new, None);
        assert!(!edits.is_empty());
        let mut text = old.to_owned();
        let mut e = edits.clone();
        e.sort_by_key(|e| std::cmp::Reverse((e.range.start.line, e.range.start.character)));
        for ed in e {
            let a = crate::lsp::offset_of(&text, ed.range.start);
            let b = crate::lsp::offset_of(&text, ed.range.end);
            text.replace_range(a..b, &ed.new_text);
        }
        assert_eq!(text, new);
        // Only line 1 asked for: the edit of lines 1-2 touches it, the last line's does not.
        let some = line_edits(
            old,
            new,
            Some(lt::Range::new(
                lt::Position::new(1, 0),
                lt::Position::new(1, 0),
            )),
        );
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].range.start.line, 1);
    }
}
