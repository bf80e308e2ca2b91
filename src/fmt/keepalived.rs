//! The keepalived layout: line by line, because keepalived reads a line at a time.
//!
//! Each physical line keeps its words, in order, on one line: only the blanks around them
//! change. A line is indented by the depth of the blocks open before it (one level less when
//! it starts with `}`); a `{` alone on its line moves up to the end of the line it opens,
//! when that line is a plain statement (not conditional, not a definition, no comment); blank
//! lines shrink to one and disappear at the start and end of blocks and of the file.
//! Definitions (`$NAME=...`, continuation lines included), `~SEQ(...)` prefixes, dropped
//! `@id` lines and quoted strings are copied byte for byte.

use super::{Error, Input, Options, dominant_newline, trimmed_comment};
use crate::syntax::keepalived::{Token, TokenKind as K};

/// keepalived 2.2.7 reads at most 1022 characters a line and silently splits longer lines
/// (2.4 refuses them): a line that is, or would become, longer keeps its layout exactly.
const MAX_LINE: usize = 1022;

struct Line {
    /// Tokens of the line, its newline excluded.
    tokens: std::ops::Range<usize>,
}

fn lines(tokens: &[Token]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        if t.kind == K::Newline {
            out.push(Line { tokens: start..i });
            start = i + 1;
        }
    }
    if start < tokens.len() {
        out.push(Line {
            tokens: start..tokens.len(),
        });
    }
    out
}

fn is_plain_blank(b: &[u8]) -> bool {
    b.iter().all(|&c| c == b' ' || c == b'\t')
}

/// Refuses what a layout must not be computed from: unbalanced braces (every following line
/// would be indented wrong) and blanks other than spaces and tabs inside a line.
fn check_structure(src: &Input, tokens: &[Token]) -> Result<(), Error> {
    let bytes = src.bytes;
    let mut open: Vec<usize> = Vec::new();
    for t in tokens {
        let s = t.span();
        match t.kind {
            K::LBrace => open.push(s.start),
            K::RBrace if open.pop().is_none() => {
                let (line, col) = src.line_col(s.start);
                return Err(Error::Syntax {
                    line,
                    col,
                    message: "extra `}`: there is no open block to close here".into(),
                });
            }
            K::Whitespace if !is_plain_blank(&bytes[s.start..s.end]) => {
                let (line, col) = src.line_col(s.start);
                return Err(Error::Syntax {
                    line,
                    col,
                    message: "a carriage return, vertical tab or form feed between words; haconf fmt leaves such files alone".into(),
                });
            }
            _ => {}
        }
    }
    if let Some(&at) = open.last() {
        let (line, col) = src.line_col(at);
        return Err(Error::Syntax {
            line,
            col,
            message: "the block opened here is never closed".into(),
        });
    }
    Ok(())
}

pub(super) fn format(src: &Input, tokens: &[Token], opts: &Options) -> Result<Vec<u8>, Error> {
    let bytes = src.bytes;
    check_structure(src, tokens)?;
    let nl = dominant_newline(
        tokens
            .iter()
            .filter(|t| t.kind == K::Newline)
            .map(|t| t.span().len()),
    );
    let text = |t: &Token| &bytes[t.span().start..t.span().end];
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    let mut depth = 0usize;
    let mut pending_blank = false;
    // Facts about the last line written.
    let mut last_opens_block = false;
    let mut last_takes_brace = false;
    // Where the last line's text ends (before its newline), to append a `{` to it.
    let mut last_end = 0usize;
    let mut line_buf: Vec<u8> = Vec::new();
    for line in lines(tokens) {
        let toks = &tokens[line.tokens.clone()];
        let content: Vec<&Token> = toks.iter().filter(|t| t.kind != K::Whitespace).collect();
        let Some(first) = content.first() else {
            pending_blank = !out.is_empty();
            last_takes_brace = false;
            continue;
        };
        // The content with its blanks squeezed: one space where the original had blanks,
        // none where tokens touched (`ab"cd"` stays as keepalived and script parsing see it).
        line_buf.clear();
        let mut gap = false;
        let mut started = false;
        for t in toks {
            if t.kind == K::Whitespace {
                gap = true;
                continue;
            }
            if started && gap {
                line_buf.push(b' ');
            }
            if t.kind == K::Comment {
                line_buf.extend_from_slice(trimmed_comment(text(t)));
            } else {
                line_buf.extend_from_slice(text(t));
            }
            started = true;
            gap = false;
        }
        let lone_brace = first.kind == K::LBrace
            && content.len() <= 2
            && content.iter().skip(1).all(|t| t.kind == K::Comment);
        let original_len = {
            let s = toks.first().map_or(0, |t| t.span().start);
            let e = toks.last().map_or(0, |t| t.span().end);
            e - s
        };
        if lone_brace
            && last_takes_brace
            && !pending_blank
            && last_end + 1 + line_buf.len() - line_start(&out, last_end) <= MAX_LINE
        {
            // `vrrp_instance VI_1` / `{` becomes `vrrp_instance VI_1 {`: the brace line holds
            // no word, so no line's words change.
            out.truncate(last_end);
            out.push(b' ');
            out.extend_from_slice(&line_buf);
            last_end = out.len();
            out.extend_from_slice(nl);
        } else {
            if pending_blank && !last_opens_block && first.kind != K::RBrace {
                out.extend_from_slice(nl);
            }
            let level = depth.saturating_sub(usize::from(first.kind == K::RBrace));
            let indent = match opts.indent {
                super::Indent::Spaces(n) => level * n as usize,
                super::Indent::Tabs => level,
            };
            if original_len > MAX_LINE || indent + line_buf.len() > MAX_LINE {
                let s = toks.first().map_or(0, |t| t.span().start);
                let e = toks.last().map_or(0, |t| t.span().end);
                out.extend_from_slice(&bytes[s..e]);
            } else {
                opts.push_indent(&mut out, level);
                out.extend_from_slice(&line_buf);
            }
            last_end = out.len();
            out.extend_from_slice(nl);
        }
        pending_blank = false;
        for t in &content {
            match t.kind {
                K::LBrace => depth += 1,
                K::RBrace => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        last_opens_block = content
            .iter()
            .rev()
            .find(|t| t.kind != K::Comment)
            .is_some_and(|t| t.kind == K::LBrace);
        last_takes_brace = content
            .iter()
            .all(|t| matches!(t.kind, K::Word | K::Quoted))
            && content.last().is_some_and(|t| {
                t.kind == K::Word || {
                    let q = text(t);
                    q.len() >= 2 && q.ends_with(b"\"")
                }
            });
    }
    Ok(out)
}

fn line_start(out: &[u8], end: usize) -> usize {
    out[..end]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1)
}

/// The significant tokens: (kind, text), comments without their trailing blanks.
fn significant<'a>(
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
                if t.kind == K::Comment {
                    trimmed_comment(b)
                } else {
                    b
                },
            )
        })
}

/// The words of each line that has any, as a stream: `Some(word)`, and `None` at the end of
/// a line that had one. Braces and comments are not words.
fn line_words<'a>(
    src: &'a Input,
    tokens: &'a [Token],
) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
    let mut had = false;
    tokens
        .iter()
        .filter_map(move |t| match t.kind {
            K::Newline => std::mem::take(&mut had).then_some(None),
            K::Whitespace | K::Comment | K::LBrace | K::RBrace => None,
            _ => {
                had = true;
                let s = t.span();
                Some(Some(&src.bytes[s.start..s.end]))
            }
        })
        .chain(std::iter::once(None))
}

pub(super) fn verify(
    before: &Input,
    tb: &[Token],
    after: &Input,
    ta: &[Token],
) -> Result<(), String> {
    if let Some((i, (x, y))) = first_difference(significant(before, tb), significant(after, ta)) {
        return Err(format!(
            "token {} differs: {:?} became {:?}",
            i + 1,
            x.map(|t| String::from_utf8_lossy(t.1).into_owned()),
            y.map(|t| String::from_utf8_lossy(t.1).into_owned())
        ));
    }
    // Braces may move between lines (a lone `{` joins the line it opens, with the comment
    // after it); words may not. A file without a final newline ends its last line too.
    fn norm(mut v: Vec<Option<&[u8]>>) -> Vec<Option<&[u8]>> {
        while v.len() >= 2 && v[v.len() - 1].is_none() && v[v.len() - 2].is_none() {
            v.pop();
        }
        v
    }
    let (wa, wb) = (
        norm(line_words(before, tb).collect()),
        norm(line_words(after, ta).collect()),
    );
    if wa != wb {
        let line = wa
            .iter()
            .zip(&wb)
            .take_while(|(x, y)| x == y)
            .filter(|(x, _)| x.is_none())
            .count();
        return Err(format!(
            "the words of line {} moved to another line",
            line + 1
        ));
    }
    Ok(())
}

/// Where two streams first differ: the index, and what each has there (`None`: it ended).
pub(super) type Difference<T> = (usize, (Option<T>, Option<T>));

/// The first place two streams differ (one may end first).
pub(super) fn first_difference<T: PartialEq>(
    a: impl Iterator<Item = T>,
    b: impl Iterator<Item = T>,
) -> Option<Difference<T>> {
    let (mut a, mut b) = (a.fuse(), b.fuse());
    let mut i = 0;
    loop {
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x != y => return Some((i, (x, y))),
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::fmt::{Indent, Lang, Options, format};

    fn fmt(s: &str) -> String {
        String::from_utf8(format(s.as_bytes(), Lang::Keepalived, &Options::default()).unwrap())
            .unwrap()
    }

    #[test]
    fn reindents_and_squeezes() {
        assert_eq!(
            fmt(
                "vrrp_instance VI_1 {\nstate   MASTER\n      virtual_ipaddress {\n 10.0.0.1/24\n}\n           }\n"
            ),
            "vrrp_instance VI_1 {\n    state MASTER\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n}\n"
        );
    }

    #[test]
    fn lone_brace_joins_its_line_only_when_plain() {
        assert_eq!(
            fmt("vrrp_script chk\n{\n interval 2\n}\n"),
            "vrrp_script chk {\n    interval 2\n}\n"
        );
        // A comment or a condition on the line above keeps the brace on its own line.
        assert_eq!(
            fmt("vrrp_script chk # x\n{\n}\n@ha1 vrrp_script y\n{\n}\n"),
            "vrrp_script chk # x\n{\n}\n@ha1 vrrp_script y\n{\n}\n"
        );
    }

    #[test]
    fn blank_lines() {
        assert_eq!(
            fmt("\n\nglobal_defs {\n\n router_id a\n\n\n\n notification_email {\n}\n\n}\n\n\n"),
            "global_defs {\n    router_id a\n\n    notification_email {\n    }\n}\n"
        );
    }

    #[test]
    fn words_that_touch_stay_touching() {
        assert_eq!(
            fmt("a {\n  script ab\"c d\"   x\n}\n"),
            "a {\n    script ab\"c d\" x\n}\n"
        );
    }

    #[test]
    fn one_line_blocks_and_definitions_stay() {
        let s = "$IF=eth0\n  $MULTI=a \\\n       b\nvrrp_instance X {\n  @ha1 priority 101   ! note  \n   virtual_ipaddress { 10.0.0.1/24 }\n  ~SEQ(n, 1, 3)   10.0.1.$n\n}\n";
        assert_eq!(
            fmt(s),
            "$IF=eth0\n$MULTI=a \\\n       b\nvrrp_instance X {\n    @ha1 priority 101 ! note\n    virtual_ipaddress { 10.0.0.1/24 }\n    ~SEQ(n, 1, 3) 10.0.1.$n\n}\n"
        );
    }

    #[test]
    fn crlf_and_tabs() {
        let out = format(
            b"a {\r\nb 1\r\n}",
            Lang::Keepalived,
            &Options {
                indent: Indent::Tabs,
            },
        )
        .unwrap();
        assert_eq!(out, b"a {\r\n\tb 1\r\n}\r\n");
    }

    #[test]
    fn refuses_unbalanced_braces() {
        let e = format(b"a {\n b\n", Lang::Keepalived, &Options::default()).unwrap_err();
        assert!(e.to_string().contains("1:3"), "{e}");
        assert!(format(b"}\n", Lang::Keepalived, &Options::default()).is_err());
    }

    #[test]
    fn verify_catches_moved_words() {
        use crate::fmt::verify;
        assert!(verify(b"a b\nc\n", b"a\nb c\n", Lang::Keepalived).is_err());
        assert!(verify(b"a b\nc\n", b"a b c\n", Lang::Keepalived).is_err());
        assert!(verify(b"a {\nb\n}", b"a\n{\n  b }\n", Lang::Keepalived).is_ok());
    }
}
