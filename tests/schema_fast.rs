//! The fast path ([`recovery_harness::schema::fast`], rules compiled from the schema files) gives
//! jsonschema's verdict: on every fixture
//! as Kratos sent it, on generated format strings, on every UI node variant and continue_with
//! action, and on generated bodies, valid and mutated. (`schema_mutations` and `schema_proptest`
//! hold it to the same on their mutations.) A disagreement fails the build.

mod schema_support;

use proptest::prelude::*;
use recovery_harness::schema::fast::{Fast, Memo};
use recovery_harness::schema::{Component, Schemas};
use schema_support::{embedded, fast_disagreement, fixture, manifest_dir, FIXTURES};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

fn ours() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(embedded)
}

/// The pass alone (no memo), by the rules compiled from the embedded schemas.
fn pass(component: Component, bytes: &[u8]) -> Fast<'_> {
    ours()
        .fast_rules()
        .check(component, bytes)
        .expect("the embedded schemas have a fast path for every component")
}

fn memo() -> Memo {
    Memo::new(ours().fast_rules().clone())
}

/// A copy of `schemas/` edited to use what the engine hands to jsonschema or tries one by one:
/// `not`, `patternProperties`, `maxProperties` (whole schema objects judged by jsonschema on a
/// DOM of the value), an `anyOf` no property tells apart, `multipleOf` and `minLength` (judged
/// by jsonschema on the scalar), an `allOf` merged into the flow, a `oneOf` written as `anyOf`.
fn edited() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        for entry in std::fs::read_dir(manifest_dir().join("schemas")).expect("schemas/") {
            let path = entry.expect("entry").path();
            let mut value: Value = match std::fs::read_to_string(&path) {
                Ok(text) if path.extension().is_some_and(|e| e == "json") => {
                    serde_json::from_str(&text).expect("JSON")
                }
                _ => continue,
            };
            let file = path.file_name().and_then(|n| n.to_str()).expect("name");
            match file {
                "uiText.json" => value["not"] = json!({"required": ["forbidden"]}),
                "genericError.json" => {
                    value["properties"]["code"]["multipleOf"] = json!(1);
                    value["properties"]["details"]["patternProperties"] =
                        json!({"^x-": {"type": "string"}});
                }
                "uiNodeMeta.json" => {
                    value["anyOf"] = json!([{"required": ["label"]}, {"maxProperties": 0}]);
                }
                "recoveryFlow.json" => {
                    value["allOf"] = json!([{"properties": {"active": {"minLength": 1}}}]);
                }
                "continueWith.json" => {
                    let one_of = value["oneOf"].take();
                    value["anyOf"] = one_of;
                    value.as_object_mut().expect("object").remove("oneOf");
                }
                _ => {}
            }
            std::fs::write(dir.path().join(file), value.to_string()).expect("write");
        }
        Schemas::load(&recovery_harness::schema::SchemaSource::Dir(
            dir.path().to_owned(),
        ))
        .expect("the edited schemas load")
    })
}

/// The fast path's verdict is jsonschema's, for the embedded schemas and for the edited copy.
fn agree(component: Component, body: &Value) -> Result<(), TestCaseError> {
    for schemas in [ours(), edited()] {
        let d = fast_disagreement(schemas, component, body);
        prop_assert!(d.is_none(), "{}", d.unwrap_or_default());
    }
    Ok(())
}

#[test]
fn an_edited_set_is_covered_and_differs_where_its_files_do() {
    for component in Component::ALL {
        assert!(edited().fast_rules().covers(component), "{component}");
    }
    let mut flow = fixture("flow-create-api.json");
    let check = |flow: &Value| {
        let bytes = serde_json::to_vec(flow).expect("JSON");
        let verdict = edited().fast(Component::RecoveryFlow, &bytes);
        assert_eq!(
            fast_disagreement(edited(), Component::RecoveryFlow, flow),
            None
        );
        matches!(verdict, Some(Fast::Valid(_)))
    };
    assert!(check(&flow));
    flow["active"] = json!("");
    assert!(!check(&flow), "allOf: minLength");
    flow["active"] = json!("code");
    flow["ui"]["nodes"][1]["meta"]["extra"] = json!(1);
    assert!(check(&flow), "anyOf: the label is there");
    flow["ui"]["nodes"][0]["meta"]["extra"] = json!(1);
    assert!(!check(&flow), "anyOf: no label, and not empty");
    let mut flow = fixture("flow-create-api.json");
    flow["ui"]["nodes"][1]["meta"]["label"]["forbidden"] = json!(true);
    assert!(!check(&flow), "not");
}

#[test]
fn every_fixture_as_sent_and_as_reserialized() {
    for (name, component) in FIXTURES {
        let path = manifest_dir().join("tests/fixtures/kratos").join(name);
        let raw = std::fs::read(&path).expect("fixture");
        let value = fixture(name);
        let slow = ours().is_valid(*component, &value);
        assert!(slow, "{name}: fixtures are valid");
        // The bytes as recorded: Kratos's key order (node_type last in the attributes).
        assert!(
            matches!(ours().fast(*component, &raw), Some(Fast::Valid(_))),
            "{name}: the fast path rejects the recorded body"
        );
        assert_eq!(
            fast_disagreement(ours(), *component, &value),
            None,
            "{name}"
        );
    }
}

#[test]
fn not_json_and_repeated_keys_are_left_to_the_full_validator() {
    for body in [
        &b""[..],
        b"{",
        b"nope",
        b"{\"error\":{\"message\":\"m\"}} trailing",
        b"{\"error\":{\"message\":\"m\",\"message\":\"n\"}}",
        b"\xff",
        // Not UTF-8 where the schemas allow anything: still not JSON.
        b"{\"error\":{\"message\":\"m\",\"details\":{\"a\":\"\xff\"}}}",
        b"{\"error\":{\"message\":\"m\",\"details\":{\"\xff\":1}}}",
        b"{\"error\":{\"message\":\"m\",\"details\":{\"a\":[\"\xc3\"]}}}",
        b"{\"error\":{\"message\":\"m\"},\"x\":\"\xed\xa0\x80\"}",
        // A lone surrogate escape.
        b"{\"error\":{\"message\":\"m\",\"details\":{\"a\":\"\\ud800\"}}}",
    ] {
        assert_eq!(
            ours().fast(Component::ErrorGeneric, body),
            Some(Fast::Undecided),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let other = Schemas::load(&recovery_harness::schema::SchemaSource::Dir(
        manifest_dir().join("schemas"),
    ))
    .expect("schemas/");
    // `--schemas` gets the rules compiled from its own files: the same verdicts.
    for component in Component::ALL {
        assert!(other.fast_rules().covers(component), "{component}");
    }
    assert_eq!(
        other.fast(Component::ErrorGeneric, b"{}"),
        Some(Fast::Invalid)
    );
}

fn node(kind: &str, attributes: Value) -> Value {
    json!({"type": kind, "group": "default", "attributes": attributes, "messages": [], "meta": {}})
}

/// Each attribute variant with every property it defines, valid.
fn full_attributes() -> Vec<(&'static str, Value)> {
    let text = json!({"id": 1, "text": "t", "type": "info"});
    vec![
        (
            "input",
            json!({"node_type": "input", "name": "email", "type": "email", "value": null,
                   "required": true, "autocomplete": "email", "label": text, "pattern": "x",
                   "disabled": false, "onclick": "f()", "onclickTrigger": "oryPasskeyLogin",
                   "onload": "g()", "onloadTrigger": "oryWebAuthnLogin", "maxlength": 6,
                   "options": [{"value": 1}, {"value": "a"}]}),
        ),
        (
            "text",
            json!({"node_type": "text", "id": "t", "text": text}),
        ),
        (
            "img",
            json!({"node_type": "img", "id": "i", "src": "s", "width": 1, "height": 2}),
        ),
        (
            "a",
            json!({"node_type": "a", "id": "a", "href": "h", "title": {"id": 1, "text": "t", "type": "info"}}),
        ),
        (
            "script",
            json!({"node_type": "script", "id": "s", "src": "s", "async": true, "referrerpolicy": "r",
                   "crossorigin": "c", "integrity": "i", "type": "module", "nonce": "n"}),
        ),
        (
            "div",
            json!({"node_type": "div", "id": "d", "class": "c", "data": {"k": "v"}}),
        ),
    ]
}

fn continue_items() -> Vec<Value> {
    let id = "5f0c3a0e-6d4b-4a57-9f6a-2b8e1c7d9a41";
    vec![
        json!({"action": "show_verification_ui", "flow": {"id": id, "url": "u", "verifiable_address": "a@b"}}),
        json!({"action": "set_ory_session_token", "ory_session_token": "t"}),
        json!({"action": "show_settings_ui", "flow": {"id": id, "url": "u"}}),
        json!({"action": "show_recovery_ui", "flow": {"id": id}}),
        json!({"action": "redirect_browser_to", "redirect_browser_to": "https://x"}),
        json!({"action": "show_pin_entry_ui", "data": {"enc": "e", "ciphertext": "c"}}),
    ]
}

#[test]
fn every_node_variant_and_action_with_each_property_broken() {
    let breakers = [
        json!(null),
        json!(1),
        json!(1.5),
        json!("x"),
        json!(true),
        json!([]),
        json!({}),
    ];
    for (kind, attributes) in full_attributes() {
        let good = node(kind, attributes.clone());
        assert!(ours().is_valid(Component::UiNode, &good), "{good}");
        assert_eq!(fast_disagreement(ours(), Component::UiNode, &good), None);
        let keys: Vec<String> = attributes
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for key in keys
            .iter()
            .map(String::as_str)
            .chain(["title", "text", "type", "data"])
        {
            for b in &breakers {
                let mut bad = good.clone();
                bad["attributes"][key] = b.clone();
                assert_eq!(fast_disagreement(ours(), Component::UiNode, &bad), None);
                if let Some(m) = bad["attributes"].as_object_mut() {
                    m.remove(key);
                }
                assert_eq!(fast_disagreement(ours(), Component::UiNode, &bad), None);
            }
        }
        for other in ["text", "input", "img", "a", "script", "div", "nope"] {
            let mut mixed = good.clone();
            mixed["type"] = json!(other);
            assert_eq!(fast_disagreement(ours(), Component::UiNode, &mixed), None);
        }
    }
    for item in continue_items() {
        assert!(ours().is_valid(Component::ContinueWith, &item), "{item}");
        assert_eq!(
            fast_disagreement(ours(), Component::ContinueWith, &item),
            None
        );
        for action in [
            "show_verification_ui",
            "set_ory_session_token",
            "show_settings_ui",
            "show_recovery_ui",
            "redirect_browser_to",
            "show_pin_entry_ui",
            "other",
        ] {
            let mut swapped = item.clone();
            swapped["action"] = json!(action);
            assert_eq!(
                fast_disagreement(ours(), Component::ContinueWith, &swapped),
                None
            );
        }
        for key in ["flow", "data", "redirect_browser_to", "ory_session_token"] {
            for b in &breakers {
                let mut bad = item.clone();
                bad[key] = b.clone();
                assert_eq!(
                    fast_disagreement(ours(), Component::ContinueWith, &bad),
                    None
                );
            }
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let known = prop::sample::select(vec![
        "choose_method",
        "sent_email",
        "passed_challenge",
        "api",
        "browser",
        "input",
        "text",
        "img",
        "a",
        "script",
        "div",
        "email",
        "hidden",
        "submit",
        "code",
        "default",
        "info",
        "error",
        "show_settings_ui",
        "show_recovery_ui",
        "set_ory_session_token",
        "2026-07-29T10:00:00Z",
        "5f0c3a0e-6d4b-4a57-9f6a-2b8e1c7d9a41",
        "",
    ])
    .prop_map(|s| Value::String(s.to_owned()));
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..700).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(1.0f64),
            Just(-0.0),
            Just(450.0),
            Just(1.5),
            any::<f64>()
        ]
        .prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::String),
        known,
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "id",
                    "type",
                    "node_type",
                    "action",
                    "flow",
                    "text",
                    "value",
                    "name",
                    "message",
                    "code",
                    "x"
                ])
                .prop_map(str::to_owned),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every pointer in `value`, the root included.
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

/// A body of each component, valid: fixtures plus the full variants.
fn valid_bodies() -> Vec<(Component, Value)> {
    let mut out: Vec<(Component, Value)> = FIXTURES
        .iter()
        .map(|(name, c)| (*c, fixture(name)))
        .collect();
    let mut flow = fixture("flow-create-api.json");
    let nodes: Vec<Value> = full_attributes()
        .into_iter()
        .map(|(k, a)| node(k, a))
        .collect();
    flow["ui"]["nodes"] = Value::Array(nodes.clone());
    flow["continue_with"] = Value::Array(continue_items());
    out.push((Component::RecoveryFlow, flow));
    for n in nodes {
        out.push((Component::UiNode, n));
    }
    for c in continue_items() {
        out.push((Component::ContinueWith, c));
    }
    out
}

fn bodies() -> &'static [(Component, Value)] {
    static BODIES: OnceLock<Vec<(Component, Value)>> = OnceLock::new();
    BODIES.get_or_init(valid_bodies)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_bodies_get_jsonschemas_verdict(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, json_value()), 1..4),
    ) {
        let (component, body) = which.get(bodies());
        let mut body = body.clone();
        for (at, op, value) in &edits {
            let mut all = Vec::new();
            pointers(&body, String::new(), &mut all);
            let target = at.get(&all).clone();
            match op {
                0 => if let Some(slot) = body.pointer_mut(&target) { *slot = value.clone() },
                1 => if let Some(cut) = target.rfind('/') {
                    let key = target[cut + 1..].replace("~1", "/").replace("~0", "~");
                    match body.pointer_mut(&target[..cut]) {
                        Some(Value::Object(m)) => { m.remove(&key); }
                        Some(Value::Array(items)) => {
                            if let Ok(i) = key.parse::<usize>() { if i < items.len() { items.remove(i); } }
                        }
                        _ => {}
                    }
                },
                _ => if let Some(Value::Array(items)) = body.pointer_mut(&target) {
                    items.push(value.clone());
                },
            }
        }
        agree(*component, &body)?;
    }

    #[test]
    fn valid_bodies_with_other_scalars_get_jsonschemas_verdict(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        value in json_value(),
    ) {
        // Every scalar position replaced by another scalar: types, enums and consts at their
        // boundaries.
        let (component, body) = which.get(bodies());
        let mut body = body.clone();
        let mut all = Vec::new();
        pointers(&body, String::new(), &mut all);
        let target = at.get(&all).clone();
        if let Some(slot) = body.pointer_mut(&target) {
            *slot = value;
        }
        agree(*component, &body)?;
    }

    #[test]
    fn date_time_strings_get_jsonschemas_verdict(
        s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,3})?([Zz]|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{2}[0-9]{2})?",
        plain in "(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T(([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)|23:59:60)(\\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9])",
    ) {
        let mut flow = fixture("flow-create-api.json");
        for candidate in [&s, &plain] {
            flow["expires_at"] = json!(candidate);
            agree(Component::RecoveryFlow, &flow)?;
        }
    }

    #[test]
    fn uuid_strings_get_jsonschemas_verdict(
        s in "[0-9a-fA-FgG-]{30,38}",
        good in "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        braced in "\\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\\}?",
    ) {
        let mut flow = fixture("flow-create-api.json");
        for candidate in [&s, &good, &braced] {
            flow["id"] = json!(candidate);
            agree(Component::RecoveryFlow, &flow)?;
        }
    }
}

/// The pointers of every string leaf of `body`.
fn string_leaves(body: &Value) -> Vec<String> {
    let mut all = Vec::new();
    pointers(body, String::new(), &mut all);
    all.retain(|p| body.pointer(p).is_some_and(Value::is_string));
    all
}

#[test]
fn the_memo_decides_the_bodies_of_a_load_run() {
    // Not vacuous: a created flow with another id is decided by the template of the first.
    let memo = memo();
    let first = fixture("flow-create-api.json");
    let bytes = serde_json::to_vec(&first).expect("JSON");
    assert!(matches!(
        memo.check(Component::RecoveryFlow, &bytes),
        Some(Fast::Valid(_))
    ));
    let mut next = first.clone();
    next["id"] = json!("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    next["issued_at"] = json!("2027-01-01T00:00:00Z");
    let bytes = serde_json::to_vec(&next).expect("JSON");
    let facts = memo
        .remembered(Component::RecoveryFlow, &bytes)
        .expect("the template decides");
    assert_eq!(
        facts.id.as_deref(),
        Some("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    );
    assert_eq!(Fast::Valid(facts), pass(Component::RecoveryFlow, &bytes));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// A learned body with one string replaced: the memo's verdict (and facts) are the pass's,
    /// and the pass's is jsonschema's.
    #[test]
    fn the_memo_gives_the_passs_verdict_on_changed_strings(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        s in prop_oneof![
            "[ -~]{0,40}",
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "[0-9a-fA-FgG-]{34,38}",
            "(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-4]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]{0,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
            "\\PC{0,8}",
            "[\"\\\\\t\n\u{1}é]{0,3}",
        ],
    ) {
        let (component, body) = which.get(bodies());
        let memo = memo();
        let learned = serde_json::to_vec(body).expect("JSON");
        prop_assert!(matches!(memo.check(*component, &learned), Some(Fast::Valid(_))));
        let leaves = string_leaves(body);
        if leaves.is_empty() {
            return Ok(());
        }
        let mut changed = body.clone();
        let target: &String = at.get(&leaves);
        *changed.pointer_mut(target).expect("leaf") = json!(s);
        let bytes = serde_json::to_vec(&changed).expect("JSON");
        let pass = pass(*component, &bytes);
        if let Some(facts) = memo.remembered(*component, &bytes) {
            prop_assert_eq!(Fast::Valid(facts), pass.clone());
        }
        prop_assert_eq!(memo.check(*component, &bytes), Some(pass));
        agree(*component, &changed)?;
    }

    /// A learned body with any bytes spliced in anywhere (not JSON, not UTF-8, quotes, escapes):
    /// the memo's verdict is the pass's.
    #[test]
    fn the_memo_gives_the_passs_verdict_on_spliced_bytes(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        cut in 0..4usize,
        bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), Just(b'a'), Just(b'0'), Just(b'-')], 0..6),
    ) {
        let (component, body) = which.get(bodies());
        let memo = memo();
        let learned = serde_json::to_vec(body).expect("JSON");
        prop_assert!(matches!(memo.check(*component, &learned), Some(Fast::Valid(_))));
        let i = at.index(learned.len() + 1);
        let mut spliced = learned[..i].to_vec();
        spliced.extend_from_slice(&bytes);
        spliced.extend_from_slice(&learned[(i + cut).min(learned.len())..]);
        let pass = pass(*component, &spliced);
        if let Some(facts) = memo.remembered(*component, &spliced) {
            prop_assert_eq!(Fast::Valid(facts), pass.clone());
        }
        prop_assert_eq!(memo.check(*component, &spliced), Some(pass));
    }
}
