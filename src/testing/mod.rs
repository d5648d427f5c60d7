//! Test support that integration tests, benches and the load tests share, compiled only with the
//! `testing` feature (the crate's dev-dependency on itself turns it on; `cargo build` and
//! `cargo install` leave it out): deliberately broken variants of the reference server (one fault per variant), used to
//! prove that every conformance check can fail. Not part of the user-facing contract.
//!
//! A [`Fault`] is a request matcher plus one action, applied by an axum middleware wrapped around
//! the real reference server's router ([`crate::server::spawn_with`]), or a server configuration
//! switch (recovery disabled). Actions rewrite the answer (a JSON field, the status, the content
//! type, the whole body) or the request (dropping a header or a query parameter), or break the
//! transport (a delay longer than any timeout, a truncated body, a reset, an oversized body).
//! Matchers look only at what a request is (route, method, query, headers, body fields) and at
//! the answer's status, never at the harness's `x-recovery-harness-probe` header: a variant is
//! broken for every request of its kind, as a real server would be.

pub mod capacity;

use crate::server::{RunningServer, ServerConfig, ServerError};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The route a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /self-service/recovery/api`.
    CreateNative,
    /// `GET /self-service/recovery/browser`.
    CreateBrowser,
    /// `GET /self-service/recovery/flows`.
    GetFlow,
    /// `POST /self-service/recovery`.
    Update,
    /// Any path.
    Any,
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        let p = path.trim_end_matches('/');
        if p.ends_with("/self-service/recovery/api") {
            Some(Route::CreateNative)
        } else if p.ends_with("/self-service/recovery/browser") {
            Some(Route::CreateBrowser)
        } else if p.ends_with("/self-service/recovery/flows") {
            Some(Route::GetFlow)
        } else if p.ends_with("/self-service/recovery") {
            Some(Route::Update)
        } else {
            None
        }
    }
}

/// What a matcher sees of a request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Method.
    pub method: Method,
    /// The route, when it is a recovery route.
    pub route: Option<Route>,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Names of the request headers (lowercase).
    pub header_names: Vec<String>,
    /// `Content-Type` of the request.
    pub content_type: String,
    /// `Accept` of the request.
    pub accept: String,
    /// The request's cookies (`name`, `value`).
    pub cookies: Vec<(String, String)>,
    /// The body of an update (JSON or form) as a JSON object; `Null` otherwise.
    pub body: Value,
}

impl RequestInfo {
    /// A query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// A string field of the body.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }
    /// Whether the request carries `name`.
    pub fn has_header(&self, name: &str) -> bool {
        self.header_names
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy)]
pub struct Match {
    /// The route (`Route::Any`: every path).
    pub route: Route,
    /// Only answers with this status, when set.
    pub status: Option<u16>,
    /// A further condition on the request.
    pub when: Option<fn(&RequestInfo) -> bool>,
}

impl Match {
    /// Every request of `route`.
    pub const fn route(route: Route) -> Self {
        Match {
            route,
            status: None,
            when: None,
        }
    }
    /// Only answers with `status`.
    pub const fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
    /// Only requests for which `f` holds.
    pub const fn when(mut self, f: fn(&RequestInfo) -> bool) -> Self {
        self.when = Some(f);
        self
    }

    fn request_matches(&self, info: &RequestInfo) -> bool {
        let route_ok = self.route == Route::Any || info.route == Some(self.route);
        route_ok && self.when.is_none_or(|f| f(info))
    }
}

/// Memory a fault keeps between requests (e.g. the id of an earlier answer).
pub type Memory = Mutex<HashMap<String, String>>;

/// What a fault does.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Nothing (the fault is a server configuration).
    None,
    /// Rewrites the JSON body.
    Json(fn(&mut Value, &RequestInfo, &Memory)),
    /// Rewrites the JSON body and may replace the status (returns the status to send).
    JsonStatus(fn(&mut Value, &RequestInfo, &Memory, u16) -> u16),
    /// Rewrites the request's body fields before the server sees them.
    RewriteRequest(fn(&mut Value, &RequestInfo)),
    /// Sets (or replaces) a request header before the server sees it.
    SetRequestHeader(&'static str, &'static str),
    /// Presents every flow id as `flow-<hex>` and maps it back in `?id=` / `?flow=`.
    AliasIds,
    /// Checks a submitted code against every code sent to the flow's address, not the flow's
    /// own: a code of another flow of the same address is swapped for this flow's newest one.
    CodesByAddress,
    /// Replaces the status, keeping the body.
    Status(u16),
    /// Replaces the `Content-Type`, keeping the body.
    ContentType(&'static str),
    /// Sets (or replaces) a response header, keeping the body.
    SetHeader(&'static str, &'static str),
    /// Replaces the whole answer.
    Replace {
        /// Status.
        status: u16,
        /// Content type.
        content_type: &'static str,
        /// Body.
        body: &'static str,
    },
    /// Drops a request header before the server sees it.
    DropHeader(&'static str),
    /// Drops a query parameter before the server sees it.
    DropParam(&'static str),
    /// Waits this long before answering.
    Delay(Duration),
    /// Sends the headers and half the body, then breaks the connection.
    Truncate,
    /// Sends the headers, then breaks the connection before any body.
    Reset,
    /// Answers 200 JSON with a body of this many bytes (chunked, no length announced).
    Oversize(usize),
    /// Every request takes [`BUSY_WORK`]; one that arrives while more than this many others are
    /// being worked on stalls for [`STALL`] (longer than any test timeout) instead, as Kratos
    /// v1.x on SQLite stalls under concurrent requests and answers each one sent alone.
    StallWhenBusy(usize),
}

/// How long each request of a [`Action::StallWhenBusy`] server is worked on.
pub const BUSY_WORK: Duration = Duration::from_millis(20);
/// How long a request that arrived while the [`Action::StallWhenBusy`] server was busy stalls.
pub const STALL: Duration = Duration::from_secs(30);

/// A deliberately broken variant of the reference server.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// Stable name.
    pub name: &'static str,
    /// What is broken, in words.
    pub description: &'static str,
    /// Which requests.
    pub matches: Match,
    /// What happens to them.
    pub action: Action,
    /// A change to the server configuration.
    pub config: Option<fn(&mut ServerConfig)>,
}

impl Fault {
    const fn new(
        name: &'static str,
        description: &'static str,
        matches: Match,
        action: Action,
    ) -> Self {
        Fault {
            name,
            description,
            matches,
            action,
            config: None,
        }
    }

    /// A fault that is only a change to the server configuration, on every route.
    const fn configured(
        name: &'static str,
        description: &'static str,
        config: fn(&mut ServerConfig),
    ) -> Self {
        Fault {
            config: Some(config),
            ..Fault::new(name, description, Match::route(Route::Any), Action::None)
        }
    }
}

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
    let (parts, body) = next.run(req).await.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
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
/// broken one. Not in [`FAULTS`]: no check may fail against it.
pub async fn spawn_stalling_under_concurrency(over: usize) -> Result<RunningServer, ServerError> {
    spawn_faulty(&Fault::new(
        "stalls_under_concurrency",
        "stalls while busy, answers every request sent alone",
        Match::route(Route::Any),
        Action::StallWhenBusy(over),
    ))
    .await
}

/// The fault named `name`.
pub fn fault(name: &str) -> Option<&'static Fault> {
    FAULTS.iter().find(|f| f.name == name)
}

fn info_of(req: &Request, body: &[u8]) -> RequestInfo {
    let query = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    RequestInfo {
        method: req.method().clone(),
        route: Route::of(req.uri().path()),
        query,
        header_names: req
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect(),
        content_type: header("content-type"),
        accept: header("accept"),
        cookies: header("cookie")
            .split(';')
            .filter_map(|c| c.split_once('='))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect(),
        body: body_fields(&header("content-type"), body),
    }
}

/// An update body as a JSON object (JSON as sent, a form as string fields).
fn body_fields(content_type: &str, body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(body)
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        return Value::Object(map);
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// The request with its body read (only updates have bodies a fault looks at).
async fn buffered(req: Request) -> (Request, Bytes) {
    if Route::of(req.uri().path()) != Some(Route::Update) {
        return (req, Bytes::new());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    (Request::from_parts(parts, Body::from(bytes.clone())), bytes)
}

type FaultState = (Fault, Memory, std::sync::atomic::AtomicUsize);

/// Decrements the busy count when a request's work ends, however it ends.
struct Busy<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn apply(State(state): State<Arc<FaultState>>, req: Request, next: Next) -> Response {
    let (fault, memory) = (&state.0, &state.1);
    let (mut req, bytes) = buffered(req).await;
    let info = info_of(&req, &bytes);
    if !fault.matches.request_matches(&info) {
        return next.run(req).await;
    }
    if let Action::StallWhenBusy(over) = fault.action {
        let others = state.2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let busy = Busy(&state.2);
        if others > over {
            // A stalled request is not work: it must not keep a later lone request waiting.
            drop(busy);
            tokio::time::sleep(STALL).await;
            return next.run(req).await;
        }
        tokio::time::sleep(BUSY_WORK).await;
        let resp = next.run(req).await;
        drop(busy);
        return resp;
    }
    match fault.action {
        Action::RewriteRequest(f) => {
            let mut body = info.body.clone();
            f(&mut body, &info);
            let (mut parts, _) = req.into_parts();
            let encoded = if info
                .content_type
                .starts_with("application/x-www-form-urlencoded")
            {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in body.as_object().into_iter().flatten() {
                    form.append_pair(k, v.as_str().unwrap_or_default());
                }
                form.finish().into_bytes()
            } else {
                body.to_string().into_bytes()
            };
            parts
                .headers
                .insert("content-length", HeaderValue::from(encoded.len()));
            req = Request::from_parts(parts, Body::from(encoded));
        }
        Action::AliasIds => {
            let mut changed = false;
            let kept: Vec<(String, String)> = info
                .query
                .iter()
                .map(|(k, v)| match unalias(v) {
                    Some(real) if k == "id" || k == "flow" => {
                        changed = true;
                        (k.clone(), real)
                    }
                    _ => (k.clone(), v.clone()),
                })
                .collect();
            if changed {
                let uri = format!(
                    "{}?{}",
                    req.uri().path(),
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(kept)
                        .finish()
                );
                if let Ok(parsed) = uri.parse() {
                    *req.uri_mut() = parsed;
                }
            }
        }
        Action::CodesByAddress => {
            let flow = info.param("flow").unwrap_or_default().to_owned();
            let host = req
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let prefix = req
                .uri()
                .path()
                .trim_end_matches('/')
                .trim_end_matches("/self-service/recovery")
                .to_owned();
            let base = format!("http://{host}{prefix}");
            if let Some(email) = info.field("email").map(str::to_owned) {
                // Learn the flow's own code: the newest one sent once its e-mail is processed.
                let resp = next.run(req).await;
                let own = sent_codes(&base, &email).await.into_iter().next();
                if let Ok(mut m) = memory.lock() {
                    m.insert(format!("{flow}:address"), email);
                    if let Some(own) = own {
                        m.insert(format!("{flow}:code"), own);
                    }
                }
                return resp;
            }
            let (address, own) = memory
                .lock()
                .map(|m| {
                    (
                        m.get(&format!("{flow}:address")).cloned(),
                        m.get(&format!("{flow}:code")).cloned(),
                    )
                })
                .unwrap_or_default();
            if let (Some(code), Some(address), Some(own)) = (info.field("code"), address, own) {
                if code != own && sent_codes(&base, &address).await.iter().any(|c| c == code) {
                    let mut body = info.body.clone();
                    set(&mut body, "code", json!(own));
                    let (mut parts, _) = req.into_parts();
                    let encoded = body.to_string().into_bytes();
                    parts
                        .headers
                        .insert("content-length", HeaderValue::from(encoded.len()));
                    req = Request::from_parts(parts, Body::from(encoded));
                }
            }
        }
        Action::SetRequestHeader(name, value) => {
            req.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        Action::DropHeader(name) => {
            req.headers_mut().remove(name);
        }
        Action::DropParam(key) => {
            let kept: Vec<(String, String)> = info
                .query
                .iter()
                .filter(|(k, _)| k != key)
                .cloned()
                .collect();
            let mut uri = req.uri().path().to_owned();
            if !kept.is_empty() {
                uri.push('?');
                uri.push_str(
                    &url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(kept)
                        .finish(),
                );
            }
            if let Ok(parsed) = uri.parse() {
                *req.uri_mut() = parsed;
            }
        }
        Action::Delay(d) => tokio::time::sleep(d).await,
        _ => {}
    }
    let resp = next.run(req).await;
    if fault
        .matches
        .status
        .is_some_and(|s| s != resp.status().as_u16())
    {
        return resp;
    }
    match fault.action {
        Action::Json(f) => {
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let out = match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut v) => {
                    f(&mut v, &info, memory);
                    Bytes::from(v.to_string())
                }
                Err(_) => bytes,
            };
            let mut resp = Response::from_parts(parts, Body::from(out));
            resp.headers_mut().remove("content-length");
            resp
        }
        Action::AliasIds => {
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let out = match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut v) => {
                    if let Some(id) = id_of(&v).filter(|id| is_uuid(Some(id))) {
                        let alias = format!("flow-{}", id.replace('-', ""));
                        replace_everywhere(&mut v, &id, &alias);
                    }
                    Bytes::from(v.to_string())
                }
                Err(_) => bytes,
            };
            let mut resp = Response::from_parts(parts, Body::from(out));
            resp.headers_mut().remove("content-length");
            resp
        }
        Action::JsonStatus(f) => {
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            // A body that is not JSON (a redirect's) reaches the rewrite as `null`.
            let mut v = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
            let status = f(&mut v, &info, memory, parts.status.as_u16());
            let out = if v.is_null() {
                bytes
            } else {
                parts.headers.insert(
                    "content-type",
                    HeaderValue::from_static("application/json; charset=utf-8"),
                );
                Bytes::from(v.to_string())
            };
            if status != parts.status.as_u16() && !(300..400).contains(&status) {
                parts.headers.remove("location");
            }
            parts.status =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            parts.headers.remove("content-length");
            Response::from_parts(parts, Body::from(out))
        }
        Action::Status(s) => {
            let (mut parts, body) = resp.into_parts();
            parts.status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Response::from_parts(parts, body)
        }
        Action::ContentType(ct) => {
            let (mut parts, body) = resp.into_parts();
            parts
                .headers
                .insert("content-type", HeaderValue::from_static(ct));
            Response::from_parts(parts, body)
        }
        Action::SetHeader(name, value) => {
            let (mut parts, body) = resp.into_parts();
            parts.headers.insert(name, HeaderValue::from_static(value));
            Response::from_parts(parts, body)
        }
        Action::Replace {
            status,
            content_type,
            body,
        } => {
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static(content_type));
            resp
        }
        Action::Truncate => {
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            parts
                .headers
                .insert("content-length", HeaderValue::from(bytes.len()));
            // The pause lets hyper flush the status, headers and first half before the cut.
            let stream = futures::stream::unfold(Some(half), |state| async move {
                match state {
                    Some(half) => Some((Ok(half), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some((
                            Err(std::io::Error::other("fault: connection cut mid-body")),
                            None,
                        ))
                    }
                }
            });
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Action::Reset => {
            let (mut parts, _) = resp.into_parts();
            parts.headers.remove("content-length");
            let stream =
                futures::stream::iter([Err::<Bytes, _>(std::io::Error::other("fault: reset"))]);
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Action::Oversize(n) => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = n.div_ceil(chunk.len());
            let stream = futures::stream::iter(
                (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            let mut resp = Response::new(Body::from_stream(stream));
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            resp
        }
        Action::None
        | Action::DropHeader(_)
        | Action::DropParam(_)
        | Action::Delay(_)
        | Action::StallWhenBusy(_)
        | Action::RewriteRequest(_)
        | Action::CodesByAddress
        | Action::SetRequestHeader(..) => resp,
    }
}

// ---------------------------------------------------------------------------------------------
// Body rewrites.

fn for_nodes(v: &mut Value, f: impl Fn(&mut serde_json::Map<String, Value>)) {
    if let Some(nodes) = v.pointer_mut("/ui/nodes").and_then(Value::as_array_mut) {
        for n in nodes.iter_mut().filter_map(Value::as_object_mut) {
            f(n);
        }
    }
}

fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

fn remove(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
}

fn time(offset_secs: i64) -> Value {
    let t = chrono::Utc::now() + chrono::Duration::seconds(offset_secs);
    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Replaces every occurrence of `from` in the body's strings by `to`.
fn replace_everywhere(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(a) => a.iter_mut().for_each(|x| replace_everywhere(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| replace_everywhere(x, from, to)),
        _ => {}
    }
}

/// The codes the server's courier sent to `address`, newest first.
async fn sent_codes(base: &str, address: &str) -> Vec<String> {
    let Ok(source) = crate::codes::CodeSource::new(
        crate::codes::SourceKind::Courier,
        base,
        Duration::from_secs(5),
    ) else {
        return Vec::new();
    };
    let Ok(mails) = source.messages(address).await else {
        return Vec::new();
    };
    mails
        .iter()
        .filter_map(|m| m.body.as_deref().and_then(crate::codes::code_in))
        .collect()
}

/// Sets the `csrf_token` body field to the request's anti-CSRF cookie (as if unchecked).
fn csrf_from_cookie(body: &mut Value, info: &RequestInfo) {
    if let Some((_, value)) = info
        .cookies
        .iter()
        .find(|(n, _)| n.starts_with("csrf_token"))
    {
        set(body, "csrf_token", json!(value));
    }
}

/// Remembers the success answer of a code and repeats it when the code comes again.
fn replay_success(v: &mut Value, info: &RequestInfo, memory: &Memory, status: u16) -> u16 {
    let key = format!(
        "{}:{}",
        info.param("flow").unwrap_or_default(),
        info.field("code").unwrap_or_default()
    );
    let Ok(mut m) = memory.lock() else {
        return status;
    };
    if status == 422 {
        m.insert(key, v.to_string());
        return status;
    }
    match m.get(&key).and_then(|b| serde_json::from_str(b).ok()) {
        Some(success) => {
            *v = success;
            422
        }
        None => status,
    }
}

/// A known address of the reference server's default identities.
fn known_address(email: Option<&str>) -> bool {
    email.is_some_and(|e| {
        let e = e.to_ascii_lowercase();
        e.ends_with("@example.org") || e.ends_with("@example.com")
    })
}

/// The UUID behind a `flow-<hex>` alias.
fn unalias(v: &str) -> Option<String> {
    let hex = v.strip_prefix("flow-")?;
    uuid::Uuid::parse_str(hex).ok().map(|u| u.to_string())
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_owned)
}

/// Removes `key` from the object at `parent` of the body, if both exist.
fn remove_in(v: &mut Value, parent: &str, key: &str) {
    if let Some(p) = v.get_mut(parent) {
        remove(p, key);
    }
}

fn drop_ui_messages(v: &mut Value, _: &RequestInfo, _: &Memory) {
    remove_in(v, "ui", "messages");
}

/// Empties every node's `messages` (present, but saying nothing).
fn clear_node_messages(v: &mut Value, _: &RequestInfo, _: &Memory) {
    for_nodes(v, |n| {
        n.insert("messages".to_owned(), json!([]));
    });
}

fn drop_node_messages(v: &mut Value, _: &RequestInfo, _: &Memory) {
    for_nodes(v, |n| {
        n.remove("messages");
    });
}

fn drop_first_node_meta(v: &mut Value, _: &RequestInfo, _: &Memory) {
    if let Some(n) = v.pointer_mut("/ui/nodes/0").and_then(Value::as_object_mut) {
        n.remove("meta");
    }
}

/// Replaces the whole answer ([`Action::Replace`]).
const fn answer(status: u16, content_type: &'static str, body: &'static str) -> Action {
    Action::Replace {
        status,
        content_type,
        body,
    }
}

const SERVER_ERROR: &str = r#"{"error":{"code":500,"status":"Internal Server Error","message":"An internal server error occurred, please contact the system administrator"}}"#;

const SESSION_ALREADY: &str = r#"{"error":{"id":"session_already_available","code":400,"status":"Bad Request","reason":"A valid session was detected and thus recovery is not possible.","message":"The request was malformed or contained invalid parameters"}}"#;

const CSRF_403: &str = r#"{"error":{"id":"security_csrf_violation","code":403,"status":"Forbidden","reason":"Please retry the flow and optionally clear your cookies.","message":"the request was rejected to protect you from Cross-Site-Request-Forgery"}}"#;

const FLOW_NOT_FOUND_404: &str = r#"{"error":{"code":404,"status":"Not Found","reason":"The recovery request could not be found. Please restart the flow.","message":"The requested resource could not be found"}}"#;

const NOT_A_UUID_400: &str = r#"{"error":{"code":400,"status":"Bad Request","reason":"the id is not a UUID","message":"The request was malformed or contained invalid parameters"}}"#;

/// A GET without query, session headers or cookies.
fn plain(i: &RequestInfo) -> bool {
    i.method == Method::GET
        && i.query.is_empty()
        && !["x-session-token", "authorization", "cookie"]
            .iter()
            .any(|h| i.has_header(h))
}

/// An e-mail submission (no code).
fn email_submit(i: &RequestInfo) -> bool {
    i.method == Method::POST && i.field("email").is_some() && i.field("code").is_none()
}

/// A submission of the `code` method with neither e-mail nor code.
fn no_email(i: &RequestInfo) -> bool {
    i.method == Method::POST
        && i.field("method") == Some("code")
        && i.field("email").is_none()
        && i.field("code").is_none()
}

/// A code submission.
fn code_submit(i: &RequestInfo) -> bool {
    i.method == Method::POST && i.field("code").is_some() && i.field("email").is_none()
}

fn six_digits(s: Option<&str>) -> bool {
    s.is_some_and(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
}

fn is_uuid(s: Option<&str>) -> bool {
    s.is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

/// Every broken variant, one fault each. The table in `tests/check_faults.rs` maps each to the
/// checks it must fail.
pub const FAULTS: &[Fault] = &[
    Fault::configured(
        "recovery_disabled",
        "recovery switched off, as in Kratos's default configuration",
        |c| c.recovery_disabled = true,
    ),
    Fault::new(
        "create_native_500",
        "creating a flow without query or credentials answers 500 (in the envelope)",
        Match::route(Route::CreateNative).when(plain),
        answer(500, "application/json", SERVER_ERROR),
    ),
    Fault::new(
        "create_native_cacheable",
        "created flows may be cached by shared caches",
        Match::route(Route::CreateNative).status(200),
        Action::SetHeader("cache-control", "public, max-age=300"),
    ),
    Fault::new(
        "create_native_text_plain",
        "created flows are labelled text/plain",
        Match::route(Route::CreateNative).status(200),
        Action::ContentType("text/plain; charset=utf-8"),
    ),
    Fault::new(
        "flow_missing_required_field",
        "created flows' nodes lack the required `messages`",
        Match::route(Route::CreateNative).status(200),
        Action::Json(drop_node_messages),
    ),
    Fault::new(
        "type_browser_on_api",
        "native flows say type browser (create and get)",
        Match::route(Route::Any)
            .status(200)
            .when(|i| matches!(i.route, Some(Route::CreateNative | Route::GetFlow))),
        Action::Json(|v, _, _| set(v, "type", json!("browser"))),
    ),
    Fault::new(
        "state_sent_email_on_create",
        "new flows say sent_email (create and get)",
        Match::route(Route::Any)
            .status(200)
            .when(|i| matches!(i.route, Some(Route::CreateNative | Route::GetFlow))),
        Action::Json(|v, _, _| {
            if v.get("state") == Some(&json!("choose_method")) {
                set(v, "state", json!("sent_email"));
            }
        }),
    ),
    Fault::new(
        "state_not_in_enum",
        "created flows carry a state outside the enum",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| set(v, "state", json!("choosing"))),
    ),
    Fault::new(
        "id_not_uuid",
        "flow ids are not UUIDs (`flow-<hex>`), though the server takes them back",
        Match::route(Route::Any),
        Action::AliasIds,
    ),
    Fault::new(
        "repeated_id",
        "every creation answers the same flow id",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(id) = id_of(v) {
                replace_everywhere(v, &id, "0d0a1f3c-5b7e-4c2a-8e6f-000000000001");
            }
        }),
    ),
    Fault::new(
        "issued_long_ago",
        "issued_at lies two hours in the past",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| set(v, "issued_at", time(-7200))),
    ),
    Fault::new(
        "issued_after_expiry",
        "issued_at is later than expires_at",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            set(v, "issued_at", time(30));
            set(v, "expires_at", time(10));
        }),
    ),
    Fault::new(
        "already_expired",
        "new flows expire before they arrive",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            set(v, "issued_at", time(-60));
            set(v, "expires_at", time(-30));
        }),
    ),
    Fault::new(
        "request_url_internal",
        "request_url names an internal host",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            set(
                v,
                "request_url",
                json!("http://kratos:4433/self-service/recovery/api"),
            )
        }),
    ),
    Fault::new(
        "request_url_other_path",
        "request_url names another path (the browser endpoint)",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(u) = v.get_mut("request_url") {
                if let Some(s) = u.as_str() {
                    *u = json!(s.replace("/recovery/api", "/recovery/browser"));
                }
            }
        }),
    ),
    Fault::new(
        "action_other_flow",
        "ui.action carries another flow's id (host and path right)",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let (Some(id), Some(a)) = (id_of(v), v.pointer_mut("/ui/action")) {
                if let Some(s) = a.as_str() {
                    *a = json!(s.replace(&id, "00000000-0000-4000-8000-000000000000"));
                }
            }
        }),
    ),
    Fault::new(
        "action_internal_host",
        "ui.action names an internal host (the classic wrong serve.public.base_url), flow id right",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(a) = v.pointer_mut("/ui/action") {
                if let Some(flow) = a.as_str().and_then(|s| s.split_once("/self-service/")) {
                    *a = json!(format!("http://kratos:4433/self-service/{}", flow.1));
                }
            }
        }),
    ),
    Fault::new(
        "ui_method_get",
        "ui.method is GET",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(m) = v.pointer_mut("/ui/method") {
                *m = json!("GET");
            }
        }),
    ),
    Fault::new(
        "no_email_node",
        "the form lacks the email input",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| {
            if let Some(nodes) = v.pointer_mut("/ui/nodes").and_then(Value::as_array_mut) {
                nodes.retain(|n| n.pointer("/attributes/name") != Some(&json!("email")));
            }
        }),
    ),
    Fault::new(
        "return_to_dropped",
        "an allowed return_to is not echoed",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, _, _| remove(v, "return_to")),
    ),
    Fault::new(
        "return_to_unchecked",
        "a forbidden return_to is ignored (200 where 400 is due)",
        Match::route(Route::CreateNative)
            .when(|i| i.param("return_to").is_some_and(|r| r.contains(".invalid"))),
        Action::DropParam("return_to"),
    ),
    Fault::new(
        "session_token_ignored",
        "X-Session-Token is not read (200 where 400 is due)",
        Match::route(Route::CreateNative),
        Action::DropHeader("x-session-token"),
    ),
    Fault::new(
        "session_cookie_ignored",
        "the session cookie is not read (200 where 400 is due)",
        Match::route(Route::CreateNative),
        Action::DropHeader("cookie"),
    ),
    Fault::new(
        "bearer_ignored",
        "Authorization: Bearer is not read (200 where 400 is due)",
        Match::route(Route::CreateNative),
        Action::DropHeader("authorization"),
    ),
    Fault::new(
        "any_token_is_a_session",
        "any X-Session-Token, even unknown, counts as signed in",
        Match::route(Route::CreateNative).when(|i| i.has_header("x-session-token")),
        answer(400, "application/json", SESSION_ALREADY),
    ),
    Fault::new(
        "signed_in_wrong_error_id",
        "the signed-in 400 carries another error id",
        Match::route(Route::CreateNative)
            .status(400)
            .when(|i| i.param("return_to").is_none()),
        Action::Json(|v, _, _| {
            if let Some(id) = v.pointer_mut("/error/id") {
                *id = json!("session_inactive");
            }
        }),
    ),
    Fault::new(
        "get_flow_500",
        "looking up an existing flow answers 500 (in the envelope)",
        Match::route(Route::GetFlow).status(200),
        answer(500, "application/json", SERVER_ERROR),
    ),
    Fault::new(
        "get_flow_missing_required_field",
        "retrieved flows' nodes lack the required `messages`",
        Match::route(Route::GetFlow).status(200),
        Action::Json(drop_node_messages),
    ),
    Fault::new(
        "get_flow_stale_state",
        "a retrieved flow reports another state than it has",
        Match::route(Route::GetFlow).status(200),
        Action::Json(|v, _, _| set(v, "state", json!("sent_email"))),
    ),
    Fault::new(
        "unknown_flow_200",
        "an unknown (well-formed) flow id answers 200",
        Match::route(Route::GetFlow)
            .status(404)
            .when(|i| is_uuid(i.param("id"))),
        Action::Status(200),
    ),
    Fault::new(
        "html_404",
        "404s are an HTML page",
        Match::route(Route::Any).status(404),
        answer(404, "text/html; charset=utf-8", "<html><body><h1>404 Not Found</h1></body></html>"),
    ),
    Fault::new(
        "malformed_id_400",
        "a malformed flow id answers 400",
        Match::route(Route::GetFlow)
            .status(404)
            .when(|i| !is_uuid(i.param("id"))),
        answer(400, "application/json", NOT_A_UUID_400),
    ),
    Fault::new(
        "error_code_mismatch",
        "the unknown-flow 404 says error.code 400",
        Match::route(Route::GetFlow)
            .status(404)
            .when(|i| is_uuid(i.param("id"))),
        Action::Json(|v, _, _| {
            if let Some(c) = v.pointer_mut("/error/code") {
                *c = json!(400);
            }
        }),
    ),
    Fault::new(
        "undeclared_method_500",
        "a method the spec does not declare breaks the server (500)",
        Match::route(Route::CreateNative).when(|i| i.method == Method::DELETE),
        answer(500, "application/json", SERVER_ERROR),
    ),
    Fault::new(
        "undeclared_path_502",
        "an unknown path gets a proxy's HTML 502",
        Match::route(Route::Any).when(|i| i.route.is_none()),
        answer(502, "text/html", "<html><body>502 Bad Gateway</body></html>"),
    ),
    Fault::new(
        "method_not_allowed_plain",
        "a wrong method gets Go's plain-text 405, as real Kratos answers (not a fault: nothing may fail)",
        Match::route(Route::Any).status(405),
        answer(405, "text/plain; charset=utf-8", "Method Not Allowed"),
    ),
    Fault::new(
        "browser_html",
        "the browser flow ignores Accept and answers HTML",
        Match::route(Route::CreateBrowser),
        answer(200, "text/html; charset=utf-8", "<html><form method=post></form></html>"),
    ),
    Fault::new(
        "browser_bad_gateway",
        "a proxy answers 502 text/plain for the browser flow",
        Match::route(Route::CreateBrowser),
        answer(502, "text/plain", "Bad Gateway"),
    ),
    Fault::new(
        "browser_type_api",
        "browser flows say type api",
        Match::route(Route::CreateBrowser).status(200),
        Action::Json(|v, _, _| set(v, "type", json!("api"))),
    ),
    Fault::new(
        "browser_missing_required_field",
        "browser flows' first node lacks the required `meta`",
        Match::route(Route::CreateBrowser).status(200),
        Action::Json(drop_first_node_meta),
    ),
    Fault::new(
        "browser_not_json",
        "the browser flow is labelled JSON but is not",
        Match::route(Route::CreateBrowser),
        answer(200, "application/json", "<html>not json</html>"),
    ),
    Fault::new(
        "update_email_500",
        "an e-mail submission that would succeed answers 500 (in the envelope)",
        Match::route(Route::Update).status(200).when(email_submit),
        answer(500, "application/json", SERVER_ERROR),
    ),
    Fault::new(
        "update_email_missing_required_field",
        "the answer to an email lacks nodes' `messages`",
        Match::route(Route::Update).when(email_submit).status(200),
        Action::Json(drop_node_messages),
    ),
    Fault::new(
        "update_email_state",
        "after an email the flow still says choose_method",
        Match::route(Route::Update).when(email_submit).status(200),
        Action::Json(|v, _, _| set(v, "state", json!("choose_method"))),
    ),
    Fault::new(
        "update_email_no_message",
        "after an email the flow has no \"sent\" message",
        Match::route(Route::Update).when(email_submit).status(200),
        Action::Json(drop_ui_messages),
    ),
    Fault::new(
        "missing_email_200",
        "a submission without email answers 200 (400 is due)",
        Match::route(Route::Update).when(no_email),
        Action::Status(200),
    ),
    Fault::new(
        "missing_email_missing_required_field",
        "the 400 flow's first node lacks the required `meta`",
        Match::route(Route::Update).when(no_email).status(400),
        Action::Json(drop_first_node_meta),
    ),
    Fault::new(
        "missing_email_no_node_message",
        "the 400 flow does not say the email is missing",
        Match::route(Route::Update).when(no_email).status(400),
        Action::Json(clear_node_messages),
    ),
    Fault::new(
        "wrong_code_400",
        "a code that is not six digits answers 400 (Kratos answers 200)",
        Match::route(Route::Update).when(|i| code_submit(i) && !six_digits(i.field("code"))),
        Action::Status(400),
    ),
    Fault::new(
        "wrong_code_missing_required_field",
        "the answer to a wrong code lacks a node's `meta`",
        Match::route(Route::Update).when(code_submit).status(200),
        Action::Json(drop_first_node_meta),
    ),
    Fault::new(
        "wrong_code_state",
        "a wrong code moves the flow to passed_challenge",
        Match::route(Route::Update).when(code_submit).status(200),
        Action::Json(|v, _, _| set(v, "state", json!("passed_challenge"))),
    ),
    Fault::new(
        "wrong_code_no_message",
        "a wrong code is not reported",
        Match::route(Route::Update).when(code_submit).status(200),
        Action::Json(drop_ui_messages),
    ),
    Fault::new(
        "crash_on_non_ascii_return_to",
        "a return_to with a non-ASCII character crashes the server (500 text/plain)",
        Match::route(Route::CreateNative)
            .when(|i| i.param("return_to").is_some_and(|r| !r.is_ascii())),
        answer(500, "text/plain", "panic: index out of range"),
    ),
    Fault::new(
        "crash_on_upper_case_id",
        "a flow id in upper case crashes the lookup (500 text/plain)",
        Match::route(Route::GetFlow).when(|i| {
            i.param("id")
                .is_some_and(|id| id.bytes().any(|b| b.is_ascii_uppercase()))
        }),
        answer(500, "text/plain", "internal error"),
    ),
    Fault::new(
        "crash_on_form_body",
        "a form-encoded submission crashes the server (500 text/plain)",
        Match::route(Route::Update).when(|i| {
            i.content_type
                .starts_with("application/x-www-form-urlencoded")
        }),
        answer(500, "text/plain", "internal error"),
    ),
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
    Fault::new(
        "csrf_token_empty",
        "browser flows' csrf_token node is empty",
        Match::route(Route::CreateBrowser).status(200),
        Action::Json(|v, _, _| {
            for_nodes(v, |n| {
                if n.get("attributes").and_then(|a| a.get("name")) == Some(&json!("csrf_token")) {
                    if let Some(a) = n.get_mut("attributes").and_then(Value::as_object_mut) {
                        a.insert("value".to_owned(), json!(""));
                    }
                }
            })
        }),
    ),
    Fault::new(
        "csrf_get_unprotected",
        "a browser flow read without its CSRF cookie answers 200 (403 is due)",
        Match::route(Route::GetFlow).status(403),
        Action::Status(200),
    ),
    Fault::new(
        "csrf_cookie_refused",
        "getRecoveryFlow refuses every request that carries cookies (403)",
        Match::route(Route::GetFlow).when(|i| i.has_header("cookie")),
        answer(403, "application/json", CSRF_403),
    ),
    Fault::new(
        "csrf_token_unchecked",
        "a browser submit's csrf_token is not compared with the cookie",
        Match::route(Route::Update).when(|i| i.field("csrf_token").is_some()),
        Action::RewriteRequest(csrf_from_cookie),
    ),
    Fault::new(
        "native_cookie_processed",
        "an API-flow submit with a Cookie header is processed",
        Match::route(Route::Update)
            .when(|i| i.has_header("cookie") && i.field("csrf_token").is_none()),
        Action::DropHeader("cookie"),
    ),
    Fault::new(
        "native_origin_processed",
        "a submit with an Origin header is processed",
        Match::route(Route::Update).when(|i| i.has_header("origin")),
        Action::DropHeader("origin"),
    ),
    Fault::configured(
        "guesses_unlimited",
        "a flow takes any number of code guesses",
        |c| c.max_submissions = u8::MAX,
    ),
    Fault::new(
        "right_code_ignored",
        "a six-digit code is compared with something else (the right code does nothing)",
        Match::route(Route::Update).when(|i| code_submit(i) && six_digits(i.field("code"))),
        Action::RewriteRequest(|b, i| {
            let code = format!("0{}", i.field("code").unwrap_or_default());
            set(b, "code", json!(code));
        }),
    ),
    Fault::new(
        "code_reusable",
        "a code that recovered a flow recovers it again",
        Match::route(Route::Update).when(code_submit),
        Action::JsonStatus(replay_success),
    ),
    Fault::new(
        "enumeration_leak",
        "the \"sent\" message is missing for addresses without identity",
        Match::route(Route::Update)
            .status(200)
            .when(|i| email_submit(i) && !known_address(i.field("email"))),
        Action::Json(drop_ui_messages),
    ),
    Fault::new(
        "expired_without_details",
        "the 410 of an expired flow lacks error.details",
        Match::route(Route::GetFlow).status(410),
        Action::Json(|v, _, _| remove_in(v, "error", "details")),
    ),
    Fault::new(
        "expired_flow_silent",
        "the flow that replaces an expired one does not say why (no 4060005)",
        Match::route(Route::GetFlow).status(200),
        Action::Json(|v, _, _| {
            if let Some(m) = v.pointer_mut("/ui/messages").and_then(Value::as_array_mut) {
                m.retain(|m| m.get("id") != Some(&json!(4060005)));
            }
        }),
    ),
    Fault::new(
        "unknown_flow_no_reason",
        "a submit to an unknown flow answers 404 without a reason",
        Match::route(Route::Update).status(404),
        Action::Json(|v, _, _| remove_in(v, "error", "reason")),
    ),
    Fault::new(
        "missing_flow_plain",
        "a submit without ?flow= answers a plain-text 400",
        Match::route(Route::Update).when(|i| i.param("flow").is_none()),
        answer(400, "text/plain; charset=utf-8", "Bad Request"),
    ),
    Fault::new(
        "malformed_flow_404",
        "a submit whose flow is not a UUID answers 404",
        Match::route(Route::Update).when(|i| i.param("flow").is_some_and(|f| !is_uuid(Some(f)))),
        answer(404, "application/json", FLOW_NOT_FOUND_404),
    ),
    Fault::new(
        "invalid_email_unreported",
        "an invalid e-mail answers 400 without a message on the email node",
        Match::route(Route::Update)
            .status(400)
            .when(|i| i.field("email").is_some_and(|e| !e.contains('@'))),
        Action::Json(clear_node_messages),
    ),
    Fault::new(
        "unknown_method_unreported",
        "an unknown method answers 400 without 4010005",
        Match::route(Route::Update).status(400).when(|i| {
            i.field("method")
                .is_some_and(|m| m != "code" && m != "link")
        }),
        Action::Json(drop_ui_messages),
    ),
    Fault::new(
        "browser_session_ignored",
        "browser creation does not read X-Session-Token",
        Match::route(Route::CreateBrowser),
        Action::DropHeader("x-session-token"),
    ),
    Fault::new(
        "browser_always_json",
        "browser creation answers JSON whatever the Accept (no 303 to the UI)",
        Match::route(Route::CreateBrowser).when(|i| !i.accept.contains("json")),
        Action::SetRequestHeader("accept", "application/json"),
    ),
    Fault::new(
        "get_flow_cacheable",
        "retrieved flows may be cached by shared caches",
        Match::route(Route::GetFlow).status(200),
        Action::SetHeader("cache-control", "public, max-age=300"),
    ),
    Fault::new(
        "codes_by_address",
        "a code is checked against every code sent to the address, not the flow's own",
        Match::route(Route::Update).when(|i| i.method == Method::POST),
        Action::CodesByAddress,
    ),
];
