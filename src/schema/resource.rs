//! One schema document of a set, registered under its URI: what every loader produces and what
//! both validators compile.

use serde_json::Value;

/// The base URI every schema's `$id` lives under, so that relative `$ref`s resolve offline.
///
/// `.invalid` is reserved (RFC 2606): the URI names the schemas, it is never fetched.
pub const BASE_URI: &str = "https://recovery-harness.invalid/schemas/";

/// A parsed schema document, registered under `uri`.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// `BASE_URI` + `file`.
    pub(crate) uri: String,
    /// The file name within the set (`recoveryFlow.json`).
    pub(crate) file: String,
    pub(crate) contents: Value,
}
