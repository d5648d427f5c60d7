//! `recovery-harness load`: its flags ([`LoadArgs`], with `load merge`), their conversion into the
//! [`Plan`] the load runner takes (the scenario resolved, its defaults applied, every value
//! bounded; nothing is sent), and the command itself.

use super::common::{SchemaArgs, SESSION_TOKEN_ENV};
use super::error::Error;
use crate::codes::{CodeError, Endpoint, SourceKind};
use crate::exit::Outcome;
use crate::load::arrivals::{self, Schedule, Share};
use crate::load::baseline::Baseline;
use crate::load::capacity::{self, CapacityPlan};
use crate::load::plan::{OpenPlan, DEFAULT_MAX_IN_FLIGHT};
use crate::load::scenario::{self, Scenario};
use crate::load::shard::{ShardSpec, JOB_COMPLETION_INDEX};
use crate::load::steps::ValidateMode;
use crate::load::{
    self, check_base_url, flag, merge, shard, LoadError, Plan, TargetSpec, MAX_DURATION, MAX_USERS,
};
use crate::schema::Schemas;
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Flags of `recovery-harness load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Target, scenario, reports, credentials, client and schema flags, which `load capacity`
    /// takes too (boxed: they keep the command enum small).
    #[command(flatten)]
    pub common: Box<CommonArgs>,
    /// Concurrent users (each with its own connection) [default: the scenario's]. The closed
    /// model; not with --rate or --stages.
    #[arg(long, value_name = "N", env = "RECOVERY_HARNESS_USERS")]
    pub users: Option<usize>,
    /// Users started per second [default: the scenario's ramp].
    #[arg(long, value_name = "RATE", conflicts_with = "ramp")]
    pub hatch_rate: Option<f64>,
    /// Time to start every user, e.g. 5s (0s: all at once) [default: the scenario's].
    #[arg(long, value_name = "DURATION", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_RAMP")]
    pub ramp: Option<Duration>,
    /// Run time once every user started (with --rate: how long the rate is applied), whole
    /// seconds, at most 24h [default: the scenario's, else 30s].
    #[arg(long, value_name = "DURATION", value_parser = crate::input::parse_duration, env = "RECOVERY_HARNESS_DURATION")]
    pub duration: Option<Duration>,
    /// Cap on requests per second, all users together (closed model).
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
    /// --rate, --stages, --max-in-flight.
    #[command(flatten)]
    pub open: OpenArgs,
    /// Baseline flags (boxed, as `common`).
    #[command(flatten)]
    pub baseline: Box<BaselineArgs>,
    /// --shard, --shards, --start-at, --judge-shard.
    #[command(flatten)]
    pub sharding: ShardArgs,
    /// `load merge DIR...`, `load capacity --slo RULE...`.
    #[command(subcommand)]
    pub action: Option<LoadAction>,
}

/// The open-model flags of `recovery-harness load`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OpenArgs {
    /// Open model: start R iterations per second, whatever the answers' latency (k6's
    /// constant-arrival-rate), for --duration. Latencies count from each iteration's intended
    /// start. Not with --users.
    #[arg(long, value_name = "R", value_parser = arrivals::parse_rate_flag, conflicts_with = "stages", env = "RECOVERY_HARNESS_RATE")]
    pub rate: Option<f64>,
    /// Open model: piecewise-linear ramps of the rate, `DURATION:RATE[-RATE],...`, e.g.
    /// `30s:0-500,60s:500,10s:500-0`. The stages give the run's length. Not with --users or
    /// --duration.
    #[arg(long, value_name = "STAGES", value_parser = arrivals::Schedule::parse_stages, env = "RECOVERY_HARNESS_STAGES")]
    pub stages: Option<arrivals::Schedule>,
    /// Open model: iterations running at once (one Goose user each) before the next due ones
    /// are dropped and counted as dropped_iterations [default: 500].
    #[arg(long, value_name = "N", env = "RECOVERY_HARNESS_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
}

/// What `recovery-harness load` does besides running a scenario.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LoadAction {
    /// Merge the report directories of a sharded run (`load --shard I/N`) into one exact result
    /// and one verdict, with the exit codes of a single run.
    Merge(MergeArgs),
    /// Find the highest rate (iterations/s, open model) the target sustains while every --slo
    /// rule holds: doubling from --start-rate until a step breaks a rule, then bisecting until
    /// the highest passing and lowest failing rates are within --precision.
    Capacity(Box<CapacityArgs>),
}

/// Flags of `recovery-harness load merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// Shard report directories (each with report.json and load-summary.json), or a directory
    /// whose subdirectories are the shards' (as the Kubernetes Job writes them).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// A threshold rule (repeatable); given rules replace the ones the shards carry.
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<String>,
    /// Where the merged load-summary.json is written.
    #[arg(long, value_name = "DIR", default_value = "reports/load")]
    pub report_dir: PathBuf,
    /// Only the verdict and its reasons.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Flags of `recovery-harness load capacity`.
#[derive(Debug, Clone, clap::Args)]
pub struct CapacityArgs {
    /// Target, scenario, reports, credentials, client and schema flags (as for `load`).
    #[command(flatten)]
    pub common: CommonArgs,
    /// A rule every step must hold (repeatable; Goose's threshold syntax, as --threshold), e.g.
    /// `p99<100ms`, `error-rate<1%`. Without an error-rate rule, `error-rate<1%` is added.
    #[arg(long = "slo", value_name = "RULE", required = true)]
    pub slo: Vec<String>,
    /// Stop once the lowest failing rate is at most this much above the highest passing one,
    /// e.g. 5% [default: 5%].
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub precision: Option<f64>,
    /// The lowest acceptable capacity (iterations/s): exit 1 below it. Also the first step's
    /// rate unless --start-rate is given.
    #[arg(long, value_name = "R", value_parser = arrivals::parse_rate_flag)]
    pub min_rate: Option<f64>,
    /// The first step's rate, doubled at each passing step [default: --min-rate, else 10].
    #[arg(long, value_name = "R", value_parser = arrivals::parse_rate_flag)]
    pub start_rate: Option<f64>,
    /// The highest rate tried: a target that holds it has at least that capacity [default: 100000].
    #[arg(long, value_name = "R", value_parser = arrivals::parse_rate_flag)]
    pub max_rate: Option<f64>,
    /// How long each step applies its rate [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = crate::input::parse_duration)]
    pub step_duration: Option<Duration>,
    /// Iterations running at once in each step (one Goose user each) before the next due ones
    /// are dropped; a step that drops any fails [default: 500].
    #[arg(long, value_name = "N", env = "RECOVERY_HARNESS_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
}

/// `5%`, `5` or `2.5%`: a percentage above 0 and at most 100.
fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let n: f64 = t
        .strip_suffix('%')
        .unwrap_or(t)
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage; give e.g. 5%"))?;
    if !n.is_finite() || !(0.1..=100.0).contains(&n) {
        return Err(format!("{n}%: give 0.1% to 100%"));
    }
    Ok(n)
}

/// The flags `load` and `load capacity` share.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Base URL of the deployment's public API, prefix included (`https://host/auth`).
    /// Omitted: the reference server is started in-process on an ephemeral loopback port.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_TARGET")]
    pub target: Option<String>,
    /// A scenario name from `scenarios/` (create-native-flow, create-and-fetch, full-recovery,
    /// signed-in-rejection) or the path of a scenario file.
    #[arg(long, value_name = "NAME|PATH", default_value = scenario::DEFAULT_SCENARIO, env = "RECOVERY_HARNESS_SCENARIO")]
    pub scenario: String,
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
    /// The deployment's admin API (Kratos's courier messages), for scenarios that read recovery
    /// codes; `--admin-url` is its older name. Default: the target itself (the reference server
    /// serves its courier listing there). A `user:password@` in it is sent as basic
    /// authentication and never shown.
    #[arg(
        long = "courier-url",
        visible_alias = "admin-url",
        value_name = "URL",
        env = "RECOVERY_HARNESS_ADMIN_URL"
    )]
    pub admin_url: Option<String>,
    /// A Mailpit mail catcher that receives the deployment's mail (Kratos's SMTP courier): where
    /// the read-code step looks up each user's code by its address. Use it against a Kratos
    /// running without `--dev`, whose courier listing hides the codes. Not with --courier-url. A
    /// `user:password@` in it (Mailpit's --ui-auth-file) is sent as basic authentication and
    /// never shown.
    #[arg(long, value_name = "URL", env = "RECOVERY_HARNESS_MAILPIT_URL")]
    pub mailpit_url: Option<String>,
    /// Session token of a signed-in identity, for signed-in-rejection (the embedded server
    /// supplies its own).
    #[arg(long, value_name = "TOKEN", env = SESSION_TOKEN_ENV, hide_env_values = true)]
    pub session_token: Option<crate::secret::Secret>,
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

/// The baseline flags of `recovery-harness load`.
#[derive(Debug, Clone, clap::Args)]
pub struct BaselineArgs {
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
}

fn parse_validate(s: &str) -> Result<ValidateMode, String> {
    s.parse()
}

/// The sharding flags of `recovery-harness load`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ShardArgs {
    /// Run as shard I of N (I from 0 to N-1, as Kubernetes' JOB_COMPLETION_INDEX counts): this
    /// process runs its share of --users and --throttle; `load merge` joins the shards.
    #[arg(long, value_name = "I/N", value_parser = shard::parse_shard, conflicts_with = "shards")]
    pub shard: Option<(usize, usize)>,
    /// Run as one of N shards, the index taken from JOB_COMPLETION_INDEX (set by a Kubernetes
    /// Indexed Job in each pod).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Start the users at this moment (RFC 3339, e.g. 2026-12-01T21:30:00Z), so that every shard's
    /// window is the same; at most an hour ahead, never in the past.
    #[arg(long, value_name = "RFC3339", value_parser = shard::parse_start_at)]
    pub start_at: Option<DateTime<Utc>>,
    /// Judge this shard's thresholds on its own figures, and exit as a single run would (by
    /// default a shard leaves the verdict to `load merge` and exits 0 once its reports are
    /// written).
    #[arg(long)]
    pub judge_shard: bool,
}

impl ShardArgs {
    /// The shard the flags and `job_completion_index` (the variable's value, if set) make this
    /// process; `None` when it is no shard. `--shard` wins over the variable.
    pub fn spec(&self, job_completion_index: Option<&str>) -> Result<Option<ShardSpec>, LoadError> {
        match (self.shard, self.shards) {
            (Some(_), Some(_)) => Err(flag(
                "--shard",
                "give either --shard I/N or --shards N (with JOB_COMPLETION_INDEX), not both",
            )),
            (Some((index, count)), None) => ShardSpec::new(index, count)
                .map(Some)
                .map_err(|m| flag("--shard", m)),
            (None, Some(count)) => {
                let raw = job_completion_index.ok_or_else(|| {
                    flag(
                        "--shards",
                        format!(
                            "{JOB_COMPLETION_INDEX} is not set: --shards N is for the pods of a Kubernetes Indexed Job, which set it; elsewhere give --shard I/N"
                        ),
                    )
                })?;
                let index = raw.trim().parse::<usize>().map_err(|_| {
                    flag(
                        "--shards",
                        format!("{JOB_COMPLETION_INDEX}=`{raw}` is not a whole number"),
                    )
                })?;
                ShardSpec::new(index, count)
                    .map(Some)
                    .map_err(|m| {
                        flag(
                            "--shards",
                            format!("{JOB_COMPLETION_INDEX}={index}: {m}; the Job's completions must equal --shards"),
                        )
                    })
            }
            (None, None) => Ok(None),
        }
    }
}

/// What `load` and `load capacity` check alike: the scenario, the target and the URLs and
/// credentials of the code sources, the client's timeout.
struct Common {
    scenario: Scenario,
    target: TargetSpec,
    admin_url: Option<Endpoint>,
    mailpit_url: Option<Endpoint>,
    session_token: Option<crate::secret::Secret>,
}

/// A code source's URL, checked as `check` checks it ([`Endpoint::parse`]: its `user:password@`,
/// if any, becomes basic authentication).
fn code_source_url(kind: SourceKind, raw: &str) -> Result<Endpoint, LoadError> {
    Endpoint::parse(kind, raw).map_err(|e| match e {
        CodeError::BadUrl { value, reason, .. } => flag(
            kind.flag(),
            format!("`{value}`: {reason}; give e.g. http://127.0.0.1:4434 or https://user:password@host/prefix"),
        ),
        other => flag(kind.flag(), other.to_string()),
    })
}

impl CommonArgs {
    fn check(&self) -> Result<Common, LoadError> {
        let scenario = Scenario::resolve(&self.scenario)?;
        let target = match &self.target {
            Some(raw) => TargetSpec::External(check_base_url("--target", raw)?),
            None => TargetSpec::Embedded,
        };
        let admin_url = self
            .admin_url
            .as_deref()
            .map(|raw| code_source_url(SourceKind::Courier, raw))
            .transpose()?;
        let mailpit_url = self
            .mailpit_url
            .as_deref()
            .map(|raw| code_source_url(SourceKind::Mailpit, raw))
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

        let session_token = self.session_token.clone().filter(|t| !t.is_empty());
        if let Some(token) = &session_token {
            reqwest::header::HeaderValue::from_str(token.expose()).map_err(|_| {
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
        if self.timeout < Duration::from_millis(1) || self.timeout > Duration::from_secs(300) {
            return Err(flag("--timeout", "give 1ms to 300s"));
        }
        Ok(Common {
            scenario,
            target,
            admin_url,
            mailpit_url,
            session_token,
        })
    }
}

/// `--max-in-flight`, checked: 1 to the users a run may have.
fn max_in_flight(given: Option<usize>, shards: usize) -> Result<usize, LoadError> {
    let n = given.unwrap_or(DEFAULT_MAX_IN_FLIGHT);
    let max = MAX_USERS * shards;
    if n == 0 || n > max {
        return Err(flag(
            "--max-in-flight",
            format!("{n} iterations in flight; give 1 to {max}"),
        ));
    }
    Ok(n)
}

/// How fast the open model starts its users: every one within about 50 ms, before the
/// schedule starts (they only wait for their first iteration).
fn open_hatch_rate(users: usize) -> f64 {
    (users as f64 * 20.0).max(1000.0)
}

impl LoadArgs {
    /// The schedule of the open model, if --rate or --stages asks for it, with the closed
    /// model's flags refused beside it.
    fn schedule(&self, duration: Duration) -> Result<Option<Schedule>, LoadError> {
        let schedule = match (self.open.rate, &self.open.stages) {
            (None, None) => {
                if self.open.max_in_flight.is_some() {
                    return Err(flag(
                        "--max-in-flight",
                        "it bounds the open model's iterations: give it with --rate or --stages",
                    ));
                }
                return Ok(None);
            }
            (Some(rate), _) => Schedule::constant(rate, duration).map_err(|m| flag("--rate", m))?,
            (None, Some(stages)) => {
                if self.duration.is_some() {
                    return Err(flag(
                        "--duration",
                        "--stages give the run's length (their durations add up); drop --duration or give --rate R --duration D",
                    ));
                }
                stages.clone()
            }
        };
        let model = if self.open.rate.is_some() {
            "--rate"
        } else {
            "--stages"
        };
        if self.users.is_some() {
            return Err(flag(
                "--users",
                format!(
                    "{model} is the open model: iterations start at their scheduled times, each on a user of its own, up to --max-in-flight; --users (or RECOVERY_HARNESS_USERS) is the closed model's; give one of them"
                ),
            ));
        }
        if self.hatch_rate.is_some() || self.ramp.is_some() {
            return Err(flag(
                if self.ramp.is_some() { "--ramp" } else { "--hatch-rate" },
                format!("{model} ramps the rate itself: give the ramp as --stages, e.g. 30s:0-500,60s:500"),
            ));
        }
        if self.throttle.is_some_and(|t| t > 0) {
            return Err(flag(
                "--throttle",
                format!("{model} sets the pace; a throttle would hide the queueing the open model measures"),
            ));
        }
        Ok(Some(schedule))
    }

    /// The plan these flags describe: resolves the scenario, applies its defaults, checks every
    /// value against the bounds a load run must respect; nothing is sent.
    pub fn plan(&self) -> Result<Plan, LoadError> {
        let c = &self.common;
        let Common {
            scenario,
            target,
            admin_url,
            mailpit_url,
            session_token,
        } = c.check()?;
        let d = &scenario.defaults;
        let spec = self
            .sharding
            .spec(std::env::var(JOB_COMPLETION_INDEX).ok().as_deref())?;
        let shards = spec.map_or(1, |s| s.count);

        let duration = self
            .duration
            .or(d.duration)
            .unwrap_or(Duration::from_secs(30));
        let schedule = self.schedule(duration)?;
        let duration = match &schedule {
            // The schedule's length, in the whole seconds Goose and the summary count.
            Some(s) => Duration::from_secs(s.duration().as_secs_f64().ceil().max(1.0) as u64),
            None => duration,
        };
        if schedule.is_none() && (duration.subsec_nanos() != 0 || duration.as_secs() == 0) {
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

        // The open model runs one user per iteration in flight.
        let users = match &schedule {
            Some(_) => max_in_flight(self.open.max_in_flight, shards)?,
            None => self.users.or(d.users).unwrap_or(8),
        };
        // The bound is per process: a sharded run spreads its users over the shards.
        let max_users = MAX_USERS * shards;
        if users == 0 || users > max_users {
            return Err(flag(
                "--users",
                format!("{users} users; give 1 to {max_users}"),
            ));
        }

        // The ramp becomes Goose's --increase-rate; "0s" starts every user at once.
        let hatch_rate = match (self.hatch_rate, self.ramp) {
            _ if schedule.is_some() => open_hatch_rate(users),
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

        let throttle = match self.throttle {
            Some(0) | None => None,
            Some(n) => Some(n),
        };

        let thresholds: Vec<(String, &'static str)> = if self.thresholds.is_empty() {
            d.thresholds
                .iter()
                .map(|r| (r.trim().to_owned(), "scenario"))
                .collect()
        } else {
            self.thresholds
                .iter()
                .map(|r| (r.trim().to_owned(), "--threshold"))
                .collect()
        };
        for (rule, _) in &thresholds {
            scenario
                .check_threshold(rule)
                .map_err(|m| flag("--threshold", m))?;
        }

        if let Some(pct) = self.baseline.max_regression {
            if !pct.is_finite() || !(0.0..=1000.0).contains(&pct) {
                return Err(flag(
                    "--max-regression",
                    format!("{pct}; give a percentage from 0 to 1000"),
                ));
            }
        }
        let baseline = self
            .baseline
            .baseline
            .as_deref()
            .map(Baseline::read)
            .transpose()?;

        let shard::Applied {
            shard,
            users: process_users,
            hatch_rate,
            throttle,
            report_dir,
        } = shard::apply(
            spec,
            self.sharding.start_at,
            self.sharding.judge_shard,
            users,
            hatch_rate,
            throttle,
            &c.report_dir,
        )?;
        let open = schedule.map(|schedule| OpenPlan {
            share: match spec {
                Some(s) => Share {
                    schedule,
                    index: s.index as u64,
                    count: s.count as u64,
                },
                None => Share::whole(schedule),
            },
            max_in_flight: process_users,
            total_max_in_flight: users,
        });

        Ok(Plan {
            scenario,
            target,
            admin_url,
            mailpit_url,
            users: process_users,
            hatch_rate,
            duration_s: duration.as_secs(),
            throttle,
            thresholds,
            abort_on_fail: self.abort_on_fail,
            validate: c.validate,
            report_dir,
            baseline,
            max_regression: self.baseline.max_regression,
            session_token,
            timeout: c.timeout,
            insecure: c.insecure,
            quiet: c.quiet,
            shard,
            start_at: self.sharding.start_at,
            open,
        })
    }
}

impl CapacityArgs {
    /// The search these flags describe, and the plan each of its steps starts from (its rate
    /// and report directory are the step's); nothing is sent.
    pub fn plan(&self) -> Result<(Plan, CapacityPlan), LoadError> {
        let c = &self.common;
        let Common {
            scenario,
            target,
            admin_url,
            mailpit_url,
            session_token,
        } = c.check()?;
        let mut slo = Vec::new();
        for rule in &self.slo {
            let rule = rule.trim().to_owned();
            scenario
                .check_threshold(&rule)
                .map_err(|m| flag("--slo", m))?;
            slo.push((rule, "--slo"));
        }
        if !slo.iter().any(|(r, _)| r.starts_with("error-rate")) {
            slo.push((capacity::DEFAULT_ERROR_RULE.to_owned(), "added"));
        }
        let step = self.step_duration.unwrap_or(capacity::DEFAULT_STEP);
        if step < Duration::from_secs(1) || step > Duration::from_secs(3600) {
            return Err(flag(
                "--step-duration",
                format!(
                    "{}: give 1s to 1h (long enough for the rules to judge the rate)",
                    humantime::format_duration(step)
                ),
            ));
        }
        let max_rate = self.max_rate.unwrap_or(capacity::DEFAULT_MAX_RATE);
        let start_rate = self
            .start_rate
            .or(self.min_rate)
            .unwrap_or(capacity::DEFAULT_START_RATE);
        if let Some(min) = self.min_rate.filter(|m| *m > max_rate) {
            return Err(flag(
                "--min-rate",
                format!(
                    "{} iterations/s is above --max-rate {}: the search could never show it",
                    arrivals::show_rate(min),
                    arrivals::show_rate(max_rate)
                ),
            ));
        }
        if start_rate > max_rate {
            return Err(flag(
                "--start-rate",
                format!(
                    "{} iterations/s is above --max-rate {}",
                    arrivals::show_rate(start_rate),
                    arrivals::show_rate(max_rate)
                ),
            ));
        }
        // The first step's schedule must hold at least one iteration.
        let first = Schedule::constant(start_rate, step).map_err(|m| flag("--start-rate", m))?;
        let users = max_in_flight(self.max_in_flight, 1)?;
        let plan = Plan {
            scenario,
            target,
            admin_url,
            mailpit_url,
            users,
            hatch_rate: open_hatch_rate(users),
            duration_s: step.as_secs_f64().ceil() as u64,
            throttle: None,
            thresholds: slo.clone(),
            abort_on_fail: false,
            validate: c.validate,
            report_dir: c.report_dir.clone(),
            baseline: None,
            max_regression: None,
            session_token,
            timeout: c.timeout,
            insecure: c.insecure,
            quiet: c.quiet,
            shard: None,
            start_at: None,
            open: Some(OpenPlan {
                share: Share::whole(first),
                max_in_flight: users,
                total_max_in_flight: users,
            }),
        };
        let search = CapacityPlan {
            slo: slo.into_iter().map(|(r, _)| r).collect(),
            precision_pct: self.precision.unwrap_or(capacity::DEFAULT_PRECISION_PCT),
            min_rate: self.min_rate,
            start_rate,
            max_rate,
            step,
            report_dir: c.report_dir.clone(),
        };
        Ok((plan, search))
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

/// `recovery-harness load` (or `load merge`, `load capacity`): plan, run the attack, write the
/// reports.
pub async fn run(args: LoadArgs) -> Result<Outcome, Error> {
    match &args.action {
        Some(LoadAction::Merge(m)) => {
            return Ok(merge::run(&m.dirs, &m.thresholds, &m.report_dir, m.quiet)?);
        }
        Some(LoadAction::Capacity(c)) => {
            let (plan, search) = c.plan()?;
            load::signals::install();
            let schemas = Arc::new(Schemas::load(&c.common.schema.source())?);
            return Ok(capacity::run(&plan, &search, schemas).await?);
        }
        None => {}
    }
    let plan = args.plan()?;
    load::signals::install();
    let schemas = Arc::new(Schemas::load(&args.common.schema.source())?);
    let (outcome, _summary) = load::run(&plan, schemas).await?;
    Ok(plan.exit_outcome(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Reports;
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
        t.args.plan().map_err(|e| e.to_string())
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

    fn args(shard: Option<&str>, shards: Option<usize>) -> ShardArgs {
        ShardArgs {
            shard: shard.map(|s| shard::parse_shard(s).expect("valid")),
            shards,
            ..ShardArgs::default()
        }
    }

    #[test]
    fn the_job_index_makes_the_shard() {
        let a = args(None, Some(4));
        assert_eq!(
            a.spec(Some("3")).expect("valid"),
            Some(ShardSpec { index: 3, count: 4 })
        );
        let missing = a.spec(None).expect_err("needs the variable");
        assert!(missing
            .to_string()
            .contains("JOB_COMPLETION_INDEX is not set"));
        let high = a.spec(Some("4")).expect_err("index 4 of 4");
        assert!(high.to_string().contains("completions must equal --shards"));
        let junk = a.spec(Some("x")).expect_err("not a number");
        assert!(junk.to_string().contains("not a whole number"));
        // --shard wins over the variable.
        let explicit = args(Some("1/2"), None);
        assert_eq!(
            explicit.spec(Some("0")).expect("valid"),
            Some(ShardSpec { index: 1, count: 2 })
        );
        let both = ShardArgs {
            shard: Some((0, 2)),
            shards: Some(2),
            ..ShardArgs::default()
        };
        assert!(both
            .spec(Some("0"))
            .expect_err("both")
            .to_string()
            .contains("not both"));
        assert_eq!(ShardArgs::default().spec(Some("2")).ok(), Some(None));
    }
}
