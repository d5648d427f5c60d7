//! `race.*`: deployments whose check and write are two steps with a wait between them, as in
//! Kratos up to v26.2.0 (the code read as unused, then marked used without a guard) and before
//! ory/kratos #4251 (the submit count read, then written back). Each keeps its state in the
//! fault's memory and takes [`WINDOW`] between reading it and writing it back (the transaction's
//! own work), so requests that arrive together all read the state before any writes it: a real
//! lost update, which a request sent alone never sees. Keyed on what a request is (a code
//! submission to a flow), never on the harness's probe header.

use crate::testing::apply::read_answer;
use crate::testing::model::{Action, Fault, Match, Memory, RequestInfo, Route};
use crate::testing::rewrite::code_submit;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures::future::BoxFuture;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "racy_code_use",
        "a code is checked unused, then marked used 20 ms later: concurrent submissions of one code all recover",
        Match::route(Route::Update).when(code_submit),
        Action::Around(racy_code_use),
    ),
    Fault {
        // The server counts nothing; the fault's count is the only limit.
        config: Some(|c| c.max_submissions = u8::MAX),
        ..Fault::new(
            "racy_attempt_count",
            "a flow's code submissions are counted by reading the count and writing it back plus one 20 ms later: concurrent guesses all count as the first",
            Match::route(Route::Update).when(code_submit),
            Action::Around(racy_attempt_count),
        )
    },
];

/// Between a transaction's read and its write.
pub const WINDOW: Duration = Duration::from_millis(20);

/// How long a request whose check passed waits for the first success of its code to replay it.
const REPLAY_WAIT: Duration = Duration::from_millis(500);

/// Kratos's limit of code submissions per flow, which `racy_attempt_count` enforces itself.
const LIMIT: usize = 5;

fn read(memory: &Memory, key: &str) -> Option<String> {
    memory.lock().ok().and_then(|m| m.get(key).cloned())
}

fn write(memory: &Memory, key: String, value: String) {
    if let Ok(mut m) = memory.lock() {
        m.insert(key, value);
    }
}

fn json_answer(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

/// The server's success answer (422 `browser_location_change_required`).
fn is_success(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::UNPROCESSABLE_ENTITY
        && serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| {
                v.pointer("/error/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .as_deref()
            == Some("browser_location_change_required")
}

/// The check ("is the flow's code used?"), [`WINDOW`], the server, then the write ("it is
/// used now, by this code"). The server itself consumes codes atomically, so of requests that
/// arrive together it completes one and refuses the others (303 to a new flow); a refused
/// request whose check found the code unused completes as the first did, with its answer: two
/// recoveries from one code.
fn racy_code_use<'a>(
    memory: &'a Memory,
    info: &'a RequestInfo,
    req: Request,
    next: Next,
) -> BoxFuture<'a, Response> {
    Box::pin(async move {
        let key = format!("{}:used", info.param("flow").unwrap_or_default());
        let code = info.field("code").unwrap_or_default();
        let unused = read(memory, &key).is_none();
        tokio::time::sleep(WINDOW).await;
        let (parts, bytes) = read_answer(next.run(req).await).await;
        if is_success(parts.status, &bytes) {
            write(
                memory,
                key,
                format!("{code}\n{}", String::from_utf8_lossy(&bytes)),
            );
        } else if unused && parts.status == StatusCode::SEE_OTHER {
            // The first success of this very code is written at once after its answer.
            let until = Instant::now() + REPLAY_WAIT;
            while Instant::now() < until {
                if let Some(success) = read(memory, &key)
                    .and_then(|v| v.strip_prefix(&format!("{code}\n")).map(str::to_owned))
                {
                    return json_answer(StatusCode::UNPROCESSABLE_ENTITY, success);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        Response::from_parts(parts, Body::from(bytes))
    })
}

/// The count read, [`WINDOW`], the count plus one written back; past [`LIMIT`] the submission
/// is refused as Kratos refuses it (400, "submitted too often"). Requests that arrive together
/// all read the same count, and all but one increment are lost.
fn racy_attempt_count<'a>(
    memory: &'a Memory,
    info: &'a RequestInfo,
    req: Request,
    next: Next,
) -> BoxFuture<'a, Response> {
    Box::pin(async move {
        let key = format!("{}:submissions", info.param("flow").unwrap_or_default());
        let count: usize = read(memory, &key).and_then(|v| v.parse().ok()).unwrap_or(0);
        tokio::time::sleep(WINDOW).await;
        write(memory, key, (count + 1).to_string());
        if count >= LIMIT {
            return json_answer(
                StatusCode::BAD_REQUEST,
                r#"{"error":{"code":400,"status":"Bad Request","reason":"The request was submitted too often. Please request another code.","message":"The request was malformed or contained invalid parameters"}}"#,
            );
        }
        next.run(req).await
    })
}
