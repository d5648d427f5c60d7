//! `get_flow.*`: looking a flow up, and the 404s of unknown and malformed ids.

use crate::testing::model::{Action, Fault, Match, Route};
use crate::testing::rewrite::{
    answer, drop_node_messages, is_uuid, set, NOT_A_UUID_400, SERVER_ERROR,
};
use serde_json::json;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "get_flow_500",
        "looking up an existing flow answers 500 (in the envelope)",
        Match::route(Route::GetFlow).status(200),
        answer(500, "application/json", SERVER_ERROR),
    ),
    Fault::new(
        "get_flow_missing_required_field",
        "retrieved flows' nodes lack the required `messages`",
        Match::route(Route::GetFlow).status(200),
        Action::Json(drop_node_messages),
    ),
    Fault::new(
        "get_flow_stale_state",
        "a retrieved flow reports another state than it has",
        Match::route(Route::GetFlow).status(200),
        Action::Json(|v, _, _| set(v, "state", json!("sent_email"))),
    ),
    Fault::new(
        "unknown_flow_200",
        "an unknown (well-formed) flow id answers 200",
        Match::route(Route::GetFlow)
            .status(404)
            .when(|i| is_uuid(i.param("id"))),
        Action::Status(200),
    ),
    Fault::new(
        "html_404",
        "404s are an HTML page",
        Match::route(Route::Any).status(404),
        answer(
            404,
            "text/html; charset=utf-8",
            "<html><body><h1>404 Not Found</h1></body></html>",
        ),
    ),
    Fault::new(
        "malformed_id_400",
        "a malformed flow id answers 400",
        Match::route(Route::GetFlow)
            .status(404)
            .when(|i| !is_uuid(i.param("id"))),
        answer(400, "application/json", NOT_A_UUID_400),
    ),
    Fault::new(
        "error_code_mismatch",
        "the unknown-flow 404 says error.code 400",
        Match::route(Route::GetFlow)
            .status(404)
            .when(|i| is_uuid(i.param("id"))),
        Action::Json(|v, _, _| {
            if let Some(c) = v.pointer_mut("/error/code") {
                *c = json!(400);
            }
        }),
    ),
];
