//! The load runner's per-response work, isolated from the network and from Goose: validating a
//! `createNativeRecoveryFlow` body the way `--validate all` does (`check_bytes`: the memo of
//! learned bodies, else the fast pass over the bytes), the fast pass alone, against the DOM way
//! they replaced (parse into a `Value`, `Schemas::is_valid`, the step's state check), and reading
//! a code from a courier listing. `bench/load.sh` measures the whole run;
//! this says how much of a request's cost is ours.
//!
//! Run with `cargo bench --bench load_validate`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use recovery_harness::load::scenario::Expect;
use recovery_harness::load::steps::{check_body, check_bytes, newest_code};
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
    // The fast pass alone: the rules compiled from the schemas, without the memo.
    let rules = schemas.fast_rules();
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
    // What a load run sees: every created flow has its own id (in `id` and in the action URL)
    // and timestamps. The memo learns the first and decides the others by their free strings.
    let text = std::str::from_utf8(&body).expect("UTF-8");
    let flows: Vec<Vec<u8>> = (0..64u32)
        .map(|i| {
            text.replace(
                "5f0c3a0e-6d4b-4a57-9f6a-2b8e1c7d9a41",
                &format!("5f0c3a0e-6d4b-4a57-9f6a-2b8e1c7d{i:04x}"),
            )
            .replace(".123456789Z", &format!(".{:09}Z", 100_000_000 + i * 7919))
            .into_bytes()
        })
        .collect();
    for f in &flows {
        assert!(check_bytes(&schemas, Component::RecoveryFlow, &expect, f).is_ok());
    }
    let mut next = 0usize;
    group.bench_function(
        "memo + fast path: check_bytes, 64 distinct flows (what --validate all adds)",
        |b| {
            b.iter(|| {
                next = (next + 1) % flows.len();
                check_bytes(
                    &schemas,
                    Component::RecoveryFlow,
                    &expect,
                    black_box(&flows[next]),
                )
            })
        },
    );
    group.bench_function("fast pass alone (no memo): verdict only", |b| {
        b.iter(|| rules.check(Component::RecoveryFlow, black_box(&body)))
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
    group.bench_function("fast pass alone (no memo)", |b| {
        b.iter(|| rules.check(Component::RecoveryFlow, black_box(&sent)))
    });
    group.bench_function("memo + fast path: check_bytes (the same body again)", |b| {
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
