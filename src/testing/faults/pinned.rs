//! `pinned.*`: error forms other than real Kratos's.

use crate::testing::model::{Action, Fault, Match, Memory, RequestInfo, Route};
use crate::testing::rewrite::{
    answer, clear_node_messages, drop_ui_messages, for_nodes, is_uuid, remove_in,
    FLOW_NOT_FOUND_404,
};
use serde_json::{json, Value};

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "unknown_flow_no_reason",
        "a submit to an unknown flow answers 404 without a reason",
        Match::route(Route::Update).status(404),
        Action::Json(|v, _, _| remove_in(v, "error", "reason")),
    ),
    Fault::new(
        "missing_flow_plain",
        "a submit without ?flow= answers a plain-text 400",
        Match::route(Route::Update).when(|i| i.param("flow").is_none()),
        answer(400, "text/plain; charset=utf-8", "Bad Request"),
    ),
    Fault::new(
        "malformed_flow_404",
        "a submit whose flow is not a UUID answers 404",
        Match::route(Route::Update).when(|i| i.param("flow").is_some_and(|f| !is_uuid(Some(f)))),
        answer(404, "application/json", FLOW_NOT_FOUND_404),
    ),
    Fault::new(
        "invalid_email_unreported",
        "an invalid e-mail answers 400 without a message on the email node",
        Match::route(Route::Update)
            .status(400)
            .when(|i| i.field("email").is_some_and(|e| !e.contains('@'))),
        Action::Json(clear_node_messages),
    ),
    Fault::new(
        "unknown_method_unreported",
        "an unknown method answers 400 without 4010005",
        Match::route(Route::Update).status(400).when(|i| {
            i.field("method")
                .is_some_and(|m| m != "code" && m != "link")
        }),
        Action::Json(drop_ui_messages),
    ),
    Fault::new(
        "unknown_method_v1_1_0_form",
        "an unknown method answers as Kratos v1.1.0 does: 4000001 on the `method` node, no 4010005 (not a fault: nothing may fail)",
        Match::route(Route::Update).status(400).when(|i| {
            i.field("method")
                .is_some_and(|m| m != "code" && m != "link")
        }),
        Action::Json(method_enum_error),
    ),
    Fault::new(
        "browser_session_ignored",
        "browser creation does not read X-Session-Token",
        Match::route(Route::CreateBrowser),
        Action::DropHeader("x-session-token"),
    ),
    Fault::new(
        "browser_always_json",
        "browser creation answers JSON whatever the Accept (no 303 to the UI)",
        Match::route(Route::CreateBrowser).when(|i| !i.accept.contains("json")),
        Action::SetRequestHeader("accept", "application/json"),
    ),
    Fault::new(
        "get_flow_cacheable",
        "retrieved flows may be cached by shared caches",
        Match::route(Route::GetFlow).status(200),
        Action::SetHeader("cache-control", "public, max-age=300"),
    ),
];

/// Kratos v1.1.0's answer to a method outside `code` and `link`: its body decoder's enum error on
/// the `method` node, and no strategy message.
fn method_enum_error(v: &mut Value, _: &RequestInfo, _: &Memory) {
    const REASON: &str = "value must be one of \"code\", \"link\"";
    if let Some(messages) = v.pointer_mut("/ui/messages").and_then(Value::as_array_mut) {
        messages.retain(|m| m.get("id") != Some(&json!(4010005)));
    }
    for_nodes(v, |n| {
        if n.get("attributes").and_then(|a| a.get("name")) == Some(&json!("method")) {
            n.insert(
                "messages".to_owned(),
                json!([{"id": 4000001, "text": REASON, "type": "error", "context": {"reason": REASON}}]),
            );
        }
    });
}
