//! The nginx layout: one statement per line, blocks indented, arguments single-spaced.
//!
//! nginx ends a statement at `;` or `{`, whatever the lines, so statements may be split
//! apart and `{` joined to its statement. Inside one statement the author's line breaks
//! stay: a multi-line `log_format` or `add_header` keeps its lines, and the continuation
//! lines stay aligned with the argument they were aligned with (else one level deeper),
//! keeping their indentation relative to each other (JSON log formats nest `'{'` ... `'}'`).
//! Entries of `map`, `geo`, `types`, `split_clients` and `charset_map` blocks get their
//! values aligned in one column, as nginx's own examples and mime.types are written. Quoted
//! strings, comments and `*_by_lua_block` bodies are copied byte for byte (only the blanks
//! before a Lua body's closing brace change, to put the brace at the block's indentation).

use super::{Error, Input, Options, advance, display_width, dominant_newline, trimmed_comment};
use crate::syntax::nginx::{Token, TokenKind as K};

/// Blocks whose entries are `key value;` pairs, aligned in columns.
const TABLE_BLOCKS: &[&str] = &["map", "geo", "types", "split_clients", "charset_map"];

/// Continuation lines may align with one of this many first words of a statement.
const ALIGN_WORDS: usize = 12;

/// Keys longer than this do not push a whole table's values to the right.
const MAX_KEY_ALIGN: usize = 40;

/// A significant token with what separated it from the previous one.
#[derive(Clone, Copy)]
struct Sig {
    tok: Token,
    /// Line breaks before it (since the previous significant token).
    nl: u32,
    /// Whether any blank or line break separates it from the previous token.
    gap: bool,
    /// Its display column in the original.
    col: u32,
}

/// The output, with the display column of its end kept up to date.
struct Out {
    buf: Vec<u8>,
    col: usize,
    tab: usize,
}

impl Out {
    fn push(&mut self, b: &[u8]) {
        match b.iter().rposition(|&c| c == b'\n') {
            Some(p) => self.col = display_width(&b[p + 1..], self.tab),
            None => self.col = advance(self.col, b, self.tab),
        }
        self.buf.extend_from_slice(b);
    }

    /// Indentation, at the start of a line.
    fn indent(&mut self, opts: &Options, level: usize) {
        opts.push_indent(&mut self.buf, level);
        self.col = level * opts.width();
    }

    /// Alignment after the indentation (see `Options::push_columns`).
    fn columns(&mut self, opts: &Options, cols: usize) {
        opts.push_columns(&mut self.buf, cols);
        self.col += cols;
    }

    fn spaces(&mut self, n: usize) {
        self.buf.extend(std::iter::repeat_n(b' ', n));
        self.col += n;
    }

    fn line_open(&self) -> bool {
        self.buf.last().is_some_and(|&c| c != b'\n')
    }
}

fn significant(src: &Input, tokens: &[Token], tab: usize) -> Vec<Sig> {
    let bytes = src.bytes;
    let mut out = Vec::with_capacity(tokens.len() / 2);
    let (mut nl, mut gap, mut col) = (0u32, false, 0usize);
    for t in tokens {
        let s = t.span();
        let b = &bytes[s.start..s.end];
        match t.kind {
            K::Newline => {
                nl += 1;
                gap = true;
                col = 0;
                continue;
            }
            K::Whitespace => {
                gap = true;
            }
            _ => {
                out.push(Sig {
                    tok: *t,
                    nl,
                    gap,
                    col: col as u32,
                });
                nl = 0;
                gap = false;
            }
        }
        col = match b.iter().rposition(|&c| c == b'\n') {
            Some(p) => display_width(&b[p + 1..], tab),
            None => advance(col, b, tab),
        };
    }
    out
}

/// Refuses what a layout must not be computed from: a quote never closed (nginx reads on to
/// the end of the file looking for it), unbalanced braces, and vertical tabs or form feeds
/// between words (nginx reads them as part of a word, haconf's lexer as blanks).
fn check_structure(src: &Input, tokens: &[Token]) -> Result<(), Error> {
    let err = |at: usize, message: &str| {
        let (line, col) = src.line_col(at);
        Err(Error::Syntax {
            line,
            col,
            message: message.into(),
        })
    };
    let mut open: Vec<usize> = Vec::new();
    for t in tokens {
        let s = t.span();
        let b = &src.bytes[s.start..s.end];
        match t.kind {
            K::LBrace => open.push(s.start),
            K::RBrace if open.pop().is_none() => {
                return err(
                    s.start,
                    "unexpected `}`: there is no open block to close here",
                );
            }
            K::Quoted if !quote_closed(b) => {
                return err(s.start, "this quote is never closed");
            }
            K::Whitespace if b.iter().any(|&c| c == b'\x0b' || c == b'\x0c') => {
                return err(
                    s.start,
                    "a vertical tab or form feed between words; haconf fmt leaves such files alone",
                );
            }
            _ => {}
        }
    }
    if let Some(&at) = open.last() {
        return err(at, "the block opened here is never closed");
    }
    Ok(())
}

fn quote_closed(b: &[u8]) -> bool {
    let q = b[0];
    let mut i = 1;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            return i == b.len() - 1;
        }
        i += 1;
    }
    false
}

/// For each table entry whose value is aligned: the column (relative to the key) its value
/// starts at, indexed by the entry's first significant token.
fn table_columns(sigs: &[Sig], bytes: &[u8]) -> Vec<u32> {
    let text = |i: usize| {
        let s = sigs[i].tok.span();
        &bytes[s.start..s.end]
    };
    let mut cols = vec![0u32; sigs.len()];
    let mut stmt_start: Option<usize> = None;
    let mut i = 0;
    while i < sigs.len() {
        match sigs[i].tok.kind {
            K::Word | K::Quoted if stmt_start.is_none() => stmt_start = Some(i),
            K::Semicolon | K::RBrace => stmt_start = None,
            K::LBrace => {
                let name = stmt_start.map(text);
                stmt_start = None;
                if name.is_some_and(|n| TABLE_BLOCKS.iter().any(|t| t.as_bytes() == n)) {
                    align_table(sigs, i + 1, bytes, &mut cols);
                }
            }
            _ => {}
        }
        i += 1;
    }
    cols
}

/// Aligns the entries of the table block whose body starts at `from`.
fn align_table(sigs: &[Sig], from: usize, bytes: &[u8], cols: &mut [u32]) {
    let width = |i: usize| {
        let s = sigs[i].tok.span();
        display_width(&bytes[s.start..s.end], 8)
    };
    let mut entries: Vec<(usize, usize)> = Vec::new();
    let mut i = from;
    let mut depth = 0usize;
    while i < sigs.len() {
        let k = sigs[i].tok.kind;
        if k == K::RBrace && depth == 0 {
            break;
        }
        if depth == 0 && matches!(k, K::Word | K::Quoted) {
            // An entry: words on one line up to `;`.
            let start = i;
            let mut j = i + 1;
            let mut ok = true;
            while j < sigs.len() && matches!(sigs[j].tok.kind, K::Word | K::Quoted) {
                ok &= sigs[j].nl == 0;
                j += 1;
            }
            let ends = j < sigs.len() && sigs[j].tok.kind == K::Semicolon && sigs[j].nl == 0;
            if ok && ends && j - start >= 2 && sigs[start + 1].gap {
                entries.push((start, width(start)));
            }
            i = j;
            continue;
        }
        match k {
            K::LBrace => depth += 1,
            K::RBrace => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    let Some(max) = entries
        .iter()
        .map(|e| e.1)
        .filter(|&w| w <= MAX_KEY_ALIGN)
        .max()
    else {
        return;
    };
    for (start, w) in entries {
        if w <= MAX_KEY_ALIGN {
            cols[start] = (max + 1) as u32;
        }
    }
}

/// The statement being written.
struct Stmt {
    depth: usize,
    /// Original column of its first token.
    orig_col: usize,
    /// Output column of its first token.
    out_col: usize,
    /// Whether its tokens are still on its first line.
    first_line: bool,
    /// Columns, relative to the first token, of the first words on its first line: in the
    /// original and in the output (continuation lines align with one of them).
    orig_cols: [usize; ALIGN_WORDS],
    out_cols: [usize; ALIGN_WORDS],
    /// How many of them are known.
    known: usize,
    /// The first continuation line: its output and original relative columns.
    cont: Option<(usize, isize)>,
    /// The value column of a table entry.
    table_col: usize,
    words: usize,
}

pub(super) fn format(src: &Input, tokens: &[Token], opts: &Options) -> Result<Vec<u8>, Error> {
    let bytes = src.bytes;
    check_structure(src, tokens)?;
    let tab = opts.width();
    let sigs = significant(src, tokens, tab);
    let table = table_columns(&sigs, bytes);
    let nl = dominant_newline(
        tokens
            .iter()
            .filter(|t| t.kind == K::Newline)
            .map(|t| t.span().len()),
    );
    let text = |s: &Sig| {
        let sp = s.tok.span();
        &bytes[sp.start..sp.end]
    };
    let mut w = Writer {
        out: Out {
            buf: Vec::with_capacity(bytes.len() + bytes.len() / 8),
            col: 0,
            tab,
        },
        nl,
        after_comment: false,
        opens: false,
        last_opened: false,
    };
    let mut depth = 0usize;
    let mut stmt: Option<Stmt> = None;
    let mut after_raw = false;
    for (k, s) in sigs.iter().enumerate() {
        let blank = s.nl >= 2;
        match s.tok.kind {
            K::Comment => {
                if s.nl == 0 && w.out.line_open() {
                    w.out.push(b" ");
                } else {
                    w.new_line(blank && stmt.is_none());
                    match &mut stmt {
                        Some(st) => continuation(&mut w.out, st, s, opts),
                        None => w.indent(opts, depth),
                    }
                }
                w.out.push(trimmed_comment(text(s)));
                w.after_comment = true;
            }
            K::Word | K::Quoted => {
                match &mut stmt {
                    None => {
                        w.new_line(blank);
                        w.indent(opts, depth);
                        stmt = Some(Stmt {
                            depth,
                            orig_col: s.col as usize,
                            out_col: w.out.col,
                            first_line: true,
                            orig_cols: [0; ALIGN_WORDS],
                            out_cols: [0; ALIGN_WORDS],
                            known: 0,
                            cont: None,
                            table_col: table[k] as usize,
                            words: 0,
                        });
                    }
                    Some(st) => {
                        if s.nl > 0 || w.after_comment {
                            w.new_line(false);
                            continuation(&mut w.out, st, s, opts);
                        } else if s.gap {
                            let rel = w.out.col - st.out_col;
                            let pad = if st.words == 1 && st.table_col > rel {
                                st.table_col - rel
                            } else {
                                1
                            };
                            w.out.spaces(pad);
                        }
                    }
                }
                let st = stmt.as_mut().expect("a statement is open");
                if st.first_line && st.known < ALIGN_WORDS {
                    st.orig_cols[st.known] = (s.col as usize).wrapping_sub(st.orig_col);
                    st.out_cols[st.known] = w.out.col - st.out_col;
                    st.known += 1;
                }
                st.words += 1;
                w.out.push(text(s));
            }
            K::Semicolon => {
                match &mut stmt {
                    // `;` joins its statement's last line, unless a comment ends that line.
                    Some(st) if w.after_comment => {
                        w.new_line(false);
                        continuation(&mut w.out, st, s, opts);
                    }
                    Some(_) => {}
                    None => {
                        // A stray `;` (nginx rejects it): it stays where it was.
                        if !(s.nl == 0 && w.out.line_open() && !w.after_comment) {
                            w.new_line(false);
                            w.indent(opts, depth);
                        }
                    }
                }
                w.out.push(b";");
                stmt = None;
            }
            K::LBrace => {
                match &mut stmt {
                    Some(st) if w.after_comment => {
                        w.new_line(false);
                        continuation(&mut w.out, st, s, opts);
                    }
                    Some(_) => w.out.push(b" "),
                    None => {
                        w.new_line(blank);
                        w.indent(opts, depth);
                    }
                }
                w.out.push(b"{");
                stmt = None;
                depth += 1;
                w.opens = true;
            }
            K::Raw => {
                // A Lua body, copied as it is, except for the blanks before its closing
                // brace: when the brace has a line of its own, it goes to the block's
                // indentation (those blanks are outside any Lua string).
                let raw = text(s);
                match raw_tail(raw) {
                    Some(keep) => {
                        w.out.push(&raw[..keep]);
                        w.indent(opts, depth.saturating_sub(1));
                    }
                    None => w.out.push(raw),
                }
                after_raw = true;
                continue;
            }
            K::RBrace => {
                stmt = None;
                depth = depth.saturating_sub(1);
                // An empty block stays `{}` on its statement's line.
                let empty = k > 0 && sigs[k - 1].tok.kind == K::LBrace;
                if !after_raw && !empty {
                    w.new_line(false);
                    w.indent(opts, depth);
                }
                w.out.push(b"}");
                w.opens = false;
            }
            K::Whitespace | K::Newline => {}
        }
        after_raw = false;
    }
    if w.out.line_open() {
        w.out.push(nl);
    }
    Ok(w.out.buf)
}

/// The output and the facts about its last lines that the layout rules look at.
struct Writer {
    out: Out,
    nl: &'static [u8],
    /// The current line ends with a comment: whatever comes next needs a line of its own.
    after_comment: bool,
    /// The current line opens a block.
    opens: bool,
    /// The last finished line opened a block (a blank line right after it goes).
    last_opened: bool,
}

impl Writer {
    /// Ends the current line, then adds one blank line when `blank` (the original had one
    /// or more here) and this is neither the start of the file nor of a block.
    fn new_line(&mut self, blank: bool) {
        if self.out.line_open() {
            self.out.push(self.nl);
            self.last_opened = self.opens;
        }
        self.after_comment = false;
        self.opens = false;
        if blank && !self.out.buf.is_empty() && !self.last_opened {
            self.out.push(self.nl);
        }
    }

    fn indent(&mut self, opts: &Options, level: usize) {
        self.out.indent(opts, level);
    }
}

/// Starts a continuation line of `st` for token `s`: aligned with the word of the first line
/// the original aligned it with, else one level deeper; later continuation lines keep their
/// original offset from the first one.
fn continuation(out: &mut Out, st: &mut Stmt, s: &Sig, opts: &Options) {
    let unit = opts.width();
    let rel = s.col as isize - st.orig_col as isize;
    let cols = match st.cont {
        None => {
            let aligned = (1..st.known)
                .find(|&i| st.orig_cols[i] as isize == rel)
                .map(|i| st.out_cols[i]);
            let e = aligned.unwrap_or(unit);
            st.cont = Some((e, rel));
            e
        }
        Some((e, first)) => {
            let floor = e.min(unit) as isize;
            (e as isize + rel - first).max(floor) as usize
        }
    };
    st.first_line = false;
    out.indent(opts, st.depth);
    out.columns(opts, cols);
}

/// Where a raw Lua body's last line starts, when that line holds only blanks (the closing
/// brace stands alone after it).
fn raw_tail(raw: &[u8]) -> Option<usize> {
    let nl = raw.iter().rposition(|&c| c == b'\n')?;
    raw[nl + 1..]
        .iter()
        .all(|&c| c == b' ' || c == b'\t')
        .then_some(nl + 1)
}

/// The significant tokens: (kind, text), comments without trailing blanks, raw bodies
/// without the blanks before their closing brace.
fn significant_tokens<'a>(
    src: &'a Input,
    tokens: &'a [Token],
) -> impl Iterator<Item = (K, &'a [u8])> + 'a {
    tokens
        .iter()
        .filter(|t| !matches!(t.kind, K::Whitespace | K::Newline))
        .map(|t| {
            let s = t.span();
            let b = &src.bytes[s.start..s.end];
            (
                t.kind,
                match t.kind {
                    K::Comment => trimmed_comment(b),
                    K::Raw => &b[..raw_tail(b).unwrap_or(b.len())],
                    _ => b,
                },
            )
        })
}

pub(super) fn verify(
    before: &Input,
    tb: &[Token],
    after: &Input,
    ta: &[Token],
) -> Result<(), String> {
    match super::keepalived::first_difference(
        significant_tokens(before, tb),
        significant_tokens(after, ta),
    ) {
        None => Ok(()),
        Some((i, (x, y))) => Err(format!(
            "token {} differs: {:?} became {:?}",
            i + 1,
            x.map(|t| String::from_utf8_lossy(t.1).into_owned()),
            y.map(|t| String::from_utf8_lossy(t.1).into_owned())
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::fmt::{Lang, Options, format};

    fn fmt(s: &str) -> String {
        String::from_utf8(format(s.as_bytes(), Lang::Nginx, &Options::default()).unwrap()).unwrap()
    }

    #[test]
    fn one_statement_per_line() {
        assert_eq!(
            fmt("http{server{listen 80;server_name  a b;location /{root x;}}}"),
            "http {\n    server {\n        listen 80;\n        server_name a b;\n        location / {\n            root x;\n        }\n    }\n}\n"
        );
    }

    #[test]
    fn continuation_lines_keep_their_alignment() {
        let s = "http {\n  log_format  main  '$a '\n                    '$b';\n}\n";
        assert_eq!(
            fmt(s),
            "http {\n    log_format main '$a '\n                    '$b';\n}\n"
        );
        let j = "log_format j escape=json\n  '{'\n    '\"a\":\"$a\"'\n  '}';\n";
        assert_eq!(
            fmt(j),
            "log_format j escape=json\n    '{'\n      '\"a\":\"$a\"'\n    '}';\n"
        );
    }

    #[test]
    fn tables_align() {
        assert_eq!(
            fmt("map $a $b {\n default 0;\n \"\" 1;\n ~^/long/path 2;\n hostnames;\n}\n"),
            "map $a $b {\n    default      0;\n    \"\"           1;\n    ~^/long/path 2;\n    hostnames;\n}\n"
        );
    }

    #[test]
    fn comments_and_lua() {
        let s = "server { # main\n  listen 80; # port\n\n\n  content_by_lua_block {\n    ngx.say(\"}\")\n  }\n}\n";
        assert_eq!(
            fmt(s),
            "server { # main\n    listen 80; # port\n\n    content_by_lua_block {\n    ngx.say(\"}\")\n    }\n}\n"
        );
    }

    #[test]
    fn if_with_regex_keeps_touching_tokens() {
        assert_eq!(
            fmt("if ($http_user_agent ~* \"(a|b){2}\") {return 403;}"),
            "if ($http_user_agent ~* \"(a|b){2}\") {\n    return 403;\n}\n"
        );
    }

    #[test]
    fn refuses_broken_structure() {
        assert!(format(b"http {\n", Lang::Nginx, &Options::default()).is_err());
        assert_eq!(fmt("events {\n}\nhttp { }"), "events {}\nhttp {}\n");
        assert!(format(b"a 'b;\n", Lang::Nginx, &Options::default()).is_err());
    }
}
