//! Where the load goes ([`TargetSpec`]): the in-process reference server or a deployment's base
//! URL, checked with the rules `check` applies to `--target`, and shown with its credentials
//! hidden.

use super::error::{flag, LoadError};

/// Flows the embedded server keeps: enough for any scenario's read-back, bounded so that a long
/// run does not grow the process with every flow it creates.
pub(crate) const EMBEDDED_MAX_FLOWS: usize = 100_000;

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
