//! The library's error type and its rendering: the one place errors become messages and exit codes.
//!
//! Each module owns a typed error (`SchemaError`, `ServerError`, `CheckError`, `LoadError`,
//! `ReportError`); [`Error`] only gathers them. An error always means "the run could not be carried
//! out" (exit 2); a failed check or threshold is an [`crate::exit::Outcome`], not an error.

use crate::{
    check::CheckError, exit, load::LoadError, report::ReportError, schema::SchemaError,
    server::ServerError,
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
    /// A code source (`--courier-url`, `--mailpit-url`) cannot be used.
    #[error(transparent)]
    Codes(#[from] crate::codes::CodeError),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A completion script or man page could not be written.
    #[error(transparent)]
    Tooling(#[from] crate::cli::tooling::ToolingError),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        exit::ERROR
    }
}

/// Renders an error with its whole cause chain on one line (`outer: inner: innermost`).
pub fn render(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // thiserror's `transparent` and `#[error("...: {0}")]` often repeat the cause already.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
