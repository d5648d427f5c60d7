//! The load runner (`recovery-harness load`): Goose scenarios on flow-creation throughput, every
//! response validated, the run gated by Goose's threshold rules, schema failures and an optional
//! baseline regression limit.
//!
//! A run, by the module that owns each part:
//!
//! | module | owns |
//! |--------|------|
//! | [`plan`] | the [`Plan`] (every flag and the scenario checked, nothing sent; made from the flags by `cli/load.rs`) → the Goose attack (its configuration, the steps as transactions) |
//! | [`reports`] | the report directory ([`Reports`]): prepared, published atomically, discarded |
//! | [`run`](mod@run) | the target (in-process reference server, or `--target` probed once), executing the attack |
//! | [`figures`] | Goose's request metrics → plain figures ([`crate::report::load_summary::Figures`]) |
//! | [`summary`] | a finished attack → the plain summary ([`crate::report::load_summary`]), the verdict, `load-summary.json`, the console |
//! | [`steps`] | the hot path: each step's request, status and body checks |
//! | [`scenario`] | the scenario files |
//! | [`baseline`] | `--baseline` / `--max-regression` |
//! | [`shard`], [`merge`] | `--shard I/N` and `load merge DIR...` |
//! | [`signals`] | SIGINT / SIGTERM: the verdict `interrupted` |
//! | [`console`] | the progress line and the final table |
//!
//! Only this module knows Goose: `report/` gets plain data.

pub mod baseline;
pub mod console;
pub mod figures;
pub mod merge;
pub mod plan;
pub mod reports;
pub mod run;
pub mod scenario;
pub mod shard;
pub mod signals;
pub mod steps;
pub mod summary;

pub use plan::Plan;
pub use reports::Reports;
pub use run::run;

use baseline::BaselineError;
use scenario::ScenarioError;
use std::path::PathBuf;
use std::time::Duration;

/// The longest `--duration` accepted: a load run must end by itself.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The most users accepted (each has its own HTTP client and connection).
pub const MAX_USERS: usize = 10_000;
/// Flows the embedded server keeps: enough for any scenario's read-back, bounded so that a long
/// run does not grow the process with every flow it creates.
pub(crate) const EMBEDDED_MAX_FLOWS: usize = 100_000;
/// Why a load run could not be carried out (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A flag's value cannot run.
    #[error("invalid {flag}: {message}")]
    Flag {
        /// The flag.
        flag: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The baseline could not be read.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The report directory cannot be written.
    #[error("report directory {path} is not writable: {source}")]
    ReportDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The target (or admin API) did not answer the probe.
    #[error("cannot reach {what} {url}: {reason}; is it running and is the URL right?")]
    Unreachable {
        /// `target` or `admin API`.
        what: &'static str,
        /// The URL probed.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The attack ran but got no response at all.
    #[error("the target {url} answered none of the {requests} requests ({transport_errors} transport errors): it stopped responding")]
    NoResponse {
        /// The target.
        url: String,
        /// Requests sent.
        requests: u64,
        /// Requests without a response.
        transport_errors: u64,
    },
    /// The shards could not be merged.
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    /// Goose refused the configuration or failed.
    #[error("goose: {0}")]
    Goose(String),
    /// The embedded reference server could not start.
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

/// A [`LoadError::Flag`]: `flag` (with its dashes) and what is wrong with its value.
pub fn flag(flag: &'static str, message: impl Into<String>) -> LoadError {
    LoadError::Flag {
        flag,
        message: message.into(),
    }
}

/// Where the load goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// The in-process reference server.
    Embedded,
    /// A deployment's base URL (no trailing slash).
    External(String),
}
/// Checks a base URL with the rules `check` applies to `--target` ([`crate::input::parse_base_url`]);
/// returns it without a trailing slash.
pub fn check_base_url(flag_name: &'static str, raw: &str) -> Result<String, LoadError> {
    crate::input::parse_base_url(raw)
        .map(|url| url.as_str().trim_end_matches('/').to_owned())
        .map_err(|e| {
            flag(
                flag_name,
                format!(
                    "`{}`: {}; give e.g. http://127.0.0.1:4433 or https://host/auth",
                    e.shown, e.reason
                ),
            )
        })
}

/// `url` with any user:password replaced, for output.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("redacted");
            let _ = u.set_password(None);
            u.as_str().trim_end_matches('/').to_owned()
        }
        _ => url.to_owned(),
    }
}
pub(crate) fn goose_error(e: &goose::GooseError) -> String {
    match e {
        goose::GooseError::InvalidOption { detail, .. } => detail.clone(),
        other => crate::causes::render(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_credentials() {
        assert_eq!(
            redact_url("http://u:p@h:1/auth"),
            "http://redacted@h:1/auth"
        );
        assert_eq!(redact_url("http://h:1/auth"), "http://h:1/auth");
    }
}
