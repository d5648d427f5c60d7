//! `csrf.*`: the anti-CSRF cookie and token of browser flows.

use crate::testing::model::{Action, Fault, Match, RequestInfo, Route};
use crate::testing::rewrite::{answer, for_nodes, set, CSRF_403};
use serde_json::{json, Value};

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "csrf_token_empty",
        "browser flows' csrf_token node is empty",
        Match::route(Route::CreateBrowser).status(200),
        Action::Json(|v, _, _| {
            for_nodes(v, |n| {
                if n.get("attributes").and_then(|a| a.get("name")) == Some(&json!("csrf_token")) {
                    if let Some(a) = n.get_mut("attributes").and_then(Value::as_object_mut) {
                        a.insert("value".to_owned(), json!(""));
                    }
                }
            })
        }),
    ),
    Fault::new(
        "csrf_get_unprotected",
        "a browser flow read without its CSRF cookie answers 200 (403 is due)",
        Match::route(Route::GetFlow).status(403),
        Action::Status(200),
    ),
    Fault::new(
        "csrf_cookie_refused",
        "getRecoveryFlow refuses every request that carries cookies (403)",
        Match::route(Route::GetFlow).when(|i| i.has_header("cookie")),
        answer(403, "application/json", CSRF_403),
    ),
    Fault::new(
        "csrf_token_unchecked",
        "a browser submit's csrf_token is not compared with the cookie",
        Match::route(Route::Update).when(|i| i.field("csrf_token").is_some()),
        Action::RewriteRequest(csrf_from_cookie),
    ),
];

/// Sets the `csrf_token` body field to the request's anti-CSRF cookie (as if unchecked).
fn csrf_from_cookie(body: &mut Value, info: &RequestInfo) {
    if let Some((_, value)) = info
        .cookies
        .iter()
        .find(|(n, _)| n.starts_with("csrf_token"))
    {
        set(body, "csrf_token", json!(value));
    }
}
