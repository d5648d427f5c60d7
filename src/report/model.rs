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
    /// The target broke a `required` rule.
    Failed,
    /// The target broke a `recommended` rule: reported everywhere, fails the run only under
    /// `--strict`.
    Warning,
    /// The check did not run; `detail` says why (missing credentials, a failed prerequisite, `--only`).
    Skipped,
    /// The run could not get the answer this check needs: the probe timed out under concurrency
    /// and again when retried alone. An error of the run, not a verdict on the rule (JUnit
    /// `<error>`); it fails the run.
    Error,
}

/// How binding a check's rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The spec (its schemas, statuses or prose) states the rule: a failure fails the run.
    #[default]
    Required,
    /// Kratos practice or hardening: a failure is a warning (exit 0 unless `--strict`).
    Recommended,
}

impl Level {
    /// The lowercase word used by every report (`required`, `recommended`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Required => "required",
            Level::Recommended => "recommended",
        }
    }
}

/// What running a check does to the deployment besides answering it, as on a deployment that
/// keeps the check's rule (one that breaks it may do more: that is the failure reported). A check
/// without effects only reads, or is refused. Reports list them so that an operator can tell which
/// checks are safe for production (`check::catalogue::production_safe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Creates recovery flows (they expire by themselves; nothing is sent).
    CreatesFlows,
    /// Submits an address that the deployment processes: a mail goes to it when it has an
    /// identity (Kratos sends one to an unknown address too under `notify_unknown_recipients`).
    SendsMail,
    /// Submits a sent recovery code, which is then used up.
    ConsumesCode,
    /// Waits for flows to expire (opt-in: `--expiry-wait`).
    WaitsForExpiry,
    /// Completes a recovery: Kratos marks the address verified and issues a session.
    ChangesIdentity,
}

impl Effect {
    /// Every effect, in report order.
    pub const ALL: [Effect; 5] = [
        Effect::CreatesFlows,
        Effect::SendsMail,
        Effect::ConsumesCode,
        Effect::WaitsForExpiry,
        Effect::ChangesIdentity,
    ];

    /// The snake-case word every report uses (`creates_flows`, `sends_mail`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::CreatesFlows => "creates_flows",
            Effect::SendsMail => "sends_mail",
            Effect::ConsumesCode => "consumes_code",
            Effect::WaitsForExpiry => "waits_for_expiry",
            Effect::ChangesIdentity => "changes_identity",
        }
    }
}

/// Where the rule a check enforces comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// A schema or status of the OpenAPI document.
    OpenApi,
    /// The spec's documented prose (descriptions), stricter than its schemas.
    SpecProse,
    /// What real Kratos does (docs/kratos-behaviour.md), where the spec is silent.
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
    /// How binding the rule is.
    pub level: Level,
    /// What the check does to the deployment (empty: it only reads, or is refused).
    pub effects: Vec<Effect>,
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
    /// Recommended checks whose rule was broken.
    pub warnings: usize,
    /// Checks that could not get their answer (errors of the run).
    pub errors: usize,
}

impl Summary {
    /// Counts the statuses of `checks`.
    pub fn of<'a>(checks: impl IntoIterator<Item = &'a CheckResult>) -> Summary {
        let mut s = Summary::default();
        for c in checks {
            match c.status {
                Status::Passed => s.passed += 1,
                Status::Failed => s.failed += 1,
                Status::Skipped => s.skipped += 1,
                Status::Warning => s.warnings += 1,
                Status::Error => s.errors += 1,
            }
        }
        s
    }

    /// Number of checks counted.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped + self.warnings + self.errors
    }
}

impl Status {
    /// The lowercase word used by every report (`passed`, `failed`, `warning`, `skipped`,
    /// `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Warning => "warning",
            Status::Skipped => "skipped",
            Status::Error => "error",
        }
    }
}

impl RuleSource {
    /// The snake_case word used by every report (`open_api`, `spec_prose`, `observed_kratos`).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSource::OpenApi => "open_api",
            RuleSource::SpecProse => "spec_prose",
            RuleSource::ObservedKratos => "observed_kratos",
        }
    }
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
    /// Whether warnings fail the run (`--strict`).
    pub strict: bool,
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
        Summary::of(&self.checks)
    }

    /// The checks grouped by operation: groups in order of first appearance (catalogue order),
    /// checks in report order within each group. Every format groups the same way.
    pub fn by_operation(&self) -> Vec<(&str, Vec<&CheckResult>)> {
        let mut groups: Vec<(&str, Vec<&CheckResult>)> = Vec::new();
        for c in &self.checks {
            match groups.iter_mut().find(|(op, _)| *op == c.operation) {
                Some((_, list)) => list.push(c),
                None => groups.push((&c.operation, vec![c])),
            }
        }
        groups
    }

    /// Exit verdict: failed when any check failed or could not get its answer, or (under
    /// `--strict`) any recommended check warned.
    pub fn outcome(&self) -> crate::exit::Outcome {
        let s = self.summary();
        if s.failed > 0 || s.errors > 0 || (self.strict && s.warnings > 0) {
            crate::exit::Outcome::Failed
        } else {
            crate::exit::Outcome::Passed
        }
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, op: &str, status: Status) -> CheckResult {
        CheckResult {
            id: id.to_owned(),
            title: String::new(),
            operation: op.to_owned(),
            rule: String::new(),
            source: RuleSource::OpenApi,
            level: Level::Required,
            effects: Vec::new(),
            status,
            detail: String::new(),
            evidence: Vec::new(),
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn by_operation_keeps_first_appearance_order() {
        let report = RunReport {
            tool_version: "0".into(),
            target: "t".into(),
            embedded_target: false,
            insecure: false,
            strict: false,
            started_at: DateTime::<Utc>::UNIX_EPOCH,
            duration: Duration::ZERO,
            notes: Vec::new(),
            checks: vec![
                check("b.1", "B", Status::Passed),
                check("a.1", "A", Status::Failed),
                check("b.2", "B", Status::Skipped),
            ],
        };
        let groups: Vec<(&str, Vec<&str>)> = report
            .by_operation()
            .into_iter()
            .map(|(op, cs)| (op, cs.iter().map(|c| c.id.as_str()).collect()))
            .collect();
        assert_eq!(groups, [("B", vec!["b.1", "b.2"]), ("A", vec!["a.1"])]);
        let s = report.summary();
        assert_eq!((s.passed, s.failed, s.skipped, s.total()), (1, 1, 1, 3));
        assert_eq!(report.outcome(), crate::exit::Outcome::Failed);
    }
}
