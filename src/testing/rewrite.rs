//! What the faults are made of: rewrites of a JSON body, answers that replace Kratos's (its
//! error bodies), and the matchers that say what a request is (an address submission, a code
//! submission, a plain creation). Shared by the middleware and the fault families.

use crate::testing::model::{Action, Memory, RequestInfo};
use axum::http::Method;
use serde_json::{json, Value};

pub(super) fn for_nodes(v: &mut Value, f: impl Fn(&mut serde_json::Map<String, Value>)) {
    if let Some(nodes) = v.pointer_mut("/ui/nodes").and_then(Value::as_array_mut) {
        for n in nodes.iter_mut().filter_map(Value::as_object_mut) {
            f(n);
        }
    }
}

pub(super) fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

pub(super) fn remove(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
}

pub(super) fn time(offset_secs: i64) -> Value {
    let t = chrono::Utc::now() + chrono::Duration::seconds(offset_secs);
    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Replaces every occurrence of `from` in the body's strings by `to`.
pub(super) fn replace_everywhere(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(a) => a.iter_mut().for_each(|x| replace_everywhere(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| replace_everywhere(x, from, to)),
        _ => {}
    }
}

pub(super) fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_owned)
}

/// Removes `key` from the object at `parent` of the body, if both exist.
pub(super) fn remove_in(v: &mut Value, parent: &str, key: &str) {
    if let Some(p) = v.get_mut(parent) {
        remove(p, key);
    }
}

pub(super) fn drop_ui_messages(v: &mut Value, _: &RequestInfo, _: &Memory) {
    remove_in(v, "ui", "messages");
}

/// Empties every node's `messages` (present, but saying nothing).
pub(super) fn clear_node_messages(v: &mut Value, _: &RequestInfo, _: &Memory) {
    for_nodes(v, |n| {
        n.insert("messages".to_owned(), json!([]));
    });
}

pub(super) fn drop_node_messages(v: &mut Value, _: &RequestInfo, _: &Memory) {
    for_nodes(v, |n| {
        n.remove("messages");
    });
}

pub(super) fn drop_first_node_meta(v: &mut Value, _: &RequestInfo, _: &Memory) {
    if let Some(n) = v.pointer_mut("/ui/nodes/0").and_then(Value::as_object_mut) {
        n.remove("meta");
    }
}

/// Replaces the whole answer ([`Action::Replace`]).
pub(super) const fn answer(status: u16, content_type: &'static str, body: &'static str) -> Action {
    Action::Replace {
        status,
        content_type,
        body,
    }
}

pub(super) const SERVER_ERROR: &str = r#"{"error":{"code":500,"status":"Internal Server Error","message":"An internal server error occurred, please contact the system administrator"}}"#;

pub(super) const SESSION_ALREADY: &str = r#"{"error":{"id":"session_already_available","code":400,"status":"Bad Request","reason":"A valid session was detected and thus recovery is not possible.","message":"The request was malformed or contained invalid parameters"}}"#;

pub(super) const CSRF_403: &str = r#"{"error":{"id":"security_csrf_violation","code":403,"status":"Forbidden","reason":"Please retry the flow and optionally clear your cookies.","message":"the request was rejected to protect you from Cross-Site-Request-Forgery"}}"#;

pub(super) const FLOW_NOT_FOUND_404: &str = r#"{"error":{"code":404,"status":"Not Found","reason":"The recovery request could not be found. Please restart the flow.","message":"The requested resource could not be found"}}"#;

pub(super) const NOT_A_UUID_400: &str = r#"{"error":{"code":400,"status":"Bad Request","reason":"the id is not a UUID","message":"The request was malformed or contained invalid parameters"}}"#;

/// A GET without query, session headers or cookies.
pub(super) fn plain(i: &RequestInfo) -> bool {
    i.method == Method::GET
        && i.query.is_empty()
        && !["x-session-token", "authorization", "cookie"]
            .iter()
            .any(|h| i.has_header(h))
}

/// An e-mail submission (no code).
pub(super) fn email_submit(i: &RequestInfo) -> bool {
    i.method == Method::POST && i.field("email").is_some() && i.field("code").is_none()
}

/// A submission of the `code` method with neither e-mail nor code.
pub(super) fn no_email(i: &RequestInfo) -> bool {
    i.method == Method::POST
        && i.field("method") == Some("code")
        && i.field("email").is_none()
        && i.field("code").is_none()
}

/// A code submission.
pub(super) fn code_submit(i: &RequestInfo) -> bool {
    i.method == Method::POST && i.field("code").is_some() && i.field("email").is_none()
}

pub(super) fn six_digits(s: Option<&str>) -> bool {
    s.is_some_and(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
}

pub(super) fn is_uuid(s: Option<&str>) -> bool {
    s.is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}
