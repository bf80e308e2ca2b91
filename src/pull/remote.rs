//! What runs on the host, and how its answer is read.
//!
//! Each round is one POSIX `sh` script sent on standard input (nothing is copied to the host,
//! nothing is written there). The script only reads: `uname`, `/etc/os-release`, `ip addr`,
//! `keepalived -v`, `nginx -V`/`-T`, `/proc`, `stat`, and files through `head -c`. Before a
//! file is read its type and size are checked on the host: a FIFO, a device or a file over
//! the cap is reported, never opened, so a hostile tree cannot make a pull hang or balloon.
//!
//! The answer is a sequence of records, one per line, each starting with a marker that holds a
//! random nonce; everything the host controls (file contents, paths, command output) is
//! base64 (or `od` hex where `base64` is missing), so no content can forge a record.

use crate::facts::FileKind;
use std::collections::HashMap;

/// One thing to ask the host.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    /// Stat `path`, and read it when it is a regular file of at most `cap` bytes (`cap` 0:
    /// stat only).
    File { id: String, path: String, cap: u64 },
    /// Expand the glob `pattern` with the host's shell (the host's `glob(3)` rules, as
    /// keepalived and nginx use them), at most `max` matches, each fetched as `File`.
    Glob {
        id: String,
        pattern: String,
        max: usize,
        cap: u64,
    },
}

/// What the host said about one file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileAnswer {
    pub kind: Option<FileKind>,
    pub size: Option<u64>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// `too-large`, `unreadable`.
    pub skipped: Option<String>,
    pub data: Option<Vec<u8>>,
}

/// The parsed answer to one round.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    /// Named sections (`hostname`, `ip-json`, `nginx-dump` ...), decoded.
    pub sections: HashMap<String, Vec<u8>>,
    /// File answers by request id (`k0`, or `g3.0` for the first match of glob `g3`).
    pub files: HashMap<String, FileAnswer>,
    /// Glob matches: glob id -> `(file id, path)` in the host's order.
    pub matches: HashMap<String, Vec<(String, String)>>,
    /// Globs cut off at their `max`.
    pub truncated: Vec<String>,
}

/// The marker of this run's records.
pub(crate) fn marker(nonce: &str) -> String {
    format!("@@haconf-{nonce}")
}

/// A fresh nonce: unpredictable to anything that wrote the host's files before this run.
pub(crate) fn nonce() -> String {
    let mut bytes = [0u8; 12];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut s: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    s.push_str(&format!("{:x}", t as u64 ^ u64::from(std::process::id())));
    s
}

/// `s` as a single-quoted shell word.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The functions every round's script starts with.
fn prelude(marker: &str) -> String {
    format!(
        r#"export LC_ALL=C
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
set +f
M={marker}
if command -v base64 >/dev/null 2>&1; then E=b64; else E=hex; fi
enc() {{ if [ "$E" = b64 ]; then base64; else od -An -v -tx1; fi; }}
if command -v timeout >/dev/null 2>&1; then T='timeout 20'; else T=''; fi
sec() {{ printf '%s sec %s %s\n' "$M" "$1" "$E"; }}
end() {{ printf '%s end\n' "$M"; }}
hc_fetch() {{
  if [ -f "$2" ]; then k=file
  elif [ -d "$2" ]; then k=directory
  elif [ -p "$2" ]; then k=fifo
  elif [ -S "$2" ]; then k=socket
  elif [ -c "$2" ]; then k=char-device
  elif [ -b "$2" ]; then k=block-device
  elif [ -L "$2" ]; then k=dangling-link
  elif [ -e "$2" ]; then k=other
  else k=missing; fi
  case $k in missing|dangling-link) printf '%s stat %s %s\n' "$M" "$1" "$k"; return 0;; esac
  s=$(stat -L -c '%s %a %u %g %U %G' -- "$2" 2>/dev/null)
  printf '%s stat %s %s %s\n' "$M" "$1" "$k" "$s"
  [ "$k" = file ] || return 0
  [ "$3" -gt 0 ] || return 0
  z=${{s%% *}}
  case $z in ''|*[!0-9]*) z=0;; esac
  if [ "$z" -gt "$3" ]; then printf '%s skip %s too-large\n' "$M" "$1"; return 0; fi
  if [ ! -r "$2" ]; then printf '%s skip %s unreadable\n' "$M" "$1"; return 0; fi
  printf '%s data %s %s\n' "$M" "$1" "$E"
  if [ -f "$2" ]; then $T head -c "$(($3 + 1))" -- "$2" 2>/dev/null | enc; fi
  end
}}
hc_glob() {{
  hc_id=$1; hc_max=$3; hc_cap=$4; hc_ifs=$IFS; IFS=''
  set -- $2
  IFS=$hc_ifs; hc_n=0
  for f in "$@"; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    if [ "$hc_n" -ge "$hc_max" ]; then printf '%s trunc %s\n' "$M" "$hc_id"; break; fi
    printf '%s match %s.%s ' "$M" "$hc_id" "$hc_n"; printf '%s' "$f" | enc | tr -d ' \n'; echo
    hc_fetch "$hc_id.$hc_n" "$f" "$hc_cap"
    hc_n=$((hc_n + 1))
  done
}}
"#
    )
}

/// The facts part of the first round, and nginx's own dump of its configuration (`nginx -T`)
/// when `dump` and the config directory holds nothing that could make nginx hang or read
/// without bound (`cap`: the largest file, in bytes).
pub(crate) fn facts_script(dump: bool, cap: u64, dump_cap: u64) -> String {
    let capk = cap / 1024;
    let dump = if dump { 1 } else { 0 };
    format!(
        r#"sec hostname; uname -n 2>/dev/null | enc; end
sec kernel; uname -sr 2>/dev/null | enc; end
sec os-release; {{ cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null; }} | head -c 65536 | enc; end
ipj=$(ip -j addr show 2>/dev/null | head -c 4194304)
if [ -n "$ipj" ]; then
  sec ip-json; printf '%s' "$ipj" | enc; end
else
  sec ip-text; {{ ip -o link show; ip -o addr show; }} 2>/dev/null | head -c 4194304 | enc; end
fi
KA=$(command -v keepalived 2>/dev/null)
if [ -n "$KA" ] && [ -x "$KA" ]; then
  sec keepalived-path; printf '%s' "$KA" | enc; end
  sec keepalived-version; $T "$KA" -v 2>&1 | head -c 65536 | enc; end
fi
if command -v id >/dev/null 2>&1; then
  sec script-user; if id keepalived_script >/dev/null 2>&1; then echo yes; else echo no; fi | enc; end
fi
sec sysctl; for k in ipv4 ipv6; do printf 'net.%s.ip_nonlocal_bind ' "$k"; cat /proc/sys/net/$k/ip_nonlocal_bind 2>/dev/null || echo; done | enc; end
sec processes; for d in /proc/[0-9]*; do
  read -r c 2>/dev/null < "$d/comm" || continue
  case $c in keepalived|nginx) printf '%s %s ' "${{d#/proc/}}" "$c"; tr '\000' ' ' < "$d/cmdline" 2>/dev/null; echo;; esac
done | head -c 1048576 | enc; end
NG=$(command -v nginx 2>/dev/null)
if [ -n "$NG" ] && [ -x "$NG" ]; then
  sec nginx-path; printf '%s' "$NG" | enc; end
  ngv=$($T "$NG" -V 2>&1 | head -c 65536)
  sec nginx-version; printf '%s\n' "$ngv" | enc; end
  conf=$(printf '%s\n' "$ngv" | sed -n 's/.*--conf-path=\([^ ]*\).*/\1/p' | head -n 1)
  [ -n "$conf" ] || conf=/etc/nginx/nginx.conf
  sec nginx-conf; printf '%s' "$conf" | enc; end
  if [ {dump} = 1 ]; then
    d=${{conf%/*}}
    bad=$($T find -L "$d" \( -type p -o -type s -o -type c -o -type b -o \( -type f -size +{capk}k \) \) -print 2>/dev/null | head -n 20)
    sec nginx-unsafe; printf '%s' "$bad" | enc; end
    if [ -z "$bad" ]; then
      sec nginx-dump; {{ $T "$NG" -T 2>/dev/null; printf '\n%s rc %s\n' "$M" "$?"; }} | head -c {dump_cap} | enc; end
    fi
  fi
fi
"#
    )
}

/// A whole round: the prelude, `extra` (the facts of the first round), and the requests.
pub(crate) fn script(marker: &str, extra: &str, requests: &[Request]) -> String {
    let mut s = prelude(&quote(marker));
    s.push_str(extra);
    for r in requests {
        match r {
            Request::File { id, path, cap } => {
                s.push_str(&format!("hc_fetch {id} {} {cap}\n", quote(path)));
            }
            Request::Glob {
                id,
                pattern,
                max,
                cap,
            } => {
                s.push_str(&format!("hc_glob {id} {} {max} {cap}\n", quote(pattern)));
            }
        }
    }
    s.push_str("exit 0\n");
    s
}

/// Reads the host's answer. Lines that are not records (a noisy login shell) are skipped.
pub(crate) fn parse(out: &[u8], marker: &str) -> Answer {
    let mut a = Answer::default();
    let text = String::from_utf8_lossy(out);
    let mut lines = text.lines();
    let prefix = format!("{marker} ");
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let words: Vec<&str> = rest.split(' ').collect();
        match words.as_slice() {
            ["sec", name, enc] => {
                let body = block(&mut lines, marker);
                a.sections
                    .insert((*name).to_owned(), decode(enc, &body).unwrap_or_default());
            }
            ["data", id, enc] => {
                let body = block(&mut lines, marker);
                a.files.entry((*id).to_owned()).or_default().data = decode(enc, &body);
            }
            ["stat", id, kind, rest @ ..] => {
                let f = a.files.entry((*id).to_owned()).or_default();
                f.kind = Some(kind_of(kind));
                let num = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok());
                f.size = num(0);
                f.mode = rest.get(1).and_then(|m| u32::from_str_radix(m, 8).ok());
                f.uid = num(2).and_then(|v| u32::try_from(v).ok());
                f.gid = num(3).and_then(|v| u32::try_from(v).ok());
                if rest.len() == 6 {
                    f.owner = Some(rest[4].to_owned());
                    f.group = Some(rest[5].to_owned());
                }
            }
            ["skip", id, why] => {
                a.files.entry((*id).to_owned()).or_default().skipped = Some((*why).to_owned());
            }
            ["match", id, path] => {
                let glob = id.rsplit_once('.').map_or(*id, |(g, _)| g);
                let path = decode("b64", path)
                    .or_else(|| decode("hex", path))
                    .map(|p| String::from_utf8_lossy(&p).into_owned());
                if let Some(p) = path {
                    a.matches
                        .entry(glob.to_owned())
                        .or_default()
                        .push(((*id).to_owned(), p));
                }
            }
            ["trunc", id] => a.truncated.push((*id).to_owned()),
            _ => {}
        }
    }
    a
}

/// The lines up to the end record.
fn block<'a>(lines: &mut impl Iterator<Item = &'a str>, marker: &str) -> String {
    let end = format!("{marker} end");
    let mut body = String::new();
    for l in lines.by_ref() {
        if l == end {
            break;
        }
        body.push_str(l);
    }
    body
}

fn kind_of(k: &str) -> FileKind {
    match k {
        "file" => FileKind::File,
        "directory" => FileKind::Directory,
        "fifo" => FileKind::Fifo,
        "socket" => FileKind::Socket,
        "char-device" => FileKind::CharDevice,
        "block-device" => FileKind::BlockDevice,
        "missing" => FileKind::Missing,
        "dangling-link" => FileKind::DanglingLink,
        _ => FileKind::Other,
    }
}

/// Decodes base64 (`b64`) or `od -tx1` output (`hex`); whitespace is ignored. `None` on
/// anything else.
pub(crate) fn decode(enc: &str, body: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    match enc {
        "hex" => {
            if !clean.len().is_multiple_of(2) {
                return None;
            }
            clean
                .chunks(2)
                .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
                .collect()
        }
        "b64" => {
            let val = |c: u8| -> Option<u32> {
                Some(match c {
                    b'A'..=b'Z' => c - b'A',
                    b'a'..=b'z' => c - b'a' + 26,
                    b'0'..=b'9' => c - b'0' + 52,
                    b'+' => 62,
                    b'/' => 63,
                    _ => return None,
                } as u32)
            };
            let data: Vec<u8> = clean.iter().copied().take_while(|&c| c != b'=').collect();
            let mut out = Vec::with_capacity(data.len() * 3 / 4);
            for chunk in data.chunks(4) {
                let mut n: u32 = 0;
                for (i, &c) in chunk.iter().enumerate() {
                    n |= val(c)? << (18 - 6 * i);
                }
                let bytes = n.to_be_bytes();
                match chunk.len() {
                    4 => out.extend_from_slice(&bytes[1..4]),
                    3 => out.extend_from_slice(&bytes[1..3]),
                    2 => out.push(bytes[1]),
                    _ => return None,
                }
            }
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_and_hex() {
        assert_eq!(decode("b64", "aGVsbG8K\n").unwrap(), b"hello\n");
        assert_eq!(decode("b64", "YQ==").unwrap(), b"a");
        assert_eq!(decode("b64", "YWI=").unwrap(), b"ab");
        assert_eq!(decode("b64", "").unwrap(), b"");
        assert_eq!(decode("hex", " 68 69\n 0a\n").unwrap(), b"hi\n");
        assert!(decode("b64", "a$==").is_none());
    }

    #[test]
    fn records_are_read_and_noise_is_skipped() {
        let m = marker("n");
        let out = format!(
            "motd line\n{m} sec hostname b64\naGExCg==\n{m} end\n{m} stat k0 file 6 600 0 0 root root\n{m} data k0 b64\naGVsbG8K\n{m} end\n{m} match g1.0 L2V0Yy94\n{m} stat g1.0 fifo 0 644 0 0 root root\n{m} stat k1 missing\n"
        );
        let a = parse(out.as_bytes(), &m);
        assert_eq!(a.sections["hostname"], b"ha1\n");
        let k0 = &a.files["k0"];
        assert_eq!(k0.mode, Some(0o600));
        assert_eq!(k0.data.as_deref(), Some(&b"hello\n"[..]));
        assert_eq!(
            a.matches["g1"],
            vec![("g1.0".to_owned(), "/etc/x".to_owned())]
        );
        assert_eq!(a.files["g1.0"].kind, Some(FileKind::Fifo));
        assert_eq!(a.files["k1"].kind, Some(FileKind::Missing));
    }

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("a'b"), "'a'\\''b'");
    }
}
