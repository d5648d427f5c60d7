//! The hot path: one Goose transaction per scenario step. Each transaction makes its request
//! through Goose (so Goose times and counts it), checks the status against the step's
//! expectations, validates the body against the compiled schema (shared, compiled once), and
//! turns any mismatch into a Goose failure whose reason names what broke.

use super::scenario::{Action, Credentials, Expect, Step};
use crate::schema::fast::Fast;
use crate::schema::{Component, Schemas};
use goose::goose::{GooseMethod, GooseRequest, GooseUser, Transaction, TransactionError};
use goose::prelude::TransactionResult;
use reqwest::header::{HeaderValue, ACCEPT};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

mod read_code;
pub use read_code::MailpitCodes;

/// How many responses get their body validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidateMode {
    /// Every response (the default).
    All,
    /// One response in N, per user.
    Sample(u64),
    /// None: statuses are still checked, bodies are not.
    None,
}

impl std::fmt::Display for ValidateMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidateMode::All => f.write_str("all"),
            ValidateMode::Sample(n) => write!(f, "sample:{n}"),
            ValidateMode::None => f.write_str("none"),
        }
    }
}

impl std::str::FromStr for ValidateMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "all" => Ok(ValidateMode::All),
            "none" => Ok(ValidateMode::None),
            other => match other.strip_prefix("sample:").map(str::parse::<u64>) {
                Some(Ok(1)) => Ok(ValidateMode::All),
                Some(Ok(n)) if n > 1 => Ok(ValidateMode::Sample(n)),
                _ => Err(format!(
                    "`{s}` is not a validation mode; use all, none or sample:N (N >= 1: validate one response in N)"
                )),
            },
        }
    }
}

/// Counters the transactions keep for the whole run (ramp-up included, unlike Goose's metrics,
/// which are reset once every user has started): the live progress line and the verdict read
/// them. Relaxed atomics: they are only ever summed.
#[derive(Debug, Default)]
pub struct LiveStats {
    /// Requests sent.
    pub requests: AtomicU64,
    /// Responses received (any status).
    pub responses: AtomicU64,
    /// Requests that got no response (connection refused or reset, timeout).
    pub transport_errors: AtomicU64,
    /// Responses whose status no expectation of the step allows.
    pub status_mismatches: AtomicU64,
    /// Responses whose body broke the schema (or was not JSON, or had the wrong state/error id).
    pub body_violations: AtomicU64,
    /// Other failed steps (no code in the courier, a body that could not be read).
    pub other_failures: AtomicU64,
    /// Bodies validated against a schema.
    pub validated: AtomicU64,
    /// Steps not run because an earlier step of their iteration failed.
    pub skipped_steps: AtomicU64,
    /// Courier listings whose bodies Kratos redacted (it runs without `--dev`).
    pub redacted_courier: AtomicU64,
    /// Every failure reason (step, expectation) with its count and a first body excerpt.
    pub reasons: std::sync::Mutex<std::collections::HashMap<String, (u64, String)>>,
    /// Response times by step (keyed by the step's name) and second, for report.html's charts.
    pub latency: crate::report::load_report::SeriesRecorder,
}

impl LiveStats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Counts `reason`, keeping the first `example` seen for it.
    pub fn reason(&self, reason: String, example: impl FnOnce() -> String) {
        let mut reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        match reasons.get_mut(&reason) {
            Some((count, _)) => *count += 1,
            None => {
                reasons.insert(reason, (1, example()));
            }
        }
    }

    /// The `limit` most frequent reasons: `(reason, count, example)`.
    pub fn top_reasons(&self, limit: usize) -> Vec<(String, u64, String)> {
        let reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(String, u64, String)> = reasons
            .iter()
            .map(|(r, (c, e))| (r.clone(), *c, e.clone()))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        out
    }
}

/// What every transaction shares (one `Arc`, built once).
pub struct Shared {
    /// The compiled schemas.
    pub schemas: Arc<Schemas>,
    /// How many bodies to validate.
    pub validate: ValidateMode,
    /// The target's base URL, no trailing slash.
    pub base: String,
    /// Where the courier listing lives (base URL of the admin API), no trailing slash.
    pub admin_base: String,
    /// `X-Session-Token` for steps with `credentials = "session-token"`.
    pub session_token: Option<HeaderValue>,
    /// The email template (`{user}`).
    pub email_template: String,
    /// The run's counters.
    pub stats: Arc<LiveStats>,
    /// Added to each user's number in `{user}`: the users of the shards before this one
    /// ([`super::shard::ShardSpec::offset`]), so numbers stay unique over a sharded run.
    pub user_offset: usize,
    /// `--mailpit-url`: the read-code step reads codes from Mailpit instead of the courier.
    pub mailpit: Option<MailpitCodes>,
    // Parsed once: reqwest would parse the string again on every request.
    create_url: reqwest::Url,
    json: HeaderValue,
    no_email: Arc<str>,
}

impl Shared {
    /// Assembles the shared state; fails when the target's URLs cannot be built.
    pub fn new(
        schemas: Arc<Schemas>,
        validate: ValidateMode,
        base: String,
        admin_base: String,
        session_token: Option<HeaderValue>,
        email_template: String,
        stats: Arc<LiveStats>,
    ) -> Result<Self, String> {
        let create = format!("{base}/self-service/recovery/api");
        let create_url = reqwest::Url::parse(&create)
            .map_err(|e| format!("`{create}` is not a usable URL ({e})"))?;
        Ok(Shared {
            schemas,
            validate,
            base,
            admin_base,
            session_token,
            email_template,
            stats,
            create_url,
            json: HeaderValue::from_static("application/json"),
            no_email: Arc::from(""),
            user_offset: 0,
            mailpit: None,
        })
    }

    /// The same, the read-code step reading codes from `mailpit`.
    pub fn with_mailpit(mut self, mailpit: Option<MailpitCodes>) -> Self {
        self.mailpit = mailpit;
        self
    }

    /// The same, numbering users from `offset + 1`.
    pub fn with_user_offset(mut self, offset: usize) -> Self {
        self.user_offset = offset;
        self
    }
}

/// What a user remembers between the steps of one iteration.
#[derive(Debug, Clone)]
struct UserState {
    flow_id: Option<String>,
    // Shared: the state is cloned out of Goose's session data on every step.
    email: Arc<str>,
    code: Option<String>,
    last_message_id: Option<String>,
    responses: u64,
    /// A step of the current iteration failed: the rest of it is skipped.
    failed: bool,
}

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
        None => UserState {
            email: Arc::from(shared.email_template.replace(
                "{user}",
                &(shared.user_offset + user.weighted_users_index + 1).to_string(),
            )),
            flow_id: None,
            code: None,
            last_message_id: None,
            responses: 0,
            failed: false,
        },
    }
}

async fn run_step(user: &mut GooseUser, shared: &Shared, rt: &StepRuntime) -> TransactionResult {
    if rt.stateless {
        // Nothing to remember between requests (a lone create step, every body or none
        // validated): skip the session data, the hottest path stays allocation-light.
        let mut st = UserState {
            flow_id: None,
            email: shared.no_email.clone(),
            code: None,
            last_message_id: None,
            responses: 0,
            failed: false,
        };
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
            let id = exchange(user, shared, rt, st, rb, rt.keeps_flow).await?;
            if rt.keeps_flow {
                st.flow_id = id;
            }
            Ok(())
        }
        Action::FetchFlow => {
            let id = need(
                &st.flow_id,
                "no flow: the create step of this iteration failed",
            )?;
            let url = format!("{}/self-service/recovery/flows?id={}", shared.base, enc(id));
            let rb = user.get_request_builder(&GooseMethod::Get, &url)?;
            exchange(user, shared, rt, st, rb, false).await.map(drop)
        }
        Action::SubmitEmail => {
            let id = need(
                &st.flow_id,
                "no flow: the create step of this iteration failed",
            )?;
            let url = format!("{}/self-service/recovery?flow={}", shared.base, enc(id));
            let body = serde_json::json!({ "method": "code", "email": &*st.email });
            let rb = user
                .get_request_builder(&GooseMethod::Post, &url)?
                .json(&body);
            exchange(user, shared, rt, st, rb, false).await.map(drop)
        }
        Action::ReadCode => {
            if let Some(mailpit) = &shared.mailpit {
                return read_code::read(user, shared, step, st, mailpit).await;
            }
            st.code = None;
            let url = format!(
                "{}/admin/courier/messages?recipient={}",
                shared.admin_base,
                enc(&st.email)
            );
            let rb = user
                .get_request_builder(&GooseMethod::Get, &url)?
                .header(ACCEPT, shared.json.clone());
            let Sent {
                mut request, bytes, ..
            } = send(user, shared, step, rb).await?;
            let Ok(bytes) = bytes else {
                LiveStats::bump(&shared.stats.other_failures);
                return fail(
                    user,
                    shared,
                    step,
                    &mut request,
                    "courier: body could not be read".to_owned(),
                    b"",
                );
            };
            match newest_code(&bytes, st.last_message_id.as_deref()) {
                Ok((message_id, code)) => {
                    st.last_message_id = message_id;
                    st.code = Some(code);
                    Ok(())
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
                    fail(user, shared, step, &mut request, reason, &bytes)
                }
            }
        }
        Action::SubmitCode => {
            let id = need(
                &st.flow_id,
                "no flow: the create step of this iteration failed",
            )?;
            let code = need(
                &st.code,
                "no code: the read-code step of this iteration failed",
            )?;
            let url = format!("{}/self-service/recovery?flow={}", shared.base, enc(id));
            let body = serde_json::json!({ "method": "code", "code": code });
            let rb = user
                .get_request_builder(&GooseMethod::Post, &url)?
                .json(&body);
            exchange(user, shared, rt, st, rb, false).await.map(drop)
        }
    }
}

fn need<'a>(value: &'a Option<String>, why: &str) -> Result<&'a str, Box<TransactionError>> {
    value
        .as_deref()
        .ok_or_else(|| Box::new(TransactionError::Custom(why.to_owned())))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn failed(request: goose::metrics::GooseRequestMetric) -> Box<TransactionError> {
    Box::new(TransactionError::RequestFailed {
        raw_request: Box::new(request),
    })
}

/// Sends `rb` as the step's request and checks the answer. Returns the flow's `id` when
/// `want_id` and the body has one.
async fn exchange(
    user: &mut GooseUser,
    shared: &Shared,
    rt: &StepRuntime,
    st: &mut UserState,
    mut rb: reqwest::RequestBuilder,
    want_id: bool,
) -> Result<Option<String>, Box<TransactionError>> {
    let step = &rt.step;
    rb = rb.header(ACCEPT, shared.json.clone());
    if step.credentials == Credentials::SessionToken {
        if let Some(token) = &shared.session_token {
            rb = rb.header("X-Session-Token", token.clone());
        }
    }
    let Sent {
        mut request,
        status,
        index,
        bytes,
    } = send(user, shared, step, rb).await?;
    let expect = &step.expect[index];
    let Ok(bytes) = bytes else {
        LiveStats::bump(&shared.stats.other_failures);
        fail(
            user,
            shared,
            step,
            &mut request,
            "body could not be read".to_owned(),
            b"",
        )?;
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
            fail(user, shared, step, &mut request, reason, &bytes)?;
            return Ok(None);
        }
    };
    if index != 0 {
        user.set_success(&mut request)?;
    }
    Ok(id.filter(|_| want_id))
}

/// A flow body's `id`, read without building a DOM; `None` when the body is not JSON.
fn flow_id_of(bytes: &[u8]) -> Option<Option<String>> {
    #[derive(serde::Deserialize)]
    struct IdOnly<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    match serde_json::from_slice::<IdOnly<'_>>(bytes) {
        Ok(b) => Some(b.id.map(std::borrow::Cow::into_owned)),
        // JSON, but not an object with a string id: nothing to remember.
        Err(e) if e.is_data() => Some(None),
        Err(_) => None,
    }
}

/// Checks a body (its bytes) against the expectation: the fast path of the embedded schemas
/// when it decides the body is valid, else the full validator, which also explains a rejection.
/// Returns the body's `id`, if any.
pub fn check_bytes(
    schemas: &Schemas,
    component: Component,
    expect: &Expect,
    bytes: &[u8],
) -> Result<Option<String>, String> {
    check_bytes_for(schemas, component, expect, bytes, true)
}

/// [`check_bytes`], copying the `id` out of the body only when `want_id`.
fn check_bytes_for(
    schemas: &Schemas,
    component: Component,
    expect: &Expect,
    bytes: &[u8],
    want_id: bool,
) -> Result<Option<String>, String> {
    if let Some(Fast::Valid(facts)) = schemas.fast(component, bytes) {
        let error_id = facts.error.as_ref().and_then(|e| e.id.as_deref());
        expected_values(expect, facts.state, error_id)?;
        return Ok(facts
            .id
            .filter(|_| want_id)
            .map(std::borrow::Cow::into_owned));
    }
    // One UTF-8 pass over the whole body, then the parser's unchecked string reads: cheaper than
    // `from_slice`, which checks every string on its own.
    let body = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .ok_or_else(|| format!("status {}: body is not JSON", expect.status))?;
    check_body(schemas, component, expect, &body)?;
    Ok(body.get("id").and_then(Value::as_str).map(str::to_owned))
}

/// A response whose status the step allows, its body read.
struct Sent {
    request: goose::metrics::GooseRequestMetric,
    status: u16,
    /// Which of the step's expectations the status matched.
    index: usize,
    bytes: reqwest::Result<bytes::Bytes>,
}

/// Sends one request of `step`, counts it and reads the whole body. `Err` when no response came or
/// its status is none the step allows; Goose has then already recorded the failure.
async fn send(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    rb: reqwest::RequestBuilder,
) -> Result<Sent, Box<TransactionError>> {
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
    let Some(index) = step.expect.iter().position(|e| e.status == status) else {
        // Goose already marked it failed with "<status>: <name>"; the run's reasons say more.
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
            reason.push_str("; ");
            reason.push_str(&server);
        }
        shared.stats.reason(reason, || excerpt(body));
        return Err(failed(request));
    };
    Ok(Sent {
        request,
        status,
        index,
        bytes,
    })
}

/// Checks a parsed body against the expectation. The reason is stable (no ids or timestamps) so
/// that Goose's error table groups failures instead of growing with every request.
pub fn check_body(
    schemas: &Schemas,
    component: Component,
    expect: &Expect,
    body: &Value,
) -> Result<(), String> {
    if !schemas.is_valid(component, body) {
        // The slow path, taken only for a broken response: say where and which rule.
        let detail = match schemas.validate(component, body) {
            Err(violations) => violations
                .first()
                .map(|v| {
                    let at = if v.pointer.is_empty() {
                        "(root)"
                    } else {
                        &v.pointer
                    };
                    format!("at {}: {} ({})", cut(at), cut(&v.message), cut(&v.rule))
                })
                .unwrap_or_default(),
            Ok(()) => String::new(),
        };
        return Err(format!(
            "status {}: body breaks {} {detail}",
            expect.status,
            component.name()
        )
        .trim_end()
        .to_owned());
    }
    let state = body.get("state").and_then(Value::as_str);
    let error_id = body
        .get("error")
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str);
    expected_values(expect, state, error_id)
}

/// The `state` and `error.id` the expectation names, if it names them.
fn expected_values(
    expect: &Expect,
    state: Option<&str>,
    error_id: Option<&str>,
) -> Result<(), String> {
    if let Some(want) = &expect.state {
        if state != Some(want.as_str()) {
            return Err(format!(
                "status {}: state is {}, expected {want}",
                expect.status,
                state.map(cut).unwrap_or_else(|| "missing".to_owned())
            ));
        }
    }
    if let Some(want) = &expect.error_id {
        if error_id != Some(want.as_str()) {
            return Err(format!(
                "status {}: error.id is {}, expected {want}",
                expect.status,
                error_id.map(cut).unwrap_or_else(|| "missing".to_owned())
            ));
        }
    }
    Ok(())
}

fn cut(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// What to do about a courier that redacts its bodies.
pub const REDACTED_HINT: &str = "Kratos runs without --dev and hides the codes; run it with `kratos serve --dev`, or give --mailpit-url of a mail catcher that receives its mail";

/// [`newest_code`]'s answer when every candidate body is [`crate::codes::REDACTED_BODY`].
const REDACTED: &str = "courier: the message bodies are redacted";

/// Records `reason` for the step (with an excerpt of `body`) and fails the request with it, so
/// that Goose's error table groups by the same reason.
fn fail(
    user: &mut GooseUser,
    shared: &Shared,
    step: &Step,
    request: &mut goose::metrics::GooseRequestMetric,
    reason: String,
    body: &[u8],
) -> TransactionResult {
    let result = user.set_failure(&reason, request, None, None);
    shared.stats.reason(
        format!("{} {}: {reason}", step.action.method(), step.name),
        || excerpt(body),
    );
    result
}

/// An expectation as a failure message names it: `200 recoveryFlow state=sent_email`.
fn describe(e: &Expect) -> String {
    let mut out = e.status.to_string();
    if let Some(c) = e.schema {
        out.push(' ');
        out.push_str(c.name());
    }
    if let Some(s) = &e.state {
        out.push_str(" state=");
        out.push_str(s);
    }
    if let Some(id) = &e.error_id {
        out.push_str(" error.id=");
        out.push_str(id);
    }
    out
}

/// A body that reports a server error (`error.code` 5xx) whatever its HTTP status: real Kratos
/// answers a failed database write (SQLite's `database is locked`) with 400 and `error.code` 500.
pub fn server_error(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        error: Inner<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Inner<'a> {
        code: Option<i64>,
        #[serde(borrow)]
        message: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        reason: Option<std::borrow::Cow<'a, str>>,
    }
    let e = serde_json::from_slice::<Envelope<'_>>(body).ok()?.error;
    let code = e.code.filter(|c| (500..=599).contains(c))?;
    let said: Vec<&str> = [e.message.as_deref(), e.reason.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    Some(format!(
        "the body reports server error {code}: {}",
        cut(&said.join(": "))
    ))
}

/// At most 200 characters of a body for a failure message, secrets replaced by `[REDACTED]`:
/// CSRF tokens, session tokens, recovery codes, cookies and passwords.
pub fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            redact(&mut v);
            v.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    if text.chars().count() <= MAX {
        text
    } else {
        let mut out: String = text.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

fn redact(v: &mut Value) {
    const SECRET_KEYS: &[&str] = &[
        "csrf_token",
        "ory_session_token",
        "session_token",
        "token",
        "code",
        "password",
        "cookie",
        "set-cookie",
    ];
    match v {
        Value::Object(map) => {
            // A UI node's input carries its secret in `value`, named by `name`.
            let secret_input = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| SECRET_KEYS.contains(&n));
            for (key, child) in map.iter_mut() {
                let secret = SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str())
                    || (secret_input && key == "value");
                if secret && child.is_string() {
                    *child = Value::String("[REDACTED]".to_owned());
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// The newest recovery code in a Kratos-shaped courier listing, skipping the message already
/// used: the listing and the message bodies are read by [`crate::codes`], the one reader of
/// recovery codes that `check` uses too. Returns the message id and the code.
pub fn newest_code(
    body: &[u8],
    skip_id: Option<&str>,
) -> Result<(Option<String>, String), &'static str> {
    let listing = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|json| crate::codes::parse_courier_listing(&json).ok())
        .ok_or("courier: the listing is not a JSON array of messages")?;
    let mut best: Option<(&crate::codes::Mail, String)> = None;
    let mut redacted = false;
    for mail in &listing {
        if Some(mail.id.as_str()) == skip_id {
            continue;
        }
        let body = mail.body.as_deref().unwrap_or_default();
        // Kratos's JSON escapes `<` and `>`: compared after decoding, not in the raw bytes.
        redacted |= body == crate::codes::REDACTED_BODY;
        let Some(code) = crate::codes::code_in(body) else {
            continue;
        };
        // Later in the list wins a tie, so an unsorted listing without timestamps still gives the
        // last message appended.
        if best.as_ref().is_none_or(|(b, _)| mail.created >= b.created) {
            best = Some((mail, code));
        }
    }
    match best {
        Some((mail, code)) => Ok((Some(mail.id.clone()), code)),
        None if redacted => Err(REDACTED),
        None => Err("courier: no unused recovery code for the recipient"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_modes_parse() {
        assert_eq!("all".parse(), Ok(ValidateMode::All));
        assert_eq!("none".parse(), Ok(ValidateMode::None));
        assert_eq!("sample:10".parse(), Ok(ValidateMode::Sample(10)));
        assert_eq!("sample:1".parse(), Ok(ValidateMode::All));
        assert!("sample:0".parse::<ValidateMode>().is_err());
        assert!("some".parse::<ValidateMode>().is_err());
    }

    #[test]
    fn newest_code_picks_the_latest_unused_message() {
        let body = br#"[
          {"id":"a","recipient":"x@example.org","body":"Hi,\n\n111111\n\nbye","created_at":"2026-01-01T00:00:01Z"},
          {"id":"b","recipient":"x@example.org","body":"Hi,\n\n222222\n","created_at":"2026-01-01T00:00:02Z"},
          {"id":"c","recipient":"x@example.org","body":"no code here","created_at":"2026-01-01T00:00:03Z"}
        ]"#;
        assert_eq!(
            newest_code(body, None),
            Ok((Some("b".to_owned()), "222222".to_owned()))
        );
        assert_eq!(
            newest_code(body, Some("b")),
            Ok((Some("a".to_owned()), "111111".to_owned()))
        );
        assert!(newest_code(b"[]", None).is_err());
        assert!(newest_code(b"{}", None).is_err());
        assert!(newest_code(b"not json", None).is_err());
    }

    #[test]
    fn a_redacted_listing_is_told_apart_from_an_empty_one() {
        let body = br#"[{"id":"a","body":"\u003credacted-unless-dev-mode\u003e","created_at":"2026-01-01T00:00:01Z"}]"#;
        assert_eq!(newest_code(body, None), Err(REDACTED));
        assert_eq!(
            newest_code(b"[]", None),
            Err("courier: no unused recovery code for the recipient")
        );
    }
}
