//! [`ReportError`]: why a report file could not be written. At the bottom of `report/`: the
//! writers of every format and of the load summary return it.

use std::path::PathBuf;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report directory or a file in it could not be written.
    #[error("cannot write {path}: {source} (choose a writable --report-dir)")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
