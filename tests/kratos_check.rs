//! `recovery-harness check` against the real Ory Kratos (`RECOVERY_HARNESS_KRATOS_BIN`): a
//! faithful deployment never fails a rule, in every configuration a real deployment uses (default
//! flags with a token and a cookie, recovery disabled, served under `/auth` by a prefix-stripping
//! proxy, recovery v2, with code sources). Reported as ignored when the variable is unset, a
//! failure under `RECOVERY_HARNESS_REQUIRE_KRATOS=1`.
//!
//! Every assertion prints the checks that did not pass with their details and the run's notes.

mod support;

use support::harness::{check, has_flag, CheckRun};
use support::kratos::{Kratos, KratosOptions};
use support::proxy::kratos_behind;
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "default_flags_with_token_and_cookie_pass",
            &[Needs::Kratos],
            default_flags_with_token_and_cookie_pass,
        ),
        test(
            "har_of_a_run_against_kratos_is_readable_and_redacted",
            &[Needs::Kratos],
            har_of_a_run_against_kratos_is_readable_and_redacted,
        ),
        test(
            "recovery_disabled_fails_only_the_preflight_with_its_diagnosis",
            &[Needs::Kratos],
            recovery_disabled_fails_only_the_preflight_with_its_diagnosis,
        ),
        test(
            "through_a_prefix_stripping_proxy_under_auth_passes",
            &[Needs::Kratos],
            through_a_prefix_stripping_proxy_under_auth_passes,
        ),
        test(
            "recovery_v2_passes_with_the_v2_flow_checked",
            &[Needs::Kratos],
            recovery_v2_passes_with_the_v2_flow_checked,
        ),
        test(
            "with_code_sources_and_a_known_email_passes",
            &[Needs::Kratos, Needs::Mailpit],
            with_code_sources_and_a_known_email_passes,
        ),
        test(
            "production_safe_checks_pass_and_send_no_mail",
            &[Needs::Kratos, Needs::KratosRelease],
            production_safe_checks_pass_and_send_no_mail,
        ),
    ])
}

/// Few property-based cases: the fuzzers' own tests cover their range; here the point is that a
/// real Kratos passes them. Fixed seed: a failure replays.
const FUZZ: [&str; 4] = ["--fuzz-cases", "16", "--seed", "7"];

/// The tests on the shared Kratos take turns: it keeps its data in one SQLite file, and two suites
/// of 16 concurrent probes each meet in SQLite's write lock, where Kratos answers 500 or stalls
/// for the 5 s busy timeout (docs/testing.md, "Testing against real Kratos"). One suite at a time is what a
/// deployment being checked sees.
static SHARED_KRATOS_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A token and a cookie of two fresh identities of `kratos` (unique per test: tests share Kratos).
fn credentials(kratos: &Kratos, test: &str) -> (String, String) {
    (
        kratos.register_native(&format!("{test}-native@example.org")),
        kratos.register_browser(&format!("{test}-browser@example.org")),
    )
}

fn check_signed_in(target: &str, token: &str, cookie: &str, extra: &[&str]) -> CheckRun {
    let mut args = vec![
        "--target",
        target,
        "--session-token",
        token,
        "--session-cookie",
        cookie,
    ];
    args.extend_from_slice(&FUZZ);
    args.extend_from_slice(extra);
    check(&args)
}

/// The checks that must have run and passed against any faithful Kratos with both credentials.
const CORE: &[&str] = &[
    "preflight.recovery_enabled",
    "create_native.200",
    "create_native.schema",
    "create_native.request_url",
    "create_native.ui.action",
    "create_native.signed_in.token.400",
    "create_native.signed_in.cookie.400",
    "create_native.signed_in.bearer.400",
    "get_flow.200",
    "get_flow.unknown_id.404",
    "create_browser.200",
    "update.email.200",
    "update.email.state",
    "update.wrong_code.200",
    "update.wrong_code.message",
    "default.error_bodies",
    "fuzz.create_native",
    "fuzz.get_flow",
    "fuzz.update",
];

fn default_flags_with_token_and_cookie_pass() {
    let kratos = support::kratos::shared().expect("the runner ignores this test without it");
    let run = {
        let _turn = SHARED_KRATOS_TURN.lock().unwrap_or_else(|p| p.into_inner());
        let (token, cookie) = credentials(kratos, "default");
        check_signed_in(kratos.public_url(), &token, &cookie, &[])
    };
    if run.code != Some(0) {
        kratos.print_log_tail("check failed against default Kratos");
    }
    run.assert_no_failures();
    run.assert_passed(CORE);
    // Credentials given: nothing is skipped for want of a session.
    for c in run.checks() {
        if c["status"] == "skipped" {
            let detail = c["detail"].as_str().unwrap_or("");
            assert!(
                !detail.contains("session"),
                "{} skipped for want of a session although both were given: {detail}",
                c["id"]
            );
        }
    }
    assert_eq!(run.report["embedded_target"], false);
    assert_eq!(
        run.report["target"].as_str(),
        Some(kratos.public_url()),
        "{}",
        run.context()
    );
    // A wrong method is reported with what was seen and never fails a faithful Kratos.
    assert_eq!(
        run.status_of("default.undeclared_method"),
        "passed",
        "{}",
        run.context()
    );
}

/// `--har` against real Kratos: a HAR 1.2 file that the recordings' reader opens, one entry per
/// exchange, and neither credential in it.
fn har_of_a_run_against_kratos_is_readable_and_redacted() {
    let kratos = support::kratos::shared().expect("the runner ignores this test without it");
    let file = tempfile::NamedTempFile::new().expect("a temp file");
    let har_path = file.path().to_string_lossy().into_owned();
    let (token, cookie, run) = {
        let _turn = SHARED_KRATOS_TURN.lock().unwrap_or_else(|p| p.into_inner());
        let (token, cookie) = credentials(kratos, "har");
        let run = check_signed_in(kratos.public_url(), &token, &cookie, &["--har", &har_path]);
        (token, cookie, run)
    };
    run.assert_no_failures();
    let (_, entries) = support::har::read(file.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(entries.len() > 20, "{} entries", entries.len());
    assert!(
        entries.iter().any(|e| e.resp.status == 405),
        "the undeclared-method probe is recorded"
    );
    let text = std::fs::read_to_string(file.path()).expect("read");
    let cookie_value = cookie.split_once('=').map_or("", |(_, v)| v);
    assert!(!text.contains(&token), "the session token is redacted");
    assert!(
        !text.contains(cookie_value),
        "the session cookie is redacted"
    );
}

fn recovery_disabled_fails_only_the_preflight_with_its_diagnosis() {
    let kratos = KratosOptions::new()
        .recovery_disabled()
        .start()
        .expect("the runner ignores this test without it");
    let run = check(&[&["--target", kratos.public_url()], &FUZZ[..]].concat());
    assert_eq!(run.code, Some(1), "{}", run.context());
    assert_eq!(
        run.ids_with("failed"),
        vec!["preflight.recovery_enabled".to_owned()],
        "{}",
        run.context()
    );
    assert!(run.ids_with("error").is_empty(), "{}", run.context());
    let preflight = run.check("preflight.recovery_enabled").expect("preflight");
    let detail = preflight["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("selfservice.flows.recovery.enabled"),
        "the diagnosis names the setting: {detail}"
    );
    // The checks that need recovery are skipped, naming the preflight, not failed.
    let skipped = run.ids_with("skipped");
    assert!(
        skipped.contains(&"create_native.200".to_owned())
            && skipped.contains(&"update.email.200".to_owned()),
        "{}",
        run.context()
    );
    assert_eq!(run.summary("failed"), Some(1), "{}", run.context());
}

fn through_a_prefix_stripping_proxy_under_auth_passes() {
    let (kratos, proxy) = kratos_behind(KratosOptions::new(), "/auth")
        .expect("the runner ignores this test without it");
    let (token, cookie) = credentials(&kratos, "proxy");
    let run = check_signed_in(proxy.url(), &token, &cookie, &[]);
    if run.code != Some(0) {
        kratos.print_log_tail("check failed through the proxy");
    }
    run.assert_no_failures();
    run.assert_passed(CORE);
    assert_eq!(run.report["target"].as_str(), Some(proxy.url()));
    assert!(
        proxy.forwarded() > 20,
        "the run went through the proxy ({} requests)",
        proxy.forwarded()
    );
}

fn recovery_v2_passes_with_the_v2_flow_checked() {
    let kratos = KratosOptions::new()
        .choose_recovery_address()
        .start()
        .expect("the runner ignores this test without it");
    let (token, cookie) = credentials(&kratos, "v2");
    let run = check_signed_in(kratos.public_url(), &token, &cookie, &[]);
    if run.code != Some(0) {
        kratos.print_log_tail("check failed against recovery v2");
    }
    run.assert_no_failures();
    run.assert_passed(CORE);
    // The report names the variant it saw, and the update checks ran on it (not skipped).
    let text = format!(
        "{}\n{}",
        run.notes(),
        std::fs::read_to_string(run.file("summary.md")).unwrap_or_default()
    );
    assert!(
        text.contains("recovery_awaiting_address") || text.to_lowercase().contains("v2"),
        "the report names the recovery v2 flow variant:\n{text}"
    );
    // The v2 submits were judged, not skipped: the address went in `recovery_address`.
    for id in [
        "create_native.state",
        "create_native.ui.nodes",
        "update.email.state",
        "update.email.message",
        "update.missing_email.message",
        "update.wrong_code.state",
    ] {
        assert_eq!(run.status_of(id), "passed", "{id}: {}", run.context());
    }
}

fn with_code_sources_and_a_known_email_passes() {
    let (kratos, mailpit) =
        support::kratos::shared_with_mailpit().expect("the runner ignores this test without it");
    for flag in ["--courier-url", "--mailpit-url", "--known-email"] {
        assert!(has_flag("check", flag), "`check` has no {flag} yet");
    }
    let known = "known-codes@example.org";
    let token = kratos.register_native(known);
    let cookie = kratos.register_browser("codes-browser@example.org");
    for source in [
        ["--courier-url", kratos.admin_url()],
        ["--mailpit-url", &mailpit.api_url()],
    ] {
        let run = check_signed_in(
            kratos.public_url(),
            &token,
            &cookie,
            // Two race trials: SQLite serializes writes, so the race cannot show here
            // (tests/kratos_race.rs runs it on PostgreSQL); each trial costs a mail.
            &[
                source[0],
                source[1],
                "--known-email",
                known,
                "--race-trials",
                "2",
            ],
        );
        if run.code != Some(0) {
            kratos.print_log_tail("check with a code source failed");
        }
        run.assert_no_failures();
        run.assert_passed(CORE);
        // With a code source nothing is skipped: the right code, enumeration and CSRF all ran
        // (expiry is opt-in: --expiry-wait against a short lifespan, tests/security_kratos.rs).
        run.assert_nothing_skipped_but_expiry();
    }
}

/// The checks `monitor` runs ([`production_safe`]), given everything that would let an unsafe
/// check act (both credentials, the courier, a known address), pass against a fresh Kratos (master
/// and the newest release) and leave its courier empty: no mail sent, so no code to use.
///
/// [`production_safe`]: recovery_harness::check::catalogue::production_safe
fn production_safe_checks_pass_and_send_no_mail() {
    let safe: Vec<&str> = recovery_harness::check::catalogue::production_safe()
        .iter()
        .map(|c| c.id)
        .collect();
    let only = safe.join(",");
    for options in [
        KratosOptions::new().cheap_passwords(),
        KratosOptions::new().cheap_passwords().release_v26_2_0(),
    ] {
        let kratos = options
            .start()
            .expect("the runner ignores this test without it");
        let known = "production-safe@example.org";
        let token = kratos.register_native(known);
        let cookie = kratos.register_browser("production-safe-browser@example.org");
        let run = check(&[
            "--target",
            kratos.public_url(),
            "--session-token",
            &token,
            "--session-cookie",
            &cookie,
            "--courier-url",
            kratos.admin_url(),
            "--known-email",
            known,
            "--fuzz-cases",
            "0",
            "--only",
            &only,
        ]);
        run.assert_no_failures();
        assert_eq!(
            run.ids_with("passed").len(),
            safe.len(),
            "every production-safe check passes:\n{}",
            run.context()
        );
        let mail = kratos.courier_messages();
        assert!(
            mail.is_empty(),
            "the production-safe checks made Kratos send {} message(s): {mail:#?}",
            mail.len()
        );
    }
}
