//! Building blocks of fixes: text edits that look as if a careful person had made them
//! (inserted lines copy their neighbours' indentation; deleted statements take their line).

pub mod engine;

use crate::diagnostic::Edit;
use crate::model::BlockLoc;
use crate::source::{FileId, SourceDb, Span};

/// Whether `bytes` are text a fix may edit: valid UTF-8 without NUL bytes. A compiled
/// program, an archive or a file in another encoding is never edited.
pub fn is_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// The leading whitespace of the line holding `offset`.
pub fn indent_at(db: &SourceDb, file: FileId, offset: usize) -> String {
    let f = db.get(file);
    let (line, _) = f.line_col(offset);
    f.line_text(line)
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The indentation one level deeper than the line at `offset` (in its own style).
fn deeper(db: &SourceDb, file: FileId, offset: usize) -> String {
    let base = indent_at(db, file, offset);
    if base.contains('\t') {
        format!("{base}\t")
    } else {
        format!("{base}    ")
    }
}

/// Inserts `lines` as the last entries of a block. `items` are the spans of the block's
/// entries (to copy their indentation); `None` when the block was never closed.
pub fn insert_in_block(
    db: &SourceDb,
    b: &BlockLoc,
    items: &[Span],
    lines: &[&str],
) -> Option<Edit> {
    let close = b.close?;
    let f = db.get(b.file);
    let (close_line, close_col) = f.line_col(close.start);
    let (open_line, _) = f.line_col(b.open.start);
    let indent = match items.last() {
        Some(s) if f.line_col(s.start).0 != open_line => indent_at(db, b.file, s.start),
        _ => deeper(db, b.file, b.head.start),
    };
    let body: String = lines.iter().map(|l| format!("{indent}{l}\n")).collect();
    let close_alone = close_line != open_line
        && f.line_text(close_line)
            .chars()
            .take(close_col - 1)
            .all(|c| c == ' ' || c == '\t');
    if close_alone {
        let at = f.offset(close_line, 1);
        Some(Edit {
            file: b.file,
            span: Span::new(at, at),
            replacement: body,
        })
    } else {
        // `x { a }` or `a }`: the new lines go before the brace, which moves to its own line.
        let close_indent = indent_at(db, b.file, b.head.start);
        Some(Edit {
            file: b.file,
            span: Span::new(close.start, close.start),
            replacement: format!("\n{body}{close_indent}"),
        })
    }
}

/// Inserts a new line right after the line holding `after` (same indentation).
pub fn insert_after_line(db: &SourceDb, file: FileId, after: usize, line: &str) -> Edit {
    let f = db.get(file);
    let (l, _) = f.line_col(after);
    let indent = indent_at(db, file, after);
    let end = f.line_end(l);
    Edit {
        file,
        span: Span::new(end, end),
        replacement: format!("\n{indent}{line}"),
    }
}

/// Deletes a statement: its whole line when it stands alone on it, else just its text.
pub fn delete_stmt(db: &SourceDb, file: FileId, span: Span) -> Edit {
    let f = db.get(file);
    let (l1, _) = f.line_col(span.start);
    let (l2, _) = f.line_col(span.end);
    let line_start = f.offset(l1, 1);
    let line_end = f.line_end(l2);
    let before = &f.text[line_start..span.start];
    let after = &f.text[span.end..line_end];
    let after_is_comment_or_blank = after.trim().is_empty();
    if before.trim().is_empty() && after_is_comment_or_blank {
        let next = if l2 < f.line_count() {
            f.offset(l2 + 1, 1)
        } else {
            f.text.len()
        };
        Edit {
            file,
            span: Span::new(line_start, next),
            replacement: String::new(),
        }
    } else {
        Edit {
            file,
            span,
            replacement: String::new(),
        }
    }
}

pub fn replace(file: FileId, span: Span, text: impl Into<String>) -> Edit {
    Edit {
        file,
        span,
        replacement: text.into(),
    }
}

/// Where the first word of the line holding `offset` starts (a statement's keyword).
pub fn line_start_word(db: &SourceDb, file: FileId, offset: usize) -> usize {
    let f = db.get(file);
    let line = f.line_col(offset).0;
    f.offset(line, 1) + f.line_text(line).len() - f.line_text(line).trim_start().len()
}

/// A `unicast_peer { ... }` block listing `peers`, to insert after the line at `at`: its
/// entries one level deeper than that line, its `}` at the line's indentation.
pub fn peer_block<T: std::fmt::Display>(
    db: &SourceDb,
    file: FileId,
    at: usize,
    peers: &[T],
) -> String {
    let indent = indent_at(db, file, at);
    let inner = deeper(db, file, at);
    let mut block = String::from("unicast_peer {");
    for p in peers {
        block.push_str(&format!("\n{inner}{p}"));
    }
    block.push_str(&format!("\n{indent}}}"));
    block
}
