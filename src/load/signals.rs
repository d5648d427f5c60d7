//! SIGINT and SIGTERM during `recovery-harness load`: the first stops the users (Goose's
//! killswitch) so that the run ends with complete reports of what ran and the verdict
//! `interrupted`; a second one exits at once. The exit code is the one shells report for the
//! signal: 130 for SIGINT, 143 for SIGTERM.
//!
//! Goose installs its own Ctrl-C handler (the `ctrlc` crate) when an attack starts, and exits 1
//! on a second Ctrl-C. [`install`] claims `ctrlc` first (Goose's attempt then fails harmlessly)
//! and listens with tokio, which tells SIGINT from SIGTERM.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// SIGINT.
pub const SIGINT: i32 = 2;
/// SIGTERM.
pub const SIGTERM: i32 = 15;

static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The first signal received since the process started, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signal's name.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Starts listening for SIGINT and SIGTERM (call once, from the command's entry point, inside
/// the runtime). Without a unix signal API nothing is installed.
pub fn install() {
    // The closure does nothing: the tokio listeners below act. Claiming `ctrlc` keeps Goose's
    // handler (exit 1 on a second Ctrl-C) out.
    let _ = ctrlc::set_handler(|| {});
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    _ = int.recv() => SIGINT,
                    _ = term.recv() => SIGTERM,
                };
                if RECEIVED
                    .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    crate::say!("{}: second signal, exiting at once", name(signal));
                    std::process::exit(128 + signal);
                }
                crate::say!(
                    "{}: stopping the users and writing the reports of what ran (again to exit at once)",
                    name(signal)
                );
                // Goose clears its killswitch when an attack starts: a signal during the probes
                // must still stop the attack that follows, so it is set again until the end.
                tokio::spawn(async {
                    loop {
                        goose::trigger_killswitch("interrupted");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                });
            }
        });
    }
}
