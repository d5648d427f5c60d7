//! What a reference server is configured with ([`ServerConfig`], its defaults the embedded
//! ones) and why one cannot start or serve ([`ServerError`]): the bottom of the server module,
//! which every file may read.

use std::net::SocketAddr;
use std::time::Duration;

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
