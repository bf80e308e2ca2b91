//! A directory held open by its file descriptor, and the few system calls the writer needs,
//! each made relative to it (`openat`, `linkat`, `renameat`, ...).
//!
//! Working from a descriptor rather than from paths means a path component swapped for a
//! link after haconf looked at it cannot redirect a write: every name is resolved in the
//! directory haconf opened, and the last component is never followed (`O_NOFOLLOW`).

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::other("a file name holds a NUL byte"))
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn fd_of(ret: libc::c_int) -> io::Result<OwnedFd> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: the kernel just returned this descriptor, and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(ret) })
    }
}

/// What a name in a directory is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Missing,
    File,
    Dir,
    Link,
    Other,
}

/// An open directory.
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
    /// For messages only: every operation goes through `fd`.
    pub(crate) path: PathBuf,
}

impl Dir {
    /// Opens `path` as a directory; its last component must not be a link.
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let c = cstr(path.as_os_str())?;
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        let fd = fd_of(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        })?;
        Ok(Dir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Opens `root` (following links: the user named it), then each component of `rel`
    /// below it, creating missing ones with `mode`; a component that is a link is refused.
    pub(crate) fn open_below(root: &Path, rel: &Path, mode: u32) -> io::Result<Dir> {
        let c = cstr(root.as_os_str())?;
        // SAFETY: as in `open`.
        let fd = fd_of(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        let mut dir = Dir {
            fd,
            path: root.to_path_buf(),
        };
        for comp in rel.components() {
            match comp {
                Component::Normal(name) => dir = dir.subdir(name, mode)?,
                Component::CurDir => {}
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{}: not a plain relative path", rel.display()),
                    ));
                }
            }
        }
        Ok(dir)
    }

    /// The subdirectory `name`, created with `mode` if missing; never a link.
    pub(crate) fn subdir(&self, name: &OsStr, mode: u32) -> io::Result<Dir> {
        let c = cstr(name)?;
        // SAFETY: `self.fd` is open and `c` is a valid string for the duration of the call.
        let made = unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) };
        if made < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(e);
            }
        }
        // SAFETY: as above.
        let fd = fd_of(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        })
        .map_err(|e| self.link_refused(name, e))?;
        Ok(Dir {
            fd,
            path: self.path.join(name),
        })
    }

    /// A new subdirectory `name` (mode 0700), which must not exist.
    pub(crate) fn subdir_new(&self, name: &OsStr) -> io::Result<Dir> {
        let c = cstr(name)?;
        // SAFETY: as in `subdir`.
        check(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o700) })?;
        self.subdir(name, 0o700)
    }

    /// ELOOP and ENOTDIR from an `O_NOFOLLOW` open mean "a link is there": say so.
    fn link_refused(&self, name: &OsStr, e: io::Error) -> io::Error {
        if e.raw_os_error() == Some(libc::ELOOP) || self.kind(name) == Kind::Link {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is a symbolic link; haconf does not write through links",
                    self.path.join(name).display()
                ),
            )
        } else {
            e
        }
    }

    /// What `name` is, without following a link.
    pub(crate) fn kind(&self, name: &OsStr) -> Kind {
        match self.stat(name) {
            Ok(st) => match st.st_mode & libc::S_IFMT {
                libc::S_IFREG => Kind::File,
                libc::S_IFDIR => Kind::Dir,
                libc::S_IFLNK => Kind::Link,
                _ => Kind::Other,
            },
            Err(_) => Kind::Missing,
        }
    }

    /// `fstatat(.., AT_SYMLINK_NOFOLLOW)`.
    pub(crate) fn stat(&self, name: &OsStr) -> io::Result<libc::stat> {
        let c = cstr(name)?;
        // SAFETY: `st` is plain old data the kernel fills in; the pointers are valid.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            check(libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            ))?;
            Ok(st)
        }
    }

    /// Opens an existing regular file for reading: never a link, never blocking on a FIFO.
    pub(crate) fn open_file(&self, name: &OsStr) -> io::Result<File> {
        let c = cstr(name)?;
        // SAFETY: as in `subdir`.
        let fd = fd_of(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        })
        .map_err(|e| self.link_refused(name, e))?;
        let file = File::from(fd);
        if !file.metadata()?.is_file() {
            return Err(io::Error::other("not a regular file; not written"));
        }
        Ok(file)
    }

    /// Creates `name`, which must not exist (not even as a dangling link), for writing, with
    /// no permission beyond `mode`.
    pub(crate) fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let c = cstr(name)?;
        // SAFETY: as in `subdir`.
        let fd = fd_of(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                (mode & 0o777) as libc::c_uint,
            )
        })?;
        Ok(File::from(fd))
    }

    /// Creates a new file with an unpredictable name `.{stem}.haconf-{tag}-{pid}-{random}`.
    pub(crate) fn create_temp(
        &self,
        stem: &OsStr,
        tag: &str,
        mode: u32,
    ) -> io::Result<(OsString, File)> {
        let mut last = None;
        for _ in 0..16 {
            let name = super::names::temp_name(stem, tag);
            match self.create_new(&name, mode) {
                Ok(f) => return Ok((name, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// A new hard link `to` for the file `from` (neither is followed; `to` must not exist).
    pub(crate) fn link(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (a, b) = (cstr(from)?, cstr(to)?);
        // SAFETY: as in `subdir`.
        check(unsafe {
            libc::linkat(
                self.fd.as_raw_fd(),
                a.as_ptr(),
                self.fd.as_raw_fd(),
                b.as_ptr(),
                0,
            )
        })
    }

    /// Renames `from` to `to` in this directory, replacing `to` (a link there is replaced,
    /// not followed).
    pub(crate) fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        self.rename_to(from, self, to)
    }

    /// Renames `from` here to `to` in `dest` (same file system).
    pub(crate) fn rename_to(&self, from: &OsStr, dest: &Dir, to: &OsStr) -> io::Result<()> {
        let (a, b) = (cstr(from)?, cstr(to)?);
        // SAFETY: as in `subdir`.
        check(unsafe {
            libc::renameat(
                self.fd.as_raw_fd(),
                a.as_ptr(),
                dest.fd.as_raw_fd(),
                b.as_ptr(),
            )
        })
    }

    /// Swaps two names atomically (`renameat2(RENAME_EXCHANGE)`).
    pub(crate) fn exchange(&self, a: &OsStr, b: &OsStr) -> io::Result<()> {
        let (a, b) = (cstr(a)?, cstr(b)?);
        // SAFETY: as in `subdir`.
        check(unsafe {
            libc::renameat2(
                self.fd.as_raw_fd(),
                a.as_ptr(),
                self.fd.as_raw_fd(),
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        })
    }

    /// Removes the file (or link) `name`.
    pub(crate) fn unlink(&self, name: &OsStr) -> io::Result<()> {
        let c = cstr(name)?;
        // SAFETY: as in `subdir`.
        check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) })
    }

    /// A symbolic link `name` holding `target` (created, never followed).
    pub(crate) fn symlink(&self, target: &OsStr, name: &OsStr) -> io::Result<()> {
        let (t, n) = (cstr(target)?, cstr(name)?);
        // SAFETY: as in `subdir`.
        check(unsafe { libc::symlinkat(t.as_ptr(), self.fd.as_raw_fd(), n.as_ptr()) })
    }

    /// Whether this process may create files here (`EROFS` on a read-only mount even for
    /// root, `EACCES` for a user without write permission).
    pub(crate) fn writable(&self) -> io::Result<()> {
        // SAFETY: as in `subdir`; "." is a static C string.
        check(unsafe {
            libc::faccessat(
                self.fd.as_raw_fd(),
                c".".as_ptr(),
                libc::W_OK,
                libc::AT_EACCESS,
            )
        })
    }

    /// Makes the directory's entries durable (after a create, link or rename).
    pub(crate) fn sync(&self) -> io::Result<()> {
        // SAFETY: `self.fd` is an open descriptor.
        check(unsafe { libc::fsync(self.fd.as_raw_fd()) })
    }

    /// The names in this directory (without `.` and `..`).
    pub(crate) fn names(&self) -> io::Result<Vec<OsString>> {
        Ok(
            std::fs::read_dir(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
                .or_else(|_| std::fs::read_dir(&self.path))?
                .flatten()
                .map(|e| e.file_name())
                .collect(),
        )
    }

    /// Mode bits of the directory itself.
    pub(crate) fn set_mode(&self, mode: u32) -> io::Result<()> {
        // SAFETY: `self.fd` is an open descriptor.
        check(unsafe { libc::fchmod(self.fd.as_raw_fd(), mode as libc::mode_t) })
    }
}

/// Owner and mode of an open file.
pub(crate) fn owner_mode(f: &File) -> io::Result<(u32, u32, u32)> {
    let m = f.metadata()?;
    Ok((m.uid(), m.gid(), m.mode() & 0o7777))
}

/// Gives the new file `f` the owner `uid:gid` and then the mode `mode` (in that order: a
/// change of owner clears set-id bits). Refuses, rather than silently changing the owner,
/// when this process may not give the file away.
pub(crate) fn set_owner_mode(f: &File, uid: u32, gid: u32, mode: u32) -> io::Result<()> {
    let (u, g, _) = owner_mode(f)?;
    if (u, g) != (uid, gid) {
        std::os::unix::fs::fchown(f, Some(uid), Some(gid)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot keep the owner {uid}:{gid} ({e}); not written"),
            )
        })?;
    }
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
}

/// Whether a process with this id is still running (a leftover of a live haconf is not
/// touched).
pub(crate) fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
