//! The run's own counters ([`LiveStats`]), kept by the steps for the whole run: the live
//! progress line, the verdict and the report read them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters the transactions keep for the whole run (ramp-up included, unlike Goose's metrics,
/// which are reset once every user has started): the live progress line and the verdict read
/// them. Relaxed atomics: they are only ever summed.
#[derive(Debug, Default)]
pub struct LiveStats {
    /// Requests sent.
    pub requests: AtomicU64,
    /// Responses received (any status).
    pub responses: AtomicU64,
    /// Requests that got no response (connection refused or reset, timeout).
    pub transport_errors: AtomicU64,
    /// Responses whose status no expectation of the step allows.
    pub status_mismatches: AtomicU64,
    /// Responses whose body broke the schema (or was not JSON, or had the wrong state/error id).
    pub body_violations: AtomicU64,
    /// Other failed steps (no code in the courier, a body that could not be read).
    pub other_failures: AtomicU64,
    /// Bodies validated against a schema.
    pub validated: AtomicU64,
    /// Steps not run because an earlier step of their iteration failed.
    pub skipped_steps: AtomicU64,
    /// Courier listings whose bodies Kratos redacted (it runs without `--dev`).
    pub redacted_courier: AtomicU64,
    /// Every failure reason (step, expectation) with its count and a first body excerpt.
    pub reasons: std::sync::Mutex<std::collections::HashMap<String, (u64, String)>>,
    /// Response times by step (keyed by the step's name) and second, for report.html's charts.
    pub latency: crate::report::load_report::SeriesRecorder,
}

impl LiveStats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Counts `reason`, keeping the first `example` seen for it.
    pub fn reason(&self, reason: String, example: impl FnOnce() -> String) {
        let mut reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        match reasons.get_mut(&reason) {
            Some((count, _)) => *count += 1,
            None => {
                reasons.insert(reason, (1, example()));
            }
        }
    }

    /// The `limit` most frequent reasons: `(reason, count, example)`.
    pub fn top_reasons(&self, limit: usize) -> Vec<(String, u64, String)> {
        let reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(String, u64, String)> = reasons
            .iter()
            .map(|(r, (c, e))| (r.clone(), *c, e.clone()))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        out
    }
}
