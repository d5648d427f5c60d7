//! Reports: one result model ([`model`]), one module per output format.
//!
//! INTERFACE (owned by the report work; `check/` and `load/` code against these names):
//! - [`write_check_reports`]: `conformance.json`, `junit.xml`, `summary.md` into a directory.
//! - [`terminal::render`] with [`terminal::TerminalOptions`]: the human view of a run.
//! - [`load_summary`]: the `load-summary.json` model and writer (owned by the load work).

pub mod load_summary;
pub mod model;
pub mod terminal;

pub use model::{redact, CheckResult, Evidence, RuleSource, RunReport, Status, Summary};

use std::path::{Path, PathBuf};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report directory or a file in it could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `conformance.json`, `junit.xml` and `summary.md` into `dir` (created if missing, earlier
/// files of those names replaced) and returns the paths written.
pub fn write_check_reports(_report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    Err(ReportError::Io {
        path: dir.to_path_buf(),
        source: std::io::Error::other("report writers are not yet implemented"),
    })
}
