//! The read-code step against a Mailpit mail catcher (`load --mailpit-url`): each user searches
//! Mailpit for the messages to its own address ([`crate::codes::CodeSource::search_url`], the few
//! newest), waits with growing pauses until one newer than the last code it read arrives, then
//! reads that message and its code. The URLs, the answers' parsing and the choice of message are
//! [`crate::codes`]'s, the reader `check` uses; the requests go through Goose like every step's,
//! so they are timed and counted as the step's (`GET read code`).
//!
//! A mail does not name its flow, and an earlier flow's mail to the same address may still be on
//! its way (an iteration that stopped after `submit email`, or the previous run's last one). So a
//! message Mailpit received before this step started counts only once no newer one has come for
//! [`SETTLE`] (Kratos's courier sends about once a second): before that, the step waits for a newer
//! one. Received times are Mailpit's clock; [`MailpitCodes::clock_offset`] corrects a clock that is
//! off by seconds.
//!
//! Bounded: one step waits at most [`MailpitCodes::wait`] (the run's `--timeout`) for its mail,
//! and asks at most once per [`MAX_POLL`] once the pauses have grown. A SIGINT or SIGTERM ends
//! the wait at the next search, so an interrupted run does not wait for mail.

use super::exchange::{fail, send_to_source, succeed, Sent};
use super::shared::{MailpitCodes, Shared, UserState};
use super::stats::LiveStats;
use crate::codes;
use crate::load::scenario::Step;
use goose::goose::GooseUser;
use goose::prelude::TransactionResult;
use serde_json::Value;
use std::time::Duration;

/// Messages asked for per search: the newest few to one address are enough to find the one
/// newer than the last code read, and keep each answer small however full the inbox is.
const SEARCH_LIMIT: usize = 5;
/// The first pause before searching again.
const FIRST_POLL: Duration = Duration::from_millis(100);
/// The longest pause between two searches (Kratos's courier sends about once a second).
const MAX_POLL: Duration = Duration::from_secs(1);
/// How long a message received before the step started waits for a newer one before it is
/// taken: longer than one round of Kratos's courier (`courier.worker.pull_wait`, 1 s).
const SETTLE: Duration = codes::MAIL_IN_FLIGHT;
/// Received times within this of the step's start count as after it (clocks of two hosts differ
/// by a few milliseconds under NTP; Mailpit keeps milliseconds).
const CLOCK_SLACK: chrono::TimeDelta = chrono::TimeDelta::milliseconds(50);

/// Reads the code of the newest message to the user's address that is newer than the last one
/// it read, searching again until it arrives or [`MailpitCodes::wait`] has passed.
pub(super) async fn read(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    st: &mut UserState,
    mailpit: &MailpitCodes,
) -> TransactionResult {
    st.code = None;
    let started = tokio::time::Instant::now();
    // This step's start on Mailpit's clock: this iteration's mail cannot be much older.
    let fresh_after = chrono::Utc::now() + mailpit.clock_offset - CLOCK_SLACK;
    let mut pause = FIRST_POLL;
    loop {
        let url = mailpit.source.search_url(&st.email, SEARCH_LIMIT);
        let Sent {
            mut record, bytes, ..
        } = send_to_source(user, shared, step, st, mailpit.source.endpoint(), &url).await?;
        let Ok(bytes) = bytes else {
            LiveStats::bump(&shared.stats.other_failures);
            let reason = "mailpit: the search answer could not be read".to_owned();
            return fail(user, shared, step, &mut record, reason, b"").await;
        };
        // Newest first (`parse_mailpit_search`), as `CodeSource::messages` gives them.
        let mails = match serde_json::from_slice::<Value>(&bytes) {
            Ok(json) => match codes::parse_mailpit_search(&json, &st.email) {
                Ok(mails) => mails,
                Err(why) => {
                    LiveStats::bump(&shared.stats.other_failures);
                    let reason = format!("mailpit: the search answer is not Mailpit's: {why}");
                    // Mailpit's own JSON carries snippets of the mails, codes included.
                    return fail(user, shared, step, &mut record, reason, b"").await;
                }
            },
            Err(_) => {
                LiveStats::bump(&shared.stats.other_failures);
                let reason = "mailpit: the search answer is not JSON".to_owned();
                return fail(user, shared, step, &mut record, reason, &bytes).await;
            }
        };
        let since = if started.elapsed() < SETTLE {
            Some(
                mailpit
                    .not_before
                    .map_or(fresh_after, |n| n.max(fresh_after)),
            )
        } else {
            mailpit.not_before
        };
        if let Some(mail) = codes::newest_unseen(&mails, st.last_message_id.as_deref(), since) {
            let id = mail.id.clone();
            succeed(user, step, &mut record).await?;
            return read_message(user, shared, step, st, mailpit, id).await;
        }
        if crate::load::signals::received().is_some() {
            // Interrupted: the run ends with what ran. The wait is abandoned, not failed, and
            // the rest of the iteration is skipped.
            st.failed = true;
            return succeed(user, step, &mut record).await;
        }
        let left = mailpit.wait.saturating_sub(started.elapsed());
        if left.is_zero() {
            LiveStats::bump(&shared.stats.other_failures);
            let reason = format!(
                "mailpit: no new message to the recipient within {}: is the address an identity's, and does the courier (courier.smtp.connection_uri) send to this Mailpit?",
                humantime::format_duration(mailpit.wait)
            );
            let seen = format!(
                "{} message(s) to {} listed, none new since the run's start or the last code read",
                mails.len(),
                st.email
            );
            return fail(user, shared, step, &mut record, reason, seen.as_bytes()).await;
        }
        // This search was answered right; the next one is another request.
        succeed(user, step, &mut record).await?;
        // The last search is made when the wait is over, not a pause before it.
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 3 / 2).min(MAX_POLL);
    }
}

/// Reads message `id` and its code.
async fn read_message(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    st: &mut UserState,
    mailpit: &MailpitCodes,
    id: String,
) -> TransactionResult {
    let url = mailpit.source.message_url(&id);
    let Sent {
        mut record, bytes, ..
    } = send_to_source(user, shared, step, st, mailpit.source.endpoint(), &url).await?;
    // Seen, with or without a code: the next read looks past it.
    st.last_message_id = Some(id);
    let text = bytes
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(|json| codes::mailpit_text(&json));
    let reason = match text {
        Some(Ok(text)) => match codes::code_in(&text) {
            Some(code) => {
                st.code = Some(code);
                return succeed(user, step, &mut record).await;
            }
            None => {
                "mailpit: the newest message to the recipient holds no recovery code".to_owned()
            }
        },
        Some(Err(why)) => format!("mailpit: the message answer is not Mailpit's: {why}"),
        None => "mailpit: the message answer is not JSON".to_owned(),
    };
    LiveStats::bump(&shared.stats.other_failures);
    // The mail's text may hold a recovery link or code of another kind: not in the report.
    fail(user, shared, step, &mut record, reason, b"").await
}
