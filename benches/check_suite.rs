//! The full conformance suite against an in-process reference server (server already running,
//! no process start, no report files): the runner's own cost plus loopback HTTP. The end-to-end
//! number (process, server start, reports) comes from `bench/check.sh`.

use criterion::{criterion_group, criterion_main, Criterion};
use recovery_harness::check::{self, CheckArgs, RunConfig, RunOptions};
use recovery_harness::schema::Schemas;
use std::sync::Arc;

fn suite(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        eprintln!("cannot build a runtime; skipping");
        return;
    };
    let Ok(server) = rt.block_on(recovery_harness::testing::spawn_faithful()) else {
        eprintln!("cannot start the reference server; skipping");
        return;
    };
    let Ok(schemas) = Schemas::embedded().map(Arc::new) else {
        eprintln!("cannot compile the schemas; skipping");
        return;
    };
    let args = CheckArgs {
        target: Some(server.base_url().to_owned()),
        session_token: Some(server.session_token().to_owned()),
        session_cookie: Some(server.session_cookie()),
        seed: Some(1),
        ..CheckArgs::default()
    };
    let Ok(config) = RunConfig::from_args(&args) else {
        eprintln!("invalid arguments; skipping");
        return;
    };
    let mut group = c.benchmark_group("check");
    group.sample_size(20);
    group.bench_function("full_suite_embedded_64_fuzz_cases", |b| {
        b.iter(|| {
            let report = rt
                .block_on(check::run(
                    config.clone(),
                    schemas.clone(),
                    RunOptions::default(),
                ))
                .map_err(|e| e.to_string());
            assert!(
                matches!(&report, Ok(r) if r.summary().failed == 0),
                "{report:?}"
            );
        });
    });
    group.finish();
    rt.block_on(server.shutdown());
}

criterion_group!(benches, suite);
criterion_main!(benches);
