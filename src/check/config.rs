//! The flags of `recovery-harness check` and their validation into a [`RunConfig`]: every value a
//! run depends on is checked here, once, so the runner never meets a malformed input.

use super::error::CheckError;
use crate::schema::SchemaArgs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// The default `--max-body-size`: generous for a recovery flow (a few KiB), small enough that a
/// runaway body cannot exhaust memory.
pub const DEFAULT_MAX_BODY: u64 = 4 * 1024 * 1024;

/// Flags of `recovery-harness check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Base URL of the deployment's public API, including any prefix (https://host/auth). Omitted: the embedded reference server.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_TARGET")]
    pub target: Option<String>,
    /// Session token of a signed-in identity, for the "already signed in" checks (not used
    /// without --target: the embedded server has its own). Prefer the environment variable: a
    /// flag is visible to every user of the machine in the process list.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "RECOVERY_HARNESS_SESSION_TOKEN",
        hide_env_values = true
    )]
    pub session_token: Option<String>,
    /// Session cookie of a signed-in identity as the browser sends it, name included (ory_kratos_session=..., chx_auth_session=...).
    #[arg(
        long,
        value_name = "NAME=VALUE",
        env = "RECOVERY_HARNESS_SESSION_COOKIE",
        hide_env_values = true
    )]
    pub session_cookie: Option<String>,
    /// Where conformance.json, junit.xml and summary.md are written (created if missing; a run
    /// that cannot be carried out, exit 2, leaves none there, not even an earlier run's).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "reports/check",
        env = "RECOVERY_HARNESS_REPORT_DIR"
    )]
    pub report_dir: PathBuf,
    /// Per-request timeout (connect, headers and body).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_TIMEOUT")]
    pub timeout: Duration,
    /// Overall deadline of the run: checks still waiting then fail with that reason.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_DEADLINE")]
    pub deadline: Duration,
    /// Run only the checks whose id matches (prefix at a dot boundary, or a glob with `*`); repeatable or comma-separated.
    /// Prerequisites of a selected check run too.
    #[arg(
        long,
        value_name = "PATTERN",
        value_delimiter = ',',
        env = "RECOVERY_HARNESS_ONLY"
    )]
    pub only: Vec<String>,
    /// Leave out the checks whose id matches (the same syntax as --only); repeatable or comma-separated.
    /// A check left out is not run even when another check needs it (that one runs without it).
    #[arg(
        long,
        value_name = "PATTERN",
        value_delimiter = ',',
        env = "RECOVERY_HARNESS_SKIP"
    )]
    pub skip: Vec<String>,
    /// Make warnings (failed recommended checks) fail the run (exit 1).
    #[arg(long, env = "RECOVERY_HARNESS_STRICT", value_parser = clap::builder::BoolishValueParser::new())]
    pub strict: bool,
    /// Record every exchange of the run as HAR 1.2 in FILE (secrets redacted; written whole or not at all).
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,
    /// Generated requests per property-based probe (0 skips the probes).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 64,
        env = "RECOVERY_HARNESS_FUZZ_CASES"
    )]
    pub fuzz_cases: u32,
    /// Seed of the property-based probing (printed in the report; the same seed replays the same requests).
    #[arg(long, value_name = "S", env = "RECOVERY_HARNESS_SEED")]
    pub seed: Option<u64>,
    /// Do not verify the target's TLS certificate (reported loudly).
    #[arg(long, env = "RECOVERY_HARNESS_INSECURE", value_parser = clap::builder::BoolishValueParser::new())]
    pub insecure: bool,
    /// Largest response body read; a longer body fails its checks and is not read further (e.g. 4MiB, 512KiB).
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = parse_size)]
    pub max_body_size: u64,
    /// How far the target's clock may be from this machine's for `issued_at`.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = crate::input::parse_duration)]
    pub clock_tolerance: Duration,
    /// A `return_to` the deployment allows (default: TARGET/self-service/recovery-harness, which Kratos always allows when TARGET is its public base URL).
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_RETURN_TO")]
    pub return_to: Option<String>,
    /// A `return_to` the deployment must refuse.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://recovery-harness.invalid/forbidden"
    )]
    pub forbidden_return_to: String,
    /// Address submitted to the update endpoint (an unknown address gets the same answer; nothing is delivered to example.com).
    #[arg(
        long,
        value_name = "EMAIL",
        default_value = "recovery-harness@example.com",
        env = "RECOVERY_HARNESS_EMAIL"
    )]
    pub email: String,
    /// Requests in flight at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 16,
        env = "RECOVERY_HARNESS_CONCURRENCY"
    )]
    pub concurrency: usize,
    /// The deployment's admin API serving Kratos's `GET /admin/courier/messages` (bodies are
    /// readable only under `kratos serve --dev`): where the code checks read the sent code.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_COURIER_URL")]
    pub courier_url: Option<String>,
    /// A Mailpit mail catcher that receives the deployment's mail: where the code checks read
    /// the sent code.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_MAILPIT_URL")]
    pub mailpit_url: Option<String>,
    /// An address that has an identity (and receives mail at the code source): the enumeration
    /// check compares its answer with an unknown address's; the code checks recover it.
    #[arg(long, value_name = "ADDR", env = "RECOVERY_HARNESS_KNOWN_EMAIL")]
    pub known_email: Option<String>,
    /// Opt-in expiry checks: wait this long for a new flow to expire (the deployment's flow
    /// lifespan must be at most this, e.g. Kratos `selfservice.flows.recovery.lifespan: 3s`).
    #[arg(long, value_name = "DURATION", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_EXPIRY_WAIT")]
    pub expiry_wait: Option<Duration>,
    /// Only failures and the summary line on the terminal; no progress indicator.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print every check id with its operation and title, and exit.
    #[arg(long)]
    pub list: bool,
    /// Schema source.
    #[command(flatten)]
    pub schema: SchemaArgs,
}

impl Default for CheckArgs {
    fn default() -> Self {
        CheckArgs {
            target: None,
            session_token: None,
            session_cookie: None,
            report_dir: PathBuf::from("reports/check"),
            timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(300),
            only: Vec::new(),
            skip: Vec::new(),
            strict: false,
            har: None,
            fuzz_cases: 64,
            seed: None,
            insecure: false,
            max_body_size: DEFAULT_MAX_BODY,
            clock_tolerance: Duration::from_secs(120),
            return_to: None,
            forbidden_return_to: "https://recovery-harness.invalid/forbidden".to_owned(),
            email: "recovery-harness@example.com".to_owned(),
            concurrency: 16,
            courier_url: None,
            mailpit_url: None,
            known_email: None,
            expiry_wait: None,
            quiet: false,
            list: false,
            schema: SchemaArgs::default(),
        }
    }
}

/// A session cookie as sent by a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// Cookie name (`ory_kratos_session`, `chx_auth_session`, ...).
    pub name: String,
    /// Cookie value (a secret).
    pub value: String,
}

impl SessionCookie {
    /// Parses `NAME=VALUE`.
    pub fn parse(s: &str) -> Result<Self, CheckError> {
        let bad = |reason: &str| CheckError::BadCookie {
            reason: reason.to_owned(),
        };
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| bad("there is no `=` between name and value"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("the name is empty"));
        }
        // RFC 6265 cookie-name is an HTTP token.
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(bad(
                "the name may only hold letters, digits and !#$%&'*+-.^_`|~",
            ));
        }
        if value.is_empty() {
            return Err(bad("the value is empty"));
        }
        if value
            .bytes()
            .any(|b| b.is_ascii_control() || b == b';' || b == b' ')
        {
            return Err(bad(
                "the value holds a space, `;` or a control character; give one cookie, not a Cookie header",
            ));
        }
        Ok(SessionCookie {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }

    /// `NAME=VALUE` for a `Cookie` header.
    pub fn header_value(&self) -> String {
        format!("{}={}", self.name, self.value)
    }
}

/// Credentials of a signed-in identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A session token (`X-Session-Token`, `Authorization: Bearer`).
    pub session_token: Option<String>,
    /// A session cookie.
    pub session_cookie: Option<SessionCookie>,
}

impl Credentials {
    /// Every secret value, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = &self.session_token {
            out.push(t.clone());
        }
        if let Some(c) = &self.session_cookie {
            out.push(c.value.clone());
        }
        out
    }
}

/// The address the embedded run uses as `--known-email` (the reference server knows
/// `*@example.org`).
pub const EMBEDDED_KNOWN_EMAIL: &str = "recovery-harness-known@example.org";

/// The flow lifespan of the embedded server's short-lived twin that the expiry checks use.
pub const EMBEDDED_EXPIRY_LIFESPAN: Duration = Duration::from_millis(300);

/// Trimmed, non-empty patterns of `--only`/`--skip`; an all-empty list (an unset shell variable)
/// is an error rather than a silent widening or no-op.
fn patterns(flag: &'static str, given: &[String]) -> Result<Vec<String>, CheckError> {
    let kept: Vec<String> = given
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    if !given.is_empty() && kept.is_empty() {
        return Err(bad_flag(
            flag,
            "is empty; give an id prefix such as create_native or a glob such as *.400 (see --list)",
        ));
    }
    Ok(kept)
}

/// Largest `--concurrency`: far above any useful value, far below tokio's semaphore limit.
pub const MAX_CONCURRENCY: usize = 1_000_000;

/// A validated run configuration.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Base URL without a trailing slash; `None` until the embedded server is started.
    pub target: Option<Url>,
    /// Whether the target is the embedded reference server.
    pub embedded: bool,
    /// Set by [`RunConfig::use_embedded`] when credentials given by flag or environment were
    /// replaced by the embedded server's own.
    pub ignored_credentials: bool,
    /// Signed-in credentials.
    pub credentials: Credentials,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Overall deadline.
    pub deadline: Duration,
    /// `--only` patterns.
    pub only: Vec<String>,
    /// `--skip` patterns.
    pub skip: Vec<String>,
    /// `--strict`: warnings fail the run.
    pub strict: bool,
    /// `--har`: where every exchange is recorded.
    pub har: Option<PathBuf>,
    /// Fuzz cases per probe.
    pub fuzz_cases: u32,
    /// Fuzz seed (chosen at random when not given, and reported).
    pub seed: u64,
    /// TLS verification off.
    pub insecure: bool,
    /// Body cap in bytes.
    pub max_body_size: u64,
    /// Clock tolerance.
    pub clock_tolerance: Duration,
    /// Allowed `return_to` (`None`: derived from the target).
    pub return_to: Option<Url>,
    /// Forbidden `return_to`.
    pub forbidden_return_to: Url,
    /// Submitted email address.
    pub email: String,
    /// Requests in flight.
    pub concurrency: usize,
    /// Where sent recovery codes are read (`--courier-url`, `--mailpit-url`; the embedded
    /// server's own courier).
    pub code_source: Option<crate::codes::CodeSource>,
    /// `--known-email`: an address with an identity.
    pub known_email: Option<String>,
    /// `--expiry-wait`: the longest wait for a flow to expire (`None`: expiry checks skipped).
    pub expiry_wait: Option<Duration>,
    /// Where the expiry checks create their flows (`None`: the target). The embedded run points
    /// it at a second embedded server with a short lifespan, so the other checks' flows live.
    pub expiry_target: Option<Url>,
}

impl RunConfig {
    /// Validates the flags.
    pub fn from_args(args: &CheckArgs) -> Result<Self, CheckError> {
        let target = args.target.as_deref().map(parse_target).transpose()?;
        let session_token = match args.session_token.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) if t.bytes().any(|b| b.is_ascii_control()) => {
                return Err(CheckError::BadFlag {
                    flag: "session-token",
                    reason: "the token holds a control character (a stray newline?)".to_owned(),
                })
            }
            Some(t) => Some(t.to_owned()),
        };
        let session_cookie = args
            .session_cookie
            .as_deref()
            .map(SessionCookie::parse)
            .transpose()?;
        if args.timeout.is_zero() {
            return Err(bad_flag("timeout", "must be more than 0, e.g. 10s"));
        }
        if args.deadline.is_zero() {
            return Err(bad_flag("deadline", "must be more than 0, e.g. 5m"));
        }
        if args.max_body_size < 1024 {
            return Err(bad_flag(
                "max-body-size",
                "must be at least 1KiB; a recovery flow alone is a few KiB",
            ));
        }
        if args.concurrency == 0 {
            return Err(bad_flag("concurrency", "must be at least 1"));
        }
        // The runner's semaphore panics beyond its own limit; no run has that many requests.
        if args.concurrency > MAX_CONCURRENCY {
            return Err(bad_flag(
                "concurrency",
                &format!("must be at most {MAX_CONCURRENCY}"),
            ));
        }
        let return_to = args
            .return_to
            .as_deref()
            .map(|s| parse_absolute("return-to", s))
            .transpose()?;
        let forbidden_return_to = parse_absolute("forbidden-return-to", &args.forbidden_return_to)?;
        let email = args.email.trim().to_owned();
        if !email.contains('@') || email.len() > 320 || email.chars().any(char::is_control) {
            return Err(bad_flag(
                "email",
                "must be an email address such as qa@example.com",
            ));
        }
        // `--only ''` (an unset shell variable) would otherwise run everything: a silent widening.
        let only = patterns("only", &args.only)?;
        let skip = patterns("skip", &args.skip)?;
        let code_source = match (&args.courier_url, &args.mailpit_url) {
            (Some(_), Some(_)) => {
                return Err(bad_flag(
                    "mailpit-url",
                    "give one code source: --courier-url or --mailpit-url, not both",
                ))
            }
            (Some(url), None) => Some(code_source(
                crate::codes::SourceKind::Courier,
                url,
                args.timeout,
            )?),
            (None, Some(url)) => Some(code_source(
                crate::codes::SourceKind::Mailpit,
                url,
                args.timeout,
            )?),
            (None, None) => None,
        };
        let known_email = match args.known_email.as_deref().map(str::trim) {
            None => None,
            Some(e) if e.contains('@') && e.len() <= 320 && !e.chars().any(char::is_control) => {
                Some(e.to_owned())
            }
            Some(_) => {
                return Err(bad_flag(
                    "known-email",
                    "must be the email address of an existing identity, such as qa@example.com",
                ))
            }
        };
        if args.expiry_wait.is_some_and(|w| w.is_zero()) {
            return Err(bad_flag(
                "expiry-wait",
                "must be more than 0: the flow lifespan of the deployment, e.g. 5s",
            ));
        }
        let config = RunConfig {
            embedded: target.is_none(),
            ignored_credentials: false,
            target,
            credentials: Credentials {
                session_token,
                session_cookie,
            },
            timeout: args.timeout,
            deadline: args.deadline,
            only,
            skip,
            strict: args.strict,
            har: args.har.clone(),
            fuzz_cases: args.fuzz_cases,
            seed: args.seed.unwrap_or_else(rand::random),
            insecure: args.insecure,
            max_body_size: args.max_body_size,
            clock_tolerance: args.clock_tolerance,
            return_to,
            forbidden_return_to,
            email,
            concurrency: args.concurrency,
            code_source,
            known_email,
            expiry_wait: args.expiry_wait,
            expiry_target: None,
        };
        // Fail on a pattern that selects nothing before any request is sent.
        super::catalogue::select(&config.only, &config.skip)?;
        Ok(config)
    }

    /// Points the run at an embedded reference server and takes its credentials (unless given).
    pub fn use_embedded(
        &mut self,
        server: &crate::server::RunningServer,
    ) -> Result<(), CheckError> {
        let url =
            parse_target(server.base_url()).map_err(|e| CheckError::Embedded(e.to_string()))?;
        self.target = Some(url);
        self.embedded = true;
        // The embedded server knows only its own session: a token from the environment (set
        // for a real deployment's job) or a flag would fail the signed-in checks of a faithful
        // server. Returns whether given credentials were set aside, for the caller to say so.
        let given =
            self.credentials.session_token.is_some() || self.credentials.session_cookie.is_some();
        self.credentials.session_token = Some(server.session_token().to_owned());
        self.credentials.session_cookie = embedded_cookie(server);
        self.ignored_credentials = given;
        // The embedded server is its own code source and knows every address of its identity
        // patterns; it also runs the expiry checks (on a short-lived twin, see expiry_target).
        self.code_source = Some(
            crate::codes::CodeSource::new(
                crate::codes::SourceKind::Courier,
                server.admin_url(),
                self.timeout,
            )
            .map_err(|e| CheckError::Embedded(e.to_string()))?,
        );
        self.known_email = Some(EMBEDDED_KNOWN_EMAIL.to_owned());
        Ok(())
    }

    /// Points the expiry checks at `twin`, an embedded server whose flows live
    /// [`EMBEDDED_EXPIRY_LIFESPAN`].
    pub fn use_expiry_twin(
        &mut self,
        twin: &crate::server::RunningServer,
    ) -> Result<(), CheckError> {
        let url = parse_target(twin.base_url()).map_err(|e| CheckError::Embedded(e.to_string()))?;
        self.expiry_target = Some(url);
        self.expiry_wait = Some(EMBEDDED_EXPIRY_LIFESPAN * 10);
        Ok(())
    }

    /// The base URL (only `None` before [`RunConfig::use_embedded`]).
    pub fn base(&self) -> Result<&Url, CheckError> {
        self.target.as_ref().ok_or_else(|| CheckError::BadTarget {
            value: String::new(),
            reason: "no target was set".to_owned(),
        })
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> Url {
        let mut base = self
            .target
            .clone()
            .unwrap_or_else(|| Url::parse("http://127.0.0.1/").expect("constant URL"));
        let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
        base.set_path(&joined);
        base
    }

    /// The allowed `return_to`.
    pub fn allowed_return_to(&self) -> Url {
        self.return_to
            .clone()
            .unwrap_or_else(|| self.url("/self-service/recovery-harness"))
    }
}

fn code_source(
    kind: crate::codes::SourceKind,
    url: &str,
    timeout: Duration,
) -> Result<crate::codes::CodeSource, CheckError> {
    crate::codes::CodeSource::new(kind, url, timeout).map_err(|e| CheckError::BadFlag {
        flag: match kind {
            crate::codes::SourceKind::Courier => "courier-url",
            crate::codes::SourceKind::Mailpit => "mailpit-url",
        },
        reason: e.to_string(),
    })
}

fn embedded_cookie(server: &crate::server::RunningServer) -> Option<SessionCookie> {
    SessionCookie::parse(&server.session_cookie()).ok()
}

fn bad_flag(flag: &'static str, reason: &str) -> CheckError {
    CheckError::BadFlag {
        flag,
        reason: reason.to_owned(),
    }
}

fn parse_absolute(flag: &'static str, s: &str) -> Result<Url, CheckError> {
    let url = Url::parse(s.trim()).map_err(|e| CheckError::BadFlag {
        flag,
        reason: format!("`{s}` is not an absolute URL ({e})"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CheckError::BadFlag {
            flag,
            reason: format!("`{s}` must be an http or https URL"),
        });
    }
    Ok(url)
}

/// Parses and normalises `--target` (the rules are shared with `load`: [`crate::input::parse_base_url`]).
pub fn parse_target(s: &str) -> Result<Url, CheckError> {
    crate::input::parse_base_url(s).map_err(|e| CheckError::BadTarget {
        value: e.shown,
        reason: e.reason,
    })
}

/// Parses a size such as `4MiB`, `512KiB`, `1000000`, `2MB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size; use e.g. 4MiB, 512KiB, 100000"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1024,
        "m" | "mb" => 1_000_000,
        "mib" => 1024 * 1024,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1024 * 1024 * 1024,
        other => {
            return Err(format!(
                "`{other}` is not a size unit; use B, KiB, MiB, GiB, KB, MB, GB"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Creates `dir` and proves a file can be written in it.
pub fn ensure_writable(dir: &Path) -> Result<(), CheckError> {
    let err = |source| CheckError::ReportDir {
        path: dir.to_path_buf(),
        source,
    };
    // `create_dir_all` on a file says "File exists", which reads as if all were well.
    if dir.exists() && !dir.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "it is a file, not a directory",
        )));
    }
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(".recovery-harness-write-test");
    std::fs::write(&probe, b"").map_err(err)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_url_is_refused_with_its_base() {
        for pasted in [
            "https://host/auth/self-service/recovery/api",
            "https://host/auth/self-service/recovery/",
            "https://host/auth/self-service",
        ] {
            let err = parse_target(pasted).map(|u| u.to_string());
            let Err(e) = err else {
                panic!("{pasted} accepted: {err:?}")
            };
            assert!(e.to_string().contains(": https://host/auth;"), "{e}");
        }
        assert!(parse_target("https://host/self-service-portal").is_ok());
    }

    #[test]
    fn userinfo_is_redacted_and_nothing_else_changes() {
        assert_eq!(
            crate::input::without_userinfo("https://u:p@h/a?x=@y"),
            "https://[REDACTED]@h/a?x=@y"
        );
        assert_eq!(
            crate::input::without_userinfo("https://u:p@w@h"),
            "https://[REDACTED]@h"
        );
        assert_eq!(
            crate::input::without_userinfo("https://h/a@b"),
            "https://h/a@b"
        );
        assert_eq!(crate::input::without_userinfo("foo"), "foo");
    }

    #[test]
    fn targets_are_normalised_and_bad_ones_explained() {
        assert_eq!(
            parse_target("https://host/auth/")
                .map(|u| u.to_string())
                .ok(),
            Some("https://host/auth".to_owned())
        );
        assert_eq!(
            parse_target("http://127.0.0.1:4433")
                .map(|u| u.to_string())
                .ok(),
            Some("http://127.0.0.1:4433/".to_owned())
        );
        for bad in [
            "host:4433",
            "ftp://host",
            "https://host/?a=b",
            "not a url",
            "https://u:p@host",
        ] {
            assert!(
                matches!(parse_target(bad), Err(CheckError::BadTarget { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn cookies_parse_as_name_value() {
        let c = SessionCookie::parse("chx_auth_session=abc=def").ok();
        assert_eq!(
            c,
            Some(SessionCookie {
                name: "chx_auth_session".to_owned(),
                value: "abc=def".to_owned()
            })
        );
        for bad in ["novalue", "=v", "a=", "a b=c", "a=b; c=d"] {
            assert!(SessionCookie::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4MiB"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("4XB").is_err());
    }

    #[test]
    fn default_matches_the_flag_defaults() {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: CheckArgs,
        }
        let mut parsed =
            <Wrapper as clap::Parser>::try_parse_from(["check"]).expect("no flags parse");
        // The environment may hold a token (RECOVERY_HARNESS_SESSION_TOKEN); that is not a default.
        parsed.args.session_token = None;
        assert_eq!(
            format!("{:?}", parsed.args),
            format!("{:?}", CheckArgs::default())
        );
    }

    #[test]
    fn urls_join_under_the_prefix() {
        let mut cfg = RunConfig::from_args(&CheckArgs::default()).expect("defaults are valid");
        cfg.target = parse_target("https://host/auth").ok();
        assert_eq!(
            cfg.url("/self-service/recovery/api").as_str(),
            "https://host/auth/self-service/recovery/api"
        );
        cfg.target = parse_target("https://host").ok();
        assert_eq!(
            cfg.url("/self-service/recovery").as_str(),
            "https://host/self-service/recovery"
        );
    }
}
