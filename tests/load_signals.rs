//! Interruption is never a pass: SIGINT and SIGTERM sent to a real `recovery-harness load` process
//! (a 60 s run against the reference server, or real Kratos, behind a counting proxy; or, without
//! `--target`, against the reference server `load` starts in-process) stop it within seconds, with
//! exit 130 / 143, the verdict `interrupted` and complete reports of what ran (none left empty).
//! The signal is sent once the target has answered requests of the run (the proxy counts them; the
//! in-process server's courier lists the mails the run made it send), not after a fixed while.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::proxy::Proxy;
use support::reference::Reference;
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "sigint_gives_130_interrupted_and_complete_reports",
            &[],
            sigint_gives_130_interrupted_and_complete_reports,
        ),
        test(
            "sigterm_gives_143_interrupted_and_complete_reports",
            &[],
            sigterm_gives_143_interrupted_and_complete_reports,
        ),
        test(
            "sigterm_against_real_kratos_gives_143_and_complete_reports",
            &[Needs::Kratos],
            sigterm_against_real_kratos_gives_143_and_complete_reports,
        ),
        test(
            "sigint_stops_load_and_its_own_reference_server",
            &[],
            sigint_stops_load_and_its_own_reference_server,
        ),
        test(
            "sigterm_stops_load_and_its_own_reference_server",
            &[],
            sigterm_stops_load_and_its_own_reference_server,
        ),
        test(
            "a_second_signal_exits_at_once",
            &[],
            a_second_signal_exits_at_once,
        ),
    ])
}

/// Kills the child when the test fails half-way.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_with(dir: &Path, scenario: &str, extra: &[&str]) -> Guard {
    let child = Command::new(env!("CARGO_BIN_EXE_recovery-harness"))
        .args(extra)
        .args([
            "--scenario",
            scenario,
            "--users",
            "2",
            "--duration",
            "60s",
            "--throttle",
            "200",
            "--threshold",
            "error-rate<1%",
            "--report-dir",
        ])
        .arg(dir)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    Guard(child)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name}");
}

/// The run's target: the reference server (or `upstream`) behind a proxy that counts requests.
struct Target {
    proxy: Proxy,
    _reference: Option<Reference>,
}

impl Target {
    fn reference() -> Target {
        let reference = Reference::start();
        Target {
            proxy: Proxy::start(reference.base_url(), "/rh"),
            _reference: Some(reference),
        }
    }

    fn upstream(url: &str) -> Target {
        Target {
            proxy: Proxy::start(url, "/rh"),
            _reference: None,
        }
    }

    fn url(&self) -> &str {
        self.proxy.url()
    }

    /// Waits until the run's users have had `REQUESTS_BEFORE_SIGNAL` answers (bounded).
    fn wait_running(&self, run: &mut Guard) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.proxy.forwarded() < REQUESTS_BEFORE_SIGNAL {
            if let Some(status) = run.0.try_wait().expect("wait") {
                panic!("load ended ({status}) before the signal");
            }
            assert!(
                Instant::now() < deadline,
                "load sent {} requests in 30 s",
                self.proxy.forwarded()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Answers the run has had when the signal comes: enough for Goose to count some.
const REQUESTS_BEFORE_SIGNAL: usize = 50;

fn finish(mut guard: Guard, within: Duration) -> (i32, String, String) {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = guard.0.try_wait().expect("wait") {
            let mut out = String::new();
            let mut err = String::new();
            if let Some(mut s) = guard.0.stdout.take() {
                let _ = s.read_to_string(&mut out);
            }
            if let Some(mut s) = guard.0.stderr.take() {
                let _ = s.read_to_string(&mut err);
            }
            return (status.code().unwrap_or(-1), out, err);
        }
        assert!(
            Instant::now() < deadline,
            "load did not stop within {within:?} of the signal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn interrupted_run(sig: &str, want_code: i32, scenario: &str, target: &Target) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = start_with(dir.path(), scenario, &["load", "--target", target.url()]);
    target.wait_running(&mut child);
    signal(&child.0, sig);
    let (code, stdout, stderr) = finish(child, Duration::from_secs(30));
    assert_interrupted(sig, (code, want_code), dir.path(), &stdout, &stderr);
}

/// What an interrupted run leaves: its exit code, the console's word, every report whole and
/// no temporary file, the verdict and its reason in the summary, Goose's report whole.
fn assert_interrupted(
    sig: &str,
    (code, want_code): (i32, i32),
    dir: &Path,
    stdout: &str,
    stderr: &str,
) {
    assert_eq!(
        code, want_code,
        "{sig}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("load INTERRUPTED"),
        "the console says so: {stdout}"
    );
    for f in [
        "report.html",
        "report.json",
        "report.md",
        "load-summary.json",
    ] {
        let len = std::fs::metadata(dir.join(f)).map_or(0, |m| m.len());
        assert!(len > 0, "{sig}: {f} is written whole (len {len})\n{stderr}");
    }
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let text = std::fs::read_to_string(dir.join("load-summary.json")).expect("summary");
    let s: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(s["verdict"], "interrupted", "{s:#}");
    assert!(
        s["requests"].as_u64().unwrap_or(0) > 0,
        "what ran is counted: {s:#}"
    );
    assert!(
        s["failed_because"][0]
            .as_str()
            .is_some_and(|r| r.contains(&format!("interrupted by SIG{sig}"))),
        "{s:#}"
    );
    let goose: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("Goose's report.json is whole JSON");
    assert!(goose.get("raw_metrics").is_some());
}

fn sigint_gives_130_interrupted_and_complete_reports() {
    interrupted_run("INT", 130, "create-native-flow", &Target::reference());
}

fn sigterm_gives_143_interrupted_and_complete_reports() {
    interrupted_run("TERM", 143, "full-recovery", &Target::reference());
}

/// The same against the real Kratos (`RECOVERY_HARNESS_KRATOS_BIN`): its answers arrive
/// slower and the users are mid-request when SIGTERM comes.
fn sigterm_against_real_kratos_gives_143_and_complete_reports() {
    let kratos = support::kratos::shared().expect("the runner ignores this test without it");
    interrupted_run(
        "TERM",
        143,
        "create-and-fetch",
        &Target::upstream(kratos.public_url()),
    );
}

/// Without `--target`, `load` starts the reference server in-process: the signal stops the run
/// and that server with it. The run announces the server's URL on stderr; the signal comes once
/// the server's courier lists mails of the run (`full-recovery` sends one per iteration), and
/// the server no longer answers once the process is gone.
fn embedded_run(sig: &str, want_code: i32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = start_with(dir.path(), "full-recovery", &["load"]);
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = {
        let stderr = stderr.clone();
        let pipe = child.0.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut all = stderr.lock().unwrap_or_else(|p| p.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
        })
    };
    let base = wait_for(&mut child, "the in-process server's URL", || {
        let all = stderr.lock().unwrap_or_else(|p| p.into_inner());
        let line = all
            .lines()
            .find(|l| l.contains("started the reference server"))?;
        let start = line.find("http://")?;
        let url: String = line[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        Some(url)
    });
    recovery_harness::tls::install_default_provider();
    let listing = format!("{base}/admin/courier/messages");
    wait_for(&mut child, "mails of the run at its courier", || {
        let listing = listing.clone();
        let mails = support::block_on(async move {
            let answer = reqwest::get(&listing).await.ok()?;
            answer.json::<Value>().await.ok()
        })?;
        (mails.as_array()?.len() >= MAILS_BEFORE_SIGNAL).then_some(())
    });
    signal(&child.0, sig);
    let (code, stdout, _) = finish(child, Duration::from_secs(30));
    let _ = reader.join();
    let stderr = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_interrupted(sig, (code, want_code), dir.path(), &stdout, &stderr);
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("load-summary.json")).expect("summary"),
    )
    .expect("JSON");
    assert_eq!(summary["target_kind"], "embedded", "{summary:#}");
    let gone = support::block_on(async move { reqwest::get(&listing).await.is_err() });
    assert!(gone, "the in-process server stopped with the process");
}

/// Mails the in-process server has sent when the signal comes.
const MAILS_BEFORE_SIGNAL: usize = 10;

/// Polls `ready` every 20 ms until it gives a value, for at most 30 s; fails when the run ends
/// first.
fn wait_for<T>(run: &mut Guard, what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = ready() {
            return value;
        }
        if let Some(status) = run.0.try_wait().expect("wait") {
            panic!("load ended ({status}) before {what}");
        }
        assert!(Instant::now() < deadline, "no {what} within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigint_stops_load_and_its_own_reference_server() {
    embedded_run("INT", 130);
}

fn sigterm_stops_load_and_its_own_reference_server() {
    embedded_run("TERM", 143);
}

fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = Target::reference();
    let mut child = start_with(
        dir.path(),
        "create-native-flow",
        &["load", "--target", target.url()],
    );
    target.wait_running(&mut child);
    signal(&child.0, "INT");
    signal(&child.0, "INT");
    let (code, _, stderr) = finish(child, Duration::from_secs(10));
    assert_eq!(code, 130, "{stderr}");
}
