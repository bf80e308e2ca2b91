//! Lossless nginx.conf syntax, following nginx's own tokenizer (`ngx_conf_read_token`).
//!
//! A directive is words ended by `;` or followed by a `{ ... }` block. `#` starts a comment
//! only where a word could start; `"` and `'` quote (with backslash escapes) only at the start
//! of a word, and a closing quote must be followed by a space, `;`, `{` or `)`; `${var}` keeps
//! its braces inside the word; `}` is special only where a word could start. The bodies of
//! `*_by_lua_block` directives are Lua, kept as one raw token.
//!
//! Hand-written for the same reason as the keepalived parser: precise recovery. A missing `;`
//! before a `}` is reported and the directive ends there; a stray `}` is reported and skipped.

use crate::source::Span;
use compact_str::CompactString;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Whitespace,
    Newline,
    Comment,
    Word,
    /// A quoted word, quotes included in the span.
    Quoted,
    Semicolon,
    LBrace,
    RBrace,
    /// The body of a `*_by_lua_block`, between its braces.
    Raw,
}

/// A token of this language (see [`super::Token`]).
pub type Token = super::Token<TokenKind>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub span: Span,
    /// The value as nginx sees it: quotes removed, escapes kept as written (nginx only
    /// unescapes `\"`, `\'`, `\\`, `\t`, `\r`, `\n` in quoted strings). Inline up to 24 bytes.
    pub value: CompactString,
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Semicolon(Span),
    Block(Block),
    /// Neither `;` nor `{` before a `}` or the end of the file (an error is recorded).
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub open: Span,
    pub items: Vec<Directive>,
    /// For `*_by_lua_block`: the raw body.
    pub raw: Option<Span>,
    pub close: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: Word,
    pub args: Vec<Word>,
    pub end: End,
    pub span: Span,
}

impl Directive {
    pub fn block(&self) -> Option<&Block> {
        match &self.end {
            End::Block(b) => Some(b),
            _ => None,
        }
    }
    pub fn head_span(&self) -> Span {
        self.args
            .last()
            .map_or(self.name.span, |a| self.name.span.cover(a.span))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

#[derive(Debug, Clone)]
pub struct File {
    pub tokens: Vec<Token>,
    pub items: Vec<Directive>,
    pub errors: Vec<SyntaxError>,
}

impl File {
    pub fn print(&self, text: &[u8]) -> Vec<u8> {
        super::print(&self.tokens, text)
    }
}

pub const MAX_DEPTH: usize = 64;

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    tokens: Vec<Token>,
    errors: Vec<SyntaxError>,
}

impl Lexer<'_> {
    fn push(&mut self, kind: TokenKind, s: usize, e: usize) {
        if e > s {
            self.tokens.push(Token::new(kind, Span::new(s, e)));
        }
    }

    fn run(&mut self) {
        let b = self.b;
        let n = b.len();
        // After a `*_by_lua_block` directive name, the next `{` opens a raw body.
        let mut lua_pending = false;
        // Whether the next word is a directive name.
        let mut at_name = true;
        while self.i < n {
            let i = self.i;
            let c = b[i];
            match c {
                b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' => {
                    let mut j = i;
                    while j < n && matches!(b[j], b' ' | b'\t' | b'\x0b' | b'\x0c')
                        || (j < n && b[j] == b'\r' && !(j + 1 < n && b[j + 1] == b'\n'))
                    {
                        j += 1;
                    }
                    if j == i {
                        // `\r\n`
                        self.push(TokenKind::Newline, i, i + 2);
                        self.i = i + 2;
                    } else {
                        self.push(TokenKind::Whitespace, i, j);
                        self.i = j;
                    }
                }
                b'\n' => {
                    self.push(TokenKind::Newline, i, i + 1);
                    self.i = i + 1;
                }
                b'#' => {
                    let mut j = i;
                    while j < n
                        && b[j] != b'\n'
                        && !(b[j] == b'\r' && j + 1 < n && b[j + 1] == b'\n')
                    {
                        j += 1;
                    }
                    self.push(TokenKind::Comment, i, j);
                    self.i = j;
                }
                b';' => {
                    self.push(TokenKind::Semicolon, i, i + 1);
                    self.i = i + 1;
                    lua_pending = false;
                    at_name = true;
                }
                b'{' => {
                    self.push(TokenKind::LBrace, i, i + 1);
                    self.i = i + 1;
                    at_name = true;
                    if lua_pending {
                        lua_pending = false;
                        self.raw_lua();
                    }
                }
                b'}' => {
                    self.push(TokenKind::RBrace, i, i + 1);
                    self.i = i + 1;
                    at_name = true;
                }
                b'"' | b'\'' => {
                    let mut j = i + 1;
                    let mut closed = false;
                    while j < n {
                        if b[j] == b'\\' {
                            j += 2;
                            continue;
                        }
                        if b[j] == c {
                            closed = true;
                            j += 1;
                            break;
                        }
                        j += 1;
                    }
                    let j = j.min(n);
                    if !closed {
                        self.errors.push(SyntaxError {
                            span: Span::new(i, (i + 1).min(n)),
                            message: format!("unterminated quote: this `{}` is never closed", c as char),
                            help: Some("add the closing quote; nginx reads to the end of the file looking for it".into()),
                        });
                    } else if j < n
                        && !matches!(b[j], b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b')')
                    {
                        // The whole character: a span never cuts one (found by fuzzing).
                        let w = char_at(b, j).len_utf8();
                        self.errors.push(SyntaxError {
                            span: Span::new(j, (j + w).min(n)),
                            message: format!(
                                "unexpected `{}` right after a closing quote",
                                char_at(b, j)
                            ),
                            help: Some(
                                "nginx needs a space, `;` or `{` after a quoted string".into(),
                            ),
                        });
                    }
                    if at_name && closed && b[i + 1..j - 1].ends_with(b"_by_lua_block") {
                        lua_pending = true;
                    }
                    at_name = false;
                    self.push(TokenKind::Quoted, i, j);
                    self.i = j;
                }
                _ => {
                    let mut j = i;
                    let mut variable = false;
                    while j < n {
                        let d = b[j];
                        if d == b'{' && variable {
                            // `${name}`: the braces belong to the word.
                            while j < n && b[j] != b'}' && b[j] != b'\n' {
                                j += 1;
                            }
                            if j < n && b[j] == b'}' {
                                j += 1;
                            }
                            variable = false;
                            continue;
                        }
                        variable = false;
                        if d == b'\\' && j + 1 < n {
                            j += 2;
                            continue;
                        }
                        if d == b'$' {
                            variable = true;
                            j += 1;
                            continue;
                        }
                        if matches!(
                            d,
                            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b'\x0b' | b'\x0c'
                        ) {
                            break;
                        }
                        j += 1;
                    }
                    let word = &b[i..j];
                    if at_name && word.ends_with(b"_by_lua_block") {
                        lua_pending = true;
                    }
                    at_name = false;
                    self.push(TokenKind::Word, i, j);
                    self.i = j;
                }
            }
        }
    }

    /// Scans a Lua body to its closing brace, respecting Lua strings, comments and long
    /// brackets, and pushes it as one raw token. The closing brace is left for the main loop.
    fn raw_lua(&mut self) {
        let b = self.b;
        let n = b.len();
        let start = self.i;
        let mut j = start;
        let mut depth = 0usize;
        while j < n {
            match b[j] {
                b'{' => depth += 1,
                b'}' => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                b'"' | b'\'' => {
                    let q = b[j];
                    j += 1;
                    while j < n && b[j] != q && b[j] != b'\n' {
                        if b[j] == b'\\' {
                            j += 1;
                        }
                        j += 1;
                    }
                }
                b'-' if j + 1 < n && b[j + 1] == b'-' => {
                    if let Some(e) = long_bracket_end(b, j + 2) {
                        j = e;
                        continue;
                    }
                    while j < n && b[j] != b'\n' {
                        j += 1;
                    }
                    continue;
                }
                b'[' => {
                    if let Some(e) = long_bracket_end(b, j) {
                        j = e;
                        continue;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        let j = j.min(n);
        self.push(TokenKind::Raw, start, j);
        self.i = j;
    }
}

fn char_at(b: &[u8], i: usize) -> char {
    std::str::from_utf8(&b[i..])
        .ok()
        .and_then(|s| s.chars().next())
        .unwrap_or(b[i] as char)
}

/// If a Lua long bracket (`[[`, `[==[`) starts at `i`, the offset just past its end.
fn long_bracket_end(b: &[u8], i: usize) -> Option<usize> {
    if i >= b.len() || b[i] != b'[' {
        return None;
    }
    let mut j = i + 1;
    let mut level = 0;
    while j < b.len() && b[j] == b'=' {
        level += 1;
        j += 1;
    }
    if j >= b.len() || b[j] != b'[' {
        return None;
    }
    let mut close = vec![b']'];
    close.extend(std::iter::repeat_n(b'=', level));
    close.push(b']');
    let rest = &b[j + 1..];
    Some(
        rest.windows(close.len())
            .position(|w| w == close.as_slice())
            .map_or(b.len(), |p| j + 1 + p + close.len()),
    )
}

pub fn lex(text: &str) -> (Vec<Token>, Vec<SyntaxError>) {
    let mut l = Lexer {
        b: text.as_bytes(),
        i: 0,
        tokens: Vec::with_capacity(text.len() / 4),
        errors: Vec::new(),
    };
    l.run();
    (l.tokens, l.errors)
}

/// Removes the quotes of a quoted word and nginx's escapes inside it.
fn unquote(raw: &str) -> CompactString {
    let inner = &raw[1..];
    let q = raw.as_bytes()[0] as char;
    let inner = inner.strip_suffix(q).unwrap_or(inner);
    if !inner.contains('\\') {
        return CompactString::from(inner);
    }
    let mut out = CompactString::with_capacity(inner.len());
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('"') => out.push('"'),
                Some('\'') => out.push('\''),
                Some('\\') => out.push('\\'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('n') => out.push('\n'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [Token],
    pos: usize,
    errors: Vec<SyntaxError>,
    depth: usize,
}

pub fn parse(text: &str) -> File {
    let (tokens, lex_errors) = lex(text);
    let mut p = Parser {
        text,
        tokens: &tokens,
        pos: 0,
        errors: lex_errors,
        depth: 0,
    };
    let mut items = Vec::new();
    loop {
        p.directives(&mut items);
        if let Some(t) = p.peek()
            && t.kind == TokenKind::RBrace
        {
            p.errors.push(SyntaxError {
                span: t.span(),
                message: "unexpected `}`: there is no open block to close here".into(),
                help: Some("remove it, or look above for a block opened twice".into()),
            });
            p.pos += 1;
            continue;
        }
        break;
    }
    let mut errors = p.errors;
    errors.sort_by_key(|e| e.span.start);
    File {
        tokens,
        items,
        errors,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn skip_trivia(&mut self) {
        while let Some(t) = self.peek() {
            if matches!(
                t.kind,
                TokenKind::Whitespace | TokenKind::Newline | TokenKind::Comment
            ) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn word(&self, t: Token) -> Word {
        let raw = &self.text[t.span().start..t.span().end];
        match t.kind {
            TokenKind::Quoted => Word {
                span: t.span(),
                value: unquote(raw),
                quoted: true,
            },
            _ => Word {
                span: t.span(),
                value: CompactString::from(raw),
                quoted: false,
            },
        }
    }

    /// Directives until a `}` (left unconsumed) or the end of the file.
    fn directives(&mut self, items: &mut Vec<Directive>) {
        loop {
            self.skip_trivia();
            let Some(t) = self.peek() else { return };
            match t.kind {
                TokenKind::RBrace => return,
                TokenKind::Semicolon | TokenKind::LBrace => {
                    self.errors.push(SyntaxError {
                        span: t.span(),
                        message: format!(
                            "unexpected `{}`: no directive name before it",
                            &self.text[t.span().start..t.span().end]
                        ),
                        help: None,
                    });
                    self.pos += 1;
                    if t.kind == TokenKind::LBrace {
                        // Parse and drop the anonymous block so its `}` is not "extra".
                        let mut dummy = Vec::new();
                        self.block_body(t.span(), &mut dummy);
                    }
                }
                TokenKind::Raw => self.pos += 1,
                _ => {
                    let d = self.directive();
                    items.push(d);
                }
            }
        }
    }

    fn directive(&mut self) -> Directive {
        let name = self.word(self.tokens[self.pos]);
        self.pos += 1;
        let mut args = Vec::new();
        loop {
            self.skip_trivia();
            let Some(t) = self.peek() else {
                let at = args.last().map_or(name.span, |a: &Word| a.span);
                self.errors.push(SyntaxError {
                    span: at,
                    message: format!(
                        "unexpected end of file: `{}` is not terminated by `;`",
                        name.value
                    ),
                    help: Some("add `;` after the last argument".into()),
                });
                let span = name.span.cover(at);
                return Directive {
                    name,
                    args,
                    end: End::Missing,
                    span,
                };
            };
            match t.kind {
                TokenKind::Word | TokenKind::Quoted => {
                    args.push(self.word(t));
                    self.pos += 1;
                }
                TokenKind::Semicolon => {
                    self.pos += 1;
                    let span = name.span.cover(t.span());
                    return Directive {
                        name,
                        args,
                        end: End::Semicolon(t.span()),
                        span,
                    };
                }
                TokenKind::LBrace => {
                    self.pos += 1;
                    let mut block = Block {
                        open: t.span(),
                        items: Vec::new(),
                        raw: None,
                        close: None,
                    };
                    if let Some(r) = self.peek().filter(|r| r.kind == TokenKind::Raw) {
                        block.raw = Some(r.span());
                        self.pos += 1;
                    }
                    block.close = self.block_body(t.span(), &mut block.items);
                    let end = block.close.map_or_else(
                        || block.items.last().map_or(t.span().end, |d| d.span.end),
                        |c| c.end,
                    );
                    let span = Span::new(name.span.start, end);
                    return Directive {
                        name,
                        args,
                        end: End::Block(block),
                        span,
                    };
                }
                TokenKind::RBrace | TokenKind::Raw => {
                    let at = args.last().map_or(name.span, |a| a.span);
                    self.errors.push(SyntaxError {
                        span: Span::new(at.end, at.end),
                        message: format!(
                            "missing `;` after `{}`",
                            self.text[at.start..at.end].to_owned()
                        ),
                        help: Some(format!("end the `{}` directive with `;`", name.value)),
                    });
                    let span = name.span.cover(at);
                    return Directive {
                        name,
                        args,
                        end: End::Missing,
                        span,
                    };
                }
                _ => self.pos += 1,
            }
        }
    }

    /// After a consumed `{`: directives up to the matching `}`, which is consumed.
    fn block_body(&mut self, open: Span, items: &mut Vec<Directive>) -> Option<Span> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.errors.push(SyntaxError {
                span: open,
                message: format!("blocks nested more than {MAX_DEPTH} deep"),
                help: Some("look for stray `{`".into()),
            });
            let mut depth = 0usize;
            while let Some(t) = self.peek() {
                self.pos += 1;
                match t.kind {
                    TokenKind::LBrace => depth += 1,
                    TokenKind::RBrace if depth == 0 => {
                        self.depth -= 1;
                        return Some(t.span());
                    }
                    TokenKind::RBrace => depth -= 1,
                    _ => {}
                }
            }
            self.depth -= 1;
            return None;
        }
        self.directives(items);
        self.depth -= 1;
        match self.peek() {
            Some(t) if t.kind == TokenKind::RBrace => {
                self.pos += 1;
                Some(t.span())
            }
            _ => {
                self.errors.push(SyntaxError {
                    span: open,
                    message: "unexpected end of file: the block opened here is never closed".into(),
                    help: Some("add the closing `}`".into()),
                });
                None
            }
        }
    }
}

/// Visits every directive depth first, with the names of its enclosing blocks.
pub fn walk<'f>(
    items: &'f [Directive],
    path: &mut Vec<&'f Directive>,
    f: &mut dyn FnMut(&'f Directive, &[&'f Directive]),
) {
    for d in items {
        f(d, path);
        if let End::Block(b) = &d.end {
            path.push(d);
            walk(&b.items, path, f);
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> File {
        let f = parse(s);
        assert_eq!(String::from_utf8(f.print(s.as_bytes())).unwrap(), s);
        f
    }

    #[test]
    fn basic_blocks() {
        let f =
            roundtrip("user nginx;\nhttp {\n server { listen 80; location / { root html; } }\n}\n");
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(f.items.len(), 2);
        assert_eq!(f.items[1].block().unwrap().items[0].name.value, "server");
    }

    #[test]
    fn quotes_vars_and_comments() {
        let f = roundtrip(
            "log_format main '$a \"q\" ${b}x' # c\n;\nset $x a#b;\nreturn 200 \"a\\\"b\";\n",
        );
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(f.items[0].args[1].value, "$a \"q\" ${b}x");
        assert_eq!(f.items[1].args[1].value, "a#b");
        assert_eq!(f.items[2].args[1].value, "a\"b");
    }

    #[test]
    fn if_condition() {
        let f = roundtrip("if ($http_x ~* \"^a{2}\") { return 403; }\n");
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        // As in nginx: a `)` right after a closing quote is a word of its own.
        assert_eq!(f.items[0].args.len(), 4);
    }

    #[test]
    fn lua_block_is_raw() {
        let f = roundtrip(
            "content_by_lua_block { local t = {a = \"}\"} -- }\n ngx.say(t) }\nuser x;\n",
        );
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(f.items.len(), 2);
    }

    #[test]
    fn missing_semicolon_recovers() {
        let f = roundtrip("http {\n server {\n  listen 80\n }\n}\nuser a;\n");
        assert_eq!(f.errors.len(), 1, "{:?}", f.errors);
        assert_eq!(f.items.len(), 2);
    }

    #[test]
    fn stray_brace_and_eof() {
        let f = roundtrip("}\nhttp {\n");
        assert_eq!(f.errors.len(), 2);
    }

    #[test]
    fn deep_nesting() {
        let s = "a {\n".repeat(10_000);
        let f = roundtrip(&s);
        assert!(!f.errors.is_empty());
    }
}
