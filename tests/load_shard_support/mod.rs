//! What the shard tests share: the real binary run bounded in time, the summary and Goose report
//! of a report directory, the committed load-summary schema, and an independent percentile over
//! a union of samples at Goose's bucket resolution.
#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Exit code, stdout, stderr of one bounded run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The binary with `args`, `env` set, no session token from the environment.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_recovery-harness"));
    cmd.args(args)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .env_remove("JOB_COMPLETION_INDEX")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A started process that is killed when dropped (a test that panics stops what it started).
pub struct Guard(pub Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for `child` at most `limit`, then kills it and panics.
pub fn finish(child: Child, limit: Duration, what: &str) -> Run {
    let mut guard = Guard(Some(child));
    let deadline = Instant::now() + limit;
    loop {
        let child = guard.0.as_mut().expect("child");
        if let Some(status) = child.try_wait().expect("wait") {
            let out = guard
                .0
                .take()
                .expect("child")
                .wait_with_output()
                .expect("output");
            return Run {
                code: status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            };
        }
        if Instant::now() > deadline {
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the binary to the end (at most 120 s).
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let child = command(args, env).spawn().expect("the binary starts");
    finish(child, Duration::from_secs(120), &format!("{args:?}"))
}

pub fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn summary(dir: &Path) -> Value {
    json(&dir.join("load-summary.json"))
}

/// Checks `v` against the committed `load-summary.json` schema.
pub fn assert_valid_summary(v: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("../../src/report/load-summary.schema.json"))
            .expect("schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "load-summary.json breaks its schema: {errors:#?}\n{v:#}"
    );
}

/// The value Goose reports for the bucket keyed `floor` (its middle), as goose
/// `src/metrics/buckets.rs` defines it: every time below 128 µs has its own bucket, each power of
/// two above is split into 64.
pub fn bucket_value(floor: u64) -> u64 {
    let bits = if floor < 128 {
        0
    } else {
        63 - floor.leading_zeros() - 6
    };
    floor + ((1u64 << bits) >> 1)
}

/// The `p` percentile (0..1) of `samples` (µs values, any order) with Goose's rank rule: the
/// sample at rank round(n·p), the fastest for ranks up to 1, the slowest for ranks from n,
/// others kept between `min` and `max`. Written from the definition, not from Goose's loop.
pub fn percentile_of(samples: &mut [u64], min: u64, max: u64, p: f64) -> u64 {
    samples.sort_unstable();
    let n = samples.len();
    let rank = (n as f64 * p).round() as usize;
    if n == 0 {
        0
    } else if rank >= n {
        max
    } else if rank <= 1 {
        min
    } else {
        samples[rank - 1].clamp(min, max)
    }
}

/// Every response time of `request` in the Goose reports of `dirs`, one value per request at its
/// bucket's value, and the fastest and slowest of them all.
pub fn union_of_samples(dirs: &[&Path], request: &str) -> (Vec<u64>, u64, u64) {
    let (mut samples, mut min, mut max) = (Vec::new(), u64::MAX, 0);
    for dir in dirs {
        let report = json(&dir.join("report.json"));
        let raw = &report["raw_metrics"]["requests"][request]["raw_data"];
        let times = raw["times_us"].as_object().expect("times_us");
        for (bucket, count) in times {
            let floor: u64 = bucket.parse().expect("bucket key");
            for _ in 0..count.as_u64().expect("count") {
                samples.push(bucket_value(floor));
            }
        }
        min = min.min(raw["minimum_time_us"].as_u64().expect("min"));
        max = max.max(raw["maximum_time_us"].as_u64().expect("max"));
    }
    (samples, min, max)
}
