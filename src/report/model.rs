//! The one result model of a conformance run. `check/` produces it, every format renders it;
//! renderers never re-run logic and never read the clock (timestamps are data here).

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The target behaved as the rule says.
    Passed,
    /// The target broke the rule, or could not be asked (the evidence says which).
    Failed,
    /// The check did not run; `detail` says why (missing credentials, a failed prerequisite, `--only`).
    Skipped,
}

/// Where the rule a check enforces comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// A schema or status of the OpenAPI document.
    OpenApi,
    /// The spec's documented prose (descriptions), stricter than its schemas.
    SpecProse,
    /// What real Kratos does (KRATOS-RECOVERY-BEHAVIOUR.md), where the spec is silent.
    ObservedKratos,
}

/// One HTTP exchange that supports a verdict. Secrets are already redacted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// HTTP method.
    pub method: String,
    /// Full URL requested.
    pub url: String,
    /// Request headers worth showing (credentials redacted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_headers: Vec<(String, String)>,
    /// Response status, when a response arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response headers worth showing (`content-type`, `location`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<(String, String)>,
    /// JSON pointer of the failing value, when one value is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The failing value (JSON-encoded, shortened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The start of the response body (shortened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_excerpt: Option<String>,
    /// A `curl` line that reproduces the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curl: Option<String>,
    /// Transport-level failure (timeout, reset, refused, oversized body), when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_error: Option<String>,
}

/// The result of one check of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// Stable dotted id (`create_native.signed_in.token.400`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// The operation it exercises (`createNativeRecoveryFlow`, `getRecoveryFlow`, ...); groups reports.
    pub operation: String,
    /// The rule enforced, in words.
    pub rule: String,
    /// Where the rule comes from.
    pub source: RuleSource,
    /// The verdict.
    pub status: Status,
    /// What was expected, what was seen, the JSON pointer of the failing value; the skip reason.
    pub detail: String,
    /// The exchanges behind the verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Time spent on this check.
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
}

/// Counts of each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed checks.
    pub passed: usize,
    /// Failed checks.
    pub failed: usize,
    /// Skipped checks.
    pub skipped: usize,
}

/// A whole conformance run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// `recovery-harness` version that produced it.
    pub tool_version: String,
    /// Base URL checked (redacted).
    pub target: String,
    /// Whether the target was the embedded reference server.
    pub embedded_target: bool,
    /// Whether TLS verification was switched off (`--insecure`), said loudly by every format.
    pub insecure: bool,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// Wall time of the run (reports excluded).
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
    /// Run-level notes (recovery disabled, fuzz seed, ...), shown above the checks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Every check of the catalogue that was selected, in catalogue order.
    pub checks: Vec<CheckResult>,
}

impl RunReport {
    /// Counts of each status.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.status {
                Status::Passed => s.passed += 1,
                Status::Failed => s.failed += 1,
                Status::Skipped => s.skipped += 1,
            }
        }
        s
    }

    /// Exit verdict: failed when any check failed.
    pub fn outcome(&self) -> crate::exit::Outcome {
        if self.summary().failed > 0 {
            crate::exit::Outcome::Failed
        } else {
            crate::exit::Outcome::Passed
        }
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
}

/// Replaces every occurrence of each secret (tokens, cookie values) by `[REDACTED]`.
/// Used on everything that may reach a report or a log.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[REDACTED]");
        }
    }
    out
}
