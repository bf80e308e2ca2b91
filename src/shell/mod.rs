//! Health-check scripts as a shell reads them.
//!
//! keepalived only sees a check script's exit status, so the health-check rules (HC001–HC009)
//! need the script's real structure: which commands run on which path, and which status
//! each path ends with. The script is parsed with `brush-parser` (a maintained POSIX/bash
//! parser, MIT-licensed, synchronous; see docs/design-notes.md for why not yash-syntax) and
//! lowered here to a small tree with byte spans into the file, which `analysis` walks.
//!
//! Command substitutions (`$(...)`, backquotes) are parsed too, so a probe inside
//! `counter=$(ps -C nginx | wc -l)` is seen as the probe it is.

pub mod analysis;

use crate::source::Span;
use brush_parser::ast;
use brush_parser::word::WordPiece;

/// One word of a command, as written.
#[derive(Debug, Clone)]
pub struct Word {
    /// The text as written (quotes included).
    pub raw: String,
    /// The value when the word expands to itself (quotes removed, no `$`, no globbing).
    pub lit: Option<String>,
    pub span: Span,
}

impl Word {
    /// The literal value, or the raw text for words with expansions.
    pub fn text(&self) -> &str {
        self.lit.as_deref().unwrap_or(&self.raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirOp {
    /// `>`, `>|`, `&>`
    Write,
    /// `>>`, `&>>`
    Append,
    Other,
}

#[derive(Debug, Clone)]
pub struct Redirect {
    pub op: RedirOp,
    /// The target file, when it is a literal word.
    pub target: Option<String>,
}

/// A simple command: assignments, words, redirections.
#[derive(Debug, Clone)]
pub struct Simple {
    pub assigns: Vec<(String, Word)>,
    /// The command name and its arguments.
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    /// The command substitutions in any of its words, parsed.
    pub substs: Vec<Node>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Node {
    Simple(Simple),
    /// Commands run one after the other (`;`, newlines).
    Seq(Vec<Node>),
    /// `cmd &`
    Background(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// `! pipeline`
    Not(Box<Node>),
    Pipe(Vec<Node>),
    If {
        /// `if`/`elif` conditions with their bodies.
        branches: Vec<(Node, Node)>,
        otherwise: Option<Box<Node>>,
        span: Span,
    },
    Case {
        arms: Vec<Node>,
        /// Whether an arm matches everything (`*)`), so some arm always runs.
        catch_all: bool,
        span: Span,
    },
    /// `while`, `until`, `for`: the body runs zero or more times.
    Loop {
        cond: Option<Box<Node>>,
        /// For a `for` over literal words, how many times the body runs.
        iterations: Option<usize>,
        body: Box<Node>,
        span: Span,
    },
    Subshell(Box<Node>, Span),
    Group(Box<Node>),
    Function {
        name: String,
        body: Box<Node>,
        span: Span,
    },
    /// `[[ ... ]]` and `(( ... ))`: a test whose status is meaningful.
    Test {
        substs: Vec<Node>,
        span: Span,
    },
}

impl Node {
    pub fn span(&self) -> Span {
        match self {
            Node::Simple(s) => s.span,
            Node::Seq(v) | Node::Pipe(v) => match (v.first(), v.last()) {
                (Some(a), Some(b)) => a.span().cover(b.span()),
                _ => Span::new(0, 0),
            },
            Node::Background(n) | Node::Not(n) | Node::Group(n) => n.span(),
            Node::And(a, b) | Node::Or(a, b) => a.span().cover(b.span()),
            Node::If { span, .. }
            | Node::Case { span, .. }
            | Node::Loop { span, .. }
            | Node::Subshell(_, span)
            | Node::Function { span, .. }
            | Node::Test { span, .. } => *span,
        }
    }

    /// Every simple command in this tree, command substitutions included.
    pub fn each_simple<'a>(&'a self, f: &mut dyn FnMut(&'a Simple)) {
        match self {
            Node::Simple(s) => {
                f(s);
                for n in &s.substs {
                    n.each_simple(f);
                }
            }
            Node::Seq(v) | Node::Pipe(v) | Node::Case { arms: v, .. } => {
                v.iter().for_each(|n| n.each_simple(f))
            }
            Node::Background(n) | Node::Not(n) | Node::Group(n) | Node::Subshell(n, _) => {
                n.each_simple(f)
            }
            Node::And(a, b) | Node::Or(a, b) => {
                a.each_simple(f);
                b.each_simple(f);
            }
            Node::If {
                branches,
                otherwise,
                ..
            } => {
                for (c, b) in branches {
                    c.each_simple(f);
                    b.each_simple(f);
                }
                if let Some(o) = otherwise {
                    o.each_simple(f);
                }
            }
            Node::Loop { cond, body, .. } => {
                if let Some(c) = cond {
                    c.each_simple(f);
                }
                body.each_simple(f);
            }
            Node::Function { body, .. } => body.each_simple(f),
            Node::Test { substs, .. } => substs.iter().for_each(|n| n.each_simple(f)),
        }
    }
}

/// A script that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

/// Parses `text` (a whole script, or the inline command of a `vrrp_script`). `base` is the
/// byte offset of `text` in its file; every span in the result is relative to the file.
pub fn parse(text: &str, base: usize) -> Result<Node, ParseError> {
    if let Some(nul) = text.find('\0') {
        return Err(ParseError {
            offset: base + nul,
            message: "not a text file: a NUL byte here; no shell runs this as a script".into(),
        });
    }
    if let Some(offset) = deep_parens(text) {
        return Err(ParseError {
            offset: base + offset,
            message: format!(
                "more than {MAX_PAREN_RUN} `(` in a row: too deep for the shell parser"
            ),
        });
    }
    Lower::new(text, base, 0).program()
}

/// Opening parentheses in a row beyond which brush-parser's time explodes (fuzzing found
/// 80 `(` taking minutes: subshell and arithmetic readings are tried at every level). No
/// check script nests this deep.
const MAX_PAREN_RUN: usize = 12;

/// Where a run of more than [`MAX_PAREN_RUN`] `(` (blanks between them allowed) starts.
fn deep_parens(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut run = 0;
    let mut start = 0;
    for (i, c) in b.iter().enumerate() {
        match c {
            b'(' => {
                if run == 0 {
                    start = i;
                }
                run += 1;
                if run > MAX_PAREN_RUN {
                    return Some(start);
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' if run > 0 => {}
            _ => run = 0,
        }
    }
    None
}

/// Nesting of command substitutions beyond which they are not parsed.
const MAX_DEPTH: usize = 16;

fn options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions::default()
}

struct Lower<'t> {
    text: &'t str,
    base: usize,
    /// Byte offset of each line's start (brush-parser reports lines and character columns).
    lines: Vec<usize>,
    depth: usize,
    /// When set, every span is this one (text whose offsets are not the file's).
    fixed: Option<Span>,
}

impl<'t> Lower<'t> {
    fn new(text: &'t str, base: usize, depth: usize) -> Self {
        let mut lines = vec![0];
        lines.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lower {
            text,
            base,
            lines,
            depth,
            fixed: None,
        }
    }

    fn program(&self) -> Result<Node, ParseError> {
        let mut parser =
            brush_parser::Parser::new(std::io::Cursor::new(self.text.as_bytes()), &options());
        // brush-parser is young; a panic inside it must not take haconf down, nor reach the
        // user's terminal (it becomes this finding).
        let parsed =
            crate::quiet_panic::catch(|| parser.parse_program()).map_err(|_| ParseError {
                offset: self.base,
                message: "the shell parser could not read this script".into(),
            })?;
        match parsed {
            Ok(p) => Ok(Node::Seq(
                p.complete_commands.iter().map(|c| self.list(c)).collect(),
            )),
            Err(e) => Err(self.error(&e)),
        }
    }

    fn error(&self, e: &brush_parser::ParseError) -> ParseError {
        use brush_parser::ParseError as E;
        let (pos, message) = match e {
            E::ParsingNear(p) => (Some(p), "syntax error near this token".to_string()),
            E::ParsingAtEndOfInput => (None, "unexpected end of the script".to_string()),
            E::Tokenizing { inner, position } => (position.as_ref(), inner.to_string()),
        };
        let offset = pos.map_or(self.base + self.text.trim_end().len(), |p| {
            self.pos(p).min(self.base + self.text.len())
        });
        ParseError { offset, message }
    }

    /// The byte offset (in the file) of a brush-parser position.
    fn pos(&self, p: &brush_parser::SourcePosition) -> usize {
        let line = p.line.max(1) - 1;
        let Some(&start) = self.lines.get(line) else {
            return self.base + self.text.len();
        };
        let rest = &self.text[start..];
        let col = rest
            .char_indices()
            .nth(p.column.max(1) - 1)
            .map_or(rest.len(), |(i, _)| i);
        self.base + start + col
    }

    fn span(&self, s: &brush_parser::SourceSpan) -> Span {
        if let Some(f) = self.fixed {
            return f;
        }
        Span::new(self.pos(&s.start), self.pos(&s.end))
    }

    fn list(&self, l: &ast::CompoundList) -> Node {
        let mut out = Vec::new();
        for ast::CompoundListItem(ao, sep) in &l.0 {
            let n = self.and_or(ao);
            out.push(match sep {
                ast::SeparatorOperator::Async => Node::Background(Box::new(n)),
                ast::SeparatorOperator::Sequence => n,
            });
        }
        if out.len() == 1 {
            out.pop().unwrap_or(Node::Seq(Vec::new()))
        } else {
            Node::Seq(out)
        }
    }

    fn and_or(&self, ao: &ast::AndOrList) -> Node {
        let mut n = self.pipeline(&ao.first);
        for next in &ao.additional {
            n = match next {
                ast::AndOr::And(p) => Node::And(Box::new(n), Box::new(self.pipeline(p))),
                ast::AndOr::Or(p) => Node::Or(Box::new(n), Box::new(self.pipeline(p))),
            };
        }
        n
    }

    fn pipeline(&self, p: &ast::Pipeline) -> Node {
        let mut seq: Vec<Node> = p.seq.iter().map(|c| self.command(c)).collect();
        let n = if seq.len() == 1 {
            seq.pop().unwrap_or(Node::Seq(Vec::new()))
        } else {
            Node::Pipe(seq)
        };
        if p.bang { Node::Not(Box::new(n)) } else { n }
    }

    fn command(&self, c: &ast::Command) -> Node {
        match c {
            ast::Command::Simple(s) => self.simple(s),
            ast::Command::Compound(cc, _) => self.compound(cc),
            ast::Command::Function(f) => Node::Function {
                name: f.fname.value.clone(),
                body: Box::new(self.compound(&f.body.0)),
                span: f
                    .fname
                    .loc
                    .as_ref()
                    .map_or(Span::new(self.base, self.base), |l| self.span(l)),
            },
            ast::Command::ExtendedTest(t, _) => {
                let mut substs = Vec::new();
                self.test_words(&t.expr, &mut substs);
                Node::Test {
                    substs,
                    span: self.span(&t.loc),
                }
            }
        }
    }

    fn test_words(&self, e: &ast::ExtendedTestExpr, out: &mut Vec<Node>) {
        use ast::ExtendedTestExpr as T;
        match e {
            T::And(a, b) | T::Or(a, b) => {
                self.test_words(a, out);
                self.test_words(b, out);
            }
            T::Not(a) | T::Parenthesized(a) => self.test_words(a, out),
            T::UnaryTest(_, w) => {
                self.word(w);
                out.extend(self.substs_of(w));
            }
            T::BinaryTest(_, a, b) => {
                out.extend(self.substs_of(a));
                out.extend(self.substs_of(b));
            }
        }
    }

    fn compound(&self, c: &ast::CompoundCommand) -> Node {
        use ast::CompoundCommand as C;
        match c {
            C::Arithmetic(a) => Node::Test {
                substs: Vec::new(),
                span: self.span(&a.loc),
            },
            C::ArithmeticForClause(f) => Node::Loop {
                cond: None,
                iterations: None,
                body: Box::new(self.list(&f.body.list)),
                span: self.span(&f.loc),
            },
            C::BraceGroup(b) => Node::Group(Box::new(self.list(&b.list))),
            C::Subshell(s) => Node::Subshell(Box::new(self.list(&s.list)), self.span(&s.loc)),
            C::ForClause(f) => {
                let iterations = f.values.as_ref().and_then(|vs| {
                    vs.iter()
                        .all(|w| literal(&w.value).is_some_and(|l| !l.contains(['*', '?', '['])))
                        .then_some(vs.len())
                });
                Node::Loop {
                    cond: None,
                    iterations,
                    body: Box::new(self.list(&f.body.list)),
                    span: self.span(&f.loc),
                }
            }
            C::CaseClause(cc) => Node::Case {
                arms: cc
                    .cases
                    .iter()
                    .map(|i| {
                        i.cmd
                            .as_ref()
                            .map_or(Node::Seq(Vec::new()), |l| self.list(l))
                    })
                    .collect(),
                catch_all: cc
                    .cases
                    .iter()
                    .any(|i| i.patterns.iter().any(|p| p.value == "*")),
                span: self.span(&cc.loc),
            },
            C::IfClause(i) => {
                let mut branches = vec![(self.list(&i.condition), self.list(&i.then))];
                let mut otherwise = None;
                for e in i.elses.iter().flatten() {
                    match &e.condition {
                        Some(c) => branches.push((self.list(c), self.list(&e.body))),
                        None => otherwise = Some(Box::new(self.list(&e.body))),
                    }
                }
                Node::If {
                    branches,
                    otherwise,
                    span: self.span(&i.loc),
                }
            }
            C::WhileClause(w) | C::UntilClause(w) => Node::Loop {
                cond: Some(Box::new(self.list(&w.0))),
                iterations: None,
                body: Box::new(self.list(&w.1.list)),
                span: self.span(&w.2),
            },
            C::Coprocess(cp) => Node::Background(Box::new(self.command(&cp.body))),
        }
    }

    fn simple(&self, s: &ast::SimpleCommand) -> Node {
        let mut out = Simple {
            assigns: Vec::new(),
            words: Vec::new(),
            redirects: Vec::new(),
            substs: Vec::new(),
            span: Span::new(self.base, self.base),
        };
        let mut items: Vec<&ast::CommandPrefixOrSuffixItem> = Vec::new();
        if let Some(p) = &s.prefix {
            items.extend(p.0.iter());
        }
        let name = s.word_or_name.as_ref();
        let mut spans: Vec<Span> = Vec::new();
        for item in &items {
            self.item(item, &mut out, &mut spans);
        }
        if let Some(w) = name {
            self.push_word(w, &mut out, &mut spans);
        }
        if let Some(sfx) = &s.suffix {
            for item in &sfx.0 {
                self.item(item, &mut out, &mut spans);
            }
        }
        if let (Some(first), Some(last)) = (
            spans.iter().map(|s| s.start).min(),
            spans.iter().map(|s| s.end).max(),
        ) {
            out.span = Span::new(first, last);
        }
        Node::Simple(out)
    }

    fn push_word(&self, w: &ast::Word, out: &mut Simple, spans: &mut Vec<Span>) {
        let word = self.word(w);
        spans.push(word.span);
        out.substs.extend(self.substs_of(w));
        out.words.push(word);
    }

    fn item(&self, item: &ast::CommandPrefixOrSuffixItem, out: &mut Simple, spans: &mut Vec<Span>) {
        use ast::CommandPrefixOrSuffixItem as I;
        match item {
            I::Word(w) => self.push_word(w, out, spans),
            I::AssignmentWord(a, w) => {
                let word = self.word(w);
                spans.push(word.span);
                out.substs.extend(self.substs_of(w));
                let name = match &a.name {
                    ast::AssignmentName::VariableName(n) => n.clone(),
                    ast::AssignmentName::ArrayElementName(n, _) => n.clone(),
                };
                out.assigns.push((name, word));
            }
            I::IoRedirect(r) => out.redirects.push(redirect(r)),
            I::ProcessSubstitution(_, sub) => {
                spans.push(self.span(&sub.loc));
                out.substs.push(self.list(&sub.list));
            }
        }
    }

    fn word(&self, w: &ast::Word) -> Word {
        let span = w
            .loc
            .as_ref()
            .map_or(Span::new(self.base, self.base), |l| self.span(l));
        Word {
            raw: w.value.clone(),
            lit: literal(&w.value),
            span,
        }
    }

    /// The command substitutions in a word, parsed, with spans in the file.
    fn substs_of(&self, w: &ast::Word) -> Vec<Node> {
        if self.depth >= MAX_DEPTH || !(w.value.contains("$(") || w.value.contains('`')) {
            return Vec::new();
        }
        let Some(loc) = &w.loc else { return Vec::new() };
        let start = self.span(loc).start;
        // Offsets inside the word are only trusted when the word is the file's text.
        let aligned = self.fixed.is_none()
            && self
                .text
                .get(start - self.base..)
                .is_some_and(|t| t.starts_with(w.value.as_str()));
        let Ok(pieces) = brush_parser::word::parse(&w.value, &options()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        self.collect_substs(&pieces, start, aligned, &mut out);
        out
    }

    fn collect_substs(
        &self,
        pieces: &[brush_parser::word::WordPieceWithSource],
        word_start: usize,
        aligned: bool,
        out: &mut Vec<Node>,
    ) {
        for p in pieces {
            let (inner, skip) = match &p.piece {
                WordPiece::CommandSubstitution(c) => (c, 2),
                WordPiece::BackquotedCommandSubstitution(c) => (c, 1),
                WordPiece::DoubleQuotedSequence(v) | WordPiece::GettextDoubleQuotedSequence(v) => {
                    self.collect_substs(v, word_start, aligned, out);
                    continue;
                }
                _ => continue,
            };
            let base = if aligned {
                word_start + p.start_index + skip
            } else {
                word_start
            };
            let mut lower = Lower::new(inner, base, self.depth + 1);
            if !aligned {
                // Offsets cannot be trusted: everything inside points at the whole word.
                lower.fixed = Some(self.fixed.unwrap_or(Span::new(word_start, word_start)));
            }
            if let Ok(n) = lower.program() {
                out.push(n);
            }
        }
    }
}

fn redirect(r: &ast::IoRedirect) -> Redirect {
    use ast::{IoFileRedirectKind as K, IoFileRedirectTarget as T, IoRedirect as R};
    match r {
        R::File(_, kind, target) => {
            let op = match kind {
                K::Write | K::Clobber => RedirOp::Write,
                K::Append => RedirOp::Append,
                _ => RedirOp::Other,
            };
            let target = match target {
                T::Filename(w) => literal(&w.value),
                _ => None,
            };
            Redirect { op, target }
        }
        R::OutputAndError(w, append) => Redirect {
            op: if *append {
                RedirOp::Append
            } else {
                RedirOp::Write
            },
            target: literal(&w.value),
        },
        _ => Redirect {
            op: RedirOp::Other,
            target: None,
        },
    }
}

/// The value of a word that expands to itself: quotes and escapes removed; `None` when it
/// has parameter expansion, command substitution, arithmetic or globbing.
pub fn literal(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut dq = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' if !dq => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => dq = !dq,
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) if dq && !matches!(n, '$' | '`' | '"' | '\\') => {
                    out.push('\\');
                    out.push(n);
                }
                Some(n) => out.push(n),
                None => out.push('\\'),
            },
            '$' | '`' => return None,
            '*' | '?' | '[' if !dq => return None,
            _ => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &Node) -> Vec<String> {
        let mut v = Vec::new();
        n.each_simple(&mut |s| {
            if let Some(w) = s.words.first() {
                v.push(w.text().to_string());
            }
        });
        v
    }

    #[test]
    fn command_substitutions_are_parsed_with_file_offsets() {
        let text = "#!/bin/sh\n# é\nc=$(ps -C nginx | wc -l)\n";
        let n = parse(text, 0).unwrap();
        assert_eq!(names(&n), ["ps", "wc"]);
        let mut spans = Vec::new();
        n.each_simple(&mut |s| spans.push(&text[s.span.start..s.span.end]));
        assert_eq!(spans, ["c=$(ps -C nginx | wc -l)", "ps -C nginx", "wc -l"]);
    }

    #[test]
    fn literals() {
        assert_eq!(literal("'a b'\"c\"d").as_deref(), Some("a bcd"));
        assert_eq!(literal("$x"), None);
        assert_eq!(literal("\"${x}\""), None);
        assert_eq!(literal("-fsS"), Some("-fsS".into()));
    }

    #[test]
    fn syntax_errors_have_offsets() {
        let text = "if true; then\n  echo\n";
        let e = parse(text, 10).unwrap_err();
        assert!(e.offset >= 10 && e.offset <= 10 + text.len(), "{e:?}");
    }
}
