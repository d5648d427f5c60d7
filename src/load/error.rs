//! Why a load run could not be carried out (exit 2): the one error type of `load`, at the bottom
//! of the module so that every file can return it, with the helper that names a bad flag.

use std::path::PathBuf;

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
    Scenario(#[from] super::scenario::ScenarioError),
    /// The baseline could not be read.
    #[error(transparent)]
    Baseline(#[from] super::baseline::BaselineError),
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
    /// An open-model run (or a capacity search) stopped because the target gave no answer for
    /// a whole `--timeout` while requests waited; the reports of what ran are written.
    #[error("the target {url} stopped answering: no response for {silent_s:.1}s (--timeout) while requests waited, {at}; the reports cover what ran")]
    StoppedAnswering {
        /// The target.
        url: String,
        /// How long it was silent.
        silent_s: f64,
        /// Where the run was (`at 400/s, 3.2s into the step`).
        at: String,
    },
    /// The load generator could not start a capacity step's iterations on time, twice: the
    /// step measured the generator, not the target.
    #[error("the load generator could not start the iterations of {rate}/s on time (start delay p99 {lag_ms:.0} ms against a p99 latency of {p99_ms:.0} ms, twice): its own CPU is the limit here, not the target's; run it on a machine with more CPU to spare; the reports cover the steps that ran")]
    GeneratorLimited {
        /// The rate it could not offer.
        rate: String,
        /// Its start delays' 99th percentile.
        lag_ms: f64,
        /// The step's latencies' 99th percentile.
        p99_ms: f64,
    },
    /// The shards could not be merged.
    #[error(transparent)]
    Merge(#[from] super::merge::MergeError),
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

/// A Goose error as one line: an invalid option's own detail, else the cause chain.
pub(crate) fn goose_error(e: &goose::GooseError) -> String {
    match e {
        goose::GooseError::InvalidOption { detail, .. } => detail.clone(),
        other => crate::causes::render(other),
    }
}
