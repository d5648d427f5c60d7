//! One request of a step: sent through the Goose user, its status checked against the step's
//! expectations, its body read and judged, and its verdict recorded in Goose's metrics.
//!
//! How a request reaches Goose's metrics depends on the load model:
//!
//! - closed (`--users`): through [`GooseUser::request`], which times it (to the response
//!   headers) and records it at once; a later verdict on the body is an update
//!   ([`GooseUser::set_failure`], [`GooseUser::set_success`]).
//! - open (`--rate`, `--stages`, `load capacity`): through the same user's client, timed here, and
//!   recorded once with its verdict by [`GooseUser::record_custom_request_duration`] under the
//!   same method and name (`GET create flow`), so Goose's tables, percentiles and thresholds
//!   are the same as in the closed model. The first request of an iteration is timed from the
//!   iteration's intended start ([`crate::load::open`]): the time it waited for a free user or
//!   connection is part of its latency. The iteration's later requests start as soon as the
//!   previous answer is in, and are timed from their own start.

use super::body::{check_bytes_for, describe, flow_id_of, server_error};
use super::shared::{Shared, UserState, ValidateMode};
use super::stats::LiveStats;
use crate::codes::Endpoint;
use crate::load::scenario::{Credentials, Step};
use goose::goose::{GooseMethod, GooseRequest, GooseUser, TransactionError};
use goose::prelude::TransactionResult;
use reqwest::header::ACCEPT;
use reqwest::Url;
use std::time::{Duration, Instant};

/// The most characters of a failed answer's body a failure reason keeps.
const EXCERPT: usize = 200;

/// Where a request's metric is, until its verdict is known.
// Not boxed: Goose hands the metric over by value, and the closed model's hot path would pay an
// allocation per request for a value that lives on the stack for one step.
#[allow(clippy::large_enum_variant)]
pub(super) enum Record {
    /// Closed model: Goose recorded it; a changed verdict is sent as an update.
    Goose(goose::metrics::GooseRequestMetric),
    /// Open model: not recorded yet.
    Open {
        /// From the intended start (first request of an iteration) or the send to the headers.
        latency: Duration,
        /// The answer's status, if one came.
        status: Option<u16>,
    },
}

/// A response whose status the step allows, its body read.
pub(super) struct Sent {
    pub(super) record: Record,
    pub(super) status: u16,
    /// Which of the step's expectations the status matched.
    pub(super) index: usize,
    pub(super) bytes: reqwest::Result<bytes::Bytes>,
}

/// Records an open-model request with its verdict.
async fn record_open(
    user: &mut GooseUser,
    step: &Step,
    latency: Duration,
    status: Option<u16>,
    error: Option<&str>,
) -> TransactionResult {
    user.record_custom_request_duration(
        step.action.method(),
        &step.name,
        latency,
        error.is_none(),
        status,
        error,
    )
    .await
}

/// Sends `GET url` of a code source (its JSON, with the source's credentials) as one request of
/// `step`, as [`send`] does.
pub(super) async fn send_to_source(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    st: &mut UserState,
    source: &Endpoint,
    url: &Url,
) -> Result<Sent, Box<TransactionError>> {
    let rb = source.authorize(
        user.get_request_builder(&GooseMethod::Get, url.as_str())?
            .header(ACCEPT, shared.json.clone()),
    );
    send(user, shared, step, st, rb).await
}

/// Sends one request of `step`, counts it and reads the whole body. `Err` when no response came or
/// its status is none the step allows; the failure is then recorded already.
pub(super) async fn send(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    st: &mut UserState,
    rb: reqwest::RequestBuilder,
) -> Result<Sent, Box<TransactionError>> {
    if let Some(open) = &shared.open {
        let sent = Instant::now();
        let from = match st.intended.take() {
            Some(intended) => {
                open.started_request(intended, sent);
                intended.min(sent)
            }
            None => sent,
        };
        open.attempt(sent);
        LiveStats::bump(&shared.stats.requests);
        let result = match rb.build() {
            Ok(request) => tokio::select! {
                r = user.client.execute(request) => Some(r),
                () = open.ended() => None,
            },
            Err(e) => Some(Err(e)),
        };
        let answered = Instant::now();
        let latency = answered.saturating_duration_since(from);
        let response = match result {
            Some(Ok(r)) => r,
            None => {
                // The run was stopped (a signal, a silent target, the drain's bound) while this
                // request waited: it got no answer.
                LiveStats::bump(&shared.stats.transport_errors);
                let why = "no response before the run was stopped";
                shared.stats.reason(
                    format!("{} {}: {why}", step.action.method(), step.name),
                    String::new,
                );
                let tag = format!("{why} {}", step.name);
                record_open(user, step, latency, None, Some(&tag)).await?;
                return Err(Box::new(TransactionError::Custom(tag)));
            }
            Some(Err(e)) => {
                LiveStats::bump(&shared.stats.transport_errors);
                let error = crate::causes::render(&e);
                shared.stats.reason(
                    format!(
                        "{} {}: no response ({error})",
                        step.action.method(),
                        step.name
                    ),
                    String::new,
                );
                let tag = format!("no response {}: {error}", step.name);
                record_open(user, step, latency, None, Some(&tag)).await?;
                return Err(Box::new(TransactionError::Reqwest(e)));
            }
        };
        open.answered(answered);
        LiveStats::bump(&shared.stats.responses);
        shared.stats.latency.record(
            &step.name,
            open.second_of(answered),
            latency.as_micros() as u64,
        );
        let status = response.status().as_u16();
        let bytes = response.bytes().await;
        let record = Record::Open {
            latency,
            status: Some(status),
        };
        return judge_status(user, shared, step, record, status, bytes).await;
    }

    // Goose counts the first expected status as a success by itself; the others are turned into
    // successes by the caller, once the body is known to be right.
    let request = GooseRequest::builder()
        .set_request_builder(rb)
        .name(step.name.as_str())
        .expect_status_code(step.expect[0].status)
        .build();
    let goose::goose::GooseResponse { request, response } = user.request(request).await?;
    LiveStats::bump(&shared.stats.requests);
    let Ok(response) = response else {
        // Goose recorded the transport error as the request's failure.
        LiveStats::bump(&shared.stats.transport_errors);
        shared.stats.reason(
            format!(
                "{} {}: no response ({})",
                step.action.method(),
                step.name,
                request.error
            ),
            String::new,
        );
        return Err(failed(request));
    };
    LiveStats::bump(&shared.stats.responses);
    shared.stats.latency.record(
        &step.name,
        request.elapsed / 1000,
        request.response_time_micros(),
    );
    let status = response.status().as_u16();
    // Read the body in every case: an unread body costs the connection its keep-alive.
    let bytes = response.bytes().await;
    judge_status(user, shared, step, Record::Goose(request), status, bytes).await
}

/// Checks the status of an answer against the step's expectations.
async fn judge_status(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    record: Record,
    status: u16,
    bytes: reqwest::Result<bytes::Bytes>,
) -> Result<Sent, Box<TransactionError>> {
    let Some(index) = step.expect.iter().position(|e| e.status == status) else {
        LiveStats::bump(&shared.stats.status_mismatches);
        let body = bytes.as_deref().unwrap_or_default();
        let allowed: Vec<String> = step.expect.iter().map(describe).collect();
        let mut reason = format!(
            "{} {}: status {status} is not one the step allows ({})",
            step.action.method(),
            step.name,
            allowed.join(" | ")
        );
        if let Some(server) = server_error(body) {
            // The target's own words: they may echo what was sent.
            reason.push_str("; ");
            reason.push_str(&shared.redactor.redact(&server));
        }
        shared
            .stats
            .reason(reason, || shared.redactor.excerpt(body, EXCERPT));
        return Err(match record {
            // Goose already marked it failed with "<status>: <name>"; the run's reasons say more.
            Record::Goose(request) => failed(request),
            Record::Open { latency, .. } => {
                let tag = format!("{status}: {}", step.name);
                record_open(user, step, latency, Some(status), Some(&tag)).await?;
                Box::new(TransactionError::Custom(tag))
            }
        });
    };
    Ok(Sent {
        record,
        status,
        index,
        bytes,
    })
}

/// The request of `sent` was right after all: recorded as a success.
pub(super) async fn succeed(
    user: &mut GooseUser,
    step: &Step,
    record: &mut Record,
) -> TransactionResult {
    match record {
        Record::Goose(request) => {
            if !request.success {
                user.set_success(request)?;
            }
            Ok(())
        }
        Record::Open {
            latency, status, ..
        } => record_open(user, step, *latency, *status, None).await,
    }
}

/// Records `reason` for the step (with an excerpt of `body`) and fails the request with it, so
/// that Goose's error table groups by the same reason.
pub(super) async fn fail(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    record: &mut Record,
    reason: String,
    body: &[u8],
) -> TransactionResult {
    // A reason may quote the target (a schema violation's value, its own error message).
    let reason = shared.redactor.redact(&reason);
    shared.stats.reason(
        format!("{} {}: {reason}", step.action.method(), step.name),
        || shared.redactor.excerpt(body, EXCERPT),
    );
    match record {
        Record::Goose(request) => user.set_failure(&reason, request, None, None),
        Record::Open {
            latency, status, ..
        } => {
            record_open(user, step, *latency, *status, Some(&reason)).await?;
            Err(Box::new(TransactionError::Custom(reason)))
        }
    }
}

pub(super) fn failed(request: goose::metrics::GooseRequestMetric) -> Box<TransactionError> {
    Box::new(TransactionError::RequestFailed {
        raw_request: Box::new(request),
    })
}

/// Sends `rb` as the step's request and checks the answer. Returns the flow's `id` when
/// `want_id` and the body has one.
pub(super) async fn exchange(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    st: &mut UserState,
    mut rb: reqwest::RequestBuilder,
    want_id: bool,
) -> Result<Option<String>, Box<TransactionError>> {
    rb = rb.header(ACCEPT, shared.json.clone());
    if step.credentials == Credentials::SessionToken {
        if let Some(token) = &shared.session_token {
            rb = rb.header("X-Session-Token", token.clone());
        }
    }
    let Sent {
        mut record,
        status,
        index,
        bytes,
    } = send(user, shared, step, st, rb).await?;
    let expect = &step.expect[index];
    let Ok(bytes) = bytes else {
        LiveStats::bump(&shared.stats.other_failures);
        fail(
            user,
            shared,
            step,
            &mut record,
            "body could not be read".to_owned(),
            b"",
        )
        .await?;
        return Ok(None);
    };

    st.responses += 1;
    let validate = match (expect.schema, shared.validate) {
        (None, _) | (_, ValidateMode::None) => None,
        (Some(c), ValidateMode::All) => Some(c),
        (Some(c), ValidateMode::Sample(n)) => (st.responses % n == 1).then_some(c),
    };
    let checked = match validate {
        Some(component) => {
            LiveStats::bump(&shared.stats.validated);
            check_bytes_for(&shared.schemas, component, expect, &bytes, want_id)
        }
        None if want_id => {
            flow_id_of(&bytes).ok_or_else(|| format!("status {status}: body is not JSON"))
        }
        None => Ok(None),
    };
    let id = match checked {
        Ok(id) => id,
        Err(reason) => {
            LiveStats::bump(&shared.stats.body_violations);
            let reason = match server_error(&bytes) {
                Some(server) => format!("{reason}; {server}"),
                None => reason,
            };
            fail(user, shared, step, &mut record, reason, &bytes).await?;
            return Ok(None);
        }
    };
    // Goose counted the first expected status as a success already (closed model).
    let needs_record = match &record {
        Record::Goose(_) => index != 0,
        Record::Open { .. } => true,
    };
    if needs_record {
        succeed(user, step, &mut record).await?;
    }
    Ok(id.filter(|_| want_id))
}
