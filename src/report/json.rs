//! `conformance.json`: the machine-readable report of a conformance run.
//!
//! The shape is a contract (`docs/contract.md`: `target`, `summary{passed,failed,skipped}`,
//! `checks[{id,title,status,detail}]`), extended with timing, the tool version, the TLS mode and
//! the evidence of every check. It is pinned by [`SCHEMA`] (JSON Schema draft 2020-12, committed
//! as `src/report/conformance.schema.json`) and tested against it.
//!
//! The document is built from view structs of this module rather than from the model's own
//! `Serialize`, so that the file format changes only here, on purpose, and key order is the
//! declaration order below (deterministic, byte-for-byte testable). Optional evidence fields are
//! always present (`null` when absent) so consumers can rely on the keys.
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "tool": "recovery-harness",
//!   "tool_version": "0.3.0",
//!   "target": "https://id.example.com/auth",
//!   "embedded_target": false,
//!   "insecure": false,
//!   "started_at": "2026-11-25T15:00:00.000Z",
//!   "duration_ms": 412.5,
//!   "outcome": "failed",
//!   "strict": false,
//!   "summary": { "passed": 30, "failed": 1, "skipped": 3, "warnings": 1, "errors": 0, "total": 35 },
//!   "notes": [],
//!   "checks": [
//!     { "id": "create_native.200", "title": "...", "status": "passed", "detail": "...",
//!       "level": "required", "effects": ["creates_flows"], "operation": "createNativeRecoveryFlow",
//!       "rule": "...", "source": "open_api",
//!       "duration_ms": 3.2, "evidence": [ ... ] }
//!   ]
//! }
//! ```

use super::model::{CheckResult, Evidence, RunReport};
use chrono::SecondsFormat;
use serde::Serialize;
use std::io::Write;
use std::time::Duration;

/// The JSON Schema (draft 2020-12) that every `conformance.json` satisfies.
pub const SCHEMA: &str = include_str!("conformance.schema.json");

/// Version of the document shape; bumped on any incompatible change (a removed or retyped key).
pub const FORMAT_VERSION: u32 = 1;

/// Renders `report` as the `conformance.json` document (pretty-printed, newline-terminated).
pub fn render(report: &RunReport) -> String {
    // Serialising plain strings, numbers and bools into a String cannot fail; the fallback keeps
    // the function total instead of panicking should a future field break that.
    let mut text = serde_json::to_string_pretty(&Document::from(report)).unwrap_or_else(|e| {
        format!(
            "{{\"error\": {}}}",
            serde_json::Value::String(e.to_string())
        )
    });
    text.push('\n');
    text
}

/// Writes the `conformance.json` document of `report` to `out`.
pub fn write(report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(render(report).as_bytes())
}

#[derive(Serialize)]
struct Document<'a> {
    format_version: u32,
    tool: &'static str,
    tool_version: &'a str,
    target: &'a str,
    embedded_target: bool,
    insecure: bool,
    strict: bool,
    started_at: String,
    duration_ms: f64,
    outcome: &'static str,
    summary: SummaryView,
    notes: &'a [String],
    checks: Vec<Check<'a>>,
}

#[derive(Serialize)]
struct SummaryView {
    passed: usize,
    failed: usize,
    skipped: usize,
    warnings: usize,
    errors: usize,
    total: usize,
}

#[derive(Serialize)]
struct Check<'a> {
    id: &'a str,
    title: &'a str,
    status: &'static str,
    detail: &'a str,
    level: &'static str,
    effects: Vec<&'static str>,
    operation: &'a str,
    rule: &'a str,
    source: &'static str,
    duration_ms: f64,
    evidence: Vec<EvidenceView<'a>>,
}

#[derive(Serialize)]
struct EvidenceView<'a> {
    method: &'a str,
    url: &'a str,
    request_headers: Vec<Header<'a>>,
    status: Option<u16>,
    response_headers: Vec<Header<'a>>,
    pointer: Option<&'a str>,
    value: Option<&'a str>,
    body_excerpt: Option<&'a str>,
    transport_error: Option<&'a str>,
    curl: Option<&'a str>,
}

#[derive(Serialize)]
struct Header<'a> {
    name: &'a str,
    value: &'a str,
}

impl<'a> From<&'a RunReport> for Document<'a> {
    fn from(r: &'a RunReport) -> Self {
        let s = r.summary();
        Document {
            format_version: FORMAT_VERSION,
            tool: "recovery-harness",
            tool_version: &r.tool_version,
            target: &r.target,
            embedded_target: r.embedded_target,
            insecure: r.insecure,
            strict: r.strict,
            started_at: r.started_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            duration_ms: millis(r.duration),
            outcome: match r.outcome() {
                crate::exit::Outcome::Passed => "passed",
                crate::exit::Outcome::Failed => "failed",
                crate::exit::Outcome::Interrupted { .. } => "interrupted",
            },
            summary: SummaryView {
                passed: s.passed,
                failed: s.failed,
                skipped: s.skipped,
                warnings: s.warnings,
                errors: s.errors,
                total: s.total(),
            },
            notes: &r.notes,
            checks: r.checks.iter().map(Check::from).collect(),
        }
    }
}

impl<'a> From<&'a CheckResult> for Check<'a> {
    fn from(c: &'a CheckResult) -> Self {
        Check {
            id: &c.id,
            title: &c.title,
            status: c.status.as_str(),
            detail: &c.detail,
            level: c.level.as_str(),
            effects: c.effects.iter().map(|e| e.as_str()).collect(),
            operation: &c.operation,
            rule: &c.rule,
            source: c.source.as_str(),
            duration_ms: millis(c.duration),
            evidence: c.evidence.iter().map(EvidenceView::from).collect(),
        }
    }
}

impl<'a> From<&'a Evidence> for EvidenceView<'a> {
    fn from(e: &'a Evidence) -> Self {
        let headers = |list: &'a [(String, String)]| {
            list.iter()
                .map(|(name, value)| Header { name, value })
                .collect()
        };
        EvidenceView {
            method: &e.method,
            url: &e.url,
            request_headers: headers(&e.request_headers),
            status: e.status,
            response_headers: headers(&e.response_headers),
            pointer: e.pointer.as_deref(),
            value: e.value.as_deref(),
            body_excerpt: e.body_excerpt.as_deref(),
            transport_error: e.transport_error.as_deref(),
            curl: e.curl.as_deref(),
        }
    }
}

/// Milliseconds with microsecond precision: enough to compare runs, short enough to read.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_rounds_to_microseconds() {
        assert_eq!(millis(Duration::from_nanos(1_234_567)), 1.235);
        assert_eq!(millis(Duration::ZERO), 0.0);
        assert_eq!(millis(Duration::from_secs(2)), 2000.0);
    }

    #[test]
    fn embedded_schema_is_json() {
        let schema: Result<serde_json::Value, _> = serde_json::from_str(SCHEMA);
        assert!(schema.is_ok(), "{schema:?}");
    }
}
