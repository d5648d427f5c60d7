//! The Mailpit mail catcher as Kratos's SMTP server in tests.
//!
//! ```ignore
//! let Some(mailpit) = support::mailpit::Mailpit::start() else { return }; // skipped
//! let kratos = KratosOptions::new().mailpit(&mailpit).start();            // courier -> Mailpit
//! // mailpit.api_url() = http://127.0.0.1:P (GET /api/v1/messages, /api/v1/message/{ID})
//! ```
//!
//! The program is `RECOVERY_HARNESS_MAILPIT_BIN`, else `mailpit` on `PATH`. It listens on two free
//! loopback ports (SMTP and HTTP), keeps its database in a temp dir, never looks for updates
//! (`--disable-version-check`), makes no reverse-DNS lookups (`--smtp-disable-rdns`), logs errors
//! only, and accepts any SMTP credentials (a Kratos URI with a user still delivers). POP3 stays
//! off (it starts only with an auth file). [`Mailpit::start_with_ui_auth`] protects its web UI
//! and API with basic authentication (`--ui-auth-file`), as a shared Mailpit often is. A test that uses it declares `Needs::Mailpit`
//! (`super::runner`): ignored without the program, a failure under
//! `RECOVERY_HARNESS_REQUIRE_TOOLS=1`. Dropping it stops it by its PID.

use super::process::{wait_ready, Guarded};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Names another Mailpit binary.
pub const BIN_VAR: &str = "RECOVERY_HARNESS_MAILPIT_BIN";
/// When `1`, a missing tool is a failure instead of a skip.
pub const REQUIRE_VAR: &str = "RECOVERY_HARNESS_REQUIRE_TOOLS";

/// A running Mailpit.
#[derive(Debug)]
pub struct Mailpit {
    smtp_port: u16,
    http_port: u16,
    /// The user and password its UI and API demand, if any.
    ui_auth: Option<(String, String)>,
    process: Guarded,
    dir: tempfile::TempDir,
}

/// The Mailpit binary, or `None` after the skip line (a panic when tools are required).
pub fn binary() -> Option<PathBuf> {
    match find() {
        Ok(p) => Some(p),
        Err(why) => {
            super::skip_or_panic("Mailpit", &why, REQUIRE_VAR);
            None
        }
    }
}

/// The Mailpit binary, or why there is none.
pub fn find() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(BIN_VAR).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{BIN_VAR}={} is not a file", p.display()))
        };
    }
    super::runner::on_path("mailpit").ok_or_else(|| {
        format!(
            "mailpit is not on PATH and {BIN_VAR} is not set \
             (go install github.com/axllent/mailpit@v1.33.1)"
        )
    })
}

impl Mailpit {
    /// Starts Mailpit (see the module doc); panics when the program exists but does not start.
    pub fn start() -> Option<Mailpit> {
        Mailpit::start_auth(None)
    }

    /// Starts Mailpit with its web UI and API behind basic authentication of `user` and
    /// `password` (`--ui-auth-file`; `/readyz` stays open).
    pub fn start_with_ui_auth(user: &str, password: &str) -> Option<Mailpit> {
        Mailpit::start_auth(Some((user.to_owned(), password.to_owned())))
    }

    fn start_auth(ui_auth: Option<(String, String)>) -> Option<Mailpit> {
        let bin = binary()?;
        let mut last = String::new();
        for _ in 0..3 {
            match Mailpit::start_once(&bin, ui_auth.clone()) {
                Ok(m) => return Some(m),
                Err(e) => last = e,
            }
        }
        panic!("Mailpit ({}) did not start: {last}", bin.display())
    }

    fn start_once(
        bin: &std::path::Path,
        ui_auth: Option<(String, String)>,
    ) -> Result<Mailpit, String> {
        let dir = tempfile::Builder::new()
            .prefix("mailpit-test-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let smtp_port = super::free_port();
        let mut http_port = super::free_port();
        while http_port == smtp_port {
            http_port = super::free_port();
        }
        let mut cmd = Command::new(bin);
        cmd.current_dir(dir.path())
            .arg("--smtp")
            .arg(format!("127.0.0.1:{smtp_port}"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--database")
            .arg(dir.path().join("mailpit.db"))
            .args([
                "--disable-version-check",
                "--smtp-disable-rdns",
                "--smtp-auth-accept-any",
                "--smtp-auth-allow-insecure",
                "--block-remote-css-and-fonts",
                "--quiet",
            ]);
        if let Some((user, password)) = &ui_auth {
            // An htpasswd file; Mailpit also takes a plain-text password in it.
            let file = dir.path().join("ui-auth");
            std::fs::write(&file, format!("{user}:{password}\n")).map_err(|e| e.to_string())?;
            cmd.arg("--ui-auth-file").arg(file);
        }
        let mut process = Guarded::spawn("mailpit", &cmd, &dir.path().join("mailpit.log"))?;
        if let Err(e) = wait_ready(
            &mut process,
            &format!("127.0.0.1:{http_port}"),
            "/readyz",
            Duration::from_secs(20),
        ) {
            let tail = process.log_tail(40);
            process.stop();
            return Err(format!("{e}\n----- mailpit output -----\n{tail}\n-----"));
        }
        Ok(Mailpit {
            smtp_port,
            http_port,
            ui_auth,
            process,
            dir,
        })
    }

    /// Kratos's `courier.smtp.connection_uri` for this Mailpit.
    pub fn smtp_uri(&self) -> String {
        format!("smtp://127.0.0.1:{}/?disable_starttls=true", self.smtp_port)
    }

    /// Mailpit's HTTP API and UI, `http://127.0.0.1:P` (the `--mailpit-url` of a run).
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Delivers a plain-text mail to `to` through Mailpit's send API (`POST /api/v1/send`), as if
    /// a deployment had sent it: a mail whose arrival time the test controls.
    #[allow(dead_code)] // not every test binary that includes the support module sends mail
    pub async fn deliver(&self, to: &str, subject: &str, text: &str) {
        recovery_harness::tls::install_default_provider();
        let body = serde_json::json!({
            "From": {"Email": "no-reply@example.org"},
            "To": [{"Email": to}],
            "Subject": subject,
            "Text": text,
        });
        let mut request = reqwest::Client::new()
            .post(format!("{}/api/v1/send", self.api_url()))
            .timeout(Duration::from_secs(10))
            .json(&body);
        if let Some((user, password)) = &self.ui_auth {
            request = request.basic_auth(user, Some(password));
        }
        let resp = request.send().await.expect("Mailpit's send API");
        let status = resp.status();
        assert!(
            status.is_success(),
            "Mailpit send: {status}: {}",
            resp.text().await.unwrap_or_default()
        );
    }

    /// Prints the tail of Mailpit's output.
    pub fn print_log_tail(&self, why: &str) {
        self.process.print_tail(why);
    }

    /// `GET /api/v1/messages` as JSON (`messages` newest first, each with `ID`, `To`, `Subject`).
    pub fn messages(&self) -> serde_json::Value {
        let url = format!("{}/api/v1/messages?limit=200", self.api_url());
        let auth = self.ui_auth.clone();
        super::block_on(async move { get_json(&url, auth).await }).expect("Mailpit's message list")
    }

    /// Waits (bounded by `within`) for a message to `recipient` and returns its plain-text body.
    pub fn wait_for_text_to(&self, recipient: &str, within: Duration) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < within {
            let list = self.messages();
            let id = list["messages"].as_array().and_then(|msgs| {
                msgs.iter()
                    .find(|m| {
                        m["To"].as_array().is_some_and(|to| {
                            to.iter().any(|t| {
                                t["Address"]
                                    .as_str()
                                    .is_some_and(|a| a.eq_ignore_ascii_case(recipient))
                            })
                        })
                    })
                    .and_then(|m| m["ID"].as_str().map(str::to_owned))
            });
            if let Some(id) = id {
                let url = format!("{}/api/v1/message/{id}", self.api_url());
                let auth = self.ui_auth.clone();
                let msg = super::block_on(async move { get_json(&url, auth).await }).ok()?;
                return msg["Text"].as_str().map(str::to_owned);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

async fn get_json(url: &str, auth: Option<(String, String)>) -> Result<serde_json::Value, String> {
    recovery_harness::tls::install_default_provider();
    let mut request = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10));
    if let Some((user, password)) = auth {
        request = request.basic_auth(user, Some(password));
    }
    let resp = request.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))
}
