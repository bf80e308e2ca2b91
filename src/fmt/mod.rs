//! `haconf fmt`: one layout for keepalived.conf and nginx.conf, computed from the lossless
//! token streams of `syntax/`.
//!
//! A formatter people run on production configs must never change what a file means, so
//! every result is checked here, before anyone can write it: the file's significant tokens
//! (words, quoted strings, braces, `;`, comments, definitions, raw Lua bodies) must come out
//! identical and in the same order, and in keepalived files each line must hold the same
//! words as before (keepalived reads a line at a time: several statements on one line mean
//! something else, see KA028). A result that fails the check is refused as an internal
//! error and never written.
//!
//! The two dialects differ where their readers differ. keepalived is line-oriented, so its
//! formatter only re-indents lines, squeezes blanks between words to one space, moves a
//! lone `{` up to the line it opens and drops surplus blank lines; it never splits or joins
//! lines that hold words. nginx statements end at `;`, so its formatter puts one statement
//! per line, but keeps the line breaks inside a statement's arguments (log formats, long
//! `add_header`s), aligned as the author aligned them, and never touches a quoted string or
//! a `*_by_lua_block` body.

mod options;
pub use options::{options_for, spec_format_for};

mod keepalived;
mod nginx;

/// Which reader a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Keepalived,
    Nginx,
}

/// How blocks are indented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indent {
    /// This many spaces per level.
    Spaces(u8),
    /// One tab per level.
    Tabs,
}

/// The layout settings (`[format]` in haconf.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub indent: Indent,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            indent: Indent::Spaces(4),
        }
    }
}

impl Options {
    /// Columns of one level, used to measure alignment in files indented with tabs too.
    fn width(&self) -> usize {
        match self.indent {
            Indent::Spaces(n) => n.max(1) as usize,
            Indent::Tabs => 4,
        }
    }

    fn push_indent(&self, out: &mut Vec<u8>, level: usize) {
        match self.indent {
            Indent::Spaces(_) => out.extend(std::iter::repeat_n(b' ', level * self.width())),
            Indent::Tabs => out.extend(std::iter::repeat_n(b'\t', level)),
        }
    }

    /// `cols` columns of alignment after the indentation: tabs for whole levels in tab mode
    /// (so that measuring the result gives `cols` back), spaces otherwise.
    fn push_columns(&self, out: &mut Vec<u8>, cols: usize) {
        match self.indent {
            Indent::Spaces(_) => out.extend(std::iter::repeat_n(b' ', cols)),
            Indent::Tabs => {
                let w = self.width();
                out.extend(std::iter::repeat_n(b'\t', cols / w));
                out.extend(std::iter::repeat_n(b' ', cols % w));
            }
        }
    }
}

/// Why a file was not formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The file's structure is broken (unbalanced braces, a quote that swallows the rest of
    /// the file): a layout computed from it would only spread the damage. 1-based line and
    /// column.
    Syntax {
        line: usize,
        col: usize,
        message: String,
    },
    /// The formatter's own result failed the meaning check: a bug in haconf. Never written.
    Internal(String),
}

impl Error {
    /// The message for a user, starting with the file's name.
    pub fn report(&self, path: &str) -> String {
        match self {
            Error::Syntax { line, col, message } => {
                format!("{path}:{line}:{col}: not formatted: {message}")
            }
            Error::Internal(_) => format!("{path}: {self}"),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Syntax { line, col, message } => {
                write!(f, "{line}:{col}: not formatted: {message}")
            }
            Error::Internal(m) => write!(
                f,
                "internal error: the formatted text failed haconf's own safety check ({m}); the file was left as it is. Please report this with the file."
            ),
        }
    }
}

/// Formats a whole file. The result has passed the meaning check (see the module docs).
pub fn format(bytes: &[u8], lang: Lang, opts: &Options) -> Result<Vec<u8>, Error> {
    let src = Input::new(bytes);
    match lang {
        Lang::Keepalived => {
            let (tokens, _) = crate::syntax::keepalived::lex(&src.text);
            let out = keepalived::format(&src, &tokens, opts)?;
            let after = Input::new(&out);
            let (after_tokens, _) = crate::syntax::keepalived::lex(&after.text);
            keepalived::verify(&src, &tokens, &after, &after_tokens).map_err(Error::Internal)?;
            Ok(out)
        }
        Lang::Nginx => {
            let (tokens, _) = crate::syntax::nginx::lex(&src.text);
            let out = nginx::format(&src, &tokens, opts)?;
            let after = Input::new(&out);
            let (after_tokens, _) = crate::syntax::nginx::lex(&after.text);
            nginx::verify(&src, &tokens, &after, &after_tokens).map_err(Error::Internal)?;
            Ok(out)
        }
    }
}

/// The meaning check on its own: the significant tokens of `before` and `after` are the
/// same, and (for keepalived) every line holds the same words in the same order.
pub fn verify(before: &[u8], after: &[u8], lang: Lang) -> Result<(), String> {
    let (a, b) = (Input::new(before), Input::new(after));
    match lang {
        Lang::Keepalived => {
            let ta = crate::syntax::keepalived::lex(&a.text).0;
            let tb = crate::syntax::keepalived::lex(&b.text).0;
            keepalived::verify(&a, &ta, &b, &tb)
        }
        Lang::Nginx => {
            let ta = crate::syntax::nginx::lex(&a.text).0;
            let tb = crate::syntax::nginx::lex(&b.text).0;
            nginx::verify(&a, &ta, &b, &tb)
        }
    }
}

/// A file's bytes and a same-length text for the lexers (each byte of an invalid UTF-8
/// sequence read as `?`, as `SourceFile` does), without copying a valid file.
struct Input<'a> {
    bytes: &'a [u8],
    text: std::borrow::Cow<'a, str>,
}

impl<'a> Input<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                let mut t = String::with_capacity(bytes.len());
                for chunk in bytes.utf8_chunks() {
                    t.push_str(chunk.valid());
                    t.extend(std::iter::repeat_n('?', chunk.invalid().len()));
                }
                std::borrow::Cow::Owned(t)
            }
        };
        Input { bytes, text }
    }

    /// 1-based line and column (in characters) of a byte offset, for messages.
    fn line_col(&self, at: usize) -> (usize, usize) {
        let before = &self.text[..at.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[start..].chars().count() + 1)
    }
}

/// The line ending most of the file's lines use: `\r\n` files stay `\r\n`. Counted on the
/// lexer's newline tokens (one or two bytes long).
fn dominant_newline(newline_lengths: impl Iterator<Item = usize>) -> &'static [u8] {
    let (mut lf, mut crlf) = (0usize, 0usize);
    for n in newline_lengths {
        if n == 2 {
            crlf += 1;
        } else {
            lf += 1;
        }
    }
    if crlf > lf { b"\r\n" } else { b"\n" }
}

/// The display column (0-based) that `line` ends at, with tab stops every `tab` columns.
fn display_width(line: &[u8], tab: usize) -> usize {
    advance(0, line, tab)
}

/// The display column reached from column `col` by `bytes` (which hold no line break): one
/// column a character, tabs to the next stop.
fn advance(col: usize, bytes: &[u8], tab: usize) -> usize {
    if !bytes.contains(&b'\t') {
        // UTF-8 continuation bytes (0b10xx_xxxx) add nothing; this form vectorizes.
        return col + bytes.iter().filter(|&&c| (c as i8) >= -0x40).count();
    }
    let mut col = col;
    for &c in bytes {
        if c == b'\t' {
            col = (col / tab + 1) * tab;
        } else if (c as i8) >= -0x40 {
            col += 1;
        }
    }
    col
}

/// A comment's text without trailing blanks, unless removing them would leave a `\` at the
/// end of the line (keepalived reads that backslash as a word of its own).
fn trimmed_comment(text: &[u8]) -> &[u8] {
    let mut end = text.len();
    while end > 0 && (text[end - 1] == b' ' || text[end - 1] == b'\t') {
        end -= 1;
    }
    if end < text.len() && end > 0 && text[end - 1] == b'\\' {
        return text;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_style() {
        assert_eq!(dominant_newline([2, 2, 1].into_iter()), b"\r\n");
        assert_eq!(dominant_newline([1, 2].into_iter()), b"\n");
        assert_eq!(dominant_newline(std::iter::empty()), b"\n");
    }

    #[test]
    fn widths() {
        assert_eq!(display_width(b"\tab", 4), 6);
        assert_eq!(display_width(b"ab\t", 4), 4);
        assert_eq!(display_width("é\t".as_bytes(), 8), 8);
        assert_eq!(display_width("éa".as_bytes(), 8), 2);
        assert_eq!(advance(3, b"a\tb", 4), 9);
    }

    #[test]
    fn comments_keep_a_final_backslash_apart() {
        assert_eq!(trimmed_comment(b"# a  "), b"# a");
        assert_eq!(trimmed_comment(b"# a\\ "), b"# a\\ ");
        assert_eq!(trimmed_comment(b"# a\\"), b"# a\\");
    }
}
