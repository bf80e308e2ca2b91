//! What every output passes through before it reaches a person: `auth_pass` values masked, and
//! the control characters a config may hold (an `ESC [` sequence rewrites the terminal, a
//! lone `CR` overwrites the line) made visible instead of obeyed.
//!
//! Secrets are found by reading the file the way keepalived reads it (words, quotes, comments,
//! braces), not by matching lines: the value of any word that is, or looks like, `auth_pass`
//! (any case, up to two typos: `auth_pas`, `AUTH_PASS`, `authpass`), wherever it stands (a
//! one-line `authentication { auth_type PASS auth_pass X }`), every value after it (a second
//! word), and the next line's words when the keyword ends its line.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceDb, Span};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Whether a word is `auth_pass` or looks like it (case-insensitive, Damerau-Levenshtein
/// distance at most 2).
pub fn looks_like_auth_pass(word: &str) -> bool {
    if !(7..=11).contains(&word.len()) {
        return false;
    }
    let w = word.to_ascii_lowercase();
    w == "auth_pass" || strsim::damerau_levenshtein(&w, "auth_pass") <= 2
}

/// Byte ranges of the secret values in `text` (see the module's documentation).
pub fn secret_spans(text: &str) -> Vec<Span> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    // A password-like keyword was seen on this logical line: the words after it are secret.
    let mut masking = false;
    // ... and it had no value on its line: the next line's words are.
    let mut pending = false;
    let mut masked_any = false;
    let mut i = 0;
    let n = b.len();
    let end_logical = |masking: &mut bool, pending: &mut bool, masked_any: &mut bool| {
        if *masking && !*masked_any {
            *pending = true;
        }
        *masking = false;
        *masked_any = false;
    };
    while i < n {
        match b[i] {
            b'\n' | b'{' | b'}' => {
                end_logical(&mut masking, &mut pending, &mut masked_any);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' | b'!' => {
                // A comment, to the end of the line.
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {
                let start = i;
                if b[i] == b'"' {
                    i += 1;
                    while i < n && b[i] != b'"' && b[i] != b'\n' {
                        i += 1;
                    }
                    if i < n && b[i] == b'"' {
                        i += 1;
                    }
                } else {
                    while i < n && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}') {
                        i += 1;
                    }
                }
                let word = &text[start..i];
                if masking {
                    out.push(Span::new(start, i));
                    masked_any = true;
                } else if pending {
                    pending = false;
                    // A keyword on the next line is not a value that slipped down a line.
                    if crate::vocab::keepalived::Vocabulary::get()
                        .paths_of(word)
                        .is_empty()
                        && !looks_like_auth_pass(word)
                    {
                        out.push(Span::new(start, i));
                        masking = true;
                        masked_any = true;
                    }
                }
                if looks_like_auth_pass(word.trim_matches('"')) {
                    masking = true;
                    masked_any = false;
                }
            }
        }
    }
    out
}

/// `text` with every secret byte replaced by `*`: same length, so spans stay valid.
pub fn mask_secrets(text: &str) -> Cow<'_, str> {
    let spans = secret_spans(text);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(mask_spans(text, &spans))
}

fn mask_spans(text: &str, spans: &[Span]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans {
        out.push_str(&text[at..s.start]);
        out.extend(std::iter::repeat_n('*', s.end - s.start));
        at = s.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Whether `offset` of `text` falls inside (or at the end of) a secret value.
pub fn is_secret_at(text: &str, offset: usize) -> bool {
    secret_spans(text)
        .iter()
        .any(|s| offset >= s.start && offset <= s.end)
}

/// Whether a character is shown escaped rather than sent to the terminal: C0 and C1 controls
/// (but newline and tab), DEL, and the bidirectional overrides that reorder what is shown.
fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Free text (a message, a path, a help) for a text output: control characters written as
/// `\x1b`, `\r`, `\u{9b}`, so that a config cannot drive the reader's terminal.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let crlf = |i: usize| b.get(i + 1) == Some(&b'\n');
    if !s
        .char_indices()
        .any(|(i, c)| is_hostile(c) && !(c == '\r' && crlf(i)))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, c) in s.char_indices() {
        match c {
            '\r' if crlf(i) => out.push(c),
            '\r' => out.push_str("\\r"),
            c if is_hostile(c) && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_hostile(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Source text for a snippet: each byte of a control character becomes `?` (a `CR` before a
/// newline is kept), so that byte offsets still hold.
pub fn neutralize_source(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let hostile = text
        .char_indices()
        .any(|(i, c)| is_hostile(c) && !(c == '\r' && b.get(i + 1) == Some(&b'\n')));
    if !hostile {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if is_hostile(c) && !(c == '\r' && b.get(i + 1) == Some(&b'\n')) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether the output is read on a terminal or as plain text (control characters escaped),
/// or is a structured format that escapes them itself (JSON, SARIF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    Text,
    Structured,
}

/// The redaction of one run's outputs: the secrets of every file read, found once.
pub struct Redactor<'a> {
    db: &'a SourceDb,
    /// Distinct secret values made of word characters only: found by looking each word of a
    /// text up (a fleet can hold thousands of passwords, and a run thousands of findings).
    words: std::collections::HashSet<String>,
    /// The other values (with blanks or punctuation), longest first: searched for.
    values: Vec<String>,
    spans: HashMap<FileId, Vec<Span>>,
    shown: RefCell<HashMap<FileId, Arc<str>>>,
}

impl<'a> Redactor<'a> {
    pub fn new(db: &'a SourceDb) -> Self {
        let mut values: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut spans = HashMap::new();
        for id in 0..db.len() {
            let f = db.get(id);
            let s = secret_spans(&f.text);
            if s.is_empty() {
                continue;
            }
            for sp in &s {
                let v = f.slice(*sp);
                for v in [v, v.trim_matches('"')] {
                    if !v.is_empty() && !values.contains(v) {
                        values.insert(v.to_owned());
                    }
                }
            }
            spans.insert(id, s);
        }
        let (words, mut values): (Vec<String>, Vec<String>) =
            values.into_iter().partition(|v| !v.contains(is_delimiter));
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Redactor {
            db,
            words: words.into_iter().collect(),
            values,
            spans,
            shown: RefCell::new(HashMap::new()),
        }
    }

    /// A file's text as snippets show it: secrets masked, control characters neutralized,
    /// byte offsets unchanged.
    pub fn source(&self, file: FileId) -> Arc<str> {
        self.shown
            .borrow_mut()
            .entry(file)
            .or_insert_with(|| {
                let f = self.db.get(file);
                let masked = match self.spans.get(&file) {
                    Some(s) => Cow::Owned(mask_spans(&f.text, s)),
                    None => Cow::Borrowed(f.text.as_str()),
                };
                Arc::from(neutralize_source(&masked).as_ref())
            })
            .clone()
    }

    /// The 1-based line of a file as shown (for fingerprints and baselines).
    pub fn line(&self, file: FileId, line: usize) -> String {
        let f = self.db.get(file);
        let text = self.source(file);
        let start = f.offset(line, 1);
        let end = f.line_end(line);
        text.get(start..end).unwrap_or("").to_owned()
    }

    /// Whether a byte range of a file touches a secret.
    pub fn touches_secret(&self, file: FileId, span: Span) -> bool {
        // The spans are in file order and do not overlap: the first one that ends at or after
        // `span.start` is the only candidate.
        self.spans.get(&file).is_some_and(|v| {
            let i = v.partition_point(|s| s.end < span.start);
            v.get(i)
                .is_some_and(|s| s.start <= span.end.max(span.start))
        })
    }

    /// Free text with every secret value that appears in it as a word masked; escaped too
    /// for text outputs.
    pub fn text<'s>(&self, s: &'s str, esc: Escape) -> Cow<'s, str> {
        let mut out = Cow::Borrowed(s);
        if !self.words.is_empty()
            && s.split(is_delimiter)
                .any(|w| !w.is_empty() && self.words.contains(w))
        {
            let mut o = String::with_capacity(s.len());
            let mut word = String::new();
            let flush = |word: &mut String, o: &mut String| {
                if self.words.contains(word.as_str()) {
                    o.extend(std::iter::repeat_n('*', word.chars().count()));
                } else {
                    o.push_str(word);
                }
                word.clear();
            };
            for c in s.chars() {
                if is_delimiter(c) {
                    flush(&mut word, &mut o);
                    o.push(c);
                } else {
                    word.push(c);
                }
            }
            flush(&mut word, &mut o);
            out = Cow::Owned(o);
        }
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = Cow::Owned(mask_word(&out, v));
            }
        }
        match (esc, out) {
            (Escape::Structured, o) => o,
            (Escape::Text, Cow::Borrowed(b)) => escape_controls(b),
            (Escape::Text, Cow::Owned(o)) => Cow::Owned(escape_controls(&o).into_owned()),
        }
    }

    /// A diagnostic as an output may print it: its texts masked (and escaped for text
    /// outputs), the replacement of an edit that writes a secret masked.
    pub fn diag<'d>(&self, d: &'d Diagnostic, esc: Escape) -> Cow<'d, Diagnostic> {
        let changed = |s: &str| matches!(self.text(s, esc), Cow::Owned(_));
        let dirty = changed(&d.message)
            || d.help.as_deref().is_some_and(changed)
            || d.node.as_deref().is_some_and(changed)
            || d.related.iter().any(|r| changed(&r.message))
            || d.fix.as_ref().is_some_and(|f| {
                changed(&f.message)
                    || f.edits
                        .iter()
                        .any(|e| self.touches_secret(e.file, e.span) || changed(&e.replacement))
            });
        if !dirty {
            return Cow::Borrowed(d);
        }
        let mut d = d.clone();
        d.message = self.text(&d.message, esc).into_owned();
        d.help = d.help.map(|h| self.text(&h, esc).into_owned());
        d.node = d.node.map(|h| self.text(&h, esc).into_owned());
        for r in &mut d.related {
            r.message = self.text(&r.message, esc).into_owned();
        }
        if let Some(f) = &mut d.fix {
            f.message = self.text(&f.message, esc).into_owned();
            for e in &mut f.edits {
                e.replacement = if self.touches_secret(e.file, e.span) {
                    "*".repeat(e.replacement.len())
                } else {
                    self.text(&e.replacement, esc).into_owned()
                };
            }
        }
        Cow::Owned(d)
    }
}

/// What separates the words of a message: blanks, quotes, brackets and punctuation.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || "`'\",;:()[]{}<>=.!?/".contains(c)
}

/// `s` with each occurrence of `v` that stands as a word (not inside a longer word) masked.
fn mask_word(s: &str, v: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for (i, _) in s.match_indices(v) {
        if i < at {
            continue;
        }
        let before = s[..i].chars().next_back();
        let after = s[i + v.len()..].chars().next();
        let edge_ok = |c: Option<char>, inner: Option<char>| !(word(c) && word(inner));
        if edge_ok(before, v.chars().next()) && edge_ok(after, v.chars().next_back()) {
            out.push_str(&s[at..i]);
            out.extend(std::iter::repeat_n('*', v.chars().count()));
            at = i + v.len();
        }
    }
    out.push_str(&s[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(t: &str) -> String {
        mask_secrets(t).into_owned()
    }

    #[test]
    fn every_spelling_and_layout_is_masked() {
        assert_eq!(
            masked("a\n    auth_pass s3cr3t # c\nauth_passx y\n"),
            "a\n    auth_pass ****** # c\nauth_passx *\n"
        );
        assert_eq!(masked("auth_pas S3cr3tPw\n"), "auth_pas ********\n");
        assert_eq!(masked("AUTH_PASS S3cr3tPw\n"), "AUTH_PASS ********\n");
        assert_eq!(
            masked("authentication { auth_type PASS auth_pass X1 }\n"),
            "authentication { auth_type PASS auth_pass ** }\n"
        );
        assert_eq!(masked("auth_pass one two\n"), "auth_pass *** ***\n");
        assert_eq!(
            masked("auth_pass\n    S3cr3tPw\n}\n"),
            "auth_pass\n    ********\n}\n"
        );
        assert_eq!(masked("auth_pass \"a b\"\n"), "auth_pass *****\n");
        // The next line is a keyword, not a value that slipped down.
        assert_eq!(
            masked("auth_pass\nauth_type PASS\n"),
            "auth_pass\nauth_type PASS\n"
        );
        // Not passwords.
        assert_eq!(masked("auth_type PASS\n"), "auth_type PASS\n");
        assert_eq!(masked("auth_basic off;\n"), "auth_basic off;\n");
        assert_eq!(masked("# auth_pass x\n"), "# auth_pass x\n");
        let t = "auth_pass s3\n";
        assert!(is_secret_at(t, 10));
        assert!(!is_secret_at(t, 0));
    }

    #[test]
    fn controls_are_escaped_or_neutralized() {
        assert_eq!(escape_controls("a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(
            escape_controls("a\rb\u{9b}c\u{202e}"),
            "a\\rb\\u{9b}c\\u{202e}"
        );
        assert_eq!(escape_controls("plain\ttext\r\n"), "plain\ttext\r\n");
        let s = "a\x1b[2Jb\r\nc\rd\u{9b}";
        let n = neutralize_source(s);
        assert_eq!(n.len(), s.len());
        assert_eq!(n, "a?[2Jb\r\nc?d??");
    }

    #[test]
    fn a_redactor_masks_the_values_of_every_file_in_any_text() {
        let mut db = SourceDb::new();
        db.add(crate::source::SourceFile::new(
            "k",
            b"auth_pass pw1\nauth_pass \"two words\"\n".to_vec(),
        ));
        let r = Redactor::new(&db);
        assert_eq!(
            r.text("unknown keyword `pw1` (pw12)", Escape::Structured),
            "unknown keyword `***` (pw12)"
        );
        assert_eq!(
            r.text("say two words\x1b", Escape::Text),
            "say *********\\x1b"
        );
        assert_eq!(&*r.source(0), "auth_pass ***\nauth_pass ***********\n");
        assert!(r.touches_secret(0, Span::new(10, 10)));
        assert!(r.touches_secret(0, Span::new(0, 11)));
        assert!(!r.touches_secret(0, Span::new(0, 9)));
        assert!(r.touches_secret(0, Span::new(24, 30)));
        assert!(!r.touches_secret(0, Span::new(14, 23)));
    }

    #[test]
    fn values_are_masked_as_words_in_messages() {
        assert_eq!(
            mask_word("unknown keyword `pw1`", "pw1"),
            "unknown keyword `***`"
        );
        assert_eq!(mask_word("pw12 and pw1", "pw1"), "pw12 and ***");
    }
}
