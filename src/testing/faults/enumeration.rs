//! `enumeration.*`: an answer, or its latency, that tells whether an address has an account.

use crate::testing::model::{Action, Fault, Match, Route};
use crate::testing::rewrite::{drop_ui_messages, email_submit};
use std::time::Duration;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "enumeration_leak",
        "the \"sent\" message is missing for addresses without identity",
        Match::route(Route::Update)
            .status(200)
            .when(|i| email_submit(i) && !known_address(i.field("email"))),
        Action::Json(drop_ui_messages),
    ),
    Fault::new(
        "known_address_slow",
        "a known address is answered 400 ms later than an unknown one (the mail is sent before the answer)",
        Match::route(Route::Update).when(|i| email_submit(i) && known_address(i.field("email"))),
        Action::Delay(Duration::from_millis(400)),
    ),
];

/// A known address of the reference server's default identities.
fn known_address(email: Option<&str>) -> bool {
    email.is_some_and(|e| {
        let e = e.to_ascii_lowercase();
        e.ends_with("@example.org") || e.ends_with("@example.com")
    })
}
