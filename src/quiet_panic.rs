//! Panics of third-party code kept off the user's terminal.
//!
//! haconf calls a few young parsers (brush-parser for shell) inside `catch_unwind`: a panic
//! there becomes a finding ("the shell parser could not read this script"). Catching it is not
//! enough, though: the default panic hook has already printed "thread 'main' panicked at ..."
//! to stderr by then. [`catch`] silences the hook for the closure it runs, on its thread only,
//! and hands back the panic's message; a panic anywhere else (haconf's own code) still goes
//! to the hook that was installed before, and is reported as usual.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let what = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST.with(|l| *l.borrow_mut() = Some(format!("{what}{at}")));
                return;
            }
            previous(info);
        }));
    });
}

/// Runs third-party code `f`; a panic inside it is caught without a word on stderr, and
/// returned as its message.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install();
    let was = QUIET.with(|q| q.replace(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    r.map_err(|_| LAST.with(|l| l.borrow_mut().take()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_caught_panic_gives_its_message() {
        let r: Result<(), String> = super::catch(|| panic!("inside"));
        assert!(r.unwrap_err().starts_with("inside"));
        assert_eq!(super::catch(|| 3), Ok(3));
    }
}
