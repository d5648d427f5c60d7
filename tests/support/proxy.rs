//! A prefix-stripping reverse proxy on loopback, as an ingress serves Kratos under a path (the
//! Connhex platform serves it under `/auth`).
//!
//! ```ignore
//! let listener = support::proxy::ProxyListener::bind();
//! let base = listener.url("/auth");                      // http://127.0.0.1:P/auth
//! let kratos = KratosOptions::new().public_base_url(&format!("{base}/")).start()?;
//! let proxy = listener.start(kratos.public_url(), "/auth");
//! // proxy.url() == base: `check --target {base}`
//! // the same in one call:
//! let (kratos, proxy) = support::proxy::kratos_behind(KratosOptions::new(), "/auth")?;
//! ```
//!
//! It behaves like Traefik's `StripPrefix` middleware in front of a service (and like nginx with
//! `proxy_pass http://upstream/;` under `location /auth/`), no more:
//! - a request under the prefix is forwarded with the prefix removed (`/auth` alone becomes `/`);
//!   anything else gets the ingress's own plain-text `404 page not found`;
//! - the `Host` header is passed through (Traefik's `passHostHeader` default), and it sets
//!   `X-Forwarded-Host` (the original host), `X-Forwarded-Proto: http`, `X-Forwarded-Port`,
//!   `X-Forwarded-Prefix` (the stripped prefix), `X-Forwarded-For` (appended) and `X-Real-Ip`;
//! - hop-by-hop headers are dropped both ways; everything else, `Set-Cookie` included, is passed
//!   as is;
//! - `Location` headers are **not** rewritten: neither Traefik's `StripPrefix` nor nginx's default
//!   `proxy_redirect` (which only maps the upstream's own origin) adds the prefix back. Kratos
//!   builds its redirects from `serve.public.base_url`, so a deployment that sets it to the
//!   public URL with its prefix redirects correctly; one that does not is exactly what the checks
//!   must see.
//!
//! [`Proxy::start_with_basic_auth`] is the same proxy in front of a service that only an
//! authenticated client may reach (Traefik's `BasicAuth` middleware, nginx's `auth_basic`): a
//! request without the right `Authorization` gets `401` with `WWW-Authenticate` and is not
//! forwarded; the header is not passed upstream.
//!
//! The proxy runs on its own runtime thread (usable from synchronous tests) and stops on drop.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A bound, not yet serving, proxy port: its URL is known before the upstream starts (Kratos's
/// `serve.public.base_url` must name it).
#[derive(Debug)]
pub struct ProxyListener {
    listener: std::net::TcpListener,
    addr: SocketAddr,
}

impl ProxyListener {
    /// Binds a free loopback port.
    pub fn bind() -> ProxyListener {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        ProxyListener { listener, addr }
    }

    /// `http://127.0.0.1:P{prefix}`.
    pub fn url(&self, prefix: &str) -> String {
        format!("http://{}{prefix}", self.addr)
    }

    /// Serves `upstream` (`http://host:port`, no trailing slash) under `prefix` (`/auth`).
    pub fn start(self, upstream: &str, prefix: &str) -> Proxy {
        self.start_guarded(upstream, prefix, None)
    }

    /// The same, forwarding only requests with `authorization` (the whole header value).
    fn start_guarded(self, upstream: &str, prefix: &str, authorization: Option<String>) -> Proxy {
        assert!(
            prefix.starts_with('/') && !prefix.ends_with('/'),
            "a prefix looks like `/auth`"
        );
        recovery_harness::tls::install_default_provider();
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            prefix: prefix.to_owned(),
            port: self.addr.port(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a reqwest client"),
            forwarded: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            authorization,
        });
        let url = self.url(prefix);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        self.listener.set_nonblocking(true).expect("non-blocking");
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the proxy");
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(self.listener).expect("a tokio listener");
                let app = axum::Router::new()
                    .fallback(move |req: Request| forward(served.clone(), req))
                    .into_make_service_with_connect_info::<SocketAddr>();
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Proxy {
            url,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// A running proxy. Dropping it stops it.
#[derive(Debug)]
pub struct Proxy {
    url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy on a fresh port: `ProxyListener::bind().start(upstream, prefix)`.
    pub fn start(upstream: &str, prefix: &str) -> Proxy {
        ProxyListener::bind().start(upstream, prefix)
    }

    /// Starts a proxy on a fresh port that forwards only the requests that authenticate as
    /// `user` with `password` (HTTP basic authentication).
    pub fn start_with_basic_auth(
        upstream: &str,
        prefix: &str,
        user: &str,
        password: &str,
    ) -> Proxy {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        ProxyListener::bind().start_guarded(upstream, prefix, Some(format!("Basic {token}")))
    }

    /// The public base, prefix included: `http://127.0.0.1:P/auth`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many requests were forwarded upstream (a test can prove its traffic went through).
    pub fn forwarded(&self) -> usize {
        self.state.forwarded.load(Ordering::Relaxed)
    }

    /// How many requests were refused for want of the right credentials.
    pub fn refused(&self) -> usize {
        self.state.refused.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Debug)]
struct State {
    upstream: String,
    prefix: String,
    port: u16,
    client: reqwest::Client,
    forwarded: AtomicUsize,
    refused: AtomicUsize,
    /// The `Authorization` value a request must carry to be forwarded, if any.
    authorization: Option<String>,
}

/// RFC 9110 §7.6.1 hop-by-hop headers, never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

async fn forward(state: Arc<State>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let (parts, body) = req.into_parts();
    if let Some(want) = &state.authorization {
        let given = parts
            .headers
            .get("authorization")
            .map(HeaderValue::as_bytes);
        if given != Some(want.as_bytes()) {
            state.refused.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::UNAUTHORIZED,
                [
                    ("www-authenticate", "Basic realm=\"harness\""),
                    ("content-type", "text/plain; charset=utf-8"),
                ],
                "401 Unauthorized\n",
            )
                .into_response();
        }
    }
    let path = parts.uri.path();
    let rest = if path == state.prefix {
        "/"
    } else if let Some(rest) = path
        .strip_prefix(state.prefix.as_str())
        .filter(|r| r.starts_with('/'))
    {
        rest
    } else {
        return (
            StatusCode::NOT_FOUND,
            [("content-type", "text/plain; charset=utf-8")],
            "404 page not found\n",
        )
            .into_response();
    };
    let url = match parts.uri.query() {
        Some(q) => format!("{}{rest}?{q}", state.upstream),
        None => format!("{}{rest}", state.upstream),
    };
    let body = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large\n").into_response(),
    };
    let mut headers = parts.headers.clone();
    strip_hop_by_hop(&mut headers);
    if state.authorization.is_some() {
        // The proxy's own credentials end here.
        headers.remove("authorization");
    }
    let host = parts
        .headers
        .get("host")
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("127.0.0.1"));
    let forwarded_for = match parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(earlier) => format!("{earlier}, {peer}"),
        None => peer.clone(),
    };
    let set = |headers: &mut HeaderMap, name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    set(&mut headers, "x-forwarded-proto", "http");
    set(&mut headers, "x-forwarded-port", &state.port.to_string());
    set(&mut headers, "x-forwarded-prefix", &state.prefix);
    set(&mut headers, "x-forwarded-for", &forwarded_for);
    set(&mut headers, "x-real-ip", &peer);
    state.forwarded.fetch_add(1, Ordering::Relaxed);
    let upstream = state
        .client
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(r) => r,
        Err(e) => {
            // Traefik's answer when the service is unreachable.
            return (StatusCode::BAD_GATEWAY, format!("Bad Gateway: {e}\n")).into_response();
        }
    };
    let status = upstream.status();
    let mut out_headers = upstream.headers().clone();
    strip_hop_by_hop(&mut out_headers);
    out_headers.remove("content-length");
    let bytes = upstream.bytes().await.unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    *resp.headers_mut() = out_headers;
    resp
}

/// A real Kratos started by `options` with its public base URL under `prefix` on a proxy that
/// strips `prefix` in front of it, as an ingress serving Kratos under a path does; `None` when
/// Kratos is not available. Drop the proxy before the Kratos (destructure in this order).
pub fn kratos_behind(
    options: super::kratos::KratosOptions,
    prefix: &str,
) -> Option<(super::kratos::Kratos, Proxy)> {
    let listener = ProxyListener::bind();
    let base = listener.url(prefix);
    let kratos = options.public_base_url(&format!("{base}/")).start()?;
    let proxy = listener.start(kratos.public_url(), prefix);
    Some((kratos, proxy))
}
