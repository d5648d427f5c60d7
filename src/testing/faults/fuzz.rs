//! `fuzz.*`: crashes only generated requests find.

use crate::testing::model::{Fault, Match, Route};
use crate::testing::rewrite::answer;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "crash_on_non_ascii_return_to",
        "a return_to with a non-ASCII character crashes the server (500 text/plain)",
        Match::route(Route::CreateNative)
            .when(|i| i.param("return_to").is_some_and(|r| !r.is_ascii())),
        answer(500, "text/plain", "panic: index out of range"),
    ),
    Fault::new(
        "crash_on_upper_case_id",
        "a flow id in upper case crashes the lookup (500 text/plain)",
        Match::route(Route::GetFlow).when(|i| {
            i.param("id")
                .is_some_and(|id| id.bytes().any(|b| b.is_ascii_uppercase()))
        }),
        answer(500, "text/plain", "internal error"),
    ),
    Fault::new(
        "crash_on_form_body",
        "a form-encoded submission crashes the server (500 text/plain)",
        Match::route(Route::Update).when(|i| {
            i.content_type
                .starts_with("application/x-www-form-urlencoded")
        }),
        answer(500, "text/plain", "internal error"),
    ),
];
