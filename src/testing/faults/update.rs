//! `update.*`: the address submission, the missing address and the wrong code.

use crate::testing::model::{Action, Fault, Match, Route};
use crate::testing::rewrite::{
    answer, clear_node_messages, code_submit, drop_first_node_meta, drop_node_messages,
    drop_ui_messages, email_submit, no_email, set, six_digits, SERVER_ERROR,
};
use serde_json::json;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "update_email_500",
        "an e-mail submission that would succeed answers 500 (in the envelope)",
        Match::route(Route::Update).status(200).when(email_submit),
        answer(500, "application/json", SERVER_ERROR),
    ),
    Fault::new(
        "update_email_missing_required_field",
        "the answer to an email lacks nodes' `messages`",
        Match::route(Route::Update).when(email_submit).status(200),
        Action::Json(drop_node_messages),
    ),
    Fault::new(
        "update_email_state",
        "after an email the flow still says choose_method",
        Match::route(Route::Update).when(email_submit).status(200),
        Action::Json(|v, _, _| set(v, "state", json!("choose_method"))),
    ),
    Fault::new(
        "update_email_no_message",
        "after an email the flow has no \"sent\" message",
        Match::route(Route::Update).when(email_submit).status(200),
        Action::Json(drop_ui_messages),
    ),
    Fault::new(
        "missing_email_200",
        "a submission without email answers 200 (400 is due)",
        Match::route(Route::Update).when(no_email),
        Action::Status(200),
    ),
    Fault::new(
        "missing_email_missing_required_field",
        "the 400 flow's first node lacks the required `meta`",
        Match::route(Route::Update).when(no_email).status(400),
        Action::Json(drop_first_node_meta),
    ),
    Fault::new(
        "missing_email_no_node_message",
        "the 400 flow does not say the email is missing",
        Match::route(Route::Update).when(no_email).status(400),
        Action::Json(clear_node_messages),
    ),
    Fault::new(
        "wrong_code_400",
        "a code that is not six digits answers 400 (Kratos answers 200)",
        Match::route(Route::Update).when(|i| code_submit(i) && !six_digits(i.field("code"))),
        Action::Status(400),
    ),
    Fault::new(
        "wrong_code_missing_required_field",
        "the answer to a wrong code lacks a node's `meta`",
        Match::route(Route::Update).when(code_submit).status(200),
        Action::Json(drop_first_node_meta),
    ),
    Fault::new(
        "wrong_code_state",
        "a wrong code moves the flow to passed_challenge",
        Match::route(Route::Update).when(code_submit).status(200),
        Action::Json(|v, _, _| set(v, "state", json!("passed_challenge"))),
    ),
    Fault::new(
        "wrong_code_no_message",
        "a wrong code is not reported",
        Match::route(Route::Update).when(code_submit).status(200),
        Action::Json(drop_ui_messages),
    ),
];
