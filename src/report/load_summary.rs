//! `load-summary.json`: the load run's summary (owned by the load work). The model is plain data
//! built from Goose's [`GooseMetrics`] (percentiles computed exactly as Goose's own "Aggregated"
//! row) and the load runner's counters; [`write`] puts it next to Goose's reports.

use goose::metrics::{GooseMetrics, GooseRequestMetricTimingData, TimeBuckets};
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
    /// Per step (request name) figures.
    pub steps: Vec<StepSummary>,
    /// The most frequent failure reasons, as Goose recorded them.
    pub failure_reasons: Vec<FailureReason>,
    /// Each threshold rule and its verdict.
    pub thresholds: Vec<ThresholdVerdict>,
    /// The comparison with `--baseline`, if given.
    pub baseline: Option<BaselineComparison>,
    /// `passed` or `failed`.
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

impl Figures {
    /// Every request of `metrics` together, the way Goose's "Aggregated" row adds them.
    pub fn aggregated(metrics: &GooseMetrics) -> Figures {
        let mut times = GooseRequestMetricTimingData::default();
        let mut buckets = TimeBuckets::new();
        let (mut requests, mut errors) = (0u64, 0u64);
        for agg in metrics.requests.values() {
            requests += (agg.success_count + agg.fail_count) as u64;
            errors += agg.fail_count as u64;
            merge(&mut times, &mut buckets, &agg.raw_data);
        }
        times.times_us = buckets;
        Figures::of(&times, requests, errors, metrics.duration as u64)
    }

    /// One request's figures.
    pub fn of(
        times: &GooseRequestMetricTimingData,
        requests: u64,
        errors: u64,
        seconds: u64,
    ) -> Figures {
        let ms = |us: u64| us as f64 / 1000.0;
        let has = times.counter > 0;
        Figures {
            requests,
            errors,
            rps: if seconds == 0 {
                0.0
            } else {
                requests as f64 / seconds as f64
            },
            p50_ms: if has {
                ms(times.percentile_us(0.50))
            } else {
                0.0
            },
            p95_ms: if has {
                ms(times.percentile_us(0.95))
            } else {
                0.0
            },
            p99_ms: if has {
                ms(times.percentile_us(0.99))
            } else {
                0.0
            },
            avg_ms: if has { times.average_ms() } else { 0.0 },
            max_ms: ms(times.maximum_time_us),
            seconds,
        }
    }
}

fn merge(
    into: &mut GooseRequestMetricTimingData,
    buckets: &mut TimeBuckets,
    other: &GooseRequestMetricTimingData,
) {
    for (bucket, count) in other.times_us.iter() {
        let had = buckets.get(bucket).copied().unwrap_or(0);
        buckets.insert(*bucket, had + count);
    }
    if other.counter > 0 && (into.counter == 0 || other.minimum_time_us < into.minimum_time_us) {
        into.minimum_time_us = other.minimum_time_us;
    }
    into.maximum_time_us = into.maximum_time_us.max(other.maximum_time_us);
    into.total_time_us += other.total_time_us;
    into.counter += other.counter;
}

/// Per-request figures of `metrics`, sorted by request name.
pub fn step_summaries(metrics: &GooseMetrics) -> Vec<StepSummary> {
    let mut out: Vec<StepSummary> = metrics
        .requests
        .iter()
        .map(|(key, agg)| {
            let f = Figures::of(
                &agg.raw_data,
                (agg.success_count + agg.fail_count) as u64,
                agg.fail_count as u64,
                metrics.duration as u64,
            );
            StepSummary {
                request: key.clone(),
                requests: f.requests,
                errors: f.errors,
                rps: f.rps,
                p50_ms: f.p50_ms,
                p95_ms: f.p95_ms,
                p99_ms: f.p99_ms,
            }
        })
        .collect();
    out.sort_by(|a, b| a.request.cmp(&b.request));
    out
}

/// The `limit` most frequent failure reasons Goose recorded.
pub fn failure_reasons(metrics: &GooseMetrics, limit: usize) -> Vec<FailureReason> {
    let mut out: Vec<FailureReason> = metrics
        .errors
        .values()
        .map(|e| FailureReason {
            reason: format!("{} {}: {}", e.method_label(), e.name, e.error),
            count: e.occurrences as u64,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    out.truncate(limit);
    out
}

/// Writes `summary` as `load-summary.json` into `dir` and returns the path.
pub fn write(summary: &LoadSummary, dir: &Path) -> Result<PathBuf, crate::report::ReportError> {
    let path = dir.join(FILE_NAME);
    let io = |source| crate::report::ReportError::Io {
        path: path.clone(),
        source,
    };
    let mut text = serde_json::to_string_pretty(summary).map_err(|e| io(e.into()))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(io)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_figures_of_no_requests_are_zero() {
        let f = Figures::aggregated(&GooseMetrics::default());
        assert_eq!(f.requests, 0);
        assert_eq!(f.p95_ms, 0.0);
        assert_eq!(f.rps, 0.0);
    }

    #[test]
    fn merged_timings_keep_totals() {
        let mut a = GooseRequestMetricTimingData::default();
        a.times_us.insert(1000, 3);
        a.counter = 3;
        a.total_time_us = 3000;
        a.minimum_time_us = 1000;
        a.maximum_time_us = 1000;
        let mut into = GooseRequestMetricTimingData::default();
        let mut buckets = TimeBuckets::new();
        merge(&mut into, &mut buckets, &a);
        merge(&mut into, &mut buckets, &a);
        assert_eq!(into.counter, 6);
        assert_eq!(buckets.get(&1000), Some(&6));
        into.times_us = buckets;
        let f = Figures::of(&into, 6, 0, 2);
        assert_eq!(f.rps, 3.0);
        assert!((f.p50_ms - 1.0).abs() < 0.1, "{f:?}");
    }
}
