//! The plan of a load run: the flags of `recovery-harness load` ([`LoadArgs`]), checked and
//! defaulted from the scenario into a [`Plan`] (nothing is sent), and the plan turned into a Goose
//! attack: its [`GooseConfiguration`] built field by field (never from the process's command line)
//! and the scenario's steps registered as Goose transactions.

use super::baseline::Baseline;
use super::run::Reports;
use super::scenario::{self, Scenario};
use super::steps::{self, Shared, ValidateMode};
use super::{check_base_url, flag, goose_error, LoadError, TargetSpec, MAX_DURATION, MAX_USERS};
use crate::schema::SchemaArgs;
use goose::config::GooseConfiguration;
use goose::GooseAttack;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Flags of `recovery-harness load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Base URL of the deployment's public API, prefix included (`https://host/auth`).
    /// Omitted: the reference server is started in-process on an ephemeral loopback port.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_TARGET")]
    pub target: Option<String>,
    /// A scenario name from `scenarios/` (create-native-flow, create-and-fetch, full-recovery,
    /// signed-in-rejection) or the path of a scenario file.
    #[arg(long, value_name = "NAME|PATH", default_value = scenario::DEFAULT_SCENARIO, env = "RECOVERY_HARNESS_SCENARIO")]
    pub scenario: String,
    /// Concurrent users (each with its own connection) [default: the scenario's].
    #[arg(long, value_name = "N", env = "RECOVERY_HARNESS_USERS")]
    pub users: Option<usize>,
    /// Users started per second [default: the scenario's ramp].
    #[arg(long, value_name = "RATE", conflicts_with = "ramp")]
    pub hatch_rate: Option<f64>,
    /// Time to start every user, e.g. 5s (0s: all at once) [default: the scenario's].
    #[arg(long, value_name = "DURATION", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_RAMP")]
    pub ramp: Option<Duration>,
    /// Run time once every user started, whole seconds, at most 24h [default: the scenario's, else 30s].
    #[arg(long, value_name = "DURATION", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_DURATION")]
    pub duration: Option<Duration>,
    /// Cap on requests per second, all users together.
    #[arg(long, value_name = "RPS", env = "RECOVERY_HARNESS_THROTTLE")]
    pub throttle: Option<usize>,
    /// A Goose threshold rule (repeatable), e.g. `p95<50ms`, `error-rate<1%`, `rps>=1000`,
    /// `p99<100ms for GET create flow`. Given rules replace the scenario's default ones.
    #[arg(
        long = "threshold",
        value_name = "RULE",
        env = "RECOVERY_HARNESS_THRESHOLD"
    )]
    pub thresholds: Vec<String>,
    /// Stop the run at the first threshold breach (k6's abortOnFail). By default thresholds are
    /// judged over the whole run, once every user runs.
    #[arg(long)]
    pub abort_on_fail: bool,
    /// Where report.html, report.json, report.md and load-summary.json are written.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "reports/load",
        env = "RECOVERY_HARNESS_REPORT_DIR"
    )]
    pub report_dir: PathBuf,
    /// Which response bodies are validated against the schema: all, sample:N (one in N) or none.
    /// Statuses are always checked.
    #[arg(long, value_name = "MODE", default_value = "all", value_parser = parse_validate, env = "RECOVERY_HARNESS_VALIDATE")]
    pub validate: ValidateMode,
    /// No progress line; only the verdict and its reasons.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Baseline, credentials, admin API, client and schema flags (boxed: they keep the command
    /// enum small).
    #[command(flatten)]
    pub more: Box<LoadMoreArgs>,
    /// --shard, --shards, --start-at, --judge-shard.
    #[command(flatten)]
    pub sharding: super::shard::ShardArgs,
    /// `load merge DIR...`.
    #[command(subcommand)]
    pub action: Option<LoadAction>,
}

/// What `recovery-harness load` does besides running a scenario.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LoadAction {
    /// Merge the report directories of a sharded run (`load --shard I/N`) into one exact result
    /// and one verdict, with the exit codes of a single run.
    Merge(super::merge::MergeArgs),
}

/// The less frequent flags of `recovery-harness load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadMoreArgs {
    /// A previous run's Goose JSON report (or its report directory): Goose's reports then show
    /// the change of every metric.
    #[arg(long, value_name = "PATH", env = "RECOVERY_HARNESS_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Fail when rps fell, or p95 rose, by more than PCT percent against --baseline.
    #[arg(
        long,
        value_name = "PCT",
        requires = "baseline",
        env = "RECOVERY_HARNESS_MAX_REGRESSION"
    )]
    pub max_regression: Option<f64>,
    /// The deployment's admin API (Kratos's courier messages), for scenarios that read recovery
    /// codes; `--admin-url` is its older name. Default: the target itself (the reference server
    /// serves its courier listing there).
    #[arg(
        long = "courier-url",
        visible_alias = "admin-url",
        value_name = "URL",
        env = "RECOVERY_HARNESS_ADMIN_URL"
    )]
    pub admin_url: Option<String>,
    /// A Mailpit mail catcher that receives the deployment's mail (Kratos's SMTP courier): where
    /// the read-code step looks up each user's code by its address. Use it against a Kratos
    /// running without `--dev`, whose courier listing hides the codes. Not with --courier-url.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_MAILPIT_URL")]
    pub mailpit_url: Option<String>,
    /// Session token of a signed-in identity, for signed-in-rejection (the embedded server
    /// supplies its own).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "RECOVERY_HARNESS_SESSION_TOKEN",
        hide_env_values = true
    )]
    pub session_token: Option<String>,
    /// Timeout of each request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_TIMEOUT")]
    pub timeout: Duration,
    /// Do not verify the target's TLS certificate.
    #[arg(long, env = "RECOVERY_HARNESS_INSECURE", value_parser = clap::builder::BoolishValueParser::new())]
    pub insecure: bool,
    /// --schemas DIR / --spec FILE.
    #[command(flatten)]
    pub schema: SchemaArgs,
}

fn parse_validate(s: &str) -> Result<ValidateMode, String> {
    s.parse()
}

/// A load run, every flag checked and defaulted; nothing has been sent yet.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenario.
    pub scenario: Scenario,
    /// Where the load goes.
    pub target: TargetSpec,
    /// The admin API (courier), if given.
    pub admin_url: Option<String>,
    /// The Mailpit mail catcher (`--mailpit-url`), if given: the read-code step's source then.
    pub mailpit_url: Option<String>,
    /// Concurrent users.
    pub users: usize,
    /// Users started per second.
    pub hatch_rate: f64,
    /// Run time after the ramp-up, whole seconds.
    pub duration_s: u64,
    /// Requests/s cap.
    pub throttle: Option<usize>,
    /// Threshold rules and where each came from (`--threshold` or `scenario`).
    pub thresholds: Vec<(String, &'static str)>,
    /// Stop at the first threshold breach.
    pub abort_on_fail: bool,
    /// Body validation.
    pub validate: ValidateMode,
    /// Report directory.
    pub report_dir: PathBuf,
    /// The baseline, read.
    pub baseline: Option<Baseline>,
    /// The regression gate in percent.
    pub max_regression: Option<f64>,
    /// Session token for `session-token` steps (external targets).
    pub session_token: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Skip TLS verification.
    pub insecure: bool,
    /// Quiet console.
    pub quiet: bool,
    /// This process's part of a sharded run (`--shard I/N`), if it is one.
    pub shard: Option<super::shard::ShardPlan>,
    /// `--start-at`: when the users start.
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Plan {
    /// Builds the plan from the flags: resolves the scenario, applies its defaults, checks every
    /// value against the bounds a load run must respect.
    pub fn from_args(args: &LoadArgs) -> Result<Plan, LoadError> {
        let scenario = Scenario::resolve(&args.scenario)?;
        let d = &scenario.defaults;

        let users = args.users.or(d.users).unwrap_or(8);
        let spec = super::shard::ShardSpec::from_env(&args.sharding)?;
        // The bound is per process: a sharded run spreads its users over the shards.
        let max_users = MAX_USERS * spec.map_or(1, |s| s.count);
        if users == 0 || users > max_users {
            return Err(flag(
                "--users",
                format!("{users} users; give 1 to {max_users}"),
            ));
        }

        let duration = args
            .duration
            .or(d.duration)
            .unwrap_or(Duration::from_secs(30));
        if duration.subsec_nanos() != 0 || duration.as_secs() == 0 {
            return Err(flag(
                "--duration",
                format!(
                    "{} is not a whole number of seconds of at least 1s (Goose counts whole seconds)",
                    humantime::format_duration(duration)
                ),
            ));
        }
        if duration > MAX_DURATION {
            return Err(flag(
                "--duration",
                format!(
                    "{} is longer than the 24h a load run may last",
                    humantime::format_duration(duration)
                ),
            ));
        }

        // The ramp becomes Goose's --increase-rate; "0s" starts every user at once.
        let hatch_rate = match (args.hatch_rate, args.ramp) {
            (Some(rate), _) => rate,
            (None, Some(ramp)) => ramp_rate(users, ramp),
            (None, None) => match (d.hatch_rate, d.ramp) {
                (Some(rate), _) => rate,
                (None, Some(ramp)) => ramp_rate(users, ramp),
                (None, None) => ramp_rate(users, Duration::ZERO),
            },
        };
        if !(0.001..=100_000.0).contains(&hatch_rate) {
            return Err(flag(
                "--hatch-rate",
                format!("{hatch_rate} users/s; give 0.001 to 100000"),
            ));
        }

        let throttle = match args.throttle {
            Some(0) | None => None,
            Some(n) => Some(n),
        };

        let thresholds: Vec<(String, &'static str)> = if args.thresholds.is_empty() {
            d.thresholds
                .iter()
                .map(|r| (r.trim().to_owned(), "scenario"))
                .collect()
        } else {
            args.thresholds
                .iter()
                .map(|r| (r.trim().to_owned(), "--threshold"))
                .collect()
        };
        for (rule, _) in &thresholds {
            scenario
                .check_threshold(rule)
                .map_err(|m| flag("--threshold", m))?;
        }

        if let Some(pct) = args.more.max_regression {
            if !pct.is_finite() || !(0.0..=1000.0).contains(&pct) {
                return Err(flag(
                    "--max-regression",
                    format!("{pct}; give a percentage from 0 to 1000"),
                ));
            }
        }
        let baseline = args
            .more
            .baseline
            .as_deref()
            .map(Baseline::read)
            .transpose()?;

        let target = match &args.target {
            Some(raw) => TargetSpec::External(check_base_url("--target", raw)?),
            None => TargetSpec::Embedded,
        };
        let admin_url = args
            .more
            .admin_url
            .as_deref()
            .map(|raw| check_base_url("--admin-url", raw))
            .transpose()?;
        let mailpit_url = args
            .more
            .mailpit_url
            .as_deref()
            .map(|raw| check_base_url("--mailpit-url", raw))
            .transpose()?;
        if mailpit_url.is_some() && target == TargetSpec::Embedded {
            return Err(flag(
                "--mailpit-url",
                "the embedded reference server sends no mail (its own courier listing is read); give --target of the deployment whose mail this Mailpit receives",
            ));
        }
        if admin_url.is_some() && mailpit_url.is_some() {
            return Err(flag(
                "--mailpit-url",
                "give one code source: --courier-url (--admin-url) or --mailpit-url, not both",
            ));
        }

        let session_token = args.more.session_token.clone().filter(|t| !t.is_empty());
        if let Some(token) = &session_token {
            reqwest::header::HeaderValue::from_str(token).map_err(|_| {
                flag(
                    "--session-token",
                    "the token holds characters an HTTP header cannot carry",
                )
            })?;
        }
        if scenario.needs_session_token()
            && session_token.is_none()
            && matches!(target, TargetSpec::External(_))
        {
            return Err(flag(
                "--session-token",
                format!(
                    "scenario `{}` sends a signed-in session; give --session-token TOKEN (or RECOVERY_HARNESS_SESSION_TOKEN) of an identity of the target",
                    scenario.name
                ),
            ));
        }
        if args.more.timeout < Duration::from_millis(1)
            || args.more.timeout > Duration::from_secs(300)
        {
            return Err(flag("--timeout", "give 1ms to 300s"));
        }

        let super::shard::Applied {
            shard,
            users,
            hatch_rate,
            throttle,
            report_dir,
        } = super::shard::apply(
            spec,
            &args.sharding,
            users,
            hatch_rate,
            throttle,
            &args.report_dir,
        )?;

        Ok(Plan {
            scenario,
            target,
            admin_url,
            mailpit_url,
            users,
            hatch_rate,
            duration_s: duration.as_secs(),
            throttle,
            thresholds,
            abort_on_fail: args.abort_on_fail,
            validate: args.validate,
            report_dir,
            baseline,
            max_regression: args.more.max_regression,
            session_token,
            timeout: args.more.timeout,
            insecure: args.more.insecure,
            quiet: args.quiet,
            shard,
            start_at: args.sharding.start_at,
        })
    }

    /// The Goose attack of this plan against `host`: its configuration, the scenario's steps as
    /// transactions sharing `shared`, and (unless `RUST_LOG` is set) Goose's per-request warnings
    /// silenced.
    pub fn goose_attack(
        &self,
        host: &str,
        reports: &Reports,
        shared: Arc<Shared>,
    ) -> Result<GooseAttack, LoadError> {
        let mut goose_scenario = goose::goose::Scenario::new(&self.scenario.name);
        for t in steps::transactions(&self.scenario.steps, shared) {
            goose_scenario = goose_scenario.register_transaction(t);
        }
        let attack = GooseAttack::initialize_with_config(self.goose_configuration(host, reports))
            .map_err(|e| LoadError::Goose(goose_error(&e)))?
            .register_scenario(goose_scenario);
        // Goose logs every failed request at warn level; against a target that stops answering
        // that is a line per request, burying the progress line and the summary (which counts
        // them). Goose sets the `log` level while it configures itself, so it is lowered here, in
        // the transaction Goose runs once after that and before any user starts. RUST_LOG keeps
        // them.
        Ok(if std::env::var_os("RUST_LOG").is_none() {
            attack.test_start(goose::goose::Transaction::new(Arc::new(|_user| {
                Box::pin(async {
                    log::set_max_level(log::LevelFilter::Error);
                    Ok(())
                })
            })))
        } else {
            attack
        })
    }

    /// The time every user needs to start plus the run time.
    pub fn planned(&self) -> Duration {
        Duration::from_secs(self.duration_s)
            + Duration::from_secs_f64(self.users as f64 / self.hatch_rate)
    }

    /// Goose's configuration for this plan, built field by field (never from argv).
    pub fn goose_configuration(&self, host: &str, reports: &Reports) -> GooseConfiguration {
        let mut c = GooseConfiguration::default();
        c.host = Some(host.to_owned());
        c.users = Some(self.users);
        c.increase_rate = Some(format!("{}", self.hatch_rate));
        c.run_time = Some(self.duration_s.to_string());
        c.throttle_requests = self.throttle;
        // A shard leaves its thresholds to `load merge` unless told to judge them itself.
        if self
            .shard
            .as_ref()
            .is_none_or(super::shard::ShardPlan::judges)
        {
            c.threshold = self.thresholds.iter().map(|(r, _)| r.clone()).collect();
        }
        // Goose stops at the first breach unless told not to; k6 (and this tool) judge at the end.
        c.no_threshold_abort = !self.abort_on_fail && !c.threshold.is_empty();
        c.report_file = vec![
            path_string(&reports.staged(&reports.html)),
            path_string(&reports.staged(&reports.json)),
            path_string(&reports.staged(&reports.md)),
        ];
        c.baseline_file = reports.baseline.as_deref().map(path_string);
        c.notes = Some(format!(
            "recovery-harness load: scenario {} ({}), validate {}",
            self.scenario.name, self.scenario.origin, self.validate
        ));
        c.timeout = Some(format!("{:.3}", self.timeout.as_secs_f64()));
        c.accept_invalid_certs = self.insecure;
        // Goose's own console output is replaced by ours; its log messages reach our tracing
        // subscriber. The telnet controller would bind a fixed port: a load run takes no commands.
        // With one request per iteration, Goose's transaction and scenario metrics repeat the
        // request metrics; skipping them saves two metric messages per request.
        let single = self.scenario.steps.len() == 1 && self.scenario.steps[0].weight == 1;
        c.no_transaction_metrics = single;
        c.no_scenario_metrics = single;
        c.no_print_metrics = true;
        c.quiet = 1;
        c.no_telnet = true;
        c
    }
}

fn ramp_rate(users: usize, ramp: Duration) -> f64 {
    if ramp.is_zero() {
        // Effectively "all at once": Goose spaces users 1/rate apart.
        (users as f64).max(1000.0)
    } else {
        users as f64 / ramp.as_secs_f64()
    }
}

pub(crate) fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        args: LoadArgs,
    }

    fn plan(argv: &[&str]) -> Result<Plan, String> {
        let mut full = vec!["t"];
        full.extend_from_slice(argv);
        let t = T::try_parse_from(full).map_err(|e| e.to_string())?;
        Plan::from_args(&t.args).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_come_from_the_scenario() {
        let p = plan(&[]).expect("defaults are valid");
        assert_eq!(p.scenario.name, "create-native-flow");
        assert_eq!(p.duration_s, 30);
        assert_eq!(p.users, 8);
        assert_eq!(p.target, TargetSpec::Embedded);
        assert!(p.thresholds.iter().all(|(_, s)| *s == "scenario"));
        assert_eq!(p.validate, ValidateMode::All);
    }

    #[test]
    fn flags_override_and_thresholds_replace() {
        let p = plan(&[
            "--users",
            "3",
            "--duration",
            "2s",
            "--threshold",
            "p95<5ms",
            "--target",
            "http://127.0.0.1:9/auth/",
            "--validate",
            "sample:10",
        ])
        .expect("valid");
        assert_eq!(p.users, 3);
        assert_eq!(p.duration_s, 2);
        assert_eq!(p.thresholds, vec![("p95<5ms".to_owned(), "--threshold")]);
        assert_eq!(
            p.target,
            TargetSpec::External("http://127.0.0.1:9/auth".to_owned())
        );
        assert_eq!(p.validate, ValidateMode::Sample(10));
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        let cases: &[(&[&str], &str)] = &[
            (&["--duration", "0s"], "--duration"),
            (&["--duration", "1500ms"], "whole number"),
            (&["--duration", "25h"], "24h"),
            (&["--users", "0"], "--users"),
            (&["--users", "1000000"], "--users"),
            (&["--threshold", "p95<"], "--threshold"),
            (&["--threshold", "latency<5ms"], "not a metric"),
            (&["--target", "ftp://x"], "--target"),
            (&["--target", "not a url"], "--target"),
            (&["--hatch-rate", "0"], "--hatch-rate"),
            (&["--validate", "most"], "validation mode"),
            (&["--scenario", "nope"], "unknown scenario"),
            (&["--max-regression", "5"], "--baseline"),
            (&["--mailpit-url", "localhost:8025"], "--mailpit-url"),
            (&["--mailpit-url", "http://127.0.0.1:8025"], "sends no mail"),
            (
                &[
                    "--mailpit-url",
                    "http://127.0.0.1:8025",
                    "--courier-url",
                    "http://127.0.0.1:4434",
                    "--target",
                    "http://127.0.0.1:4433",
                ],
                "one code source",
            ),
            (
                &[
                    "--scenario",
                    "signed-in-rejection",
                    "--target",
                    "http://127.0.0.1:9",
                ],
                "--session-token",
            ),
        ];
        for (argv, want) in cases {
            let e = plan(argv).expect_err(&format!("{argv:?} must be refused"));
            assert!(e.contains(want), "{argv:?}: {e}");
        }
    }

    #[test]
    fn goose_configuration_holds_our_flags() {
        let p = plan(&["--users", "2", "--duration", "3s", "--throttle", "50"]).expect("valid");
        let dir = tempfile::tempdir().expect("tempdir");
        let reports = Reports::prepare(dir.path(), None).expect("writable");
        let c = p.goose_configuration("http://127.0.0.1:1", &reports);
        assert_eq!(c.users, Some(2));
        assert_eq!(c.run_time.as_deref(), Some("3"));
        assert_eq!(c.throttle_requests, Some(50));
        assert!(c.no_telnet);
        assert_eq!(c.report_file.len(), 3);
        assert!(c
            .report_file
            .iter()
            .all(|f| f.starts_with(&*dir.path().to_string_lossy())));
    }
}
