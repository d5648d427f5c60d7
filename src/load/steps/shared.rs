//! What every transaction of a run shares ([`Shared`]: the compiled schemas, the target's URLs,
//! the counters, the open model's dispatcher), how many bodies are validated ([`ValidateMode`]),
//! and what a user remembers between the steps of one iteration ([`UserState`]).

use super::stats::LiveStats;
use crate::codes::{CodeSource, Endpoint};
use crate::load::open::{OpenModel, Ticket};
use crate::schema::Schemas;
use crate::secret::Redactor;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderValue;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the read-code step reads codes when `--mailpit-url` is given (see `read_code.rs`).
#[derive(Debug, Clone)]
pub struct MailpitCodes {
    /// The Mailpit source (its URLs; its own client only checked Mailpit before the run).
    pub source: CodeSource,
    /// Mailpit's clock when the run started: older messages are another run's.
    pub not_before: Option<DateTime<Utc>>,
    /// Mailpit's clock minus ours, when they differ by more than Mailpit's `Date` can tell
    /// (whole seconds); zero otherwise.
    pub clock_offset: chrono::TimeDelta,
    /// How long one step waits for its mail.
    pub wait: Duration,
}

/// How many responses get their body validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidateMode {
    /// Every response (the default).
    All,
    /// One response in N, per user.
    Sample(u64),
    /// None: statuses are still checked, bodies are not.
    None,
}

impl std::fmt::Display for ValidateMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidateMode::All => f.write_str("all"),
            ValidateMode::Sample(n) => write!(f, "sample:{n}"),
            ValidateMode::None => f.write_str("none"),
        }
    }
}

impl std::str::FromStr for ValidateMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "all" => Ok(ValidateMode::All),
            "none" => Ok(ValidateMode::None),
            other => match other.strip_prefix("sample:").map(str::parse::<u64>) {
                Some(Ok(1)) => Ok(ValidateMode::All),
                Some(Ok(n)) if n > 1 => Ok(ValidateMode::Sample(n)),
                _ => Err(format!(
                    "`{s}` is not a validation mode; use all, none or sample:N (N >= 1: validate one response in N)"
                )),
            },
        }
    }
}

/// What every transaction shares (one `Arc`, built once).
pub struct Shared {
    /// The compiled schemas.
    pub schemas: Arc<Schemas>,
    /// How many bodies to validate.
    pub validate: ValidateMode,
    /// The target's base URL, no trailing slash.
    pub base: String,
    /// Where the courier listing lives: the admin API (its credentials, if any, sent as basic
    /// authentication).
    pub courier: Endpoint,
    /// `X-Session-Token` for steps with `credentials = "session-token"`.
    pub session_token: Option<HeaderValue>,
    /// The run's secrets (the session token, the code sources' credentials): every body excerpt
    /// a failure reason keeps goes through it.
    pub redactor: Redactor,
    /// The email template (`{user}`).
    pub email_template: String,
    /// The run's counters.
    pub stats: Arc<LiveStats>,
    /// Added to each user's number in `{user}`: the users of the shards before this one
    /// ([`crate::load::shard::ShardSpec::offset`]), so numbers stay unique over a sharded run.
    pub user_offset: usize,
    /// `--mailpit-url`: the read-code step reads codes from Mailpit instead of the courier.
    pub mailpit: Option<MailpitCodes>,
    /// The open model's dispatcher (`--rate`, `--stages`, `load capacity`); `None`: closed model.
    pub open: Option<Arc<OpenModel>>,
    /// Transactions one iteration runs (the steps' weights added up).
    pub iteration_len: usize,
    // Parsed once: reqwest would parse the string again on every request.
    pub(super) create_url: reqwest::Url,
    pub(super) json: HeaderValue,
    pub(super) no_email: Arc<str>,
}

impl Shared {
    /// Assembles the shared state; fails when the target's URLs cannot be built.
    pub fn new(
        schemas: Arc<Schemas>,
        validate: ValidateMode,
        base: String,
        courier: Endpoint,
        session_token: Option<HeaderValue>,
        email_template: String,
        stats: Arc<LiveStats>,
    ) -> Result<Self, String> {
        let create = format!("{base}/self-service/recovery/api");
        let create_url = reqwest::Url::parse(&create)
            .map_err(|e| format!("`{create}` is not a usable URL ({e})"))?;
        Ok(Shared {
            schemas,
            validate,
            base,
            courier,
            session_token,
            redactor: Redactor::default(),
            email_template,
            stats,
            create_url,
            json: HeaderValue::from_static("application/json"),
            no_email: Arc::from(""),
            user_offset: 0,
            mailpit: None,
            open: None,
            iteration_len: 1,
        })
    }

    /// The same, body excerpts redacted by `redactor`.
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// The same, the read-code step reading codes from `mailpit`.
    pub fn with_mailpit(mut self, mailpit: Option<MailpitCodes>) -> Self {
        self.mailpit = mailpit;
        self
    }

    /// The same, numbering users from `offset + 1`.
    pub fn with_user_offset(mut self, offset: usize) -> Self {
        self.user_offset = offset;
        self
    }

    /// The same, iterations started by `open` (the open model).
    pub fn with_open(mut self, open: Option<Arc<OpenModel>>) -> Self {
        self.open = open;
        self
    }
}

/// What a user remembers between the steps of one iteration.
#[derive(Debug, Clone)]
pub struct UserState {
    pub(super) flow_id: Option<String>,
    // Shared: the state is cloned out of Goose's session data on every step.
    pub(super) email: Arc<str>,
    pub(super) code: Option<String>,
    pub(super) last_message_id: Option<String>,
    pub(super) responses: u64,
    /// A step of the current iteration failed: the rest of it is skipped.
    pub(super) failed: bool,
    /// Open model: the iteration this user runs (`None` between iterations and once the run is
    /// over).
    pub(super) ticket: Option<Ticket>,
    /// Open model: the iteration's intended start, until its first request takes it.
    pub(super) intended: Option<Instant>,
    /// Open model: transactions of this iteration run so far.
    pub(super) position: usize,
}

impl UserState {
    /// A fresh state for a user whose address is `email`.
    pub(super) fn new(email: Arc<str>) -> UserState {
        UserState {
            flow_id: None,
            email,
            code: None,
            last_message_id: None,
            responses: 0,
            failed: false,
            ticket: None,
            intended: None,
            position: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_modes_parse() {
        assert_eq!("all".parse(), Ok(ValidateMode::All));
        assert_eq!("none".parse(), Ok(ValidateMode::None));
        assert_eq!("sample:10".parse(), Ok(ValidateMode::Sample(10)));
        assert_eq!("sample:1".parse(), Ok(ValidateMode::All));
        assert!("sample:0".parse::<ValidateMode>().is_err());
        assert!("some".parse::<ValidateMode>().is_err());
    }
}
