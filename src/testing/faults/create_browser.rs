//! `create_browser.*`: the browser creation asked for JSON.

use crate::testing::model::{Action, Fault, Match, Route};
use crate::testing::rewrite::{answer, drop_first_node_meta, set};
use serde_json::json;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "browser_html",
        "the browser flow ignores Accept and answers HTML",
        Match::route(Route::CreateBrowser),
        answer(
            200,
            "text/html; charset=utf-8",
            "<html><form method=post></form></html>",
        ),
    ),
    Fault::new(
        "browser_type_api",
        "browser flows say type api",
        Match::route(Route::CreateBrowser).status(200),
        Action::Json(|v, _, _| set(v, "type", json!("api"))),
    ),
    Fault::new(
        "browser_missing_required_field",
        "browser flows' first node lacks the required `meta`",
        Match::route(Route::CreateBrowser).status(200),
        Action::Json(drop_first_node_meta),
    ),
    Fault::new(
        "browser_not_json",
        "the browser flow is labelled JSON but is not",
        Match::route(Route::CreateBrowser),
        answer(200, "application/json", "<html>not json</html>"),
    ),
];
