//! `native_context.*`: native flows that take submits carrying browser context.

use crate::testing::model::{Action, Fault, Match, Route};

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "native_cookie_processed",
        "an API-flow submit with a Cookie header is processed",
        Match::route(Route::Update)
            .when(|i| i.has_header("cookie") && i.field("csrf_token").is_none()),
        Action::DropHeader("cookie"),
    ),
    Fault::new(
        "native_origin_processed",
        "a submit with an Origin header is processed",
        Match::route(Route::Update).when(|i| i.has_header("origin")),
        Action::DropHeader("origin"),
    ),
];
