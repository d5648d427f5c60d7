//! The plain model of a finished load run that the load `report.html` renders ([`super::html_load`]).
//!
//! Plain data only: no load engine's types. `load/` fills it from its engine's metrics and its own
//! counters; the renderer never computes a verdict, never reads the clock and never sees a secret
//! (the producer redacts URLs before they land here). Times are milliseconds, seconds are counted
//! from the start of the attack.
//!
//! [`SeriesBuilder`] is the one piece of arithmetic offered here: it turns per-request samples
//! (step, second, response time) into the per-step percentile series, so that whichever engine
//! produces the samples, every report computes percentiles over time the same way.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A whole load run, as the HTML report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// `recovery-harness` version that produced it (`0.2.0`).
    pub tool_version: String,
    /// What was loaded.
    pub target: LoadTarget,
    /// The scenario's name.
    pub scenario: String,
    /// Where the scenario came from: `embedded` or its path.
    pub scenario_origin: String,
    /// When the attack started.
    pub started_at: DateTime<Utc>,
    /// When the attack ended (interrupted runs included).
    pub finished_at: DateTime<Utc>,
    /// Concurrent users.
    pub users: usize,
    /// Users started per second.
    pub hatch_rate: f64,
    /// The configured run time after the ramp-up, in seconds.
    pub duration_s: u64,
    /// Requests/s cap, if any.
    pub throttle: Option<usize>,
    /// Body validation mode as given: `all`, `sample:N` or `none`.
    pub validate: String,
    /// The run's verdict.
    pub verdict: LoadVerdict,
    /// Why the run failed or was interrupted, one sentence each (empty when it passed).
    pub reasons: Vec<String>,
    /// Each threshold rule and its outcome, in the order given.
    pub thresholds: Vec<ThresholdOutcome>,
    /// All requests together.
    pub totals: LoadFigures,
    /// Each step (request name), in scenario order.
    pub steps: Vec<StepFigures>,
    /// What the response validation found.
    pub validation: Validation,
    /// The most frequent failure reasons of any kind (transport, status, body), most frequent first.
    pub top_reasons: Vec<ReasonCount>,
    /// Percentiles per step over time (one series per step, scenario order).
    pub series: Vec<StepSeries>,
    /// The comparison with a baseline run, if one was given.
    pub baseline: Option<BaselineDelta>,
    /// Run-level notes (shard, sampling, ...), shown under the verdict.
    pub notes: Vec<String>,
}

/// The loaded target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadTarget {
    /// Base URL (credentials redacted).
    pub url: String,
    /// Whether it was the in-process reference server or a deployment outside the process.
    pub kind: TargetKind,
}

/// Where the target ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// The reference server started in-process (no `--target`).
    Embedded,
    /// A deployment given with `--target`.
    External,
}

impl LoadTarget {
    /// The label every report shows: the URL, marked as the embedded reference server only
    /// when it was one.
    pub fn label(&self) -> String {
        match self.kind {
            TargetKind::Embedded => format!("{} (embedded reference server)", self.url),
            TargetKind::External => self.url.clone(),
        }
    }
}

/// The verdict of a load run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadVerdict {
    /// Every threshold held, no response broke the spec, no regression beyond the limit.
    Passed,
    /// Something in [`LoadReport::reasons`] went wrong.
    Failed,
    /// Stopped by a signal before the planned end; never `passed`.
    Interrupted,
}

impl LoadVerdict {
    /// The lowercase word of `load-summary.json` (`passed`, `failed`, `interrupted`).
    pub fn as_str(self) -> &'static str {
        match self {
            LoadVerdict::Passed => "passed",
            LoadVerdict::Failed => "failed",
            LoadVerdict::Interrupted => "interrupted",
        }
    }
}

/// A threshold rule and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdOutcome {
    /// The rule as given (`p95<50ms`, `error-rate<1%`, `p99<100ms for GET create flow`).
    pub rule: String,
    /// Where it came from: `--threshold` or `scenario`.
    pub source: String,
    /// What was observed, in words (`p95 = 12.3 ms`), or why nothing was (`no samples`).
    pub observed: String,
    /// Whether it held.
    pub passed: bool,
    /// Whether its breach stopped the run early (`--abort-on-fail`).
    pub aborted: bool,
}

/// Request counts and response times of a set of requests.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadFigures {
    /// Requests measured.
    pub requests: u64,
    /// Failed requests (transport errors, unexpected statuses, broken bodies).
    pub errors: u64,
    /// Requests per second.
    pub rps: f64,
    /// Median response time (ms).
    pub p50_ms: f64,
    /// 95th percentile (ms).
    pub p95_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// Mean (ms).
    pub avg_ms: f64,
    /// Slowest (ms).
    pub max_ms: f64,
}

/// One step's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFigures {
    /// The step's request name (`GET create flow`).
    pub name: String,
    /// Its figures.
    pub figures: LoadFigures,
}

/// What validating the responses found, over the whole run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Validation {
    /// Response bodies validated against their schema.
    pub validated_bodies: u64,
    /// Responses with a status the step does not allow.
    pub status_mismatches: u64,
    /// Bodies that were not JSON, broke their schema or had the wrong `state`/`error.id`.
    pub body_violations: u64,
    /// Requests that got no response.
    pub transport_errors: u64,
    /// The spec failures (statuses and bodies) grouped by step and reason, most frequent first.
    pub failures: Vec<ReasonCount>,
}

impl Validation {
    /// Responses that broke the spec (statuses and bodies); any of them fails the run.
    pub fn spec_failures(&self) -> u64 {
        self.status_mismatches + self.body_violations
    }
}

/// A failure reason and how often it occurred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    /// The step it happened in, when known (`GET create flow`).
    pub step: Option<String>,
    /// The reason (`/ui/nodes: expected array, got null`, `status 500, expected 200`).
    pub reason: String,
    /// Occurrences.
    pub count: u64,
}

/// One step's response-time percentiles over time.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSeries {
    /// The step's request name.
    pub step: String,
    /// One point per second that had responses, in time order.
    pub points: Vec<SeriesPoint>,
}

/// The percentiles of one step's responses within one second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesPoint {
    /// Seconds since the start of the attack (the point covers `[second, second + 1)`).
    pub second: u64,
    /// Responses in that second.
    pub requests: u64,
    /// Median (ms).
    pub p50_ms: f64,
    /// 95th percentile (ms).
    pub p95_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
}

/// The comparison with a baseline run.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineDelta {
    /// The baseline report read.
    pub path: String,
    /// The baseline's requests per second.
    pub baseline_rps: f64,
    /// The baseline's p95 (ms).
    pub baseline_p95_ms: f64,
    /// Change of rps in percent (negative: slower).
    pub rps_change_pct: f64,
    /// Change of p95 in percent (positive: slower).
    pub p95_change_pct: f64,
    /// The allowed regression in percent, if one was set.
    pub max_regression_pct: Option<f64>,
    /// Whether the regression gate held (true without a gate).
    pub passed: bool,
}

/// Collects response times by step and second and turns them into [`StepSeries`].
///
/// Percentiles are exact over the samples of each second (nearest rank), so memory grows with
/// the samples recorded: a producer of long runs records a sample of the requests (every Nth),
/// which keeps each second's percentiles representative.
#[derive(Debug, Default, Clone)]
pub struct SeriesBuilder {
    // Step name -> second -> response times in microseconds. Steps keep first-recorded order.
    order: Vec<String>,
    samples: BTreeMap<String, BTreeMap<u64, Vec<u64>>>,
}

impl SeriesBuilder {
    /// An empty builder.
    pub fn new() -> SeriesBuilder {
        SeriesBuilder::default()
    }

    /// Records one response of `step`, `second` seconds into the run, that took `micros`.
    pub fn record(&mut self, step: &str, second: u64, micros: u64) {
        if !self.samples.contains_key(step) {
            self.order.push(step.to_owned());
        }
        self.samples
            .entry(step.to_owned())
            .or_default()
            .entry(second)
            .or_default()
            .push(micros);
    }

    /// The series, one per step in the order the steps were first recorded.
    pub fn finish(mut self) -> Vec<StepSeries> {
        self.order
            .iter()
            .map(|step| {
                let seconds = self.samples.remove(step).unwrap_or_default();
                let points = seconds
                    .into_iter()
                    .map(|(second, mut times)| {
                        times.sort_unstable();
                        SeriesPoint {
                            second,
                            requests: times.len() as u64,
                            p50_ms: nearest_rank(&times, 0.50),
                            p95_ms: nearest_rank(&times, 0.95),
                            p99_ms: nearest_rank(&times, 0.99),
                        }
                    })
                    .collect();
                StepSeries {
                    step: step.clone(),
                    points,
                }
            })
            .collect()
    }
}

/// Nearest-rank percentile of sorted microsecond samples, in milliseconds (0 without samples).
fn nearest_rank(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_builder_computes_nearest_rank_percentiles_per_second() {
        let mut b = SeriesBuilder::new();
        for ms in 1..=100u64 {
            b.record("GET create flow", 0, ms * 1000);
        }
        b.record("GET fetch flow", 3, 2500);
        b.record("GET create flow", 1, 7000);
        let series = b.finish();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].step, "GET create flow");
        let first = series[0].points[0];
        assert_eq!(
            (
                first.second,
                first.requests,
                first.p50_ms,
                first.p95_ms,
                first.p99_ms
            ),
            (0, 100, 50.0, 95.0, 99.0)
        );
        assert_eq!(series[0].points[1].p99_ms, 7.0);
        assert_eq!(series[1].step, "GET fetch flow");
        assert_eq!(series[1].points[0].second, 3);
        assert_eq!(series[1].points[0].p50_ms, 2.5);
    }

    #[test]
    fn target_label_marks_only_the_embedded_server() {
        let mut t = LoadTarget {
            url: "https://id.example.com/auth".into(),
            kind: TargetKind::External,
        };
        assert_eq!(t.label(), "https://id.example.com/auth");
        t.kind = TargetKind::Embedded;
        assert!(t.label().ends_with("(embedded reference server)"));
    }
}
