//! shellcheck's findings on health-check scripts, passed on as `SCxxxx` diagnostics.
//!
//! When `shellcheck` is on `PATH` (or `HACONF_SHELLCHECK` names it; `HACONF_SHELLCHECK=none`
//! turns it off), each shell script a `vrrp_script` runs is given to `shellcheck -f json1`
//! on standard input (so unsaved editor buffers are checked as typed), all at once in
//! parallel. Answers are cached by shellcheck binary, shell and script text (see
//! `cache_dir`), so a repeated check costs no process at all. shellcheck honours `# shellcheck disable=` itself. Its levels map to ours:
//! error → error, warning → warning, info and style → info.

use super::Target;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceDb, Span};
use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The shellcheck binary to run: its path, and a stamp (size and mtime) that changes when it
/// is replaced, for the cache. Found on `PATH` without running it.
pub fn binary() -> Option<(std::path::PathBuf, String)> {
    static BIN: OnceLock<Option<(std::path::PathBuf, String)>> = OnceLock::new();
    BIN.get_or_init(|| {
        let name = std::env::var("HACONF_SHELLCHECK").unwrap_or_else(|_| "shellcheck".into());
        if name == "none" || name.is_empty() {
            return None;
        }
        let candidates: Vec<std::path::PathBuf> = if name.contains('/') {
            vec![name.into()]
        } else {
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).map(|d| d.join(&name)).collect())
                .unwrap_or_default()
        };
        candidates.into_iter().find_map(|p| {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&p).ok()?;
            if !m.is_file() || m.permissions().mode() & 0o111 == 0 {
                return None;
            }
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            Some((p, format!("{}:{mtime}", m.len())))
        })
    })
    .clone()
}

/// Where shellcheck's answers are kept: `HACONF_CACHE_DIR`, else `$XDG_CACHE_HOME/haconf`,
/// else `~/.cache/haconf`; `HACONF_CACHE_DIR=none` turns the cache off.
fn cache_dir() -> Option<std::path::PathBuf> {
    if let Some(d) = std::env::var_os("HACONF_CACHE_DIR") {
        return (d != "none").then(|| std::path::PathBuf::from(d).join("shellcheck"));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    Some(base.join("haconf/shellcheck"))
}

fn cache_key(stamp: &str, shell: &str, text: &str) -> String {
    // Two FNV-1a 64 hashes of different seeds: collisions are not a practical concern.
    let h = |seed: u64| {
        let mut h: u64 = seed;
        for b in stamp
            .bytes()
            .chain([0])
            .chain(shell.bytes())
            .chain([0])
            .chain(text.bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        h
    };
    format!(
        "{:016x}{:016x}",
        h(0xcbf29ce484222325),
        h(0x84222325cbf29ce4)
    )
}

/// What `--verbose` says when scripts were not given to shellcheck.
pub fn note() -> Option<String> {
    binary().is_none().then(|| {
        "shellcheck was not found on PATH (or HACONF_SHELLCHECK=none): no SCxxxx findings on the check scripts".to_string()
    })
}

/// `SC2086` as a `&'static str` (codes are few; each is kept once).
fn intern(code: String) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(s) = seen.get(code.as_str()) {
        return s;
    }
    let s: &'static str = Box::leak(code.into_boxed_str());
    seen.insert(s);
    s
}

/// The wiki page of a shellcheck code.
pub fn wiki(code: &str) -> String {
    format!("https://www.shellcheck.net/wiki/{code}")
}

/// Whether a code is one of shellcheck's.
pub fn is_sc(code: &str) -> bool {
    code.len() > 2 && code.starts_with("SC") && code[2..].bytes().all(|b| b.is_ascii_digit())
}

/// Runs shellcheck on every target that is a shell script file; returns each one's
/// findings (in the order of `targets`). Nothing when shellcheck is absent.
pub fn run_all(db: &SourceDb, targets: &[&Target]) -> Vec<Vec<Diagnostic>> {
    let mut out: Vec<Vec<Diagnostic>> = targets.iter().map(|_| Vec::new()).collect();
    let Some((bin, stamp)) = binary() else {
        return out;
    };
    let cache = cache_dir();
    // Start them all, then collect: shellcheck spends its time starting up. Answers already
    // in the cache (same shellcheck, shell and text) are not asked again.
    let mut running = Vec::new();
    for (k, t) in targets.iter().enumerate() {
        // shellcheck takes seconds on megabytes; a check script that big is HC material anyway.
        if t.inline || !t.parses() || db.get(t.file).text.len() > 512 * 1024 {
            continue;
        }
        let shell = t
            .interpreter
            .as_deref()
            .filter(|s| matches!(*s, "bash" | "dash" | "ksh"))
            .unwrap_or("sh");
        let text = db.get(t.file).text.clone();
        let key = cache_key(&stamp, shell, &text);
        if let Some(json) = remembered(&key).or_else(|| {
            cache
                .as_ref()
                .and_then(|d| std::fs::read(d.join(&key)).ok())
        }) {
            out[k] = parse_json1(db, t, &json);
            remember(&key, &json);
            continue;
        }
        let child = Command::new(&bin)
            .args(["-f", "json1", "-s", shell, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else { continue };
        if let Some(mut stdin) = child.stdin.take() {
            // A script bigger than the pipe buffer is written from its own thread.
            std::thread::spawn(move || {
                let _ = stdin.write_all(text.as_bytes());
            });
        }
        running.push((k, key, child));
    }
    for (k, key, child) in running {
        let Ok(o) = child.wait_with_output() else {
            continue;
        };
        // shellcheck exits 0 (clean) or 1 (findings); anything else is not an answer.
        if !matches!(o.status.code(), Some(0 | 1)) {
            continue;
        }
        out[k] = parse_json1(db, targets[k], &o.stdout);
        remember(&key, &o.stdout);
        if let Some(dir) = &cache {
            let _ = store(dir, &key, &o.stdout);
        }
    }
    out
}

/// shellcheck's answers already read in this process (a fleet's nodes share their scripts).
fn memo() -> &'static Mutex<std::collections::HashMap<String, Vec<u8>>> {
    static M: OnceLock<Mutex<std::collections::HashMap<String, Vec<u8>>>> = OnceLock::new();
    M.get_or_init(Default::default)
}

fn remembered(key: &str) -> Option<Vec<u8>> {
    memo().lock().ok()?.get(key).cloned()
}

fn remember(key: &str, json: &[u8]) {
    if let Ok(mut m) = memo().lock() {
        if m.len() >= 1024 {
            m.clear();
        }
        m.entry(key.to_string()).or_insert_with(|| json.to_vec());
    }
}

/// Writes a cache entry atomically (a reader never sees half of one), owner-only: the
/// answers quote the scripts.
fn store(dir: &std::path::Path, key: &str, bytes: &[u8]) -> std::io::Result<()> {
    crate::write::write_file(dir, std::path::Path::new(key), bytes, 0o600, true)
}

fn parse_json1(db: &SourceDb, t: &Target, json: &[u8]) -> Vec<Diagnostic> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let f = db.get(t.file);
    let pos = |line: u64, col: u64| -> usize {
        let line = (line as usize).clamp(1, f.line_count().max(1));
        let start = f.offset(line, 1);
        let text = f.line_text(line);
        // json1 counts characters, a tab as one.
        let col = text
            .char_indices()
            .nth((col as usize).max(1) - 1)
            .map_or(text.len(), |(i, _)| i);
        start + col
    };
    let mut out = Vec::new();
    for c in v["comments"].as_array().into_iter().flatten() {
        let (Some(code), Some(line), Some(col)) =
            (c["code"].as_u64(), c["line"].as_u64(), c["column"].as_u64())
        else {
            continue;
        };
        let start = pos(line, col);
        let end = pos(
            c["endLine"].as_u64().unwrap_or(line),
            c["endColumn"].as_u64().unwrap_or(col),
        )
        .max(start);
        let code = intern(format!("SC{code}"));
        let severity = match c["level"].as_str() {
            Some("error") => Severity::Error,
            Some("warning") => Severity::Warning,
            _ => Severity::Info,
        };
        let mut d = Diagnostic::new(
            code,
            t.file,
            Span::new(start, end),
            c["message"]
                .as_str()
                .unwrap_or("shellcheck finding")
                .to_string(),
        )
        .with_help(format!("shellcheck {code}: {}", wiki(code)));
        d.severity = severity;
        out.push(d);
    }
    out
}
