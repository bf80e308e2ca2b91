//! Lossless keepalived.conf syntax, following keepalived 2.x's own lexical rules.
//!
//! keepalived reads a line at a time: it strips `#`/`!` comments (outside double quotes), keeps
//! or drops `@id`/`@^id` conditional lines, records `$NAME=` definitions, expands `~SEQ(...)`,
//! then cuts the line at every brace, so a brace is a logical line of its own. We mirror that:
//! the lexer turns each physical line into tokens that cover every byte, and the parser groups
//! the words of each logical line into a [`Stmt`], attaching a following `{ ... }` as its block.
//!
//! The parser is hand-written recursive descent rather than nom: keepalived's grammar is a
//! line grammar with a few context flags, and hand-written code lets us recover exactly the way
//! a user needs (a stray brace is reported and skipped, a top-level block keyword met inside a
//! block closes the blocks left open) without fighting a combinator library's error types.

use crate::source::Span;
use compact_str::CompactString;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Spaces and tabs.
    Whitespace,
    /// `\n` or `\r\n`.
    Newline,
    /// `# ...` or `! ...` up to the end of the line.
    Comment,
    /// A bare word.
    Word,
    /// A `"..."` string (possibly unterminated: see the file's errors).
    Quoted,
    LBrace,
    RBrace,
    /// `@id` or `@^id` at the start of a line.
    Condition,
    /// A whole `$NAME=value` definition, continuation lines included.
    Definition,
    /// A `~SEQ(...)`/`~LST(...)` generator prefix.
    Generator,
    /// A line keepalived drops entirely (an `@id` with nothing after it).
    Dropped,
}

/// A token of this language (see [`super::Token`]).
pub type Token = super::Token<TokenKind>;

/// A word of a statement, with its value as keepalived sees it (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub span: Span,
    /// Inline for words up to 24 bytes: parsing allocates almost nothing per word.
    pub value: CompactString,
    pub quoted: bool,
}

/// A conditional prefix: the line counts only on the node whose config-id is (or, negated,
/// is not) `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub id: String,
    pub negated: bool,
    pub span: Span,
}

/// One logical line: a keyword and its arguments, optionally followed by a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub words: Vec<Word>,
    /// Boxed: rare, and it would double the size of every statement.
    pub condition: Option<Box<Condition>>,
    /// A `~SEQ(...)` or `~LST(...)` prefix: the line is a template keepalived expands.
    pub generator: Option<Span>,
    pub block: Option<Block>,
    /// From the first word (or the brace of an anonymous block) to the end of the block.
    pub span: Span,
}

impl Stmt {
    pub fn keyword(&self) -> Option<&str> {
        self.words.first().map(|w| w.value.as_str())
    }
    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or(&[])
    }
    /// The span of the words only (without the block).
    pub fn head_span(&self) -> Span {
        match (self.words.first(), self.words.last()) {
            (Some(a), Some(b)) => a.span.cover(b.span),
            _ => self.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub open: Span,
    pub items: Vec<Item>,
    /// `None` when the file ended (or recovery closed it) before its `}`.
    pub close: Option<Span>,
}

/// A `$NAME=value` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub value: String,
    pub condition: Option<Box<Condition>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Stmt(Stmt),
    Definition(Definition),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

/// A parsed file: the tokens (which cover every byte) and the statement tree.
#[derive(Debug, Clone)]
pub struct File {
    pub tokens: Vec<Token>,
    pub items: Vec<Item>,
    pub errors: Vec<SyntaxError>,
}

impl File {
    /// The file's text rebuilt from its tokens: equal to the input for every input.
    pub fn print(&self, text: &[u8]) -> Vec<u8> {
        super::print(&self.tokens, text)
    }
}

/// Keywords that only ever open a top-level block. Meeting one inside a block means a `}` is
/// missing above it; closing the open blocks there keeps one missing brace from turning the
/// rest of the file into nested nonsense.
const TOP_LEVEL_BLOCKS: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "virtual_server",
    "virtual_server_group",
    "vrrp_track_process",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "bfd_instance",
];

pub fn lex(text: &str) -> (Vec<Token>, Vec<SyntaxError>) {
    let b = text.as_bytes();
    let mut tokens = Vec::with_capacity(text.len() / 4);
    let mut errors = Vec::new();
    let mut i = 0;
    let n = b.len();
    let push = |tokens: &mut Vec<Token>, kind, s, e| {
        if e > s {
            tokens.push(Token::new(kind, Span::new(s, e)))
        }
    };
    while i < n {
        // Start of a physical line.
        let ws_end = skip_blanks(b, i);
        push(&mut tokens, TokenKind::Whitespace, i, ws_end);
        i = ws_end;
        if i < n && b[i] == b'@' {
            let mut j = i + 1;
            while j < n && !is_blank(b[j]) && b[j] != b'\n' && b[j] != b'\r' {
                j += 1;
            }
            if j < n && is_blank(b[j]) {
                push(&mut tokens, TokenKind::Condition, i, j);
                let k = skip_blanks(b, j);
                push(&mut tokens, TokenKind::Whitespace, j, k);
                i = k;
            } else {
                // `@id` with no blank after it: keepalived drops the whole line.
                let e = line_content_end(b, i);
                push(&mut tokens, TokenKind::Dropped, i, e);
                i = e;
            }
        }
        if i < n && b[i] == b'$' && definition_at(b, i) {
            // A definition runs to the end of the line, and on while lines end in `\`.
            let mut e = line_content_end(b, i);
            while e > i && b[e - 1] == b'\\' {
                let nl = newline_end(b, e);
                if nl == e {
                    break;
                }
                e = line_content_end(b, nl);
            }
            push(&mut tokens, TokenKind::Definition, i, e);
            i = e;
        } else if i < n
            && b[i] == b'~'
            && (b[i..].starts_with(b"~SEQ") || b[i..].starts_with(b"~LST"))
        {
            let mut j = i;
            while j < n && b[j] != b')' && b[j] != b'\n' {
                j += 1;
            }
            if j < n && b[j] == b')' {
                j += 1;
            }
            push(&mut tokens, TokenKind::Generator, i, j);
            i = j;
        }
        // The rest of the line.
        while i < n && b[i] != b'\n' && !(b[i] == b'\r' && i + 1 < n && b[i + 1] == b'\n') {
            let c = b[i];
            if is_blank(c) || c == b'\r' {
                let mut j = i;
                while j < n
                    && (is_blank(b[j]) || (b[j] == b'\r' && !(j + 1 < n && b[j + 1] == b'\n')))
                {
                    j += 1;
                }
                push(&mut tokens, TokenKind::Whitespace, i, j);
                i = j;
            } else if c == b'#' || c == b'!' {
                let e = line_content_end(b, i);
                if e > i + 1 && b[e - 1] == b'\\' {
                    // keepalived leaves the `\` that ends a commented line in place, and
                    // reads it as a word (tested with 2.2.7: "Unknown keyword '\'").
                    push(&mut tokens, TokenKind::Comment, i, e - 1);
                    push(&mut tokens, TokenKind::Word, e - 1, e);
                } else {
                    push(&mut tokens, TokenKind::Comment, i, e);
                }
                i = e;
            } else if c == b'{' {
                push(&mut tokens, TokenKind::LBrace, i, i + 1);
                i += 1;
            } else if c == b'}' {
                push(&mut tokens, TokenKind::RBrace, i, i + 1);
                i += 1;
            } else if c == b'"' {
                let e = line_content_end(b, i);
                match b[i + 1..e].iter().position(|&x| x == b'"') {
                    Some(p) => {
                        push(&mut tokens, TokenKind::Quoted, i, i + 1 + p + 1);
                        i = i + p + 2;
                    }
                    None => {
                        errors.push(SyntaxError {
                            span: Span::new(i, e),
                            message: "unterminated quote: this `\"` is never closed on its line"
                                .into(),
                            help: Some(
                                "keepalived strings end on the line they start; add the closing `\"`"
                                    .into(),
                            ),
                        });
                        push(&mut tokens, TokenKind::Quoted, i, e);
                        i = e;
                    }
                }
            } else {
                let mut j = i;
                while j < n {
                    let d = b[j];
                    if d == b'\\' && j + 1 < n && (b[j + 1] == b'#' || b[j + 1] == b'!') {
                        j += 2;
                        continue;
                    }
                    if is_blank(d)
                        || d == b'\n'
                        || d == b'\r'
                        || d == b'{'
                        || d == b'}'
                        || d == b'"'
                        || d == b'#'
                        || d == b'!'
                    {
                        break;
                    }
                    j += 1;
                }
                push(&mut tokens, TokenKind::Word, i, j);
                i = j;
            }
        }
        let e = newline_end(b, i);
        push(&mut tokens, TokenKind::Newline, i, e);
        i = e;
    }
    (tokens, errors)
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t' || c == b'\x0b' || c == b'\x0c'
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_blank(b[i]) {
        i += 1;
    }
    i
}

/// Offset of the line ending (`\n` or `\r\n`) at or after `i`.
fn line_content_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    if i > 0 && i <= b.len() && i < b.len() && b[i - 1] == b'\r' {
        i -= 1;
    }
    i
}

fn newline_end(b: &[u8], i: usize) -> usize {
    if i < b.len() && b[i] == b'\n' {
        i + 1
    } else if i + 1 < b.len() && b[i] == b'\r' && b[i + 1] == b'\n' {
        i + 2
    } else {
        i
    }
}

fn definition_at(b: &[u8], i: usize) -> bool {
    let mut j = i + 1;
    if j >= b.len() || !(b[j].is_ascii_alphabetic() || b[j] == b'_') {
        return false;
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    j = skip_blanks(b, j);
    j < b.len() && b[j] == b'='
}

/// Removes keepalived's backslash escapes of `#` and `!` in a bare word.
fn unescape_word(s: &str) -> CompactString {
    if !s.contains('\\') {
        return CompactString::from(s);
    }
    CompactString::from(s.replace("\\#", "#").replace("\\!", "!"))
}

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [Token],
    pos: usize,
    errors: Vec<SyntaxError>,
    depth: usize,
}

/// Nesting deeper than this is reported and flattened, so 10,000 `{` cannot overflow the stack.
pub const MAX_DEPTH: usize = 64;

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
        p.items_until_close(&mut items, true);
        // At top level a `}` is an extra one: report it and go on.
        if let Some(t) = p.peek()
            && t.kind == TokenKind::RBrace
        {
            p.errors.push(SyntaxError {
                span: t.span(),
                message: "extra `}`: there is no open block to close here".into(),
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

enum Stop {
    /// A `}` closes the current block.
    Close,
    /// End of file.
    Eof,
    /// A top-level block keyword appeared inside a block: the blocks must be closed.
    Unwind,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn is_trivia(k: TokenKind) -> bool {
        matches!(
            k,
            TokenKind::Whitespace | TokenKind::Newline | TokenKind::Comment | TokenKind::Dropped
        )
    }

    /// Parses items until a `}` (left unconsumed), EOF or an unwind.
    fn items_until_close(&mut self, items: &mut Vec<Item>, top: bool) -> Stop {
        loop {
            let Some(t) = self.peek() else {
                return Stop::Eof;
            };
            match t.kind {
                k if Self::is_trivia(k) => self.pos += 1,
                TokenKind::RBrace => return Stop::Close,
                TokenKind::Definition => {
                    items.push(Item::Definition(self.definition(None, t.span())));
                    self.pos += 1;
                }
                TokenKind::LBrace => {
                    // A block with no keyword in front of it.
                    self.errors.push(SyntaxError {
                        span: t.span(),
                        message: "unexpected `{`: no keyword on this line or the one above opens a block".into(),
                        help: Some("keepalived ignores this brace, and then its matching `}` closes the enclosing block too early".into()),
                    });
                    let mut stmt = Stmt {
                        words: vec![],
                        condition: None,
                        generator: None,
                        block: None,
                        span: t.span(),
                    };
                    if let Stop::Unwind = self.block(&mut stmt) {
                        items.push(Item::Stmt(stmt));
                        if top {
                            continue;
                        }
                        return Stop::Unwind;
                    }
                    items.push(Item::Stmt(stmt));
                }
                _ => {
                    let start = self.pos;
                    let stmt_kw = self.peek_keyword();
                    if !top && stmt_kw.is_some_and(|k| TOP_LEVEL_BLOCKS.contains(&k)) {
                        self.pos = start;
                        return Stop::Unwind;
                    }
                    let mut stmt = self.statement();
                    if stmt.words.is_empty() && stmt.generator.is_none() {
                        if let Some(t) = self.peek().filter(|t| t.kind == TokenKind::Definition) {
                            items.push(Item::Definition(self.definition(stmt.condition, t.span())));
                            self.pos += 1;
                            continue;
                        }
                        if !self.peek().is_some_and(|t| t.kind == TokenKind::LBrace) {
                            if self.pos == start {
                                self.pos += 1;
                            }
                            continue;
                        }
                    }
                    if self.next_significant_is_lbrace()
                        && let Stop::Unwind = self.block(&mut stmt)
                    {
                        items.push(Item::Stmt(stmt));
                        if top {
                            // The top level is where the unwinding stops.
                            continue;
                        }
                        return Stop::Unwind;
                    }
                    items.push(Item::Stmt(stmt));
                }
            }
        }
    }

    fn peek_keyword(&self) -> Option<&'a str> {
        let mut i = self.pos;
        while let Some(t) = self.tokens.get(i) {
            match t.kind {
                TokenKind::Condition | TokenKind::Whitespace => i += 1,
                TokenKind::Word => return Some(&self.text[t.span().start..t.span().end]),
                _ => return None,
            }
        }
        None
    }

    fn definition(&self, cond: Option<Box<Condition>>, span: Span) -> Definition {
        let raw = &self.text[span.start..span.end];
        let body = &raw[1..];
        let (name, value) = body.split_once('=').unwrap_or((body, ""));
        Definition {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            condition: cond,
            span,
        }
    }

    /// Reads one logical line: words up to a newline or brace.
    fn statement(&mut self) -> Stmt {
        let mut words = Vec::new();
        let mut condition = None;
        let mut generator = None;
        let mut span: Option<Span> = None;
        while let Some(t) = self.peek() {
            match t.kind {
                TokenKind::Whitespace | TokenKind::Comment => {}
                TokenKind::Condition => {
                    let raw = &self.text[t.span().start..t.span().end];
                    let (negated, id) = match raw.strip_prefix("@^") {
                        Some(id) => (true, id),
                        None => (false, &raw[1..]),
                    };
                    condition = Some(Box::new(Condition {
                        id: id.to_owned(),
                        negated,
                        span: t.span(),
                    }));
                }
                TokenKind::Generator => {
                    generator = Some(t.span());
                    span = Some(span.map_or(t.span(), |s| s.cover(t.span())));
                }
                TokenKind::Word => {
                    let raw = &self.text[t.span().start..t.span().end];
                    words.push(Word {
                        span: t.span(),
                        value: unescape_word(raw),
                        quoted: false,
                    });
                    span = Some(span.map_or(t.span(), |s| s.cover(t.span())));
                }
                TokenKind::Quoted => {
                    let raw = &self.text[t.span().start..t.span().end];
                    let inner = raw
                        .strip_prefix('"')
                        .map(|r| r.strip_suffix('"').unwrap_or(r))
                        .unwrap_or(raw);
                    words.push(Word {
                        span: t.span(),
                        value: CompactString::from(inner),
                        quoted: true,
                    });
                    span = Some(span.map_or(t.span(), |s| s.cover(t.span())));
                }
                TokenKind::Definition => {
                    // `@id $X=...`: a conditional definition. Only reached right after a
                    // condition; keep it as a statement-less definition by ending here.
                    break;
                }
                _ => break,
            }
            self.pos += 1;
        }
        let span = span.unwrap_or_else(|| {
            let at = self.peek().map_or(self.text.len(), |t| t.span().start);
            Span::new(at, at)
        });
        Stmt {
            words,
            condition,
            generator,
            block: None,
            span,
        }
    }

    fn next_significant_is_lbrace(&mut self) -> bool {
        let mut i = self.pos;
        while let Some(t) = self.tokens.get(i) {
            match t.kind {
                k if Self::is_trivia(k) => i += 1,
                TokenKind::LBrace => {
                    self.pos = i;
                    return true;
                }
                _ => return false,
            }
        }
        false
    }

    /// Parses `{ items }` at the current `{` and attaches it to `stmt`.
    fn block(&mut self, stmt: &mut Stmt) -> Stop {
        let open = self.tokens[self.pos].span();
        self.pos += 1;
        let mut items = Vec::new();
        self.depth += 1;
        let stop = if self.depth > MAX_DEPTH {
            self.errors.push(SyntaxError {
                span: open,
                message: format!("blocks nested more than {MAX_DEPTH} deep"),
                help: Some("keepalived's grammar never nests this deep; look for stray `{`".into()),
            });
            self.skip_to_matching_close()
        } else {
            self.items_until_close(&mut items, false)
        };
        self.depth -= 1;
        let close = match stop {
            Stop::Close => {
                let c = self.tokens[self.pos].span();
                self.pos += 1;
                Some(c)
            }
            Stop::Eof => {
                self.errors.push(SyntaxError {
                    span: open,
                    message: match stmt.keyword() {
                        Some(k) => {
                            format!("missing `}}`: the `{k}` block opened here is never closed")
                        }
                        None => "missing `}`: the block opened here is never closed".into(),
                    },
                    help: Some("add the closing `}` at the end of the block".into()),
                });
                None
            }
            Stop::Unwind => {
                // Report once, at the innermost block.
                if !self
                    .errors
                    .last()
                    .is_some_and(|e| e.message.starts_with("missing `}` before"))
                {
                    let kw = self.peek_keyword().unwrap_or("");
                    let what = stmt.keyword().unwrap_or("");
                    self.errors.push(SyntaxError {
                        span: open,
                        message: format!(
                            "missing `}}` before `{kw}`: the `{what}` block opened here is not closed"
                        ),
                        help: Some(format!("close this block before `{kw}`, which only appears at the top level")),
                    });
                }
                None
            }
        };
        let end = close.map_or_else(|| items_end(&items).unwrap_or(open.end), |c| c.end);
        stmt.span = Span::new(stmt.span.start.min(open.start), end);
        stmt.block = Some(Block { open, items, close });
        match stop {
            Stop::Unwind => Stop::Unwind,
            _ => Stop::Close,
        }
    }

    /// Skips tokens up to the `}` matching an already consumed `{` (iteratively).
    fn skip_to_matching_close(&mut self) -> Stop {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t.kind {
                TokenKind::LBrace => depth += 1,
                TokenKind::RBrace => {
                    if depth == 0 {
                        return Stop::Close;
                    }
                    depth -= 1;
                }
                _ => {}
            }
            self.pos += 1;
        }
        Stop::Eof
    }
}

fn items_end(items: &[Item]) -> Option<usize> {
    items.last().map(|i| match i {
        Item::Stmt(s) => s.span.end,
        Item::Definition(d) => d.span.end,
    })
}

/// Visits every statement, depth first, with the keywords of its enclosing blocks.
pub fn walk<'f>(
    items: &'f [Item],
    path: &mut Vec<&'f str>,
    f: &mut dyn FnMut(&'f Stmt, &[&'f str]),
) {
    for item in items {
        if let Item::Stmt(s) = item {
            f(s, path);
            if let Some(b) = &s.block {
                path.push(s.keyword().unwrap_or(""));
                walk(&b.items, path, f);
                path.pop();
            }
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

    fn kws(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Stmt(s) => Some(
                    s.words
                        .iter()
                        .map(|w| w.value.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn braces_same_and_next_line() {
        let f =
            roundtrip("vrrp_instance VI_1 {\n state MASTER\n}\nvrrp_script x\n{\n interval 2\n}\n");
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(kws(&f.items), ["vrrp_instance VI_1", "vrrp_script x"]);
    }

    #[test]
    fn one_line_block_and_comments() {
        let f = roundtrip("virtual_ipaddress { 10.0.0.1/24 } # c\npriority 100! bang\n");
        let Item::Stmt(s) = &f.items[0] else { panic!() };
        assert_eq!(kws(&s.block.as_ref().unwrap().items), ["10.0.0.1/24"]);
        assert_eq!(kws(&f.items)[1], "priority 100");
    }

    #[test]
    fn quotes_keep_comment_chars() {
        let f = roundtrip("auth_pass \"ab#cd!ef\"\nscript \"/bin/x\"\n");
        let Item::Stmt(s) = &f.items[0] else { panic!() };
        assert_eq!(s.words[1].value, "ab#cd!ef");
        assert!(s.words[1].quoted);
    }

    #[test]
    fn extra_and_missing_braces_recover() {
        let f =
            roundtrip("}\nglobal_defs {\n router_id a\n\nvrrp_instance VI_1 {\n priority 1\n}\n");
        assert_eq!(f.errors.len(), 2, "{:?}", f.errors);
        assert_eq!(kws(&f.items), ["global_defs", "vrrp_instance VI_1"]);
    }

    #[test]
    fn conditions_definitions_generators() {
        let f = roundtrip(
            "$IF=eth0\n@ha1 priority 101\n@^ha1 priority 100\n@bad\n$M=a \\\n b\n~SEQ(n, 1, 3) 10.0.0.$n\n",
        );
        assert!(matches!(&f.items[0], Item::Definition(d) if d.name == "IF" && d.value == "eth0"));
        let Item::Stmt(s) = &f.items[1] else { panic!() };
        assert_eq!(s.condition.as_ref().unwrap().id, "ha1");
        let Item::Stmt(s) = &f.items[2] else { panic!() };
        assert!(s.condition.as_ref().unwrap().negated);
        assert!(matches!(&f.items[3], Item::Definition(d) if d.name == "M"));
        let Item::Stmt(s) = &f.items[4] else { panic!() };
        assert!(s.generator.is_some());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let s = "a {\n".repeat(10_000);
        let f = roundtrip(&s);
        assert!(!f.errors.is_empty());
    }

    #[test]
    fn unterminated_quote() {
        let f = roundtrip("script \"/bin/x\n");
        assert_eq!(f.errors.len(), 1);
    }
}
