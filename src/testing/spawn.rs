//! Starting reference servers for the tests: with a fault applied, faithful, recording every
//! exchange, or stalling under concurrency.

use crate::server::{RunningServer, ServerConfig, ServerError};
use crate::testing::apply::{apply, buffered, info_of, read_answer};
use crate::testing::model::{Action, Fault, Match, Memory, RequestInfo, Route};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Starts the reference server with `fault` applied, on an ephemeral loopback port.
pub async fn spawn_faulty(fault: &Fault) -> Result<RunningServer, ServerError> {
    spawn_configured(fault, |_| {}).await
}

/// [`spawn_faulty`] with flows that live only `lifespan`: the twin the expiry checks use.
pub async fn spawn_faulty_twin(
    fault: &Fault,
    lifespan: Duration,
) -> Result<RunningServer, ServerError> {
    spawn_configured(fault, |c| c.lifespan = lifespan).await
}

/// Starts the reference server with `fault` applied, its configuration change first, then `tune`.
async fn spawn_configured(
    fault: &Fault,
    tune: impl FnOnce(&mut ServerConfig),
) -> Result<RunningServer, ServerError> {
    let mut config = ServerConfig::default();
    if let Some(f) = fault.config {
        f(&mut config);
    }
    tune(&mut config);
    let state = Arc::new((
        *fault,
        Memory::default(),
        std::sync::atomic::AtomicUsize::new(0),
    ));
    crate::server::spawn_with(config, move |router| {
        router.layer(axum::middleware::from_fn_with_state(state, apply))
    })
    .await
}

/// The faithful reference server on an ephemeral loopback port.
pub async fn spawn_faithful() -> Result<RunningServer, ServerError> {
    crate::server::spawn(ServerConfig::default()).await
}

/// One exchange a [`spawn_recording`] server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// What the request was.
    pub request: RequestInfo,
    /// The answer's status.
    pub status: u16,
    /// The answer's body, when it was JSON (`Null` otherwise).
    pub body: Value,
}

impl Seen {
    /// Whether the answer completed a recovery: Kratos's 422 `browser_location_change_required`,
    /// or (`use_continue_with_transitions`) a 200 `passed_challenge` with `continue_with`.
    pub fn recovered(&self) -> bool {
        let body = &self.body;
        (self.status == 422
            && body.pointer("/error/id").and_then(Value::as_str)
                == Some("browser_location_change_required"))
            || (self.status == 200
                && body.get("state").and_then(Value::as_str) == Some("passed_challenge")
                && body
                    .get("continue_with")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty()))
    }

    /// Whether the answer created a flow: a creation's 200 or 303, or a submit's 303 to a new one.
    pub fn created_flow(&self) -> bool {
        match self.request.route {
            Some(Route::CreateNative | Route::CreateBrowser) => {
                self.status == 200 || self.status == 303
            }
            Some(Route::Update) => self.status == 303,
            _ => false,
        }
    }
}

/// Every exchange a [`spawn_recording`] server saw, in the order the answers left.
pub type Received = Arc<Mutex<Vec<Seen>>>;

/// The faithful reference server (with `config`), recording each exchange (what the request was,
/// the answer's status and JSON body): tests read what a selection of checks did.
pub async fn spawn_recording(
    config: ServerConfig,
) -> Result<(RunningServer, Received), ServerError> {
    let received = Received::default();
    let log = received.clone();
    let server = crate::server::spawn_with(config, move |router| {
        router.layer(axum::middleware::from_fn_with_state(log, record))
    })
    .await?;
    Ok((server, received))
}

async fn record(State(log): State<Received>, req: Request, next: Next) -> Response {
    let (req, bytes) = buffered(req).await;
    let request = info_of(&req, &bytes);
    let (parts, bytes) = read_answer(next.run(req).await).await;
    if let Ok(mut log) = log.lock() {
        log.push(Seen {
            request,
            status: parts.status.as_u16(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        });
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A server that stalls (answers after [`STALL`]) every request arriving while more than `over`
/// others are in progress, and answers every request sent alone: a slow deployment, not a
/// broken one. Not among the faults (`faults::FAMILIES`): no check may fail against it.
pub async fn spawn_stalling_under_concurrency(over: usize) -> Result<RunningServer, ServerError> {
    spawn_faulty(&Fault::new(
        "stalls_under_concurrency",
        "stalls while busy, answers every request sent alone",
        Match::route(Route::Any),
        Action::StallWhenBusy(over),
    ))
    .await
}
