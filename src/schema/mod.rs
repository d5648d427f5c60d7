//! The recovery-flow JSON Schemas: load (embedded copies, a directory, or an OpenAPI 3 document),
//! compile once, validate many times.
//!
//! INTERFACE (owned by the schema work; other modules code against exactly these names):
//! - [`Schemas::load`] / [`Schemas::embedded`]: compile every component once; share with `Arc`.
//! - [`Schemas::validate`]: `Ok(())` or every [`Violation`] (JSON pointer, rule, offending value).
//! - [`Schemas::is_valid`]: a verdict without error collection.
//! - [`Schemas::fast`]: the load runner's hot path: the verdict straight from the body's bytes,
//!   no DOM ([`fast`]), by rules compiled from the same schema documents (embedded, `--schemas`
//!   or `--spec`); `None` for a component the engine cannot compile, which the full validator
//!   then judges.
//!
//! The schemas are JSON Schema draft 2020-12 documents, one per OpenAPI component, linked by relative
//! `$ref` (`"$ref": "uiContainer.json"`) under one base URI ([`BASE_URI`]). Nothing is fetched: the
//! `jsonschema` crate is built without HTTP or file resolving, so every file is registered as a
//! resource before compiling, and a reference to anything else is a load error. Format validation
//! (`uuid`, `date-time`) is switched on explicitly, because the crate leaves it off under 2020-12.
//!
//! A violation reads like this (the `Display` form):
//!
//! ```text
//! value is not one of [...] (at /state: enum at recoveryFlowState.json#/enum, value null)
//! ```
//!
//! The files read top-down: `component`, `resource`, `error` and `embedded` at the bottom;
//! `openapi` and `source` read a set; `violation` explains a rejection; `fast` compiles the fast
//! path; `set` ([`Schemas`]) compiles both. This file only declares and re-exports.

mod component;
mod embedded;
mod error;
pub mod fast;
mod openapi;
mod resource;
mod set;
mod source;
mod violation;

pub use component::Component;
pub use error::SchemaError;
pub use resource::BASE_URI;
pub use set::Schemas;
pub use source::SchemaSource;
pub use violation::Violation;
