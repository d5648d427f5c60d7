//! The full conformance suite against an in-process reference server (server already running,
//! no process start, no report files): the runner's own cost plus loopback HTTP. The end-to-end
//! number (process, server start, reports) comes from `bench/check.sh`.

use criterion::{criterion_group, criterion_main, Criterion};
use recovery_harness::check::{self, RunOptions};
use recovery_harness::cli::check::CheckArgs;
use recovery_harness::cli::common::CredentialArgs;
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
        credentials: CredentialArgs {
            session_token: Some(server.session_token().into()),
            session_cookie: Some(server.session_cookie().into()),
        },
        seed: Some(1),
        ..CheckArgs::default()
    };
    let Ok(config) = args.config() else {
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
    // A remote-like target: 20 ms added to every answer. The suite's wall time should be a few
    // round trips (the longest chain of dependent requests plus the fuzz batches), not the sum.
    let slow = recovery_harness::testing::Fault {
        name: "latency_20ms",
        description: "every answer 20 ms late",
        matches: recovery_harness::testing::Match::route(recovery_harness::testing::Route::Any),
        action: recovery_harness::testing::Action::Delay(std::time::Duration::from_millis(20)),
        config: None,
    };
    if let Ok(remote) = rt.block_on(recovery_harness::testing::spawn_faulty(&slow)) {
        let remote_args = CheckArgs {
            target: Some(remote.base_url().to_owned()),
            credentials: CredentialArgs {
                session_token: Some(remote.session_token().into()),
                session_cookie: Some(remote.session_cookie().into()),
            },
            ..args.clone()
        };
        if let Ok(remote_config) = remote_args.config() {
            group.bench_function("full_suite_20ms_latency_64_fuzz_cases", |b| {
                b.iter(|| {
                    let report = rt
                        .block_on(check::run(
                            remote_config.clone(),
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
        }
        rt.block_on(remote.shutdown());
    }
    group.finish();
    rt.block_on(server.shutdown());
}

criterion_group!(benches, suite);
criterion_main!(benches);
