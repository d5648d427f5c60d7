//! Test support shipped with the library so that integration tests, benches and the load tests can
//! share it: deliberately broken variants of the reference server (one fault per variant), used to
//! prove that every conformance check can fail. Not part of the user-facing contract.
//!
//! A [`Fault`] is a request matcher plus one action, applied by an axum middleware wrapped around
//! the real reference server's router ([`crate::server::spawn_with`]), or a server configuration
//! switch (recovery disabled). Actions rewrite the answer (a JSON field, the status, the content
//! type, the whole body) or the request (dropping a header or a query parameter), or break the
//! transport (a delay longer than any timeout, a truncated body, a reset, an oversized body).
//! Matchers may name the probe that sent a request (the `x-recovery-harness-probe` header), which
//! keeps a fault aimed at one check.

use crate::check::client::PROBE_HEADER;
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
    /// The probe that sent it (empty when not the harness).
    pub probe: String,
    /// Names of the request headers (lowercase).
    pub header_names: Vec<String>,
    /// `Content-Type` of the request.
    pub content_type: String,
}

impl RequestInfo {
    /// A query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
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
    /// Only this probe (exact), when set.
    pub probe: Option<&'static str>,
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
            probe: None,
            status: None,
            when: None,
        }
    }
    /// Only requests sent by `probe`.
    pub const fn probe(route: Route, probe: &'static str) -> Self {
        Match {
            route,
            probe: Some(probe),
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
        route_ok && self.probe.is_none_or(|p| p == info.probe) && self.when.is_none_or(|f| f(info))
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
}

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
}

/// Starts the reference server with `fault` applied, on an ephemeral loopback port.
pub async fn spawn_faulty(fault: &Fault) -> Result<RunningServer, ServerError> {
    let mut config = ServerConfig::default();
    if let Some(f) = fault.config {
        f(&mut config);
    }
    let state = Arc::new((*fault, Memory::default()));
    crate::server::spawn_with(config, move |router| {
        router.layer(axum::middleware::from_fn_with_state(state, apply))
    })
    .await
}

/// The faithful reference server on an ephemeral loopback port.
pub async fn spawn_faithful() -> Result<RunningServer, ServerError> {
    crate::server::spawn(ServerConfig::default()).await
}

/// The fault named `name`.
pub fn fault(name: &str) -> Option<&'static Fault> {
    FAULTS.iter().find(|f| f.name == name)
}

fn info_of(req: &Request) -> RequestInfo {
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
        probe: header(PROBE_HEADER),
        header_names: req
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect(),
        content_type: header("content-type"),
    }
}

async fn apply(
    State(state): State<Arc<(Fault, Memory)>>,
    mut req: Request,
    next: Next,
) -> Response {
    let (fault, memory) = (&state.0, &state.1);
    let info = info_of(&req);
    if !fault.matches.request_matches(&info) {
        return next.run(req).await;
    }
    match fault.action {
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
        Action::None | Action::DropHeader(_) | Action::DropParam(_) | Action::Delay(_) => resp,
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

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_owned)
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

const SERVER_ERROR: &str = r#"{"error":{"code":500,"status":"Internal Server Error","message":"An internal server error occurred, please contact the system administrator"}}"#;

const SESSION_ALREADY: &str = r#"{"error":{"id":"session_already_available","code":400,"status":"Bad Request","reason":"A valid session was detected and thus recovery is not possible.","message":"The request was malformed or contained invalid parameters"}}"#;

const NOT_A_UUID_400: &str = r#"{"error":{"code":400,"status":"Bad Request","reason":"the id is not a UUID","message":"The request was malformed or contained invalid parameters"}}"#;

fn is_uuid(s: Option<&str>) -> bool {
    s.is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

/// Every broken variant, one fault each. The table in `tests/check_faults.rs` maps each to the
/// checks it must fail.
pub const FAULTS: &[Fault] = &[
    Fault {
        name: "recovery_disabled",
        description: "recovery switched off, as in Kratos's default configuration",
        matches: Match::route(Route::Any),
        action: Action::None,
        config: Some(|c| c.recovery_disabled = true),
    },
    Fault::new(
        "create_native_500",
        "the plain creation answers 500 (in the envelope)",
        Match::probe(Route::CreateNative, "create_native"),
        Action::Replace {
            status: 500,
            content_type: "application/json",
            body: SERVER_ERROR,
        },
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
        "the plain creation's flow id is not a UUID",
        Match::probe(Route::CreateNative, "create_native").status(200),
        Action::Json(|v, _, _| {
            if let Some(id) = id_of(v) {
                replace_everywhere(v, &id, "flow-1");
            }
        }),
    ),
    Fault::new(
        "repeated_id",
        "a second creation returns the first flow's id",
        Match::route(Route::CreateNative).status(200),
        Action::Json(|v, info, memory| {
            let Ok(mut m) = memory.lock() else { return };
            match info.probe.as_str() {
                "create_native" => {
                    if let Some(id) = id_of(v) {
                        m.insert("first".to_owned(), id);
                    }
                }
                "create_native.again" => {
                    if let (Some(first), Some(id)) = (m.get("first"), id_of(v)) {
                        replace_everywhere(v, &id, first);
                    }
                }
                _ => {}
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
        Action::Replace {
            status: 400,
            content_type: "application/json",
            body: SESSION_ALREADY,
        },
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
        "looking up a created flow answers 500 (in the envelope)",
        Match::probe(Route::GetFlow, "get_flow"),
        Action::Replace {
            status: 500,
            content_type: "application/json",
            body: SERVER_ERROR,
        },
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
        Action::Replace {
            status: 404,
            content_type: "text/html; charset=utf-8",
            body: "<html><body><h1>404 Not Found</h1></body></html>",
        },
    ),
    Fault::new(
        "malformed_id_400",
        "a malformed flow id answers 400",
        Match::route(Route::GetFlow)
            .status(404)
            .when(|i| !is_uuid(i.param("id"))),
        Action::Replace {
            status: 400,
            content_type: "application/json",
            body: NOT_A_UUID_400,
        },
    ),
    Fault::new(
        "error_code_mismatch",
        "the unknown-flow 404 says error.code 400",
        Match::probe(Route::GetFlow, "get_flow.unknown_id"),
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
        Action::Replace {
            status: 500,
            content_type: "application/json",
            body: SERVER_ERROR,
        },
    ),
    Fault::new(
        "undeclared_path_502",
        "an unknown path gets a proxy's HTML 502",
        Match::route(Route::Any).when(|i| i.route.is_none()),
        Action::Replace {
            status: 502,
            content_type: "text/html",
            body: "<html><body>502 Bad Gateway</body></html>",
        },
    ),
    Fault::new(
        "method_not_allowed_plain",
        "a wrong method gets Go's plain-text 405, as real Kratos answers (not a fault: nothing may fail)",
        Match::route(Route::Any).status(405),
        Action::Replace {
            status: 405,
            content_type: "text/plain; charset=utf-8",
            body: "Method Not Allowed",
        },
    ),
    Fault::new(
        "browser_html",
        "the browser flow ignores Accept and answers HTML",
        Match::route(Route::CreateBrowser),
        Action::Replace {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: "<html><form method=post></form></html>",
        },
    ),
    Fault::new(
        "browser_bad_gateway",
        "a proxy answers 502 text/plain for the browser flow",
        Match::route(Route::CreateBrowser),
        Action::Replace {
            status: 502,
            content_type: "text/plain",
            body: "Bad Gateway",
        },
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
        Action::Replace {
            status: 200,
            content_type: "application/json",
            body: "<html>not json</html>",
        },
    ),
    Fault::new(
        "update_email_500",
        "submitting an email answers 500 (in the envelope)",
        Match::probe(Route::Update, "update.email"),
        Action::Replace {
            status: 500,
            content_type: "application/json",
            body: SERVER_ERROR,
        },
    ),
    Fault::new(
        "update_email_missing_required_field",
        "the answer to an email lacks nodes' `messages`",
        Match::probe(Route::Update, "update.email").status(200),
        Action::Json(drop_node_messages),
    ),
    Fault::new(
        "update_email_state",
        "after an email the flow still says choose_method",
        Match::probe(Route::Update, "update.email").status(200),
        Action::Json(|v, _, _| set(v, "state", json!("choose_method"))),
    ),
    Fault::new(
        "update_email_no_message",
        "after an email the flow has no \"sent\" message",
        Match::probe(Route::Update, "update.email").status(200),
        Action::Json(|v, _, _| {
            if let Some(ui) = v.get_mut("ui") {
                remove(ui, "messages");
            }
        }),
    ),
    Fault::new(
        "missing_email_200",
        "a submission without email answers 200 (400 is due)",
        Match::probe(Route::Update, "update.missing_email"),
        Action::Status(200),
    ),
    Fault::new(
        "missing_email_missing_required_field",
        "the 400 flow's first node lacks the required `meta`",
        Match::probe(Route::Update, "update.missing_email").status(400),
        Action::Json(drop_first_node_meta),
    ),
    Fault::new(
        "missing_email_no_node_message",
        "the 400 flow does not say the email is missing",
        Match::probe(Route::Update, "update.missing_email").status(400),
        Action::Json(|v, _, _| {
            for_nodes(v, |n| {
                n.insert("messages".to_owned(), json!([]));
            })
        }),
    ),
    Fault::new(
        "wrong_code_400",
        "a wrong code answers 400 (Kratos answers 200)",
        Match::probe(Route::Update, "update.wrong_code"),
        Action::Status(400),
    ),
    Fault::new(
        "wrong_code_missing_required_field",
        "the answer to a wrong code lacks a node's `meta`",
        Match::probe(Route::Update, "update.wrong_code").status(200),
        Action::Json(drop_first_node_meta),
    ),
    Fault::new(
        "wrong_code_state",
        "a wrong code moves the flow to passed_challenge",
        Match::probe(Route::Update, "update.wrong_code").status(200),
        Action::Json(|v, _, _| set(v, "state", json!("passed_challenge"))),
    ),
    Fault::new(
        "wrong_code_no_message",
        "a wrong code is not reported",
        Match::probe(Route::Update, "update.wrong_code").status(200),
        Action::Json(|v, _, _| {
            if let Some(ui) = v.get_mut("ui") {
                remove(ui, "messages");
            }
        }),
    ),
    Fault::new(
        "crash_on_non_ascii_return_to",
        "a return_to with a non-ASCII character crashes the server (500 text/plain)",
        Match::route(Route::CreateNative)
            .when(|i| i.param("return_to").is_some_and(|r| !r.is_ascii())),
        Action::Replace {
            status: 500,
            content_type: "text/plain",
            body: "panic: index out of range",
        },
    ),
    Fault::new(
        "crash_on_upper_case_id",
        "a flow id in upper case crashes the lookup (500 text/plain)",
        Match::route(Route::GetFlow).when(|i| {
            i.param("id")
                .is_some_and(|id| id.bytes().any(|b| b.is_ascii_uppercase()))
        }),
        Action::Replace {
            status: 500,
            content_type: "text/plain",
            body: "internal error",
        },
    ),
    Fault::new(
        "crash_on_form_body",
        "a form-encoded submission crashes the server (500 text/plain)",
        Match::route(Route::Update).when(|i| {
            i.content_type
                .starts_with("application/x-www-form-urlencoded")
        }),
        Action::Replace {
            status: 500,
            content_type: "text/plain",
            body: "internal error",
        },
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
        Match::probe(Route::GetFlow, "get_flow").status(200),
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
];
