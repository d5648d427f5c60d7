//! The human view of a load run: a live progress line on stderr while the attack runs (drawn
//! only on a terminal) and the final summary table on stdout, rendered from the same
//! [`LoadSummary`] that is written to `load-summary.json`.

use super::arrivals::show_rate;
use super::open::OpenModel;
use super::steps::LiveStats;
use crate::report::load_summary::LoadSummary;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running progress line; [`Progress::finish`] removes it.
pub struct Progress {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts the line: elapsed/planned time, requests, current rate, failures (and in the open
    /// model, the iterations in flight and dropped).
    pub fn start(
        stats: Arc<LiveStats>,
        planned: Duration,
        open: Option<Arc<OpenModel>>,
    ) -> Progress {
        let bar = ProgressBar::with_draw_target(
            Some(planned.as_secs().max(1)),
            ProgressDrawTarget::stderr_with_hz(4),
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4}/{len}s {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let line = bar.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut last = (Instant::now(), 0u64);
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let requests = LiveStats::get(&stats.requests);
                let now = Instant::now();
                let secs = now.duration_since(last.0).as_secs_f64();
                let rate = if secs > 0.0 {
                    (requests - last.1) as f64 / secs
                } else {
                    0.0
                };
                last = (now, requests);
                let schema = LiveStats::get(&stats.status_mismatches)
                    + LiveStats::get(&stats.body_violations);
                let failures = schema
                    + LiveStats::get(&stats.transport_errors)
                    + LiveStats::get(&stats.other_failures);
                line.set_position(started.elapsed().as_secs());
                let open = open.as_ref().map_or(String::new(), |o| {
                    format!(
                        "  in flight {}  dropped {}",
                        thousands(o.in_flight() as u64),
                        thousands(o.dropped())
                    )
                });
                line.set_message(format!(
                    "requests {}  {:>8.0} req/s  failures {}  schema failures {}{open}",
                    thousands(requests),
                    rate,
                    thousands(failures),
                    thousands(schema)
                ));
            }
        });
        Progress { bar, task }
    }

    /// Stops and clears the line.
    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds as the tables show them: `4.20ms`, `180ms`.
pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}ms")
    } else {
        format!("{v:.0}ms")
    }
}

/// Renders the final summary. `quiet`: the verdict and its reasons only.
pub fn render(s: &LoadSummary, quiet: bool) -> String {
    let mut out = String::new();
    let verdict = match s.verdict.as_str() {
        "passed" => "PASSED",
        "interrupted" => "INTERRUPTED",
        _ => "FAILED",
    };
    if !quiet {
        let load = match &s.open {
            Some(o) => format!(
                "open model {} ({} iterations/s intended), at most {} in flight",
                o.schedule,
                show_rate(s.intended_rate.unwrap_or_default()),
                o.max_in_flight
            ),
            None => format!("{} users, {}s", s.users, s.duration_s),
        };
        let _ = writeln!(
            out,
            "\nscenario {} against {} ({}), {load}, validate {}",
            s.scenario, s.target, s.target_kind, s.validate
        );
        let _ = writeln!(
            out,
            "\n  {:<32} {:>12} {:>10} {:>9} {:>9} {:>9} {:>9}",
            "request", "requests", "req/s", "p50", "p95", "p99", "errors"
        );
        for step in &s.steps {
            let _ = writeln!(
                out,
                "  {:<32} {:>12} {:>10.1} {:>9} {:>9} {:>9} {:>9}",
                clip(&step.request, 32),
                thousands(step.requests),
                step.rps,
                ms(step.p50_ms),
                ms(step.p95_ms),
                ms(step.p99_ms),
                thousands(step.errors)
            );
        }
        let _ = writeln!(
            out,
            "  {:<32} {:>12} {:>10.1} {:>9} {:>9} {:>9} {:>9}",
            "total",
            thousands(s.requests),
            s.rps,
            ms(s.p50_ms),
            ms(s.p95_ms),
            ms(s.p99_ms),
            thousands(s.errors)
        );
        let _ = writeln!(
            out,
            "\n  schema failures {} (statuses {}, bodies {}), bodies validated {}, transport errors {}",
            thousands(s.schema_failures),
            thousands(s.status_mismatches),
            thousands(s.body_violations),
            thousands(s.validated_bodies),
            thousands(s.transport_errors)
        );
        if let Some(o) = &s.open {
            let _ = writeln!(
                out,
                "  iterations: {} due, {} started, {} completed ({} in the {:.1}s window: {} /s achieved), {} dropped; start delay p50 {} p99 {}",
                thousands(o.due_iterations),
                thousands(o.started_iterations),
                thousands(o.completed_iterations),
                thousands(o.completed_in_window),
                o.window_s,
                show_rate(s.achieved_rate.unwrap_or_default()),
                thousands(s.dropped_iterations.unwrap_or_default()),
                ms(o.start_lag_p50_ms),
                ms(o.start_lag_p99_ms)
            );
            let _ = writeln!(
                out,
                "  (latencies count from each iteration's intended start: queueing is included)"
            );
        }
        if !s.top_reasons.is_empty() {
            let _ = writeln!(out, "\n  top failure reasons:");
            for f in s.top_reasons.iter().take(5) {
                let _ = writeln!(out, "    {:>10}  {}", thousands(f.count), f.reason);
            }
        }
        if s.errors > 0
            && !s
                .thresholds
                .iter()
                .any(|t| t.rule.starts_with("error-rate"))
        {
            let _ = writeln!(
                out,
                "\n  note: {} requests failed and no error-rate threshold gates them",
                thousands(s.errors)
            );
        }
        if !s.thresholds.is_empty() {
            let _ = writeln!(out, "\n  thresholds:");
            for t in &s.thresholds {
                let mark = match (t.passed, t.aborted) {
                    (true, _) => "PASS",
                    (false, false) => "FAIL",
                    (false, true) => "FAIL (stopped the run)",
                };
                let _ = writeln!(
                    out,
                    "    {mark:<4}  {:<28} observed {} ({})",
                    t.rule, t.observed, t.source
                );
            }
        }
        if let Some(b) = &s.baseline {
            let gate = match b.max_regression_pct {
                Some(limit) => format!(
                    ", max regression {limit}%: {}",
                    if b.passed { "PASS" } else { "FAIL" }
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "\n  baseline {}: rps {:+.1}% ({:.1} -> {:.1}), p95 {:+.1}% ({} -> {}){gate}",
                b.path,
                b.rps_change_pct,
                b.baseline_rps,
                s.rps,
                b.p95_change_pct,
                ms(b.baseline_p95_ms),
                ms(s.p95_ms)
            );
        }
        if !s.reports.is_empty() {
            let _ = writeln!(out, "\n  reports: {}", s.reports.join(", "));
        }
        out.push('\n');
    }
    let open = match (s.intended_rate, s.achieved_rate) {
        (Some(intended), Some(achieved)) => format!(
            ", {} of {} iterations/s, {} dropped",
            show_rate(achieved),
            show_rate(intended),
            thousands(s.dropped_iterations.unwrap_or_default())
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "load {verdict}: {} requests, {:.1} req/s, p95 {}, {} errors, {} schema failures{open}",
        thousands(s.requests),
        s.rps,
        ms(s.p95_ms),
        thousands(s.errors),
        thousands(s.schema_failures)
    );
    for reason in &s.failed_because {
        let _ = writeln!(out, "  - {reason}");
    }
    out
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
