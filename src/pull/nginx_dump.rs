//! Splitting `nginx -T` into the files nginx read.
//!
//! nginx prints each file it read as `# configuration file PATH:`, a newline, the file's
//! bytes, and one more newline. A file may itself hold a line that looks like a marker, so
//! the split walks the dump with each file's size (from `stat` on the host): a piece is exact
//! when the size lands on a separator followed by the next marker or the end. A piece that
//! cannot be cut that way (the file changed since, or its size is unknown) is cut at the next
//! marker-looking line and marked inexact, and the caller reads that file directly instead.

use std::collections::HashMap;

const MARK: &[u8] = b"# configuration file ";

/// One file out of the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    pub path: String,
    pub bytes: Vec<u8>,
    /// Cut by the file's size, so byte for byte what nginx read.
    pub exact: bool,
}

/// Removes the exit-status record the remote script appends (`\n<marker> rc N\n`); returns the
/// dump and nginx's exit status (`None`: the record is missing, the dump was cut short).
pub(crate) fn strip_status<'a>(out: &'a [u8], marker: &str) -> (&'a [u8], Option<i32>) {
    let tail = format!("\n{marker} rc ");
    let Some(at) = find_last(out, tail.as_bytes()) else {
        return (out, None);
    };
    let code = std::str::from_utf8(&out[at + tail.len()..])
        .ok()
        .and_then(|s| s.trim().parse().ok());
    (&out[..at], code)
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    (0..=hay.len().checked_sub(needle.len())?)
        .rev()
        .find(|&i| hay[i..].starts_with(needle))
}

/// Every line that looks like a marker: `(offset of the line, path)`.
fn candidates(dump: &[u8]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < dump.len() {
        let end = dump[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(dump.len(), |i| pos + i);
        let line = &dump[pos..end];
        if let Some(rest) = line.strip_prefix(MARK)
            && let Some(path) = rest.strip_suffix(b":")
            && path.starts_with(b"/")
        {
            out.push((pos, String::from_utf8_lossy(path).into_owned()));
        }
        pos = end + 1;
    }
    out
}

/// The paths of the marker-looking lines, to be stat'ed on the host before [`split`].
pub(crate) fn names(dump: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = candidates(dump).into_iter().map(|c| c.1).collect();
    v.sort();
    v.dedup();
    v
}

/// Cuts the dump into files, using `sizes` (path -> size on the host).
pub(crate) fn split(dump: &[u8], sizes: &HashMap<String, u64>) -> Vec<Piece> {
    let marks = candidates(dump);
    let is_mark_at = |p: usize| marks.binary_search_by_key(&p, |m| m.0).is_ok();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Ok(i) = marks.binary_search_by_key(&pos, |m| m.0) {
        let path = marks[i].1.clone();
        let start = pos + MARK.len() + path.len() + 2;
        if start > dump.len() {
            break;
        }
        let by_size = sizes.get(&path).and_then(|&n| {
            let end = start.checked_add(usize::try_from(n).ok()?)?;
            let fits = end < dump.len()
                && dump[end] == b'\n'
                && (end + 1 == dump.len() || is_mark_at(end + 1));
            fits.then_some(end)
        });
        match by_size {
            Some(end) => {
                out.push(Piece {
                    path,
                    bytes: dump[start..end].to_vec(),
                    exact: true,
                });
                pos = end + 1;
            }
            None => {
                let next = marks[i + 1..].iter().map(|m| m.0).find(|&p| p > start);
                // The newline before the next marker (or at the very end) is nginx's
                // separator, not the file's.
                let end = match next {
                    Some(n) => n - 1,
                    None if dump.ends_with(b"\n") => (dump.len() - 1).max(start),
                    None => dump.len(),
                };
                out.push(Piece {
                    path,
                    bytes: dump[start..end].to_vec(),
                    exact: false,
                });
                match next {
                    Some(n) => pos = n,
                    None => break,
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(files: &[(&str, &str)]) -> Vec<u8> {
        let mut d = Vec::new();
        for (p, t) in files {
            d.extend_from_slice(format!("# configuration file {p}:\n{t}\n").as_bytes());
        }
        d
    }

    #[test]
    fn a_marker_inside_a_file_does_not_split_it_when_sizes_are_known() {
        let tricky = "# configuration file /etc/passwd:\nserver { }\n";
        let files = [
            (
                "/etc/nginx/nginx.conf",
                "events {}\nhttp { include conf.d/*.conf; }",
            ),
            ("/etc/nginx/conf.d/a.conf", tricky),
            ("/etc/nginx/conf.d/b.conf", ""),
        ];
        let d = dump(&files);
        let sizes: HashMap<String, u64> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.len() as u64))
            .collect();
        let pieces = split(&d, &sizes);
        assert_eq!(pieces.len(), 3);
        for (p, (path, text)) in pieces.iter().zip(files) {
            assert_eq!(p.path, path);
            assert_eq!(p.bytes, text.as_bytes());
            assert!(p.exact);
        }
        assert!(names(&d).contains(&"/etc/passwd".to_owned()));
    }

    #[test]
    fn without_sizes_pieces_are_cut_at_markers_and_marked_inexact() {
        let d = dump(&[("/a.conf", "x;\n"), ("/b.conf", "y;")]);
        let pieces = split(&d, &HashMap::new());
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].bytes, b"x;\n");
        assert_eq!(pieces[1].bytes, b"y;");
        assert!(!pieces[0].exact);
    }

    #[test]
    fn the_status_record_comes_off() {
        let out = b"# configuration file /a:\nx\n\n@@m rc 0\n";
        let (d, rc) = strip_status(out, "@@m");
        assert_eq!(rc, Some(0));
        assert_eq!(d, b"# configuration file /a:\nx\n");
        assert_eq!(strip_status(b"cut", "@@m").1, None);
    }
}
