//! Test support that integration tests, benches and the load tests share, compiled only with the
//! `testing` feature (the crate's dev-dependency on itself turns it on; `cargo build` and
//! `cargo install` leave it out): deliberately broken variants of the reference server (one fault
//! per variant), used to prove that every conformance check can fail. Not part of the
//! user-facing contract.
//!
//! A [`Fault`] is a request matcher plus one action, applied by an axum middleware wrapped around
//! the real reference server's router ([`crate::server::spawn_with`]), or a server configuration
//! switch (recovery disabled). Actions rewrite the answer (a JSON field, the status, the content
//! type, the whole body) or the request (dropping a header or a query parameter), or break the
//! transport (a delay longer than any timeout, a truncated body, a reset, an oversized body).
//! Matchers look only at what a request is (route, method, query, headers, body fields) and at
//! the answer's status, never at the harness's `x-recovery-harness-probe` header: a variant is
//! broken for every request of its kind, as a real server would be.
//!
//! From the top down (a file imports only files below it):
//!
//! | file | owns |
//! |------|------|
//! | this file | the public face: re-exports |
//! | `spawn` | servers for the tests: faulty, faithful, recording, stalling |
//! | `capacity` | a reference server of known capacity, for the load tests |
//! | `faults/` | every fault, one file per family ([`faults::FAMILIES`]) |
//! | `apply` | the middleware that applies a fault |
//! | `rewrite` | body rewrites, replacement answers and request matchers the faults are made of |
//! | `model` | what a fault is: [`Route`], [`RequestInfo`], [`Match`], [`Action`], [`Fault`] |

mod apply;
pub mod capacity;
pub mod faults;
pub mod model;
mod rewrite;
mod spawn;

pub use faults::{all as faults, fault};
pub use model::{Action, Fault, Match, Memory, RequestInfo, Route, BUSY_WORK, STALL};
pub use spawn::{
    spawn_faithful, spawn_faulty, spawn_faulty_twin, spawn_recording,
    spawn_stalling_under_concurrency, Received, Seen,
};
