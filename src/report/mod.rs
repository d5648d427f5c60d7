//! Reports: one result model ([`model`]), one module per output format.

pub mod model;

pub use model::{redact, CheckResult, Evidence, RuleSource, RunReport, Status, Summary};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report directory or a file in it could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
