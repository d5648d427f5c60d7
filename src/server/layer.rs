//! The Kratos layer every answer passes through: what Kratos's middleware stack does around its
//! handlers (`cmd/daemon/serve.go`): nosurf's anti-CSRF cookie and its 403 for unsafe methods on
//! the paths it guards, `Vary: Cookie`, `Cache-Control` on GET answers
//! (`httprouterx.NoCacheNegroni`), and the rendering of [`KratosError`]s (JSON or the error
//! manager's 303); and `Connection: close` for an answer given without reading the request body,
//! as Go's `net/http` says it. Behaviour follows `docs/kratos-behaviour.md` §1–5 and what the
//! real Kratos answers (docs/server.md).

use super::error::KratosError;
use super::http;
use super::state::{App, ReqCtx, Resolved};
use super::{csrf, reply};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method as HttpMethod, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use std::sync::Arc;

const NO_CACHE: HeaderValue =
    HeaderValue::from_static("private, no-cache, no-store, must-revalidate");
const VARY_COOKIE: HeaderValue = HeaderValue::from_static("Cookie");

/// `routes` inside the Kratos layer. Around the whole router, not each route: nosurf answers
/// before any route is matched, and a route's method router would add its own `Allow` to that
/// answer.
pub(crate) fn around(app: Arc<App>, routes: Router) -> Router {
    let service = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn(close_if_body_unread))
        .layer(axum::middleware::from_fn_with_state(app, kratos_layer))
        .service(routes);
    Router::new().fallback_service(service)
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
    let ctx = Arc::new(ReqCtx::new(cfg, &method, headers, !exempt));
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
        csrf::violation(headers, &cfg.csrf_cookie_name, miss).render(ctx.request_id())
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
    if let Some(token) = ctx.fresh_csrf() {
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
        err.render(ctx.request_id())
    };
    let mut out = reply::with_cookie(out, cookie);
    // Cookies a handler set besides the error (none today) survive the re-rendering.
    for c in resp.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    out
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
