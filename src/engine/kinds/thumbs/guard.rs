//! Running a pure-Rust decoder whose panics on hostile input are expected: the panic becomes a
//! per-file error, and nothing is printed for it on stderr.
//!
//! Owns: [`quietly`] and the process-wide panic hook it installs once, which stays silent for
//! panics raised inside [`quietly`] on the same thread and hands every other panic to the hook
//! that was there before (so bugs elsewhere are still printed as usual).
//! Must not touch: decoding itself, files, threads, job state.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    /// How many [`quietly`] calls are running on this thread (they may nest).
    static QUIET_DEPTH: Cell<u32> = const { Cell::new(0) };
}

static INSTALL: Once = Once::new();

fn install_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // `try_with`: a panic while this thread's locals are torn down is still reported.
            let quiet = QUIET_DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
            if !quiet {
                previous(info);
            }
        }));
    });
}

/// Lowers the depth again however `quietly` ends.
struct Depth;

impl Depth {
    fn enter() -> Depth {
        QUIET_DEPTH.with(|d| d.set(d.get() + 1));
        Depth
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        QUIET_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs `f`; a panic inside it is caught and returned as its message, without being printed.
/// Only for code that owns everything it touches (a decoder on a byte slice): after a panic,
/// whatever `f` built is dropped.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let depth = Depth::enter();
    let result = catch_unwind(AssertUnwindSafe(f));
    drop(depth);
    result.map_err(|payload| {
        if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic".to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_later_calls_work() {
        let caught = quietly(|| -> u32 { panic!("bad {} data", "tile") });
        assert_eq!(caught, Err("bad tile data".to_owned()));
        assert_eq!(quietly(|| 7), Ok(7));
        // The depth is back to zero: panics outside are not silenced.
        assert_eq!(QUIET_DEPTH.with(Cell::get), 0);
        let nested = quietly(|| quietly(|| -> () { panic!("inner") }));
        assert_eq!(nested, Ok(Err("inner".to_owned())));
        assert_eq!(QUIET_DEPTH.with(Cell::get), 0);
    }
}
