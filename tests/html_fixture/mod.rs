//! Shared by the HTML report tests, their Chromium tests and the screenshot example: a
//! constructed load run (until `load` fills the model from a real run, every load-report test
//! renders this one) and the scan for references that would make a page fetch something.

#![allow(dead_code, unreachable_pub)]

use chrono::{TimeZone, Utc};
use recovery_harness::report::load_report::{
    BaselineDelta, LoadFigures, LoadReport, LoadTarget, LoadVerdict, ReasonCount, SeriesBuilder,
    StepFigures, TargetKind, ThresholdOutcome, Validation,
};

/// The schema failure every load test looks for in the rendered page.
pub const KNOWN_SCHEMA_FAILURE: &str = "/ui/nodes: expected array, got null";

/// A failed 30 s run of `create-and-fetch` against an outside target: one threshold breached,
/// schema failures of two reasons, a hostile step name and reason (markup, quotes, controls).
pub fn sample_load_report() -> LoadReport {
    let started_at = Utc
        .with_ymd_and_hms(2026, 11, 25, 15, 4, 5)
        .single()
        .expect("a valid fixed date");
    let mut series = SeriesBuilder::new();
    // Deterministic shapes: the create step slows down in the middle of the run, the fetch step
    // stays flat with a tail.
    for second in 0..30u64 {
        let slow = if (12..18).contains(&second) { 4 } else { 1 };
        for i in 0..200u64 {
            let base = 350 + (i * 37 % 400);
            let tail = if i % 50 == 0 { 6_000 } else { 0 };
            series.record("GET create flow", second, base * slow + tail);
            series.record(
                "GET fetch flow <by id>",
                second,
                280 + (i * 53 % 300) + tail / 3,
            );
        }
    }
    let figures = |requests: u64, errors: u64, p50: f64, p95: f64, p99: f64| LoadFigures {
        requests,
        errors,
        rps: requests as f64 / 30.0,
        p50_ms: p50,
        p95_ms: p95,
        p99_ms: p99,
        avg_ms: Some(p50 * 1.1),
        max_ms: Some(p99 * 3.0),
    };
    LoadReport {
        tool_version: "0.2.0".into(),
        target: LoadTarget {
            url: "https://id.example.com/auth".into(),
            kind: TargetKind::External,
        },
        scenario: "create-and-fetch".into(),
        scenario_origin: "embedded".into(),
        started_at,
        finished_at: started_at + chrono::Duration::seconds(32),
        users: 8,
        hatch_rate: 4.0,
        duration_s: 30,
        throttle: None,
        validate: "all".into(),
        verdict: LoadVerdict::Failed,
        reasons: vec![
            "threshold p95<1ms failed: observed p95 = 1.9 ms".into(),
            "37 responses broke the spec (5 with a status the step does not allow, 32 with a body \
             that breaks the schema)"
                .into(),
        ],
        thresholds: vec![
            ThresholdOutcome {
                rule: "p95<1ms".into(),
                source: "--threshold".into(),
                observed: "p95 = 1.9 ms".into(),
                passed: false,
                aborted: false,
            },
            ThresholdOutcome {
                rule: "error-rate<1%".into(),
                source: "scenario".into(),
                observed: "error rate = 0.3 %".into(),
                passed: true,
                aborted: false,
            },
        ],
        totals: figures(12_000, 37, 0.6, 1.9, 6.2),
        steps: vec![
            StepFigures {
                name: "GET create flow".into(),
                figures: figures(6_000, 32, 0.7, 2.4, 6.4),
            },
            StepFigures {
                name: "GET fetch flow <by id>".into(),
                figures: figures(6_000, 5, 0.45, 0.62, 2.3),
            },
        ],
        validation: Validation {
            validated_bodies: 11_995,
            status_mismatches: 5,
            body_violations: 32,
            transport_errors: 0,
            failures: vec![
                ReasonCount {
                    step: Some("GET create flow".into()),
                    reason: KNOWN_SCHEMA_FAILURE.into(),
                    count: 32,
                },
                ReasonCount {
                    step: Some("GET fetch flow <by id>".into()),
                    reason: "status 500, expected 200 <html>\"&'\u{1b}[31m".into(),
                    count: 5,
                },
            ],
        },
        top_reasons: vec![ReasonCount {
            step: None,
            reason: format!("GET create flow: {KNOWN_SCHEMA_FAILURE}"),
            count: 32,
        }],
        series: series.finish(),
        baseline: Some(BaselineDelta {
            path: "reports/load/baseline.json".into(),
            baseline_rps: 410.0,
            baseline_p95_ms: 1.7,
            rps_change_pct: -2.4,
            p95_change_pct: 11.8,
            max_regression_pct: Some(20.0),
            passed: true,
        }),
        notes: vec!["validate all: every body checked against its schema".into()],
        capacity: None,
    }
}

/// The same run, passed, against the embedded server, with no thresholds, no failures and no
/// per-second data: the page must still say all of that in words.
pub fn passed_embedded_load_report() -> LoadReport {
    let mut r = sample_load_report();
    r.target = LoadTarget {
        url: "http://127.0.0.1:40123".into(),
        kind: TargetKind::Embedded,
    };
    r.verdict = LoadVerdict::Passed;
    r.reasons.clear();
    r.thresholds.clear();
    r.validation = Validation {
        validated_bodies: 12_000,
        ..Validation::default()
    };
    r.top_reasons.clear();
    r.series.clear();
    r.baseline = None;
    r
}

/// Every place in `html` that would make a browser fetch something: a `src`, `srcset`, `href`
/// (other than a `#fragment`), `action`, `poster`, `data` or `xlink:href` attribute, a CSS
/// `url(` or `@import`, a `<script`, `<link`, `<iframe`, `<object`, `<embed` or `<base` tag, or a
/// `<meta http-equiv="refresh">`. Returns the offending excerpts (empty: the page is closed).
pub fn fetching_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    let excerpt = |i: usize| {
        let end = (i + 60).min(html.len());
        let end = (end..=html.len())
            .find(|e| html.is_char_boundary(*e))
            .unwrap_or(html.len());
        html[i..end].to_owned()
    };
    for needle in [
        "<script",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "<base",
        "url(",
        "@import",
        "http-equiv=\"refresh\"",
    ] {
        for (i, _) in lower.match_indices(needle) {
            found.push(excerpt(i));
        }
    }
    for attr in [
        "src",
        "srcset",
        "href",
        "action",
        "formaction",
        "poster",
        "data",
        "xlink:href",
        "background",
    ] {
        for (i, _) in lower.match_indices(&format!("{attr}=")) {
            // Only attributes: preceded by whitespace inside a tag.
            let before = lower[..i].chars().next_back();
            if !before.is_some_and(char::is_whitespace) {
                continue;
            }
            let value = lower[i + attr.len() + 1..].trim_start_matches(['"', '\'']);
            if attr == "href" && value.starts_with('#') {
                continue;
            }
            found.push(excerpt(i));
        }
    }
    found
}
