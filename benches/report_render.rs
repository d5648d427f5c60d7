//! Cost of rendering and writing the reports of a conformance run, which the `check` command pays
//! after every run (the suite's budget against the embedded server is under one second).
//!
//! `cargo bench --bench report_render`

#[path = "../tests/html_fixture/mod.rs"]
mod html_fixture;

use criterion::{criterion_group, criterion_main, Criterion};
use recovery_harness::report::terminal::{self, TerminalOptions};
use recovery_harness::report::{
    html_check, html_load, json, junit, markdown, write_check_reports, CheckResult, Evidence,
    RuleSource, RunReport, Status,
};
use std::hint::black_box;
use std::time::Duration;

/// A run of the catalogue's size order (a few dozen checks over five operations), a quarter of
/// them failed with full evidence, a few skipped.
fn run(checks: usize) -> RunReport {
    let ops = [
        "createNativeRecoveryFlow",
        "createBrowserRecoveryFlow",
        "getRecoveryFlow",
        "updateRecoveryFlow",
        "probe",
    ];
    RunReport {
        tool_version: "0.1.0".into(),
        target: "https://id.example.com/auth".into(),
        embedded_target: false,
        insecure: false,
        strict: false,
        started_at: chrono::DateTime::UNIX_EPOCH,
        duration: Duration::from_millis(420),
        notes: vec!["fuzzing seed 42 (64 cases)".into()],
        checks: (0..checks)
            .map(|i| {
                let status = match i % 8 {
                    0 | 1 => Status::Failed,
                    2 => Status::Skipped,
                    _ => Status::Passed,
                };
                CheckResult {
                    id: format!("{}.check_{i}.status", ops[i % ops.len()]),
                    title: format!("Check number {i} holds <for> \"all\" & | `each`"),
                    operation: ops[i % ops.len()].into(),
                    rule: "the answer carries an errorGeneric body with error.code == status"
                        .into(),
                    source: RuleSource::OpenApi,
                    level: recovery_harness::report::Level::Required,
                    effects: Vec::new(),
                    status,
                    detail: "expected 400, got 200 at /error/id".into(),
                    evidence: vec![Evidence {
                        method: "GET".into(),
                        url: format!(
                            "https://id.example.com/auth/self-service/recovery/flows?id={i}"
                        ),
                        request_headers: vec![
                            ("Accept".into(), "application/json".into()),
                            ("X-Session-Token".into(), "[REDACTED]".into()),
                        ],
                        status: Some(200),
                        response_headers: vec![("content-type".into(), "application/json".into())],
                        pointer: Some("/ui/nodes/3/attributes/value".into()),
                        value: Some("\"unexpected\"".into()),
                        body_excerpt: Some(
                            "{\"id\":\"…\",\"type\":\"api\",\"state\":\"choose_method\"}".repeat(8),
                        ),
                        curl: Some(
                            "curl -sS -H 'Accept: application/json' 'https://id.example.com/auth'"
                                .into(),
                        ),
                        transport_error: None,
                    }],
                    duration: Duration::from_micros(1_500 + i as u64),
                }
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    let report = run(48);
    c.bench_function("render conformance.json (48 checks)", |b| {
        b.iter(|| json::render(black_box(&report)))
    });
    c.bench_function("render junit.xml (48 checks)", |b| {
        b.iter(|| junit::render(black_box(&report)))
    });
    c.bench_function("render summary.md (48 checks)", |b| {
        b.iter(|| markdown::render(black_box(&report)))
    });
    c.bench_function("render report.html (48 checks)", |b| {
        b.iter(|| html_check::render(black_box(&report)))
    });
    let load = html_fixture::sample_load_report();
    c.bench_function("render load report.html (2 steps, 30 s charts)", |b| {
        b.iter(|| html_load::render(black_box(&load)))
    });
    c.bench_function("render terminal, colour (48 checks)", |b| {
        let opts = TerminalOptions {
            color: true,
            quiet: false,
        };
        b.iter(|| {
            let mut out = Vec::with_capacity(16 * 1024);
            terminal::render(black_box(&report), &opts, &mut out).map(|()| out.len())
        })
    });
    let dir = std::env::temp_dir().join(format!("report-bench-{}", std::process::id()));
    c.bench_function("write_check_reports (48 checks, 4 files)", |b| {
        b.iter(|| write_check_reports(black_box(&report), &dir).map(|paths| paths.len()))
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
