//! `expiry.*`: expired flows answered without what Kratos says.

use crate::testing::model::{Action, Fault, Match, Route};
use crate::testing::rewrite::remove_in;
use serde_json::{json, Value};

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "expired_without_details",
        "the 410 of an expired flow lacks error.details",
        Match::route(Route::GetFlow).status(410),
        Action::Json(|v, _, _| remove_in(v, "error", "details")),
    ),
    Fault::new(
        "expired_flow_silent",
        "the flow that replaces an expired one does not say why (no 4060005)",
        Match::route(Route::GetFlow).status(200),
        Action::Json(|v, _, _| {
            if let Some(m) = v.pointer_mut("/ui/messages").and_then(Value::as_array_mut) {
                m.retain(|m| m.get("id") != Some(&json!(4060005)));
            }
        }),
    ),
];
