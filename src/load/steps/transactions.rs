//! The scenario's steps as Goose transactions: one per step, each run `weight` times in a row,
//! sharing one [`Shared`]. In the open model the first transaction of an iteration first waits
//! for the dispatcher's ticket ([`crate::load::open`]), and the last one hands it back.

use super::courier::{newest_code, REDACTED, REDACTED_HINT};
use super::exchange::{exchange, fail, send_to_source, succeed, Sent};
use super::read_code;
use super::shared::{Shared, UserState, ValidateMode};
use super::stats::LiveStats;
use crate::load::open::OpenModel;
use crate::load::scenario::{Action, Step};
use goose::goose::{GooseMethod, GooseUser, Transaction, TransactionError};
use goose::prelude::TransactionResult;
use std::sync::Arc;

/// A step plus what is precomputed for it.
struct StepRuntime {
    step: Step,
    /// A later step needs the flow id this step creates.
    keeps_flow: bool,
    /// The step neither reads nor leaves anything in the user's session data.
    stateless: bool,
    /// The first step of an iteration (it starts the iteration afresh).
    first: bool,
}

/// Builds the Goose transactions of `steps`, in order (each runs `weight` times in a row).
pub fn transactions(steps: &[Step], shared: Arc<Shared>) -> Vec<Transaction> {
    steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let keeps_flow = step.action == Action::CreateFlow
                && steps[index + 1..].iter().any(|s| {
                    matches!(
                        s.action,
                        Action::FetchFlow | Action::SubmitEmail | Action::SubmitCode
                    )
                });
            let stateless = step.action == Action::CreateFlow
                && !keeps_flow
                && !matches!(shared.validate, ValidateMode::Sample(_));
            let runtime = Arc::new(StepRuntime {
                step: step.clone(),
                keeps_flow,
                stateless,
                first: index == 0,
            });
            let shared = shared.clone();
            let transaction = Transaction::new(Arc::new(move |user| {
                let shared = shared.clone();
                let runtime = runtime.clone();
                Box::pin(async move { run_step(user, &shared, &runtime).await })
            }))
            .set_name(&step.name)
            .set_sequence(index + 1);
            // Weight 1..=1000 was checked when the scenario was parsed.
            transaction
                .set_weight(step.weight)
                .unwrap_or_else(|_| unreachable!("scenario weights are checked to be 1..=1000"))
        })
        .collect()
}

fn state(user: &mut GooseUser, shared: &Shared) -> UserState {
    match user.get_session_data::<UserState>() {
        Some(s) => s.clone(),
        None => UserState::new(Arc::from(shared.email_template.replace(
            "{user}",
            &(shared.user_offset + user.weighted_users_index + 1).to_string(),
        ))),
    }
}

async fn run_step(user: &mut GooseUser, shared: &Shared, rt: &StepRuntime) -> TransactionResult {
    if let Some(open) = &shared.open {
        return run_open_step(user, shared, open, rt).await;
    }
    if rt.stateless {
        // Nothing to remember between requests (a lone create step, every body or none
        // validated): skip the session data, the hottest path stays allocation-light.
        let mut st = UserState::new(shared.no_email.clone());
        return run_action(user, shared, rt, &mut st).await;
    }
    let mut st = state(user, shared);
    if rt.first {
        st.failed = false;
    } else if st.failed {
        // An earlier step of this iteration failed (or timed out): what this step would send
        // depends on it, and a late answer must not feed it. Skipped, and counted as skipped.
        LiveStats::bump(&shared.stats.skipped_steps);
        user.set_session_data(st);
        return Ok(());
    }
    let result = run_action(user, shared, rt, &mut st).await;
    if result.is_err() {
        st.failed = true;
    }
    user.set_session_data(st);
    result
}

/// A step in the open model: the iteration's first transaction waits for its ticket (`None`
/// once the run is over: the user then only passes through until Goose stops it), the last one
/// hands it back. The rest is the closed model's: a failed step skips the rest of its iteration.
async fn run_open_step(
    user: &mut GooseUser,
    shared: &Shared,
    open: &OpenModel,
    rt: &StepRuntime,
) -> TransactionResult {
    let mut st = state(user, shared);
    if st.position == 0 {
        st.ticket = open.next().await;
        st.intended = st.ticket.map(|t| t.intended);
        st.failed = false;
    }
    st.position += 1;
    let last = st.position >= shared.iteration_len;
    if last {
        st.position = 0;
    }
    let result = if st.ticket.is_none() {
        Ok(())
    } else if st.failed {
        LiveStats::bump(&shared.stats.skipped_steps);
        Ok(())
    } else {
        let result = run_action(user, shared, rt, &mut st).await;
        if result.is_err() {
            st.failed = true;
        }
        result
    };
    if last {
        if let Some(ticket) = st.ticket.take() {
            open.done(ticket);
        }
    }
    user.set_session_data(st);
    result
}

async fn run_action(
    user: &mut GooseUser,
    shared: &Shared,
    rt: &StepRuntime,
    st: &mut UserState,
) -> TransactionResult {
    let step = &rt.step;
    match step.action {
        Action::CreateFlow => {
            st.flow_id = None;
            st.code = None;
            let rb = user.client.get(shared.create_url.clone());
            let id = exchange(user, shared, &rt.step, st, rb, rt.keeps_flow).await?;
            if rt.keeps_flow {
                st.flow_id = id;
            }
            Ok(())
        }
        Action::FetchFlow => {
            let url = format!(
                "{}/self-service/recovery/flows?id={}",
                shared.base,
                enc(flow_of(st)?)
            );
            let rb = user.get_request_builder(&GooseMethod::Get, &url)?;
            exchange(user, shared, &rt.step, st, rb, false)
                .await
                .map(drop)
        }
        Action::SubmitEmail => {
            let body = serde_json::json!({ "method": "code", "email": &*st.email });
            submit(user, shared, rt, st, &body).await
        }
        Action::ReadCode => {
            if let Some(mailpit) = &shared.mailpit {
                return read_code::read(user, shared, step, st, mailpit).await;
            }
            st.code = None;
            let url = crate::codes::courier::listing_url(&shared.courier, &st.email);
            let Sent {
                mut record, bytes, ..
            } = send_to_source(user, shared, step, st, &shared.courier, &url).await?;
            let Ok(bytes) = bytes else {
                LiveStats::bump(&shared.stats.other_failures);
                return fail(
                    user,
                    shared,
                    step,
                    &mut record,
                    "courier: body could not be read".to_owned(),
                    b"",
                )
                .await;
            };
            match newest_code(&bytes, st.last_message_id.as_deref()) {
                Ok((message_id, code)) => {
                    st.last_message_id = message_id;
                    st.code = Some(code);
                    succeed(user, step, &mut record).await
                }
                Err(reason) => {
                    LiveStats::bump(&shared.stats.other_failures);
                    let reason = if reason == REDACTED {
                        LiveStats::bump(&shared.stats.redacted_courier);
                        format!(
                            "courier: the message bodies read {}: {REDACTED_HINT}",
                            crate::codes::REDACTED_BODY
                        )
                    } else {
                        reason.to_owned()
                    };
                    fail(user, shared, step, &mut record, reason, &bytes).await
                }
            }
        }
        Action::SubmitCode => {
            let code = need(
                &st.code,
                "no code: the read-code step of this iteration failed",
            )?;
            let body = serde_json::json!({ "method": "code", "code": code });
            submit(user, shared, rt, st, &body).await
        }
    }
}

/// Posts `body` to the iteration's flow (`POST /self-service/recovery?flow=`).
async fn submit(
    user: &mut GooseUser,
    shared: &Shared,
    rt: &StepRuntime,
    st: &mut UserState,
    body: &serde_json::Value,
) -> TransactionResult {
    let url = format!(
        "{}/self-service/recovery?flow={}",
        shared.base,
        enc(flow_of(st)?)
    );
    let rb = user
        .get_request_builder(&GooseMethod::Post, &url)?
        .json(body);
    exchange(user, shared, &rt.step, st, rb, false)
        .await
        .map(drop)
}

/// The flow of this iteration, which its create step made.
fn flow_of(st: &UserState) -> Result<&str, Box<TransactionError>> {
    need(
        &st.flow_id,
        "no flow: the create step of this iteration failed",
    )
}

fn need<'a>(value: &'a Option<String>, why: &str) -> Result<&'a str, Box<TransactionError>> {
    value
        .as_deref()
        .ok_or_else(|| Box::new(TransactionError::Custom(why.to_owned())))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
