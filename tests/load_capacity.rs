//! `recovery-harness load capacity` end to end: the real binary searching the capacity of a
//! reference server with a known one (`workers / service time`, see
//! `src/testing/capacity.rs`), and every way a search can end: found, first step already
//! failing, the target going silent in the middle, a signal.
//!
//! The searches run one at a time (a mutex): two load generators at once on the 2 cores of CI
//! would measure each other. Settings and why (also in `docs/load.md`, "Capacity search"):
//!
//! - The rule is a median, `p50 < 5 × S`: a target past its capacity queues, and its median
//!   latency grows by `(rate − capacity) × step / (2 × capacity)` over a step, so one 2 % (5 ms
//!   workers) or 6 % (20 ms) past it breaks the rule within a 3 s step, while a busy machine's
//!   hiccups (the generator's own start delays are part of the latencies) move a median far
//!   less than a p99.
//! - The first step is a third of the capacity: the doublings pass it (267, 533, then 1067 for
//!   800/s) rather than land on it, where a queue at 100 % utilisation grows from any hiccup;
//!   then about four bisections narrow the interval to the default 5 %.
//! - `--max-in-flight 200`: past the capacity the in-flight iterations fill up within a quarter
//!   of a second and the rest is dropped, so an overloaded step costs the machine (generator and
//!   target share it) no more than 200 connections.
//! - The generator is this package's debug build: at 800 iterations/s it spends about a third
//!   of a core (bodies validated), well inside a 2-core machine next to the target.

mod load_shard_support;

use load_shard_support::assert_valid_summary;
use recovery_harness::testing::capacity::CapacityServer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_recovery-harness");

/// One search at a time (see the module's documentation).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Kills the child when a test fails half-way.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    summary: Value,
    elapsed: Duration,
    dir: tempfile::TempDir,
}

impl Run {
    fn context(&self) -> String {
        format!(
            "exit {} after {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    fn capacity(&self) -> &Value {
        &self.summary["capacity"]
    }
}

fn spawn(dir: &Path, args: &[&str]) -> Guard {
    let child = Command::new(BIN)
        .args(["load", "capacity", "--report-dir"])
        .arg(dir)
        .args(args)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    Guard(child)
}

fn finish(mut guard: Guard, dir: tempfile::TempDir, started: Instant, within: Duration) -> Run {
    use std::io::Read;
    // The pipes are read while the child runs: a full pipe would stop it.
    let mut out = guard.0.stdout.take().expect("stdout");
    let mut err = guard.0.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = started + within;
    let code = loop {
        if let Some(status) = guard.0.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = guard.0.kill();
            let _ = guard.0.wait();
            let stdout = reader.join().unwrap_or_default();
            let stderr = err_reader.join().unwrap_or_default();
            panic!(
                "load capacity did not end within {within:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let summary = std::fs::read_to_string(dir.path().join("load-summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Run {
        code,
        stdout: reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        summary,
        elapsed: started.elapsed(),
        dir,
    }
}

fn capacity_search(args: &[&str], within: Duration) -> Run {
    let dir = tempfile::tempdir().expect("a report dir");
    let started = Instant::now();
    let child = spawn(dir.path(), args);
    finish(child, dir, started, within)
}

/// Searches the capacity of `workers` workers of `service` each and checks it is found within
/// ±10 %, with a consistent report.
fn finds_the_capacity(workers: usize, service: Duration) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let server = CapacityServer::start(workers, service);
    let truth = server.workers().capacity();
    let slo = format!("p50<{}ms", service.as_millis() * 5);
    let start = format!("{}", truth / 3.0);
    let run = capacity_search(
        &[
            "--target",
            server.base_url(),
            "--slo",
            &slo,
            "--start-rate",
            &start,
            "--step-duration",
            "3s",
            "--max-in-flight",
            "200",
        ],
        Duration::from_secs(240),
    );
    eprintln!(
        "capacity of {workers} workers x {service:?} (true {truth}/s): {}/s in {:?}\n{}",
        run.capacity()["rate"],
        run.elapsed,
        run.stdout
    );
    assert_eq!(run.code, 0, "{}", run.context());
    assert_valid_summary(&run.summary);
    let c = run.capacity();
    let found = c["rate"].as_f64().expect("a capacity");
    assert!(
        (found - truth).abs() <= truth * 0.10,
        "found {found}/s for a true capacity of {truth}/s\n{}",
        run.context()
    );
    // The bracket: the lowest failing rate is within the precision above the capacity.
    let failing = c["failing_rate"].as_f64().expect("a failing rate");
    assert!(
        failing > found && failing <= found * 1.05 + 1e-6,
        "{found}..{failing}"
    );
    assert_eq!(c["stopped_by"], "precision");
    assert!(
        c["failing_rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r
                .as_str()
                .is_some_and(|r| r.contains("p50<") || r.contains("dropped")))),
        "the rule that broke is named: {c:#}"
    );
    // Every step: intended and achieved rates, percentiles, its own complete reports.
    let steps = c["steps"].as_array().expect("steps");
    assert!(steps.len() >= 4, "{c:#}");
    for s in steps {
        let dir = PathBuf::from(s["report_dir"].as_str().expect("report_dir"));
        for f in ["load-summary.json", "report.json", "report.html"] {
            assert!(
                std::fs::metadata(dir.join(f)).is_ok_and(|m| m.len() > 0),
                "step {} has {f}",
                s["index"]
            );
        }
        let intended = s["intended_rate"].as_f64().expect("intended");
        let achieved = s["achieved_rate"].as_f64().expect("achieved");
        if s["verdict"] == "passed" {
            // A passing step was offered its rate and the target kept up (within the capacity's
            // ±10 %: a step just past it can hold the median for 3 s).
            assert!(
                achieved >= intended * 0.9 - 1.0,
                "step {}: {achieved} of {intended}",
                s["index"]
            );
            assert_eq!(s["dropped_iterations"], 0);
        } else {
            // Past the capacity the target completes no more than it can.
            assert!(
                achieved <= truth * 1.10,
                "step {}: {achieved}/s",
                s["index"]
            );
        }
        for p in [
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "error_rate_pct",
            "start_lag_p99_ms",
        ] {
            assert!(s[p].is_number(), "{p}: {s}");
        }
    }
    assert_eq!(run.summary["model"], "open");
    assert_eq!(run.summary["verdict"], "passed");
    assert!(
        run.stdout.contains("load capacity PASSED"),
        "{}",
        run.stdout
    );
    assert_capacity_page(run.dir.path());
}

/// The search's report.html opens with the capacity: its section, the throughput–latency curve
/// as inline SVG, every step; and fetches nothing.
fn assert_capacity_page(dir: &Path) {
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        html.contains("<section id=\"capacity\">"),
        "the capacity section"
    );
    let section = &html[html.find("id=\"capacity\"").expect("section")..];
    assert!(section.contains("<svg"), "the curve is inline SVG");
    assert!(section.contains("steps/01"), "every step, with its reports");
    for fetch in ["<script", "<link", " src=", "url(", "@import"] {
        assert!(!html.contains(fetch), "report.html stays offline: {fetch}");
    }
}

#[test]
fn finds_the_capacity_of_four_workers_of_5ms() {
    finds_the_capacity(4, Duration::from_millis(5));
}

#[test]
fn finds_the_capacity_of_two_workers_of_20ms() {
    finds_the_capacity(2, Duration::from_millis(20));
}

#[test]
fn a_first_step_that_fails_is_reported_and_ends_the_search() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // 2 workers of 20 ms: 100/s; the first step asks for 300/s.
    let server = CapacityServer::start(2, Duration::from_millis(20));
    let run = capacity_search(
        &[
            "--target",
            server.base_url(),
            "--slo",
            "p50<100ms",
            "--start-rate",
            "300",
            "--step-duration",
            "2s",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(run.code, 1, "{}", run.context());
    assert_valid_summary(&run.summary);
    let c = run.capacity();
    assert_eq!(
        c["steps"].as_array().map(Vec::len),
        Some(1),
        "one step only"
    );
    assert_eq!(c["stopped_by"], "first_step_failed");
    assert!(c["rate"].is_null());
    assert_eq!(c["failing_rate"], 300.0);
    assert_eq!(run.summary["verdict"], "failed");
    let why = run.summary["failed_because"].to_string();
    assert!(
        why.contains("first step") && why.contains("--start-rate"),
        "{why}"
    );
    assert!(
        run.stdout.contains("load capacity FAILED"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_target_that_stops_answering_ends_the_search_within_the_timeout() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let server = CapacityServer::start(4, Duration::from_millis(5));
    // Steps of 2 s from 50/s: the first (100 requests) and second (200) pass; it stops
    // answering during the third.
    server.stop_answering_after(400);
    let run = capacity_search(
        &[
            "--target",
            server.base_url(),
            "--slo",
            "p50<50ms",
            "--start-rate",
            "50",
            "--step-duration",
            "2s",
            "--timeout",
            "2s",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(run.code, 2, "{}", run.context());
    assert!(
        run.stderr.contains("stopped answering"),
        "a clear error: {}",
        run.stderr
    );
    let c = run.capacity();
    let steps = c["steps"]
        .as_array()
        .expect("the steps that ran are reported");
    assert!(steps.len() >= 3, "{c:#}");
    assert_eq!(c["stopped_by"], "stopped_answering");
    assert_eq!(steps[0]["verdict"], "passed");
    let last = steps.last().expect("a last step");
    assert_eq!(last["verdict"], "failed");
    // The silent step ended about one --timeout after the target went silent, not at its end
    // plus a drain: the whole search took 2 steps of 2 s, the third's start, and about 2 s.
    assert!(run.elapsed < Duration::from_secs(25), "{:?}", run.elapsed);
    for s in steps {
        let dir = PathBuf::from(s["report_dir"].as_str().expect("dir"));
        assert!(
            dir.join("load-summary.json").is_file() || s["requests"] == 0,
            "step {}",
            s["index"]
        );
    }
}

#[test]
fn a_signal_during_a_search_gives_interrupted_and_complete_reports() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let server = CapacityServer::start(4, Duration::from_millis(5));
    let dir = tempfile::tempdir().expect("a report dir");
    let started = Instant::now();
    let child = spawn(
        dir.path(),
        &[
            "--target",
            server.base_url(),
            "--slo",
            "p50<50ms",
            "--start-rate",
            "50",
            "--step-duration",
            "5s",
        ],
    );
    // Once the first step's reports are there, the search is in its second step.
    let first = dir.path().join("steps/01/load-summary.json");
    while !first.is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first step did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let signalled = Instant::now();
    let run = finish(child, dir, started, Duration::from_secs(90));
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "stopped within seconds of the signal"
    );
    assert_eq!(run.code, 130, "{}", run.context());
    assert_valid_summary(&run.summary);
    assert_eq!(run.summary["verdict"], "interrupted");
    let c = run.capacity();
    assert_eq!(c["stopped_by"], "interrupted");
    let steps = c["steps"].as_array().expect("steps");
    assert!(!steps.is_empty());
    assert_eq!(steps[0]["verdict"], "passed");
    assert!(run.stdout.contains("INTERRUPTED"), "{}", run.stdout);
    assert!(
        std::fs::metadata(run.dir.path().join("load-summary.json")).is_ok_and(|m| m.len() > 0),
        "load-summary.json"
    );
    assert_capacity_page(run.dir.path());
}

#[test]
fn bad_searches_are_refused_before_any_request() {
    for (args, want) in [
        (&["--slo", "p99<100ms", "--start-rate", "0"][..], "above 0"),
        (
            &["--slo", "p99<100ms", "--start-rate=-3"][..],
            "--start-rate",
        ),
        (&["--slo", "p99<"][..], "--slo"),
        (&["--slo", "p99<100ms", "--precision", "0%"][..], "0.1%"),
        (
            &["--slo", "p99<100ms", "--step-duration", "100ms"][..],
            "--step-duration",
        ),
        (
            &[
                "--slo",
                "p99<100ms",
                "--min-rate",
                "500",
                "--max-rate",
                "100",
            ][..],
            "--min-rate",
        ),
        (&[][..], "--slo"),
    ] {
        let run = capacity_search(args, Duration::from_secs(30));
        assert_eq!(run.code, 2, "{args:?}: {}", run.context());
        assert!(
            run.stderr.contains(want),
            "{args:?}: the reason names {want}: {}",
            run.stderr
        );
        assert!(run.summary.is_null(), "{args:?}: nothing written");
    }
}
