//! The load runner (`recovery-harness load`): Goose scenarios on flow-creation throughput, every
//! response validated, the run gated by Goose's threshold rules, schema failures and an optional
//! baseline regression limit.
//!
//! Flow of a run: [`LoadArgs`] → [`Plan`] (every flag and the scenario checked, nothing sent) →
//! target (the in-process reference server, or `--target` probed once) → Goose attack built from
//! the plan's own [`goose::config::GooseConfiguration`] (never from the process's command line) →
//! [`LoadSummary`] from the [`goose::metrics::GooseMetrics`] that `execute()` returns →
//! `load-summary.json` next to Goose's `report.html`/`report.json`/`report.md` → exit code.

pub mod baseline;
pub mod console;
pub mod scenario;
pub mod steps;

use crate::exit::Outcome;
use crate::report::load_summary::{self, Figures, LoadSummary, ThresholdVerdict};
use crate::schema::{SchemaArgs, Schemas};
use baseline::{Baseline, BaselineError};
use goose::config::GooseConfiguration;
use goose::GooseAttack;
use scenario::{Scenario, ScenarioError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use steps::{LiveStats, Shared, ValidateMode};

/// The longest `--duration` accepted: a load run must end by itself.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The most users accepted (each has its own HTTP client and connection).
pub const MAX_USERS: usize = 10_000;
/// Flows the embedded server keeps: enough for any scenario's read-back, bounded so that a long
/// run does not grow the process with every flow it creates.
const EMBEDDED_MAX_FLOWS: usize = 100_000;

/// Flags of `recovery-harness load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Base URL of the deployment's public API, prefix included (`https://host/auth`).
    /// Omitted: the reference server is started in-process on an ephemeral loopback port.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// A scenario name from `scenarios/` (create-native-flow, create-and-fetch, full-recovery,
    /// signed-in-rejection) or the path of a scenario file.
    #[arg(long, value_name = "NAME|PATH", default_value = scenario::DEFAULT_SCENARIO)]
    pub scenario: String,
    /// Concurrent users (each with its own connection) [default: the scenario's].
    #[arg(long, value_name = "N")]
    pub users: Option<usize>,
    /// Users started per second [default: the scenario's ramp].
    #[arg(long, value_name = "RATE", conflicts_with = "ramp")]
    pub hatch_rate: Option<f64>,
    /// Time to start every user, e.g. 5s (0s: all at once) [default: the scenario's].
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::parse_duration)]
    pub ramp: Option<Duration>,
    /// Run time once every user started, whole seconds, at most 24h [default: the scenario's, else 30s].
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::parse_duration)]
    pub duration: Option<Duration>,
    /// Cap on requests per second, all users together.
    #[arg(long, value_name = "RPS")]
    pub throttle: Option<usize>,
    /// A Goose threshold rule (repeatable), e.g. `p95<50ms`, `error-rate<1%`, `rps>=1000`,
    /// `p99<100ms for GET create flow`. Given rules replace the scenario's default ones.
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<String>,
    /// Where report.html, report.json, report.md and load-summary.json are written.
    #[arg(long, value_name = "DIR", default_value = "reports/latest")]
    pub report_dir: PathBuf,
    /// Which response bodies are validated against the schema: all, sample:N (one in N) or none.
    /// Statuses are always checked.
    #[arg(long, value_name = "MODE", default_value = "all", value_parser = parse_validate)]
    pub validate: ValidateMode,
    /// No progress line; only the verdict and its reasons.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Baseline, credentials, admin API, client and schema flags (boxed: they keep the command
    /// enum small).
    #[command(flatten)]
    pub more: Box<LoadMoreArgs>,
}

/// The less frequent flags of `recovery-harness load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadMoreArgs {
    /// A previous run's Goose JSON report (or its report directory): Goose's reports then show
    /// the change of every metric.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Fail when rps fell, or p95 rose, by more than PCT percent against --baseline.
    #[arg(long, value_name = "PCT", requires = "baseline")]
    pub max_regression: Option<f64>,
    /// The deployment's admin API (Kratos's courier messages), for scenarios that read recovery
    /// codes. Default: the target itself (the reference server serves its courier listing there).
    #[arg(long, value_name = "URL")]
    pub admin_url: Option<String>,
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
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::cli::parse_duration)]
    pub timeout: Duration,
    /// Do not verify the target's TLS certificate.
    #[arg(long)]
    pub insecure: bool,
    /// --schemas DIR / --spec FILE.
    #[command(flatten)]
    pub schema: SchemaArgs,
}

fn parse_validate(s: &str) -> Result<ValidateMode, String> {
    s.parse()
}

/// Why a load run could not be carried out (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A flag's value cannot run.
    #[error("invalid {flag}: {message}")]
    Flag {
        /// The flag.
        flag: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The baseline could not be read.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The report directory cannot be written.
    #[error("report directory {path} is not writable: {source}")]
    ReportDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The target (or admin API) did not answer the probe.
    #[error("cannot reach {what} {url}: {reason}; is it running and is the URL right?")]
    Unreachable {
        /// `target` or `admin API`.
        what: &'static str,
        /// The URL probed.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The attack ran but got no response at all.
    #[error("the target {url} answered none of the {requests} requests ({transport_errors} transport errors): it stopped responding")]
    NoResponse {
        /// The target.
        url: String,
        /// Requests sent.
        requests: u64,
        /// Requests without a response.
        transport_errors: u64,
    },
    /// Goose refused the configuration or failed.
    #[error("goose: {0}")]
    Goose(String),
}

fn flag(flag: &'static str, message: impl Into<String>) -> LoadError {
    LoadError::Flag {
        flag,
        message: message.into(),
    }
}

/// Where the load goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// The in-process reference server.
    Embedded,
    /// A deployment's base URL (no trailing slash).
    External(String),
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
}

/// Checks a base URL with the rules `check` applies to `--target` ([`crate::cli::parse_base_url`]);
/// returns it without a trailing slash.
pub fn check_base_url(flag_name: &'static str, raw: &str) -> Result<String, LoadError> {
    crate::cli::parse_base_url(raw)
        .map(|url| url.as_str().trim_end_matches('/').to_owned())
        .map_err(|e| {
            flag(
                flag_name,
                format!(
                    "`{}`: {}; give e.g. http://127.0.0.1:4433 or https://host/auth",
                    e.shown, e.reason
                ),
            )
        })
}

/// `url` with any user:password replaced, for output.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("redacted");
            let _ = u.set_password(None);
            u.as_str().trim_end_matches('/').to_owned()
        }
        _ => url.to_owned(),
    }
}

impl Plan {
    /// Builds the plan from the flags: resolves the scenario, applies its defaults, checks every
    /// value against the bounds a load run must respect.
    pub fn from_args(args: &LoadArgs) -> Result<Plan, LoadError> {
        let scenario = Scenario::resolve(&args.scenario)?;
        let d = &scenario.defaults;

        let users = args.users.or(d.users).unwrap_or(8);
        if users == 0 || users > MAX_USERS {
            return Err(flag(
                "--users",
                format!("{users} users; give 1 to {MAX_USERS}"),
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

        Ok(Plan {
            scenario,
            target,
            admin_url,
            users,
            hatch_rate,
            duration_s: duration.as_secs(),
            throttle,
            thresholds,
            validate: args.validate,
            report_dir: args.report_dir.clone(),
            baseline,
            max_regression: args.more.max_regression,
            session_token,
            timeout: args.more.timeout,
            insecure: args.more.insecure,
            quiet: args.quiet,
        })
    }

    /// Goose's configuration for this plan, built field by field (never from argv).
    pub fn goose_configuration(&self, host: &str, reports: &Reports) -> GooseConfiguration {
        let mut c = GooseConfiguration::default();
        c.host = Some(host.to_owned());
        c.users = Some(self.users);
        c.increase_rate = Some(format!("{}", self.hatch_rate));
        c.run_time = Some(self.duration_s.to_string());
        c.throttle_requests = self.throttle;
        c.threshold = self.thresholds.iter().map(|(r, _)| r.clone()).collect();
        c.report_file = vec![
            path_string(&reports.html),
            path_string(&reports.json),
            path_string(&reports.md),
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

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The files of a run in the report directory.
#[derive(Debug, Clone)]
pub struct Reports {
    /// Goose's HTML report.
    pub html: PathBuf,
    /// Goose's JSON report.
    pub json: PathBuf,
    /// Goose's Markdown report.
    pub md: PathBuf,
    /// Our summary.
    pub summary: PathBuf,
    /// The baseline copy handed to Goose.
    pub baseline: Option<PathBuf>,
}

impl Reports {
    /// Prepares `dir`: creates it, removes the previous run's files of these names (so that no
    /// stale report survives a failed run), checks it is writable, copies the baseline in.
    pub fn prepare(dir: &Path, baseline: Option<&Baseline>) -> Result<Reports, LoadError> {
        let err = |source| LoadError::ReportDir {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let reports = Reports {
            html: dir.join("report.html"),
            json: dir.join("report.json"),
            md: dir.join("report.md"),
            summary: dir.join(load_summary::FILE_NAME),
            baseline: baseline.map(|_| dir.join("baseline.json")),
        };
        // The baseline is read into memory before anything here is removed, so a baseline that
        // is this directory's own report.json survives as baseline.json.
        for file in [&reports.html, &reports.json, &reports.md, &reports.summary] {
            match std::fs::remove_file(file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(e)),
            }
        }
        let probe = dir.join(".recovery-harness-write-test");
        std::fs::write(&probe, b"").map_err(err)?;
        let _ = std::fs::remove_file(&probe);
        if let (Some(b), Some(path)) = (baseline, &reports.baseline) {
            std::fs::write(path, &b.text).map_err(err)?;
        }
        Ok(reports)
    }
}

/// Sends one request to `url` to learn whether anything answers there (any HTTP status will do).
async fn probe(
    what: &'static str,
    url: &str,
    timeout: Duration,
    insecure: bool,
) -> Result<(), LoadError> {
    let unreachable = |reason: String| LoadError::Unreachable {
        what,
        url: redact_url(url),
        reason,
    };
    crate::tls::install_default_provider();
    let client = reqwest::Client::builder()
        .timeout(timeout.min(Duration::from_secs(10)))
        .tls_danger_accept_invalid_certs(insecure)
        .build()
        .map_err(|e| unreachable(crate::error::render(&e)))?;
    client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map(drop)
        .map_err(|e| unreachable(crate::error::render(&e)))
}

/// `recovery-harness load`.
pub async fn run_cli(args: LoadArgs) -> Result<Outcome, crate::Error> {
    let plan = Plan::from_args(&args)?;
    let schemas = Arc::new(Schemas::load(&args.more.schema.source())?);
    let (outcome, _summary) = run(&plan, schemas).await?;
    Ok(outcome)
}

/// Runs a checked plan: starts or probes the target, runs the Goose attack, writes the reports
/// and prints the summary. Returns the verdict and the summary written.
pub async fn run(
    plan: &Plan,
    schemas: Arc<Schemas>,
) -> Result<(Outcome, LoadSummary), crate::Error> {
    // Goose builds one reqwest client per user.
    crate::tls::install_default_provider();
    let reports = Reports::prepare(&plan.report_dir, plan.baseline.as_ref())?;

    let mut embedded = None;
    let (base, target_kind) = match &plan.target {
        TargetSpec::External(url) => (url.clone(), "external"),
        TargetSpec::Embedded => {
            let server = crate::server::spawn(crate::server::ServerConfig {
                max_flows: EMBEDDED_MAX_FLOWS,
                ..crate::server::ServerConfig::default()
            })
            .await?;
            let base = server.base_url().to_owned();
            embedded = Some(server);
            (base, "embedded")
        }
    };
    let (token, admin) = match &embedded {
        Some(s) => (
            Some(s.session_token().to_owned()),
            Some(s.admin_url().to_owned()),
        ),
        None => (None, None),
    };
    let result = attack(plan, schemas, &reports, &base, target_kind, token, admin).await;
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    result
}

async fn attack(
    plan: &Plan,
    schemas: Arc<Schemas>,
    reports: &Reports,
    base: &str,
    target_kind: &'static str,
    embedded_token: Option<String>,
    embedded_admin: Option<String>,
) -> Result<(Outcome, LoadSummary), crate::Error> {
    let shown_target = redact_url(base);
    if !plan.quiet {
        if target_kind == "embedded" {
            crate::say!(
                "no --target: started the reference server in-process at {shown_target} (ephemeral loopback port)"
            );
        }
        crate::say!(
            "load: scenario {} against {shown_target}: {} users, hatch rate {}/s, {}s, validate {}{}",
            plan.scenario.name,
            plan.users,
            plan.hatch_rate,
            plan.duration_s,
            plan.validate,
            if plan.thresholds.is_empty() {
                String::new()
            } else {
                format!(
                    ", thresholds {}",
                    plan.thresholds
                        .iter()
                        .map(|(r, _)| r.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
        );
    }

    probe(
        "target",
        &format!("{base}/self-service/recovery/api"),
        plan.timeout,
        plan.insecure,
    )
    .await?;
    let admin_base = plan
        .admin_url
        .clone()
        .or(embedded_admin)
        .unwrap_or_else(|| base.to_owned());
    if plan.scenario.reads_courier() {
        probe(
            "admin API",
            &format!("{admin_base}/admin/courier/messages"),
            plan.timeout,
            plan.insecure,
        )
        .await?;
    }

    // The embedded server only knows its own sessions: a token from the flag or the environment
    // would turn signed-in-rejection into 100% errors against a faithful server (as for `check`).
    if embedded_token.is_some() && plan.session_token.is_some() && !plan.quiet {
        crate::say!(
            "note: --session-token / RECOVERY_HARNESS_SESSION_TOKEN is not used without --target: the embedded server's own session is"
        );
    }
    let token = embedded_token
        .or_else(|| plan.session_token.clone())
        .and_then(|t| reqwest::header::HeaderValue::from_str(&t).ok());
    let stats = Arc::new(LiveStats::default());
    let shared = Arc::new(
        Shared::new(
            schemas,
            plan.validate,
            base.to_owned(),
            admin_base,
            token,
            plan.scenario.email_template().to_owned(),
            stats.clone(),
        )
        .map_err(|m| flag("--target", m))?,
    );

    let mut goose_scenario = goose::goose::Scenario::new(&plan.scenario.name);
    for t in steps::transactions(&plan.scenario.steps, shared) {
        goose_scenario = goose_scenario.register_transaction(t);
    }
    let attack = GooseAttack::initialize_with_config(plan.goose_configuration(base, reports))
        .map_err(|e| LoadError::Goose(goose_error(&e)))?
        .register_scenario(goose_scenario);
    // Goose logs every failed request at warn level; against a target that stops answering that
    // is a line per request, burying the progress line and the summary (which counts them).
    // Goose sets the `log` level while it configures itself, so it is lowered here, in the
    // transaction Goose runs once after that and before any user starts. RUST_LOG keeps them.
    let attack = if std::env::var_os("RUST_LOG").is_none() {
        attack.test_start(goose::goose::Transaction::new(Arc::new(|_user| {
            Box::pin(async {
                log::set_max_level(log::LevelFilter::Error);
                Ok(())
            })
        })))
    } else {
        attack
    };

    let started_at = chrono::Utc::now();
    let planned = Duration::from_secs(plan.duration_s)
        + Duration::from_secs_f64(plan.users as f64 / plan.hatch_rate);
    let progress = (!plan.quiet).then(|| console::Progress::start(stats.clone(), planned));
    let executed = attack.execute().await;
    if let Some(p) = progress {
        p.finish();
    }
    let finished_at = chrono::Utc::now();
    let metrics = match executed {
        Ok(m) => m,
        Err(goose::GooseError::ThresholdsFailed { metrics, .. }) => *metrics.0,
        Err(e) => return Err(LoadError::Goose(goose_error(&e)).into()),
    };

    let requests_sent = LiveStats::get(&stats.requests);
    let responses = LiveStats::get(&stats.responses);
    let transport_errors = LiveStats::get(&stats.transport_errors);
    if responses == 0 {
        return Err(LoadError::NoResponse {
            url: shown_target,
            requests: requests_sent,
            transport_errors,
        }
        .into());
    }

    let figures = Figures::aggregated(&metrics);
    let status_mismatches = LiveStats::get(&stats.status_mismatches);
    let body_violations = LiveStats::get(&stats.body_violations);
    let schema_failures = status_mismatches + body_violations;
    let thresholds: Vec<ThresholdVerdict> = metrics
        .thresholds
        .iter()
        .map(|r| ThresholdVerdict {
            rule: r.rule.clone(),
            source: plan
                .thresholds
                .iter()
                .find(|(rule, _)| *rule == r.rule)
                .map(|(_, s)| (*s).to_owned())
                .unwrap_or_else(|| "--threshold".to_owned()),
            observed: r.observed.clone(),
            value: r.value,
            passed: r.passed,
            aborted: r.aborted,
        })
        .collect();
    let baseline = plan
        .baseline
        .as_ref()
        .map(|b| b.compare(&figures, plan.max_regression));

    let mut failed_because = Vec::new();
    for t in thresholds.iter().filter(|t| !t.passed) {
        failed_because.push(format!(
            "threshold {} failed: observed {}",
            t.rule, t.observed
        ));
    }
    if schema_failures > 0 {
        failed_because.push(format!(
            "{schema_failures} responses broke the spec ({status_mismatches} with a status the step does not allow, {body_violations} with a body that breaks the schema)"
        ));
    }
    if let Some(b) = baseline.as_ref().filter(|b| !b.passed) {
        failed_because.push(format!(
            "regression beyond {}% against the baseline: rps {:+.1}%, p95 {:+.1}%",
            b.max_regression_pct.unwrap_or_default(),
            b.rps_change_pct,
            b.p95_change_pct
        ));
    }
    let outcome = if failed_because.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };

    let written: Vec<String> = [&reports.html, &reports.json, &reports.md, &reports.summary]
        .into_iter()
        .map(|p| p.display().to_string())
        .collect();
    let summary = LoadSummary {
        tool: format!("recovery-harness {}", env!("CARGO_PKG_VERSION")),
        target: shown_target,
        target_kind: target_kind.to_owned(),
        scenario: plan.scenario.name.clone(),
        scenario_origin: plan.scenario.origin.clone(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        finished_at: finished_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_s: plan.duration_s,
        measured_s: figures.seconds,
        users: plan.users,
        hatch_rate: plan.hatch_rate,
        throttle: plan.throttle,
        validate: plan.validate.to_string(),
        requests: figures.requests,
        rps: figures.rps,
        p50_ms: figures.p50_ms,
        p95_ms: figures.p95_ms,
        p99_ms: figures.p99_ms,
        avg_ms: figures.avg_ms,
        max_ms: figures.max_ms,
        errors: figures.errors,
        schema_failures,
        status_mismatches,
        body_violations,
        transport_errors,
        validated_bodies: LiveStats::get(&stats.validated),
        steps: in_scenario_order(load_summary::step_summaries(&metrics), &plan.scenario),
        failure_reasons: load_summary::failure_reasons(&metrics, 20),
        thresholds,
        baseline,
        verdict: if outcome == Outcome::Passed {
            "passed"
        } else {
            "failed"
        }
        .to_owned(),
        failed_because,
        reports: written,
    };
    load_summary::write(&summary, &plan.report_dir)?;
    // A closed stdout (`load | head -1`) ends the output, not the process.
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(console::render(&summary, plan.quiet).as_bytes())
            .and_then(|()| out.flush());
    }
    Ok((outcome, summary))
}

/// Steps in the order the scenario runs them (Goose keys them in a hash map).
fn in_scenario_order(
    mut steps: Vec<load_summary::StepSummary>,
    scenario: &Scenario,
) -> Vec<load_summary::StepSummary> {
    let keys: Vec<String> = scenario.steps.iter().map(|s| s.request_key()).collect();
    steps.sort_by_key(|s| {
        keys.iter()
            .position(|k| *k == s.request)
            .unwrap_or(usize::MAX)
    });
    steps
}

fn goose_error(e: &goose::GooseError) -> String {
    match e {
        goose::GooseError::InvalidOption { detail, .. } => detail.clone(),
        other => crate::error::render(other),
    }
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

    #[test]
    fn redaction_hides_credentials() {
        assert_eq!(
            redact_url("http://u:p@h:1/auth"),
            "http://redacted@h:1/auth"
        );
        assert_eq!(redact_url("http://h:1/auth"), "http://h:1/auth");
    }
}
