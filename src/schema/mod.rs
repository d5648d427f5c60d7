//! The recovery-flow JSON Schemas: load (embedded copies, a directory, or an OpenAPI 3 document),
//! compile once, validate many times.
//!
//! INTERFACE (owned by the schema work; other modules code against exactly these names):
//! - [`Schemas::load`] / [`Schemas::embedded`]: compile every component once; share with `Arc`.
//! - [`Schemas::validate`]: `Ok(())` or every [`Violation`] (JSON pointer, rule, offending value).
//! - [`Schemas::is_valid`]: the hot path for load tests (no error collection).

use serde_json::Value;
use std::path::PathBuf;

/// Where the schemas come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SchemaSource {
    /// The copies of `schemas/` embedded in the binary.
    #[default]
    Embedded,
    /// A directory of schema files laid out like `schemas/` (`--schemas DIR`).
    Dir(PathBuf),
    /// An OpenAPI 3 document whose `components/schemas` are used (`--spec FILE`).
    OpenApi(PathBuf),
}

/// `--schemas DIR` / `--spec FILE`, shared by `check` and `load`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SchemaArgs {
    /// Validate against the JSON Schema files in DIR instead of the embedded ones.
    #[arg(long, value_name = "DIR", conflicts_with = "spec")]
    pub schemas: Option<PathBuf>,
    /// Validate against the `components/schemas` of an OpenAPI 3 document (e.g. a Kratos release's api.json).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
}

impl SchemaArgs {
    /// The source these flags select.
    pub fn source(&self) -> SchemaSource {
        match (&self.schemas, &self.spec) {
            (Some(dir), _) => SchemaSource::Dir(dir.clone()),
            (None, Some(file)) => SchemaSource::OpenApi(file.clone()),
            (None, None) => SchemaSource::Embedded,
        }
    }
}

/// A spec component that a recovery response (or request) is validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// `recoveryFlow`: every 200 (and 400 flow-with-errors) body.
    RecoveryFlow,
    /// `errorGeneric`: the `{"error": {...}}` envelope.
    ErrorGeneric,
    /// `errorBrowserLocationChangeRequired`: the 422 after a correct code (as sent on the wire).
    ErrorBrowserLocationChangeRequired,
    /// `selfServiceFlowExpiredError`: the rich 410.
    SelfServiceFlowExpiredError,
    /// `continueWith`: one item of `continue_with`.
    ContinueWith,
}

impl Component {
    /// The component's name as in the OpenAPI document (`recoveryFlow`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Component::RecoveryFlow => "recoveryFlow",
            Component::ErrorGeneric => "errorGeneric",
            Component::ErrorBrowserLocationChangeRequired => "errorBrowserLocationChangeRequired",
            Component::SelfServiceFlowExpiredError => "selfServiceFlowExpiredError",
            Component::ContinueWith => "continueWith",
        }
    }
}

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value in the instance (`/ui/nodes/1/attributes/type`).
    pub pointer: String,
    /// The rule broken, as the schema keyword and its location (`enum at /properties/state`).
    pub rule: String,
    /// The offending value, JSON-encoded and cut to a readable length.
    pub value: String,
    /// A human sentence.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (at {}: {}, value {})",
            self.message, self.pointer, self.rule, self.value
        )
    }
}

/// Why the schemas could not be loaded or compiled.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Placeholder until the schema work lands.
    #[error("schemas are not yet implemented")]
    NotImplemented,
}

/// The compiled validators, one per [`Component`]. Cheap to share (`Arc<Schemas>`).
#[derive(Debug)]
pub struct Schemas {
    _private: (),
}

impl Schemas {
    /// Loads and compiles every component from `source`.
    pub fn load(_source: &SchemaSource) -> Result<Self, SchemaError> {
        Err(SchemaError::NotImplemented)
    }

    /// The embedded schemas, compiled.
    pub fn embedded() -> Result<Self, SchemaError> {
        Self::load(&SchemaSource::Embedded)
    }

    /// Validates `instance` against `component`, collecting every violation.
    pub fn validate(&self, _component: Component, _instance: &Value) -> Result<(), Vec<Violation>> {
        Ok(())
    }

    /// Whether `instance` is valid against `component` (the allocation-free hot path).
    pub fn is_valid(&self, _component: Component, _instance: &Value) -> bool {
        true
    }
}
