//! Why a schema set could not be loaded or compiled.

use std::path::PathBuf;

/// Why the schemas could not be loaded or compiled.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A schema file or the OpenAPI document could not be read.
    #[error("cannot read {path}; check the path given to --schemas/--spec")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{path} is not valid JSON")]
    Json {
        /// The file (or `embedded:<name>` for a built-in copy).
        path: PathBuf,
        /// The parse error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A component the harness validates against is not in the source.
    #[error("{source_name} has no `{component}` schema (expected {expected}); add it or use the embedded schemas")]
    MissingComponent {
        /// The source, as a phrase (`the schema directory x`).
        source_name: String,
        /// The component name.
        component: &'static str,
        /// Where it was looked for (a file path or `#/components/schemas/<name>`).
        expected: String,
    },
    /// The document is not an OpenAPI 3 document with `components/schemas`.
    #[error("{path} is not an OpenAPI 3 document: {reason}")]
    NotOpenApi {
        /// The document.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// A `$ref` in an OpenAPI document points outside `#/components/schemas` or at a missing component.
    #[error("{path}: `$ref` \"{reference}\" at {location} cannot be resolved ({reason})")]
    UnresolvedRef {
        /// The document.
        path: PathBuf,
        /// The reference as written.
        reference: String,
        /// JSON pointer of the `$ref` in the document.
        location: String,
        /// Why it cannot be resolved.
        reason: &'static str,
    },
    /// The schema set could not be registered (bad `$id`, unresolvable reference, ...).
    #[error("{source_name}: the schemas cannot be registered: {message}")]
    Registry {
        /// The source, as a phrase.
        source_name: String,
        /// The resolver's message.
        message: String,
    },
    /// A component's schema is not a valid draft 2020-12 schema, or references something missing.
    #[error("{source_name}: the `{component}` schema does not compile: {message}")]
    Compile {
        /// The source, as a phrase.
        source_name: String,
        /// The component name.
        component: &'static str,
        /// The compiler's message (names the offending keyword or reference).
        message: String,
    },
}
