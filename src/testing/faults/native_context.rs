//! `native_context.*`: native flows that take submits carrying browser context, or set cookies.

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
    Fault::new(
        "api_success_sets_cookie",
        "the right code's answer sets a CSRF cookie, API flow or not (Kratos v1.0.0, ory/kratos #3705)",
        Match::route(Route::Update).status(422),
        Action::SetHeader(
            "set-cookie",
            "csrf_token_806060ca5bf70dff3caa0e5c860002aade9d470a5a4dce73bcfa7ba10778f481=cmVjb3ZlcnktaGFybmVzcy1jc3JmLWNvb2tpZQ==; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax",
        ),
    ),
];
