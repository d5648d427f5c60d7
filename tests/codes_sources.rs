//! The code sources (`recovery_harness::codes`) read the code a deployment really sent: from the
//! embedded server's courier, and from real Kratos through its courier admin API and through real
//! Mailpit; a Kratos outside `--dev` is diagnosed in one line. A source behind basic
//! authentication (real Mailpit's `--ui-auth-file`, the courier behind an authenticating proxy)
//! is read with the `user:password@` of its URL, by `check` and `load` alike, and the password
//! shows nowhere.

mod support;

use recovery_harness::codes::{CodeError, CodeSource, Mark, SourceKind};
use recovery_harness::server::{spawn, ServerConfig};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::harness;
use support::kratos::{Kratos, KratosOptions};
use support::mailpit::Mailpit;
use support::proxy::Proxy;
use support::reference::Reference;
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "the_embedded_courier_gives_the_code_that_recovers",
            &[],
            the_embedded_courier_gives_the_code_that_recovers,
        ),
        test(
            "an_unreachable_or_wrong_source_is_a_typed_error",
            &[],
            an_unreachable_or_wrong_source_is_a_typed_error,
        ),
        test(
            "a_mailpit_behind_ui_auth_is_read_with_the_credentials_of_its_url",
            &[Needs::Mailpit],
            a_mailpit_behind_ui_auth_is_read_with_the_credentials_of_its_url,
        ),
        test(
            "check_and_load_read_a_courier_behind_basic_auth_alike",
            &[],
            check_and_load_read_a_courier_behind_basic_auth_alike,
        ),
        test(
            "real_kratos_codes_arrive_at_the_courier_and_at_mailpit",
            &[Needs::Kratos, Needs::Mailpit],
            real_kratos_codes_arrive_at_the_courier_and_at_mailpit,
        ),
        test(
            "a_kratos_outside_dev_mode_is_diagnosed_in_one_line",
            &[Needs::Kratos, Needs::Mailpit],
            a_kratos_outside_dev_mode_is_diagnosed_in_one_line,
        ),
        test(
            "an_earlier_flows_mail_in_flight_is_not_taken_from_mailpit",
            &[Needs::Kratos, Needs::Mailpit],
            an_earlier_flows_mail_in_flight_is_not_taken_from_mailpit,
        ),
    ])
}

const WAIT: Duration = Duration::from_secs(15);

async fn submit_email(http: &reqwest::Client, public: &str, email: &str) -> String {
    let flow: Value = http
        .get(format!("{public}/self-service/recovery/api"))
        .send()
        .await
        .expect("flow")
        .json()
        .await
        .expect("flow json");
    let id = flow["id"].as_str().expect("id").to_owned();
    let resp = http
        .post(format!("{public}/self-service/recovery?flow={id}"))
        .header("Accept", "application/json")
        .json(&json!({"method": "code", "email": email}))
        .send()
        .await
        .expect("submit");
    assert_eq!(resp.status(), 200);
    id
}

/// Submits the code and returns the status.
async fn submit_code(http: &reqwest::Client, public: &str, flow: &str, code: &str) -> u16 {
    http.post(format!("{public}/self-service/recovery?flow={flow}"))
        .header("Accept", "application/json")
        .json(&json!({"method": "code", "code": code}))
        .send()
        .await
        .expect("submit code")
        .status()
        .as_u16()
}

/// Real Mailpit and a real Kratos (from `options`) sending to it, with `email` registered, and
/// both code sources of that deployment.
struct Deployment {
    // Declared before `mail`: the Kratos stops before the Mailpit it sends to.
    _kratos: Kratos,
    mail: Mailpit,
    public: String,
    courier: CodeSource,
    mailpit: CodeSource,
}

impl Deployment {
    /// `None` when Mailpit or Kratos is not available.
    fn start(options: KratosOptions, email: &str) -> Option<Deployment> {
        let mail = Mailpit::start()?;
        let kratos = options.mailpit(&mail).start()?;
        kratos.register_native(email);
        let courier = CodeSource::new(
            SourceKind::Courier,
            kratos.admin_url(),
            Duration::from_secs(5),
        )
        .expect("courier");
        let mailpit = CodeSource::new(SourceKind::Mailpit, &mail.api_url(), Duration::from_secs(5))
            .expect("mailpit");
        Some(Deployment {
            public: kratos.public_url().to_owned(),
            _kratos: kratos,
            mail,
            courier,
            mailpit,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn the_embedded_courier_gives_the_code_that_recovers() {
    let server = spawn(ServerConfig::default()).await.expect("server");
    let http = reqwest::Client::new();
    let source = CodeSource::new(
        SourceKind::Courier,
        server.admin_url(),
        Duration::from_secs(5),
    )
    .expect("source");
    let email = "someone@example.org";
    let mark = source.mark(email).await.expect("mark");
    let first = submit_email(&http, server.base_url(), email).await;
    let code = source.code_after(email, &mark, WAIT).await.expect("code");
    // A second flow's code is a new message; the first code is not found again after it.
    let mut mark2 = source.mark(email).await.expect("mark");
    mark2.insert(code.message_id.clone());
    let second = submit_email(&http, server.base_url(), email).await;
    let code2 = source.code_after(email, &mark2, WAIT).await.expect("code");
    assert_ne!(code.message_id, code2.message_id);
    assert_eq!(
        submit_code(&http, server.base_url(), &first, &code.code).await,
        422
    );
    assert_eq!(
        submit_code(&http, server.base_url(), &second, &code2.code).await,
        422
    );
    // Nothing new for an unknown address: a bounded wait and a clear error.
    let unknown = "nobody@unknown.invalid";
    let err = source
        .code_after(unknown, &Mark::empty(), Duration::from_millis(300))
        .await
        .expect_err("no code");
    assert!(matches!(err, CodeError::NoCode { .. }), "{err}");
    assert!(err.to_string().contains(unknown), "{err}");
    server.shutdown().await;
}

#[tokio::main(flavor = "current_thread")]
async fn an_unreachable_or_wrong_source_is_a_typed_error() {
    let server = spawn(ServerConfig::default()).await.expect("server");
    // The public API is no Mailpit: its search route is a 404.
    let wrong = CodeSource::new(
        SourceKind::Mailpit,
        server.base_url(),
        Duration::from_secs(2),
    )
    .expect("source");
    let err = wrong.mark("a@example.org").await.expect_err("404");
    assert!(
        matches!(err, CodeError::Status { status: 404, .. }),
        "{err}"
    );
    server.shutdown().await;
    let gone = CodeSource::new(
        SourceKind::Courier,
        "http://127.0.0.1:9",
        Duration::from_secs(2),
    )
    .expect("source");
    let err = gone.mark("a@example.org").await.expect_err("refused");
    assert!(matches!(err, CodeError::Transport { .. }), "{err}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn real_kratos_codes_arrive_at_the_courier_and_at_mailpit() {
    let email = "codes-known@example.org";
    let d = Deployment::start(KratosOptions::new(), email)
        .expect("the runner ignores this test without it");
    let (public, courier, mailpit) = (&d.public, &d.courier, &d.mailpit);
    let http = reqwest::Client::new();

    let (cm, mm) = (
        courier.mark(email).await.expect("mark"),
        mailpit.mark(email).await.expect("mark"),
    );
    let flow = submit_email(&http, public, email).await;
    let by_courier = courier
        .code_after(email, &cm, WAIT)
        .await
        .expect("courier code");
    let by_mail = mailpit
        .code_after(email, &mm, WAIT)
        .await
        .expect("mailpit code");
    assert_eq!(
        by_courier.code, by_mail.code,
        "both sources read the same e-mail"
    );
    assert_eq!(by_courier.code.len(), 6);
    assert_eq!(
        submit_code(&http, public, &flow, &by_mail.code).await,
        422,
        "the code read from Mailpit recovers the account"
    );

    // The next flow's code is a new message at both sources.
    let mut mm2 = mailpit.mark(email).await.expect("mark");
    mm2.insert(by_mail.message_id.clone());
    submit_email(&http, public, email).await;
    let next = mailpit
        .code_after(email, &mm2, WAIT)
        .await
        .expect("next code");
    assert_ne!(next.message_id, by_mail.message_id);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn a_kratos_outside_dev_mode_is_diagnosed_in_one_line() {
    let email = "codes-redacted@example.org";
    let d = Deployment::start(KratosOptions::new().without_dev(), email)
        .expect("the runner ignores this test without it");
    let (public, courier, mailpit) = (&d.public, &d.courier, &d.mailpit);
    let http = reqwest::Client::new();
    let mark = courier.mark(email).await.expect("mark");
    submit_email(&http, public, email).await;
    let err = courier
        .code_after(email, &mark, WAIT)
        .await
        .expect_err("redacted");
    assert!(matches!(err, CodeError::Redacted { .. }), "{err}");
    let text = err.to_string();
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(
        text.contains("--dev") && text.contains("--mailpit-url"),
        "{text}"
    );
    // Mailpit still has the code.
    let code = mailpit
        .code_after(email, &Mark::empty(), WAIT)
        .await
        .expect("mailpit code");
    assert_eq!(code.code.len(), 6);
}

/// An earlier flow's mail that is still on its way when the next flow's e-mail is submitted (a
/// previous run's last submission, say) arrives after the mark; the code read from Mailpit must
/// still be the later flow's own, the one that recovers it. The late mail is delivered by the
/// test right after the mark, so that it is at Mailpit before Kratos's courier sends the real one.
#[tokio::main(flavor = "current_thread")]
async fn an_earlier_flows_mail_in_flight_is_not_taken_from_mailpit() {
    let email = "codes-in-flight@example.org";
    let d = Deployment::start(KratosOptions::new(), email)
        .expect("the runner ignores this test without it");
    let (public, mailpit) = (&d.public, &d.mailpit);
    let http = reqwest::Client::new();

    let mark = mailpit.mark(email).await.expect("mark");
    d.mail
        .deliver(
            email,
            "Recover access to your account",
            "Hi, please recover access to your account by entering the following code:\n\n000111\n",
        )
        .await;
    let flow = submit_email(&http, public, email).await;
    let code = mailpit
        .code_after(email, &mark, WAIT)
        .await
        .expect("mailpit code");
    assert_ne!(code.code, "000111", "the earlier mail's code was taken");
    assert_eq!(
        submit_code(&http, public, &flow, &code.code).await,
        422,
        "the code read for the flow recovers it"
    );
}

/// The password of the sources behind basic authentication.
const PASSWORD: &str = "pa55word-7c1e";

/// `http://harness:PASSWORD@host:port/path` from `http://host:port/path`.
fn with_credentials(url: &str, password: &str) -> String {
    url.replacen("://", &format!("://harness:{password}@"), 1)
}

#[tokio::main(flavor = "current_thread")]
async fn a_mailpit_behind_ui_auth_is_read_with_the_credentials_of_its_url() {
    let mail = Mailpit::start_with_ui_auth("harness", PASSWORD)
        .expect("the runner ignores this test without it");
    let email = "auth-known@example.org";
    let source = CodeSource::new(
        SourceKind::Mailpit,
        &with_credentials(&mail.api_url(), PASSWORD),
        Duration::from_secs(5),
    )
    .expect("credentials are taken off the URL");
    assert!(!format!("{source:?}").contains(PASSWORD));
    assert!(!source.describe().contains(PASSWORD));
    source
        .mailpit_clock()
        .await
        .expect("Mailpit answers the credentials");
    let mark = source.mark(email).await.expect("mark");
    mail.deliver(email, "Recover access", "Your code:\n\n274119\n")
        .await;
    let code = source.code_after(email, &mark, WAIT).await.expect("code");
    assert_eq!(code.code, "274119");

    // Without credentials, or with wrong ones: Mailpit's 401, and the password nowhere.
    for url in [
        mail.api_url(),
        with_credentials(&mail.api_url(), "not-the-password"),
    ] {
        let source = CodeSource::new(SourceKind::Mailpit, &url, Duration::from_secs(5))
            .expect("a valid URL");
        let err = source.mailpit_clock().await.expect_err("refused");
        assert!(
            matches!(err, CodeError::Status { status: 401, .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            !text.contains("not-the-password") && !text.contains(PASSWORD),
            "{text}"
        );
    }
}

/// Every file a run wrote, as one text.
fn written(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).expect("report dir").flatten() {
        if entry.path().is_file() {
            all.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.path()).expect("readable"),
            ));
        }
    }
    all
}

/// The reference server's courier behind a proxy that demands basic authentication: `check`'s
/// code checks and `load`'s `full-recovery` read their codes through `--courier-url` with the
/// credentials in it; with a wrong password `load` stops with the refusal and `check` does not
/// pass its code checks, and neither shows the password anywhere.
fn check_and_load_read_a_courier_behind_basic_auth_alike() {
    let reference = Reference::start();
    let proxy = Proxy::start_with_basic_auth(reference.base_url(), "/admin", "harness", PASSWORD);
    let check = |password: &str| {
        harness::check(&[
            "--target",
            reference.base_url(),
            "--courier-url",
            &with_credentials(proxy.url(), password),
            "--known-email",
            "auth-known@example.org",
            "--only",
            "recover.right_code",
        ])
    };
    let load = |password: &str| {
        harness::load(&[
            "--target",
            reference.base_url(),
            "--scenario",
            "full-recovery",
            "--courier-url",
            &with_credentials(proxy.url(), password),
            "--users",
            "2",
            "--duration",
            "1s",
            "--throttle",
            "50",
        ])
    };
    let clean = |label: &str, texts: &[&str]| {
        for text in texts {
            assert!(
                !text.contains(PASSWORD) && !text.contains("not-the-password"),
                "{label} shows a password:\n{text}"
            );
        }
    };

    let run = check(PASSWORD);
    run.assert_passed(&["recover.right_code"]);
    clean(
        "check",
        &[&run.stdout, &run.stderr, &written(run.report_dir())],
    );
    let through = proxy.forwarded();
    assert!(through > 0, "the codes were read through the proxy");

    let run = load(PASSWORD);
    run.assert_passed();
    clean(
        "load",
        &[&run.stdout, &run.stderr, &written(run.dir.path())],
    );
    assert!(
        proxy.forwarded() > through,
        "load read its codes through the proxy"
    );
    assert_eq!(proxy.refused(), 0);

    // A wrong password: load stops before the attack, check's code check says why it did not
    // pass (the runner skips a check whose input it cannot get, with the reason).
    let run = load("not-the-password");
    assert_eq!(run.code, Some(2), "{}", run.context());
    assert!(
        run.stderr.contains("refused the credentials"),
        "{}",
        run.stderr
    );
    clean("load, a wrong password", &[&run.stdout, &run.stderr]);
    let run = check("not-the-password");
    let right = run.check("recover.right_code").expect("reported");
    assert_ne!(right["status"], "passed", "{right:#}");
    assert!(
        right["detail"].as_str().is_some_and(|d| d.contains("401")),
        "the refusal is the reason: {right:#}"
    );
    clean(
        "check, a wrong password",
        &[&run.stdout, &run.stderr, &written(run.report_dir())],
    );
    assert!(proxy.refused() > 0);
}
