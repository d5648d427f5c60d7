//! What a capacity search found, as plain data: each step's figures ([`CapacityStep`]), the
//! `"capacity"` object and the top-level `load-summary.json` of the search, its verdict, and the
//! table on the terminal.

use super::search::{CapacityPlan, Stopped};
use crate::exit::Outcome;
use crate::load::arrivals::show_rate;
use crate::load::console::{ms, thousands};
use crate::report::load_summary::{CapacityStep, CapacitySummary, LoadSummary};
use std::fmt::Write as _;

/// One step's line of the `"capacity"` object, from the step's own summary.
pub fn step(index: usize, rate: f64, summary: &LoadSummary, report_dir: String) -> CapacityStep {
    CapacityStep {
        index,
        intended_rate: rate,
        achieved_rate: summary.achieved_rate.unwrap_or_default(),
        requests: summary.requests,
        p50_ms: summary.p50_ms,
        p95_ms: summary.p95_ms,
        p99_ms: summary.p99_ms,
        error_rate_pct: if summary.requests > 0 {
            summary.errors as f64 / summary.requests as f64 * 100.0
        } else {
            0.0
        },
        dropped_iterations: summary.dropped_iterations.unwrap_or_default(),
        start_lag_p99_ms: summary.open.as_ref().map_or(0.0, |o| o.start_lag_p99_ms),
        verdict: summary.verdict.clone(),
        failed_because: summary.failed_because.clone(),
        generator_limited: summary.verdict == "failed" && generator_limited(summary),
        report_dir,
    }
}

/// Whether the load generator, not the target, made a step fail: the 99th percentile of its
/// delay in starting iterations (its own CPU: the users are never short, there are as many as
/// may be in flight) is a quarter of the latencies' 99th percentile or more, and above 20 ms,
/// while the target kept up (no iteration dropped, never more than half of `--max-in-flight`
/// running). A target that queues fills the in-flight iterations; on a machine it shares with
/// the generator, that also makes the generator late, which is then not the generator's fault.
pub fn generator_limited(summary: &LoadSummary) -> bool {
    summary.open.as_ref().is_some_and(|o| {
        o.start_lag_p99_ms > 20.0
            && o.start_lag_p99_ms >= 0.25 * summary.p99_ms
            && summary.dropped_iterations.unwrap_or_default() == 0
            && o.peak_in_flight * 2 <= o.max_in_flight
    })
}

/// A step that could not run at all (the target gave no answer in it): its rate and why.
pub fn failed_step(index: usize, rate: f64, why: String, report_dir: String) -> CapacityStep {
    CapacityStep {
        index,
        intended_rate: rate,
        achieved_rate: 0.0,
        requests: 0,
        p50_ms: 0.0,
        p95_ms: 0.0,
        p99_ms: 0.0,
        error_rate_pct: 0.0,
        dropped_iterations: 0,
        start_lag_p99_ms: 0.0,
        verdict: "failed".to_owned(),
        failed_because: vec![why],
        generator_limited: false,
        report_dir,
    }
}

/// How the search ended, besides the steps.
#[derive(Debug, Clone)]
pub enum Ending {
    /// The search stopped by itself.
    Stopped(Stopped),
    /// A signal stopped it.
    Interrupted(i32),
    /// The target stopped answering (or gave no answer in a step), or the generator could not
    /// offer a rate: the command's error.
    Error(String, &'static str),
}

/// The `"capacity"` object, the verdict, and why it failed.
pub fn judge(
    plan: &CapacityPlan,
    max_in_flight: usize,
    steps: Vec<CapacityStep>,
    ending: &Ending,
) -> (Outcome, CapacitySummary, Vec<String>) {
    let passed = |s: &&CapacityStep| s.verdict == "passed";
    let counted = |s: &&CapacityStep| !s.generator_limited;
    let rate = steps
        .iter()
        .filter(passed)
        .map(|s| s.intended_rate)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    let failing = steps
        .iter()
        .filter(counted)
        .filter(|s| s.verdict == "failed" && rate.is_none_or(|r| s.intended_rate > r))
        .min_by(|a, b| a.intended_rate.total_cmp(&b.intended_rate));
    let mut failed_because = Vec::new();
    let outcome = match ending {
        Ending::Interrupted(signal) => {
            failed_because.push(format!(
                "interrupted by {} after {} steps: the steps that ran are reported",
                crate::load::signals::name(*signal),
                steps.len()
            ));
            Outcome::Interrupted { signal: *signal }
        }
        Ending::Error(why, _) => {
            failed_because.push(why.clone());
            Outcome::Failed
        }
        Ending::Stopped(Stopped::FirstStepFailed) => {
            let first = steps.first();
            failed_because.push(format!(
                "the first step, {}/s, already broke a rule: {}; give a lower --start-rate to find the capacity",
                show_rate(plan.start_rate),
                first.map_or(String::new(), |s| s.failed_because.join("; "))
            ));
            Outcome::Failed
        }
        Ending::Stopped(_) => match (rate, plan.min_rate) {
            (Some(r), Some(min)) if r < min => {
                failed_because.push(format!(
                    "the capacity {}/s is below --min-rate {}/s",
                    show_rate(r),
                    show_rate(min)
                ));
                Outcome::Failed
            }
            (Some(_), _) => Outcome::Passed,
            (None, _) => {
                failed_because.push("no step held every rule".to_owned());
                Outcome::Failed
            }
        },
    };
    let stopped_by = match ending {
        Ending::Stopped(s) => s.name(),
        Ending::Interrupted(_) => "interrupted",
        Ending::Error(_, by) => by,
    };
    let summary = CapacitySummary {
        slo: plan.slo.clone(),
        precision_pct: plan.precision_pct,
        min_rate: plan.min_rate,
        max_rate: plan.max_rate,
        step_duration_s: plan.step.as_secs_f64(),
        max_in_flight,
        rate,
        failing_rate: failing.map(|s| s.intended_rate),
        failing_rules: failing
            .map(|s| s.failed_because.clone())
            .unwrap_or_default(),
        stopped_by: stopped_by.to_owned(),
        steps,
    };
    (outcome, summary, failed_because)
}

/// The search's `load-summary.json`: the figures of the step at the capacity (the first step
/// when none held), the search's verdict, and the `"capacity"` object.
pub fn summary(
    step_summaries: &[LoadSummary],
    capacity: CapacitySummary,
    outcome: Outcome,
    failed_because: Vec<String>,
    reports: Vec<String>,
) -> Option<LoadSummary> {
    let at = capacity
        .rate
        .and_then(|r| capacity.steps.iter().position(|s| s.intended_rate == r))
        .and_then(|i| step_summaries.get(i))
        .or_else(|| step_summaries.first())?;
    let mut s = at.clone();
    s.started_at = step_summaries
        .first()
        .map_or(s.started_at.clone(), |f| f.started_at.clone());
    s.finished_at = step_summaries
        .last()
        .map_or(s.finished_at.clone(), |l| l.finished_at.clone());
    s.verdict = match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Interrupted { .. } => "interrupted",
    }
    .to_owned();
    s.failed_because = failed_because;
    s.reports = reports;
    s.capacity = Some(capacity);
    Some(s)
}

/// The line printed when a step ends.
pub fn step_line(s: &CapacityStep) -> String {
    format!(
        "  step {:>2}  {:>10}/s  achieved {:>10}/s  p50 {:>8}  p95 {:>8}  p99 {:>8}  errors {:>6.2}%  dropped {:>6}  {}",
        s.index,
        show_rate(s.intended_rate),
        show_rate(s.achieved_rate),
        ms(s.p50_ms),
        ms(s.p95_ms),
        ms(s.p99_ms),
        s.error_rate_pct,
        thousands(s.dropped_iterations),
        match s.verdict.as_str() {
            "passed" => "PASS".to_owned(),
            "interrupted" => "INTERRUPTED".to_owned(),
            _ if s.generator_limited => format!(
                "GENERATOR LATE (start delay p99 {}): run again; {}",
                ms(s.start_lag_p99_ms),
                s.failed_because.join("; ")
            ),
            _ => format!("FAIL: {}", s.failed_because.join("; ")),
        }
    )
}

/// The search's verdict as the terminal shows it: the capacity and what broke above it.
pub fn render(summary: &LoadSummary, quiet: bool) -> String {
    let mut out = String::new();
    let Some(c) = &summary.capacity else {
        return out;
    };
    if !quiet {
        let _ = writeln!(
            out,
            "\ncapacity search against {} ({}), scenario {}: {} steps of {}s, rules {}",
            summary.target,
            summary.target_kind,
            summary.scenario,
            c.steps.len(),
            show_rate(c.step_duration_s),
            c.slo.join(", ")
        );
        for s in &c.steps {
            let _ = writeln!(out, "{}", step_line(s));
        }
        let lagging: Vec<&crate::report::load_summary::CapacityStep> = c
            .steps
            .iter()
            .filter(|s| s.start_lag_p99_ms > 10.0 && s.verdict == "failed")
            .collect();
        for s in lagging {
            let _ = writeln!(
                out,
                "  note: at {}/s the load generator started 1% of the iterations {} or more late (its own CPU, or too few --max-in-flight users); that delay is in the latencies",
                show_rate(s.intended_rate),
                ms(s.start_lag_p99_ms)
            );
        }
        let _ = writeln!(out, "  reports: {}", summary.reports.join(", "));
        out.push('\n');
    }
    let verdict = match summary.verdict.as_str() {
        "passed" => "PASSED",
        "interrupted" => "INTERRUPTED",
        _ => "FAILED",
    };
    let found = match c.rate {
        Some(r) if c.stopped_by == "max_rate" => format!(
            "every step up to --max-rate held: the capacity is at least {}/s",
            show_rate(r)
        ),
        Some(r) => format!("capacity {}/s", show_rate(r)),
        None => "no capacity found".to_owned(),
    };
    let _ = writeln!(out, "load capacity {verdict}: {found}");
    if let Some(f) = c.failing_rate {
        let _ = writeln!(
            out,
            "  first failing rate {}/s: {}",
            show_rate(f),
            c.failing_rules.join("; ")
        );
    }
    if let (Some(r), Some(f), "generator_limited") = (c.rate, c.failing_rate, c.stopped_by.as_str())
    {
        let _ = writeln!(
            out,
            "  note: the capacity lies between {}/s and {}/s ({:.0}% apart, not the {}% asked): the load generator could not start a rate in between on time, twice (its own CPU); run it on a machine with more CPU to spare for a finer figure",
            show_rate(r),
            show_rate(f),
            (f - r) / r * 100.0,
            show_rate(c.precision_pct)
        );
    }
    for reason in &summary.failed_because {
        let _ = writeln!(out, "  - {reason}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(min_rate: Option<f64>) -> CapacityPlan {
        CapacityPlan {
            slo: vec!["p99<100ms".to_owned()],
            precision_pct: 5.0,
            min_rate,
            start_rate: 100.0,
            max_rate: 10_000.0,
            step: std::time::Duration::from_secs(2),
            report_dir: "out".into(),
        }
    }

    fn at(index: usize, rate: f64, passed: bool, late: bool) -> CapacityStep {
        let mut s = failed_step(
            index,
            rate,
            "threshold p99<100ms failed".to_owned(),
            String::new(),
        );
        if passed {
            s.verdict = "passed".to_owned();
            s.failed_because.clear();
        }
        s.generator_limited = late;
        s
    }

    /// 400 passed and 800 failed on the target's account; 566 was the generator's, twice: the
    /// capacity stands at 400 with 800 above it, and only a late step is not counted as failing.
    #[test]
    fn a_late_generator_inside_a_bracket_keeps_the_bracket() {
        let steps = vec![
            at(1, 100.0, true, false),
            at(2, 200.0, true, false),
            at(3, 400.0, true, false),
            at(4, 800.0, false, false),
            at(5, 566.0, false, true),
            at(6, 566.0, false, true),
        ];
        let ending = Ending::Stopped(Stopped::GeneratorLimited);
        let (outcome, c, why) = judge(&plan(None), 200, steps.clone(), &ending);
        assert_eq!(outcome, Outcome::Passed);
        assert_eq!((c.rate, c.failing_rate), (Some(400.0), Some(800.0)));
        assert_eq!(c.stopped_by, "generator_limited");
        assert!(why.is_empty(), "{why:?}");
        // A --min-rate inside the bracket's passing side still gates.
        let (outcome, _, why) = judge(&plan(Some(500.0)), 200, steps, &ending);
        assert_eq!(outcome, Outcome::Failed);
        assert!(why[0].contains("below --min-rate"), "{why:?}");
    }
}
