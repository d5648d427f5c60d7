//! [`MonitorError`]: why `monitor` could not start or keep serving (exit 2). A run that fails,
//! errs or hangs is not one of these: it is a result, exported as metrics.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why `monitor` could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The run configuration (target, credentials, the suite) is unusable.
    #[error(transparent)]
    Check(#[from] crate::check::CheckError),
    /// A production-safe check needs one that is not safe (a catalogue defect).
    #[error("the production-safe suite needs {check}, which is not safe for production; monitor runs nothing rather than send mail")]
    UnsafePrerequisite {
        /// The prerequisite.
        check: &'static str,
    },
    /// A monitor flag is unusable.
    #[error("--{flag}: {reason}")]
    BadFlag {
        /// The flag, without dashes.
        flag: &'static str,
        /// What is wrong and what to give instead.
        reason: String,
    },
    /// The metrics address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another process using the port? choose another --listen)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The metrics server stopped with an I/O error.
    #[error("the metrics server stopped with an I/O error")]
    Serve(#[source] std::io::Error),
    /// `--report-dir` cannot be written.
    #[error("cannot write to --report-dir {path}")]
    ReportDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::check::CheckError,
    },
    /// The signal handlers could not be installed.
    #[error("cannot listen for SIGINT and SIGTERM")]
    Signals(#[source] std::io::Error),
}
