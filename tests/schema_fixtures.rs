//! Every Kratos body of `tests/fixtures/kratos/` (the answers `docs/kratos-behaviour.md` describes) is accepted by
//! the embedded schemas, by `schemas/` loaded as a directory, and by the official OpenAPI document,
//! except for the official document's known errata, which are asserted as such.

mod schema_support;

use recovery_harness::schema::{Component, Schemas, Violation};
use schema_support::{embedded, fixture, from_dir, official, FIXTURES};
use serde_json::{json, Value};

fn assert_accepts(schemas: &Schemas, label: &str) {
    for (name, component) in FIXTURES {
        let body = fixture(name);
        let result = schemas.validate(*component, &body);
        assert!(
            result.is_ok(),
            "{label}: {name} rejected by {component}: {:#?}",
            result.unwrap_err()
        );
        assert!(schemas.is_valid(*component, &body), "{label}: {name}");
    }
}

#[test]
fn embedded_schemas_accept_every_kratos_body() {
    assert_accepts(&embedded(), "embedded");
}

#[test]
fn schemas_directory_accepts_every_kratos_body() {
    assert_accepts(&from_dir(), "--schemas schemas/");
}

#[test]
fn fixture_table_lists_every_fixture_file() {
    let dir = schema_support::manifest_dir().join("tests/fixtures/kratos");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(listed, on_disk);
}

/// The parts of each body validate against their own components too (`uiNode`, `uiText`,
/// `continueWith`, `uiContainer`, `genericError`): callers may check a fragment on its own.
#[test]
fn fragments_validate_against_their_components() {
    let schemas = embedded();
    let mut checked = [0usize; 5];
    for (name, component) in FIXTURES {
        let body = fixture(name);
        let mut expect = |c: Component, v: &Value, slot: usize| {
            if let Err(e) = schemas.validate(c, v) {
                panic!("{name}: a fragment fails {c}: {e:#?}");
            }
            checked[slot] += 1;
        };
        if *component == Component::RecoveryFlow {
            expect(Component::UiContainer, &body["ui"], 0);
            for node in body["ui"]["nodes"].as_array().unwrap() {
                expect(Component::UiNode, node, 1);
                for message in node["messages"].as_array().unwrap() {
                    expect(Component::UiText, message, 2);
                }
                if let Some(label) = node["meta"].get("label") {
                    expect(Component::UiText, label, 2);
                }
            }
            for message in body["ui"]["messages"].as_array().into_iter().flatten() {
                expect(Component::UiText, message, 2);
            }
            for item in body["continue_with"].as_array().into_iter().flatten() {
                expect(Component::ContinueWith, item, 3);
            }
        } else {
            expect(Component::GenericError, &body["error"], 4);
        }
    }
    assert!(
        checked.iter().all(|&n| n > 0),
        "every fragment kind was seen: {checked:?}"
    );
}

/// Bodies the official document accepts as-is, and the ones it rejects because of its documented
/// errata (docs/kratos-behaviour.md §6 items 4 and 5), with the exact place it fails.
#[test]
fn official_document_accepts_good_bodies_except_its_errata() {
    let schemas = official();
    // docs/kratos-behaviour.md §6 item 5: genericError.details is `additionalProperties: false`.
    let details_erratum = [
        "error-expired-api.json",
        "error-expired-browser.json",
        "error-csrf.json",
        "error-api-cookie-rejected.json",
        "error-expired-rich.json",
    ];
    for (name, component) in FIXTURES {
        let body = fixture(name);
        let result = schemas.validate(*component, &body);
        if details_erratum.contains(name) {
            let violations = result.expect_err(name);
            assert!(
                violations.iter().all(|v| v.pointer == "/error/details"
                    && v.rule
                        .contains("genericError/properties/details/additionalProperties")),
                "{name}: {violations:#?}"
            );
        } else if *name == "error-browser-location-change-required.json" {
            // docs/kratos-behaviour.md §6 item 4: the official schema nests errorGeneric (`error.error`).
            let violations = result.expect_err(name);
            assert_eq!(violations.len(), 1, "{violations:#?}");
            assert_eq!(violations[0].pointer, "/error");
            assert!(violations[0]
                .rule
                .starts_with("required at #/components/schemas/errorGeneric"));
        } else {
            assert!(
                result.is_ok(),
                "official: {name}: {:#?}",
                result.unwrap_err()
            );
        }
    }
}

/// The documented gap: the official document leaves `state` untyped and `type` a bare string.
#[test]
fn official_document_accepts_what_ours_rejects() {
    let ours = embedded();
    let official = official();
    for (pointer, value) in [
        ("/state", Value::Null),
        ("/state", Value::String("done".to_owned())),
        ("/state", serde_json::json!(42)),
        ("/type", Value::String("string".to_owned())),
    ] {
        let mut body = fixture("flow-create-api.json");
        schema_support::set(&mut body, pointer, value.clone());
        assert!(
            official.is_valid(Component::RecoveryFlow, &body),
            "official accepts {pointer} = {value}"
        );
        let violations = ours.validate(Component::RecoveryFlow, &body).unwrap_err();
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert_eq!(violations[0].pointer, pointer);
        assert!(
            violations[0].rule.starts_with("enum at "),
            "{}",
            violations[0].rule
        );
    }
}

#[test]
fn violation_names_pointer_rule_value_and_message() {
    let mut body = fixture("flow-sent-email.json");
    body["ui"]["nodes"][1]["attributes"]["maxlength"] = Value::String("six".to_owned());
    let violations = embedded()
        .validate(Component::RecoveryFlow, &body)
        .unwrap_err();
    assert_eq!(
        violations,
        vec![Violation {
            pointer: "/ui/nodes/1/attributes/maxlength".to_owned(),
            rule: "type at uiNodeInputAttributes.json#/properties/maxlength/type".to_owned(),
            value: "\"six\"".to_owned(),
            message: "value is not of type \"integer\"".to_owned(),
        }]
    );
    assert_eq!(
        violations[0].to_string(),
        "value is not of type \"integer\" (at /ui/nodes/1/attributes/maxlength: \
         type at uiNodeInputAttributes.json#/properties/maxlength/type, value \"six\")"
    );
}

#[test]
fn official_document_rules_are_shown_as_component_pointers() {
    let mut body = fixture("flow-create-api.json");
    body["issued_at"] = Value::String("yesterday".to_owned());
    let violations = official()
        .validate(Component::RecoveryFlow, &body)
        .unwrap_err();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].pointer, "/issued_at");
    assert_eq!(
        violations[0].rule,
        "format at #/components/schemas/recoveryFlow/properties/issued_at/format"
    );
}

/// One mistake, one violation per rule it breaks: the discriminated unions report inside the
/// selected variant, and a missing or unknown discriminator is not repeated as "no alternative
/// matched".
#[test]
fn each_mistake_is_reported_once_per_broken_rule() {
    type Case = (
        &'static str,
        &'static str,
        Option<Value>,
        &'static [(&'static str, &'static str)],
    );
    let cases: [Case; 7] = [
        ("flow-create-api.json", "/ui/nodes/0/attributes/node_type", None, &[
            ("/ui/nodes/0/attributes", "required at uiNodeAttributes.json#/required"),
        ]),
        // An unknown node_type is both outside the enum and not a mirror of node.type.
        ("flow-create-api.json", "/ui/nodes/0/attributes/node_type", Some(json!("checkbox")), &[
            ("/ui/nodes/0/attributes/node_type", "enum at uiNodeAttributes.json#/properties/node_type/enum"),
            ("/ui/nodes/0/attributes/node_type", "const at uiNode.json#/oneOf/1/properties/attributes/properties/node_type/const"),
        ]),
        ("flow-create-api.json", "/ui/nodes/0/type", Some(json!("text")), &[
            ("/ui/nodes/0/attributes/node_type", "const at uiNode.json#/oneOf/0/properties/attributes/properties/node_type/const"),
        ]),
        ("flow-create-api.json", "/ui/nodes/2/attributes/disabled", None, &[
            ("/ui/nodes/2/attributes", "required at uiNodeInputAttributes.json#/required"),
        ]),
        ("flow-passed-challenge.json", "/continue_with/1/action", Some(json!("show_setting_ui")), &[
            ("/continue_with/1/action", "enum at continueWith.json#/properties/action/enum"),
        ]),
        ("flow-passed-challenge.json", "/continue_with/1/flow/id", Some(json!("42")), &[
            ("/continue_with/1/flow/id", "format at continueWithSettingsUiFlow.json#/properties/id/format"),
        ]),
        ("flow-passed-challenge.json", "/continue_with/0/ory_session_token", None, &[
            ("/continue_with/0", "required at continueWithSetOrySessionToken.json#/required"),
        ]),
    ];
    let ours = embedded();
    for (name, pointer, value, expected) in cases {
        let mut body = fixture(name);
        match &value {
            Some(v) => schema_support::set(&mut body, pointer, v.clone()),
            None => schema_support::remove(&mut body, pointer),
        }
        let violations = ours.validate(Component::RecoveryFlow, &body).unwrap_err();
        let got: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.pointer.as_str(), v.rule.as_str()))
            .collect();
        assert_eq!(got, expected, "{name} {pointer} {value:?}");
    }
}
