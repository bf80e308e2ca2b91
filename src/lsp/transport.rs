//! JSON-RPC over stdio with Content-Length framing, forgiving of bad input: a body that is
//! not JSON gets a parse error (-32700), one that is not a JSON-RPC message an invalid-request
//! error (-32600), and the server reads on.
//!
//! Framing errors do not stop it either. A `Content-Length` larger than its body would make a
//! plain reader swallow the messages after it (and wait for ever for bytes that never come),
//! so the body is read incrementally and scanned for the start of the next header
//! (`Content-Length: N` then a line break, which no JSON body can hold: a raw line break is
//! not allowed inside a JSON string). When one turns up inside a body, the frame is cut
//! there, reported (a `window/logMessage`, and a parse error when what is left is not a
//! message), and reading resumes at that header. Bytes between frames that are not headers
//! are skipped the same way. A frame larger than [`MAX_FRAME`] is skipped without being
//! kept, and a request in it answered with an error.
//!
//! Every message written carries `"jsonrpc": "2.0"`, which the protocol requires and strict
//! clients check.

use lsp_server::{Connection, Message};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The largest frame kept: a document at the 16 MiB cap, JSON-escaped, fits several times.
pub const MAX_FRAME: usize = 128 * 1024 * 1024;

/// How much of a skipped (oversized) frame is kept to say what it was.
const HEAD: usize = 4096;

pub struct Threads {
    writer: JoinHandle<()>,
}

impl Threads {
    /// Waits until everything the server sent is written.
    pub fn finish(self) {
        let _ = self.writer.join();
    }
}

fn write_frame(out: &Mutex<std::io::Stdout>, body: &str) {
    let Ok(stdout) = out.lock() else { return };
    let mut w = stdout.lock();
    let _ = write!(w, "Content-Length: {}\r\n\r\n{body}", body.len());
    let _ = w.flush();
}

fn error(id: serde_json::Value, code: i32, message: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        .to_string()
}

fn log_message(message: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "method": "window/logMessage",
        "params": {"type": 2, "message": message}})
    .to_string()
}

/// A message as written: lsp-server's message with the protocol's `jsonrpc` member.
#[derive(serde::Serialize)]
struct Framed<'a> {
    jsonrpc: &'static str,
    #[serde(flatten)]
    msg: &'a Message,
}

/// The JSON of a message the server sends.
pub fn encode(msg: &Message) -> serde_json::Result<String> {
    serde_json::to_string(&Framed {
        jsonrpc: "2.0",
        msg,
    })
}

/// What the reader found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole body.
    Body(Vec<u8>),
    /// A body cut short where the next header began: what there was, and why.
    Cut(Vec<u8>, String),
    /// A frame larger than [`MAX_FRAME`], skipped: its length and first bytes.
    TooLarge(usize, Vec<u8>),
    /// Bytes that were not a header, skipped.
    Garbage(String),
}

/// Reads frames from a byte stream, resynchronising on `Content-Length:` headers.
pub struct FrameReader<R> {
    r: R,
    buf: Vec<u8>,
    /// Where unread bytes start in `buf`.
    pos: usize,
    eof: bool,
}

const HEADER: &[u8] = b"content-length:";

/// The offset of the first `Content-Length: N` + line break in `b` at or after `from`
/// (case-insensitive), or where such a header may still be starting at the end (`Err`).
fn find_header(b: &[u8], from: usize) -> Result<Option<usize>, usize> {
    let mut i = from;
    while i < b.len() {
        let Some(k) = b[i..].iter().position(|c| *c == b'c' || *c == b'C') else {
            return Ok(None);
        };
        let at = i + k;
        let rest = &b[at..];
        let n = rest.len().min(HEADER.len());
        if !rest[..n].eq_ignore_ascii_case(&HEADER[..n]) {
            i = at + 1;
            continue;
        }
        if n < HEADER.len() {
            return Err(at);
        }
        // Blanks, digits, then a line break.
        let mut j = HEADER.len();
        while j < rest.len() && (rest[j] == b' ' || rest[j] == b'\t') {
            j += 1;
        }
        let digits = j;
        while j < rest.len() && rest[j].is_ascii_digit() {
            j += 1;
        }
        while j < rest.len() && (rest[j] == b' ' || rest[j] == b'\t') {
            j += 1;
        }
        if j == rest.len() {
            return Err(at);
        }
        if j > digits && (rest[j] == b'\n' || rest[j] == b'\r') {
            return Ok(Some(at));
        }
        i = at + 1;
    }
    Ok(None)
}

impl<R: Read> FrameReader<R> {
    pub fn new(r: R) -> Self {
        FrameReader {
            r,
            buf: Vec::new(),
            pos: 0,
            eof: false,
        }
    }

    /// Reads more bytes into the buffer; false at the end of input.
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.r.read(&mut chunk) {
                Ok(0) => {
                    self.eof = true;
                    return false;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.eof = true;
                    return false;
                }
            }
        }
    }

    /// The next frame; `None` at the end of input.
    pub fn next_frame(&mut self) -> Option<Frame> {
        // Headers: from a `Content-Length` line to the blank line. Anything before it that is
        // not a header line is garbage.
        let len = loop {
            let data = &self.buf[self.pos..];
            let start = match find_header(data, 0) {
                Ok(Some(at)) => at,
                Ok(None) | Err(_) => {
                    // Keep what may be the start of a header; without more input, done.
                    let keep = match find_header(data, 0) {
                        Err(at) => at,
                        _ => data.len().saturating_sub(HEADER.len() + 24),
                    };
                    if !self.fill() {
                        let rest = &self.buf[self.pos..];
                        self.pos = self.buf.len();
                        if rest.iter().all(u8::is_ascii_whitespace) {
                            return None;
                        }
                        return Some(Frame::Garbage(format!(
                            "{} bytes at the end of the input are not a message",
                            rest.len()
                        )));
                    }
                    // Bound the buffer while no header shows: drop what cannot start one.
                    if keep > 1024 * 1024 {
                        let skipped = &self.buf[self.pos..self.pos + keep];
                        let junk = !skipped.iter().all(u8::is_ascii_whitespace);
                        self.pos += keep;
                        if junk {
                            return Some(Frame::Garbage(format!(
                                "skipped {keep} bytes that are not a message"
                            )));
                        }
                    }
                    continue;
                }
            };
            // Lines before the header must be other headers (`Content-Type: ...`) or blank.
            let before = &data[..start];
            let junk = before.split(|c| *c == b'\n').any(|l| {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                !l.is_empty() && !is_header_line(l)
            });
            if junk {
                self.pos += start;
                return Some(Frame::Garbage(format!(
                    "skipped {start} bytes before a Content-Length header"
                )));
            }
            // The rest of the header block, up to the blank line.
            let hdr = self.pos + start;
            let end = loop {
                let b = &self.buf[hdr..];
                if let Some(e) = header_end(b) {
                    break Some(e);
                }
                if b.len() > 8192 || !self.fill() {
                    break None;
                }
            };
            let Some((block_len, body_at)) = end else {
                // A header that never ends: skip past its `Content-Length:` and look again.
                self.pos = hdr + HEADER.len();
                return Some(Frame::Garbage(
                    "a Content-Length header without the blank line after it".into(),
                ));
            };
            let block = &self.buf[hdr..hdr + block_len];
            let len = std::str::from_utf8(block).ok().and_then(|s| {
                s.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
            });
            self.pos = hdr + body_at;
            match len {
                Some(n) => break n,
                None => return Some(Frame::Garbage("a bad Content-Length header".into())),
            }
        };
        Some(self.body(len))
    }

    /// A body of `len` declared bytes, cut at the next header if one starts inside it.
    fn body(&mut self, len: usize) -> Frame {
        let keep = len <= MAX_FRAME;
        let mut head: Vec<u8> = Vec::new();
        let mut skipped = 0usize;
        let mut scanned = 0usize;
        loop {
            let have = self.buf.len() - self.pos;
            let want = len - skipped;
            let data = &self.buf[self.pos..self.pos + have.min(want)];
            match find_header(data, scanned) {
                Ok(Some(at)) => {
                    let cut = self.buf[self.pos..self.pos + at].to_vec();
                    self.pos += at;
                    let why = format!(
                        "a frame declared {len} bytes, but the next message began after {}",
                        skipped + at
                    );
                    return if keep {
                        Frame::Cut(cut, why)
                    } else {
                        Frame::Cut(Vec::new(), why)
                    };
                }
                Ok(None) => scanned = data.len(),
                Err(at) => scanned = at,
            }
            if have >= want {
                if keep {
                    let body = self.buf[self.pos..self.pos + want].to_vec();
                    self.pos += want;
                    return Frame::Body(body);
                }
                self.pos += want;
                return Frame::TooLarge(len, head);
            }
            if !keep && have > HEADER.len() + 64 {
                // Skip what was scanned, keeping the first bytes to say what the frame was.
                let drop = scanned.min(have);
                if head.len() < HEAD {
                    let n = (HEAD - head.len()).min(drop);
                    head.extend_from_slice(&self.buf[self.pos..self.pos + n]);
                }
                self.pos += drop;
                skipped += drop;
                scanned -= drop;
            }
            if !self.fill() {
                let rest = self.buf.len() - self.pos;
                self.pos = self.buf.len();
                return Frame::Garbage(format!(
                    "the input ended {} bytes into a frame of {len}",
                    skipped + rest
                ));
            }
        }
    }
}

fn is_header_line(l: &[u8]) -> bool {
    match l.iter().position(|c| *c == b':') {
        Some(k) if k > 0 => l[..k]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-'),
        _ => false,
    }
}

/// In a header block starting at `b[0]`: (length of the block, offset of the body).
fn header_end(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(k) = b[i..].iter().position(|c| *c == b'\n') {
        let nl = i + k;
        let line_start = i;
        let line = &b[line_start..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() && line_start > 0 {
            return Some((line_start, nl + 1));
        }
        i = nl + 1;
    }
    None
}

/// The `"id"` of a request whose start is `head`, when it shows there.
fn id_in(head: &[u8]) -> serde_json::Value {
    let s = String::from_utf8_lossy(head);
    let Some(k) = s.find("\"id\"") else {
        return serde_json::Value::Null;
    };
    let rest = s[k + 4..].trim_start().strip_prefix(':').unwrap_or("");
    let v: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '"' || *c == '-' || *c == '_')
        .collect();
    serde_json::from_str(&v).unwrap_or(serde_json::Value::Null)
}

/// A document message too large to keep, read without its text: which document, how big.
#[derive(serde::Deserialize)]
struct BigMessage {
    method: Option<String>,
    params: Option<BigParams>,
}

#[derive(serde::Deserialize)]
struct BigParams {
    #[serde(rename = "textDocument")]
    text_document: Option<BigDoc>,
}

#[derive(serde::Deserialize)]
struct BigDoc {
    uri: String,
}

/// The notification the reader sends the server in place of a document message larger
/// than the cap: the server then knows the document is over it without holding its text.
pub const TOO_LARGE: &str = "haconf/documentTooLarge";

/// A `didOpen`/`didChange`/`didSave` over the cap, as [`TOO_LARGE`] (its text skipped by
/// the parser, never allocated).
fn too_large_doc(body: &[u8]) -> Option<Message> {
    if body.len() as u64 <= crate::source::MAX_FILE_SIZE {
        return None;
    }
    let m: BigMessage = serde_json::from_slice(body).ok()?;
    let method = m.method?;
    if !matches!(
        method.as_str(),
        "textDocument/didOpen" | "textDocument/didChange" | "textDocument/didSave"
    ) {
        return None;
    }
    let uri = m.params?.text_document?.uri;
    Some(Message::Notification(lsp_server::Notification::new(
        TOO_LARGE.into(),
        serde_json::json!({"uri": uri, "size": body.len()}),
    )))
}

/// What the reader thread does with one frame: the message for the server, or the
/// messages (JSON) to answer with.
pub fn handle(frame: Frame) -> (Option<Message>, Vec<String>) {
    let mut out = Vec::new();
    let body = match frame {
        Frame::Body(b) => b,
        Frame::Cut(b, why) => {
            out.push(log_message(&format!("haconf: broken frame: {why}")));
            b
        }
        Frame::TooLarge(len, head) => {
            let msg = format!(
                "a message of {len} bytes is larger than the {} MiB haconf reads; skipped",
                MAX_FRAME / (1024 * 1024)
            );
            out.push(log_message(&format!("haconf: {msg}")));
            let id = id_in(&head);
            if !id.is_null() {
                out.push(error(id, -32600, &msg));
            }
            return (None, out);
        }
        Frame::Garbage(why) => {
            out.push(log_message(&format!("haconf: {why}")));
            return (None, out);
        }
    };
    if let Some(m) = too_large_doc(&body) {
        return (Some(m), out);
    }
    // One pass for a good message; a second only to say what is wrong with a bad one.
    if let Ok(m) = serde_json::from_slice::<Message>(&body) {
        return (Some(m), out);
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) => {
            let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
            out.push(error(id, -32600, "not a JSON-RPC message"));
        }
        Err(e) => out.push(error(
            serde_json::Value::Null,
            -32700,
            &format!("parse error: {e}"),
        )),
    }
    (None, out)
}

pub fn stdio() -> (Connection, Threads) {
    let (server, client) = Connection::memory();
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let to_server = client.sender;
    let from_server = client.receiver;
    let out_r = out.clone();
    std::thread::spawn(move || {
        let mut frames = FrameReader::new(std::io::stdin());
        while let Some(frame) = frames.next_frame() {
            let (msg, replies) = handle(frame);
            for r in replies {
                write_frame(&out_r, &r);
            }
            if let Some(m) = msg
                && to_server.send(m).is_err()
            {
                break;
            }
        }
        // End of input: the server sees its channel close.
    });
    let writer = std::thread::spawn(move || {
        let timing = super::timing();
        for m in from_server {
            let t = std::time::Instant::now();
            if let Ok(body) = encode(&m) {
                write_frame(&out, &body);
                if timing {
                    eprintln!("wrote {} bytes in {:?}", body.len(), t.elapsed());
                }
            }
        }
    });
    (server, Threads { writer })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut r = FrameReader::new(input);
        std::iter::from_fn(|| r.next_frame()).collect()
    }

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn plain_frames() {
        let input = frame("{\"a\":1}") + "Content-Type: x\r\n" + &frame("{}");
        assert_eq!(
            frames(input.as_bytes()),
            vec![
                Frame::Body(b"{\"a\":1}".to_vec()),
                Frame::Body(b"{}".to_vec())
            ]
        );
    }

    #[test]
    fn a_length_too_large_is_cut_at_the_next_header() {
        let input = "Content-Length: 500\r\n\r\n{\"short\":1}".to_string() + &frame("{\"b\":2}");
        let f = frames(input.as_bytes());
        assert!(
            matches!(&f[0], Frame::Cut(b, _) if b == b"{\"short\":1}"),
            "{f:?}"
        );
        assert_eq!(f[1], Frame::Body(b"{\"b\":2}".to_vec()));
    }

    #[test]
    fn a_length_too_small_leaves_garbage_then_resyncs() {
        let input = "Content-Length: 3\r\n\r\n{\"abc\":1}".to_string() + &frame("{\"b\":2}");
        let f = frames(input.as_bytes());
        assert_eq!(f[0], Frame::Body(b"{\"a".to_vec()));
        assert!(matches!(f[1], Frame::Garbage(_)), "{f:?}");
        assert_eq!(f[2], Frame::Body(b"{\"b\":2}".to_vec()));
    }

    #[test]
    fn a_huge_length_is_skipped_not_kept() {
        let body = "x".repeat(1000);
        let input = format!("Content-Length: {}\r\n\r\n{body}", MAX_FRAME + 1) + &frame("{}");
        let f = frames(input.as_bytes());
        assert!(matches!(f[0], Frame::Cut(..)), "{f:?}");
        assert_eq!(f[1], Frame::Body(b"{}".to_vec()));
    }
}
