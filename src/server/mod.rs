//! The reference server: an in-process, spec-faithful Kratos recovery API.
//!
//! INTERFACE (owned by the server work; other modules code against exactly these names):
//! - [`ServerConfig`] (with `Default` = the embedded defaults), [`spawn`], [`spawn_with`],
//!   [`RunningServer`] (`base_url`, `session_token`, `session_cookie`, `admin_url`, `shutdown`).
//! - [`ServeArgs`] and [`run_cli`] for `recovery-harness serve`.

use crate::exit::Outcome;
use std::net::SocketAddr;
use std::time::Duration;

/// Flags of `recovery-harness serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:4433")]
    pub listen: SocketAddr,
    /// Path prefix of every route, e.g. `/auth`.
    #[arg(long, default_value = "")]
    pub base_path: String,
    /// A session token the server accepts as signed in (repeatable); one is generated when none is given.
    #[arg(long = "session-token")]
    pub session_tokens: Vec<String>,
    /// How long a flow lives.
    #[arg(long, default_value = "1h", value_parser = crate::cli::parse_duration)]
    pub lifespan: Duration,
    /// At most this many flows are kept; the oldest are evicted first.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_flows: usize,
}

/// Configuration of a reference server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind (port 0: ephemeral).
    pub listen: SocketAddr,
    /// Path prefix of every route.
    pub base_path: String,
    /// Tokens accepted as a signed-in session; empty: one is generated.
    pub session_tokens: Vec<String>,
    /// Flow lifespan.
    pub lifespan: Duration,
    /// Store bound.
    pub max_flows: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            base_path: String::new(),
            session_tokens: Vec::new(),
            lifespan: Duration::from_secs(3600),
            max_flows: 1_000_000,
        }
    }
}

/// Why the server could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Placeholder until the server work lands.
    #[error("the reference server is not yet implemented")]
    NotImplemented,
}

/// A server running in this process.
#[derive(Debug)]
pub struct RunningServer {
    base_url: String,
    session_token: String,
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
    /// Stops the server and waits for it to finish.
    pub async fn shutdown(self) {}
}

/// Starts a server in this process.
pub async fn spawn(config: ServerConfig) -> Result<RunningServer, ServerError> {
    spawn_with(config, |r| r).await
}

/// Starts a server whose router is first passed through `wrap` (test support: fault injection).
pub async fn spawn_with(
    _config: ServerConfig,
    _wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> Result<RunningServer, ServerError> {
    Err(ServerError::NotImplemented)
}

/// `recovery-harness serve`.
pub async fn run_cli(_args: ServeArgs) -> Result<Outcome, crate::Error> {
    Err(ServerError::NotImplemented.into())
}
