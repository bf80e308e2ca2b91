//! What a live host said about itself when `haconf pull` read it: its interfaces and their
//! real prefixes, the modes of the files keepalived runs, the versions, who holds which
//! address now. A node directory may hold these as `facts.json`; rules that would otherwise
//! have to guess (a VIP's subnet, whether an interface exists, whether a script's execute bit
//! is what the host has) use them when they are there, and behave as before when they are not.
//!
//! The file is written by `haconf pull` (see `docs/pull.md`) and read back here; its format is
//! versioned (`"version": 1`) so that an older haconf refuses a newer file instead of
//! misreading it.

use crate::net::Net;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// The version of the `facts.json` format this haconf writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The name of the facts file in a node directory.
pub const FILE_NAME: &str = "facts.json";

/// Facts files larger than this are refused: a real one is a few kilobytes.
const MAX_FACTS_SIZE: u64 = 16 * 1024 * 1024;

/// Everything one pull learnt about a host.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Facts {
    pub version: u32,
    /// The destination given to `haconf pull` (`ha1`, `root@10.0.0.1`, `ssh://ha1:2222`).
    pub host: String,
    /// `uname -n` on the host.
    pub hostname: Option<String>,
    /// When the facts were collected (seconds since the Unix epoch).
    pub collected_at: Option<u64>,
    /// `uname -sr`.
    pub kernel: Option<String>,
    /// The fields of `/etc/os-release` (`ID`, `VERSION_ID`, `PRETTY_NAME`, ...).
    pub os_release: BTreeMap<String, String>,
    /// The host's interfaces (`ip addr`); `None` when they could not be read, which is not
    /// the same as a host without interfaces.
    pub interfaces: Option<Vec<Interface>>,
    pub keepalived: Option<Daemon>,
    pub nginx: Option<Daemon>,
    /// Whether the user `keepalived_script` exists (keepalived runs scripts as that user when
    /// it does and `script_user` is not set); `None`: unknown.
    pub keepalived_script_user: Option<bool>,
    /// `net.ipv4.ip_nonlocal_bind` and `net.ipv6.ip_nonlocal_bind` as the kernel has them now.
    pub sysctl: BTreeMap<String, String>,
    /// Every file pull looked at, by its path on the host: configs, includes, scripts.
    pub files: BTreeMap<String, FileFact>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Interface {
    pub name: String,
    /// Other names the kernel accepts for it (`ip link property add altname`).
    pub altnames: Vec<String>,
    pub up: bool,
    pub addresses: Vec<Address>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Address {
    pub address: IpAddr,
    pub prefix: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// keepalived or nginx on the host.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Daemon {
    pub installed: bool,
    /// The binary found in `PATH` (with the sbin directories added).
    pub path: Option<String>,
    /// The version number (`2.2.7`, `1.22.1`).
    pub version: Option<String>,
    /// What `keepalived -v` / `nginx -V` printed: build and configure options.
    pub build: Option<String>,
    /// The running processes of it: `(pid, command line)`.
    pub processes: Vec<Process>,
    /// The main config file it reads (nginx: `--conf-path`).
    pub config: Option<String>,
}

impl Daemon {
    pub fn running(&self) -> bool {
        !self.processes.is_empty()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Process {
    pub pid: u32,
    pub args: String,
}

/// What a file is on the host.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    #[default]
    File,
    Directory,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
    /// Nothing at that path.
    Missing,
    /// A symbolic link whose target does not exist.
    DanglingLink,
}

impl FileKind {
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::File => "a regular file",
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Other => "not a regular file",
            FileKind::Missing => "missing",
            FileKind::DanglingLink => "a symbolic link to nothing",
        }
    }
}

/// One file on the host, as `stat` (following links, as keepalived and nginx do) saw it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct FileFact {
    pub kind: FileKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The permission bits, as an octal string (`"0644"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Why its content is not in the node directory, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_read: Option<String>,
}

impl FileFact {
    /// The permission bits, when known.
    pub fn mode_bits(&self) -> Option<u32> {
        u32::from_str_radix(self.mode.as_deref()?, 8).ok()
    }

    /// Whether keepalived (running as root) can execute it: a regular file with an execute
    /// bit. `None` when the mode is unknown.
    pub fn executable(&self) -> Option<bool> {
        match self.kind {
            FileKind::File => self.mode_bits().map(|m| m & 0o111 != 0),
            FileKind::Missing | FileKind::DanglingLink | FileKind::Directory => Some(false),
            _ => None,
        }
    }
}

impl Facts {
    /// Reads `facts.json` in `node_dir`: `Ok(None)` when there is none, `Err` (with the
    /// file, line and column) when it cannot be used.
    pub fn read(node_dir: &Path) -> Result<Option<Facts>, String> {
        let path = node_dir.join(FILE_NAME);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        if !meta.is_file() {
            return Err(format!("{}: not a regular file", path.display()));
        }
        if meta.len() > MAX_FACTS_SIZE {
            return Err(format!(
                "{}: {} bytes; a facts file is a few kilobytes",
                path.display(),
                meta.len()
            ));
        }
        let text = crate::source::read_regular(&path, MAX_FACTS_SIZE)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let facts: Facts = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not a haconf facts file: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if facts.version == 0 || facts.version > FORMAT_VERSION {
            return Err(format!(
                "{}: facts format version {} (this haconf reads version {FORMAT_VERSION})",
                path.display(),
                facts.version
            ));
        }
        Ok(Some(facts))
    }

    /// The interface named `name` (or with that alternative name), when the interfaces are
    /// known.
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces
            .as_ref()?
            .iter()
            .find(|i| i.name == name || i.altnames.iter().any(|a| a == name))
    }

    /// Whether `addr` is configured on any interface of the host right now.
    pub fn holds(&self, addr: IpAddr) -> bool {
        self.interfaces
            .iter()
            .flatten()
            .flat_map(|i| &i.addresses)
            .any(|a| a.address == addr)
    }

    /// The networks of `iface`'s addresses of `addr`'s family, leaving out the addresses in
    /// `skip` (VIPs: a VIP added as `/24` would otherwise vouch for itself) and host routes.
    pub fn networks(&self, iface: &Interface, family_of: IpAddr, skip: &[IpAddr]) -> Vec<Net> {
        iface
            .addresses
            .iter()
            .filter(|a| a.address.is_ipv4() == family_of.is_ipv4())
            .filter(|a| !skip.contains(&a.address))
            .filter(|a| a.scope.as_deref() != Some("link") && a.scope.as_deref() != Some("host"))
            .map(|a| Net {
                addr: a.address,
                len: a.prefix,
            })
            .collect()
    }

    /// What the host says about the file at `path` (a path on the host, as a config names it).
    pub fn file(&self, path: &str) -> Option<&FileFact> {
        self.files
            .get(path)
            .or_else(|| self.files.get(&normalize(path)))
    }

    /// Whether the host can execute the program at `path`, when the facts say.
    pub fn executable(&self, path: &str) -> Option<bool> {
        self.file(path)?.executable()
    }

    /// Whether keepalived is running on the host, when known.
    pub fn keepalived_running(&self) -> Option<bool> {
        self.keepalived.as_ref().map(Daemon::running)
    }
}

/// `path` without `.` and `..` components (`..` stops at `/`), as the kernel reads it when no
/// component is a link: the key a host path has in [`Facts::files`].
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The facts of a node directory, for the project loader: `None` without a `facts.json`; a
/// file that cannot be used is an input error (`errors`), since checking as if it were not
/// there would silently drop the checks the user pulled it for.
pub fn attach(node_dir: &Path, errors: &mut Vec<String>) -> Option<std::sync::Arc<Facts>> {
    match Facts::read(node_dir) {
        Ok(f) => f.map(std::sync::Arc::new),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_file_reads_and_modes_parse() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join(FILE_NAME),
            r#"{"version": 1, "interfaces": [{"name": "eth0", "altnames": ["enp0s3"],
                "addresses": [{"address": "10.0.0.2", "prefix": 24}]}],
                "files": {"/etc/keepalived/chk.sh": {"kind": "file", "mode": "0644"}}}"#,
        )
        .unwrap();
        let f = Facts::read(d.path()).unwrap().unwrap();
        assert!(f.interface("enp0s3").is_some());
        assert!(f.interface("eth1").is_none());
        assert!(f.holds("10.0.0.2".parse().unwrap()));
        let chk = f.file("/etc/keepalived/chk.sh").unwrap();
        assert_eq!(chk.executable(), Some(false));
    }

    #[test]
    fn newer_or_broken_files_are_refused_with_a_position() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(FILE_NAME), "{\"version\": 9}").unwrap();
        assert!(Facts::read(d.path()).unwrap_err().contains("version 9"));
        std::fs::write(d.path().join(FILE_NAME), "{\n  \"version\": 1,\n  x\n}").unwrap();
        assert!(Facts::read(d.path()).unwrap_err().contains(":3:"));
        assert!(Facts::read(&d.path().join("none")).unwrap().is_none());
    }
}
