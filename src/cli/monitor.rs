//! `recovery-harness monitor`: its flags ([`MonitorArgs`]) and their validation into the
//! [`MonitorConfig`] that [`crate::monitor::run`] takes. The flags it shares with `check` (the
//! target, credentials, timeouts, TLS, body cap, schemas) are validated by `check`'s own rules,
//! through [`CheckArgs::config`], so both commands accept and refuse the same values.

use super::check::CheckArgs;
use super::common::{parse_size, CredentialArgs, SchemaArgs};
use super::error::Error;
use crate::exit::Outcome;
use crate::monitor::{MonitorConfig, MonitorError, Suite};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The default `--listen`: loopback only; a pod gives `0.0.0.0:9477` for Prometheus to reach it.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9477";
/// The default `--deadline` (at most `--every`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
/// The largest `--fuzz-cases` of a monitor: each case is a request to production, every run.
pub const MAX_FUZZ_CASES: u32 = 256;
/// The shortest `--every`.
pub const MIN_EVERY: Duration = Duration::from_millis(100);

/// Flags of `recovery-harness monitor`.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// Base URL of the deployment's public API, including any prefix (https://host/auth).
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_TARGET")]
    pub target: String,
    /// Time between the starts of two runs.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_MONITOR_EVERY")]
    pub every: Duration,
    /// The most a run's start is delayed past its slot, at random, so that monitors do not
    /// probe in step (default: a tenth of --every; less than --every).
    #[arg(long, value_name = "DURATION", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_MONITOR_JITTER")]
    pub jitter: Option<Duration>,
    /// The longest a run may take: checks still waiting then fail, and the run counts as
    /// `deadline` (default: 30s, or --every when shorter).
    #[arg(long, value_name = "DURATION", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_MONITOR_DEADLINE")]
    pub deadline: Option<Duration>,
    /// Address of /metrics, /healthz and /last-run.json.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN, env = "RECOVERY_HARNESS_MONITOR_LISTEN")]
    pub listen: SocketAddr,
    /// Also write each run's conformance.json, junit.xml, summary.md and report.html here
    /// (replaced every run; not written when omitted).
    #[arg(long, value_name = "DIR", env = "RECOVERY_HARNESS_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
    /// --session-token, --session-cookie (as `check` takes them).
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Per-request timeout (connect, headers and body).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_TIMEOUT")]
    pub timeout: Duration,
    /// Generated requests per property-based probe of creation and lookup, each run (0, the
    /// default: no probing; at most 256).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        env = "RECOVERY_HARNESS_MONITOR_FUZZ_CASES"
    )]
    pub fuzz_cases: u32,
    /// Requests in flight at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        env = "RECOVERY_HARNESS_MONITOR_CONCURRENCY"
    )]
    pub concurrency: usize,
    /// Do not verify the target's TLS certificate (said in every report).
    #[arg(long, env = "RECOVERY_HARNESS_INSECURE", value_parser = clap::builder::BoolishValueParser::new())]
    pub insecure: bool,
    /// Largest response body read; a longer body fails its checks and is not read further.
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = parse_size)]
    pub max_body_size: u64,
    /// A `return_to` the deployment allows (default: TARGET/self-service/recovery-harness).
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_RETURN_TO")]
    pub return_to: Option<String>,
    /// Schema source.
    #[command(flatten)]
    pub schema: SchemaArgs,
}

impl MonitorArgs {
    /// The configuration these flags describe, every value checked once.
    pub fn config(&self) -> Result<MonitorConfig, MonitorError> {
        if self.every < MIN_EVERY {
            return Err(bad_flag("every", "must be at least 100ms, e.g. 60s"));
        }
        let deadline = self.deadline.unwrap_or(DEFAULT_DEADLINE.min(self.every));
        if deadline.is_zero() {
            return Err(bad_flag("deadline", "must be more than 0, e.g. 30s"));
        }
        let jitter = self.jitter.unwrap_or(self.every / 10);
        if jitter >= self.every {
            return Err(bad_flag(
                "jitter",
                "must be less than --every (a tenth of it is the default)",
            ));
        }
        if self.fuzz_cases > MAX_FUZZ_CASES {
            return Err(bad_flag(
                "fuzz-cases",
                &format!(
                    "must be at most {MAX_FUZZ_CASES}: each case is a request to the deployment, every run"
                ),
            ));
        }
        let run = CheckArgs {
            target: Some(self.target.clone()),
            credentials: self.credentials.clone(),
            timeout: self.timeout,
            deadline,
            fuzz_cases: self.fuzz_cases,
            insecure: self.insecure,
            max_body_size: self.max_body_size,
            return_to: self.return_to.clone(),
            concurrency: self.concurrency,
            schema: self.schema.clone(),
            ..CheckArgs::default()
        }
        .config()?;
        let suite = Suite::for_config(&run)?;
        Ok(MonitorConfig {
            run,
            suite,
            every: self.every,
            jitter,
            listen: self.listen,
            report_dir: self.report_dir.clone(),
        })
    }
}

/// `recovery-harness monitor`: validate, then run until SIGINT or SIGTERM (exit 0).
pub async fn run(args: MonitorArgs) -> Result<Outcome, Error> {
    let schemas = Arc::new(crate::schema::Schemas::load(&args.schema.source())?);
    let config = args.config()?;
    if config.run.insecure {
        crate::say!(
            "warning: --insecure: the target's TLS certificate is NOT verified; every report says so"
        );
    }
    crate::monitor::run(config, schemas).await?;
    Ok(Outcome::Passed)
}

fn bad_flag(flag: &'static str, reason: &str) -> MonitorError {
    MonitorError::BadFlag {
        flag,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::check::DEFAULT_MAX_BODY;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: MonitorArgs,
    }

    fn parse(extra: &[&str]) -> Result<MonitorConfig, String> {
        let mut argv = vec!["monitor", "--target", "http://127.0.0.1:4433"];
        argv.extend_from_slice(extra);
        let mut w = Wrapper::try_parse_from(argv).map_err(|e| e.to_string())?;
        // The environment may hold credentials for other jobs; these tests give their own.
        if !extra.contains(&"--session-token") {
            w.args.credentials.session_token = None;
        }
        w.args.config().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_a_minute_a_tenth_of_jitter_and_a_bounded_deadline() {
        let cfg = parse(&[]).expect("defaults are valid");
        assert_eq!(cfg.every, Duration::from_secs(60));
        assert_eq!(cfg.jitter, Duration::from_secs(6));
        assert_eq!(cfg.run.deadline, Duration::from_secs(30));
        assert_eq!(cfg.run.fuzz_cases, 0);
        assert_eq!(cfg.listen.to_string(), DEFAULT_LISTEN);
        assert!(cfg.report_dir.is_none());
        let short = parse(&["--every", "5s"]).expect("valid");
        assert_eq!(short.run.deadline, Duration::from_secs(5));
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        for (argv, flag) in [
            (&["--every", "10ms"][..], "--every"),
            (&["--every", "10s", "--jitter", "10s"][..], "--jitter"),
            (&["--deadline", "0s"][..], "--deadline"),
            (&["--fuzz-cases", "100000"][..], "--fuzz-cases"),
            (&["--session-cookie", "novalue"][..], "cookie"),
            (&["--concurrency", "0"][..], "concurrency"),
        ] {
            let err = parse(argv).err().unwrap_or_default();
            assert!(err.contains(flag), "{argv:?}: {err}");
        }
        let err = Wrapper::try_parse_from(["monitor"])
            .err()
            .map(|e| e.to_string());
        assert!(
            err.is_some_and(|e| e.contains("--target"))
                || std::env::var_os("RECOVERY_HARNESS_TARGET").is_some()
        );
        let err = parse(&["--listen", "nowhere"]).err().unwrap_or_default();
        assert!(err.contains("--listen"), "{err}");
    }

    #[test]
    fn credentials_and_fuzzing_widen_the_suite() {
        let bare = parse(&[]).expect("valid");
        let full = parse(&[
            "--session-token",
            "ory_st_abcdefgh",
            "--session-cookie",
            "ory_kratos_session=abc",
            "--fuzz-cases",
            "8",
        ])
        .expect("valid");
        assert!(full.suite.checks.len() > bare.suite.checks.len());
        assert!(full.suite.left_out.is_empty());
    }

    #[test]
    fn the_default_body_cap_is_checks() {
        let cfg = parse(&[]).expect("valid");
        assert_eq!(cfg.run.max_body_size, DEFAULT_MAX_BODY);
    }
}
