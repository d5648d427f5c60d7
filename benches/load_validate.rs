//! The load runner's per-response work, isolated from the network and from Goose: validating a
//! `createNativeRecoveryFlow` body the way `--validate all` does (`check_bytes`: the fast path
//! over the bytes), against the DOM way it replaced (parse into a `Value`, `Schemas::is_valid`,
//! the step's state check), and reading a code from a courier listing. `bench/load.sh` measures the whole run;
//! this says how much of a request's cost is ours.
//!
//! Run with `cargo bench --bench load_validate`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use recovery_harness::load::scenario::Expect;
use recovery_harness::load::steps::{check_body, check_bytes, newest_code};
use recovery_harness::schema::fast;
use recovery_harness::schema::{Component, Schemas};
use serde_json::Value;
use std::hint::black_box;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/kratos/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn per_response(c: &mut Criterion) {
    let schemas = Schemas::embedded().expect("embedded schemas compile");
    let body = fixture("flow-create-api.json");
    let expect = Expect {
        status: 200,
        schema: Some(Component::RecoveryFlow),
        state: Some("choose_method".to_owned()),
        error_id: None,
    };
    let parsed: Value = serde_json::from_slice(&body).expect("fixture is JSON");
    assert!(check_body(&schemas, Component::RecoveryFlow, &expect, &parsed).is_ok());

    let mut group = c.benchmark_group("create-native-flow body");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&body)))
    });
    group.bench_function("parse (utf-8 check + from_str)", |b| {
        b.iter(|| {
            let text = std::str::from_utf8(black_box(&body)).expect("UTF-8");
            serde_json::from_str::<Value>(text)
        })
    });
    group.bench_function("check (is_valid + state)", |b| {
        b.iter(|| {
            check_body(
                &schemas,
                Component::RecoveryFlow,
                &expect,
                black_box(&parsed),
            )
        })
    });
    group.bench_function("parse + check (what --validate all adds)", |b| {
        b.iter(|| {
            let text = std::str::from_utf8(black_box(&body)).expect("UTF-8");
            let v: Value = serde_json::from_str(text).expect("JSON");
            check_body(&schemas, Component::RecoveryFlow, &expect, &v)
        })
    });
    assert!(check_bytes(&schemas, Component::RecoveryFlow, &expect, &body).is_ok());
    group.bench_function("fast path: check_bytes (what --validate all adds)", |b| {
        b.iter(|| check_bytes(&schemas, Component::RecoveryFlow, &expect, black_box(&body)))
    });
    group.bench_function("fast path: verdict only", |b| {
        b.iter(|| fast::check(Component::RecoveryFlow, black_box(&body)))
    });
    group.finish();

    let sent = fixture("flow-sent-email.json");
    let mut group = c.benchmark_group("sent-email body");
    group.throughput(Throughput::Elements(1));
    let expect_sent = Expect {
        status: 200,
        schema: Some(Component::RecoveryFlow),
        state: Some("sent_email".to_owned()),
        error_id: None,
    };
    assert!(check_bytes(&schemas, Component::RecoveryFlow, &expect_sent, &sent).is_ok());
    group.bench_function("DOM: parse + check", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(&sent)).expect("JSON");
            check_body(&schemas, Component::RecoveryFlow, &expect_sent, &v)
        })
    });
    group.bench_function("fast path: check_bytes", |b| {
        b.iter(|| {
            check_bytes(
                &schemas,
                Component::RecoveryFlow,
                &expect_sent,
                black_box(&sent),
            )
        })
    });
    group.finish();

    let listing = br#"[{"id":"b","recipient":"x@example.org","body":"Hi,\n\n222222\n","created_at":"2026-01-01T00:00:02Z"},
                     {"id":"a","recipient":"x@example.org","body":"Hi,\n\n111111\n","created_at":"2026-01-01T00:00:01Z"}]"#;
    c.bench_function("courier: newest code of 2 messages", |b| {
        b.iter(|| newest_code(black_box(listing), None))
    });
}

criterion_group!(benches, per_response);
criterion_main!(benches);
