//! From a finished attack to the plain summary: Goose's [`GooseMetrics`] become the figures of
//! [`crate::report::load_summary`] (with [`super::figures`]), the run's counters are added, and
//! the verdict is judged. With `figures`, this is the only place that reads Goose's metrics;
//! `report/` and every renderer get the plain model.

use super::arrivals::show_rate;
use super::figures::{aggregated, figures_of};
use super::open::OpenFigures;
use super::plan::{OpenPlan, Plan};
use super::reports::Reports;
use super::scenario::Scenario;
use super::steps::LiveStats;
use crate::exit::Outcome;
use crate::report::load_summary::{
    FailureReason, LoadSummary, OpenSummary, StepSummary, ThresholdVerdict,
};
use goose::metrics::GooseMetrics;

/// What the run knows besides Goose's metrics.
pub struct RunFacts<'a> {
    /// The target's base URL, credentials redacted.
    pub target: String,
    /// `embedded` or `external`.
    pub target_kind: &'static str,
    /// When the attack started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// When it ended.
    pub finished_at: chrono::DateTime<chrono::Utc>,
    /// The run's counters.
    pub stats: &'a LiveStats,
    /// The report files.
    pub reports: &'a Reports,
    /// The signal that stopped the run, if one did.
    pub interrupted: Option<i32>,
    /// Open model: what the dispatcher did.
    pub open: Option<OpenFacts<'a>>,
}

/// What the open model's dispatcher knows after a run.
pub struct OpenFacts<'a> {
    /// The run's open model.
    pub plan: &'a OpenPlan,
    /// The iterations' figures.
    pub figures: OpenFigures,
    /// When the schedule started.
    pub window_start: chrono::DateTime<chrono::Utc>,
    /// Set when the target went silent and the run was stopped: how long it was silent.
    pub stopped_answering: Option<std::time::Duration>,
}

/// Per-request figures of `metrics`, sorted by request name.
pub fn step_summaries(metrics: &GooseMetrics) -> Vec<StepSummary> {
    let mut out: Vec<StepSummary> = metrics
        .requests
        .iter()
        .map(|(key, agg)| {
            let f = figures_of(
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
            example: String::new(),
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    out.truncate(limit);
    out
}

/// Goose's threshold results, each with where its rule came from.
fn threshold_verdicts(plan: &Plan, metrics: &GooseMetrics) -> Vec<ThresholdVerdict> {
    metrics
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
        .collect()
}

/// Steps in the order the scenario runs them (Goose keys them in a hash map).
fn in_scenario_order(mut steps: Vec<StepSummary>, scenario: &Scenario) -> Vec<StepSummary> {
    let keys: Vec<String> = scenario.steps.iter().map(|s| s.request_key()).collect();
    steps.sort_by_key(|s| {
        keys.iter()
            .position(|k| *k == s.request)
            .unwrap_or(usize::MAX)
    });
    steps
}

/// The summary of a finished attack and its verdict.
pub fn summarize(
    plan: &Plan,
    metrics: &GooseMetrics,
    facts: RunFacts<'_>,
) -> (Outcome, LoadSummary) {
    let stats = facts.stats;
    let mut figures = aggregated(metrics);
    // Goose's seconds include the users' start and the last iterations' drain: the open model
    // counts over the window its rate was applied.
    let window_s = facts.open.as_ref().map(|o| o.figures.window_s);
    if let Some(w) = window_s.filter(|w| *w > 0.0) {
        figures.rps = figures.requests as f64 / w;
    }
    let status_mismatches = LiveStats::get(&stats.status_mismatches);
    let body_violations = LiveStats::get(&stats.body_violations);
    let schema_failures = status_mismatches + body_violations;
    let thresholds = threshold_verdicts(plan, metrics);
    let baseline = plan
        .baseline
        .as_ref()
        .map(|b| b.compare(&figures, plan.max_regression));

    let mut failed_because = Vec::new();
    if let Some(signal) = facts.interrupted {
        let ran = (facts.finished_at - facts.started_at).num_milliseconds() as f64 / 1000.0;
        failed_because.push(format!(
            "interrupted by {} after {ran:.1}s of the planned {}s: the figures cover what ran",
            super::signals::name(signal),
            plan.planned().as_secs()
        ));
    }
    if let Some(silent) = facts.open.as_ref().and_then(|o| o.stopped_answering) {
        failed_because.push(format!(
            "the target stopped answering: no response for {:.1}s (--timeout) while requests waited; the run was stopped",
            silent.as_secs_f64()
        ));
    }
    for t in thresholds.iter().filter(|t| !t.passed) {
        failed_because.push(format!(
            "threshold {} failed: observed {}",
            t.rule, t.observed
        ));
    }
    if let Some(o) = facts.open.as_ref().filter(|o| o.figures.dropped > 0) {
        failed_because.push(format!(
            "{} of {} due iterations were dropped: {} were already running (--max-in-flight), so the target was not offered {}/s",
            o.figures.dropped,
            o.figures.due,
            o.plan.max_in_flight,
            show_rate(o.plan.share.mean_rate())
        ));
    }
    if schema_failures > 0 {
        failed_because.push(format!(
            "{schema_failures} responses broke the spec ({status_mismatches} with a status the step does not allow, {body_violations} with a body that breaks the schema)"
        ));
    }
    let redacted = LiveStats::get(&stats.redacted_courier);
    if redacted > 0 {
        failed_because.push(format!(
            "{redacted} courier listings had every body redacted ({}): {}",
            crate::codes::REDACTED_BODY,
            super::steps::REDACTED_HINT
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
    let outcome = match facts.interrupted {
        Some(signal) => Outcome::Interrupted { signal },
        None if failed_because.is_empty() => Outcome::Passed,
        None => Outcome::Failed,
    };

    let summary = LoadSummary {
        tool: format!("recovery-harness {}", env!("CARGO_PKG_VERSION")),
        target: facts.target,
        target_kind: facts.target_kind.to_owned(),
        scenario: plan.scenario.name.clone(),
        scenario_origin: plan.scenario.origin.clone(),
        started_at: facts
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        finished_at: facts
            .finished_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
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
        transport_errors: LiveStats::get(&stats.transport_errors),
        validated_bodies: LiveStats::get(&stats.validated),
        skipped_steps: LiveStats::get(&stats.skipped_steps),
        steps: in_scenario_order(
            step_summaries(metrics)
                .into_iter()
                .map(|mut s| {
                    if let Some(w) = window_s.filter(|w| *w > 0.0) {
                        s.rps = s.requests as f64 / w;
                    }
                    s
                })
                .collect(),
            &plan.scenario,
        ),
        failure_reasons: failure_reasons(metrics, 20),
        top_reasons: stats
            .top_reasons(10)
            .into_iter()
            .map(|(reason, count, example)| FailureReason {
                reason,
                count,
                example,
            })
            .collect(),
        thresholds,
        baseline,
        verdict: match outcome {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Interrupted { .. } => "interrupted",
        }
        .to_owned(),
        failed_because,
        reports: facts.reports.written(),
        shard: plan.shard_summary(
            facts
                .open
                .as_ref()
                .map_or(facts.started_at, |o| o.window_start),
            figures.seconds,
        ),
        merge: None,
        model: if facts.open.is_some() {
            "open"
        } else {
            "closed"
        }
        .to_owned(),
        intended_rate: facts.open.as_ref().map(|o| o.plan.share.mean_rate()),
        achieved_rate: facts.open.as_ref().map(|o| o.figures.achieved_rate()),
        dropped_iterations: facts.open.as_ref().map(|o| o.figures.dropped),
        open: facts
            .open
            .as_ref()
            .map(|o| open_summary(o.plan, &o.figures)),
        capacity: None,
    };
    (outcome, summary)
}

/// The `"open"` object of a run's summary.
pub fn open_summary(plan: &OpenPlan, f: &OpenFigures) -> OpenSummary {
    OpenSummary {
        schedule: plan.share.schedule.describe(),
        max_in_flight: plan.max_in_flight,
        due_iterations: f.due,
        started_iterations: f.started,
        completed_iterations: f.completed,
        completed_in_window: f.completed_in_window,
        window_s: (f.window_s * 1000.0).round() / 1000.0,
        peak_in_flight: f.peak_in_flight,
        start_lag_p50_ms: f.start_lag_p50_ms,
        start_lag_p99_ms: f.start_lag_p99_ms,
    }
}
