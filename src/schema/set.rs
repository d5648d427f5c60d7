//! [`Schemas`]: a schema set compiled twice from the same documents: into `jsonschema`
//! validators (the full validator, which explains a rejection) and into the fast path's rules.

use super::component::Component;
use super::error::SchemaError;
use super::fast::{self, Memo, Rules};
use super::resource::Resource;
use super::source::SchemaSource;
use super::violation::{self, LocationStyle, Violation};
use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// The compiled validators, one per [`Component`]. Cheap to share (`Arc<Schemas>`).
#[derive(Debug)]
pub struct Schemas {
    validators: Vec<Validator>,
    /// The fast path: the rules compiled from the same documents, behind the memo of bodies
    /// found valid ([`fast::Memo`]).
    memo: Memo,
    source: SchemaSource,
    style: LocationStyle,
}

impl Schemas {
    /// Loads and compiles every component from `source`.
    pub fn load(source: &SchemaSource) -> Result<Self, SchemaError> {
        let roots = Component::ALL.map(Component::name);
        let (resources, style) = source.read(&roots)?;
        Self::compile(source, &resources, style)
    }

    /// Compiles both validators from the documents `source` was read into: the one place the
    /// full validator and the fast path's rules are built, from the same `resources`.
    fn compile(
        source: &SchemaSource,
        resources: &[Resource],
        style: LocationStyle,
    ) -> Result<Self, SchemaError> {
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
        // Compile through a `$ref` to the registered resource, so every keyword location is
        // reported against the file it is written in.
        let at = |location: &str| options.build(&serde_json::json!({ "$ref": location }));
        let mut validators = Vec::with_capacity(Component::ALL.len());
        for component in Component::ALL {
            let resource = component_resource(source, resources, component)?;
            let validator = at(&resource.uri).map_err(|e| SchemaError::Compile {
                source_name: source_name.clone(),
                component: component.name(),
                message: e.to_string(),
            })?;
            validators.push(validator);
        }
        let rules = Rules::compile(resources, &|location: &str| {
            at(location).map_err(|e| format!("{location}: {e}"))
        });
        for component in Component::ALL {
            if let Some(why) = rules.why_not(component) {
                tracing::debug!(%component, "no fast path for {component} from {source}: {why}");
            }
        }
        Ok(Schemas {
            validators,
            memo: Memo::new(rules),
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

    /// The fast verdict on `body` (its bytes) against `component`, from the rules compiled from
    /// these schemas; `None` when they do not cover `component` ([`Rules::why_not`]) and the full
    /// validator must decide. A body like one seen before is decided by its template
    /// ([`fast::Memo`]).
    pub fn fast<'a>(&self, component: Component, body: &'a [u8]) -> Option<fast::Fast<'a>> {
        self.memo.check(component, body)
    }

    /// The fast path's rules (the pass without the memo).
    pub fn fast_rules(&self) -> &Rules {
        self.memo.rules()
    }

    /// Whether `instance` is valid against `component` (no error collection).
    pub fn is_valid(&self, component: Component, instance: &Value) -> bool {
        self.validators[component.index()].is_valid(instance)
    }
}

/// The resource holding `component`, or the error naming where it was expected.
fn component_resource<'r>(
    source: &SchemaSource,
    resources: &'r [Resource],
    component: Component,
) -> Result<&'r Resource, SchemaError> {
    let file = component.file_name();
    resources
        .iter()
        .find(|r| r.file == file)
        .ok_or_else(|| SchemaError::MissingComponent {
            source_name: source.to_string(),
            component: component.name(),
            expected: match source {
                SchemaSource::Dir(dir) => dir.join(&file).display().to_string(),
                SchemaSource::OpenApi(_) => format!("#/components/schemas/{}", component.name()),
                SchemaSource::Embedded => format!("schemas/{file}"),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::fast::Fast;
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Schemas>();
    }

    /// One source for both validators. The embedded `recoveryFlowState.json` gets one more
    /// `enum` value, in memory and nowhere else; compiled from the edited documents, the full
    /// validator and the fast path (the pass and the memo) both accept a flow in the new state,
    /// and both still reject a state in neither list, while the unedited set rejects both.
    #[test]
    fn an_enum_value_added_to_the_embedded_state_schema_changes_both_validators() {
        const NEW: &str = "recovery_paused";
        const UNKNOWN: &str = "recovery_pause";
        let roots = Component::ALL.map(Component::name);
        let (mut resources, style) = SchemaSource::Embedded.read(&roots).unwrap();
        let states = &mut resources
            .iter_mut()
            .find(|r| r.file == "recoveryFlowState.json")
            .expect("the embedded state schema")
            .contents["enum"];
        assert!(!states.as_array().unwrap().contains(&json!(NEW)));
        states.as_array_mut().unwrap().push(json!(NEW));
        let edited = Schemas::compile(&SchemaSource::Embedded, &resources, style).unwrap();
        let embedded = Schemas::embedded().unwrap();

        let flow = |state: &str| {
            json!({
                "id": "7f0a1c2e-8e0b-4d6a-9a43-3a8f0e6b2c11", "type": "api",
                "expires_at": "2026-01-01T00:00:00Z", "issued_at": "2026-01-01T00:00:00Z",
                "request_url": "http://x", "state": state,
                "ui": {"action": "http://x", "method": "POST", "nodes": []}
            })
        };
        let flow_c = Component::RecoveryFlow;
        for (schemas, accepts_new) in [(&embedded, false), (&edited, true)] {
            assert!(schemas.fast_rules().covers(flow_c));
            for (state, valid) in [
                ("choose_method", true),
                (NEW, accepts_new),
                (UNKNOWN, false),
            ] {
                let body = flow(state);
                let bytes = serde_json::to_vec(&body).unwrap();
                let name = format!("state {state}, new value in the schema: {accepts_new}");
                assert_eq!(schemas.is_valid(flow_c, &body), valid, "full: {name}");
                for (path, verdict) in [
                    ("pass", schemas.fast_rules().check(flow_c, &bytes)),
                    ("memo", schemas.fast(flow_c, &bytes)),
                ] {
                    match verdict {
                        Some(Fast::Valid(facts)) if valid => {
                            assert_eq!(facts.state.as_deref(), Some(state), "{path}: {name}")
                        }
                        Some(Fast::Invalid) if !valid => {}
                        other => panic!("{path}: {name}: {other:?}"),
                    }
                }
                if !valid {
                    let violations = schemas.validate(flow_c, &body).unwrap_err();
                    assert_eq!(violations[0].pointer, "/state", "{name}");
                }
            }
        }
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
