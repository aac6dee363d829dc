//! Interrupting a training run: Ctrl-C (SIGINT) or SIGTERM lets the current step finish, keeps
//! the last whole epoch's checkpoint and ends the run with status 130 or 143 and a line that
//! tells how to go on; a second signal of either kind ends the process at once, with the
//! status of the signal that ended it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mlpc_train::{EpochReport, Observer, StepProgress};
use signal_hook::consts::{SIGINT, SIGTERM};

/// The interrupts a command listens to, from [`Interrupts::listen`] on.
pub struct Interrupts {
    /// The first signal received (0: none yet).
    received: Arc<AtomicUsize>,
}

/// A signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`, a service manager, a batch scheduler.
    Terminate,
}

impl Signal {
    /// The exit status of a process this signal stopped: 128 + the signal's number.
    pub fn status(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// Its name, as a user would know it.
    pub fn describe(self) -> &'static str {
        match self {
            Signal::Interrupt => "Ctrl-C (SIGINT)",
            Signal::Terminate => "SIGTERM",
        }
    }
}

impl Interrupts {
    /// Starts listening to SIGINT and SIGTERM. Where the handlers cannot be installed the
    /// signals keep their default action (the process ends; the last checkpoint stays).
    pub fn listen() -> Interrupts {
        let received = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(AtomicBool::new(false));
        for (signal, kind) in [(SIGINT, Signal::Interrupt), (SIGTERM, Signal::Terminate)] {
            // Registered first, so it runs first: on the first signal `armed` is still false
            // and this does nothing; on a second one it ends the process at once.
            let _ = signal_hook::flag::register_conditional_shutdown(
                signal,
                i32::from(kind.status()),
                Arc::clone(&armed),
            );
            let _ = signal_hook::flag::register(signal, Arc::clone(&armed));
            let first = Arc::clone(&received);
            // SAFETY: the action only does an atomic compare-and-swap, which is
            // async-signal-safe.
            let _ = unsafe {
                signal_hook::low_level::register(signal, move || {
                    let _ = first.compare_exchange(
                        0,
                        signal as usize,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                })
            };
        }
        Interrupts { received }
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<Signal> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            number if number == SIGTERM as usize => Some(Signal::Terminate),
            _ => Some(Signal::Interrupt),
        }
    }

    /// `observer`, stopping training when a signal has come.
    pub fn watching<'a>(&'a self, observer: &'a mut dyn Observer) -> Watching<'a> {
        Watching {
            interrupts: self,
            observer,
        }
    }
}

/// An observer that also asks training to stop once a signal has come.
pub struct Watching<'a> {
    interrupts: &'a Interrupts,
    observer: &'a mut dyn Observer,
}

impl Observer for Watching<'_> {
    fn epoch(&mut self, report: &EpochReport) {
        self.observer.epoch(report);
    }

    fn step_interval(&self) -> Option<usize> {
        self.observer.step_interval()
    }

    fn step(&mut self, progress: &StepProgress) {
        self.observer.step(progress);
    }

    fn note(&mut self, text: &str) {
        self.observer.note(text);
    }

    fn interrupted(&self) -> bool {
        self.interrupts.received().is_some()
    }
}
