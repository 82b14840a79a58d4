//! SIGINT, SIGTERM and SIGHUP for a command that must remove its partial
//! output before the process ends, as `backup` removes its temporary file.
//! The default action of these signals ends the process at once, before any
//! destructor runs. While an [`Interruption`] is installed, they only set a
//! flag, which the command checks as it works. When the command has cleaned
//! up and returned, [`end_process`] ends the process with the signal's
//! default action, so that the exit status names the signal (a shell shows
//! 130, 143 or 129), as it would without the handler.
//!
//! The crate forbids `unsafe` code, which installing a signal handler of its
//! own takes, so signal-hook installs one. That handler only stores to
//! atomics, which is async-signal-safe. signal-hook cannot remove its
//! handlers, so the signals only set the flag until the process ends.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::service::is_signal_ignored;

/// The signals that interrupt a command: Ctrl-C (SIGINT), `kill` and
/// `timeout` (SIGTERM), and a closed terminal (SIGHUP).
const INTERRUPT_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// The flag of the first [`Interruption`] installed, for the wait for a
/// database lock, which SQLite calls as a plain function.
static INSTALLED_FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Returns true once a signal of [`INTERRUPT_SIGNALS`] arrived while an
/// [`Interruption`] was installed, so that a wait can give up.
pub fn is_requested() -> bool {
    INSTALLED_FLAG
        .get()
        .is_some_and(|flag| flag.load(Ordering::SeqCst))
}

/// The signals of [`INTERRUPT_SIGNALS`] that arrived since [`Interruption::install`].
pub struct Interruption {
    /// Set when a signal arrives, after `signal` is stored.
    requested: Arc<AtomicBool>,
    /// The number of the last signal that arrived, or 0 before any did.
    signal: Arc<AtomicUsize>,
}

impl Interruption {
    /// Makes each of [`INTERRUPT_SIGNALS`] set the flag of the returned
    /// [`Interruption`] in place of ending the process. A signal that the
    /// process inherited as ignored, as `nohup` ignores SIGHUP, stays
    /// ignored.
    ///
    /// # Errors
    ///
    /// Fails when a handler cannot be installed.
    pub fn install() -> Result<Interruption, String> {
        let interruption = Interruption {
            requested: Arc::default(),
            signal: Arc::default(),
        };
        let handled = INTERRUPT_SIGNALS
            .into_iter()
            .filter(|signal| !is_signal_ignored(*signal));
        for signal in handled {
            let number = signal.unsigned_abs() as usize;
            // signal-hook runs the actions of a signal in the order they
            // were registered, so the number is stored before the flag is set.
            signal_hook::flag::register_usize(signal, Arc::clone(&interruption.signal), number)
                .and_then(|_| {
                    signal_hook::flag::register(signal, Arc::clone(&interruption.requested))
                })
                .map_err(|error| format!("cannot handle {}: {error}", signal_name(signal)))?;
        }
        // Only the first installation is kept, and a command installs one.
        let _ = INSTALLED_FLAG.set(Arc::clone(&interruption.requested));
        Ok(interruption)
    }

    /// Returns the flag that the signals set, for the command to check.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.requested)
    }

    /// Returns the number of the last signal that arrived, or `None` when
    /// none did.
    pub fn received(&self) -> Option<i32> {
        if !self.requested.load(Ordering::SeqCst) {
            return None;
        }
        let number = self.signal.load(Ordering::SeqCst);
        i32::try_from(number).ok().filter(|signal| *signal != 0)
    }
}

/// Returns the name of `signal`, such as `SIGTERM`.
pub fn signal_name(signal: i32) -> &'static str {
    signal_hook::low_level::signal_name(signal).unwrap_or("a signal")
}

/// Ends the process with the default action of `signal`, one of
/// [`INTERRUPT_SIGNALS`]. signal-hook raises the signal, or aborts the
/// process where it cannot, so the exit below only satisfies the type.
pub fn end_process(signal: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    std::process::exit(128 + signal)
}
