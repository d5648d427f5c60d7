//! `load-summary.json`: the load run's summary (owned by the load work). The model is plain data,
//! free of any load engine: `load/` fills it from its engine's metrics and its own counters;
//! [`write`] puts it next to the other reports, atomically.

use super::error::ReportError;
use super::replace::write_file;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file name in the report directory.
pub const FILE_NAME: &str = "load-summary.json";

/// The summary of one load run (`load-summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    /// `recovery-harness <version>`.
    pub tool: String,
    /// The target's base URL (credentials in it redacted).
    pub target: String,
    /// `embedded` (the in-process reference server) or `external`.
    pub target_kind: String,
    /// The scenario's name.
    pub scenario: String,
    /// Where the scenario came from: `embedded` or its path.
    pub scenario_origin: String,
    /// When the attack started and ended (RFC 3339, UTC).
    pub started_at: String,
    /// See `started_at`.
    pub finished_at: String,
    /// The configured run time after every user started, in seconds.
    pub duration_s: u64,
    /// The seconds Goose's metrics cover (after the ramp-up; whole seconds, as Goose counts).
    pub measured_s: u64,
    /// Concurrent users.
    pub users: usize,
    /// Users started per second.
    pub hatch_rate: f64,
    /// Requests/s cap (`--throttle`), if any.
    pub throttle: Option<usize>,
    /// `all`, `sample:N` or `none`.
    pub validate: String,
    /// Requests Goose measured (after the ramp-up).
    pub requests: u64,
    /// Requests per second over `measured_s`, as Goose's report computes it.
    pub rps: f64,
    /// Median response time (ms, time to the response headers, as Goose measures).
    pub p50_ms: f64,
    /// 95th percentile (ms).
    pub p95_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// Mean (ms).
    pub avg_ms: f64,
    /// Slowest (ms).
    pub max_ms: f64,
    /// Failed requests Goose measured (after the ramp-up): transport errors, unexpected statuses,
    /// schema failures, other step failures.
    pub errors: u64,
    /// Responses that broke the spec, over the whole run (ramp-up included): a status the step
    /// does not allow, or a body that is not JSON, breaks its schema or has the wrong
    /// `state`/`error.id`. Any of them fails the run.
    pub schema_failures: u64,
    /// The part of `schema_failures` that were statuses.
    pub status_mismatches: u64,
    /// The part of `schema_failures` that were bodies.
    pub body_violations: u64,
    /// Requests without a response over the whole run.
    pub transport_errors: u64,
    /// Bodies validated against a schema over the whole run.
    pub validated_bodies: u64,
    /// Steps not run because an earlier step of their iteration failed (scenarios/README.md).
    #[serde(default)]
    pub skipped_steps: u64,
    /// Per step (request name) figures.
    pub steps: Vec<StepSummary>,
    /// The most frequent failure reasons, as Goose recorded them (its error table, top 20).
    pub failure_reasons: Vec<FailureReason>,
    /// The ten most frequent failure reasons: step, expectation, body excerpt, with counts.
    #[serde(default)]
    pub top_reasons: Vec<FailureReason>,
    /// Each threshold rule and its verdict.
    pub thresholds: Vec<ThresholdVerdict>,
    /// The comparison with `--baseline`, if given.
    pub baseline: Option<BaselineComparison>,
    /// `passed`, `failed` or `interrupted` (a signal stopped the run; never a pass).
    pub verdict: String,
    /// Why the run failed (empty when it passed).
    pub failed_because: Vec<String>,
    /// Report files written next to this one.
    pub reports: Vec<String>,
    /// For a shard of a sharded run (`load --shard I/N`): which shard, and what `load merge`
    /// checks the shards against each other with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardSummary>,
    /// For the result of `load merge`: the shards it joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeSummary>,
    /// `closed` (`--users`: each user starts its next iteration when the last one ends) or
    /// `open` (`--rate`, `--stages`: iterations start at their scheduled times).
    #[serde(default = "closed")]
    pub model: String,
    /// Open model: the intended rate, iterations per second (the schedule's mean; a shard's
    /// share of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_rate: Option<f64>,
    /// Open model: iterations that finished within the schedule's window, per second of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_rate: Option<f64>,
    /// Open model: iterations due while `--max-in-flight` were running, and never started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_iterations: Option<u64>,
    /// Open model: the schedule and how the iterations went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenSummary>,
    /// `load capacity`: every step of the search and the rate it found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacitySummary>,
}

fn closed() -> String {
    "closed".to_owned()
}

/// The `"open"` object: an open-model run's schedule and iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenSummary {
    /// The schedule as `--stages` writes it (`--rate R` for D seconds: `Ds:R`), the whole run's.
    pub schedule: String,
    /// The most iterations running at once before the next due ones are dropped.
    pub max_in_flight: usize,
    /// Iterations whose due time came.
    pub due_iterations: u64,
    /// Iterations a user started.
    pub started_iterations: u64,
    /// Iterations that finished, whatever their outcome.
    pub completed_iterations: u64,
    /// ... of which within the window (`achieved_rate` counts these).
    pub completed_in_window: u64,
    /// Seconds the rate was applied (the schedule's length, shorter when the run was stopped).
    pub window_s: f64,
    /// The most iterations in flight at once.
    pub peak_in_flight: usize,
    /// Median delay from an iteration's intended start to its first request (ms): the load
    /// generator's own lateness plus the wait for a free user. Part of the latencies.
    pub start_lag_p50_ms: f64,
    /// 99th percentile of that delay (ms).
    pub start_lag_p99_ms: f64,
}

/// The `"capacity"` object of `load capacity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacitySummary {
    /// The rules every step was judged by (`--slo`, plus the error-rate rule added when none
    /// was given).
    pub slo: Vec<String>,
    /// The interval the search narrows to, percent: it stops once the lowest failing rate is at
    /// most this much above the highest passing one.
    pub precision_pct: f64,
    /// `--min-rate`, if given: below it the run fails.
    pub min_rate: Option<f64>,
    /// The highest rate the search would try.
    pub max_rate: f64,
    /// How long each step applied its rate (s).
    pub step_duration_s: f64,
    /// `--max-in-flight` of each step.
    pub max_in_flight: usize,
    /// The capacity: the highest rate whose step held every rule (`None` when none did).
    pub rate: Option<f64>,
    /// The lowest rate whose step broke a rule (`None` when none did).
    pub failing_rate: Option<f64>,
    /// What broke at `failing_rate`.
    pub failing_rules: Vec<String>,
    /// Why the search stopped: `precision` (the interval is narrow enough), `first_step_failed`,
    /// `max_rate` (every rate up to it held), `max_steps`, `interrupted`, `stopped_answering`,
    /// `generator_limited` (the load generator could not offer a rate, twice).
    pub stopped_by: String,
    /// Every step, in the order run.
    pub steps: Vec<CapacityStep>,
}

/// One step of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    /// 1-based.
    pub index: usize,
    /// The rate applied, iterations per second.
    pub intended_rate: f64,
    /// Iterations that finished within the step's window, per second.
    pub achieved_rate: f64,
    /// Requests and their figures (ms), from the iterations' intended starts.
    pub requests: u64,
    /// Median (ms).
    pub p50_ms: f64,
    /// 95th percentile (ms).
    pub p95_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// Failed requests over requests, percent.
    pub error_rate_pct: f64,
    /// Iterations dropped at `--max-in-flight`.
    pub dropped_iterations: u64,
    /// 99th percentile of the iterations' start delay (ms): the generator's own lateness.
    pub start_lag_p99_ms: f64,
    /// `passed`, `failed` or `interrupted`.
    pub verdict: String,
    /// Why it failed (empty when it passed).
    pub failed_because: Vec<String>,
    /// A failed step whose iterations the load generator itself started late (the 99th
    /// percentile of its start delays was a quarter of the latencies' or more): not counted
    /// against the target, and run again.
    #[serde(default)]
    pub generator_limited: bool,
    /// Its report directory (its own `load-summary.json`, `report.json`, `report.html`).
    pub report_dir: String,
}

/// The `"shard"` object of a shard's `load-summary.json`: what `load merge` checks the shards
/// against each other with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardSummary {
    /// 0-based index.
    pub index: usize,
    /// How many shards the run has.
    pub count: usize,
    /// The scenario digest (`sha256:<hex>` of what the scenario makes the users do).
    pub scenario_digest: String,
    /// The whole run's users.
    pub total_users: usize,
    /// The number of this shard's first user minus one (`{user}` numbering).
    pub user_offset: usize,
    /// The whole run's `--throttle`, if any.
    pub total_throttle: Option<usize>,
    /// The threshold rules `load merge` judges (`--threshold` or the scenario's).
    pub threshold_rules: Vec<String>,
    /// Whether this shard judged them on its own figures (`--judge-shard`).
    pub judged: bool,
    /// `--start-at`, if given (RFC 3339).
    pub start_at: Option<String>,
    /// The start of the measured window: Goose measures once every user started (RFC 3339).
    pub window_start: String,
    /// The end of the measured window (RFC 3339).
    pub window_end: String,
    /// Open model: the whole run's schedule, which every shard must share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Open model: the whole run's `--max-in-flight`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_max_in_flight: Option<usize>,
}

/// The `"merge"` object of a merged `load-summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeSummary {
    /// How many shards were merged.
    pub shards: usize,
    /// Their report directories, by index.
    pub dirs: Vec<String>,
    /// The earliest start of a shard's measured window (RFC 3339).
    pub window_start: String,
    /// The latest end of one (RFC 3339).
    pub window_end: String,
    /// The share (0 to 1) of that span during which every shard was measuring.
    pub window_overlap: f64,
    /// What the merge warned about (windows that barely overlap, shards that judged alone).
    pub warnings: Vec<String>,
}

/// One request name's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    /// Goose's request key, e.g. `GET create flow`.
    pub request: String,
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Requests per second.
    pub rps: f64,
    /// Median (ms).
    pub p50_ms: f64,
    /// 95th percentile (ms).
    pub p95_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
}

/// A failure reason and how often it occurred.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureReason {
    /// The request and reason, as Goose's error table shows it.
    pub reason: String,
    /// Occurrences.
    pub count: u64,
    /// The first body seen with this reason, cut and with secrets redacted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub example: String,
}

/// A threshold rule and its verdict (Goose's engine judged it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdVerdict {
    /// The rule as given.
    pub rule: String,
    /// `--threshold` or `scenario` (the scenario's default).
    pub source: String,
    /// What was observed, as Goose shows it.
    pub observed: String,
    /// The observed number (ms, %, or requests/s), if there were samples.
    pub value: Option<f64>,
    /// Whether it held.
    pub passed: bool,
    /// Whether its failure stopped the run early.
    pub aborted: bool,
}

/// The `--baseline` comparison and the `--max-regression` gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineComparison {
    /// The baseline report read.
    pub path: String,
    /// The baseline's rps.
    pub baseline_rps: f64,
    /// The baseline's p95 (ms).
    pub baseline_p95_ms: f64,
    /// Change of rps in percent (negative: slower).
    pub rps_change_pct: f64,
    /// Change of p95 in percent (positive: slower).
    pub p95_change_pct: f64,
    /// The allowed regression in percent, if `--max-regression` was given.
    pub max_regression_pct: Option<f64>,
    /// Whether the gate held (true without a gate).
    pub passed: bool,
}

/// The figures of a finished run as the summary needs them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Requests per second.
    pub rps: f64,
    /// Median (ms).
    pub p50_ms: f64,
    /// 95th percentile (ms).
    pub p95_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// Mean (ms).
    pub avg_ms: f64,
    /// Slowest (ms).
    pub max_ms: f64,
    /// Seconds measured.
    pub seconds: u64,
}

/// Writes `summary` as `load-summary.json` into `dir` (created if missing), replaced whole, and
/// returns the path.
pub fn write(summary: &LoadSummary, dir: &Path) -> Result<PathBuf, ReportError> {
    let mut text = serde_json::to_string_pretty(summary).map_err(|e| ReportError::Io {
        path: dir.join(FILE_NAME),
        source: e.into(),
    })?;
    text.push('\n');
    write_file(dir, FILE_NAME, text.as_bytes())
}
