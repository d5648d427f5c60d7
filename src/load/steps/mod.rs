//! The hot path: one Goose transaction per scenario step. Each transaction makes its request
//! through Goose (so Goose times and counts it), checks the status against the step's
//! expectations, validates the body against the compiled schema (shared, compiled once), and
//! turns any mismatch into a Goose failure whose reason names what broke.
//!
//! From the top down (a file imports only files below it):
//!
//! | file | owns |
//! |------|------|
//! | [`transactions`] | the steps as Goose transactions; the open model's ticket per iteration |
//! | [`read_code`] | the read-code step against Mailpit (`--mailpit-url`) |
//! | [`exchange`] | one request: sent, its status checked, its body judged, its verdict recorded |
//! | [`courier`] | the newest recovery code in a courier listing |
//! | [`body`] | a body against the step's expectation |
//! | [`shared`] | what every transaction shares (the run's redactor of failure excerpts too), the validation mode, a user's state |
//! | [`stats`] | the run's own counters |

pub mod body;
pub mod courier;
pub mod exchange;
pub mod read_code;
pub mod shared;
pub mod stats;
pub mod transactions;

pub use body::{check_body, check_bytes, server_error};
pub use courier::{newest_code, REDACTED_HINT};
pub use shared::{MailpitCodes, Shared, ValidateMode};
pub use stats::LiveStats;
pub use transactions::transactions;
