//! Code sources: where the recovery code that a deployment sent to an address can be read back, so
//! that `check` and `load` can complete a recovery as its user would. One implementation shared by
//! both (`load`'s `read-code` step and `check`'s success-path checks).
//!
//! Two sources:
//! - [`SourceKind::Courier`] ([`courier`]): Kratos's admin API, `GET
//!   /admin/courier/messages?recipient=ADDR` (the reference server serves the same route). Kratos
//!   shows the bodies only under `kratos serve --dev`; otherwise every body reads
//!   [`REDACTED_BODY`], which is reported as [`CodeError::Redacted`] with what to do.
//! - [`SourceKind::Mailpit`] ([`mailpit`]): the Mailpit mail catcher behind the deployment's
//!   SMTP: `GET /api/v1/search?query=to:ADDR` lists the messages (newest first), then
//!   `GET /api/v1/message/{ID}` gives each one's `Text`. Mailpit's `to:` is a substring match, so
//!   the recipients are compared exactly.
//!
//! Either may sit behind basic authentication (an authenticating proxy, Mailpit's
//! `--ui-auth-file`): its URL then carries `user:password@`, which [`Endpoint`] takes off the URL
//! into a [`crate::secret::Secret`] sent as basic authentication, the same for both commands.
//!
//! Under `load`, many users wait for their codes at once, each at its own address: each looks its
//! code up with one search for its address ([`CodeSource::search_url`], a few newest messages),
//! never a listing of the whole inbox, and takes the newest message newer than the one whose code
//! it used last ([`newest_unseen`]). The requests are sent and timed by the load engine; the URLs,
//! the answers' parsing and the choice of message are this module's, as for `check`.
//!
//! A recovery e-mail does not name its flow. "The code sent for flow F" is therefore the code of
//! the first message to ADDR that was not there before F's e-mail was submitted: take a
//! [`CodeSource::mark`] before the submission and pass it to [`CodeSource::code_after`], which
//! polls until that message arrives (Kratos's courier sends asynchronously).
//!
//! The courier's listing holds a message from the moment it is queued, so a mark excludes every
//! earlier flow's message. A mail catcher only sees a message once the courier sent it: an
//! earlier flow's mail to the same address (the previous run's last submissions, say) can still
//! arrive after the mark. Kratos's courier sends its queue in order, about once a second, so for
//! Mailpit the code is the newest new message once [`MAIL_IN_FLIGHT`] has passed since the mark.
//!
//! In layers from the bottom: `error` ([`CodeError`]), `endpoint` ([`SourceKind`], [`Endpoint`]),
//! `mail` (what both sources' answers become: [`Mail`], [`code_in`], [`newest_unseen`]), the two
//! sources' URLs and answers (`courier`, `mailpit`), and `source` ([`CodeSource`], the client that
//! waits for a flow's code). This file only declares and re-exports.

pub mod courier;
mod endpoint;
mod error;
mod mail;
pub mod mailpit;
mod source;

pub use courier::parse_courier_listing;
pub use endpoint::{Endpoint, SourceKind};
pub use error::{CodeError, REDACTED_BODY};
pub use mail::{code_in, newest_unseen, Code, Mail};
pub use mailpit::{mailpit_text, parse_mailpit_search, MAIL_IN_FLIGHT};
pub use source::{CodeSource, Mark};
