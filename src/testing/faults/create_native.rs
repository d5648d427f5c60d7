//! `create_native.*`: the native creation's answer, its fields, `return_to` and the signed-in refusals.

use crate::testing::model::{Action, Fault, Match, Route};
use crate::testing::rewrite::{
    answer, drop_node_messages, id_of, plain, remove, replace_everywhere, set, time, SERVER_ERROR,
    SESSION_ALREADY,
};
use serde_json::{json, Value};

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "create_native_500",
        "creating a flow without query or credentials answers 500 (in the envelope)",
        Match::route(Route::CreateNative).when(plain),
        answer(500, "application/json", SERVER_ERROR),
    ),
    Fault::new(
        "create_native_cacheable",
        "created flows may be cached by shared caches",
        Match::route(Route::CreateNative).status(200),
        Action::SetHeader("cache-control", "public, max-age=300"),
    ),
    Fault::new(
        "create_native_text_plain",
        "created flows are labelled text/plain",
        Match::route(Route::CreateNative).status(200),
        Action::ContentType("text/plain; charset=utf-8"),
    ),
    Fault::new(
        "flow_missing_required_field",
        "created flows' nodes lack the required `messages`",
        Match::route(Route::CreateNative).status(200),
        Action::Json(drop_node_messages),
    ),
    Fault::new(
        "type_browser_on_api",
        "native flows say type browser (create and get)",
        Match::route(Route::Any)
            .status(200)
            .when(|i| matches!(i.route, Some(Route::CreateNative | Route::GetFlow))),
        Action::Json(|v, _, _| set(v, "type", json!("browser"))),
    ),
    Fault::new(
        "state_sent_email_on_create",
        "new flows say sent_email (create and get)",
        Match::route(Route::Any)
            .status(200)
            .when(|i| matches!(i.route, Some(Route::CreateNative | Route::GetFlow))),
        Action::Json(|v, _, _| {
            if v.get("state") == Some(&json!("choose_method")) {
                set(v, "state", json!("sent_email"));
            }
        }),
    ),
    Fault::new(
        "state_not_in_enum",
        "created flows carry a state outside the enum",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| set(v, "state", json!("choosing"))),
    ),
    Fault::new(
        "id_not_uuid",
        "flow ids are not UUIDs (`flow-<hex>`), though the server takes them back",
        Match::route(Route::Any),
        Action::AliasIds,
    ),
    Fault::new(
        "repeated_id",
        "every creation answers the same flow id",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(id) = id_of(v) {
                replace_everywhere(v, &id, "0d0a1f3c-5b7e-4c2a-8e6f-000000000001");
            }
        }),
    ),
    Fault::new(
        "issued_long_ago",
        "issued_at lies two hours in the past",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| set(v, "issued_at", time(-7200))),
    ),
    Fault::new(
        "issued_after_expiry",
        "issued_at is later than expires_at",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            set(v, "issued_at", time(30));
            set(v, "expires_at", time(10));
        }),
    ),
    Fault::new(
        "already_expired",
        "new flows expire before they arrive",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            set(v, "issued_at", time(-60));
            set(v, "expires_at", time(-30));
        }),
    ),
    Fault::new(
        "request_url_internal",
        "request_url names an internal host",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            set(
                v,
                "request_url",
                json!("http://kratos:4433/self-service/recovery/api"),
            )
        }),
    ),
    Fault::new(
        "request_url_other_path",
        "request_url names another path (the browser endpoint)",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(u) = v.get_mut("request_url") {
                if let Some(s) = u.as_str() {
                    *u = json!(s.replace("/recovery/api", "/recovery/browser"));
                }
            }
        }),
    ),
    Fault::new(
        "action_other_flow",
        "ui.action carries another flow's id (host and path right)",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let (Some(id), Some(a)) = (id_of(v), v.pointer_mut("/ui/action")) {
                if let Some(s) = a.as_str() {
                    *a = json!(s.replace(&id, "00000000-0000-4000-8000-000000000000"));
                }
            }
        }),
    ),
    Fault::new(
        "action_internal_host",
        "ui.action names an internal host (the classic wrong serve.public.base_url), flow id right",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(a) = v.pointer_mut("/ui/action") {
                if let Some(flow) = a.as_str().and_then(|s| s.split_once("/self-service/")) {
                    *a = json!(format!("http://kratos:4433/self-service/{}", flow.1));
                }
            }
        }),
    ),
    Fault::new(
        "ui_method_get",
        "ui.method is GET",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(m) = v.pointer_mut("/ui/method") {
                *m = json!("GET");
            }
        }),
    ),
    Fault::new(
        "no_email_node",
        "the form lacks the email input",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(nodes) = v.pointer_mut("/ui/nodes").and_then(Value::as_array_mut) {
                nodes.retain(|n| n.pointer("/attributes/name") != Some(&json!("email")));
            }
        }),
    ),
    Fault::new(
        "return_to_dropped",
        "an allowed return_to is not echoed",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| remove(v, "return_to")),
    ),
    Fault::new(
        "return_to_unchecked",
        "a forbidden return_to is ignored (200 where 400 is due)",
        Match::route(Route::CreateNative)
            .when(|i| i.param("return_to").is_some_and(|r| r.contains(".invalid"))),
        Action::DropParam("return_to"),
    ),
    Fault::new(
        "session_token_ignored",
        "X-Session-Token is not read (200 where 400 is due)",
        Match::route(Route::CreateNative),
        Action::DropHeader("x-session-token"),
    ),
    Fault::new(
        "session_cookie_ignored",
        "the session cookie is not read (200 where 400 is due)",
        Match::route(Route::CreateNative),
        Action::DropHeader("cookie"),
    ),
    Fault::new(
        "bearer_ignored",
        "Authorization: Bearer is not read (200 where 400 is due)",
        Match::route(Route::CreateNative),
        Action::DropHeader("authorization"),
    ),
    Fault::new(
        "any_token_is_a_session",
        "any X-Session-Token, even unknown, counts as signed in",
        Match::route(Route::CreateNative).when(|i| i.has_header("x-session-token")),
        answer(400, "application/json", SESSION_ALREADY),
    ),
    Fault::new(
        "signed_in_wrong_error_id",
        "the signed-in 400 carries another error id",
        Match::route(Route::CreateNative)
            .status(400)
            .when(|i| i.param("return_to").is_none()),
        Action::Json(|v, _, _| {
            if let Some(id) = v.pointer_mut("/error/id") {
                *id = json!("session_inactive");
            }
        }),
    ),
];
