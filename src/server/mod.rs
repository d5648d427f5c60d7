//! The reference server: an in-process, spec-faithful Kratos recovery API (`recovery-harness serve`).
//!
//! It answers the public recovery routes of Ory Kratos (create api/browser flow, get flow, update
//! flow with the `code` — or `link` — method) as `KRATOS-RECOVERY-BEHAVIOUR.md` §1–5 describes, and
//! lists the messages it "sends" the way Kratos's admin API does (`GET /admin/courier/messages`),
//! so a client can complete a whole recovery. Every error is herodot's `errorGeneric` envelope.
//!
//! INTERFACE (owned by the server work; other modules code against exactly these names):
//! - [`ServerConfig`] (with `Default` = the embedded defaults), [`spawn`], [`spawn_with`],
//!   [`RunningServer`] (`base_url`, `session_token`, `session_cookie_name`, `session_cookie`,
//!   `admin_url`, `shutdown`), [`router`] (the app for `oneshot` tests).
//! - [`serve`] for `recovery-harness serve` (its flags, and their conversion into a
//!   `ServerConfig`, live with the command line).
//!
//! Layout: `app` (configuration, router, the Kratos layer every answer passes through), one
//! module per route family (`create`, `get_flow`, `update`, `courier_admin`), `machine` (the
//! update state machine: code v1 and v2, link), `error` (the one [`KratosError`] type), `reply`
//! (flow bodies, redirects, Go's plain-text errors), `csrf` (nosurf's tokens and 403s), `store`
//! (compact sharded flow store), `render` (bodies written on the way out), `json` (escaping,
//! timestamps), `http` (negotiation, cookies, `return_to`, body decoding), `courier` (outbox and
//! sessions).
//!
//! [`KratosError`]: error::KratosError

mod app;
mod courier;
mod courier_admin;
mod create;
mod csrf;
mod error;
mod get_flow;
mod http;
mod json;
mod machine;
mod render;
mod reply;
mod store;
mod update;

use crate::exit::Outcome;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which recovery strategy the flows use (Kratos `selfservice.flows.recovery.use`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RecoveryMethod {
    /// A 6-digit code sent by email (Kratos's default).
    #[default]
    Code,
    /// A link sent by email; completion is browser-only.
    Link,
}

/// The recovery addresses a server knows by default (any address of two example domains).
pub fn default_identities() -> Vec<String> {
    vec!["*@example.org".to_owned(), "*@example.com".to_owned()]
}

/// Configuration of a reference server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind (port 0: ephemeral).
    pub listen: SocketAddr,
    /// Path prefix of every route (`""` or `/auth`).
    pub base_path: String,
    /// Tokens accepted as a signed-in session; empty: one is generated.
    pub session_tokens: Vec<String>,
    /// Flow lifespan.
    pub lifespan: Duration,
    /// Store bound.
    pub max_flows: usize,
    /// Name of the session cookie.
    pub session_cookie_name: String,
    /// Strategy of new flows.
    pub method: RecoveryMethod,
    /// Reproduce Kratos's "recovery disabled" answers.
    pub recovery_disabled: bool,
    /// Allowed `return_to` prefixes (the server's own `<base>/self-service` is always allowed).
    pub allowed_return_urls: Vec<String>,
    /// Base URL of the self-service UI.
    pub ui_url: String,
    /// `use_continue_with_transitions`.
    pub continue_with_transitions: bool,
    /// `choose_recovery_address` (recovery v2, code method only).
    pub choose_recovery_address: bool,
    /// Known recovery addresses (globs).
    pub identities: Vec<String>,
    /// Body limit in bytes.
    pub max_body: usize,
    /// Courier ring-buffer size.
    pub courier_capacity: usize,
    /// Code submissions allowed per flow before a new flow is forced (Kratos `max_submissions`).
    pub max_submissions: u8,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            base_path: String::new(),
            session_tokens: Vec::new(),
            lifespan: Duration::from_secs(3600),
            max_flows: 1_000_000,
            session_cookie_name: "ory_kratos_session".to_owned(),
            method: RecoveryMethod::Code,
            recovery_disabled: false,
            allowed_return_urls: Vec::new(),
            ui_url: "http://127.0.0.1:4455".to_owned(),
            continue_with_transitions: false,
            choose_recovery_address: false,
            identities: default_identities(),
            max_body: 64 * 1024,
            courier_capacity: 10_000,
            max_submissions: 5,
        }
    }
}

/// Why the server could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another process using the port? try --listen 127.0.0.1:0)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// `--base-path` is not a usable path prefix.
    #[error("--base-path `{value}` is invalid: {reason}")]
    BasePath {
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A URL flag does not parse.
    #[error("{flag} `{value}` is not a valid URL: {reason}")]
    InvalidUrl {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// The parser's message.
        reason: String,
    },
    /// Another configuration value is unusable.
    #[error("invalid server configuration: {0}")]
    InvalidConfig(String),
    /// The server failed while serving.
    #[error("the reference server stopped with an I/O error: {0}")]
    Serve(#[source] std::io::Error),
}

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
    Ok(app::router(Arc::new(app::App::new(&config, origin)?)))
}

fn with_token(mut config: ServerConfig) -> ServerConfig {
    config.session_tokens.retain(|t| !t.trim().is_empty());
    if config.session_tokens.is_empty() {
        config.session_tokens.push(app::generate_session_token());
    }
    config
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Starts a server in this process.
pub async fn spawn(config: ServerConfig) -> Result<RunningServer, ServerError> {
    spawn_with(config, |r| r).await
}

/// Starts a server whose router is first passed through `wrap` (test support: fault injection).
pub async fn spawn_with(
    config: ServerConfig,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> Result<RunningServer, ServerError> {
    // An in-process server shares its process with the clients that talk to it (tests, the
    // embedded target of `check` and `load`); they need the process's TLS provider.
    crate::tls::install_default_provider();
    let config = with_token(config);
    // Validate before binding so a bad flag does not hold the port.
    app::normalize_base_path(&config.base_path)?;
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
    let state = Arc::new(app::App::new(&config, &origin)?);
    let base_url = state.cfg.base_url.clone();
    let router = wrap(app::router(state));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
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
