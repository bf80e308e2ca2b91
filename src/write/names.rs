//! The names of the files haconf leaves beside the ones it writes.
//!
//! Every one starts with a dot. nginx (`ngx_open_glob`) and keepalived (`read_conf_file`)
//! expand `include` patterns with glob(3) and without `GLOB_PERIOD`, so a `*`, `?` or `[...]`
//! never matches a leading dot: `include sites-enabled/*;`, `include conf.d/*.conf;` and
//! `include /etc/keepalived/conf.d/*` cannot pick up `.default.haconf-bak`. haconf's own
//! discovery skips hidden files for the same reason.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// What follows `.NAME` in a backup's name.
pub(crate) const BACKUP_SUFFIX: &str = ".haconf-bak";

/// The backup of `name`: `.NAME.haconf-bak`, in the same directory.
pub(crate) fn backup_name(name: &OsStr) -> OsString {
    let mut v = b".".to_vec();
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(BACKUP_SUFFIX.as_bytes());
    OsString::from_vec(v)
}

/// `.{stem}.haconf-{tag}-{pid}-{16 random hex digits}`: the process id lets a later run
/// recognise a leftover of a process that was killed; the random part makes the name
/// impossible to plant in advance.
pub(crate) fn temp_name(stem: &OsStr, tag: &str) -> OsString {
    let mut v = b".".to_vec();
    v.extend_from_slice(stem.as_bytes());
    v.extend_from_slice(
        format!(".haconf-{tag}-{}-{:016x}", std::process::id(), random()).as_bytes(),
    );
    OsString::from_vec(v)
}

/// A leftover of another haconf process: `(tag, pid)` when `name` is `.{stem}.haconf-{tag}-
/// {pid}-{random}`.
pub(crate) fn leftover_of(stem: &OsStr, name: &OsStr) -> Option<(String, u32)> {
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(stem.as_bytes());
    prefix.extend_from_slice(b".haconf-");
    let rest = name.as_bytes().strip_prefix(prefix.as_slice())?;
    let rest = std::str::from_utf8(rest).ok()?;
    let mut parts = rest.splitn(3, '-');
    let (tag, pid, rand) = (parts.next()?, parts.next()?, parts.next()?);
    if rand.len() != 16 || !rand.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((tag.to_string(), pid.parse().ok()?))
}

/// Whether `name` is one of the files haconf leaves beside a file it writes (a backup, or a
/// temporary file of an interrupted run): never a config to read.
pub(crate) fn is_own_file(name: &OsStr) -> bool {
    let b = name.as_bytes();
    b.starts_with(b".")
        && (b.ends_with(BACKUP_SUFFIX.as_bytes())
            || b.windows(12)
                .any(|w| w == b".haconf-tmp-" || w == b".haconf-old-"))
}

/// 64 unpredictable bits from the kernel (`getrandom`, else `/dev/urandom`).
fn random() -> u64 {
    let mut buf = [0u8; 8];
    // SAFETY: `buf` is valid for 8 bytes of writes.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n != 8 {
        use std::io::Read;
        let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
        if ok.is_err() {
            // No entropy source at all: a name still unique to this process and moment;
            // exclusive creation keeps it safe, only no longer unguessable.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            buf = (t ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
        }
    }
    u64::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_hidden_and_recognised() {
        let b = backup_name(OsStr::new("default"));
        assert_eq!(b, OsStr::new(".default.haconf-bak"));
        assert!(is_own_file(&b));
        let t = temp_name(OsStr::new("keepalived.conf"), "tmp");
        assert!(t.as_bytes().starts_with(b".keepalived.conf.haconf-tmp-"));
        assert!(is_own_file(&t));
        let (tag, pid) = leftover_of(OsStr::new("keepalived.conf"), &t).unwrap();
        assert_eq!((tag.as_str(), pid), ("tmp", std::process::id()));
        assert!(leftover_of(OsStr::new("keepalived"), &t).is_none());
        assert!(!is_own_file(OsStr::new("default.haconf-bak")));
        assert!(!is_own_file(OsStr::new("keepalived.conf")));
        assert_ne!(t, temp_name(OsStr::new("keepalived.conf"), "tmp"));
    }
}
