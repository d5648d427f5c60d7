//! Schema validation hot path: a typical `recoveryFlow` body (the after-email-submit flow, five nodes)
//! through `is_valid` and `validate`, and loading + compiling the embedded schema set.
//!
//! Run with `cargo bench --bench schema_validation`. Targets (issue 2, §3): ≥ 100,000 recoveryFlow
//! validations per second on one core; compiling the embedded set well under 100 ms.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use recovery_harness::schema::{Component, Schemas};
use serde_json::Value;
use std::hint::black_box;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/kratos/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn validation(c: &mut Criterion) {
    let schemas = Schemas::embedded().expect("embedded schemas compile");
    let created = fixture("flow-create-api.json");
    let sent = fixture("flow-sent-email.json");
    let error = fixture("error-expired-browser.json");
    let mut broken = sent.clone();
    broken["state"] = Value::Null;
    assert!(schemas.is_valid(Component::RecoveryFlow, &sent));
    assert!(!schemas.is_valid(Component::RecoveryFlow, &broken));

    let mut group = c.benchmark_group("recoveryFlow");
    group.throughput(Throughput::Elements(1));
    group.bench_function("is_valid/created (3 nodes)", |b| {
        b.iter(|| schemas.is_valid(Component::RecoveryFlow, black_box(&created)))
    });
    group.bench_function("is_valid/sent_email (5 nodes)", |b| {
        b.iter(|| schemas.is_valid(Component::RecoveryFlow, black_box(&sent)))
    });
    group.bench_function("validate/sent_email (5 nodes)", |b| {
        b.iter(|| schemas.validate(Component::RecoveryFlow, black_box(&sent)))
    });
    group.bench_function("validate/invalid state", |b| {
        b.iter(|| schemas.validate(Component::RecoveryFlow, black_box(&broken)))
    });
    group.finish();

    let mut group = c.benchmark_group("errorGeneric");
    group.throughput(Throughput::Elements(1));
    group.bench_function("is_valid/410 browser", |b| {
        b.iter(|| schemas.is_valid(Component::ErrorGeneric, black_box(&error)))
    });
    group.finish();
}

fn compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    group.bench_function("embedded", |b| {
        b.iter(|| Schemas::embedded().expect("embedded schemas compile"))
    });
    let spec = recovery_harness::schema::SchemaSource::OpenApi(
        format!(
            "{}/tests/fixtures/kratos-openapi.json",
            env!("CARGO_MANIFEST_DIR")
        )
        .into(),
    );
    group.bench_function("openapi document (--spec)", |b| {
        b.iter(|| Schemas::load(&spec).expect("the Kratos OpenAPI document compiles"))
    });
    group.finish();
}

criterion_group!(benches, validation, compile);
criterion_main!(benches);
