//! `default.*`: undeclared methods and paths, and unexpected statuses without the envelope.

use crate::testing::model::{Fault, Match, Route};
use crate::testing::rewrite::{answer, SERVER_ERROR};
use axum::http::Method;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "undeclared_method_500",
        "a method the spec does not declare breaks the server (500)",
        Match::route(Route::CreateNative).when(|i| i.method == Method::DELETE),
        answer(500, "application/json", SERVER_ERROR),
    ),
    Fault::new(
        "undeclared_path_502",
        "an unknown path gets a proxy's HTML 502",
        Match::route(Route::Any).when(|i| i.route.is_none()),
        answer(502, "text/html", "<html><body>502 Bad Gateway</body></html>"),
    ),
    Fault::new(
        "method_not_allowed_plain",
        "a wrong method gets Go's plain-text 405, as real Kratos answers (not a fault: nothing may fail)",
        Match::route(Route::Any).status(405),
        answer(405, "text/plain; charset=utf-8", "Method Not Allowed"),
    ),
    Fault::new(
        "browser_bad_gateway",
        "a proxy answers 502 text/plain for the browser flow",
        Match::route(Route::CreateBrowser),
        answer(502, "text/plain", "Bad Gateway"),
    ),
];
