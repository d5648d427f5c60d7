//! The reference server: an in-process, spec-faithful Kratos recovery API (`recovery-harness serve`).
//!
//! It answers the public recovery routes of Ory Kratos (create api/browser flow, get flow, update
//! flow with the `code` — or `link` — method) as `docs/kratos-behaviour.md` §1–5 describes, and
//! lists the messages it "sends" the way Kratos's admin API does (`GET /admin/courier/messages`),
//! so a client can complete a whole recovery. Every error is herodot's `errorGeneric` envelope.
//! A "§" in this module's files is a section of `docs/kratos-behaviour.md`.
//!
//! INTERFACE (owned by the server work; other modules code against exactly these names):
//! - [`ServerConfig`] (with `Default` = the embedded defaults), [`spawn`], [`spawn_with`],
//!   [`RunningServer`] (`base_url`, `session_token`, `session_cookie_name`, `session_cookie`,
//!   `admin_url`, `shutdown`), [`router`] (the app for `oneshot` tests).
//! - [`serve`] for `recovery-harness serve` (its flags, and their conversion into a
//!   `ServerConfig`, live with the command line).
//!
//! Layout, in layers: a file imports only files of the rows below its own, or named after it in
//! its row (no file imports one that imports it back).
//!
//! | layer | files |
//! |-------|-------|
//! | the face | this file: [`spawn`], [`serve`], [`router`], [`RunningServer`] |
//! | the service | `layer` (the Kratos layer every answer passes through: nosurf, `Vary`, `Cache-Control`, error rendering, `Connection: close`, as one tower service) |
//! | routing | `routes` (the six paths matched exactly, Go's 404 and 405) |
//! | route families | `create`, `get_flow`, `courier_admin`, `update`, and `machine` (the update state machine: code v1 and v2, link) |
//! | bodies | `render` (the flow as Kratos writes it, and its message texts) |
//! | shared state | `state` (`App`: the resolved configuration, store, courier and sessions; the per-request `ReqCtx`; ids and clocks) |
//! | answers | `csrf` (nosurf's tokens and 403s), `error` (the one [`KratosError`] type and its envelope), `courier` (outbox and sessions), `reply` (flow answers, redirects, Go's plain-text errors) |
//! | ground | `config` ([`ServerConfig`], [`ServerError`]), `store` (compact sharded flow store), `json` (escaping, timestamps, UUID text), `http` (negotiation, cookies, `return_to`, body decoding) |
//!
//! [`KratosError`]: error::KratosError

mod config;
mod courier;
mod courier_admin;
mod create;
mod csrf;
mod error;
mod get_flow;
mod http;
mod json;
mod layer;
mod machine;
mod render;
mod reply;
mod routes;
mod state;
mod store;
mod update;

pub use config::{default_identities, RecoveryMethod, ServerConfig, ServerError};

use crate::exit::Outcome;
use axum::ServiceExt as _;
use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in this process. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningServer {
    base_url: String,
    session_token: String,
    session_cookie_name: String,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), std::io::Error>>>,
}

impl RunningServer {
    /// Base URL including the base path, without a trailing slash (`http://127.0.0.1:41234/auth`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// A session token the server accepts.
    pub fn session_token(&self) -> &str {
        &self.session_token
    }
    /// Name of the session cookie the server reads.
    pub fn session_cookie_name(&self) -> &str {
        &self.session_cookie_name
    }
    /// The session cookie as a browser sends it: `name=value`.
    pub fn session_cookie(&self) -> String {
        format!("{}={}", self.session_cookie_name, self.session_token)
    }
    /// The admin API base: `{admin_url}/admin/courier/messages` lists the sent messages (as on Kratos's
    /// admin port). The reference server serves admin and public routes on one port, so this equals
    /// [`RunningServer::base_url`].
    pub fn admin_url(&self) -> &str {
        &self.base_url
    }
    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// Stops the server and waits (at most 5 s) for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The application router for `config`, as served at `origin` (`http://host:port`, used in
/// `ui.action` and `request_url`). For in-process tests with `tower::ServiceExt::oneshot`.
pub fn router(config: &ServerConfig, origin: &str) -> Result<axum::Router, ServerError> {
    let config = with_token(config.clone());
    let app = Arc::new(state::App::new(&config, origin)?);
    Ok(axum::Router::new().fallback_service(layer::Kratos::new(app)))
}

fn with_token(mut config: ServerConfig) -> ServerConfig {
    config.session_tokens.retain(|t| !t.trim().is_empty());
    if config.session_tokens.is_empty() {
        config.session_tokens.push(state::generate_session_token());
    }
    config
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Rewrites the application router (test support: fault injection).
type Wrap = Box<dyn FnOnce(axum::Router) -> axum::Router + Send>;

/// Starts a server in this process.
pub async fn spawn(config: ServerConfig) -> Result<RunningServer, ServerError> {
    spawn_inner(config, None).await
}

/// Starts a server whose router is first passed through `wrap` (test support: fault injection).
pub async fn spawn_with(
    config: ServerConfig,
    wrap: impl FnOnce(axum::Router) -> axum::Router + Send + 'static,
) -> Result<RunningServer, ServerError> {
    spawn_inner(config, Some(Box::new(wrap))).await
}

async fn spawn_inner(
    config: ServerConfig,
    wrap: Option<Wrap>,
) -> Result<RunningServer, ServerError> {
    // An in-process server shares its process with the clients that talk to it (tests, the
    // embedded target of `check` and `load`); they need the process's TLS provider.
    crate::tls::install_default_provider();
    let config = with_token(config);
    // Validate before binding so a bad flag does not hold the port.
    state::normalize_base_path(&config.base_path)?;
    if !is_loopback(&config.listen) {
        tracing::warn!(
            addr = %config.listen,
            "the reference server listens on a non-loopback address: anyone who can reach it can use it"
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let host = if addr.ip().is_unspecified() {
        // 0.0.0.0 / [::] are not addresses a client can use; point links at loopback.
        SocketAddr::new(
            if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            },
            addr.port(),
        )
    } else {
        addr
    };
    let origin = format!("http://{host}");
    let app = Arc::new(state::App::new(&config, &origin)?);
    let base_url = app.cfg.base_url.clone();
    let service = layer::Kratos::new(app);
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async move {
        let _ = stopped.await;
    };
    let task = match wrap {
        // The service itself, not inside a router: a router adds its own routing, extensions and
        // boxed future to every request.
        None => tokio::spawn(
            axum::serve(listener, service.into_make_service())
                .with_graceful_shutdown(stopped)
                .into_future(),
        ),
        Some(wrap) => tokio::spawn(
            axum::serve(
                listener,
                wrap(axum::Router::new().fallback_service(service)),
            )
            .with_graceful_shutdown(stopped)
            .into_future(),
        ),
    };
    Ok(RunningServer {
        base_url,
        session_token: config.session_tokens[0].clone(),
        session_cookie_name: config.session_cookie_name.trim().to_owned(),
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Serves `config` until Ctrl-C / SIGTERM, then shuts down gracefully (`recovery-harness serve`):
/// prints the base URL and the session token first.
pub async fn serve(config: ServerConfig) -> Result<Outcome, ServerError> {
    let mut server = spawn(config).await?;
    {
        use std::io::Write;
        // A closed stdout (`serve | head -1` in a script) must not take the server down.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "recovery-harness serve: listening on {}",
            server.base_url()
        )
        .and_then(|()| writeln!(out, "session token: {}", server.session_token()))
        .and_then(|()| out.flush());
    }
    let task = server.task.take();
    let Some(mut task) = task else {
        return Ok(Outcome::Passed);
    };
    tokio::select! {
        _ = shutdown_signal() => {
            crate::say!("shutting down (waiting up to 5 s for in-flight requests)");
            if let Some(stop) = server.stop.take() {
                let _ = stop.send(());
            }
            match tokio::time::timeout(Duration::from_secs(5), &mut task).await {
                Ok(Ok(Err(e))) => return Err(ServerError::Serve(e)),
                Ok(_) => {}
                Err(_) => task.abort(),
            }
        }
        res = &mut task => {
            if let Ok(Err(e)) = res {
                return Err(ServerError::Serve(e));
            }
        }
    }
    Ok(Outcome::Passed)
}
