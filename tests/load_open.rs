//! The open model (`load --rate`, `--stages`) end to end: the real binary against a reference
//! server of known capacity (`src/testing/capacity.rs`). It shows the queueing the closed model
//! hides, counts the iterations it cannot start, refuses what cannot run with exit 2, and runs
//! sharded with shares that `load merge` adds up exactly.

mod load_shard_support;

use load_shard_support::assert_valid_summary;
use recovery_harness::testing::capacity::CapacityServer;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_recovery-harness");

/// One load generator at a time: two at once on the 2 cores of CI would measure each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    summary: Value,
}

impl Run {
    fn context(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
    fn f(&self, key: &str) -> f64 {
        self.summary[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in load-summary.json\n{}", self.context()))
    }
}

/// `recovery-harness ARGS... --report-dir DIR`, bounded to 90 s.
fn run_in(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--report-dir")
        .arg(dir)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?} did not end within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let summary = std::fs::read_to_string(dir.join("load-summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        summary,
    }
}

fn load(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("a report dir");
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    run_in(dir.path(), &all)
}

/// Two workers of 20 ms serve 100 requests/s. Offered 150/s for 3 s, the open model keeps
/// starting iterations on time: the target's queue grows by 50 a second, to 150 at the end (1.5 s
/// of waiting), and the median iteration waits about half of that. The closed model, told the same
/// 150/s (8 users, `--throttle 150`), can only start a request when an answer frees a user: it
/// gets 100/s through, and reports the 80 ms its 8 users wait behind 2 workers, nothing of the
/// queue a real 150/s of clients would have met.
#[test]
fn the_open_model_shows_the_queueing_the_closed_model_hides() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let server = CapacityServer::start(2, Duration::from_millis(20));
    let base = server.base_url();
    let rule = ["--threshold", "error-rate<1%"];
    let closed = load(&[
        "--target",
        base,
        "--users",
        "8",
        "--throttle",
        "150",
        "--duration",
        "3s",
        rule[0],
        rule[1],
    ]);
    let open = load(&[
        "--target",
        base,
        "--rate",
        "150",
        "--duration",
        "3s",
        rule[0],
        rule[1],
    ]);
    eprintln!(
        "closed: {:.1} req/s, p50 {} ms, p99 {} ms; open: {:.1} of 150 iterations/s, p50 {} ms, p99 {} ms, start delay p99 {} ms",
        closed.f("rps"),
        closed.f("p50_ms"),
        closed.f("p99_ms"),
        open.f("achieved_rate"),
        open.f("p50_ms"),
        open.f("p99_ms"),
        open.summary["open"]["start_lag_p99_ms"]
    );
    assert_eq!(closed.code, 0, "{}", closed.context());
    assert_eq!(open.code, 0, "{}", open.context());
    assert_eq!(closed.summary["model"], "closed");
    assert_eq!(open.summary["model"], "open");
    assert_valid_summary(&closed.summary);
    assert_valid_summary(&open.summary);

    // The closed model got less load than asked for, and saw only its own users' wait.
    assert!(closed.f("rps") <= 110.0, "{}", closed.context());
    assert!(closed.f("p99_ms") < 300.0, "{}", closed.context());
    // The open model offered 150/s, the target completed its 100/s, nothing was dropped...
    assert_eq!(open.f("intended_rate"), 150.0);
    let achieved = open.f("achieved_rate");
    assert!((85.0..=110.0).contains(&achieved), "{achieved}");
    assert_eq!(open.summary["dropped_iterations"], 0);
    assert_eq!(open.summary["open"]["due_iterations"], 450);
    // ...and its latencies hold the queue: about 0.75 s at the median, 1.5 s at the end.
    assert!(
        open.f("p50_ms") >= 4.0 * closed.f("p50_ms"),
        "{}",
        open.context()
    );
    assert!(
        open.f("p99_ms") >= 5.0 * closed.f("p99_ms"),
        "{}",
        open.context()
    );
    assert!(open.f("p99_ms") >= 700.0, "{}", open.context());
    // The queue is the target's, not the load generator's being late.
    let lag = open.summary["open"]["start_lag_p99_ms"]
        .as_f64()
        .unwrap_or(f64::MAX);
    assert!(lag < 0.2 * open.f("p99_ms"), "start delay p99 {lag} ms");
}

#[test]
fn iterations_beyond_max_in_flight_are_dropped_counted_and_fail_the_run() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // One worker of 100 ms: 10/s. Offered 50/s with at most 5 in flight.
    let server = CapacityServer::start(1, Duration::from_millis(100));
    let run = load(&[
        "--target",
        server.base_url(),
        "--rate",
        "50",
        "--duration",
        "2s",
        "--max-in-flight",
        "5",
        "--threshold",
        "error-rate<1%",
    ]);
    assert_eq!(run.code, 1, "{}", run.context());
    let o = &run.summary["open"];
    assert_eq!(o["due_iterations"], 100);
    let dropped = run.summary["dropped_iterations"].as_u64().expect("dropped");
    let started = o["started_iterations"].as_u64().expect("started");
    assert_eq!(
        dropped + started,
        100,
        "every due iteration is started or dropped"
    );
    assert!(dropped >= 60, "{dropped}");
    assert!(o["peak_in_flight"].as_u64().is_some_and(|p| p <= 5));
    let why = run.summary["failed_because"].to_string();
    assert!(
        why.contains("dropped") && why.contains("--max-in-flight"),
        "{why}"
    );
    assert!(run.stdout.contains("dropped"), "{}", run.stdout);
}

#[test]
fn stages_ramp_the_rate() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let run = load(&[
        "--stages",
        "1s:0-100,1s:100",
        "--threshold",
        "error-rate<1%",
    ]);
    assert_eq!(run.code, 0, "{}", run.context());
    let o = &run.summary["open"];
    assert_eq!(o["schedule"], "1s:0-100,1s:100");
    assert_eq!(o["due_iterations"], 150);
    assert_eq!(o["completed_iterations"], 150);
    assert_eq!(run.summary["intended_rate"], 75.0);
    assert_eq!(run.summary["duration_s"], 2);
}

#[test]
fn what_cannot_run_is_refused_with_exit_2_and_the_reason() {
    for (args, want) in [
        (&["--rate", "0"][..], "above 0"),
        (&["--rate=-5"][..], "--rate"),
        (&["--rate", "fast"][..], "not a rate"),
        (&["--rate", "1e9"][..], "above"),
        (&["--stages", "10s"][..], "no `:`"),
        (&["--stages", "10s:5,soon:5"][..], "stage 2"),
        (&["--stages", "10s:0"][..], "no iteration"),
        (&["--stages", "2s:5", "--users", "3"][..], "--users"),
        (&["--rate", "5", "--users", "3"][..], "--users"),
        (&["--stages", "2s:5", "--duration", "5s"][..], "--duration"),
        (&["--rate", "5", "--stages", "1s:5"][..], "--stages"),
        (&["--max-in-flight", "5"][..], "--rate or --stages"),
        (
            &["--rate", "5", "--max-in-flight", "0"][..],
            "--max-in-flight",
        ),
        (&["--rate", "5", "--throttle", "10"][..], "--throttle"),
        (&["--rate", "5", "--ramp", "2s"][..], "--stages"),
        (&["--rate", "0.1", "--duration", "2s"][..], "no iteration"),
    ] {
        let run = load(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.context());
        assert!(
            run.stderr.contains(want),
            "{args:?}: the reason names {want}:\n{}",
            run.stderr
        );
        assert!(run.summary.is_null(), "{args:?}: nothing written");
    }
}

/// Two shards of `--rate 40` each run 20/s, interleaved (shard 0 the whole run's iterations
/// 0, 2, 4, ..., shard 1 the odd ones), from one `--start-at`; `load merge` adds them up to the
/// whole run's 40/s and 80 iterations exactly.
#[test]
fn a_sharded_rate_merges_exactly() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let server = CapacityServer::start(16, Duration::from_millis(1));
    let base = server.base_url().to_owned();
    let root = tempfile::tempdir().expect("a dir");
    let start_at = (chrono::Utc::now() + chrono::TimeDelta::seconds(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let shards: Vec<_> = (0..2)
        .map(|i| {
            let dir = root.path().join(format!("shard-{i}"));
            let base = base.clone();
            let start_at = start_at.clone();
            std::thread::spawn(move || {
                std::fs::create_dir_all(&dir).expect("dir");
                let shard = format!("{i}/2");
                run_in(
                    &dir,
                    &[
                        "load",
                        "--target",
                        &base,
                        "--rate",
                        "40",
                        "--duration",
                        "2s",
                        "--shard",
                        &shard,
                        "--start-at",
                        &start_at,
                        "--threshold",
                        "error-rate<1%",
                    ],
                )
            })
        })
        .collect();
    for (i, s) in shards.into_iter().enumerate() {
        let run = s.join().expect("the shard ran");
        assert_eq!(run.code, 0, "shard {i}: {}", run.context());
        assert_eq!(run.f("intended_rate"), 20.0, "shard {i}");
        assert_eq!(run.summary["open"]["due_iterations"], 40, "shard {i}");
        assert_eq!(run.summary["shard"]["schedule"], "2s:40");
    }
    let merged_dir = root.path().join("merged");
    let a = root.path().join("shard-0");
    let b = root.path().join("shard-1");
    let merged = run_in(
        &merged_dir,
        &[
            "load",
            "merge",
            a.to_str().expect("utf-8"),
            b.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(merged.code, 0, "{}", merged.context());
    assert_valid_summary(&merged.summary);
    assert_eq!(merged.summary["model"], "open");
    assert_eq!(merged.f("intended_rate"), 40.0);
    assert_eq!(merged.summary["open"]["due_iterations"], 80);
    assert_eq!(merged.summary["open"]["completed_iterations"], 80);
    assert_eq!(merged.summary["dropped_iterations"], 0);
    assert_eq!(merged.summary["requests"], 80);
    let achieved = merged.f("achieved_rate");
    assert!((36.0..=40.0).contains(&achieved), "{achieved}");
}
