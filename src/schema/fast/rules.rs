//! [`Rules`]: the fast path of one schema set, compiled from the very documents the full
//! validator compiles.

use super::compile::{compile, FullValidator};
use super::pass;
use super::program::{NodeId, Program};
use super::verdict::Fast;
use crate::schema::component::Component;
use crate::schema::resource::Resource;
use std::sync::Arc;

/// The compiled rules of a schema set: a body's verdict straight from its bytes.
///
/// Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Rules(Arc<Program>);

impl Rules {
    /// Compiles every component of `resources`; `full` builds the `jsonschema` validator of a
    /// schema location, for the schema objects the engine hands to it.
    pub(crate) fn compile(resources: &[Resource], full: FullValidator<'_>) -> Rules {
        Rules(Arc::new(compile(resources, full)))
    }

    /// The pass's verdict on `bytes` against `component`; `None` when the engine cannot check
    /// this component ([`Rules::why_not`]), and the full validator must.
    pub fn check<'a>(&self, component: Component, bytes: &'a [u8]) -> Option<Fast<'a>> {
        let entry = self.entry(component)?;
        Some(pass::run(&self.0, entry, bytes, false).0)
    }

    /// Whether the engine checks `component` bodies.
    pub fn covers(&self, component: Component) -> bool {
        self.entry(component).is_some()
    }

    /// Why the engine does not check `component` bodies (a draft other than 2020-12, dynamic
    /// references...); `None` when it does.
    pub fn why_not(&self, component: Component) -> Option<&str> {
        self.0.entries[component.index()]
            .as_ref()
            .err()
            .map(String::as_str)
    }

    pub(super) fn program(&self) -> &Program {
        &self.0
    }

    pub(super) fn entry(&self, component: Component) -> Option<NodeId> {
        self.0.entries[component.index()].as_ref().ok().copied()
    }
}
