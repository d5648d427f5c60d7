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

use super::load_summary::LoadSummary;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A whole load run, as the HTML report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// `recovery-harness` version that produced it (`0.3.0`).
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
    /// `load capacity`: the search's steps and the rate it found (the page then opens with them).
    pub capacity: Option<super::load_summary::CapacitySummary>,
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
    /// Mean (ms), when known.
    pub avg_ms: Option<f64>,
    /// Slowest (ms), when known.
    pub max_ms: Option<f64>,
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
    /// Width of each point's time bucket in seconds (1 unless the run was long).
    pub bucket_s: u64,
    /// One point per bucket that had responses, in time order.
    pub points: Vec<SeriesPoint>,
}

/// The percentiles of one step's responses within one time bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesPoint {
    /// Seconds since the start of the attack at which the bucket starts (it covers
    /// `[second, second + bucket_s)`).
    pub second: u64,
    /// Responses in that bucket.
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

impl LoadReport {
    /// The page's model from the run's `load-summary.json` model and the per-step series (empty
    /// when the producer recorded none: the page says so). The summary's failure reasons are the
    /// engine's error table, keyed by step and reason: schema failures, unexpected statuses and
    /// transport errors alike, so they are both the validation's reasons (when the validation
    /// found any) and the most frequent reasons. An unknown verdict word is shown as failed:
    /// never as passed.
    pub fn from_summary(summary: &LoadSummary, series: Vec<StepSeries>) -> LoadReport {
        let time = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        };
        let reasons: Vec<ReasonCount> = summary
            .failure_reasons
            .iter()
            .map(|r| ReasonCount {
                step: None,
                reason: r.reason.clone(),
                count: r.count,
            })
            .collect();
        let spec_failures = summary.status_mismatches + summary.body_violations;
        LoadReport {
            tool_version: summary
                .tool
                .strip_prefix("recovery-harness ")
                .unwrap_or(&summary.tool)
                .to_owned(),
            target: LoadTarget {
                url: summary.target.clone(),
                kind: if summary.target_kind == "embedded" {
                    TargetKind::Embedded
                } else {
                    TargetKind::External
                },
            },
            scenario: summary.scenario.clone(),
            scenario_origin: summary.scenario_origin.clone(),
            started_at: time(&summary.started_at),
            finished_at: time(&summary.finished_at),
            users: summary.users,
            hatch_rate: summary.hatch_rate,
            duration_s: summary.duration_s,
            throttle: summary.throttle,
            validate: summary.validate.clone(),
            verdict: match summary.verdict.as_str() {
                "passed" => LoadVerdict::Passed,
                "interrupted" => LoadVerdict::Interrupted,
                _ => LoadVerdict::Failed,
            },
            reasons: summary.failed_because.clone(),
            thresholds: summary
                .thresholds
                .iter()
                .map(|t| ThresholdOutcome {
                    rule: t.rule.clone(),
                    source: t.source.clone(),
                    observed: t.observed.clone(),
                    passed: t.passed,
                    aborted: t.aborted,
                })
                .collect(),
            totals: LoadFigures {
                requests: summary.requests,
                errors: summary.errors,
                rps: summary.rps,
                p50_ms: summary.p50_ms,
                p95_ms: summary.p95_ms,
                p99_ms: summary.p99_ms,
                avg_ms: Some(summary.avg_ms),
                max_ms: Some(summary.max_ms),
            },
            steps: summary
                .steps
                .iter()
                .map(|s| StepFigures {
                    name: s.request.clone(),
                    figures: LoadFigures {
                        requests: s.requests,
                        errors: s.errors,
                        rps: s.rps,
                        p50_ms: s.p50_ms,
                        p95_ms: s.p95_ms,
                        p99_ms: s.p99_ms,
                        avg_ms: None,
                        max_ms: None,
                    },
                })
                .collect(),
            validation: Validation {
                validated_bodies: summary.validated_bodies,
                status_mismatches: summary.status_mismatches,
                body_violations: summary.body_violations,
                transport_errors: summary.transport_errors,
                failures: if spec_failures > 0 {
                    reasons.clone()
                } else {
                    Vec::new()
                },
            },
            top_reasons: reasons,
            series,
            baseline: summary.baseline.as_ref().map(|b| BaselineDelta {
                path: b.path.clone(),
                baseline_rps: b.baseline_rps,
                baseline_p95_ms: b.baseline_p95_ms,
                rps_change_pct: b.rps_change_pct,
                p95_change_pct: b.p95_change_pct,
                max_regression_pct: b.max_regression_pct,
                passed: b.passed,
            }),
            notes: Vec::new(),
            capacity: summary.capacity.clone(),
        }
    }
}

/// Samples kept per step and time bucket: enough for a stable p99 (10 samples above it), small
/// enough that a long run stays bounded ([`MAX_BUCKETS`] × this × 8 bytes per step).
pub const SAMPLES_PER_BUCKET: usize = 1_000;
/// Time buckets kept per step: past this, neighbouring buckets are merged and the width doubles,
/// so a 24 h run still gives a chart of at most this many points.
pub const MAX_BUCKETS: usize = 600;

/// Collects response times by step and time and turns them into [`StepSeries`].
///
/// Bounded whatever the run's length and rate: each bucket keeps a uniform random sample of its
/// response times (reservoir sampling, at most [`SAMPLES_PER_BUCKET`]) and its true count; when a
/// step has more than [`MAX_BUCKETS`] buckets, pairs are merged and the bucket width doubles.
/// Percentiles are nearest-rank over the sample (exact while a bucket holds fewer responses than
/// the cap). Merging two full buckets keeps an even share of each, close to proportional at a
/// steady rate.
#[derive(Debug, Clone)]
pub struct SeriesBuilder {
    bucket_s: u64,
    order: Vec<String>,
    steps: std::collections::HashMap<String, BTreeMap<u64, Reservoir>>,
    rng: u64,
}

#[derive(Debug, Clone, Default)]
struct Reservoir {
    seen: u64,
    times: Vec<u64>,
}

impl Default for SeriesBuilder {
    fn default() -> Self {
        SeriesBuilder::new()
    }
}

impl SeriesBuilder {
    /// An empty builder with one-second buckets.
    pub fn new() -> SeriesBuilder {
        SeriesBuilder {
            bucket_s: 1,
            order: Vec::new(),
            steps: std::collections::HashMap::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Records one response of `step`, `second` seconds into the run, that took `micros`.
    pub fn record(&mut self, step: &str, second: u64, micros: u64) {
        let bucket = second / self.bucket_s * self.bucket_s;
        // xorshift64: the reservoir needs cheap, not cryptographic, randomness.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let random = self.rng;
        // No allocation on the hot path: the step's name is copied once, when first seen.
        let buckets = match self.steps.get_mut(step) {
            Some(b) => b,
            None => {
                self.order.push(step.to_owned());
                self.steps.entry(step.to_owned()).or_default()
            }
        };
        let r = buckets.entry(bucket).or_default();
        r.seen += 1;
        if r.times.len() < SAMPLES_PER_BUCKET {
            r.times.push(micros);
        } else {
            let j = (random % r.seen) as usize;
            if j < SAMPLES_PER_BUCKET {
                r.times[j] = micros;
            }
        }
        if buckets.len() > MAX_BUCKETS {
            self.widen();
        }
    }

    /// Doubles the bucket width, merging neighbours in every step.
    fn widen(&mut self) {
        self.bucket_s *= 2;
        let width = self.bucket_s;
        for buckets in self.steps.values_mut() {
            let old = std::mem::take(buckets);
            for (start, r) in old {
                let into = buckets.entry(start / width * width).or_default();
                into.seen += r.seen;
                into.times.extend(r.times);
                if into.times.len() > SAMPLES_PER_BUCKET {
                    // Every other sample: both halves were capped samples of their own bucket.
                    let kept: Vec<u64> = into.times.iter().step_by(2).copied().collect();
                    into.times = kept;
                }
            }
        }
    }

    /// The width of the time buckets in seconds (1 unless the run was long).
    pub fn bucket_seconds(&self) -> u64 {
        self.bucket_s
    }

    /// The series, one per step in the order the steps were first recorded.
    pub fn finish(mut self) -> Vec<StepSeries> {
        let bucket_s = self.bucket_s;
        self.order
            .iter()
            .map(|step| {
                let buckets = self.steps.remove(step).unwrap_or_default();
                let points = buckets
                    .into_iter()
                    .map(|(second, mut r)| {
                        r.times.sort_unstable();
                        SeriesPoint {
                            second,
                            requests: r.seen,
                            p50_ms: nearest_rank(&r.times, 0.50),
                            p95_ms: nearest_rank(&r.times, 0.95),
                            p99_ms: nearest_rank(&r.times, 0.99),
                        }
                    })
                    .collect();
                StepSeries {
                    step: step.clone(),
                    bucket_s,
                    points,
                }
            })
            .collect()
    }
}

/// A [`SeriesBuilder`] that many tasks record into at once (one short lock per response).
#[derive(Debug, Default)]
pub struct SeriesRecorder(std::sync::Mutex<SeriesBuilder>);

impl SeriesRecorder {
    /// Records one response (see [`SeriesBuilder::record`]).
    pub fn record(&self, step: &str, second: u64, micros: u64) {
        // A panic elsewhere while holding the lock leaves consistent data: keep recording.
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        b.record(step, second, micros);
    }

    /// The series recorded so far; the recorder is empty afterwards.
    pub fn take(&self) -> Vec<StepSeries> {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *b).finish()
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
    fn series_stay_bounded_over_a_long_fast_run() {
        let mut b = SeriesBuilder::new();
        // 2 hours at 200 responses per second, slower in the second hour.
        for second in 0..7200u64 {
            let base = if second < 3600 { 1_000 } else { 5_000 };
            for i in 0..200u64 {
                b.record("GET create flow", second, base + i % 100);
            }
        }
        assert!(b.bucket_seconds() > 1);
        let series = b.finish();
        let points = &series[0].points;
        assert!(points.len() <= MAX_BUCKETS, "{}", points.len());
        assert_eq!(
            points.iter().map(|p| p.requests).sum::<u64>(),
            7200 * 200,
            "every response is counted"
        );
        let first = points[0];
        let last = points[points.len() - 1];
        assert!((1.0..1.1).contains(&first.p50_ms), "{first:?}");
        assert!((5.0..5.1).contains(&last.p99_ms), "{last:?}");
        assert_eq!(series[0].bucket_s, 16);
    }

    #[test]
    fn the_recorder_is_shared_across_threads() {
        let rec = std::sync::Arc::new(SeriesRecorder::default());
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let rec = rec.clone();
                s.spawn(move || {
                    for i in 0..500u64 {
                        rec.record("GET create flow", i % 5, 1000 * (t + 1));
                    }
                });
            }
        });
        let series = rec.take();
        assert_eq!(series[0].points.len(), 5);
        assert_eq!(
            series[0].points.iter().map(|p| p.requests).sum::<u64>(),
            2000
        );
        assert!(rec.take().is_empty(), "taken once");
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
