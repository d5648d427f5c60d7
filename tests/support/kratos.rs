//! The real Ory Kratos as a test target: a `kratos` binary with its `kratos.yml` and
//! `identity.schema.json` beside it (CI uses the ones in `../shared/kratos/`; docs/testing.md says
//! what the tests need of them).
//!
//! ```ignore
//! let Some(kratos) = support::kratos::KratosOptions::new().start() else { return }; // skipped
//! let token = kratos.register_native("someone@example.org");      // ory_st_...
//! let cookie = kratos.register_browser("other@example.org");      // ory_kratos_session=...
//! // kratos.public_url() = http://127.0.0.1:P, kratos.admin_url() = http://127.0.0.1:Q
//! ```
//!
//! [`KratosOptions::start`] takes the binary from `RECOVERY_HARNESS_KRATOS_BIN` and reads
//! `kratos.yml` and `identity.schema.json` from the binary's directory. Each start gets a fresh
//! temp dir (schema copy, SQLite *file* database: `dsn: memory` breaks under concurrent
//! requests), runs `migrate sql -e --yes`, then `serve -c kratos.yml [--dev] --watch-courier
//! --sqa-opt-out` on two free loopback ports, and waits (bounded) for `/health/ready`. Dropping
//! the [`Kratos`] stops it by its PID and removes the dir. A test that uses it declares
//! `Needs::Kratos` (`super::runner`), so that it is ignored without the variable; a missing
//! binary reached all the same, or a failed start, panics. Kratos's
//! output is kept in a log file; its tail is printed when a start fails and by
//! [`Kratos::print_log_tail`].
//!
//! [`KratosOptions::release_v26_2_0`] runs the newest release instead (`kratos-v26.2.0`, next to
//! the master binary), and [`KratosOptions::dsn`] a PostgreSQL database instead of the SQLite
//! file (`let dsn = support::postgres::shared()?.database("t");`): concurrency defects show only
//! there, SQLite serializes writes.
//!
//! Tests that do not change Kratos's configuration share one instance per test binary:
//! [`shared`] (default options) or [`shared_with_mailpit`] (courier sending to a Mailpit).

use super::mailpit::Mailpit;
use super::process::{wait_ready, Guarded};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The variable naming the Kratos binary.
pub const BIN_VAR: &str = "RECOVERY_HARNESS_KRATOS_BIN";
/// When `1`, a missing or failing Kratos is a test failure instead of a skip.
pub const REQUIRE_VAR: &str = "RECOVERY_HARNESS_REQUIRE_KRATOS";

/// How Kratos is started: environment overrides of `kratos.yml` and the `--dev` switch.
#[derive(Debug, Clone)]
pub struct KratosOptions {
    env: Vec<(String, String)>,
    dev: bool,
    public_base_url: Option<String>,
    sibling: Option<&'static str>,
    dsn: Option<String>,
}

/// The newest Kratos release, next to `RECOVERY_HARNESS_KRATOS_BIN` (master) in its directory
/// (v26.2.0 still issues two sessions for one code submitted concurrently; master has the fix).
pub const RELEASE_V26_2_0: &str = "kratos-v26.2.0";

impl Default for KratosOptions {
    fn default() -> Self {
        KratosOptions::new()
    }
}

impl KratosOptions {
    /// `kratos.yml` as shipped, with `--dev` (courier message bodies readable over the admin API),
    /// the courier's SMTP pointed at a closed port until [`KratosOptions::smtp`] says otherwise.
    pub fn new() -> KratosOptions {
        KratosOptions {
            // kratos.yml's courier sends to 127.0.0.1:1025, where another test's mail catcher
            // may listen; the discard port has no listener, so the courier only logs its retries.
            env: vec![(
                "COURIER_SMTP_CONNECTION_URI".to_owned(),
                "smtp://127.0.0.1:9/?disable_starttls=true".to_owned(),
            )],
            dev: true,
            public_base_url: None,
            sibling: None,
            dsn: None,
        }
    }

    /// Runs the binary named `name` in the directory of `RECOVERY_HARNESS_KRATOS_BIN` instead of
    /// that binary (e.g. [`RELEASE_V26_2_0`]); it takes the same `kratos.yml`.
    pub fn sibling(mut self, name: &'static str) -> KratosOptions {
        self.sibling = Some(name);
        self
    }

    /// Kratos v26.2.0, the newest release ([`RELEASE_V26_2_0`]).
    pub fn release_v26_2_0(self) -> KratosOptions {
        self.sibling(RELEASE_V26_2_0)
    }

    /// Uses the database `dsn` (e.g. a PostgreSQL database from
    /// [`super::postgres::Postgres::database`]) instead of a fresh SQLite file; it is migrated
    /// (`migrate sql -e --yes`) before Kratos serves.
    pub fn dsn(mut self, dsn: &str) -> KratosOptions {
        self.dsn = Some(dsn.to_owned());
        self
    }

    /// Any config key as Kratos's environment variable (`selfservice.flows.recovery.lifespan` ->
    /// `SELFSERVICE_FLOWS_RECOVERY_LIFESPAN`).
    pub fn env(mut self, key: &str, value: &str) -> KratosOptions {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Registration in milliseconds rather than seconds: bcrypt at its lowest cost instead of
    /// argon2, and no Have I Been Pwned lookup (no network here: each registration waited for it
    /// to fail). For tests that register identities they do not sign in with a password.
    pub fn cheap_passwords(self) -> KratosOptions {
        self.env("HASHERS_ALGORITHM", "bcrypt")
            .env("HASHERS_BCRYPT_COST", "4")
            .env(
                "SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED",
                "false",
            )
    }

    /// `courier.worker.pull_wait: 100ms`: the courier looks for queued mail ten times a second
    /// instead of once, so a code read from the courier (which waits until the message is sent)
    /// or from Mailpit arrives in about 0.1 s instead of up to 1 s.
    pub fn quick_courier(self) -> KratosOptions {
        self.env("COURIER_WORKER_PULL_WAIT", "100ms")
    }

    /// `selfservice.flows.recovery.lifespan` (`"3s"`, `"1m"`).
    pub fn lifespan(self, lifespan: &str) -> KratosOptions {
        self.env("SELFSERVICE_FLOWS_RECOVERY_LIFESPAN", lifespan)
    }

    /// `selfservice.flows.recovery.enabled: false`.
    pub fn recovery_disabled(self) -> KratosOptions {
        self.env("SELFSERVICE_FLOWS_RECOVERY_ENABLED", "false")
    }

    /// `feature_flags.choose_recovery_address: true` (recovery v2).
    pub fn choose_recovery_address(self) -> KratosOptions {
        self.env("FEATURE_FLAGS_CHOOSE_RECOVERY_ADDRESS", "true")
    }

    /// `feature_flags.use_continue_with_transitions: true`.
    pub fn continue_with_transitions(self) -> KratosOptions {
        self.env("FEATURE_FLAGS_USE_CONTINUE_WITH_TRANSITIONS", "true")
    }

    /// `courier.smtp.connection_uri`.
    pub fn smtp(self, uri: &str) -> KratosOptions {
        self.env("COURIER_SMTP_CONNECTION_URI", uri)
    }

    /// The courier sends to `mailpit`.
    pub fn mailpit(self, mailpit: &Mailpit) -> KratosOptions {
        self.smtp(&mailpit.smtp_uri())
    }

    /// Start without `--dev`: courier bodies read `<redacted-unless-dev-mode>` on the admin API.
    pub fn without_dev(mut self) -> KratosOptions {
        self.dev = false;
        self
    }

    /// `serve.public.base_url` (default `http://127.0.0.1:<public port>/`), e.g. a proxy's
    /// `http://127.0.0.1:P/auth/` when Kratos is served behind it.
    pub fn public_base_url(mut self, url: &str) -> KratosOptions {
        self.public_base_url = Some(url.to_owned());
        self
    }

    /// Starts Kratos, or prints the skip line and returns `None` when `RECOVERY_HARNESS_KRATOS_BIN`
    /// is unset. Panics when the start fails (a broken binary is never a silent skip), and when the
    /// binary is missing while `RECOVERY_HARNESS_REQUIRE_KRATOS=1`.
    pub fn start(self) -> Option<Kratos> {
        let bin = self.binary()?;
        match self.try_start(&bin) {
            Ok(k) => Some(k),
            Err(e) => panic!("real Kratos ({}) did not start: {e}", bin.display()),
        }
    }

    /// The binary these options run: `RECOVERY_HARNESS_KRATOS_BIN`, or its [`sibling`]
    /// (`None` after the skip line; a panic under `RECOVERY_HARNESS_REQUIRE_KRATOS=1`).
    ///
    /// [`sibling`]: KratosOptions::sibling
    pub fn binary(&self) -> Option<PathBuf> {
        let master = binary()?;
        let Some(name) = self.sibling else {
            return Some(master);
        };
        match find_sibling(&master, name) {
            Ok(path) => Some(path),
            Err(why) => {
                super::skip_or_panic("real Kratos", &why, REQUIRE_VAR);
                None
            }
        }
    }

    /// Starts Kratos from `bin`, retrying twice when a port was taken between picking and binding.
    pub fn try_start(&self, bin: &Path) -> Result<Kratos, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match self.start_once(bin) {
                Ok(k) => return Ok(k),
                Err((e, retry)) => {
                    last = e;
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    fn start_once(&self, bin: &Path) -> Result<Kratos, (String, bool)> {
        let fail = |e: String| (e, false);
        let home = bin
            .parent()
            .ok_or_else(|| fail(format!("{} has no directory", bin.display())))?;
        let config = home.join("kratos.yml");
        let schema = home.join("identity.schema.json");
        for f in [&config, &schema] {
            if !f.is_file() {
                return Err(fail(format!(
                    "{} is missing (kratos.yml and identity.schema.json are read from the binary's directory)",
                    f.display()
                )));
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("kratos-test-")
            .tempdir()
            .map_err(|e| fail(format!("temp dir: {e}")))?;
        let schema_copy = dir.path().join("identity.schema.json");
        std::fs::copy(&schema, &schema_copy).map_err(|e| fail(format!("copy schema: {e}")))?;
        let public_port = super::free_port();
        let mut admin_port = super::free_port();
        while admin_port == public_port {
            admin_port = super::free_port();
        }
        let public_url = format!("http://127.0.0.1:{public_port}");
        let admin_url = format!("http://127.0.0.1:{admin_port}");
        let mut base = Command::new(bin);
        base.current_dir(dir.path())
            .env(
                "DSN",
                self.dsn.clone().unwrap_or_else(|| {
                    format!(
                        "sqlite://{}/db.sqlite?_fk=true&_journal=WAL&mode=rwc",
                        dir.path().display()
                    )
                }),
            )
            .env("SERVE_PUBLIC_PORT", public_port.to_string())
            .env("SERVE_ADMIN_PORT", admin_port.to_string())
            .env(
                "SERVE_PUBLIC_BASE_URL",
                self.public_base_url
                    .clone()
                    .unwrap_or_else(|| format!("{public_url}/")),
            )
            .env("SERVE_ADMIN_BASE_URL", format!("{admin_url}/"))
            .env(
                "IDENTITY_SCHEMAS",
                format!(
                    r#"[{{"id":"default","url":"file://{}"}}]"#,
                    schema_copy.display()
                ),
            );
        for (k, v) in &self.env {
            base.env(k, v);
        }

        let mut migrate = Command::new(base.get_program());
        copy_env(&base, &mut migrate);
        migrate
            .args(["migrate", "sql", "-e", "--yes", "-c"])
            .arg(&config);
        let out = migrate
            .output()
            .map_err(|e| fail(format!("cannot run {}: {e}", bin.display())))?;
        if !out.status.success() {
            return Err(fail(format!(
                "`kratos migrate sql -e --yes` failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }

        let mut serve = Command::new(base.get_program());
        copy_env(&base, &mut serve);
        serve.arg("serve").arg("-c").arg(&config);
        if self.dev {
            serve.arg("--dev");
        }
        serve.args(["--watch-courier", "--sqa-opt-out"]);
        let log = dir.path().join("kratos.log");
        let mut process = Guarded::spawn("kratos", &serve, &log).map_err(fail)?;
        let ready = wait_ready(
            &mut process,
            &format!("127.0.0.1:{public_port}"),
            "/health/ready",
            Duration::from_secs(30),
        );
        if let Err(e) = ready {
            let tail = process.log_tail(40);
            process.stop();
            let retry = tail.contains("address already in use");
            return Err((
                format!("{e}\n----- kratos output -----\n{tail}\n-----"),
                retry,
            ));
        }
        Ok(Kratos {
            public_url,
            admin_url,
            process,
            dir,
        })
    }
}

fn copy_env(from: &Command, to: &mut Command) {
    if let Some(dir) = from.get_current_dir() {
        to.current_dir(dir);
    }
    for (k, v) in from.get_envs() {
        if let Some(v) = v {
            to.env(k, v);
        }
    }
}

/// The Kratos binary from `RECOVERY_HARNESS_KRATOS_BIN` (see [`super::skip_or_panic`] when it is
/// missing).
pub fn binary() -> Option<PathBuf> {
    match find_binary() {
        Ok(path) => Some(path),
        Err(why) => {
            super::skip_or_panic("real Kratos", &why, REQUIRE_VAR);
            None
        }
    }
}

/// The Kratos binary from `RECOVERY_HARNESS_KRATOS_BIN`, or why there is none.
pub fn find_binary() -> Result<PathBuf, String> {
    let Some(path) = std::env::var_os(BIN_VAR).filter(|v| !v.is_empty()) else {
        return Err(format!("{BIN_VAR} is not set"));
    };
    let path = PathBuf::from(path);
    if path.is_file() {
        Ok(std::fs::canonicalize(&path).unwrap_or(path))
    } else {
        Err(format!("{BIN_VAR}={} is not a file", path.display()))
    }
}

/// The binary `name` beside the master binary, or why there is none.
pub fn find_sibling(master: &Path, name: &str) -> Result<PathBuf, String> {
    let path = master.with_file_name(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not a file (the release binary sits next to {BIN_VAR})",
            path.display()
        ))
    }
}

/// A running Kratos. Dropping it stops the process (by its PID) and removes its directory.
#[derive(Debug)]
pub struct Kratos {
    public_url: String,
    admin_url: String,
    process: Guarded,
    dir: tempfile::TempDir,
}

impl Kratos {
    /// The public API, `http://127.0.0.1:P` (no trailing slash): the `--target` of a run.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The admin API, `http://127.0.0.1:Q` (courier messages at `/admin/courier/messages`).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Kratos's PID.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Its working directory (database, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last `lines` lines of Kratos's output.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }

    /// Prints the tail of Kratos's output (call it before asserting on a failed run).
    pub fn print_log_tail(&self, why: &str) {
        self.process.print_tail(why);
    }

    /// Every message of Kratos's courier, newest first (`GET /admin/courier/messages`).
    pub fn courier_messages(&self) -> Vec<serde_json::Value> {
        let url = format!("{}/admin/courier/messages", self.admin_url());
        let res = super::block_on(async move {
            let resp = client(false)
                .get(&url)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            json_of(resp, "GET /admin/courier/messages").await
        });
        match res {
            Ok(serde_json::Value::Array(list)) => list,
            Ok(other) => panic!("the courier listing is not an array: {other}"),
            Err(e) => panic!("the courier listing at {}: {e}", self.admin_url()),
        }
    }

    /// Registers `email` over the native API (`/self-service/registration/api`) and returns its
    /// session token (`ory_st_...`). Panics with Kratos's answer when registration fails.
    pub fn register_native(&self, email: &str) -> String {
        let base = self.public_url.clone();
        let email = email.to_owned();
        let res = super::block_on(async move { register_native(&base, &email).await });
        res.unwrap_or_else(|e| {
            self.print_log_tail("native registration failed");
            panic!("native registration at {}: {e}", self.public_url)
        })
    }

    /// Registers `email` over the browser flow (cookie jar, the flow's `csrf_token`) and returns
    /// the session cookie as a browser sends it: `ory_kratos_session=...`.
    pub fn register_browser(&self, email: &str) -> String {
        let base = self.public_url.clone();
        let email = email.to_owned();
        let res = super::block_on(async move { register_browser(&base, &email).await });
        res.unwrap_or_else(|e| {
            self.print_log_tail("browser registration failed");
            panic!("browser registration at {}: {e}", self.public_url)
        })
    }
}

/// A password Kratos's policy accepts (long, not a known breach: the breach lookup fails offline
/// and Kratos then ignores it).
pub const PASSWORD: &str = "recovery-harness-Zq7v!long-enough-passphrase";

fn client(cookies: bool) -> reqwest::Client {
    recovery_harness::tls::install_default_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a reqwest client")
}

async fn json_of(resp: reqwest::Response, what: &str) -> Result<serde_json::Value, String> {
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("{what}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{what}: {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{what}: {e}: {text}"))
}

async fn register_native(base: &str, email: &str) -> Result<String, String> {
    let c = client(false);
    let flow = c
        .get(format!("{base}/self-service/registration/api"))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let flow = json_of(flow, "GET /self-service/registration/api").await?;
    let id = flow["id"].as_str().ok_or("registration flow without id")?;
    let done = c
        .post(format!("{base}/self-service/registration?flow={id}"))
        .header("Accept", "application/json")
        .json(&serde_json::json!({
            "method": "password",
            "traits": {"email": email},
            "password": PASSWORD,
        }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let done = json_of(done, "POST /self-service/registration").await?;
    done["session_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no session_token in {done}"))
}

async fn register_browser(base: &str, email: &str) -> Result<String, String> {
    let c = client(true);
    let flow = c
        .get(format!("{base}/self-service/registration/browser"))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let flow = json_of(flow, "GET /self-service/registration/browser").await?;
    let id = flow["id"].as_str().ok_or("registration flow without id")?;
    let csrf = flow["ui"]["nodes"]
        .as_array()
        .and_then(|nodes| {
            nodes
                .iter()
                .find(|n| n["attributes"]["name"] == "csrf_token")
        })
        .and_then(|n| n["attributes"]["value"].as_str())
        .ok_or("registration flow without csrf_token")?
        .to_owned();
    let done = c
        .post(format!("{base}/self-service/registration?flow={id}"))
        .header("Accept", "application/json")
        .json(&serde_json::json!({
            "method": "password",
            "csrf_token": csrf,
            "traits": {"email": email},
            "password": PASSWORD,
        }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let session = done
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ory_kratos_session="))
        .map(|v| v.split(';').next().unwrap_or(v).to_owned());
    let status = done.status();
    match session {
        Some(cookie) if status.is_success() => Ok(cookie),
        _ => Err(format!(
            "POST /self-service/registration (browser): {status}, no ory_kratos_session cookie: {}",
            done.text().await.unwrap_or_default()
        )),
    }
}

/// A Kratos with default options shared by every test of this binary (started on first use,
/// stopped when the test process ends). Tests using it must not depend on its state, e.g. on
/// how many flows or messages exist.
pub fn shared() -> Option<&'static Kratos> {
    static SHARED: OnceLock<Option<Kratos>> = OnceLock::new();
    SHARED.get_or_init(|| KratosOptions::new().start()).as_ref()
}

/// A shared Kratos whose courier sends to a shared [`Mailpit`] (`None` when either is missing).
pub fn shared_with_mailpit() -> Option<(&'static Kratos, &'static Mailpit)> {
    static SHARED: OnceLock<Option<(Kratos, Mailpit)>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let bin = binary()?;
            let mailpit = Mailpit::start()?;
            let kratos = KratosOptions::new()
                .mailpit(&mailpit)
                .try_start(&bin)
                .unwrap_or_else(|e| panic!("real Kratos did not start: {e}"));
            Some((kratos, mailpit))
        })
        .as_ref()
        .map(|(k, m)| (k, m))
}
