//! Broken transports: no answer, a cut body, a reset, an oversized body (every check that reads the exchange fails, the run goes on).

use crate::testing::model::{Action, Fault, Match, Route};
use std::time::Duration;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "browser_never_answers",
        "the browser flow never answers",
        Match::route(Route::CreateBrowser),
        Action::Delay(Duration::from_secs(3600)),
    ),
    Fault::new(
        "get_flow_truncated",
        "the retrieved flow's body is cut off mid-way",
        Match::route(Route::GetFlow).status(200),
        Action::Truncate,
    ),
    Fault::new(
        "browser_reset",
        "the connection breaks right after the browser flow's headers",
        Match::route(Route::CreateBrowser),
        Action::Reset,
    ),
    Fault::new(
        "browser_oversized",
        "the browser flow's body is 8 MiB",
        Match::route(Route::CreateBrowser),
        Action::Oversize(8 * 1024 * 1024),
    ),
];
