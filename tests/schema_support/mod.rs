//! Helpers shared by the `schema_*` integration tests: fixture loading, the schema sources, and
//! JSON-pointer mutations.

#![allow(dead_code, unreachable_pub)]

use recovery_harness::schema::{Component, SchemaSource, Schemas};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/kratos/<name>` parsed.
pub fn fixture(name: &str) -> Value {
    let path = manifest_dir().join("tests/fixtures/kratos").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The copy of Kratos's `spec/api.json` kept for tests (CI must not depend on `../shared`).
pub fn official_spec_path() -> PathBuf {
    manifest_dir().join("tests/fixtures/kratos-openapi.json")
}

pub fn embedded() -> Schemas {
    Schemas::embedded().expect("the embedded schemas compile")
}

pub fn from_dir() -> Schemas {
    Schemas::load(&SchemaSource::Dir(manifest_dir().join("schemas")))
        .expect("schemas/ loads as a directory")
}

pub fn official() -> Schemas {
    Schemas::load(&SchemaSource::OpenApi(official_spec_path()))
        .expect("the official Kratos OpenAPI document loads")
}

/// Every fixture with the component its body is validated against, as the server sends it.
pub const FIXTURES: &[(&str, Component)] = &[
    ("flow-create-api.json", Component::RecoveryFlow),
    ("flow-create-browser.json", Component::RecoveryFlow),
    ("flow-create-link.json", Component::RecoveryFlow),
    ("flow-sent-email.json", Component::RecoveryFlow),
    ("flow-sent-email-link.json", Component::RecoveryFlow),
    ("flow-400-email-missing.json", Component::RecoveryFlow),
    ("flow-400-email-invalid.json", Component::RecoveryFlow),
    ("flow-400-email-invalid-v1.1.json", Component::RecoveryFlow),
    ("flow-wrong-code.json", Component::RecoveryFlow),
    ("flow-passed-challenge.json", Component::RecoveryFlow),
    ("flow-expired-retry.json", Component::RecoveryFlow),
    ("flow-v2-awaiting-address.json", Component::RecoveryFlow),
    (
        "error-session-already-available.json",
        Component::ErrorGeneric,
    ),
    ("error-return-to-forbidden.json", Component::ErrorGeneric),
    ("error-recovery-disabled.json", Component::ErrorGeneric),
    ("error-not-found.json", Component::ErrorGeneric),
    ("error-not-found-update.json", Component::ErrorGeneric),
    ("error-expired-api.json", Component::ErrorGeneric),
    ("error-expired-browser.json", Component::ErrorGeneric),
    ("error-csrf.json", Component::ErrorGeneric),
    ("error-api-cookie-rejected.json", Component::ErrorGeneric),
    (
        "error-browser-location-change-required.json",
        Component::ErrorBrowserLocationChangeRequired,
    ),
    (
        "error-expired-rich.json",
        Component::SelfServiceFlowExpiredError,
    ),
];

/// Replaces the value at `pointer` (the parent must exist; an object key may be new).
pub fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = split(pointer);
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key, value);
        }
        Some(Value::Array(items)) => {
            let index: usize = key
                .parse()
                .unwrap_or_else(|_| panic!("{pointer}: bad index"));
            items[index] = value;
        }
        _ => panic!("{pointer}: no object or array at {parent}"),
    }
}

/// Removes the value at `pointer`; panics if there is none (a mutation that changes nothing proves nothing).
pub fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = split(pointer);
    let removed = match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(&key),
        Some(Value::Array(items)) => {
            let index: usize = key
                .parse()
                .unwrap_or_else(|_| panic!("{pointer}: bad index"));
            (index < items.len()).then(|| items.remove(index))
        }
        _ => None,
    };
    assert!(removed.is_some(), "{pointer}: nothing to remove");
}

fn split(pointer: &str) -> (&str, String) {
    let cut = pointer
        .rfind('/')
        .unwrap_or_else(|| panic!("{pointer}: not a pointer"));
    let key = pointer[cut + 1..].replace("~1", "/").replace("~0", "~");
    (&pointer[..cut], key)
}

/// The fast path's verdict on `body` (serialized) must be jsonschema's: the equivalence the load
/// runner relies on. A serialized `Value` has no repeated key and is JSON, so the fast path must
/// decide. Returns the message of a disagreement. `schemas` must cover `component`.
pub fn fast_disagreement(schemas: &Schemas, component: Component, body: &Value) -> Option<String> {
    use recovery_harness::schema::fast::Fast;
    let bytes = serde_json::to_vec(body).expect("a Value serializes");
    let slow = schemas.is_valid(component, body);
    let fast = schemas
        .fast(component, &bytes)
        .unwrap_or_else(|| panic!("no fast path for {component}"));
    match (&fast, slow) {
        (Fast::Valid(_), true) | (Fast::Invalid, false) => None,
        _ => Some(format!(
            "fast path says {fast:?}, jsonschema says valid={slow} for {component} on {body}"
        )),
    }
}
