//! The security checks against the real Ory Kratos (`RECOVERY_HARNESS_KRATOS_BIN`) with its mail
//! in real Mailpit and a short flow lifespan, so that everything runs, expiry included: a faithful
//! Kratos fails nothing and nothing is skipped. Reported as ignored when the programs are
//! missing, a failure under `RECOVERY_HARNESS_REQUIRE_KRATOS=1` / `_TOOLS=1`.

mod support;

use support::harness::check;
use support::kratos::KratosOptions;
use support::mailpit::Mailpit;
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![test(
        "every_security_check_passes_against_kratos_with_mailpit_and_a_short_lifespan",
        &[Needs::Kratos, Needs::Mailpit],
        every_security_check_passes_against_kratos_with_mailpit_and_a_short_lifespan,
    )])
}

fn every_security_check_passes_against_kratos_with_mailpit_and_a_short_lifespan() {
    let mailpit = Mailpit::start().expect("the runner ignores this test without it");
    // Long enough for the rest of the suite's flows to live through a run on a loaded machine.
    let kratos = KratosOptions::new()
        .mailpit(&mailpit)
        .lifespan("6s")
        .start()
        .expect("the runner ignores this test without it");
    let known = "security-known@example.org";
    let token = kratos.register_native(known);
    let cookie = kratos.register_browser("security-browser@example.org");
    let mailpit_url = mailpit.api_url();
    let run = check(&[
        "--target",
        kratos.public_url(),
        "--session-token",
        &token,
        "--session-cookie",
        &cookie,
        "--mailpit-url",
        &mailpit_url,
        "--known-email",
        known,
        "--expiry-wait",
        "8s",
        "--fuzz-cases",
        "16",
        "--seed",
        "7",
        // SQLite serializes writes: the races cannot show here (tests/kratos_race.rs runs them
        // on PostgreSQL), and each trial's code costs 2.5 s from Mailpit.
        "--race-trials",
        "2",
    ]);
    if run.code != Some(0) {
        kratos.print_log_tail("the security checks failed against Kratos");
    }
    run.assert_no_failures();
    assert!(
        run.ids_with("skipped").is_empty(),
        "skipped: {}\n{}",
        run.ids_with("skipped").join(", "),
        run.context()
    );
    for id in [
        "csrf.submit.mismatch.refused",
        "native_context.cookie.refused",
        "brute_force.limit",
        "recover.right_code",
        "recover.other_flow_code.refused",
        "enumeration.same_answer",
        "expiry.get_flow.410",
        "expiry.submit.new_flow",
        "pinned.update.unknown_method.400",
        "race.code.single_use",
        "race.brute_force.limit",
        "enumeration.timing",
        "native_context.no_cookies",
    ] {
        assert_eq!(run.status_of(id), "passed", "{id}\n{}", run.context());
    }
    eprintln!(
        "security checks against Kratos + Mailpit (lifespan 6s, --expiry-wait 8s): {:?}",
        run.elapsed
    );
}
