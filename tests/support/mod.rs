//! Shared support of the integration tests that drive real external programs: the real Ory Kratos
//! ([`kratos`]), the Mailpit mail catcher ([`mailpit`]), a prefix-stripping reverse proxy as an
//! ingress puts in front of Kratos ([`proxy`]), and a HAR 1.2 recorder of scripted exchanges
//! ([`har`]), the recordings of real Kratos ([`recorded`]) and the shape two answers are compared
//! by ([`shape`]), and the built binary's `check` with its report read back ([`harness`]). A test file uses it with `mod support;`.
//!
//! Every helper here is synchronous (it runs its HTTP on a private runtime thread, see
//! [`block_on`]), so it works the same from `#[test]` and from `#[tokio::test]`.
//!
//! A test that needs one of these programs declares it and runs under [`runner`]: when the
//! program is missing it is reported as ignored, with the reason, before it starts, and in CI
//! (`RECOVERY_HARNESS_REQUIRE_KRATOS=1`, `RECOVERY_HARNESS_REQUIRE_TOOLS=1`) it fails instead
//! (docs/testing.md). A helper that finds its program missing all the same panics
//! ([`skip_or_panic`]): nothing passes without the program it needed.

#![allow(dead_code, unreachable_pub)]

pub mod har;
pub mod harness;
pub mod kratos;
pub mod mailpit;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod recorded;
pub mod reference;
pub mod runner;
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

/// A helper's program is missing. A test that declared the program through [`runner::test`] is
/// ignored before it starts, so this is reached only by a test that did not declare it, or in CI
/// (`require_var` = `1`): both fail, with the reason. (The helpers still return `Option` so that
/// branches written before [`runner`] keep compiling; they never return `None`.)
pub fn skip_or_panic(what: &str, reason: &str, require_var: &str) {
    if required(require_var) {
        panic!("{what} is required ({require_var}=1) but unavailable: {reason}");
    }
    panic!(
        "{what} is unavailable: {reason}. Declare it (support::runner::test(name, &[Needs::...], \
         f)) so that the test is reported as ignored without it: docs/testing.md"
    );
}
