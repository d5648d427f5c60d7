//! How an error reads as one line: its whole cause chain, `outer: inner: innermost`.
//!
//! A leaf that imports nothing of the crate, so every module may use it to fold a cause into the
//! text of its own typed error (a transport error into `CheckError::Client`, say). It prints
//! nothing and decides no exit code: which errors stop a command, how they are shown and how they
//! exit is the command line's (`cli/error.rs`).

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
