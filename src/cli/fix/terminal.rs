//! Single-key answers for `fix --interactive`: the terminal in non-canonical mode (no Enter
//! needed, no echo), restored on every way out — normal return, `q`, Ctrl-C (read as a key:
//! signals from the keyboard are off while a question waits), a panic (the guard's `Drop`
//! runs while unwinding), and SIGTERM / SIGHUP sent from elsewhere (a handler restores the
//! saved settings, then lets the signal take its default course).

use std::io;
use std::sync::OnceLock;

/// The settings found at start, for the signal handler.
static SAVED: OnceLock<libc::termios> = OnceLock::new();

/// While alive, standard input delivers each key as it is pressed.
pub(super) struct Keys {
    saved: libc::termios,
}

extern "C" fn restore_and_reraise(sig: libc::c_int) {
    if let Some(t) = SAVED.get() {
        // SAFETY: tcsetattr and signal/raise are async-signal-safe; `t` is initialised.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

impl Keys {
    /// `None` when standard input is not a terminal that can do it (then lines are read).
    pub(super) fn start() -> Option<Keys> {
        // SAFETY: termios is plain data filled in by tcgetattr.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a termios.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } != 0 {
            return None;
        }
        let saved = t;
        let _ = SAVED.set(saved);
        for sig in [libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: the handler only makes async-signal-safe calls.
            unsafe {
                libc::signal(
                    sig,
                    restore_and_reraise as extern "C" fn(libc::c_int) as libc::sighandler_t,
                );
            }
        }
        t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        // SAFETY: valid pointer to a termios.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) } != 0 {
            return None;
        }
        Some(Keys { saved })
    }

    /// The next key, or `None` at end of input. Read from the descriptor itself: std's
    /// buffered stdin is held by the line reader, and a key needs no buffer.
    pub(super) fn next(&self) -> Option<u8> {
        let mut b = [0u8; 1];
        loop {
            // SAFETY: `b` is valid for one byte of writes.
            let n = unsafe { libc::read(libc::STDIN_FILENO, b.as_mut_ptr().cast(), 1) };
            match n {
                1 => return Some(b[0]),
                0 => return None,
                _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
                _ => return None,
            }
        }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `start`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGHUP, libc::SIG_DFL);
        }
    }
}
