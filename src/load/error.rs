//! Why a load run could not be carried out (exit 2): `LoadError`, with the helper that names a bad
//! flag, and the errors of the scenario files, the baseline and `load merge` it wraps; at the
//! bottom of the module so that every file can return them.

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
    Merge(#[from] MergeError),
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

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Neither an embedded scenario nor a readable file.
    #[error("unknown scenario `{name}`: give one of {known} or the path of a scenario file")]
    Unknown {
        /// The name given.
        name: String,
        /// The embedded scenarios' names.
        known: String,
    },
    /// The file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the scenario format.
    #[error("scenario {origin} is malformed: {message}")]
    Syntax {
        /// Where the scenario came from.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file parses but says something that cannot run.
    #[error("scenario {origin} is invalid: {message}")]
    Invalid {
        /// Where the scenario came from.
        origin: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file (or `report.json` in the directory) could not be read.
    #[error("cannot read the baseline {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// It is not a Goose JSON report.
    #[error("the baseline {path} is not a Goose JSON report (report.json of an earlier `load` run): {reason}")]
    NotAReport {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// Why shards could not be merged (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A file could not be read or parsed.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A directory holds no shard report.
    #[error("{path} is no shard report directory: it has no load-summary.json with a \"shard\" object (run `load --shard I/N --report-dir DIR`), nor subdirectories that do")]
    NotAShard {
        /// The directory.
        path: PathBuf,
    },
    /// Shards are missing.
    #[error("{} {} of {count} {} missing: got {got} (each of 0 to {} must be given once)", if .missing.len() == 1 { "shard" } else { "shards" }, list(.missing), if .missing.len() == 1 { "is" } else { "are" }, .count - 1)]
    Missing {
        /// The shard count.
        count: usize,
        /// The missing indexes.
        missing: Vec<usize>,
        /// The indexes present.
        got: String,
    },
    /// A shard is given twice.
    #[error("shard {index} of {count} is given twice: {first} and {second}")]
    Duplicated {
        /// The index.
        index: usize,
        /// The count.
        count: usize,
        /// One directory.
        first: String,
        /// The other.
        second: String,
    },
    /// Shards of different runs.
    #[error("the shards are not of one run: {what} `{a}` in {dir_a} but `{b}` in {dir_b}")]
    Mismatch {
        /// What differs.
        what: &'static str,
        /// One value.
        a: String,
        /// Its directory.
        dir_a: String,
        /// The other value.
        b: String,
        /// Its directory.
        dir_b: String,
    },
    /// The merged summary would overwrite a shard's reports.
    #[error("--report-dir {path} is one of the shards' directories: give the merge its own (e.g. DIR/merged)")]
    OutputIsShard {
        /// The directory.
        path: PathBuf,
    },
    /// A threshold rule cannot be judged.
    #[error("invalid --threshold: {0}")]
    Threshold(String),
}

/// `1, 3, 4`.
pub(crate) fn list(v: &[usize]) -> String {
    v.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
