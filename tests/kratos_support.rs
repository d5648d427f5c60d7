//! The shared test support against the real programs: Kratos starts, registers identities over
//! both flows and stops by its PID; Mailpit receives Kratos's recovery mail; the proxy serves
//! Kratos under `/auth` with the `X-Forwarded-*` headers an ingress sets.

mod support;

use std::time::Duration;
use support::har::{send, Req};
use support::kratos::KratosOptions;
use support::mailpit::Mailpit;
use support::proxy::kratos_behind;
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "kratos_starts_registers_and_stops_by_pid",
            &[Needs::Kratos],
            kratos_starts_registers_and_stops_by_pid,
        ),
        test(
            "mailpit_receives_the_recovery_code",
            &[Needs::Kratos, Needs::Mailpit],
            mailpit_receives_the_recovery_code,
        ),
        test(
            "proxy_strips_the_prefix_and_sets_forwarded_headers",
            &[Needs::Kratos],
            proxy_strips_the_prefix_and_sets_forwarded_headers,
        ),
        test(
            "postgres_serves_both_kratos_binaries_and_stops_by_pid",
            &[Needs::Postgres, Needs::Kratos, Needs::KratosRelease],
            postgres_serves_both_kratos_binaries_and_stops_by_pid,
        ),
    ])
}

fn client() -> reqwest::Client {
    recovery_harness::tls::install_default_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn kratos_starts_registers_and_stops_by_pid() {
    let kratos = KratosOptions::new()
        .start()
        .expect("the runner ignores this test without it");
    let token = kratos.register_native("support-native@example.org");
    assert!(token.starts_with("ory_st_"), "{token}");
    let cookie = kratos.register_browser("support-browser@example.org");
    assert!(cookie.starts_with("ory_kratos_session="), "{cookie}");

    // Both sessions are real: Kratos refuses a recovery flow to a signed-in caller.
    let base = kratos.public_url().to_owned();
    let (by_token, by_cookie) = support::block_on(async move {
        let c = client();
        let url = format!("{base}/self-service/recovery/api");
        let t = send(&c, &Req::get(&url).header("X-Session-Token", &token)).await;
        let b = send(
            &c,
            &Req::get(&format!("{base}/self-service/recovery/browser"))
                .header("Accept", "application/json")
                .header("Cookie", &cookie),
        )
        .await;
        (t.expect("token"), b.expect("cookie"))
    });
    assert_eq!(by_token.status, 400, "{}", by_token.body);
    assert_eq!(by_token.json()["error"]["id"], "session_already_available");
    assert_eq!(by_cookie.status, 400, "{}", by_cookie.body);

    let pid = kratos.pid();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(kratos);
    let gone = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true);
    assert!(gone, "Kratos (pid {pid}) still runs after drop");
}

fn mailpit_receives_the_recovery_code() {
    if support::kratos::binary().is_none() {
        return;
    }
    let mailpit = Mailpit::start().expect("the runner ignores this test without it");
    let kratos = KratosOptions::new()
        .mailpit(&mailpit)
        .start()
        .expect("the runner ignores this test without it");
    let email = "support-mail@example.org";
    kratos.register_native(email);
    let base = kratos.public_url().to_owned();
    let sent = support::block_on(async move {
        let c = client();
        let flow = send(&c, &Req::get(&format!("{base}/self-service/recovery/api")))
            .await
            .expect("flow")
            .json();
        let id = flow["id"].as_str().expect("id").to_owned();
        send(
            &c,
            &Req::post(&format!("{base}/self-service/recovery?flow={id}"))
                .header("Accept", "application/json")
                .json(&serde_json::json!({"method": "code", "email": email})),
        )
        .await
        .expect("submit")
    });
    assert_eq!(sent.status, 200, "{}", sent.body);
    let text = mailpit.wait_for_text_to(email, Duration::from_secs(20));
    let Some(text) = text else {
        kratos.print_log_tail("no mail arrived");
        mailpit.print_log_tail("no mail arrived");
        panic!("no recovery mail reached Mailpit");
    };
    let has_code = text
        .split(|c: char| !c.is_ascii_digit())
        .any(|w| w.len() == 6);
    assert!(has_code, "no 6-digit code in the mail:\n{text}");
}

fn proxy_strips_the_prefix_and_sets_forwarded_headers() {
    let (_kratos, proxy) = kratos_behind(KratosOptions::new(), "/auth")
        .expect("the runner ignores this test without it");
    let url = proxy.url().to_owned();
    let (flow, outside, not_allowed) = support::block_on(async move {
        let c = client();
        let flow = send(&c, &Req::get(&format!("{url}/self-service/recovery/api"))).await;
        let outside = send(
            &c,
            &Req::get(&format!(
                "{}/self-service/recovery/api",
                url.trim_end_matches("/auth")
            )),
        )
        .await;
        let not_allowed = send(
            &c,
            &Req::new("DELETE", &format!("{url}/self-service/recovery/api")),
        )
        .await;
        (
            flow.expect("flow"),
            outside.expect("outside"),
            not_allowed.expect("405"),
        )
    });
    assert_eq!(flow.status, 200, "{}", flow.body);
    let v = flow.json();
    let id = v["id"].as_str().expect("id");
    assert_eq!(
        v["ui"]["action"],
        format!("{}/self-service/recovery?flow={id}", proxy.url()),
        "ui.action follows serve.public.base_url"
    );
    // Kratos builds request_url from the path it saw (the prefix is gone) and X-Forwarded-Host.
    let request_url = v["request_url"].as_str().expect("request_url");
    assert!(
        request_url.ends_with("/self-service/recovery/api"),
        "{request_url}"
    );
    assert_eq!(outside.status, 404);
    assert_eq!(outside.body, "404 page not found\n");
    assert_eq!(not_allowed.status, 405);
    assert_eq!(not_allowed.header("allow"), Some("GET, HEAD"));
    assert_eq!(
        proxy.forwarded(),
        2,
        "the request outside /auth is not forwarded"
    );
}

fn postgres_serves_both_kratos_binaries_and_stops_by_pid() {
    if support::kratos::binary().is_none() {
        return;
    }
    let pg = support::postgres::Postgres::start().expect("the runner ignores this test without it");
    for (options, db) in [
        (KratosOptions::new(), "support_master"),
        (KratosOptions::new().release_v26_2_0(), "support_release"),
    ] {
        let dsn = pg.database(db);
        let name = dsn
            .rsplit('/')
            .next()
            .and_then(|tail| tail.split('?').next())
            .expect("a database name")
            .to_owned();
        let kratos = options
            .cheap_passwords()
            .dsn(&dsn)
            .start()
            .expect("the runner ignores this test without it");
        let token = kratos.register_native("support-postgres@example.org");
        assert!(token.starts_with("ory_st_"), "{token}");
        // The identity is in PostgreSQL, not in a SQLite file.
        let count = pg
            .query(&name, "select count(*) from identities")
            .expect("identities table");
        assert_eq!(count, "1", "{db}");
        assert!(!kratos.dir().join("db.sqlite").exists());
    }
    let pid = pg.pid();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(pg);
    let gone = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true);
    assert!(gone, "postgres (pid {pid}) still runs after drop");
}
