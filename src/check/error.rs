//! Why a conformance run could not be carried out (exit 2): the one error type of `check`, at the
//! bottom of the module so that every file can return it.

use crate::report::ReportError;
use std::path::PathBuf;

/// Why a conformance run could not be carried out (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `--target` is not an absolute http(s) URL.
    #[error("--target `{value}` is not usable: {reason}; give the base URL of the public API, e.g. https://auth.example.com or https://host/auth")]
    BadTarget {
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--session-cookie` is not `NAME=VALUE`.
    #[error("--session-cookie must be NAME=VALUE as the browser sends it (e.g. ory_kratos_session=MTY...): {reason}")]
    BadCookie {
        /// What is wrong with it.
        reason: String,
    },
    /// Another flag has a value that cannot work.
    #[error("--{flag}: {reason}")]
    BadFlag {
        /// The flag, without dashes.
        flag: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
    /// `--only` selected nothing.
    #[error(
        "--only {pattern} matches no check id; `recovery-harness check --list` prints every id"
    )]
    NothingSelected {
        /// The patterns given.
        pattern: String,
    },
    /// A `--skip` pattern matched nothing (a typo would otherwise run everything).
    #[error(
        "--skip {pattern} matches no check id; `recovery-harness check --list` prints every id"
    )]
    NothingSkipped {
        /// The pattern given.
        pattern: String,
    },
    /// The report directory cannot be created or written.
    #[error(
        "report directory {path} is not writable ({source}); choose another with --report-dir"
    )]
    ReportDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The `--har` file could not be written.
    #[error("cannot write the HAR file {path} ({source}); choose another path with --har")]
    Har {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built (TLS backend).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// Every request failed to connect: nothing could be checked.
    #[error("cannot reach {target}: every request failed to connect ({cause}); is the deployment running, is --target right (and its TLS certificate valid)?")]
    Unreachable {
        /// The base URL (redacted).
        target: String,
        /// The first connection error.
        cause: String,
    },
    /// The embedded reference server could not start.
    #[error("cannot start the embedded reference server: {0}")]
    Embedded(String),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
}
