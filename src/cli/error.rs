//! The one place errors become messages and exit codes.
//!
//! Every module below the command line returns its own typed error (`SchemaError`,
//! `ServerError`, `CheckError`, `LoadError`) and never this one. [`Error`] gathers those that can
//! stop a command, with the command line's own ([`ToolingError`]), and [`report`] prints one once,
//! with its cause chain ([`crate::causes::render`]), and gives its exit code. It lives in `cli/`
//! because it names the errors of every module and of the CLI itself: here it stands above all it
//! gathers, so no arrow runs back up to it. An error always means "the run could not be carried
//! out" (exit 2); a failed check or threshold is an [`crate::exit::Outcome`], not an error.

use super::tooling::ToolingError;
use crate::{
    check::CheckError, exit, load::LoadError, monitor::MonitorError, report::ReportError,
    schema::SchemaError, server::ServerError,
};

/// Any error that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The schemas could not be loaded or compiled.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The reference server could not start or failed while serving.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The conformance run could not be carried out.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The load run could not be carried out.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The monitor could not start or serve.
    #[error(transparent)]
    Monitor(#[from] MonitorError),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A completion script or man page could not be written.
    #[error(transparent)]
    Tooling(#[from] ToolingError),
    /// The async runtime could not be started.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        exit::ERROR
    }
}

/// Prints `err` on stderr (`error: ` and its cause chain on one line) and returns its exit code.
pub fn report(err: &Error) -> u8 {
    crate::say!("error: {}", crate::causes::render(err));
    err.exit_code()
}
