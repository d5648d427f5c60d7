//! What the monitor tests share: the built binary's `monitor` as a child process on a free
//! loopback port ([`Monitor`]), its exposition parsed ([`Exposition`]), a real Prometheus that
//! scrapes it ([`Prometheus`]), promtool, and targets the tests switch or break: the reference
//! server that turns into one of `src/testing/`'s broken variants at a flag ([`Switch`]), a
//! target that accepts connections and never answers ([`hung`]) and one whose every answer is a
//! 64 MiB body ([`oversized`]).
//!
//! Everything waits on conditions (polling a bounded number of times), never on fixed sleeps.

#![allow(dead_code, unreachable_pub)]

use crate::support::free_port;
use crate::support::process::{http_status, Guarded};
use crate::support::runner::{program, Needs};
use axum::body::Body;
use axum::extract::Request;
use recovery_harness::server::ServerConfig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_recovery-harness");

/// The repository's `deploy/monitor`.
pub fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/monitor")
}

/// A running `recovery-harness monitor`, stopped by its PID when dropped.
#[derive(Debug)]
pub struct Monitor {
    process: Guarded,
    /// `127.0.0.1:P`, where /metrics, /healthz and /last-run.json are.
    pub addr: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Monitor {
    /// `monitor --target TARGET --listen 127.0.0.1:<free> ARGS...`, without any credential of
    /// this process's environment, ready (its /healthz answers) or a panic with its output.
    pub fn start(target: &str, args: &[&str]) -> Monitor {
        Self::start_with_env(target, args, &[])
    }

    /// [`Monitor::start`] with environment variables for the child.
    pub fn start_with_env(target: &str, args: &[&str], env: &[(&str, &str)]) -> Monitor {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (process, addr) = start_on_free_port(
            "recovery-harness monitor",
            dir.path(),
            "/healthz",
            "cannot listen",
            |addr| {
                let mut cmd = Command::new(BIN);
                cmd.args(["monitor", "--target", target, "--listen", addr])
                    .args(args)
                    .env("NO_COLOR", "1")
                    .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
                    .env_remove("RECOVERY_HARNESS_SESSION_COOKIE")
                    .env_remove("RECOVERY_HARNESS_REPORT_DIR")
                    .envs(env.iter().copied());
                cmd
            },
        );
        Monitor {
            process,
            addr,
            dir,
            client: client(),
        }
    }

    /// `http://127.0.0.1:P{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Its stdout and stderr so far.
    pub fn log(&self) -> String {
        self.process.log_tail(10_000)
    }

    /// A directory that lives as long as the monitor (for `--report-dir`).
    pub fn temp(&self) -> &Path {
        self.dir.path()
    }

    /// `Some(exit status text)` once it has ended.
    pub fn exited(&mut self) -> Option<String> {
        self.process.exited()
    }

    /// `GET /metrics` (the Prometheus text format), parsed.
    pub async fn metrics(&self) -> Exposition {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|e| panic!("GET /metrics: {e}\n{}", self.log()))
            .text()
            .await
            .expect("the exposition");
        Exposition::parse(&text)
    }

    /// `GET /last-run.json`: `None` before the first run.
    pub async fn last_run(&self) -> Option<Value> {
        let resp = self
            .client
            .get(self.url("/last-run.json"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET /last-run.json: {e}\n{}", self.log()));
        if resp.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            return None;
        }
        assert_eq!(resp.status(), 200, "{}", self.log());
        Some(resp.json().await.expect("JSON"))
    }

    /// Polls /metrics until `done` holds (at most `within`), then returns that exposition; a
    /// panic naming `what`, the last exposition's runs and the monitor's output otherwise.
    pub async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        done: impl Fn(&Exposition) -> bool,
    ) -> Exposition {
        let start = Instant::now();
        loop {
            let m = self.metrics().await;
            if done(&m) {
                return m;
            }
            if start.elapsed() > within {
                panic!(
                    "monitor: not within {within:?}: {what}\nruns: {:?}\nlog:\n{}",
                    m.series("recovery_harness_runs_total"),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `signal` (`TERM`, `INT`) to its PID and waits for it to end (at most 10 s): its exit
    /// status text and how long it took.
    pub fn signal_and_wait(&mut self, signal: &str) -> (String, Duration) {
        let start = Instant::now();
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} {}", self.pid());
        loop {
            if let Some(status) = self.process.exited() {
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "monitor still running 10 s after SIG{signal}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Starts `command(addr)` under the guard with a free loopback `addr`, its output in a log file
/// in `dir`, and waits (at most 30 s) until `GET ready` answers 200. A port taken between picking
/// and binding (the log says `busy`) is retried with another; any other failure panics with the
/// program's output.
fn start_on_free_port(
    name: &str,
    dir: &Path,
    ready: &str,
    busy: &str,
    command: impl Fn(&str) -> Command,
) -> (Guarded, String) {
    let mut last = String::new();
    for attempt in 0..3 {
        let addr = format!("127.0.0.1:{}", free_port());
        let log = dir.join(format!("{name}-{attempt}.log").replace(' ', "-"));
        let mut process =
            Guarded::spawn(name, &command(&addr), &log).unwrap_or_else(|e| panic!("{e}"));
        match crate::support::process::wait_ready(
            &mut process,
            &addr,
            ready,
            Duration::from_secs(30),
        ) {
            Ok(_) => return (process, addr),
            Err(e) => {
                last = format!("{e}\n{}", process.log_tail(20));
                if !last.contains(busy) {
                    break;
                }
            }
        }
    }
    panic!("{name} did not start: {last}");
}

fn client() -> reqwest::Client {
    recovery_harness::tls::install_default_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a reqwest client")
}

/// One sample of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A Prometheus text exposition, parsed (enough for the series the monitor writes).
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    pub text: String,
    pub samples: Vec<Sample>,
}

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (head, value) = line.rsplit_once(' ').expect("`name value`");
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
                None => (head, BTreeMap::new()),
            };
            samples.push(Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().unwrap_or(f64::NAN),
            });
        }
        Exposition {
            text: text.to_owned(),
            samples,
        }
    }

    /// The samples of `name`.
    pub fn series(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }

    /// The value of `name` whose labels include `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
            })
            .map(|s| s.value)
    }

    /// The sum of `name` over the series whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// `recovery_harness_runs_total` summed over outcomes.
    pub fn runs(&self) -> f64 {
        self.series("recovery_harness_runs_total")
            .iter()
            .map(|s| s.value)
            .sum()
    }

    /// `recovery_harness_check_passing` by check id.
    pub fn passing(&self) -> BTreeMap<String, f64> {
        self.series("recovery_harness_check_passing")
            .iter()
            .map(|s| (s.labels["check"].clone(), s.value))
            .collect()
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    // Label values of the monitor hold no `",` sequence; escapes are kept as written.
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let end = after.find("\",").unwrap_or(after.len().saturating_sub(1));
        out.insert(
            key.trim_start_matches(',').to_owned(),
            after[..end].to_owned(),
        );
        rest = after.get(end + 1..).unwrap_or("");
    }
    out
}

/// A real Prometheus scraping one target, on a free port, with its own data directory.
#[derive(Debug)]
pub struct Prometheus {
    process: Guarded,
    pub url: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Prometheus {
    /// Prometheus scraping `target` (`host:port`) every `scrape`, evaluating `rules` every
    /// `scrape` (the test declares [`Needs::Prometheus`]).
    pub fn start(target: &str, scrape: &str, rules: &[PathBuf]) -> Prometheus {
        let bin = program(Needs::Prometheus);
        let dir = tempfile::tempdir().expect("a temp dir");
        let rule_files: String = rules
            .iter()
            .map(|r| format!("  - {}\n", r.display()))
            .collect();
        let config = format!(
            "global:\n  scrape_interval: {scrape}\n  scrape_timeout: {scrape}\n  evaluation_interval: {scrape}\nrule_files:\n{rule_files}scrape_configs:\n  - job_name: recovery-harness\n    static_configs:\n      - targets: ['{target}']\n"
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let (process, addr) = start_on_free_port(
            "prometheus",
            dir.path(),
            "/-/ready",
            "address already in use",
            |addr| {
                let mut cmd = Command::new(&bin);
                cmd.arg(format!("--config.file={}", config_path.display()))
                    // One data directory per attempt: a failed one may leave its lock behind.
                    .arg(format!(
                        "--storage.tsdb.path={}",
                        dir.path()
                            .join(format!("data-{}", addr.replace([':', '.'], "-")))
                            .display()
                    ))
                    .arg(format!("--web.listen-address={addr}"))
                    .arg("--log.level=warn")
                    .current_dir(dir.path());
                cmd
            },
        );
        Prometheus {
            process,
            url: format!("http://{addr}"),
            dir,
            client: client(),
        }
    }

    /// Its output so far.
    pub fn log(&self) -> String {
        self.process.log_tail(200)
    }

    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let mut url = url::Url::parse(&format!("{}{path}", self.url)).expect("a URL");
        url.query_pairs_mut().extend_pairs(query);
        let body: Value = self
            .client
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Prometheus {path}: {e}"))
            .json()
            .await
            .expect("Prometheus answers JSON");
        assert_eq!(body["status"], "success", "{path} {query:?}: {body}");
        body["data"].clone()
    }

    /// An instant query: each series' labels and value.
    pub async fn query(&self, promql: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let data = self.api("/api/v1/query", &[("query", promql)]).await;
        data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let labels = labels_of(r);
                (labels, number(&r["value"][1]))
            })
            .collect()
    }

    /// A range query between two Unix times, one point per `step` seconds: each series' labels
    /// and `(time, value)` points.
    pub async fn query_range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Vec<(BTreeMap<String, String>, Vec<(f64, f64)>)> {
        let (start, end, step) = (start.to_string(), end.to_string(), step.to_string());
        let data = self
            .api(
                "/api/v1/query_range",
                &[
                    ("query", promql),
                    ("start", &start),
                    ("end", &end),
                    ("step", &step),
                ],
            )
            .await;
        data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let labels = labels_of(r);
                let points = r["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| (p[0].as_f64().unwrap_or(f64::NAN), number(&p[1])))
                    .collect();
                (labels, points)
            })
            .collect()
    }

    /// The alerts Prometheus evaluates now (`/api/v1/alerts`).
    pub async fn alerts(&self) -> Vec<Value> {
        self.api("/api/v1/alerts", &[]).await["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The state of its scrape target (`up`, `down`, `unknown`) and the last scrape error.
    pub async fn target_health(&self) -> (String, String) {
        let data = self.api("/api/v1/targets", &[]).await;
        let t = &data["activeTargets"][0];
        (
            t["health"].as_str().unwrap_or("none").to_owned(),
            t["lastError"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

/// A series' labels in a Prometheus API result.
fn labels_of(result: &Value) -> BTreeMap<String, String> {
    result["metric"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// A sample value of the Prometheus API (a string: `"1"`, `"NaN"`).
fn number(value: &Value) -> f64 {
    value
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The reference server on a fixed loopback address, answering as its faithful self until
/// [`Switch::set_broken`], then as the broken variant that `break_it` configures; both share
/// one origin (their flows name the address the monitor targets) and one session token.
#[derive(Debug)]
pub struct Switch {
    /// `http://127.0.0.1:P`.
    pub url: String,
    /// A session token both variants accept.
    pub session_token: String,
    broken: Arc<AtomicBool>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Switch {
    /// Starts it (faithful first) on the current runtime.
    pub async fn start(break_it: fn(&mut ServerConfig)) -> Switch {
        use tower::ServiceExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let origin = format!("http://{}", listener.local_addr().expect("its address"));
        let token = "ory_st_monitorswitchtoken0123456789".to_owned();
        let faithful = ServerConfig {
            session_tokens: vec![token.clone()],
            ..ServerConfig::default()
        };
        let mut broken_config = faithful.clone();
        break_it(&mut broken_config);
        let good = recovery_harness::server::router(&faithful, &origin).expect("router");
        let bad = recovery_harness::server::router(&broken_config, &origin).expect("router");
        let broken = Arc::new(AtomicBool::new(false));
        let flag = broken.clone();
        let app = axum::Router::new().fallback_service(tower::service_fn(move |req: Request| {
            let router = if flag.load(Ordering::SeqCst) {
                bad.clone()
            } else {
                good.clone()
            };
            router.oneshot(req)
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Switch {
            url: origin,
            session_token: token,
            broken,
            stop: Some(stop),
        }
    }

    /// Answers as the broken variant from now on (`false`: faithful again).
    pub fn set_broken(&self, broken: bool) {
        self.broken.store(broken, Ordering::SeqCst);
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The configuration change of the broken variant `name` of `src/testing/`.
pub fn broken_config(name: &str) -> fn(&mut ServerConfig) {
    recovery_harness::testing::fault(name)
        .and_then(|f| f.config)
        .unwrap_or_else(|| panic!("{name} is a configuration fault of src/testing/"))
}

/// A target that accepts every connection and never answers (kept open until the test ends):
/// its base URL.
pub async fn hung() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

/// A base URL where nothing listens.
pub fn unreachable() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// The size of [`oversized`]'s answers.
pub const OVERSIZED: usize = 64 * 1024 * 1024;

/// A target whose every answer is `200 application/json` with a 64 MiB body, streamed as fast as
/// it is read (no length announced): its base URL.
pub async fn oversized() -> String {
    static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let app = axum::Router::new().fallback(|| async {
        let chunks = futures::stream::iter(
            (0..OVERSIZED / CHUNK.len())
                .map(|_| Ok::<_, std::convert::Infallible>(bytes::Bytes::from_static(&CHUNK))),
        );
        axum::response::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from_stream(chunks))
            .expect("a response")
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// `VmHWM` (peak resident memory) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Whether `GET path` on `host_port` answers 200 within `within`.
pub fn answers_within(host_port: &str, path: &str, within: Duration) -> bool {
    http_status(host_port, path, within) == Some(200)
}
