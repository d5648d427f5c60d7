//! The recovery-flow JSON Schemas: load (embedded copies, a directory, or an OpenAPI 3 document),
//! compile once, validate many times.
//!
//! INTERFACE (owned by the schema work; other modules code against exactly these names):
//! - [`Schemas::load`] / [`Schemas::embedded`]: compile every component once; share with `Arc`.
//! - [`Schemas::validate`]: `Ok(())` or every [`Violation`] (JSON pointer, rule, offending value).
//! - [`Schemas::is_valid`]: a verdict without error collection.
//! - [`Schemas::fast`]: the load runner's hot path: the verdict straight from the body's bytes,
//!   no DOM ([`fast`]), for the embedded schemas.
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

mod embedded;
pub mod fast;
mod openapi;
mod violation;

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The base URI every schema's `$id` lives under, so that relative `$ref`s resolve offline.
///
/// `.invalid` is reserved (RFC 2606): the URI names the schemas, it is never fetched.
pub const BASE_URI: &str = "https://recovery-harness.invalid/schemas/";

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

impl std::fmt::Display for SchemaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaSource::Embedded => f.write_str("the embedded schemas"),
            SchemaSource::Dir(dir) => write!(f, "the schema directory {}", dir.display()),
            SchemaSource::OpenApi(file) => write!(f, "the OpenAPI document {}", file.display()),
        }
    }
}

/// A spec component that a recovery response (or part of one) is validated against.
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
    /// `genericError`: the object inside the `error` envelope.
    GenericError,
    /// `uiContainer`: a flow's `ui`.
    UiContainer,
    /// `uiNode`: one item of `ui.nodes`.
    UiNode,
    /// `uiText`: one message (`ui.messages[i]`, a node's message, a label).
    UiText,
}

impl Component {
    /// Every component, in declaration order (the order they are compiled in).
    pub const ALL: [Component; 9] = [
        Component::RecoveryFlow,
        Component::ErrorGeneric,
        Component::ErrorBrowserLocationChangeRequired,
        Component::SelfServiceFlowExpiredError,
        Component::ContinueWith,
        Component::GenericError,
        Component::UiContainer,
        Component::UiNode,
        Component::UiText,
    ];

    /// The component's name as in the OpenAPI document (`recoveryFlow`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Component::RecoveryFlow => "recoveryFlow",
            Component::ErrorGeneric => "errorGeneric",
            Component::ErrorBrowserLocationChangeRequired => "errorBrowserLocationChangeRequired",
            Component::SelfServiceFlowExpiredError => "selfServiceFlowExpiredError",
            Component::ContinueWith => "continueWith",
            Component::GenericError => "genericError",
            Component::UiContainer => "uiContainer",
            Component::UiNode => "uiNode",
            Component::UiText => "uiText",
        }
    }

    /// The component called `name` in the OpenAPI document (`recoveryFlow`), if the harness has it.
    pub fn from_name(name: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The schema file that holds the component (`recoveryFlow.json`).
    pub fn file_name(self) -> String {
        format!("{}.json", self.name())
    }

    fn index(self) -> usize {
        // `ALL` lists the variants in declaration order, so the discriminant is the index.
        self as usize
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value in the instance (`/ui/nodes/1/attributes/type`);
    /// the empty string is the whole instance (RFC 6901).
    pub pointer: String,
    /// The rule broken, as the schema keyword and its location
    /// (`enum at recoveryFlowState.json#/enum`, or `#/components/schemas/...` for `--spec`).
    pub rule: String,
    /// The offending value, JSON-encoded and cut to a readable length.
    pub value: String,
    /// A human sentence.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{} (at {}: {}, value {})",
            self.message, pointer, self.rule, self.value
        )
    }
}

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

/// How schema locations are shown in [`Violation::rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocationStyle {
    /// `recoveryFlow.json#/properties/state`: the files of `schemas/` (embedded or a directory).
    Files,
    /// `#/components/schemas/recoveryFlow/properties/state`: an OpenAPI document.
    OpenApi,
}

/// The compiled validators, one per [`Component`]. Cheap to share (`Arc<Schemas>`).
#[derive(Debug)]
pub struct Schemas {
    validators: Vec<Validator>,
    /// The embedded schemas, whose rules [`fast`] implements.
    fast: bool,
    /// The fast pass's templates ([`fast::Memo`]).
    memo: fast::Memo,
    source: SchemaSource,
    style: LocationStyle,
}

/// A parsed schema document, registered under `uri`.
struct Resource {
    uri: String,
    /// The file name within the set (`recoveryFlow.json`).
    file: String,
    contents: Value,
}

impl Schemas {
    /// Loads and compiles every component from `source`.
    pub fn load(source: &SchemaSource) -> Result<Self, SchemaError> {
        let (resources, style) = match source {
            SchemaSource::Embedded => (embedded_resources()?, LocationStyle::Files),
            SchemaSource::Dir(dir) => (dir_resources(dir)?, LocationStyle::Files),
            SchemaSource::OpenApi(file) => {
                let roots = Component::ALL.map(Component::name);
                (
                    openapi::resources(file, BASE_URI, &roots)?,
                    LocationStyle::OpenApi,
                )
            }
        };
        let validators = compile(source, &resources)?;
        Ok(Schemas {
            validators,
            fast: *source == SchemaSource::Embedded,
            memo: fast::Memo::default(),
            source: source.clone(),
            style,
        })
    }

    /// The embedded schemas, compiled.
    pub fn embedded() -> Result<Self, SchemaError> {
        Self::load(&SchemaSource::Embedded)
    }

    /// Where these schemas came from.
    pub fn source(&self) -> &SchemaSource {
        &self.source
    }

    /// Validates `instance` against `component`, collecting every violation.
    pub fn validate(&self, component: Component, instance: &Value) -> Result<(), Vec<Violation>> {
        let validator = &self.validators[component.index()];
        // The fast check first: a valid body (the common case) never builds error values.
        if validator.is_valid(instance) {
            return Ok(());
        }
        let mut collector = violation::Collector::default();
        for error in validator.iter_errors(instance) {
            collector.add(&error, self.style);
        }
        let mut out = collector.finish();
        if out.is_empty() {
            // `is_valid` and `iter_errors` disagreeing would be a validator bug; never report a
            // failed body without a reason.
            out.push(Violation {
                pointer: String::new(),
                rule: format!("{component}"),
                value: violation::truncate_value(instance),
                message: "the instance does not match the schema (no detail reported)".to_owned(),
            });
        }
        Err(out)
    }

    /// The fast verdict on `body` (its bytes) against `component`, when these schemas have a fast
    /// path (the embedded ones); `None` for `--schemas`/`--spec`, which need the full validator.
    /// A body like one seen before is decided by its template ([`fast::Memo`]).
    pub fn fast<'a>(&self, component: Component, body: &'a [u8]) -> Option<fast::Fast<'a>> {
        self.fast.then(|| self.memo.check(component, body))
    }

    /// Whether these schemas have a fast path ([`Schemas::fast`]).
    pub fn has_fast_path(&self) -> bool {
        self.fast
    }

    /// Whether `instance` is valid against `component` (no error collection).
    pub fn is_valid(&self, component: Component, instance: &Value) -> bool {
        self.validators[component.index()].is_valid(instance)
    }
}

fn embedded_resources() -> Result<Vec<Resource>, SchemaError> {
    embedded::FILES
        .iter()
        .map(|(file, text)| {
            let contents = serde_json::from_str(text).map_err(|source| SchemaError::Json {
                path: PathBuf::from(format!("embedded:{file}")),
                source,
            })?;
            Ok(Resource {
                uri: format!("{BASE_URI}{file}"),
                file: (*file).to_owned(),
                contents,
            })
        })
        .collect()
}

/// Every `*.json` file of `dir`, each registered under its file name: components are looked up by
/// name, and any other file (a helper an edited schema refers to) is available to `$ref`.
fn dir_resources(dir: &Path) -> Result<Vec<Resource>, SchemaError> {
    let read_err = |source| SchemaError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let is_json = path.extension().is_some_and(|ext| ext == "json");
        if is_json && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut resources = Vec::with_capacity(files.len());
    for path in files {
        let Some(file) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Read {
            path: path.clone(),
            source,
        })?;
        let contents = serde_json::from_str(&text).map_err(|source| SchemaError::Json {
            path: path.clone(),
            source,
        })?;
        resources.push(Resource {
            uri: format!("{BASE_URI}{file}"),
            file,
            contents,
        });
    }
    Ok(resources)
}

fn compile(source: &SchemaSource, resources: &[Resource]) -> Result<Vec<Validator>, SchemaError> {
    let source_name = source.to_string();
    let registry = Registry::new()
        .draft(Draft::Draft202012)
        .extend(resources.iter().map(|r| (r.uri.as_str(), &r.contents)))
        .and_then(|builder| builder.prepare())
        .map_err(|e| SchemaError::Registry {
            source_name: source_name.clone(),
            message: e.to_string(),
        })?;
    let options = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_registry(&registry);
    let mut validators = Vec::with_capacity(Component::ALL.len());
    for component in Component::ALL {
        let file = component.file_name();
        let Some(resource) = resources.iter().find(|r| r.file == file) else {
            let expected = match source {
                SchemaSource::Dir(dir) => dir.join(&file).display().to_string(),
                SchemaSource::OpenApi(_) => format!("#/components/schemas/{}", component.name()),
                SchemaSource::Embedded => format!("schemas/{file}"),
            };
            return Err(SchemaError::MissingComponent {
                source_name,
                component: component.name(),
                expected,
            });
        };
        // Compile through a `$ref` to the registered resource, so every keyword location is
        // reported against the file it is written in.
        let entry = serde_json::json!({ "$ref": resource.uri });
        let validator = options.build(&entry).map_err(|e| SchemaError::Compile {
            source_name: source_name.clone(),
            component: component.name(),
            message: e.to_string(),
        })?;
        validators.push(validator);
    }
    Ok(validators)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_table_covers_every_file_in_schemas_dir() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.ends_with(".json").then_some(name)
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = embedded::FILES
            .iter()
            .map(|(f, _)| (*f).to_owned())
            .collect();
        embedded.sort();
        assert_eq!(
            embedded, on_disk,
            "src/schema/embedded.rs must list every schemas/*.json"
        );
        for (file, text) in embedded::FILES {
            let on_disk = std::fs::read_to_string(dir.join(file)).unwrap();
            assert_eq!(*text, on_disk, "{file}");
        }
    }

    #[test]
    fn every_embedded_file_has_id_under_base_and_draft_2020_12() {
        for (file, text) in embedded::FILES {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(value["$id"], json!(format!("{BASE_URI}{file}")), "{file}");
            assert_eq!(
                value["$schema"],
                json!("https://json-schema.org/draft/2020-12/schema"),
                "{file}"
            );
        }
    }

    #[test]
    fn component_index_and_name_round_trip() {
        for (i, c) in Component::ALL.iter().enumerate() {
            assert_eq!(c.index(), i, "{c}");
            assert_eq!(Component::from_name(c.name()), Some(*c));
        }
        assert_eq!(Component::from_name("RecoveryFlow"), None);
    }

    #[test]
    fn schemas_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Schemas>();
    }

    #[test]
    fn embedded_compiles_and_checks_formats() {
        let schemas = Schemas::embedded().unwrap();
        let text = json!({"id": 1, "text": "x", "type": "info"});
        assert!(schemas.is_valid(Component::UiText, &text));
        let token = json!({"action": "show_settings_ui", "flow": {"id": "not-a-uuid"}});
        let err = schemas
            .validate(Component::ContinueWith, &token)
            .unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].pointer, "/flow/id");
        assert!(err[0].rule.starts_with("format at "), "{}", err[0].rule);
    }
}
