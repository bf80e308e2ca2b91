//! The source database: every file haconf reads, kept byte for byte, with a line index.
//!
//! Nothing below this module touches the file system: the parsers and rules see only
//! `SourceFile`s, so the language server can feed unsaved buffers through the same pipeline.

use std::path::{Path, PathBuf};

/// A half-open byte range `start..end` into one file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    /// The smallest span that covers both.
    pub fn cover(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// Index of a file in a [`SourceDb`].
pub type FileId = usize;

/// One file: its original bytes, a same-length UTF-8 text for the parsers and for display, and
/// where each line starts.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown to the user (as given or discovered, relative to the working directory).
    pub path: PathBuf,
    /// The bytes exactly as read. Printing a syntax tree reproduces these.
    pub bytes: Vec<u8>,
    /// `bytes` with every byte of an invalid UTF-8 sequence replaced by `?`, so that byte
    /// offsets into `text` and into `bytes` are the same. All syntax of keepalived, nginx and
    /// shell is ASCII, so the parsers lose nothing by reading this.
    pub text: String,
    /// True when `bytes` was not valid UTF-8.
    pub lossy: bool,
    /// How many bytes are not UTF-8, and where the first is.
    invalid: (usize, usize),
    line_starts: Vec<usize>,
}

/// Why a file is not (UTF-8) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotText {
    /// A NUL byte, or mostly bytes that are not UTF-8: a binary file. It is not parsed.
    Binary { offset: usize, why: String },
    /// Text with a few bytes that are not UTF-8 (a Latin-1 comment ...): parsed, each such
    /// byte read as `?`.
    NotUtf8 { offset: usize, count: usize },
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Self {
        let (text, invalid) = sanitize(&bytes);
        let lossy = invalid.0 > 0;
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        SourceFile {
            path: path.into(),
            bytes,
            text,
            lossy,
            invalid,
            line_starts,
        }
    }

    /// Whether the file is not UTF-8 text, and why. A NUL byte, or more than one byte in 4
    /// that is not UTF-8 (random bytes are mostly not), makes it binary.
    pub fn not_text(&self) -> Option<NotText> {
        let (count, first) = self.invalid;
        if let Some(nul) = self.bytes.iter().position(|&b| b == 0) {
            let (l, c) = self.line_col(nul);
            return Some(NotText::Binary {
                offset: nul,
                why: format!("a NUL byte at line {l}, column {c}"),
            });
        }
        if count == 0 {
            return None;
        }
        if count * 4 > self.bytes.len() {
            return Some(NotText::Binary {
                offset: first,
                why: format!(
                    "{count} of its {} bytes are not UTF-8 text",
                    self.bytes.len()
                ),
            });
        }
        Some(NotText::NotUtf8 {
            offset: first,
            count,
        })
    }

    /// Whether the file is binary (see [`SourceFile::not_text`]): then it is not parsed.
    pub fn is_binary(&self) -> bool {
        matches!(self.not_text(), Some(NotText::Binary { .. }))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self.text[start..floor_char(&self.text, offset)]
            .chars()
            .count()
            + 1;
        (line + 1, col)
    }

    /// Byte offset of a 1-based line and column; clamps to the file.
    pub fn offset(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let end = self.line_end(line);
        self.text[start..end]
            .char_indices()
            .nth(col.saturating_sub(1))
            .map(|(i, _)| start + i)
            .unwrap_or(end)
    }

    /// Byte offset where the 1-based line's text ends (before its newline).
    pub fn line_end(&self, line: usize) -> usize {
        let next = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let mut end = next;
        let bytes = self.text.as_bytes();
        if end > 0
            && end <= bytes.len()
            && end > self.line_starts[line - 1]
            && bytes[end - 1] == b'\n'
        {
            end -= 1;
            if end > self.line_starts[line - 1] && bytes[end - 1] == b'\r' {
                end -= 1;
            }
        }
        end
    }

    /// The text of the 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        match self.line_starts.get(line.saturating_sub(1)) {
            Some(&s) => &self.text[s..self.line_end(line)],
            None => "",
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    pub fn slice(&self, span: Span) -> &str {
        &self.text[span.start.min(self.text.len())..span.end.min(self.text.len())]
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The text, and how many bytes were not UTF-8 and where the first one is.
fn sanitize(bytes: &[u8]) -> (String, (usize, usize)) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), (0, 0)),
        Err(first) => {
            let first = first.valid_up_to();
            let mut count = 0;
            let mut out = String::with_capacity(bytes.len());
            let mut rest = bytes;
            loop {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let good = e.valid_up_to();
                        // SAFETY-free: the prefix was just validated.
                        out.push_str(std::str::from_utf8(&rest[..good]).unwrap_or_default());
                        let bad = e.error_len().unwrap_or(rest.len() - good);
                        out.extend(std::iter::repeat_n('?', bad));
                        count += bad;
                        rest = &rest[good + bad..];
                    }
                }
            }
            (out, (count, first))
        }
    }
}

/// All files read during one run.
#[derive(Debug, Default)]
pub struct SourceDb {
    files: Vec<SourceFile>,
    /// Files whose content was supplied by the caller (editor buffers) rather than read from disk.
    overlay: std::collections::HashMap<PathBuf, Vec<u8>>,
    /// File modes supplied by the caller (a fix that sets the execute bit, not yet written).
    modes: std::collections::HashMap<PathBuf, u32>,
    by_path: std::collections::HashMap<PathBuf, FileId>,
    /// Bytes loaded so far (the run's budget is [`MAX_TOTAL_SIZE`]).
    total: u64,
}

/// Files larger than this are not parsed (a diagnostic says so): a 100 MB "config" is a mistake.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// All files of one run together (a whole fleet) are read up to this many bytes; the files past
/// it are reported as not read. Memory stays a small multiple of what was read.
pub const MAX_TOTAL_SIZE: u64 = 64 * 1024 * 1024;

/// What kind of file system object `meta` describes, when it is not something haconf reads.
pub fn special_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    Some(if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_file() {
        return None;
    } else {
        "not a regular file"
    })
}

/// Why `path` cannot be read as a file, without opening it: a missing file, a link loop, a
/// directory, a FIFO, a device or a socket (links are followed, so a link to `/dev/zero` is a
/// character device). `None` for a regular file.
pub fn check_regular(path: &Path) -> Option<LoadError> {
    match std::fs::metadata(path) {
        Err(e) => Some(io_error(path, e)),
        Ok(m) => special_kind(&m).map(|k| {
            if m.is_dir() {
                LoadError::IsDir
            } else {
                LoadError::Special(k)
            }
        }),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> LoadError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        return LoadError::LinkLoop;
    }
    if e.kind() == std::io::ErrorKind::NotFound
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    {
        return LoadError::DanglingLink;
    }
    LoadError::Io(e)
}

/// Reads `path` if it is a regular file of at most `cap` bytes. Special files are never opened
/// for reading: the type is checked first, the file is opened with `O_NONBLOCK` (a FIFO swapped
/// in after the check does not block the open) and checked again on the open descriptor, and at
/// most `cap + 1` bytes are read whatever the file grows to meanwhile.
pub fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(e) = check_regular(path) {
        return Err(e);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(LoadError::Io)?;
    if let Some(k) = special_kind(&meta) {
        return Err(if meta.is_dir() {
            LoadError::IsDir
        } else {
            LoadError::Special(k)
        });
    }
    if meta.len() > cap {
        return Err(LoadError::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(LoadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(LoadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

impl SourceDb {
    pub fn new() -> Self {
        Self::default()
    }

    /// Make `path` read as `bytes` instead of the file on disk (unsaved editor buffers).
    pub fn set_overlay(&mut self, path: PathBuf, bytes: Vec<u8>) {
        self.overlay.insert(path, bytes);
    }

    /// Whether `path` is read from memory (an editor buffer, maybe never saved).
    pub fn has_overlay(&self, path: &Path) -> bool {
        self.overlay.contains_key(path)
    }

    /// Make `path` look as if its mode were `mode`.
    pub fn set_mode(&mut self, path: PathBuf, mode: u32) {
        self.modes.insert(path, mode);
    }

    /// The permission bits of `path` (its overlay, else the file's).
    pub fn mode(&self, path: &Path) -> Option<u32> {
        use std::os::unix::fs::PermissionsExt;
        self.modes.get(path).copied().or_else(|| {
            std::fs::metadata(path)
                .ok()
                .map(|m| m.permissions().mode() & 0o7777)
        })
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.by_path.insert(file.path.clone(), self.files.len());
        self.files.push(file);
        self.files.len() - 1
    }

    /// Reads a file (or its overlay) and adds it. Only regular files are read (see
    /// [`read_regular`]), and the bytes read in one run never exceed [`MAX_TOTAL_SIZE`].
    pub fn load(&mut self, path: &Path) -> Result<FileId, LoadError> {
        if let Some(&id) = self.by_path.get(path) {
            return Ok(id);
        }
        let bytes = if let Some(b) = self.overlay.get(path) {
            b.clone()
        } else {
            let left = MAX_TOTAL_SIZE.saturating_sub(self.total);
            read_regular(path, MAX_FILE_SIZE.min(left)).map_err(|e| match e {
                LoadError::TooLarge(n) if n <= MAX_FILE_SIZE => LoadError::RunTooLarge(n),
                e => e,
            })?
        };
        self.total += bytes.len() as u64;
        Ok(self.add(SourceFile::new(path, bytes)))
    }

    /// Bytes read from disk so far in this run.
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(path).copied()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[derive(Debug)]
pub enum LoadError {
    Io(std::io::Error),
    IsDir,
    TooLarge(u64),
    /// The run has read [`MAX_TOTAL_SIZE`] bytes already; this file (of this size) would pass it.
    RunTooLarge(u64),
    /// A FIFO, socket or device (what it is).
    Special(&'static str),
    /// A symbolic link that leads back to itself.
    LinkLoop,
    /// A symbolic link to nothing.
    DanglingLink,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write!(f, "no such file or directory")
            }
            LoadError::Io(e) => write!(f, "{e}"),
            LoadError::IsDir => write!(f, "is a directory, not a file"),
            LoadError::Special(k) => {
                write!(f, "is {k}, not a regular file; haconf does not open it")
            }
            LoadError::LinkLoop => write!(f, "is a symbolic link loop (too many levels of links)"),
            LoadError::DanglingLink => {
                write!(f, "is a symbolic link to a file that does not exist")
            }
            LoadError::RunTooLarge(n) => write!(
                f,
                "not read: with its {n} bytes this run would read more than the {} MiB haconf reads in all",
                MAX_TOTAL_SIZE / (1024 * 1024)
            ),
            LoadError::TooLarge(n) => write!(
                f,
                "file is {n} bytes, larger than the {} MiB haconf reads",
                MAX_FILE_SIZE / (1024 * 1024)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_and_back() {
        let f = SourceFile::new("x", b"ab\ncd\r\nef".to_vec());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(8), (3, 2));
        assert_eq!(f.offset(2, 2), 4);
        assert_eq!(f.line_text(2), "cd");
        assert_eq!(f.line_end(1), 2);
    }

    #[test]
    fn invalid_utf8_keeps_offsets() {
        let f = SourceFile::new("x", vec![b'a', 0xff, 0xfe, b'b']);
        assert!(f.lossy);
        assert_eq!(f.text.len(), 4);
        assert_eq!(f.text, "a??b");
        assert!(f.is_binary(), "half the bytes are not text");
        let f = SourceFile::new("x", b"# caf\xe9\nglobal_defs {\n}\n".to_vec());
        assert_eq!(
            f.not_text(),
            Some(NotText::NotUtf8 {
                offset: 5,
                count: 1
            })
        );
        let f = SourceFile::new("x", b"a\nb\0".to_vec());
        assert!(matches!(
            f.not_text(),
            Some(NotText::Binary { offset: 3, .. })
        ));
        assert_eq!(SourceFile::new("x", b"ok\n".to_vec()).not_text(), None);
    }
}
