//! `enumeration.*`: an answer that tells whether an address has an account.

use crate::testing::model::{Action, Fault, Match, Route};
use crate::testing::rewrite::{drop_ui_messages, email_submit};

/// The faults of this family.
pub const FAULTS: &[Fault] = &[Fault::new(
    "enumeration_leak",
    "the \"sent\" message is missing for addresses without identity",
    Match::route(Route::Update)
        .status(200)
        .when(|i| email_submit(i) && !known_address(i.field("email"))),
    Action::Json(drop_ui_messages),
)];

/// A known address of the reference server's default identities.
fn known_address(email: Option<&str>) -> bool {
    email.is_some_and(|e| {
        let e = e.to_ascii_lowercase();
        e.ends_with("@example.org") || e.ends_with("@example.com")
    })
}
