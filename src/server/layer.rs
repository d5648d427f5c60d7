//! The Kratos layer every answer passes through, as one tower service in front of the routes:
//! what Kratos's middleware stack does around its handlers (`cmd/daemon/serve.go`): nosurf's
//! anti-CSRF cookie and its 403 for unsafe methods on the paths it guards, `Vary: Cookie`,
//! `Cache-Control` on GET answers (`httprouterx.NoCacheNegroni`), and the rendering of
//! [`KratosError`]s (JSON or the error manager's 303); and `Connection: close` for an answer given
//! without reading the request body, as Go's `net/http` says it. Behaviour follows
//! `docs/kratos-behaviour.md` §1–5 and what the real Kratos answers (docs/server.md).
//!
//! One service rather than a stack of middleware: the request's context is read once and handed
//! to the handler by reference, and the routes that do not read the body (all but the update)
//! answer without a boxed future.

use super::error::KratosError;
use super::http;
use super::routes::{Route, Routes};
use super::state::{App, ReqCtx, Resolved};
use super::{csrf, reply, update};
use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use futures::future::{BoxFuture, Either, Ready};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

const NO_CACHE: HeaderValue =
    HeaderValue::from_static("private, no-cache, no-store, must-revalidate");
const VARY_COOKIE: HeaderValue = HeaderValue::from_static("Cookie");
const CLOSE: HeaderValue = HeaderValue::from_static("close");

/// The reference server as a tower service: the Kratos layer around [`Routes`].
#[derive(Clone)]
pub(crate) struct Kratos(Arc<Routes>);

impl Kratos {
    pub(crate) fn new(app: Arc<App>) -> Kratos {
        Kratos(Arc::new(Routes::new(app)))
    }
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

/// nosurf accepts an unsafe method whose `X-CSRF-Token` header is the cookie's token, masked
/// (the unmasked cookie value there is a mismatch, as the real Kratos answers).
fn nosurf_header_ok(ctx: &ReqCtx, headers: &HeaderMap) -> bool {
    match (
        ctx.csrf_cookie.as_deref(),
        http::header_str(headers, &http::X_CSRF_TOKEN),
    ) {
        (Some(cookie), Some(sent)) => sent.trim().len() > 64 && csrf::matches(sent.trim(), cookie),
        _ => false,
    }
}

/// What the layer remembers of a request to finish its answer.
struct Finish {
    method: Method,
    ctx: ReqCtx,
}

impl Finish {
    /// A handler's answer (`Ok`, or its error rendered), finished by [`Finish::answer`].
    fn route(
        &self,
        cfg: &Resolved,
        answer: Result<Response, KratosError>,
        body_read: bool,
    ) -> Response {
        let resp = match answer {
            Ok(mut resp) => {
                self.content_length(&mut resp);
                resp
            }
            Err(err) => self.render_error(cfg, err),
        };
        self.answer(cfg, resp, body_read)
    }

    /// `resp` with the headers every answer carries. `body_read`: the request body was read to
    /// its end.
    fn answer(&self, cfg: &Resolved, mut resp: Response, body_read: bool) -> Response {
        let h = resp.headers_mut();
        // nosurf wraps every public route and adds this to every answer (§1.4).
        h.insert(header::VARY, VARY_COOKIE);
        if self.method == Method::GET {
            h.insert(header::CACHE_CONTROL, NO_CACHE);
        }
        if let Some(token) = self.ctx.fresh_csrf() {
            let name = cfg.csrf_cookie_name.as_bytes();
            let already = h.get_all(header::SET_COOKIE).iter().any(|v| {
                v.as_bytes()
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(b"="))
            });
            if !already {
                if let Some(c) = csrf::cookie_header(&cfg.csrf_cookie_name, token) {
                    h.append(header::SET_COOKIE, c);
                }
            }
        }
        if !body_read {
            // hyper cannot reuse the connection (the rest of the body would be read as the next
            // request), so it drops it after the answer; without the header a keep-alive client (a
            // load tool, `http.client`) sends its next request into the closed socket and fails
            // it. Go's `net/http`, which Kratos uses, says `Connection: close` in the same case.
            h.insert(header::CONNECTION, CLOSE);
        }
        self.content_length(&mut resp);
        if self.method == Method::HEAD {
            *resp.body_mut() = Body::empty();
        }
        resp
    }

    /// A HEAD answer's `Content-Length`, from the body it is about to lose. hyper writes the
    /// others' from the body itself, straight into the head it sends.
    fn content_length(&self, resp: &mut Response) {
        if self.method != Method::HEAD || resp.headers().contains_key(header::CONTENT_LENGTH) {
            return;
        }
        if let Some(n) = resp.body().size_hint().exact() {
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
    }

    /// Renders a [`KratosError`]: the error manager's 303 to the error UI for a request that is
    /// neither JSON nor accepts JSON (§1.5), else the JSON envelope.
    fn render_error(&self, cfg: &Resolved, mut err: KratosError) -> Response {
        let ctx = &self.ctx;
        let cookie = err.take_cookie();
        let out = if err.is_forwarded() && !ctx.json_request && !ctx.accepts_json {
            reply::redirect(StatusCode::SEE_OTHER, &cfg.error_ui_url(), ctx.get)
        } else {
            err.render(ctx.request_id())
        };
        reply::with_cookie(out, cookie)
    }
}

impl tower::Service<Request> for Kratos {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        Ready<Result<Response, Infallible>>,
        BoxFuture<'static, Result<Response, Infallible>>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let routes = &self.0;
        let cfg = &routes.app().cfg;
        let headers = req.headers();
        let exempt = csrf_exempt(cfg, req.uri().path());
        let finish = Finish {
            method: req.method().clone(),
            ctx: ReqCtx::new(cfg, req.method(), headers, !exempt),
        };
        // GET, HEAD and empty bodies: nothing to read.
        let empty = req.body().is_end_stream();
        let safe = matches!(
            finish.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        );
        let ready = |answer| Either::Left(futures::future::ready(Ok(answer)));
        if !exempt && !safe && !nosurf_header_ok(&finish.ctx, headers) {
            // nosurf refuses unsafe methods on the paths it guards before any route is matched.
            let miss = if headers.contains_key(&http::X_CSRF_TOKEN) {
                csrf::Miss::Mismatch
            } else {
                csrf::Miss::NoToken
            };
            let err = csrf::violation(headers, &cfg.csrf_cookie_name, miss);
            let answer = finish.answer(cfg, err.render(finish.ctx.request_id()), empty);
            return ready(answer);
        }
        let route = match routes.find(&finish.method, req.uri().path()) {
            Ok(route) => route,
            Err(none) => return ready(finish.route(cfg, Ok(none.answer()), empty)),
        };
        match route {
            Route::Head(route) => {
                let answer = routes.answer(route, &finish.ctx, &req);
                ready(finish.route(cfg, answer, empty))
            }
            Route::Update => {
                let routes = Arc::clone(routes);
                let read = Arc::new(AtomicBool::new(empty));
                let req = if empty {
                    req
                } else {
                    let read = Arc::clone(&read);
                    req.map(|inner| Body::new(TrackedBody { inner, read }))
                };
                Either::Right(Box::pin(async move {
                    let app = routes.app();
                    let answer = update::update(app, &finish.ctx, req).await;
                    Ok(finish.route(&app.cfg, answer, read.load(Ordering::Acquire)))
                }))
            }
        }
    }
}

/// A request body that records whether it was read to its end.
struct TrackedBody {
    inner: Body,
    read: Arc<AtomicBool>,
}

impl HttpBody for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.store(true, Ordering::Release);
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
