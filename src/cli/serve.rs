//! `recovery-harness serve`: its flags, and their conversion into the [`ServerConfig`] the
//! reference server takes.

use super::common::SESSION_TOKEN_ENV;
use super::error::Error;
use crate::exit::Outcome;
use crate::server::{self, RecoveryMethod, ServerConfig, ServerError};
use std::net::SocketAddr;
use std::time::Duration;

/// Flags of `recovery-harness serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; any other address is served with a warning).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4433", value_parser = parse_listen, env = "RECOVERY_HARNESS_LISTEN")]
    pub listen: SocketAddr,
    /// Path prefix of every route, e.g. `/auth`.
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "",
        env = "RECOVERY_HARNESS_BASE_PATH"
    )]
    pub base_path: String,
    /// A session token the server accepts as signed in (repeatable); one is generated and printed at start when none is given.
    #[arg(long = "session-token", value_name = "TOKEN", env = SESSION_TOKEN_ENV, hide_env_values = true)]
    pub session_tokens: Vec<String>,
    /// How long a flow lives (an expired flow answers 410/303 for one more lifespan, then is purged).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_LIFESPAN")]
    pub lifespan: Duration,
    /// At most this many flows are kept; the oldest are evicted first.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1_000_000,
        env = "RECOVERY_HARNESS_MAX_FLOWS"
    )]
    pub max_flows: usize,
    /// Name of the session cookie (Kratos `session.cookie.name`; Connhex uses `chx_auth_session`).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "ory_kratos_session",
        env = "RECOVERY_HARNESS_SESSION_COOKIE_NAME"
    )]
    pub session_cookie_name: String,
    /// Recovery strategy of new flows.
    #[arg(long, value_enum, default_value_t = RecoveryMethod::Code, env = "RECOVERY_HARNESS_METHOD")]
    pub method: RecoveryMethod,
    /// Answer as Kratos does with recovery switched off (its default): 400 / 303 to the error UI.
    #[arg(long)]
    pub recovery_disabled: bool,
    /// An allowed `return_to` URL prefix (repeatable; `scheme://host[:port][/path]`, host may be `*.domain`).
    #[arg(long = "allowed-return-url", value_name = "URL")]
    pub allowed_return_urls: Vec<String>,
    /// Base URL of the self-service UI (recovery, settings and error pages live under it).
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:4455",
        env = "RECOVERY_HARNESS_UI_URL"
    )]
    pub ui_url: String,
    /// Kratos `feature_flags.use_continue_with_transitions`: a correct code answers 200 with `continue_with`.
    #[arg(long)]
    pub continue_with_transitions: bool,
    /// Kratos `feature_flags.choose_recovery_address` (recovery v2): flows start in
    /// `recovery_awaiting_address` and take `recovery_address`, as real Kratos does with the flag.
    #[arg(long)]
    pub choose_recovery_address: bool,
    /// Which addresses are known recovery addresses (repeatable glob, `*` = any run; case-insensitive).
    #[arg(long = "identity", value_name = "PATTERN", default_values_t = server::default_identities())]
    pub identities: Vec<String>,
    /// Largest accepted request body in bytes (larger: 413).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// How many sent messages the courier keeps (oldest dropped first).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub courier_capacity: usize,
}

impl ServeArgs {
    /// The server configuration these flags describe, or why they describe none.
    pub fn config(&self) -> Result<ServerConfig, ServerError> {
        // An empty --session-token (an unset shell variable) would silently fall back to a
        // generated token that the caller does not know.
        if self.session_tokens.iter().any(|t| t.trim().is_empty()) {
            return Err(ServerError::InvalidConfig(
                "--session-token is empty; give the token to accept, or leave the flag out to have one generated"
                    .to_owned(),
            ));
        }
        Ok(ServerConfig {
            listen: self.listen,
            base_path: self.base_path.clone(),
            session_tokens: self.session_tokens.clone(),
            lifespan: self.lifespan,
            max_flows: self.max_flows,
            session_cookie_name: self.session_cookie_name.clone(),
            method: self.method,
            recovery_disabled: self.recovery_disabled,
            allowed_return_urls: self.allowed_return_urls.clone(),
            ui_url: self.ui_url.clone(),
            continue_with_transitions: self.continue_with_transitions,
            choose_recovery_address: self.choose_recovery_address,
            identities: self.identities.clone(),
            max_body: self.max_body,
            courier_capacity: self.courier_capacity,
            ..ServerConfig::default()
        })
    }
}

/// Parses `--listen`: an IP address and a port. Host names are not resolved (`localhost` may be
/// `::1` or `127.0.0.1` depending on the machine), so the error says what to write instead.
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse().map_err(|_| {
        format!("`{s}` is not an IP:PORT address (host names are not resolved); use e.g. 127.0.0.1:4433, [::1]:4433, or port 0 for any free port")
    })
}

/// Runs `recovery-harness serve`.
pub async fn run(args: ServeArgs) -> Result<Outcome, Error> {
    Ok(server::serve(args.config()?).await?)
}
