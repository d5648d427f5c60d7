//! `recovery-harness check`: its flags ([`CheckArgs`]), their validation into the [`RunConfig`]
//! the conformance runner takes (every value a run depends on is checked here, once), and the
//! command itself: `--list`, or a run whose reports land in `--report-dir`.

use super::common::{parse_size, CredentialArgs, SchemaArgs};
use super::error::Error;
use crate::check::config::{parse_target, Credentials, SessionCookie, MAX_CONCURRENCY};
use crate::check::{self, CheckError, Reporting, RunConfig};
use crate::codes::{CodeSource, SourceKind};
use crate::exit::Outcome;
use crate::secret::Secret;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The default `--max-body-size`: generous for a recovery flow (a few KiB), small enough that a
/// runaway body cannot exhaust memory.
pub const DEFAULT_MAX_BODY: u64 = 4 * 1024 * 1024;

/// The largest `--race-width`: one connection each, far above what a race needs.
pub const MAX_RACE_WIDTH: usize = 256;
/// The largest `--race-trials`: each trial sends a mail.
pub const MAX_RACE_TRIALS: usize = 1000;
/// The largest `--max-submissions` a run will try to exceed.
pub const MAX_SUBMISSIONS: usize = 1000;

/// Flags of `recovery-harness check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Base URL of the deployment's public API, including any prefix (https://host/auth). Omitted: the embedded reference server.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_TARGET")]
    pub target: Option<String>,
    /// --session-token, --session-cookie.
    #[command(flatten)]
    pub credentials: CredentialArgs,
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
    /// readable only under `kratos serve --dev`): where the code checks read the sent code. A
    /// `user:password@` in it is sent as basic authentication and never shown.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_COURIER_URL")]
    pub courier_url: Option<String>,
    /// A Mailpit mail catcher that receives the deployment's mail: where the code checks read
    /// the sent code. A `user:password@` in it (Mailpit's --ui-auth-file) is sent as basic
    /// authentication and never shown.
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
    /// Submissions released together in one trial of the race checks, one connection each, all
    /// held back by their last byte until every one is written (race.code.single_use,
    /// race.brute_force.limit).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 16,
        env = "RECOVERY_HARNESS_RACE_WIDTH"
    )]
    pub race_width: usize,
    /// Trials of race.code.single_use, each with a fresh flow and code (one mail each). A race
    /// that shows in 1 trial of 4 goes unseen in K trials with probability 0.75^K: 1.002 % at 16.
    #[arg(
        long,
        value_name = "K",
        default_value_t = 16,
        env = "RECOVERY_HARNESS_RACE_TRIALS"
    )]
    pub race_trials: usize,
    /// The deployment's limit of code submissions per flow (Kratos's
    /// selfservice.methods.code.config.max_submissions).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 5,
        env = "RECOVERY_HARNESS_MAX_SUBMISSIONS"
    )]
    pub max_submissions: usize,
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
            credentials: CredentialArgs::default(),
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
            race_width: 16,
            race_trials: 16,
            max_submissions: 5,
            quiet: false,
            list: false,
            schema: SchemaArgs::default(),
        }
    }
}

impl CheckArgs {
    /// The run configuration these flags describe, every value checked once (so the runner never
    /// meets a malformed input), or the first flag that describes none.
    pub fn config(&self) -> Result<RunConfig, CheckError> {
        let target = self.target.as_deref().map(parse_target).transpose()?;
        let session_token = match self
            .credentials
            .session_token
            .as_ref()
            .map(|t| t.expose().trim())
        {
            None | Some("") => None,
            Some(t) if t.bytes().any(|b| b.is_ascii_control()) => {
                return Err(CheckError::BadFlag {
                    flag: "session-token",
                    reason: "the token holds a control character (a stray newline?)".to_owned(),
                })
            }
            Some(t) => Some(Secret::from(t)),
        };
        let session_cookie = self
            .credentials
            .session_cookie
            .as_ref()
            .map(|c| SessionCookie::parse(c.expose()))
            .transpose()?;
        if self.timeout.is_zero() {
            return Err(bad_flag("timeout", "must be more than 0, e.g. 10s"));
        }
        if self.deadline.is_zero() {
            return Err(bad_flag("deadline", "must be more than 0, e.g. 5m"));
        }
        if self.max_body_size < 1024 {
            return Err(bad_flag(
                "max-body-size",
                "must be at least 1KiB; a recovery flow alone is a few KiB",
            ));
        }
        if self.concurrency == 0 {
            return Err(bad_flag("concurrency", "must be at least 1"));
        }
        // The runner's semaphore panics beyond its own limit; no run has that many requests.
        if self.concurrency > MAX_CONCURRENCY {
            return Err(bad_flag(
                "concurrency",
                &format!("must be at most {MAX_CONCURRENCY}"),
            ));
        }
        let return_to = self
            .return_to
            .as_deref()
            .map(|s| parse_absolute("return-to", s))
            .transpose()?;
        let forbidden_return_to = parse_absolute("forbidden-return-to", &self.forbidden_return_to)?;
        let email = self.email.trim().to_owned();
        if !email.contains('@') || email.len() > 320 || email.chars().any(char::is_control) {
            return Err(bad_flag(
                "email",
                "must be an email address such as qa@example.com",
            ));
        }
        // `--only ''` (an unset shell variable) would otherwise run everything: a silent widening.
        let only = patterns("only", &self.only)?;
        let skip = patterns("skip", &self.skip)?;
        let code_source = match (&self.courier_url, &self.mailpit_url) {
            (Some(_), Some(_)) => {
                return Err(bad_flag(
                    "mailpit-url",
                    "give one code source: --courier-url or --mailpit-url, not both",
                ))
            }
            (Some(url), None) => Some(code_source(SourceKind::Courier, url, self.timeout)?),
            (None, Some(url)) => Some(code_source(SourceKind::Mailpit, url, self.timeout)?),
            (None, None) => None,
        };
        let known_email = match self.known_email.as_deref().map(str::trim) {
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
        if self.expiry_wait.is_some_and(|w| w.is_zero()) {
            return Err(bad_flag(
                "expiry-wait",
                "must be more than 0: the flow lifespan of the deployment, e.g. 5s",
            ));
        }
        if !(2..=MAX_RACE_WIDTH).contains(&self.race_width) {
            return Err(bad_flag(
                "race-width",
                &format!(
                    "must be from 2 (a race needs two) to {MAX_RACE_WIDTH} (one connection each)"
                ),
            ));
        }
        if !(1..=MAX_RACE_TRIALS).contains(&self.race_trials) {
            return Err(bad_flag(
                "race-trials",
                &format!("must be from 1 to {MAX_RACE_TRIALS} (each costs a flow and a mail)"),
            ));
        }
        if !(1..=MAX_SUBMISSIONS).contains(&self.max_submissions) {
            return Err(bad_flag(
                "max-submissions",
                &format!("must be from 1 to {MAX_SUBMISSIONS}: the deployment's selfservice.methods.code.config.max_submissions (Kratos: 5)"),
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
            timeout: self.timeout,
            deadline: self.deadline,
            only,
            skip,
            strict: self.strict,
            har: self.har.clone(),
            fuzz_cases: self.fuzz_cases,
            seed: self.seed.unwrap_or_else(rand::random),
            insecure: self.insecure,
            max_body_size: self.max_body_size,
            clock_tolerance: self.clock_tolerance,
            return_to,
            forbidden_return_to,
            email,
            concurrency: self.concurrency,
            code_source,
            known_email,
            expiry_wait: self.expiry_wait,
            expiry_target: None,
            race_width: self.race_width,
            race_trials: self.race_trials,
            max_submissions: self.max_submissions,
        };
        // Fail on a pattern that selects nothing before any request is sent.
        check::catalogue::select(&config.only, &config.skip)?;
        Ok(config)
    }
}

/// `recovery-harness check`: `--list`, or validate the flags, run the suite, print it and write
/// the reports.
///
/// A run that could not be carried out (exit 2) removes the report files an earlier run left in
/// `--report-dir`: a CI step that publishes them "always" must not show that run's verdict.
pub async fn run(args: CheckArgs) -> Result<Outcome, Error> {
    if args.list {
        check::print_catalogue();
        return Ok(Outcome::Passed);
    }
    let report_dir = args.report_dir.clone();
    let had_reports = any_report(&report_dir);
    let result = validate_and_run(args).await;
    if result.is_err() {
        crate::report::remove_check_reports(&report_dir);
        if had_reports && !any_report(&report_dir) {
            crate::say!(
                "removed the earlier reports in {} (this run produced none)",
                report_dir.display()
            );
        }
    }
    result
}

async fn validate_and_run(args: CheckArgs) -> Result<Outcome, Error> {
    let schemas = Arc::new(crate::schema::Schemas::load(&args.schema.source())?);
    let config = args.config()?;
    let reporting = Reporting {
        report_dir: args.report_dir,
        quiet: args.quiet,
    };
    Ok(check::run_and_report(config, schemas, &reporting).await?)
}

fn any_report(dir: &Path) -> bool {
    [
        crate::report::CONFORMANCE_JSON,
        crate::report::JUNIT_XML,
        crate::report::SUMMARY_MD,
        crate::report::REPORT_HTML,
    ]
    .iter()
    .any(|name| dir.join(name).exists())
}

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

fn code_source(kind: SourceKind, url: &str, timeout: Duration) -> Result<CodeSource, CheckError> {
    CodeSource::new(kind, url, timeout).map_err(|e| CheckError::BadFlag {
        flag: match kind {
            SourceKind::Courier => "courier-url",
            SourceKind::Mailpit => "mailpit-url",
        },
        reason: e.to_string(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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
        parsed.args.credentials.session_token = None;
        assert_eq!(
            format!("{:?}", parsed.args),
            format!("{:?}", CheckArgs::default())
        );
    }

    #[test]
    fn race_flags_are_bounded() {
        let with = |f: fn(&mut CheckArgs)| {
            let mut a = CheckArgs::default();
            f(&mut a);
            a.config()
        };
        let cfg = with(|_| {}).expect("the defaults are valid");
        assert_eq!(
            (cfg.race_width, cfg.race_trials, cfg.max_submissions),
            (16, 16, 5)
        );
        for (flag, bad) in [
            ("race-width", with(|a| a.race_width = 1)),
            ("race-width", with(|a| a.race_width = MAX_RACE_WIDTH + 1)),
            ("race-trials", with(|a| a.race_trials = 0)),
            ("max-submissions", with(|a| a.max_submissions = 0)),
        ] {
            match bad {
                Err(CheckError::BadFlag { flag: f, .. }) => assert_eq!(f, flag),
                other => panic!("{flag}: {other:?}"),
            }
        }
        assert!(with(|a| a.race_width = 2).is_ok());
    }

    #[test]
    fn urls_join_under_the_prefix() {
        let mut cfg = CheckArgs::default().config().expect("defaults are valid");
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
