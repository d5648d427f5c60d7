//! The application: resolved configuration, the router (axum method routing, one module per
//! route family), and the Kratos layer that every answer passes through.
//!
//! The Kratos layer does what Kratos's middleware stack does around its handlers
//! (`cmd/daemon/serve.go`): nosurf's anti-CSRF cookie and its 403 for unsafe methods on the
//! paths it guards, `Vary: Cookie`, `Cache-Control` on GET answers (`httprouterx.NoCacheNegroni`),
//! and the rendering of [`KratosError`]s (JSON or the error manager's 303). Behaviour follows
//! `KRATOS-RECOVERY-BEHAVIOUR.md` §1–5 and what the real Kratos answers (README, serve section).

use super::courier::{Courier, Sessions};
use super::error::KratosError;
use super::http::{self, AllowedUrl, Glob};
use super::store::{Method, Store};
use super::{courier_admin, create, csrf, get_flow, json, reply, update};
use super::{RecoveryMethod, ServerConfig, ServerError};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method as HttpMethod, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use axum::Router;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const NO_CACHE: HeaderValue =
    HeaderValue::from_static("private, no-cache, no-store, must-revalidate");
const VARY_COOKIE: HeaderValue = HeaderValue::from_static("Cookie");

/// The configuration with every derived string computed once.
pub(crate) struct Resolved {
    /// `http://host:port` the server is reached at (links, `ui.action`).
    pub(crate) origin: String,
    pub(crate) base_url: String,
    pub(crate) base_path: String,
    pub(crate) lifespan_ns: i64,
    pub(crate) method: Method,
    pub(crate) recovery_enabled: bool,
    pub(crate) continue_with: bool,
    /// `feature_flags.choose_recovery_address` (recovery v2).
    pub(crate) v2: bool,
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
    pub(crate) fn recovery_ui_url(&self, id: u128) -> String {
        format!("{}?flow={}", self.ui_recovery, json::uuid_string(id))
    }
    pub(crate) fn flows_url_for(&self, id: u128) -> String {
        format!("{}?id={}", self.flows_url, json::uuid_string(id))
    }
    pub(crate) fn error_ui_url(&self) -> String {
        format!("{}?id={}", self.ui_error, json::uuid_string(new_id()))
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
            origin: origin.to_owned(),
            base_url,
            base_path,
            lifespan_ns,
            method: match config.method {
                RecoveryMethod::Code => Method::Code,
                RecoveryMethod::Link => Method::Link,
            },
            recovery_enabled: !config.recovery_disabled,
            continue_with: config.continue_with_transitions,
            v2: config.choose_recovery_address && config.method == RecoveryMethod::Code,
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
    pub(crate) fn has_session(&self, h: &HeaderMap) -> bool {
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

    pub(crate) fn is_known_address(&self, email: &str) -> bool {
        self.cfg.identities.iter().any(|g| g.matches(email))
    }
}

// ---------------------------------------------------------------------------------------------
// The request context and the Kratos layer

/// What every handler needs to know about the request, computed once by the Kratos layer.
#[derive(Debug)]
pub(crate) struct ReqCtx {
    /// GET or HEAD (Go's redirect writes its HTML body for both).
    pub(crate) get: bool,
    /// Kratos `x.IsJSONRequest` (§1.5).
    pub(crate) json_request: bool,
    /// Kratos `x.AcceptsJSON` (§1.5).
    pub(crate) accepts_json: bool,
    request_id: Option<Box<str>>,
    /// The request's anti-CSRF cookie, when it holds a token this server could have issued.
    pub(crate) csrf_cookie: Option<Box<str>>,
    /// nosurf's fresh token for a guarded path without a valid cookie; the layer sets its cookie.
    fresh_csrf: Option<Box<str>>,
    /// `scheme://host` of the request (`X-Forwarded-Proto`/`-Host`, `Host`) when it differs from
    /// the server's own origin; `request_url` is built from it (Kratos `x.RequestURL`).
    pub(crate) origin: Option<Box<str>>,
}

impl ReqCtx {
    /// The token to bind a new browser flow to, and the `Set-Cookie` the handler must send for
    /// it (`None` when the request's cookie is reused or the layer sets it).
    pub(crate) fn csrf_token(&self, app: &App) -> (String, Option<HeaderValue>) {
        if let Some(c) = self.csrf_cookie.as_deref().or(self.fresh_csrf.as_deref()) {
            return (c.to_owned(), None);
        }
        let token = csrf::new_token();
        let cookie = csrf::cookie_header(&app.cfg.csrf_cookie_name, &token);
        (token, cookie)
    }

    /// The URL of this request as Kratos records it in `request_url`, when it differs from the
    /// server's own `<base_url><path>`; `path_and_query` is what the server saw.
    pub(crate) fn request_url(&self, path_and_query: &str) -> Option<String> {
        self.origin
            .as_deref()
            .map(|o| format!("{o}{path_and_query}"))
    }
}

/// Kratos `x.RequestURL`: `X-Forwarded-Host` over `Host`, `X-Forwarded-Proto` over the scheme.
fn request_origin(cfg: &Resolved, h: &HeaderMap) -> Option<Box<str>> {
    let first = |name: &str| {
        http::header_str(h, name)
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let host = first("x-forwarded-host").or_else(|| http::header_str(h, "host"))?;
    let scheme = first("x-forwarded-proto").unwrap_or("http");
    // Only what can be part of a URL's authority; anything else keeps the configured origin.
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~:[]%".contains(c))
        || !scheme.chars().all(|c| c.is_ascii_alphabetic())
    {
        return None;
    }
    let own = cfg
        .origin
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"));
    if own == Some(host) {
        return None;
    }
    Some(format!("{scheme}://{host}").into())
}

/// Paths nosurf does not guard (Kratos's `IgnorePath`s for recovery, `handler.go:65-66`) and
/// the admin routes, which Kratos serves on its admin port outside nosurf.
fn csrf_exempt(cfg: &Resolved, path: &str) -> bool {
    let rest = path.strip_prefix(cfg.base_path.as_str()).unwrap_or(path);
    matches!(
        rest,
        "/self-service/recovery/api" | "/self-service/recovery"
    ) || rest.starts_with("/admin/")
}

/// The Kratos middleware stack around every route (see the module docs).
async fn kratos_layer(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let cfg = &app.cfg;
    let method = req.method().clone();
    let headers = req.headers();
    let exempt = csrf_exempt(cfg, req.uri().path());
    let csrf_cookie = http::cookie(headers, &cfg.csrf_cookie_name)
        .filter(|v| csrf::is_token(v))
        .map(Into::into);
    let fresh_csrf = (!exempt && csrf_cookie.is_none()).then(|| csrf::new_token().into());
    let ctx = Arc::new(ReqCtx {
        get: method == HttpMethod::GET || method == HttpMethod::HEAD,
        json_request: http::is_json_request(headers),
        accepts_json: http::accepts_json(headers),
        request_id: http::header_str(headers, "x-request-id").map(Into::into),
        csrf_cookie,
        fresh_csrf,
        origin: request_origin(cfg, headers),
    });
    let safe = matches!(
        method,
        HttpMethod::GET | HttpMethod::HEAD | HttpMethod::OPTIONS | HttpMethod::TRACE
    );
    let mut resp = if !exempt && !safe && !nosurf_header_ok(&ctx, headers) {
        // nosurf refuses unsafe methods on the paths it guards before any route is matched.
        let miss = if headers.contains_key("x-csrf-token") {
            csrf::Miss::Mismatch
        } else {
            csrf::Miss::NoToken
        };
        csrf::violation(headers, &cfg.csrf_cookie_name, miss).render(ctx.request_id.as_deref())
    } else {
        req.extensions_mut().insert(Arc::clone(&ctx));
        let resp = next.run(req).await;
        finish_error(cfg, &ctx, resp)
    };
    let h = resp.headers_mut();
    // nosurf wraps every public route and adds this to every answer (§1.4).
    h.insert(header::VARY, VARY_COOKIE);
    if method == HttpMethod::GET {
        h.insert(header::CACHE_CONTROL, NO_CACHE);
    }
    if let Some(token) = ctx.fresh_csrf.as_deref() {
        let prefix = format!("{}=", cfg.csrf_cookie_name);
        let already = h
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.as_bytes().starts_with(prefix.as_bytes()));
        if !already {
            if let Some(c) = csrf::cookie_header(&cfg.csrf_cookie_name, token) {
                h.append(header::SET_COOKIE, c);
            }
        }
    }
    resp
}

/// nosurf accepts an unsafe method whose `X-CSRF-Token` header is the cookie's token, masked
/// (the unmasked cookie value there is a mismatch, as the real Kratos answers).
fn nosurf_header_ok(ctx: &ReqCtx, headers: &HeaderMap) -> bool {
    match (
        ctx.csrf_cookie.as_deref(),
        http::header_str(headers, "x-csrf-token"),
    ) {
        (Some(cookie), Some(sent)) => sent.trim().len() > 64 && csrf::matches(sent.trim(), cookie),
        _ => false,
    }
}

/// Renders a [`KratosError`] a handler returned: the error manager's 303 to the error UI for a
/// request that is neither JSON nor accepts JSON (§1.5), else the JSON envelope.
fn finish_error(cfg: &Resolved, ctx: &ReqCtx, mut resp: Response) -> Response {
    let Some(mut err) = resp.extensions_mut().remove::<KratosError>() else {
        return resp;
    };
    let cookie = err.take_cookie();
    let out = if err.is_forwarded() && !ctx.json_request && !ctx.accepts_json {
        reply::redirect(StatusCode::SEE_OTHER, &cfg.error_ui_url(), ctx.get)
    } else {
        err.render(ctx.request_id.as_deref())
    };
    let mut out = reply::with_cookie(out, cookie);
    // Cookies a handler set besides the error (none today) survive the re-rendering.
    for c in resp.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Routing

/// Go's `ServeMux` answer to a method the route does not serve: plain text with `Allow`.
fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = reply::plain_text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// A GET route (Go's router answers HEAD on it too) with Go's 405 for every other method.
fn get_only<H, T>(handler: H) -> MethodRouter<Arc<App>>
where
    H: axum::handler::Handler<T, Arc<App>>,
    T: 'static,
{
    get(handler).fallback(|| async { method_not_allowed("GET, HEAD") })
}

/// Go's `http.NotFound`, which Kratos's router answers for every unknown path.
async fn not_found() -> Response {
    reply::plain_text(StatusCode::NOT_FOUND, "404 page not found")
}

/// The router over `app`.
pub(crate) fn router(app: Arc<App>) -> Router {
    let b = app.cfg.base_path.clone();
    let routes = Router::new()
        .route(
            &format!("{b}/self-service/recovery/api"),
            get_only(create::api),
        )
        .route(
            &format!("{b}/self-service/recovery/browser"),
            get_only(create::browser),
        )
        .route(
            &format!("{b}/self-service/recovery/flows"),
            get_only(get_flow::get_flow),
        )
        .route(
            &format!("{b}/self-service/recovery"),
            get(update::update)
                .post(update::update)
                .fallback(|| async { method_not_allowed("GET, HEAD, POST") }),
        )
        .route(
            &format!("{b}/admin/courier/messages"),
            get_only(courier_admin::list),
        )
        .route(
            &format!("{b}/admin/courier/messages/{{id}}"),
            get_only(courier_admin::one),
        )
        .fallback(not_found)
        .with_state(Arc::clone(&app));
    // Around the whole router, not each route: nosurf answers before any route is matched, and a
    // route's method router would add its own `Allow` to that answer.
    let service = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn(close_if_body_unread))
        .layer(axum::middleware::from_fn_with_state(app, kratos_layer))
        .service(routes);
    Router::new().fallback_service(service)
}

/// Marks the answer `Connection: close` when the handler answered without reading the whole
/// request body (a bad flow id, an unknown route, a wrong method, a body over `--max-body`).
///
/// hyper cannot reuse such a connection (the rest of the body would be read as the next
/// request), so it drops it after the answer; without the header a keep-alive client (a load
/// tool, `http.client`) sends its next request into the closed socket and fails it. Go's
/// `net/http`, which Kratos uses, says `Connection: close` in the same case.
async fn close_if_body_unread(req: Request, next: Next) -> Response {
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
// Small shared helpers

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn new_id() -> u128 {
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

pub(crate) fn parse_id(s: Option<&str>) -> Option<u128> {
    uuid::Uuid::try_parse(s?.trim()).ok().map(|u| u.as_u128())
}

/// Minutes (×100) a flow has been expired for, as Kratos prints them (`%.2f`).
pub(crate) fn minutes_x100(ns: i64) -> i64 {
    ns.max(0) / 600_000_000
}
