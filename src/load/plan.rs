//! The plan of a load run ([`Plan`]: every flag checked and defaulted from the scenario, nothing
//! sent; the flags and that conversion are the command line's, `cli/load.rs`), and the plan turned
//! into a Goose attack: its [`GooseConfiguration`] built field by field (never from the process's
//! command line) and the scenario's steps registered as Goose transactions.

use super::arrivals::Share;
use super::baseline::Baseline;
use super::error::{goose_error, LoadError};
use super::reports::Reports;
use super::scenario::Scenario;
use super::steps::{self, Shared, ValidateMode};
use super::target::TargetSpec;
use crate::exit::Outcome;
use crate::report::load_summary::ShardSummary;
use goose::config::GooseConfiguration;
use goose::GooseAttack;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The longest `--duration` accepted: a load run must end by itself.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The most users accepted (each has its own HTTP client and connection).
pub const MAX_USERS: usize = 10_000;

/// A load run, every flag checked and defaulted; nothing has been sent yet.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenario.
    pub scenario: Scenario,
    /// Where the load goes.
    pub target: TargetSpec,
    /// The admin API (courier, `--courier-url`), if given; its credentials, if any, are sent as
    /// basic authentication.
    pub admin_url: Option<crate::codes::Endpoint>,
    /// The Mailpit mail catcher (`--mailpit-url`), if given: the read-code step's source then.
    pub mailpit_url: Option<crate::codes::Endpoint>,
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
    pub session_token: Option<crate::secret::Secret>,
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
    /// The open model (`--rate`, `--stages`, a step of `load capacity`); `None`: the closed
    /// model (`users` users, each starting its next iteration when the last one ends).
    pub open: Option<OpenPlan>,
}

/// The default `--max-in-flight`: iterations running at once before the next due ones are
/// dropped, one Goose user each. By Little's law a target at 2,000 iterations/s and 250 ms
/// (already far beyond any sensible objective) holds 500; more only hides a target that has
/// stopped keeping up, and each user holds a connection.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 500;

/// The open model of a run: this process's share of the arrival schedule and its cap.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenPlan {
    /// This process's part of the schedule (the whole of it without `--shard`).
    pub share: Share,
    /// This process's `--max-in-flight` (its Goose users).
    pub max_in_flight: usize,
    /// The whole run's `--max-in-flight`.
    pub total_max_in_flight: usize,
}

impl OpenPlan {
    /// How long the last iterations may still run once the schedule is over: each of an
    /// iteration's requests is bounded by `--timeout`.
    pub fn drain(&self, timeout: Duration, requests_per_iteration: usize) -> Duration {
        (timeout * requests_per_iteration.max(1) as u32).min(Duration::from_secs(120))
    }
}

impl Plan {
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
        let mut attack =
            GooseAttack::initialize_with_config(self.goose_configuration(host, reports))
                .map_err(|e| LoadError::Goose(goose_error(&e)))?
                .register_scenario(goose_scenario);
        if self.open.is_some() {
            // One client and one connection pool for every user: the open model's users only
            // carry iterations, and a pool opens as many connections as are in flight (none of
            // the scenarios keeps cookies). Building a client per user took most of a step's
            // start with hundreds of users.
            attack = attack
                .set_client_builder_without_cookies(
                    goose::client::GooseClientBuilder::new().without_cookies(),
                )
                .map_err(|e| LoadError::Goose(goose_error(&e)))?;
        }
        // Goose logs every failed request at warn level; against a target that stops answering
        // that is a line per request, burying the progress line and the summary (which counts
        // them). Goose sets the `log` level while it configures itself, so it is lowered here, in
        // the transaction Goose runs once after that and before any user starts. RUST_LOG keeps
        // them.
        // Quiet (`--quiet`, a step of `load capacity`): not even Goose's error lines, whose
        // failed thresholds the verdict states anyway.
        let level = if self.quiet {
            log::LevelFilter::Off
        } else {
            log::LevelFilter::Error
        };
        Ok(if std::env::var_os("RUST_LOG").is_none() {
            attack.test_start(goose::goose::Transaction::new(Arc::new(move |_user| {
                Box::pin(async move {
                    log::set_max_level(level);
                    Ok(())
                })
            })))
        } else {
            attack
        })
    }

    /// The time every user needs to start plus the run time (the open model: the schedule).
    pub fn planned(&self) -> Duration {
        match &self.open {
            Some(open) => open.share.schedule.duration(),
            None => {
                Duration::from_secs(self.duration_s)
                    + Duration::from_secs_f64(self.users as f64 / self.hatch_rate)
            }
        }
    }

    /// Transactions one iteration runs: the steps' weights added up.
    pub fn iteration_len(&self) -> usize {
        self.scenario
            .steps
            .iter()
            .map(|s| s.weight)
            .sum::<usize>()
            .max(1)
    }

    /// Goose's configuration for this plan, built field by field (never from argv).
    pub fn goose_configuration(&self, host: &str, reports: &Reports) -> GooseConfiguration {
        let mut c = GooseConfiguration::default();
        c.host = Some(host.to_owned());
        c.users = Some(self.users);
        c.increase_rate = Some(format!("{}", self.hatch_rate));
        c.run_time = Some(self.duration_s.to_string());
        c.throttle_requests = self.throttle;
        if let Some(open) = &self.open {
            // The dispatcher ends the attack once the schedule is over and its iterations have
            // finished; Goose's run time is only the bound behind it. Nothing runs before the
            // schedule starts, so there is nothing to reset once the users are up (and a reset
            // then could race the first iterations).
            let drain = open.drain(self.timeout, self.iteration_len());
            c.run_time = Some((self.duration_s + drain.as_secs() + 5).to_string());
            c.no_reset_metrics = true;
        }
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
    /// The `"shard"` object of this shard's `load-summary.json` (`None` for no shard). Goose
    /// measures from the moment every user started (it resets its metrics then) for
    /// `measured_s`: the window starts one ramp-up after `started_at`, which `--start-at` and the
    /// shared ramp-up time ([`ShardSpec::hatch_rate`](super::shard::ShardSpec::hatch_rate)) make
    /// the same moment on every shard.
    ///
    /// In the open model the window is the schedule's: from its start (`--start-at` on every
    /// shard) for its length.
    pub fn shard_summary(
        &self,
        started_at: chrono::DateTime<chrono::Utc>,
        measured_s: u64,
    ) -> Option<ShardSummary> {
        let s = self.shard.as_ref()?;
        let ms = chrono::SecondsFormat::Millis;
        let (start, end) = match &self.open {
            Some(open) => {
                let length = open.share.schedule.duration();
                (
                    started_at,
                    started_at + chrono::TimeDelta::from_std(length).unwrap_or_default(),
                )
            }
            None => {
                let ramp =
                    Duration::from_secs_f64((self.users as f64 / self.hatch_rate).min(86_400.0));
                let start = started_at + chrono::TimeDelta::from_std(ramp).unwrap_or_default();
                (start, start + chrono::TimeDelta::seconds(measured_s as i64))
            }
        };
        Some(ShardSummary {
            index: s.spec.index,
            count: s.spec.count,
            scenario_digest: super::shard::scenario_digest(&self.scenario),
            total_users: s.total_users,
            user_offset: s.user_offset,
            total_throttle: s.total_throttle,
            threshold_rules: self.thresholds.iter().map(|(r, _)| r.clone()).collect(),
            judged: s.judge,
            start_at: self.start_at.map(|t| t.to_rfc3339_opts(ms, true)),
            window_start: start.to_rfc3339_opts(ms, true),
            window_end: end.to_rfc3339_opts(ms, true),
            schedule: self.open.as_ref().map(|o| o.share.schedule.describe()),
            total_max_in_flight: self.open.as_ref().map(|o| o.total_max_in_flight),
        })
    }

    /// The exit outcome of a finished run: a shard that does not judge itself exits 0 once its
    /// reports are written, because the verdict is `load merge`'s and a failed pod would make
    /// Kubernetes run the shard again.
    pub fn exit_outcome(&self, outcome: Outcome) -> Outcome {
        let Some(s) = &self.shard else {
            return outcome;
        };
        if !self.quiet {
            crate::say!(
                "shard {} of {} ({} of {} users): {}",
                s.spec.index,
                s.spec.count,
                self.users,
                s.total_users,
                if s.judges() {
                    "thresholds judged on this shard's figures (--judge-shard)"
                } else {
                    "the thresholds are judged by `load merge` over every shard; this shard exits 0 once its reports are written"
                }
            );
        }
        if s.judges() {
            outcome
        } else {
            Outcome::Passed
        }
    }
}

pub(crate) fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
