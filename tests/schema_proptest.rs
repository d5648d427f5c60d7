//! Random mutations of valid Kratos bodies: the validator never panics, `is_valid` agrees with
//! `validate`, and every violation points at a value that exists in the mutated body.

mod schema_support;

use proptest::prelude::*;
use recovery_harness::schema::{Component, Schemas};
use schema_support::{embedded, fixture, official};
use serde_json::{Map, Value};
use std::sync::OnceLock;

fn ours() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(embedded)
}

fn theirs() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(official)
}

const BODIES: &[(&str, Component)] = &[
    ("flow-create-api.json", Component::RecoveryFlow),
    ("flow-sent-email.json", Component::RecoveryFlow),
    ("flow-passed-challenge.json", Component::RecoveryFlow),
    ("flow-400-email-missing.json", Component::RecoveryFlow),
    ("error-csrf.json", Component::ErrorGeneric),
    (
        "error-expired-rich.json",
        Component::SelfServiceFlowExpiredError,
    ),
    (
        "error-browser-location-change-required.json",
        Component::ErrorBrowserLocationChangeRequired,
    ),
];

#[derive(Debug, Clone)]
enum Mutation {
    Replace(prop::sample::Index, Value),
    Remove(prop::sample::Index),
    Insert(prop::sample::Index, String, Value),
}

fn json_value() -> impl Strategy<Value = Value> {
    let text =
        prop::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect::<String>());
    let known = prop::sample::select(vec![
        "choose_method",
        "sent_email",
        "api",
        "browser",
        "input",
        "text",
        "img",
        "a",
        "script",
        "div",
        "show_settings_ui",
        "set_ory_session_token",
        "2026-07-29T10:00:00Z",
        "5f0c3a0e-6d4b-4a57-9f6a-2b8e1c7d9a41",
        "",
    ])
    .prop_map(|s| Value::String(s.to_owned()));
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text.prop_map(Value::String),
        known,
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(vec!["node_type", "action", "error", "id", "type", "x"]),
            json_value()
        )
            .prop_map(|(i, k, v)| Mutation::Insert(i, k.to_owned(), v)),
    ]
}

/// Every pointer in `value` (the root included), in document order.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointers(
                    child,
                    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn apply(body: &mut Value, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(body, String::new(), &mut all);
    match mutation {
        Mutation::Replace(index, value) => {
            let target = index.get(&all).clone();
            if let Some(slot) = body.pointer_mut(&target) {
                *slot = value.clone();
            }
        }
        Mutation::Remove(index) => {
            let target = index.get(&all).clone();
            if let Some(cut) = target.rfind('/') {
                let key = target[cut + 1..].replace("~1", "/").replace("~0", "~");
                match body.pointer_mut(&target[..cut]) {
                    Some(Value::Object(map)) => {
                        map.remove(&key);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>() {
                            if i < items.len() {
                                items.remove(i);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Mutation::Insert(index, key, value) => {
            let target = index.get(&all).clone();
            if let Some(Value::Object(map)) = body.pointer_mut(&target) {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

fn check(schemas: &Schemas, component: Component, body: &Value) -> Result<(), TestCaseError> {
    let valid = schemas.is_valid(component, body);
    let result = schemas.validate(component, body);
    prop_assert_eq!(
        valid,
        result.is_ok(),
        "is_valid and validate disagree on {}",
        body
    );
    if let Err(violations) = result {
        prop_assert!(!violations.is_empty());
        for v in &violations {
            prop_assert!(
                body.pointer(&v.pointer).is_some(),
                "{} does not exist in {}",
                v.pointer,
                body
            );
            prop_assert!(
                v.value.chars().count() <= 121,
                "value not truncated: {}",
                v.value
            );
            prop_assert!(!v.message.is_empty() && v.rule.contains(" at "), "{:?}", v);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_bodies_never_panic_and_both_apis_agree(
        which in 0..BODIES.len(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let (name, component) = BODIES[which];
        let mut body = fixture(name);
        for m in &mutations {
            apply(&mut body, m);
        }
        check(ours(), component, &body)?;
        check(theirs(), component, &body)?;
        for schemas in [ours(), theirs()] {
            let disagreement = schema_support::fast_disagreement(schemas, component, &body);
            prop_assert!(disagreement.is_none(), "{}", disagreement.unwrap_or_default());
        }
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        for component in Component::ALL {
            check(ours(), component, &value)?;
            check(theirs(), component, &value)?;
            for schemas in [ours(), theirs()] {
                let disagreement = schema_support::fast_disagreement(schemas, component, &value);
                prop_assert!(disagreement.is_none(), "{}", disagreement.unwrap_or_default());
            }
        }
    }
}
