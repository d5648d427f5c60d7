//! Shared support of the integration tests that drive real external programs: the real Ory Kratos
//! ([`kratos`]), the Mailpit mail catcher ([`mailpit`]), a prefix-stripping reverse proxy as an
//! ingress puts in front of Kratos ([`proxy`]), and a HAR 1.2 recorder of scripted exchanges
//! ([`har`]), the recordings of real Kratos ([`recorded`]) and the shape two answers are compared
//! by ([`shape`]), and the built binary's `check` with its report read back ([`harness`]). A test file uses it with `mod support;`.
//!
//! Every helper here is synchronous (it runs its HTTP on a private runtime thread, see
//! [`block_on`]), so it works the same from `#[test]` and from `#[tokio::test]`.
//!
//! Skip rules (docs/testing.md): a missing program prints one loud `!!!!! SKIPPED ... !!!!!` line
//! and the helper returns `None`; when the matching `RECOVERY_HARNESS_REQUIRE_*` variable is `1`
//! (CI), it panics instead.

#![allow(dead_code, unreachable_pub)]

pub mod har;
pub mod harness;
pub mod kratos;
pub mod mailpit;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod recorded;
pub mod shape;

use std::future::Future;

/// Runs `fut` to completion on a fresh current-thread runtime in its own thread, so a synchronous
/// helper can use `reqwest` even when the caller is itself inside a tokio runtime (where
/// `block_on` would panic).
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for a test helper")
            .block_on(fut)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Whether the variable `name` is set to `1` (the `RECOVERY_HARNESS_REQUIRE_*` convention).
pub fn required(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.trim() == "1")
}

/// A free TCP port on 127.0.0.1 (bound, read, released: another process may take it before the
/// caller binds it, which the starters handle by retrying).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral loopback port")
}

/// Prints the one loud skip line, or panics with the same text when `require_var` is `1`.
pub fn skip_or_panic(what: &str, reason: &str, require_var: &str) {
    if required(require_var) {
        panic!("{what} is required ({require_var}=1) but unavailable: {reason}");
    }
    // Written to the stream itself, not through `eprintln!`, which the test harness captures and
    // hides for a passing test: a skip must be seen.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "!!!!! SKIPPED ({what}): {reason} !!!!!");
}
