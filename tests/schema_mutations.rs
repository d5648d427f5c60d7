//! Each rule the schemas encode rejects a mutated copy of a real Kratos body, at the right place.
//!
//! Table-driven: fixture + JSON-pointer mutation → the violated pointer and keyword. A third column
//! says what the official OpenAPI document makes of the same mutation, so the table doubles as a
//! tested list of where our schemas are stricter (see schemas/README.md).

mod schema_support;

use recovery_harness::schema::{Component, Schemas};
use schema_support::{embedded, fixture, official, remove, set};
use serde_json::{json, Value};

/// What the official document (loaded with `--spec`) does with the mutated body.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Official {
    /// It rejects it too.
    Rejects,
    /// It accepts it: our rule is one of the documented stricter ones.
    Accepts,
    /// Not comparable: it already rejects the unmutated body (its errata, docs/kratos-behaviour.md §6).
    Errata,
}
use Official::{Accepts, Errata, Rejects};

enum Op {
    Set(&'static str, Value),
    Remove(&'static str),
}

struct Case {
    fixture: &'static str,
    component: Component,
    op: Op,
    /// Pointer of the expected violation.
    pointer: &'static str,
    /// Its keyword (the first word of `rule`).
    keyword: &'static str,
    official: Official,
}

const API: &str = "flow-create-api.json";
const BROWSER: &str = "flow-create-browser.json";
const SENT: &str = "flow-sent-email.json";
const MISSING: &str = "flow-400-email-missing.json";
const PASSED: &str = "flow-passed-challenge.json";
const SESSION: &str = "error-session-already-available.json";
const EXPIRED_BROWSER: &str = "error-expired-browser.json";
const LOCATION: &str = "error-browser-location-change-required.json";
const RICH: &str = "error-expired-rich.json";

fn case(
    fixture: &'static str,
    op: Op,
    pointer: &'static str,
    keyword: &'static str,
    official: Official,
) -> Case {
    let component = match fixture {
        LOCATION => Component::ErrorBrowserLocationChangeRequired,
        RICH => Component::SelfServiceFlowExpiredError,
        f if f.starts_with("error-") => Component::ErrorGeneric,
        _ => Component::RecoveryFlow,
    };
    Case {
        fixture,
        component,
        op,
        pointer,
        keyword,
        official,
    }
}

fn cases() -> Vec<Case> {
    use Op::{Remove, Set};
    vec![
        // recoveryFlow: required properties
        case(API, Remove("/id"), "", "required", Rejects),
        case(API, Remove("/type"), "", "required", Rejects),
        case(API, Remove("/expires_at"), "", "required", Rejects),
        case(API, Remove("/issued_at"), "", "required", Rejects),
        case(API, Remove("/request_url"), "", "required", Rejects),
        case(API, Remove("/ui"), "", "required", Rejects),
        case(API, Remove("/state"), "", "required", Rejects),
        // recoveryFlow: types and formats
        case(
            API,
            Set("/id", json!("not-a-uuid")),
            "/id",
            "format",
            Rejects,
        ),
        case(API, Set("/id", json!(42)), "/id", "type", Rejects),
        case(
            API,
            Set("/expires_at", json!("2026-07-29 11:00:00")),
            "/expires_at",
            "format",
            Rejects,
        ),
        case(
            API,
            Set("/issued_at", json!("2026-07-29T10:00:00")),
            "/issued_at",
            "format",
            Rejects,
        ),
        case(
            API,
            Set("/request_url", json!(5)),
            "/request_url",
            "type",
            Rejects,
        ),
        case(
            BROWSER,
            Set("/return_to", json!(5)),
            "/return_to",
            "type",
            Rejects,
        ),
        case(API, Set("/active", Value::Null), "/active", "type", Rejects),
        case(
            API,
            Set("/transient_payload", json!("x")),
            "/transient_payload",
            "type",
            Rejects,
        ),
        // selfServiceFlowType / recoveryFlowState: the enums only the official prose states
        case(API, Set("/type", json!("string")), "/type", "enum", Accepts),
        case(API, Set("/type", json!("native")), "/type", "enum", Accepts),
        case(API, Set("/type", Value::Null), "/type", "enum", Rejects),
        case(API, Set("/state", Value::Null), "/state", "enum", Accepts),
        case(API, Set("/state", json!("done")), "/state", "enum", Accepts),
        case(API, Set("/state", json!("")), "/state", "enum", Accepts),
        // continue_with and continueWith (selected by `action`)
        case(
            PASSED,
            Set("/continue_with", json!({})),
            "/continue_with",
            "type",
            Rejects,
        ),
        case(
            PASSED,
            Set("/continue_with/0/action", json!("bogus")),
            "/continue_with/0/action",
            "enum",
            Rejects,
        ),
        case(
            PASSED,
            Remove("/continue_with/0/action"),
            "/continue_with/0",
            "required",
            Rejects,
        ),
        case(
            PASSED,
            Remove("/continue_with/0/ory_session_token"),
            "/continue_with/0",
            "required",
            Rejects,
        ),
        case(
            PASSED,
            Set("/continue_with/0/ory_session_token", json!(1)),
            "/continue_with/0/ory_session_token",
            "type",
            Rejects,
        ),
        case(
            PASSED,
            Remove("/continue_with/1/flow"),
            "/continue_with/1",
            "required",
            Rejects,
        ),
        case(
            PASSED,
            Set("/continue_with/1/flow/id", json!("x")),
            "/continue_with/1/flow/id",
            "format",
            Rejects,
        ),
        case(
            PASSED,
            Set("/continue_with/1/flow/url", json!(7)),
            "/continue_with/1/flow/url",
            "type",
            Rejects,
        ),
        // uiContainer
        case(API, Remove("/ui/action"), "/ui", "required", Rejects),
        case(API, Remove("/ui/method"), "/ui", "required", Rejects),
        case(API, Remove("/ui/nodes"), "/ui", "required", Rejects),
        case(
            API,
            Set("/ui/action", Value::Null),
            "/ui/action",
            "type",
            Rejects,
        ),
        case(
            API,
            Set("/ui/method", json!(1)),
            "/ui/method",
            "type",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes", json!({})),
            "/ui/nodes",
            "type",
            Rejects,
        ),
        case(
            SENT,
            Set("/ui/messages", json!({})),
            "/ui/messages",
            "type",
            Rejects,
        ),
        // uiText (global and node messages)
        case(
            SENT,
            Remove("/ui/messages/0/id"),
            "/ui/messages/0",
            "required",
            Rejects,
        ),
        case(
            SENT,
            Remove("/ui/messages/0/text"),
            "/ui/messages/0",
            "required",
            Rejects,
        ),
        case(
            SENT,
            Remove("/ui/messages/0/type"),
            "/ui/messages/0",
            "required",
            Rejects,
        ),
        case(
            SENT,
            Set("/ui/messages/0/id", json!("1060003")),
            "/ui/messages/0/id",
            "type",
            Rejects,
        ),
        case(
            SENT,
            Set("/ui/messages/0/type", json!("warning")),
            "/ui/messages/0/type",
            "enum",
            Rejects,
        ),
        case(
            MISSING,
            Set("/ui/nodes/1/messages/0/context", json!("email")),
            "/ui/nodes/1/messages/0/context",
            "type",
            Rejects,
        ),
        case(
            MISSING,
            Set("/ui/nodes/1/messages/0/text", Value::Null),
            "/ui/nodes/1/messages/0/text",
            "type",
            Rejects,
        ),
        // uiNode
        case(
            API,
            Remove("/ui/nodes/0/type"),
            "/ui/nodes/0",
            "required",
            Rejects,
        ),
        case(
            API,
            Remove("/ui/nodes/0/group"),
            "/ui/nodes/0",
            "required",
            Rejects,
        ),
        case(
            API,
            Remove("/ui/nodes/0/attributes"),
            "/ui/nodes/0",
            "required",
            Rejects,
        ),
        case(
            API,
            Remove("/ui/nodes/0/messages"),
            "/ui/nodes/0",
            "required",
            Rejects,
        ),
        case(
            API,
            Remove("/ui/nodes/0/meta"),
            "/ui/nodes/0",
            "required",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/type", json!("button")),
            "/ui/nodes/0/type",
            "enum",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/group", json!("email")),
            "/ui/nodes/0/group",
            "enum",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/messages", Value::Null),
            "/ui/nodes/0/messages",
            "type",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/meta", Value::Null),
            "/ui/nodes/0/meta",
            "type",
            Rejects,
        ),
        // attributes.node_type mirrors node.type (official node_type description)
        case(
            API,
            Set("/ui/nodes/0/type", json!("text")),
            "/ui/nodes/0/attributes/node_type",
            "const",
            Accepts,
        ),
        // uiNodeMeta
        case(
            API,
            Remove("/ui/nodes/1/meta/label/id"),
            "/ui/nodes/1/meta/label",
            "required",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/1/meta/label", json!("Email")),
            "/ui/nodes/1/meta/label",
            "type",
            Rejects,
        ),
        // uiNodeAttributes (selected by `node_type`)
        case(
            API,
            Remove("/ui/nodes/0/attributes/node_type"),
            "/ui/nodes/0/attributes",
            "required",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/attributes/node_type", json!("checkbox")),
            "/ui/nodes/0/attributes/node_type",
            "enum",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/attributes", json!("csrf")),
            "/ui/nodes/0/attributes",
            "type",
            Rejects,
        ),
        // uiNodeInputAttributes
        case(
            API,
            Remove("/ui/nodes/0/attributes/name"),
            "/ui/nodes/0/attributes",
            "required",
            Rejects,
        ),
        case(
            API,
            Remove("/ui/nodes/0/attributes/type"),
            "/ui/nodes/0/attributes",
            "required",
            Rejects,
        ),
        case(
            API,
            Remove("/ui/nodes/0/attributes/disabled"),
            "/ui/nodes/0/attributes",
            "required",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/attributes/name", json!(1)),
            "/ui/nodes/0/attributes/name",
            "type",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/attributes/type", json!("secret")),
            "/ui/nodes/0/attributes/type",
            "enum",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/attributes/disabled", json!("false")),
            "/ui/nodes/0/attributes/disabled",
            "type",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/0/attributes/required", json!("true")),
            "/ui/nodes/0/attributes/required",
            "type",
            Rejects,
        ),
        case(
            SENT,
            Set("/ui/nodes/1/attributes/autocomplete", json!("otp")),
            "/ui/nodes/1/attributes/autocomplete",
            "enum",
            Rejects,
        ),
        case(
            SENT,
            Set("/ui/nodes/1/attributes/maxlength", json!(6.5)),
            "/ui/nodes/1/attributes/maxlength",
            "type",
            Rejects,
        ),
        case(
            SENT,
            Set("/ui/nodes/1/attributes/pattern", json!(5)),
            "/ui/nodes/1/attributes/pattern",
            "type",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/1/attributes/label", json!({"text": "Email"})),
            "/ui/nodes/1/attributes/label",
            "required",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/1/attributes/onclick", json!(false)),
            "/ui/nodes/1/attributes/onclick",
            "type",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/1/attributes/onclickTrigger", json!("click")),
            "/ui/nodes/1/attributes/onclickTrigger",
            "enum",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/1/attributes/onloadTrigger", json!("load")),
            "/ui/nodes/1/attributes/onloadTrigger",
            "enum",
            Rejects,
        ),
        case(
            API,
            Set("/ui/nodes/1/attributes/options", json!({})),
            "/ui/nodes/1/attributes/options",
            "type",
            Rejects,
        ),
        // uiNodeInputAttributesOption
        case(
            API,
            Set("/ui/nodes/1/attributes/options", json!([{"label": "a"}])),
            "/ui/nodes/1/attributes/options/0",
            "required",
            Rejects,
        ),
        // errorGeneric / genericError
        case(SESSION, Remove("/error"), "", "required", Rejects),
        case(
            SESSION,
            Set("/error", json!("boom")),
            "/error",
            "type",
            Rejects,
        ),
        case(
            SESSION,
            Remove("/error/message"),
            "/error",
            "required",
            Rejects,
        ),
        case(
            SESSION,
            Set("/error/message", Value::Null),
            "/error/message",
            "type",
            Rejects,
        ),
        case(
            SESSION,
            Set("/error/code", json!("400")),
            "/error/code",
            "type",
            Rejects,
        ),
        case(
            SESSION,
            Set("/error/code", json!(42)),
            "/error/code",
            "minimum",
            Accepts,
        ),
        case(
            SESSION,
            Set("/error/code", json!(600)),
            "/error/code",
            "maximum",
            Accepts,
        ),
        case(
            SESSION,
            Set("/error/id", json!(1)),
            "/error/id",
            "type",
            Rejects,
        ),
        case(
            SESSION,
            Set("/error/status", Value::Null),
            "/error/status",
            "type",
            Rejects,
        ),
        case(
            SESSION,
            Set("/error/reason", json!(5)),
            "/error/reason",
            "type",
            Rejects,
        ),
        case(
            SESSION,
            Set("/error/request", json!(5)),
            "/error/request",
            "type",
            Rejects,
        ),
        case(
            SESSION,
            Set("/error/debug", json!({})),
            "/error/debug",
            "type",
            Rejects,
        ),
        case(
            EXPIRED_BROWSER,
            Set("/error/details", json!("x")),
            "/error/details",
            "type",
            Errata,
        ),
        // errorBrowserLocationChangeRequired (wire form)
        case(
            LOCATION,
            Remove("/redirect_browser_to"),
            "",
            "required",
            Errata,
        ),
        case(LOCATION, Remove("/error"), "", "required", Errata),
        case(
            LOCATION,
            Remove("/error/message"),
            "/error",
            "required",
            Errata,
        ),
        case(
            LOCATION,
            Set("/redirect_browser_to", json!(5)),
            "/redirect_browser_to",
            "type",
            Errata,
        ),
        case(
            LOCATION,
            Set("/error/code", json!(4220)),
            "/error/code",
            "maximum",
            Errata,
        ),
        // selfServiceFlowExpiredError
        case(RICH, Remove("/error"), "", "required", Errata),
        case(
            RICH,
            Set("/expired_at", json!("yesterday")),
            "/expired_at",
            "format",
            Errata,
        ),
        case(RICH, Set("/since", json!("12m")), "/since", "type", Errata),
        case(RICH, Set("/since", json!(1.5)), "/since", "type", Errata),
        case(
            RICH,
            Set("/use_flow_id", json!("x")),
            "/use_flow_id",
            "format",
            Errata,
        ),
        case(
            RICH,
            Set("/error/details/continue_with", json!(7)),
            "",
            "",
            Errata,
        ),
    ]
    .into_iter()
    // The last row documents that `details` is open: anything goes inside it.
    .filter(|c| !c.keyword.is_empty())
    .collect()
}

fn mutate(body: &mut Value, op: &Op) {
    match op {
        Op::Set(pointer, value) => set(body, pointer, value.clone()),
        Op::Remove(pointer) => remove(body, pointer),
    }
}

fn describe(op: &Op) -> String {
    match op {
        Op::Set(p, v) => format!("set {p} = {v}"),
        Op::Remove(p) => format!("remove {p}"),
    }
}

fn check_case(ours: &Schemas, official: &Schemas, case: &Case) {
    let mut body = fixture(case.fixture);
    assert!(
        ours.is_valid(case.component, &body),
        "{}: unmutated fixture must pass",
        case.fixture
    );
    mutate(&mut body, &case.op);
    let what = format!(
        "{} [{}] {}",
        case.fixture,
        case.component,
        describe(&case.op)
    );
    assert!(
        !ours.is_valid(case.component, &body),
        "{what}: is_valid accepted it"
    );
    let violations = ours
        .validate(case.component, &body)
        .expect_err(&format!("{what}: validate accepted it"));
    assert!(
        violations
            .iter()
            .any(|v| v.pointer == case.pointer && v.rule.split(' ').next() == Some(case.keyword)),
        "{what}: expected `{}` at {:?}, got {violations:#?}",
        case.keyword,
        case.pointer
    );
    for v in &violations {
        assert!(
            !v.message.is_empty() && !v.value.is_empty() && v.rule.contains(" at "),
            "{what}: {v:?}"
        );
    }
    // Both fast paths (each compiled from its own schema set) give their full validator's
    // verdict.
    for schemas in [ours, official] {
        if let Some(d) = schema_support::fast_disagreement(schemas, case.component, &body) {
            panic!("{what}: {d}");
        }
    }
    let official_valid = official.is_valid(case.component, &body);
    match case.official {
        Rejects => assert!(
            !official_valid,
            "{what}: the official document should reject it too"
        ),
        Accepts => assert!(
            official_valid,
            "{what}: the official document should accept it (our stricter rule)"
        ),
        Errata => assert!(
            !official.is_valid(case.component, &fixture(case.fixture)),
            "{what}: marked Errata but the official document accepts the unmutated body"
        ),
    }
}

#[test]
fn every_rule_rejects_its_mutation() {
    let ours = embedded();
    let official = official();
    let cases = cases();
    assert!(cases.len() > 90, "{}", cases.len());
    for case in &cases {
        check_case(&ours, &official, case);
    }
}

#[test]
fn details_stay_open_and_input_value_takes_any_type() {
    let ours = embedded();
    let mut rich = fixture(RICH);
    set(&mut rich, "/error/details/continue_with", json!(7));
    set(&mut rich, "/error/details/found cookies", json!(["a"]));
    assert!(ours.is_valid(Component::SelfServiceFlowExpiredError, &rich));
    for value in [
        Value::Null,
        json!(0),
        json!(true),
        json!(["a"]),
        json!({"k": 1}),
        json!(""),
    ] {
        let mut flow = fixture(API);
        set(&mut flow, "/ui/nodes/0/attributes/value", value.clone());
        assert!(
            ours.is_valid(Component::RecoveryFlow, &flow),
            "value {value}"
        );
    }
    // Extra properties are tolerated everywhere: newer Kratos versions add fields.
    let mut flow = fixture(SENT);
    set(&mut flow, "/organization_id", Value::Null);
    set(&mut flow, "/ui/nodes/1/attributes/data-extra", json!(1));
    set(&mut flow, "/ui/messages/0/extra", json!({}));
    assert!(ours.is_valid(Component::RecoveryFlow, &flow));
    // `active` is a free string: any method group name.
    set(&mut flow, "/active", json!("some_future_method"));
    assert!(ours.is_valid(Component::RecoveryFlow, &flow));
}

#[test]
fn nested_error_form_of_the_official_422_is_rejected_by_ours() {
    let ours = embedded();
    let official = official();
    let wire = fixture(LOCATION);
    let nested = json!({"error": {"error": wire["error"].clone()}, "redirect_browser_to": wire["redirect_browser_to"].clone()});
    assert!(official.is_valid(Component::ErrorBrowserLocationChangeRequired, &nested));
    let violations = ours
        .validate(Component::ErrorBrowserLocationChangeRequired, &nested)
        .unwrap_err();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].pointer, "/error");
    assert!(
        violations[0].message.contains("\"message\""),
        "{}",
        violations[0].message
    );
}

/// Node kinds and continue-with actions that recovery does not send but the schemas still encode.
#[test]
fn other_node_variants_and_continue_with_actions() {
    let ours = embedded();
    let official = official();
    let text = json!({"id": 1050001, "text": "Codes", "type": "info"});
    let nodes = [
        (
            "text",
            json!({"text": text, "id": "lookup_secret_codes", "node_type": "text"}),
            "/attributes/text",
        ),
        (
            "img",
            json!({"src": "data:image/png;base64,AA", "id": "totp_qr", "width": 256, "height": 256, "node_type": "img"}),
            "/attributes/width",
        ),
        (
            "a",
            json!({"href": "https://example.com/x", "title": text, "id": "link", "node_type": "a"}),
            "/attributes/title",
        ),
        (
            "script",
            json!({"src": "https://example.com/w.js", "async": true, "referrerpolicy": "no-referrer", "crossorigin": "anonymous", "integrity": "sha512-x", "type": "text/javascript", "id": "webauthn_script", "nonce": "n", "node_type": "script"}),
            "/attributes/async",
        ),
        (
            "div",
            json!({"id": "captcha", "class": "c", "data": {"sitekey": "k"}, "node_type": "div"}),
            "/attributes/data/sitekey",
        ),
    ];
    for (kind, attributes, broken) in nodes {
        let node = json!({"type": kind, "group": "default", "attributes": attributes, "messages": [], "meta": {}});
        assert!(
            ours.is_valid(Component::UiNode, &node),
            "{kind}: {:#?}",
            ours.validate(Component::UiNode, &node)
        );
        assert!(
            official.is_valid(Component::UiNode, &node),
            "{kind} (official)"
        );
        let mut bad = node.clone();
        set(&mut bad, broken, json!(["wrong type"]));
        let violations = ours.validate(Component::UiNode, &bad).unwrap_err();
        assert!(
            violations.iter().any(|v| v.pointer == broken),
            "{kind}: {violations:#?}"
        );
        assert!(
            !official.is_valid(Component::UiNode, &bad),
            "{kind} (official)"
        );
        // The selected variant's own required list applies (not the input variant's).
        let mut missing = node.clone();
        remove(&mut missing, "/attributes/id");
        let violations = ours.validate(Component::UiNode, &missing).unwrap_err();
        assert_eq!(violations.len(), 1, "{kind}: {violations:#?}");
        assert_eq!(violations[0].pointer, "/attributes");
        assert!(
            violations[0].rule.starts_with("required at uiNode"),
            "{}",
            violations[0].rule
        );
    }
    let uuid = "1b4e28ba-2fa1-4d3b-8a6c-0e9a1f4d2c3b";
    let actions = [
        json!({"action": "show_verification_ui", "flow": {"id": uuid, "verifiable_address": "a@example.com", "url": "https://x/verify"}}),
        json!({"action": "show_recovery_ui", "flow": {"id": uuid}}),
        json!({"action": "redirect_browser_to", "redirect_browser_to": "https://app.example.com/"}),
        json!({"action": "show_pin_entry_ui", "data": {"enc": "ZW5j", "ciphertext": "Y3Q="}}),
    ];
    for item in actions {
        assert!(ours.is_valid(Component::ContinueWith, &item), "{item}");
        assert!(
            official.is_valid(Component::ContinueWith, &item),
            "{item} (official)"
        );
        let mut bad = item.clone();
        let key = item
            .as_object()
            .unwrap()
            .keys()
            .find(|k| *k != "action")
            .unwrap()
            .clone();
        remove(&mut bad, &format!("/{key}"));
        let violations = ours.validate(Component::ContinueWith, &bad).unwrap_err();
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert!(violations[0].message.contains(&key), "{violations:#?}");
        // The official oneOf failure is narrowed to the variant `action` selects.
        let violations = official
            .validate(Component::ContinueWith, &bad)
            .unwrap_err();
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert!(
            violations[0]
                .rule
                .starts_with("required at #/components/schemas/continueWith"),
            "{violations:#?}"
        );
    }
    let mut verification = json!({"action": "show_verification_ui", "flow": {"id": uuid}});
    let violations = ours
        .validate(Component::ContinueWith, &verification)
        .unwrap_err();
    assert_eq!(violations[0].pointer, "/flow");
    set(
        &mut verification,
        "/flow/verifiable_address",
        json!("a@example.com"),
    );
    set(&mut verification, "/flow/id", json!("nope"));
    let violations = ours
        .validate(Component::ContinueWith, &verification)
        .unwrap_err();
    assert_eq!(violations[0].pointer, "/flow/id");
}
