//! Lossless syntax trees: one module per language.

pub mod keepalived;
pub mod nginx;

use crate::source::Span;

/// A token: its kind and where it is. 12 bytes for the languages' one-byte kinds — files are
/// capped far below 4 GiB, and the token vector is a parser's largest allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<K> {
    pub kind: K,
    start: u32,
    end: u32,
}

impl<K> Token<K> {
    pub fn new(kind: K, span: Span) -> Self {
        Token {
            kind,
            start: span.start as u32,
            end: span.end as u32,
        }
    }

    pub fn span(&self) -> Span {
        Span::new(self.start as usize, self.end as usize)
    }
}

/// The text the tokens cover, in order: the file itself, since tokens cover every byte.
pub fn print<K>(tokens: &[Token<K>], text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for t in tokens {
        out.extend_from_slice(&text[t.start as usize..t.end as usize]);
    }
    out
}
