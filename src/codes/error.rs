//! [`CodeError`]: why no code could be read. At the bottom of `codes/`: every file returns it.

use std::time::Duration;

/// The body Kratos's courier listing shows outside `--dev`.
pub const REDACTED_BODY: &str = "<redacted-unless-dev-mode>";

/// Why no code could be read.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The source's URL cannot be used.
    #[error("{flag} `{value}` is not usable: {reason}")]
    BadUrl {
        /// `--courier-url` or `--mailpit-url`.
        flag: &'static str,
        /// The value given, its `user:password@` redacted.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client of the code source: {0}")]
    Client(String),
    /// The request did not get an answer.
    #[error("{source_name} at {url} did not answer: {cause}")]
    Transport {
        /// The source.
        source_name: &'static str,
        /// The URL requested.
        url: String,
        /// The transport error.
        cause: String,
    },
    /// The source answered with an unexpected status.
    #[error("{source_name} answered {status} to GET {url}: {excerpt}")]
    Status {
        /// The source.
        source_name: &'static str,
        /// The URL requested.
        url: String,
        /// The status.
        status: u16,
        /// The start of the body, secrets redacted.
        excerpt: String,
    },
    /// The source answered something that is not its listing or message.
    #[error("{source_name} answered GET {url} with a body that is not what it serves: {reason}")]
    Body {
        /// The source.
        source_name: &'static str,
        /// The URL requested.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Kratos hides message bodies outside dev mode.
    #[error("the courier at {url} shows message bodies as `{REDACTED_BODY}`: run Kratos with `kratos serve --dev`, or read the mail from a mail catcher with --mailpit-url")]
    Redacted {
        /// The listing URL.
        url: String,
    },
    /// No new message with a code arrived in time.
    #[error("no new recovery code for {recipient} arrived at {source_name} ({url}) within {waited:?}{seen}")]
    NoCode {
        /// The source.
        source_name: &'static str,
        /// The listing URL.
        url: String,
        /// The address.
        recipient: String,
        /// How long it was polled.
        waited: Duration,
        /// What was there instead (empty, or "; N new messages without a code").
        seen: String,
    },
}
