//! The routes and handlers of the reference server, and the resolved configuration they share.
//!
//! Every path is registered with `any` and dispatches on the method itself, so that a wrong
//! method gets a 405 with `Allow` in the errorGeneric envelope, and every rejection (body too
//! large, malformed input) is produced here in Kratos's shape rather than by an extractor.
//! Behaviour follows `KRATOS-RECOVERY-BEHAVIOUR.md` §1–5 (section numbers cited inline).

use super::courier::{Courier, Message, Sessions, STATUSES};
use super::http::{self, AllowedUrl, BodyError, Glob, ReturnToError, UpdateBody};
use super::render::{self, ErrorFields};
use super::store::{Completion, Flow, FlowType, Method, Msg, NodeMsg, State, Store, NO_CODE};
use super::{json, RecoveryMethod, ServerConfig, ServerError};
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method as HttpMethod, StatusCode};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");
const JSON_PLAIN: HeaderValue = HeaderValue::from_static("application/json");
const HTML_UTF8: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const NO_CACHE: HeaderValue =
    HeaderValue::from_static("private, no-cache, no-store, must-revalidate");
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
const VARY_COOKIE: HeaderValue = HeaderValue::from_static("Cookie");
/// Longest query string a created flow keeps (`request_url`); longer ones get a 414 so that
/// `--max-flows` really bounds memory.
const MAX_STORED_QUERY: usize = 4096;
const ORY_ERROR_ID: HeaderName = HeaderName::from_static("ory-error-id");
const MSG_BAD_REQUEST: &str = "The request was malformed or contained invalid parameters";
const MSG_NOT_FOUND: &str = "The requested resource could not be found";
const REASON_DISABLED: &str = "Recovery is not allowed because it was disabled.";

/// The configuration with every derived string computed once.
pub(crate) struct Resolved {
    pub(crate) base_url: String,
    pub(crate) base_path: String,
    pub(crate) lifespan_ns: i64,
    pub(crate) method: Method,
    pub(crate) recovery_enabled: bool,
    pub(crate) continue_with: bool,
    pub(crate) session_cookie_name: String,
    pub(crate) csrf_cookie_name: String,
    pub(crate) allowed: Vec<AllowedUrl>,
    pub(crate) default_return: url::Url,
    pub(crate) ui_recovery: String,
    pub(crate) ui_settings: String,
    pub(crate) ui_error: String,
    pub(crate) identities: Vec<Glob>,
    pub(crate) max_body: usize,
    pub(crate) max_submissions: u8,
    /// JSON-escaped `<origin><base>/self-service/recovery/api` (no quotes).
    pub(crate) api_request_url_json: String,
    pub(crate) browser_request_url_json: String,
    /// JSON-escaped `<base_url>/self-service/recovery?flow=`.
    pub(crate) action_prefix_json: String,
    pub(crate) flows_url: String,
}

impl Resolved {
    pub(crate) fn settings_url(&self, id: u128) -> String {
        format!("{}?flow={}", self.ui_settings, json::uuid_string(id))
    }
    fn recovery_ui_url(&self, id: u128) -> String {
        format!("{}?flow={}", self.ui_recovery, json::uuid_string(id))
    }
    fn flows_url_for(&self, id: u128) -> String {
        format!("{}?id={}", self.flows_url, json::uuid_string(id))
    }
}

/// Shared state of one server.
pub(crate) struct App {
    pub(crate) cfg: Resolved,
    pub(crate) store: Store,
    pub(crate) courier: Courier,
    pub(crate) sessions: Sessions,
}

fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    json::push_str_inner(&mut out, s);
    out
}

/// Validates a `--base-path`: empty, or `/segment[/segment…]` without a trailing slash.
pub(crate) fn normalize_base_path(p: &str) -> Result<String, ServerError> {
    let p = p.trim();
    if p.is_empty() || p == "/" {
        return Ok(String::new());
    }
    let bad = |reason: &str| ServerError::BasePath {
        value: p.to_owned(),
        reason: reason.to_owned(),
    };
    if !p.starts_with('/') {
        return Err(bad("it must start with `/`, e.g. `/auth`"));
    }
    let p = p.trim_end_matches('/');
    if p.contains("//") {
        return Err(bad("it must not contain empty segments (`//`)"));
    }
    if let Some(c) = p
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~".contains(*c)))
    {
        return Err(bad(&format!(
            "the character `{c}` is not allowed; use letters, digits, `-`, `.`, `_`, `~`"
        )));
    }
    Ok(p.to_owned())
}

impl App {
    pub(crate) fn new(config: &ServerConfig, origin: &str) -> Result<App, ServerError> {
        let base_path = normalize_base_path(&config.base_path)?;
        let base_url = format!("{origin}{base_path}");
        let ui = config.ui_url.trim_end_matches('/').to_owned();
        let default_return =
            url::Url::parse(&format!("{ui}/")).map_err(|e| ServerError::InvalidUrl {
                flag: "--ui-url",
                value: config.ui_url.clone(),
                reason: e.to_string(),
            })?;
        // The UI URL ends up in `Location` headers: a browser follows nothing but http(s).
        if !matches!(default_return.scheme(), "http" | "https")
            || default_return.host_str().is_none()
        {
            return Err(ServerError::InvalidUrl {
                flag: "--ui-url",
                value: config.ui_url.clone(),
                reason: "must be an absolute http(s) URL such as http://127.0.0.1:4455".to_owned(),
            });
        }
        let mut allowed = Vec::new();
        for raw in &config.allowed_return_urls {
            allowed.push(
                AllowedUrl::parse(raw).ok_or_else(|| ServerError::InvalidUrl {
                    flag: "--allowed-return-url",
                    value: raw.clone(),
                    reason: "expected scheme://host[:port][/path] (the host may start with `*.`)"
                        .to_owned(),
                })?,
            );
        }
        // Kratos always adds `<public base URL>/self-service` (§2.3).
        if let Some(own) = AllowedUrl::parse(&format!("{base_url}/self-service")) {
            allowed.push(own);
        }
        let session_cookie_name = config.session_cookie_name.trim().to_owned();
        if session_cookie_name.is_empty()
            || !session_cookie_name
                .chars()
                .all(|c| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c))
        {
            return Err(ServerError::InvalidConfig(format!(
                "--session-cookie-name `{}` is not a valid cookie name",
                config.session_cookie_name
            )));
        }
        // Zero would start a server that answers 200 with flows it has already forgotten, or
        // refuses every submission: a typo, not a configuration.
        if config.max_flows == 0 {
            return Err(ServerError::InvalidConfig(
                "--max-flows must be at least 1 (a created flow must be kept to be fetched or submitted)"
                    .to_owned(),
            ));
        }
        if config.max_body == 0 {
            return Err(ServerError::InvalidConfig(
                "--max-body must be at least 1 byte (every submission has a body)".to_owned(),
            ));
        }
        let lifespan_ns = i64::try_from(config.lifespan.as_nanos()).unwrap_or(i64::MAX);
        if lifespan_ns <= 0 {
            return Err(ServerError::InvalidConfig(
                "--lifespan must be greater than zero".to_owned(),
            ));
        }
        let cfg = Resolved {
            csrf_cookie_name: format!(
                "csrf_token_{}",
                json::sha256_hex(format!("{base_url}/").as_bytes())
            ),
            api_request_url_json: escaped(&format!("{base_url}/self-service/recovery/api")),
            browser_request_url_json: escaped(&format!("{base_url}/self-service/recovery/browser")),
            action_prefix_json: escaped(&format!("{base_url}/self-service/recovery?flow=")),
            flows_url: format!("{base_url}/self-service/recovery/flows"),
            base_url,
            base_path,
            lifespan_ns,
            method: match config.method {
                RecoveryMethod::Code => Method::Code,
                RecoveryMethod::Link => Method::Link,
            },
            recovery_enabled: !config.recovery_disabled,
            continue_with: config.continue_with_transitions,
            session_cookie_name,
            allowed,
            default_return,
            ui_recovery: format!("{ui}/recovery"),
            ui_settings: format!("{ui}/settings"),
            ui_error: format!("{ui}/error"),
            identities: config.identities.iter().map(|p| Glob::new(p)).collect(),
            max_body: config.max_body,
            max_submissions: config.max_submissions,
        };
        // Keep long-expired flows for one more lifespan so they answer 410, not 404.
        let retain = config.lifespan.saturating_mul(2);
        Ok(App {
            store: Store::new(config.max_flows, retain),
            courier: Courier::new(config.courier_capacity),
            sessions: Sessions::new(&config.session_tokens, 100_000),
            cfg,
        })
    }

    /// §2.1: `X-Session-Token` wins when non-empty, then the session cookie, then Bearer.
    fn has_session(&self, h: &HeaderMap) -> bool {
        if let Some(v) = h.get("x-session-token") {
            if !v.is_empty() {
                return v.to_str().is_ok_and(|t| self.sessions.is_valid(t.trim()));
            }
        }
        if let Some(c) = http::cookie(h, &self.cfg.session_cookie_name) {
            if self.sessions.is_valid(c) {
                return true;
            }
        }
        if let Some(a) = http::header_str(h, "authorization") {
            if a.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
            {
                return self.sessions.is_valid(a[7..].trim());
            }
        }
        false
    }

    fn is_known_address(&self, email: &str) -> bool {
        self.cfg.identities.iter().any(|g| g.matches(email))
    }
}

/// The router over `app`.
pub(crate) fn router(app: Arc<App>) -> Router {
    let b = app.cfg.base_path.clone();
    Router::new()
        .route(&format!("{b}/self-service/recovery/api"), any(recovery_api))
        .route(
            &format!("{b}/self-service/recovery/browser"),
            any(recovery_browser),
        )
        .route(
            &format!("{b}/self-service/recovery/flows"),
            any(recovery_flows),
        )
        .route(&format!("{b}/self-service/recovery"), any(recovery_update))
        .route(&format!("{b}/admin/courier/messages"), any(courier_list))
        .route(
            &format!("{b}/admin/courier/messages/{{id}}"),
            any(courier_get),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn(close_if_body_unread))
        .with_state(app)
}

/// Marks the answer `Connection: close` when the handler answered without reading the whole
/// request body (a bad flow id, an unknown route, a wrong method, a body over `--max-body`).
///
/// hyper cannot reuse such a connection (the rest of the body would be read as the next
/// request), so it drops it after the answer; without the header a keep-alive client (a load
/// tool, `http.client`) sends its next request into the closed socket and fails it. Go's
/// `net/http`, which Kratos uses, says `Connection: close` in the same case.
async fn close_if_body_unread(req: Request, next: axum::middleware::Next) -> Response {
    use axum::body::HttpBody;
    // GET, HEAD and empty bodies: nothing to track, the hot path stays untouched.
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let req = req.map(|inner| {
        Body::new(TrackedBody {
            inner,
            done: Arc::clone(&done),
        })
    });
    let mut response = next.run(req).await;
    if !done.load(std::sync::atomic::Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that records whether it was read to its end.
struct TrackedBody {
    inner: Body,
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl axum::body::HttpBody for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None)) || self.inner.is_end_stream() {
            self.done.store(true, std::sync::atomic::Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

// ---------------------------------------------------------------------------------------------
// Response helpers

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn new_id() -> u128 {
    uuid::Builder::from_random_bytes(rand::random::<[u8; 16]>())
        .into_uuid()
        .as_u128()
}

pub(crate) fn generate_session_token() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    format!(
        "ory_st_{}",
        Alphanumeric.sample_string(&mut rand::rng(), 32)
    )
}

fn is_get(m: &HttpMethod) -> bool {
    m == HttpMethod::GET || m == HttpMethod::HEAD
}

fn respond(status: StatusCode, ct: HeaderValue, body: String, get: bool) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, ct);
    // nosurf wraps every public route and adds this to every response (§1.4).
    h.insert(header::VARY, VARY_COOKIE);
    if get {
        h.insert(header::CACHE_CONTROL, NO_CACHE);
    }
    r
}

fn flow_response(status: StatusCode, body: String, get: bool) -> Response {
    respond(status, JSON_UTF8, body, get)
}

/// An error in herodot's shape: `application/json` (no charset) and `Ory-Error-Id`.
fn error_response<'a>(
    req: &'a HeaderMap,
    get: bool,
    mut fields: ErrorFields<'a>,
    extra: Option<&str>,
) -> Response {
    // herodot fills `request` only in the plain envelope; the enhanced errors do not (§1.3).
    if extra.is_none() {
        fields.request = http::header_str(req, "x-request-id");
    }
    let body = match extra {
        Some(x) => render::error_with(&fields, x),
        None => render::error(&fields),
    };
    let status = StatusCode::from_u16(fields.code).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = respond(status, JSON_PLAIN, body, get);
    let id = fields
        .id
        .and_then(|i| HeaderValue::from_str(i).ok())
        .unwrap_or(HeaderValue::from_static(""));
    r.headers_mut().insert(ORY_ERROR_ID, id);
    r
}

/// Go's `http.Redirect`: `Location`, and for GET/HEAD a tiny HTML body.
/// The 303 that hands a client the flow which replaced its old one: to the flow's JSON for API
/// flows and JSON requests (a redirect-following client lands on the fresh flow), else to the UI.
fn to_new_flow(cfg: &Resolved, new: u128, json_like: bool, get: bool) -> Response {
    let location = if json_like {
        cfg.flows_url_for(new)
    } else {
        cfg.recovery_ui_url(new)
    };
    redirect(StatusCode::SEE_OTHER, &location, get)
}

/// `resp` carrying the new flow's CSRF cookie, when one was issued.
fn with_cookie(mut resp: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

fn redirect(status: StatusCode, location: &str, get: bool) -> Response {
    let loc = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    let mut r = if get {
        let mut escaped = String::with_capacity(location.len());
        for c in location.chars() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '"' => escaped.push_str("&#34;"),
                '\'' => escaped.push_str("&#39;"),
                c => escaped.push(c),
            }
        }
        let body = format!(
            "<a href=\"{escaped}\">{}</a>.\n\n",
            status.canonical_reason().unwrap_or("Redirect")
        );
        respond(status, HTML_UTF8, body, true)
    } else {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = status;
        r.headers_mut().insert(header::VARY, VARY_COOKIE);
        r
    };
    r.headers_mut().insert(header::LOCATION, loc);
    r
}

/// Go's `http.Error`: a plain-text answer, as `net/http` writes its 404 and 405 (`Content-Type:
/// text/plain; charset=utf-8`, `X-Content-Type-Options: nosniff`, the text plus a newline).
fn plain_text(status: StatusCode, text: &'static str, get: bool) -> Response {
    let mut r = respond(
        status,
        HeaderValue::from_static("text/plain; charset=utf-8"),
        format!("{text}\n"),
        get,
    );
    r.headers_mut().insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Go's `ServeMux` answer to a method the route does not serve: plain text with `Allow`.
fn method_not_allowed(_req: &HeaderMap, allow: &'static str, _get: bool) -> Response {
    let mut r = plain_text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed", false);
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// §1.5: the self-service error manager: JSON when the request is JSON or accepts JSON,
/// otherwise a 303 to the error UI.
fn error_manager(app: &App, req: &HeaderMap, get: bool, fields: ErrorFields<'_>) -> Response {
    if http::is_json_request(req) || http::accepts_json(req) {
        error_response(req, get, fields, None)
    } else {
        let to = format!("{}?id={}", app.cfg.ui_error, json::uuid_string(new_id()));
        redirect(StatusCode::SEE_OTHER, &to, get)
    }
}

fn disabled(app: &App, req: &HeaderMap, get: bool) -> Response {
    error_manager(
        app,
        req,
        get,
        ErrorFields {
            code: 400,
            reason: Some(REASON_DISABLED),
            message: MSG_BAD_REQUEST,
            ..Default::default()
        },
    )
}

fn uri_too_long(req: &HeaderMap, get: bool) -> Response {
    error_response(
        req,
        get,
        ErrorFields {
            code: 414,
            reason: Some("The query string is longer than 4096 bytes; the reference server does not store such flows."),
            message: "The request URI is too long",
            ..Default::default()
        },
        None,
    )
}

fn session_exists(req: &HeaderMap, get: bool) -> Response {
    error_response(
        req,
        get,
        ErrorFields {
            id: Some("session_already_available"),
            code: 400,
            reason: Some("A valid session was detected and thus recovery is not possible."),
            message: MSG_BAD_REQUEST,
            ..Default::default()
        },
        None,
    )
}

/// §2.3: the `return_to` of the query, checked; `Err` is the ready 400 as fields.
fn return_to_error(app: &App, query: Option<&str>) -> Option<(Option<&'static str>, String)> {
    let rt = http::query_param(query, "return_to").filter(|v| !v.is_empty())?;
    match http::check_return_to(&rt, &app.cfg.default_return, &app.cfg.allowed) {
        Ok(()) => None,
        Err(ReturnToError::Forbidden(u)) => Some((
            Some("self_service_flow_return_to_forbidden"),
            format!("Requested return_to URL \"{u}\" is not allowed."),
        )),
        Err(ReturnToError::Unparsable(e)) => Some((
            None,
            format!("Unable to parse the return_to query parameter as an URL: {e}"),
        )),
    }
}

fn csrf_cookie_header(app: &App, token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax",
        app.cfg.csrf_cookie_name
    ))
    .ok()
}

fn session_cookie_header(app: &App, token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax",
        app.cfg.session_cookie_name
    ))
    .ok()
}

/// The request's CSRF cookie when it looks like one we issue, else a new token (and `true`).
fn csrf_token_for(app: &App, req: &HeaderMap) -> (String, bool) {
    match http::cookie(req, &app.cfg.csrf_cookie_name) {
        Some(v)
            if !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_+/=".contains(c)) =>
        {
            (v.to_owned(), false)
        }
        _ => (format!("{:032x}", rand::random::<u128>()), true),
    }
}

// ---------------------------------------------------------------------------------------------
// GET /self-service/recovery/api (§2)

async fn recovery_api(AxState(app): AxState<Arc<App>>, req: Request) -> Response {
    let get = is_get(req.method());
    let headers = req.headers();
    if !get {
        return method_not_allowed(headers, "GET, HEAD", false);
    }
    if app.has_session(headers) {
        return session_exists(headers, get);
    }
    if !app.cfg.recovery_enabled {
        return disabled(&app, headers, get);
    }
    let query = req.uri().query().filter(|q| !q.is_empty());
    if query.is_some_and(|q| q.len() > MAX_STORED_QUERY) {
        return uri_too_long(headers, get);
    }
    if let Some((id, reason)) = return_to_error(&app, query) {
        return error_response(
            headers,
            get,
            ErrorFields {
                id,
                code: 400,
                reason: Some(&reason),
                message: MSG_BAD_REQUEST,
                ..Default::default()
            },
            None,
        );
    }
    let now = now_ns();
    let id = new_id();
    let mut flow = Flow::new(FlowType::Api, app.cfg.method, now);
    if let Some(q) = query {
        flow.extra_mut().query = Some(q.into());
    }
    let body = render::flow(&app.cfg, id, &flow);
    app.store.insert(id, flow, now);
    flow_response(StatusCode::OK, body, get)
}

// ---------------------------------------------------------------------------------------------
// GET /self-service/recovery/browser (§3)

async fn recovery_browser(AxState(app): AxState<Arc<App>>, req: Request) -> Response {
    let get = is_get(req.method());
    let headers = req.headers();
    if !get {
        return method_not_allowed(headers, "GET, HEAD", false);
    }
    let query = req.uri().query().filter(|q| !q.is_empty());
    if app.has_session(headers) {
        if http::is_json_request(headers) {
            return session_exists(headers, get);
        }
        let to = match http::query_param(query, "return_to").filter(|v| !v.is_empty()) {
            Some(rt) if return_to_error(&app, query).is_none() => rt,
            _ => app.cfg.default_return.to_string(),
        };
        return redirect(StatusCode::FOUND, &to, get);
    }
    if !app.cfg.recovery_enabled {
        return disabled(&app, headers, get);
    }
    if query.is_some_and(|q| q.len() > MAX_STORED_QUERY) {
        return uri_too_long(headers, get);
    }
    if let Some((id, reason)) = return_to_error(&app, query) {
        return error_manager(
            &app,
            headers,
            get,
            ErrorFields {
                id,
                code: 400,
                reason: Some(&reason),
                message: MSG_BAD_REQUEST,
                ..Default::default()
            },
        );
    }
    let (token, fresh) = csrf_token_for(&app, headers);
    let now = now_ns();
    let id = new_id();
    let mut flow = Flow::new(FlowType::Browser, app.cfg.method, now);
    {
        let extra = flow.extra_mut();
        extra.query = query.map(Into::into);
        extra.csrf = Some(token.as_str().into());
    }
    let mut resp = if http::accepts_json(headers) {
        flow_response(StatusCode::OK, render::flow(&app.cfg, id, &flow), get)
    } else {
        redirect(StatusCode::SEE_OTHER, &app.cfg.recovery_ui_url(id), get)
    };
    app.store.insert(id, flow, now);
    if fresh {
        if let Some(c) = csrf_cookie_header(&app, &token) {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// GET /self-service/recovery/flows?id= (§4)

fn parse_id(s: Option<&str>) -> Option<u128> {
    uuid::Uuid::try_parse(s?.trim()).ok().map(|u| u.as_u128())
}

fn flow_not_found(req: &HeaderMap, get: bool) -> Response {
    error_response(
        req,
        get,
        ErrorFields {
            code: 404,
            message: "Unable to locate the resource",
            ..Default::default()
        },
        None,
    )
}

fn minutes_x100(ns: i64) -> i64 {
    ns.max(0) / 600_000_000
}

async fn recovery_flows(AxState(app): AxState<Arc<App>>, req: Request) -> Response {
    let get = is_get(req.method());
    let headers = req.headers();
    if !get {
        return method_not_allowed(headers, "GET, HEAD", false);
    }
    if !app.cfg.recovery_enabled {
        return disabled(&app, headers, get);
    }
    let query = req.uri().query();
    let Some(id) = parse_id(http::query_param(query, "id").as_deref()) else {
        return flow_not_found(headers, get);
    };
    let now = now_ns();
    let mut guard = app.store.get(id);
    let Some(flow) = guard.flow() else {
        return flow_not_found(headers, get);
    };
    if flow.flow_type == FlowType::Browser {
        let sent = http::cookie(headers, &app.cfg.csrf_cookie_name);
        if sent.is_none() || sent != flow.csrf() {
            let reject = if headers.get(header::COOKIE).is_none() {
                "The HTTP Cookie Header was not set."
            } else if sent.is_none() {
                "The HTTP Cookie Header was set but did not contain the anti-CSRF cookie."
            } else {
                "The anti-CSRF cookie does not match the token of this flow."
            };
            let mut details = String::from(
                "{\"docs\":\"https://www.ory.com/docs/troubleshooting/csrf\",\"hint\":\"The browser flow must be fetched with the anti-CSRF cookie that was issued when it was created. Send the cookies of the flow's creation (e.g. fetch with credentials: include) from the same domain.\",\"reject_reason\":",
            );
            json::push_str(&mut details, reject);
            details.push('}');
            drop(guard);
            return error_response(
                headers,
                get,
                ErrorFields {
                    id: Some("security_csrf_violation"),
                    code: 403,
                    reason: Some(render::REASON_CSRF),
                    details: Some(&details),
                    message:
                        "the request was rejected to protect you from Cross-Site-Request-Forgery",
                    ..Default::default()
                },
                None,
            );
        }
    }
    let expires = flow.issued_ns.saturating_add(app.cfg.lifespan_ns);
    if now > expires {
        let ago = minutes_x100(now - expires);
        let (ty, rt) = (flow.flow_type, http::query_param(flow.query(), "return_to"));
        drop(guard);
        return match ty {
            FlowType::Api => {
                let reason = format!(
                    "The self-service flow expired {}.{:02} minutes ago, initialize a new one.",
                    ago / 100,
                    ago % 100
                );
                let mut details = String::from("{\"api\":");
                json::push_str(
                    &mut details,
                    &format!("{}/self-service/recovery/api", app.cfg.base_url),
                );
                details.push('}');
                error_response(
                    headers,
                    get,
                    ErrorFields {
                        id: Some("self_service_flow_expired"),
                        code: 410,
                        reason: Some(&reason),
                        details: Some(&details),
                        message: "self-service flow expired",
                        ..Default::default()
                    },
                    None,
                )
            }
            FlowType::Browser => {
                let rt = rt.unwrap_or_default();
                let mut redirect_to = format!("{}/self-service/recovery/browser", app.cfg.base_url);
                if !rt.is_empty() {
                    redirect_to.push_str("?return_to=");
                    redirect_to.extend(url::form_urlencoded::byte_serialize(rt.as_bytes()));
                }
                let mut details = String::from("{\"redirect_to\":");
                json::push_str(&mut details, &redirect_to);
                details.push_str(",\"return_to\":");
                json::push_str(&mut details, &rt);
                details.push('}');
                error_response(
                    headers,
                    get,
                    ErrorFields {
                        code: 410,
                        reason: Some("The recovery flow has expired. Redirect the user to the recovery flow init endpoint to initialize a new recovery flow."),
                        details: Some(&details),
                        message: "The requested resource is no longer available because it has expired or is otherwise invalid.",
                        ..Default::default()
                    },
                    None,
                )
            }
        };
    }
    let body = render::flow(&app.cfg, id, flow);
    drop(guard);
    flow_response(StatusCode::OK, body, get)
}

// ---------------------------------------------------------------------------------------------
// POST (and GET) /self-service/recovery?flow= (§5)

/// What the update decided while the flow was locked; acted upon after unlocking (a new flow
/// may land in the same shard).
enum Next {
    /// A flow body (200 or 400); browser non-JSON requests get a 303 to the UI instead.
    Flow { status: StatusCode, body: String },
    /// `retryRecoveryFlow`: abandon, create a new flow carrying `msg` (§5.2, §5.4).
    Retry { flow_type: FlowType, msg: Msg },
    /// §5.6: the flow expired.
    Expired {
        flow_type: FlowType,
        expired_at: i64,
        ago_x100: i64,
    },
    /// An active session on an email submit (§5.4 A).
    Session,
    /// A correct code (§5.4 B) or a valid link token.
    Completed {
        flow_type: FlowType,
        settings: u128,
        token: String,
        body: Option<String>,
        link: bool,
    },
    /// A code or link to deliver, then the flow body.
    Send { msg: Message, body: String },
    /// A plain JSON error (link-strategy CSRF violation).
    CsrfError,
}

async fn read_body(
    app: &App,
    req: Request,
) -> Result<(axum::http::request::Parts, bytes::Bytes), Response> {
    let (parts, body) = req.into_parts();
    let limit = app.cfg.max_body;
    let too_large = |parts: &axum::http::request::Parts| {
        let reason = format!("The request body exceeds the limit of {limit} bytes.");
        error_response(
            &parts.headers,
            false,
            ErrorFields {
                code: 413,
                reason: Some(&reason),
                message: "The request body is too large",
                ..Default::default()
            },
            None,
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(&parts));
    }
    // A client that stops sending mid-body must not hold the handler (or a graceful shutdown).
    let collected = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        http_body_util::Limited::new(body, limit).collect(),
    )
    .await;
    match collected {
        Ok(Ok(c)) => Ok((parts, c.to_bytes())),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(&parts)),
        Err(_) => Err(error_response(
            &parts.headers,
            false,
            ErrorFields {
                code: 408,
                reason: Some("The request body was not received within 30 seconds."),
                message: "The request timed out",
                ..Default::default()
            },
            None,
        )),
        Ok(Err(_)) => Err(error_response(
            &parts.headers,
            false,
            ErrorFields {
                code: 400,
                reason: Some("The request body could not be read."),
                message: MSG_BAD_REQUEST,
                ..Default::default()
            },
            None,
        )),
    }
}

async fn recovery_update(AxState(app): AxState<Arc<App>>, req: Request) -> Response {
    let method = req.method().clone();
    let get = is_get(&method);
    if !(get || method == HttpMethod::POST) {
        return method_not_allowed(req.headers(), "GET, HEAD, POST", false);
    }
    if !app.cfg.recovery_enabled {
        return disabled(&app, req.headers(), get);
    }
    let query_owned = req.uri().query().map(str::to_owned);
    let query = query_owned.as_deref();
    let Some(id) = parse_id(http::query_param(query, "flow").as_deref()) else {
        return error_manager(
            &app,
            req.headers(),
            get,
            ErrorFields {
                code: 400,
                reason: Some("The flow query parameter is missing or malformed."),
                message: MSG_BAD_REQUEST,
                ..Default::default()
            },
        );
    };
    let (parts, body) = if get {
        let (parts, _) = req.into_parts();
        (parts, bytes::Bytes::new())
    } else {
        match read_body(&app, req).await {
            Ok(pb) => pb,
            Err(resp) => return resp,
        }
    };
    let headers = &parts.headers;
    let json_req = http::is_json_request(headers);
    let now = now_ns();
    let next = {
        let mut guard = app.store.get(id);
        let Some(flow) = guard.flow() else {
            drop(guard);
            if json_req {
                return error_response(
                    headers,
                    get,
                    ErrorFields {
                        code: 404,
                        reason: Some(
                            "The recovery request could not be found. Please restart the flow.",
                        ),
                        message: MSG_NOT_FOUND,
                        ..Default::default()
                    },
                    None,
                );
            }
            let to = format!("{}?id={}", app.cfg.ui_error, json::uuid_string(new_id()));
            return redirect(StatusCode::SEE_OTHER, &to, get);
        };
        decide(&app, id, flow, headers, query, &body, get, now)
    };
    act(&app, next, headers, json_req, id, get, now)
}

/// The state machine (§5.2–5.5), run with the flow locked.
#[allow(clippy::too_many_arguments)]
fn decide(
    app: &App,
    id: u128,
    flow: &mut Flow,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
    get: bool,
    now: i64,
) -> Next {
    let cfg = &app.cfg;
    let expires = flow.issued_ns.saturating_add(cfg.lifespan_ns);
    if now > expires {
        // API+link flows come back as browser flows (`FromOldFlow`).
        let flow_type = if flow.method == Method::Link {
            FlowType::Browser
        } else {
            flow.flow_type
        };
        return Next::Expired {
            flow_type,
            expired_at: expires,
            ago_x100: minutes_x100(now - expires),
        };
    }
    let decoded = http::decode_update(headers, query, body);
    // §5.3: which strategy answers.
    let responsible = match flow.method {
        // The code strategy only handles POST.
        Method::Code => !get,
        Method::Link => decoded
            .as_ref()
            .map(|b| b.method.as_deref() == Some("link") || b.token.is_some())
            .unwrap_or(true),
    };
    if !responsible {
        return flow_error(cfg, id, flow, Msg::NoStrategy);
    }
    // §5.2: API flows refuse anything a browser would send.
    if flow.flow_type == FlowType::Api {
        if !http::blocking_cookie_names(headers).is_empty() {
            return Next::Retry {
                flow_type: FlowType::Browser,
                msg: Msg::CookieBlocked,
            };
        }
        if headers.contains_key(header::ORIGIN) {
            return Next::Retry {
                flow_type: FlowType::Browser,
                msg: Msg::OriginBlocked,
            };
        }
    }
    let b: UpdateBody = match decoded {
        Ok(b) => b,
        Err(e) => {
            let msg = match e {
                BodyError::Malformed => Msg::MalformedBody,
                BodyError::WrongType => Msg::WrongType,
                BodyError::UnsupportedMedia => Msg::UnsupportedMedia,
            };
            return flow_error(cfg, id, flow, msg);
        }
    };
    if flow.flow_type == FlowType::Browser {
        let cookie = http::cookie(headers, &cfg.csrf_cookie_name);
        let ok = matches!((cookie, b.csrf_token.as_deref()), (Some(c), Some(t)) if !c.is_empty() && c == t);
        if !ok {
            return match flow.method {
                Method::Code => Next::Retry {
                    flow_type: FlowType::Browser,
                    msg: Msg::CsrfMismatch,
                },
                Method::Link => Next::CsrfError,
            };
        }
    }
    if let Some(tp) = &b.transient_payload {
        flow.extra_mut().transient = Some(tp.as_str().into());
    }
    match flow.method {
        Method::Code => decide_code(app, id, flow, headers, b, now),
        Method::Link => decide_link(app, id, flow, headers, b, now),
    }
}

/// Resets the messages and stores a global error message: a 400 flow.
fn flow_error(cfg: &Resolved, id: u128, flow: &mut Flow, msg: Msg) -> Next {
    flow.msg = msg;
    flow.node_msg = NodeMsg::None;
    Next::Flow {
        status: StatusCode::BAD_REQUEST,
        body: render::flow(cfg, id, flow),
    }
}

/// §5.4 A, shared by code and link: validate the email; `Ok` is the normalized address.
fn validate_email(
    cfg: &Resolved,
    id: u128,
    flow: &mut Flow,
    email: Option<&str>,
) -> Result<String, Next> {
    let email = email.unwrap_or("");
    let node_msg = if email.is_empty() {
        NodeMsg::EmailMissing
    } else if !http::is_valid_email(email) {
        NodeMsg::EmailInvalid
    } else {
        return Ok(email.to_owned());
    };
    flow.msg = Msg::None;
    flow.node_msg = node_msg;
    flow.extra_mut().email = Some(email.into());
    Err(Next::Flow {
        status: StatusCode::BAD_REQUEST,
        body: render::flow(cfg, id, flow),
    })
}

fn decide_code(
    app: &App,
    id: u128,
    flow: &mut Flow,
    headers: &HeaderMap,
    b: UpdateBody,
    now: i64,
) -> Next {
    let cfg = &app.cfg;
    let has_email = b.email.as_deref().is_some_and(|e| !e.is_empty());
    let email_branch = match flow.state {
        State::ChooseMethod => true,
        State::SentEmail => has_email,
        State::PassedChallenge => {
            if has_email {
                return Next::Retry {
                    flow_type: flow.flow_type,
                    msg: Msg::AlreadyCompleted,
                };
            }
            false
        }
    };
    if email_branch {
        if b.method.as_deref() != Some("code") {
            return flow_error(cfg, id, flow, Msg::NoStrategy);
        }
        if app.has_session(headers) {
            return Next::Session;
        }
        let email = match validate_email(cfg, id, flow, b.email.as_deref()) {
            Ok(e) => e,
            Err(next) => return next,
        };
        // Earlier codes are void; a code exists only for a known address (anti-enumeration).
        flow.code = NO_CODE;
        let mut message = None;
        if app.is_known_address(&email) {
            let code: u32 = rand::random_range(0..1_000_000);
            flow.code = code;
            message = Some(Message {
                id: new_id(),
                recipient: email.as_str().into(),
                subject: "Recover access to your account",
                body: format!(
                    "Hi,\n\nplease recover access to your account by entering the following code:\n\n{code:06}\n"
                )
                .into(),
                template_type: "recovery_code_valid",
                created_ns: now,
            });
        }
        flow.state = State::SentEmail;
        flow.msg = Msg::CodeSent;
        flow.node_msg = NodeMsg::None;
        flow.extra_mut().email = Some(email.into());
        let body = render::flow(cfg, id, flow);
        return match message {
            Some(msg) => Next::Send { msg, body },
            None => Next::Flow {
                status: StatusCode::OK,
                body,
            },
        };
    }
    // The code branch: the method is not checked (§5.4 B).
    flow.submissions = flow.submissions.saturating_add(1);
    if flow.submissions > cfg.max_submissions {
        return Next::Retry {
            flow_type: flow.flow_type,
            msg: Msg::TooOften,
        };
    }
    let submitted = b.code.as_deref().unwrap_or("").trim();
    let correct = flow.state == State::SentEmail
        && flow.code != NO_CODE
        && submitted.len() == 6
        && submitted.parse::<u32>().ok() == Some(flow.code);
    if !correct {
        flow.msg = Msg::InvalidCode;
        flow.node_msg = NodeMsg::None;
        return Next::Flow {
            status: StatusCode::OK,
            body: render::flow(cfg, id, flow),
        };
    }
    complete(app, id, flow, false)
}

fn complete(app: &App, id: u128, flow: &mut Flow, link: bool) -> Next {
    let settings = new_id();
    let token = generate_session_token();
    flow.code = NO_CODE;
    flow.state = State::PassedChallenge;
    flow.msg = Msg::None;
    flow.node_msg = NodeMsg::None;
    let extra = flow.extra_mut();
    extra.link_token = None;
    extra.completion = Some(Completion {
        settings_flow: settings,
        session_token: token.as_str().into(),
    });
    Next::Completed {
        flow_type: flow.flow_type,
        settings,
        token,
        body: Some(render::flow(&app.cfg, id, flow)),
        link,
    }
}

fn decide_link(
    app: &App,
    id: u128,
    flow: &mut Flow,
    headers: &HeaderMap,
    b: UpdateBody,
    now: i64,
) -> Next {
    let cfg = &app.cfg;
    if let Some(token) = b.token.as_deref() {
        let valid = flow.state == State::SentEmail
            && u128::from_str_radix(token.trim(), 16)
                .ok()
                .is_some_and(|t| flow.extra().and_then(|e| e.link_token) == Some(t));
        if !valid {
            return Next::Retry {
                flow_type: FlowType::Browser,
                msg: Msg::InvalidToken,
            };
        }
        return complete(app, id, flow, true);
    }
    if app.has_session(headers) {
        return Next::Session;
    }
    let email = match validate_email(cfg, id, flow, b.email.as_deref()) {
        Ok(e) => e,
        Err(next) => return next,
    };
    let mut message = None;
    let extra = flow.extra_mut();
    extra.link_token = None;
    if app.is_known_address(&email) {
        let token = rand::random::<u128>();
        extra.link_token = Some(token);
        let link = format!(
            "{}/self-service/recovery?flow={}&token={token:032x}",
            cfg.base_url,
            json::uuid_string(id)
        );
        message = Some(Message {
            id: new_id(),
            recipient: email.as_str().into(),
            subject: "Recover access to your account",
            body: format!(
                "Hi,\n\nplease recover access to your account by clicking the following link:\n\n{link}\n"
            )
            .into(),
            template_type: "recovery_valid",
            created_ns: now,
        });
    }
    extra.email = Some(email.into());
    flow.state = State::SentEmail;
    flow.msg = Msg::LinkSent;
    flow.node_msg = NodeMsg::None;
    let body = render::flow(cfg, id, flow);
    match message {
        Some(msg) => Next::Send { msg, body },
        None => Next::Flow {
            status: StatusCode::OK,
            body,
        },
    }
}

/// Creates the replacement flow of a retry or expiry and stores it.
fn new_flow_from(
    app: &App,
    headers: &HeaderMap,
    flow_type: FlowType,
    msg: Msg,
    expired: Option<(i64, i64)>,
    now: i64,
) -> (u128, Option<HeaderValue>) {
    let id = new_id();
    let mut flow = Flow::new(flow_type, app.cfg.method, now);
    flow.msg = msg;
    let mut cookie = None;
    if flow_type == FlowType::Browser {
        let (token, fresh) = csrf_token_for(app, headers);
        if fresh {
            cookie = csrf_cookie_header(app, &token);
        }
        flow.extra_mut().csrf = Some(token.into());
    }
    if expired.is_some() {
        flow.extra_mut().expired = expired;
    }
    app.store.insert(id, flow, now);
    (id, cookie)
}

fn act(
    app: &App,
    next: Next,
    headers: &HeaderMap,
    json_req: bool,
    id: u128,
    get: bool,
    now: i64,
) -> Response {
    let cfg = &app.cfg;
    // A browser flow answered to a plain (non-JSON) request goes back to the UI.
    let flow_type_of = |id: u128| app.store.get(id).flow().map(|f| f.flow_type);
    match next {
        Next::Send { msg, body } => {
            app.courier.push(msg);
            flow_or_ui(
                app,
                flow_type_of(id),
                json_req,
                id,
                StatusCode::OK,
                body,
                get,
            )
        }
        Next::Flow { status, body } => {
            flow_or_ui(app, flow_type_of(id), json_req, id, status, body, get)
        }
        Next::Session => {
            // Native (API) clients always get the JSON error; browsers a redirect unless JSON.
            if json_req || flow_type_of(id) == Some(FlowType::Api) {
                session_exists(headers, get)
            } else {
                redirect(StatusCode::FOUND, cfg.default_return.as_str(), get)
            }
        }
        Next::CsrfError => {
            let details = "{\"docs\":\"https://www.ory.com/docs/troubleshooting/csrf\",\"hint\":\"The csrf_token of the request body does not match the anti-CSRF cookie.\",\"reject_reason\":\"The HTTP Cookie Header was set and a CSRF token was sent but they do not match.\"}";
            error_manager(
                app,
                headers,
                get,
                ErrorFields {
                    id: Some("security_csrf_violation"),
                    code: 403,
                    reason: Some(render::REASON_CSRF),
                    details: Some(details),
                    message:
                        "the request was rejected to protect you from Cross-Site-Request-Forgery",
                    ..Default::default()
                },
            )
        }
        Next::Retry { flow_type, msg } => {
            let (new, cookie) = new_flow_from(app, headers, flow_type, msg, None, now);
            let resp = if cfg.continue_with && json_req {
                let mut details = String::from(
                    "{\"continue_with\":[{\"action\":\"show_recovery_ui\",\"flow\":{\"id\":\"",
                );
                json::push_uuid(&mut details, new);
                details.push_str("\",\"url\":");
                json::push_str(&mut details, &cfg.recovery_ui_url(new));
                details.push_str("}}]}");
                let reason = retry_reason(msg);
                error_response(
                    headers,
                    get,
                    ErrorFields {
                        code: 400,
                        reason: Some(reason),
                        details: Some(&details),
                        message: MSG_BAD_REQUEST,
                        ..Default::default()
                    },
                    None,
                )
            } else {
                to_new_flow(cfg, new, json_req, get)
            };
            with_cookie(resp, cookie)
        }
        Next::Expired {
            flow_type,
            expired_at,
            ago_x100,
        } => {
            let (new, cookie) = new_flow_from(
                app,
                headers,
                flow_type,
                Msg::Expired,
                Some((expired_at, ago_x100)),
                now,
            );
            let resp = if cfg.continue_with && flow_type == FlowType::Api {
                let reason = format!(
                    "The self-service flow expired {}.{:02} minutes ago, initialize a new one.",
                    ago_x100 / 100,
                    ago_x100 % 100
                );
                let mut details = String::from(
                    "{\"continue_with\":[{\"action\":\"show_recovery_ui\",\"flow\":{\"id\":\"",
                );
                json::push_uuid(&mut details, new);
                details.push_str("\"}}]}");
                let mut extra = String::from("\"expired_at\":\"");
                json::push_timestamp(&mut extra, expired_at);
                extra.push_str("\",\"since\":");
                json::push_int(&mut extra, now.saturating_sub(expired_at));
                extra.push_str(",\"use_flow_id\":\"");
                json::push_uuid(&mut extra, new);
                extra.push('"');
                error_response(
                    headers,
                    get,
                    ErrorFields {
                        id: Some("self_service_flow_expired"),
                        code: 410,
                        reason: Some(&reason),
                        details: Some(&details),
                        message: "self-service flow expired",
                        ..Default::default()
                    },
                    Some(&extra),
                )
            } else {
                to_new_flow(cfg, new, flow_type == FlowType::Api || json_req, get)
            };
            with_cookie(resp, cookie)
        }
        Next::Completed {
            flow_type,
            settings,
            token,
            body,
            link,
        } => {
            app.sessions.issue(&token);
            let settings_url = cfg.settings_url(settings);
            let mut resp = if link {
                redirect(StatusCode::SEE_OTHER, &settings_url, get)
            } else if cfg.continue_with && (flow_type == FlowType::Api || json_req) {
                flow_response(StatusCode::OK, body.unwrap_or_default(), get)
            } else if json_req {
                let reason = format!(
                    "In order to complete this flow please redirect the browser to: {settings_url}"
                );
                let mut extra = String::from("\"redirect_browser_to\":");
                json::push_str(&mut extra, &settings_url);
                error_response(
                    headers,
                    get,
                    ErrorFields {
                        id: Some("browser_location_change_required"),
                        code: 422,
                        reason: Some(&reason),
                        message: "browser location change required",
                        ..Default::default()
                    },
                    Some(&extra),
                )
            } else {
                redirect(StatusCode::SEE_OTHER, &settings_url, get)
            };
            if flow_type == FlowType::Browser || link {
                if let Some(c) = session_cookie_header(app, &token) {
                    resp.headers_mut().append(header::SET_COOKIE, c);
                }
            }
            resp
        }
    }
}

fn retry_reason(msg: Msg) -> &'static str {
    match msg {
        Msg::TooOften => "The request was submitted too often. Please request another code.",
        Msg::CookieBlocked => render::REASON_COOKIE,
        Msg::OriginBlocked => render::REASON_ORIGIN,
        Msg::CsrfMismatch => render::REASON_CSRF,
        Msg::AlreadyCompleted => {
            "The request was already completed successfully and can not be retried."
        }
        Msg::InvalidToken => {
            "The recovery token is invalid or has already been used. Please retry the flow."
        }
        _ => "The recovery flow must be retried.",
    }
}

fn flow_or_ui(
    app: &App,
    flow_type: Option<FlowType>,
    json_req: bool,
    id: u128,
    status: StatusCode,
    body: String,
    get: bool,
) -> Response {
    if flow_type == Some(FlowType::Browser) && !json_req {
        redirect(StatusCode::SEE_OTHER, &app.cfg.recovery_ui_url(id), get)
    } else {
        flow_response(status, body, get)
    }
}

// ---------------------------------------------------------------------------------------------
// Admin: courier messages

async fn courier_list(AxState(app): AxState<Arc<App>>, req: Request) -> Response {
    let get = is_get(req.method());
    let headers = req.headers();
    if !get {
        return method_not_allowed(headers, "GET, HEAD", false);
    }
    let query = req.uri().query();
    let bad = |reason: String| {
        error_response(
            headers,
            get,
            ErrorFields {
                code: 400,
                reason: Some(&reason),
                message: MSG_BAD_REQUEST,
                ..Default::default()
            },
            None,
        )
    };
    let page_size = match http::query_param(query, "page_size") {
        None => 250,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return bad(format!(
                    "The page_size query parameter must be an integer from 1 to 1000, got \"{v}\"."
                ))
            }
        },
    };
    let status = http::query_param(query, "status");
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return bad(format!(
                "The status query parameter must be one of queued, sent, processing, abandoned, got \"{s}\"."
            ));
        }
    }
    let recipient = http::query_param(query, "recipient").filter(|r| !r.is_empty());
    let body = app
        .courier
        .render_list(recipient.as_deref(), status.as_deref(), page_size);
    flow_response(StatusCode::OK, body, get)
}

async fn courier_get(AxState(app): AxState<Arc<App>>, req: Request) -> Response {
    let get = is_get(req.method());
    let headers = req.headers();
    if !get {
        return method_not_allowed(headers, "GET, HEAD", false);
    }
    let id = req.uri().path().rsplit('/').next();
    match parse_id(id).and_then(|id| app.courier.render_one(id)) {
        Some(body) => flow_response(StatusCode::OK, body, get),
        None => error_response(
            headers,
            get,
            ErrorFields {
                code: 404,
                message: MSG_NOT_FOUND,
                ..Default::default()
            },
            None,
        ),
    }
}

/// Go's `http.NotFound`, which Kratos's router answers for every unknown path.
async fn not_found(req: Request) -> Response {
    plain_text(
        StatusCode::NOT_FOUND,
        "404 page not found",
        req.method() == HttpMethod::GET,
    )
}
