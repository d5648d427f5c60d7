//! Loading: the three sources (embedded, `--schemas DIR`, `--spec FILE`) and every way loading fails,
//! each with an error that names the file and the cause.

mod schema_support;

use recovery_harness::cli::common::SchemaArgs;
use recovery_harness::load::scenario::Expect;
use recovery_harness::load::steps::check_bytes;
use recovery_harness::schema::fast::Fast;
use recovery_harness::schema::{Component, SchemaError, SchemaSource, Schemas};
use schema_support::{fast_disagreement, fixture, manifest_dir, official_spec_path, FIXTURES};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A writable copy of `schemas/`.
fn schemas_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(manifest_dir().join("schemas")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn edit(dir: &Path, file: &str, change: impl FnOnce(&mut Value)) {
    let path = dir.join(file);
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut value);
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

fn load_err(source: SchemaSource) -> SchemaError {
    match Schemas::load(&source) {
        Ok(_) => panic!("{source} loaded but should not"),
        Err(e) => e,
    }
}

fn rendered(err: &SchemaError) -> String {
    recovery_harness::causes::render(err)
}

#[test]
fn args_select_the_source() {
    let none = SchemaArgs::default();
    assert_eq!(none.source(), SchemaSource::Embedded);
    let dir = SchemaArgs {
        schemas: Some("d".into()),
        spec: None,
    };
    assert_eq!(dir.source(), SchemaSource::Dir("d".into()));
    let spec = SchemaArgs {
        schemas: None,
        spec: Some("f.json".into()),
    };
    assert_eq!(spec.source(), SchemaSource::OpenApi("f.json".into()));
}

#[test]
fn an_edited_schema_directory_is_what_validates() {
    let dir = schemas_copy();
    let schemas = Schemas::load(&SchemaSource::Dir(dir.path().to_owned())).unwrap();
    assert!(schemas.is_valid(Component::RecoveryFlow, &fixture("flow-sent-email.json")));
    edit(dir.path(), "recoveryFlowState.json", |v| {
        v["enum"] = json!(["choose_method"])
    });
    let schemas = Schemas::load(&SchemaSource::Dir(dir.path().to_owned())).unwrap();
    assert_eq!(schemas.source(), &SchemaSource::Dir(dir.path().to_owned()));
    assert!(schemas.is_valid(Component::RecoveryFlow, &fixture("flow-create-api.json")));
    let violations = schemas
        .validate(Component::RecoveryFlow, &fixture("flow-sent-email.json"))
        .unwrap_err();
    assert_eq!(violations[0].pointer, "/state");
}

/// One schema edit, both validators: a state added to the enum of `recoveryFlowState.json`
/// (nothing else changed, no code) is accepted by the full validator, by the fast path compiled
/// from the same files, and so by the load runner's body check; the two validators agree on
/// every fixture with each state, old and new.
#[test]
fn an_enum_value_added_to_a_schema_is_accepted_by_both_validators() {
    const NEW: &str = "recovery_paused";
    let dir = schemas_copy();
    let mut flow = fixture("flow-create-api.json");
    flow["state"] = json!(NEW);
    let bytes = serde_json::to_vec(&flow).unwrap();
    let expect = Expect {
        status: 200,
        schema: Some(Component::RecoveryFlow),
        state: Some(NEW.to_owned()),
        error_id: None,
    };

    let before = Schemas::load(&SchemaSource::Dir(dir.path().to_owned())).unwrap();
    assert!(!before.is_valid(Component::RecoveryFlow, &flow));
    assert_eq!(
        before.fast(Component::RecoveryFlow, &bytes),
        Some(Fast::Invalid)
    );
    let refused = check_bytes(&before, Component::RecoveryFlow, &expect, &bytes).unwrap_err();
    assert!(refused.contains("/state"), "{refused}");

    edit(dir.path(), "recoveryFlowState.json", |v| {
        v["enum"].as_array_mut().unwrap().push(json!(NEW))
    });
    let after = Schemas::load(&SchemaSource::Dir(dir.path().to_owned())).unwrap();
    assert!(after.is_valid(Component::RecoveryFlow, &flow));
    assert!(after.fast_rules().covers(Component::RecoveryFlow));
    match after.fast_rules().check(Component::RecoveryFlow, &bytes) {
        Some(Fast::Valid(facts)) => assert_eq!(facts.state.as_deref(), Some(NEW)),
        other => panic!("the fast pass: {other:?}"),
    }
    match after.fast(Component::RecoveryFlow, &bytes) {
        Some(Fast::Valid(facts)) => assert_eq!(facts.state.as_deref(), Some(NEW)),
        other => panic!("the memo: {other:?}"),
    }
    assert!(check_bytes(&after, Component::RecoveryFlow, &expect, &bytes).is_ok());

    let states: Vec<Value> = serde_json::from_str::<Value>(
        &std::fs::read_to_string(dir.path().join("recoveryFlowState.json")).unwrap(),
    )
    .unwrap()["enum"]
        .as_array()
        .unwrap()
        .clone();
    for (name, component) in FIXTURES
        .iter()
        .filter(|(_, c)| *c == Component::RecoveryFlow)
    {
        for state in states
            .iter()
            .chain([&json!("recovery_pause"), &json!(null)])
        {
            let mut body = fixture(name);
            body["state"] = state.clone();
            for schemas in [&before, &after] {
                assert_eq!(
                    fast_disagreement(schemas, *component, &body),
                    None,
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn a_directory_may_hold_extra_files_that_schemas_refer_to() {
    let dir = schemas_copy();
    std::fs::write(
        dir.path().join("code.json"),
        r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://recovery-harness.invalid/schemas/code.json", "type": "string", "pattern": "^[0-9]{6}$"}"#,
    )
    .unwrap();
    edit(dir.path(), "recoveryFlow.json", |v| {
        v["properties"]["code_hint"] = json!({"$ref": "code.json"});
    });
    let schemas = Schemas::load(&SchemaSource::Dir(dir.path().to_owned())).unwrap();
    let mut flow = fixture("flow-create-api.json");
    flow["code_hint"] = json!("123456");
    assert!(schemas.is_valid(Component::RecoveryFlow, &flow));
    let fast = |flow: &Value| {
        schemas
            .fast(Component::RecoveryFlow, &serde_json::to_vec(flow).unwrap())
            .map(|f| matches!(f, Fast::Valid(_)))
    };
    // The fast path follows the extra file too (its pattern judged by jsonschema's own regex).
    assert_eq!(fast(&flow), Some(true));
    flow["code_hint"] = json!("12x");
    assert_eq!(fast(&flow), Some(false));
    let violations = schemas
        .validate(Component::RecoveryFlow, &flow)
        .unwrap_err();
    assert_eq!(violations[0].rule, "pattern at code.json#/pattern");
}

#[test]
fn missing_directory_is_a_read_error_naming_it() {
    let err = load_err(SchemaSource::Dir("/nonexistent/schemas".into()));
    assert!(
        matches!(err, SchemaError::Read { ref path, .. } if path == Path::new("/nonexistent/schemas")),
        "{err:?}"
    );
    let text = rendered(&err);
    assert!(
        text.contains("/nonexistent/schemas") && text.contains("No such file"),
        "{text}"
    );
}

#[test]
fn missing_component_file_names_the_expected_path() {
    let dir = schemas_copy();
    std::fs::remove_file(dir.path().join("recoveryFlow.json")).unwrap();
    let err = load_err(SchemaSource::Dir(dir.path().to_owned()));
    assert!(
        matches!(
            err,
            SchemaError::MissingComponent {
                component: "recoveryFlow",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(rendered(&err).contains(&dir.path().join("recoveryFlow.json").display().to_string()));
}

#[test]
fn bad_json_names_the_file_and_position() {
    let dir = schemas_copy();
    std::fs::write(
        dir.path().join("uiText.json"),
        "{\"type\": \"object\",\n  oops}",
    )
    .unwrap();
    let err = load_err(SchemaSource::Dir(dir.path().to_owned()));
    assert!(
        matches!(err, SchemaError::Json { ref path, .. } if path.ends_with("uiText.json")),
        "{err:?}"
    );
    assert!(rendered(&err).contains("line 2"), "{}", rendered(&err));
}

#[test]
fn a_schema_that_is_not_valid_2020_12_does_not_compile() {
    let dir = schemas_copy();
    edit(dir.path(), "uiText.json", |v| {
        v["properties"]["id"] = json!({"type": 5})
    });
    let err = load_err(SchemaSource::Dir(dir.path().to_owned()));
    assert!(matches!(err, SchemaError::Compile { .. }), "{err:?}");
    assert!(rendered(&err).contains("5"), "{}", rendered(&err));
}

#[test]
fn a_dangling_reference_does_not_compile_and_is_named() {
    let dir = schemas_copy();
    edit(dir.path(), "recoveryFlow.json", |v| {
        v["properties"]["ui"] = json!({"$ref": "uiContainr.json"})
    });
    let err = load_err(SchemaSource::Dir(dir.path().to_owned()));
    let text = rendered(&err);
    assert!(
        matches!(
            err,
            SchemaError::Compile {
                component: "recoveryFlow",
                ..
            } | SchemaError::Registry { .. }
        ),
        "{err:?}"
    );
    assert!(text.contains("uiContainr.json"), "{text}");
}

#[test]
fn official_documents_load_and_accept_the_flows() {
    for (doc, label) in [
        (official_spec_path(), "HEAD"),
        (
            manifest_dir().join("tests/fixtures/kratos-openapi-v1.1.0.json"),
            "v1.1.0",
        ),
    ] {
        let schemas = Schemas::load(&SchemaSource::OpenApi(doc.clone())).unwrap();
        assert_eq!(schemas.source(), &SchemaSource::OpenApi(doc));
        for (name, component) in FIXTURES
            .iter()
            .filter(|(_, c)| *c == Component::RecoveryFlow)
        {
            let result = schemas.validate(*component, &fixture(name));
            assert!(
                result.is_ok(),
                "{label}: {name}: {:#?}",
                result.unwrap_err()
            );
        }
        let plain_error = fixture("error-session-already-available.json");
        assert!(
            schemas.is_valid(Component::ErrorGeneric, &plain_error),
            "{label}"
        );
        // The fast path compiled from the document gives its verdicts, accepted or not (its
        // errata reject some fixtures).
        for component in Component::ALL {
            assert!(
                schemas.fast_rules().covers(component),
                "{label}: {component}: {:?}",
                schemas.fast_rules().why_not(component)
            );
        }
        for (name, component) in FIXTURES {
            assert_eq!(
                fast_disagreement(&schemas, *component, &fixture(name)),
                None,
                "{label}: {name}"
            );
        }
    }
}

fn spec_file(dir: &Path, document: &Value) -> PathBuf {
    let path = dir.join("api.json");
    std::fs::write(&path, serde_json::to_string(document).unwrap()).unwrap();
    path
}

fn official_document() -> Value {
    serde_json::from_str(&std::fs::read_to_string(official_spec_path()).unwrap()).unwrap()
}

#[test]
fn spec_errors_name_the_document_and_the_problem() {
    let tmp = tempfile::tempdir().unwrap();

    let err = load_err(SchemaSource::OpenApi(tmp.path().join("absent.json")));
    assert!(matches!(err, SchemaError::Read { .. }), "{err:?}");

    let path = tmp.path().join("garbage.json");
    std::fs::write(&path, "openapi: 3.0.3\n").unwrap();
    let err = load_err(SchemaSource::OpenApi(path));
    assert!(matches!(err, SchemaError::Json { .. }), "{err:?}");

    let swagger = spec_file(tmp.path(), &json!({"swagger": "2.0", "definitions": {}}));
    let err = load_err(SchemaSource::OpenApi(swagger));
    assert!(rendered(&err).contains("Swagger 2.0"), "{}", rendered(&err));

    let mut without_flow = official_document();
    without_flow["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("recoveryFlow");
    let err = load_err(SchemaSource::OpenApi(spec_file(tmp.path(), &without_flow)));
    assert!(
        matches!(
            err,
            SchemaError::MissingComponent {
                component: "recoveryFlow",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        rendered(&err).contains("#/components/schemas/recoveryFlow"),
        "{}",
        rendered(&err)
    );

    let mut dangling = official_document();
    dangling["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("uiContainer");
    let err = load_err(SchemaSource::OpenApi(spec_file(tmp.path(), &dangling)));
    let text = rendered(&err);
    assert!(matches!(err, SchemaError::UnresolvedRef { .. }), "{err:?}");
    assert!(
        text.contains("#/components/schemas/uiContainer")
            && text.contains("/components/schemas/recoveryFlow/properties/ui/$ref"),
        "{text}"
    );

    // A broken component recovery never uses does not stop loading.
    let mut unrelated = official_document();
    unrelated["components"]["schemas"]["loginFlow"]["properties"]["ui"] =
        json!({"$ref": "#/components/schemas/nope"});
    assert!(Schemas::load(&SchemaSource::OpenApi(spec_file(tmp.path(), &unrelated))).is_ok());
}

#[test]
fn spec_nullable_is_translated() {
    let tmp = tempfile::tempdir().unwrap();
    let mut document = official_document();
    // Make `return_to` nullable the OpenAPI 3.0 way: null must then pass, a number still fails.
    document["components"]["schemas"]["recoveryFlow"]["properties"]["return_to"]["nullable"] =
        json!(true);
    let schemas = Schemas::load(&SchemaSource::OpenApi(spec_file(tmp.path(), &document))).unwrap();
    let mut flow = fixture("flow-create-browser.json");
    flow["return_to"] = Value::Null;
    assert!(schemas.is_valid(Component::RecoveryFlow, &flow));
    flow["return_to"] = json!(1);
    assert!(!schemas.is_valid(Component::RecoveryFlow, &flow));
    // Without the translation the official `value: {nullable: true}` would still take any value.
    let mut flow = fixture("flow-create-api.json");
    flow["ui"]["nodes"][0]["attributes"]["value"] = Value::Null;
    assert!(schemas.is_valid(Component::RecoveryFlow, &flow));
}

#[test]
fn a_directory_with_its_own_ids_or_none_resolves_its_relative_refs() {
    for new_id in [Some("https://example.com/kratos/"), None] {
        let dir = schemas_copy();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            if !file.ends_with(".json") {
                continue;
            }
            edit(dir.path(), &file, |v| {
                let map = v.as_object_mut().unwrap();
                match new_id {
                    Some(base) => {
                        map.insert("$id".to_owned(), json!(format!("{base}{file}")));
                    }
                    None => {
                        map.remove("$id");
                    }
                }
            });
        }
        let schemas = Schemas::load(&SchemaSource::Dir(dir.path().to_owned()))
            .unwrap_or_else(|e| panic!("{new_id:?}: {}", rendered(&e)));
        for (name, component) in FIXTURES {
            assert!(
                schemas.is_valid(*component, &fixture(name)),
                "{new_id:?}: {name}"
            );
        }
        let mut flow = fixture("flow-create-api.json");
        flow["state"] = Value::Null;
        let violations = schemas
            .validate(Component::RecoveryFlow, &flow)
            .unwrap_err();
        assert_eq!(violations[0].pointer, "/state", "{new_id:?}");
    }
}
