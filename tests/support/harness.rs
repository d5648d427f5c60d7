//! Runs the built `recovery-harness` binary as CI runs it and reads its reports back.
//!
//! ```ignore
//! let run = support::harness::check(&["--target", kratos.public_url(), "--fuzz-cases", "8"]);
//! run.assert_no_failures();               // prints every failed check with its detail
//! assert_eq!(run.status_of("create_native.200"), "passed");
//! ```
//!
//! `CARGO_BIN_EXE_recovery-harness` exists for every integration test of this package. The child
//! gets `NO_COLOR=1` and none of this process's `RECOVERY_HARNESS_SESSION_TOKEN`, so a run uses
//! exactly the credentials its arguments give.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_recovery-harness");

/// One finished `check` run.
#[derive(Debug)]
pub struct CheckRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// `conformance.json` (`Value::Null` when it was not written).
    pub report: Value,
    pub elapsed: Duration,
    pub dir: tempfile::TempDir,
}

/// Whether `recovery-harness SUBCOMMAND --help` lists `flag` (tests of flags another part of the
/// project adds can then say precisely what is missing).
pub fn has_flag(subcommand: &str, flag: &str) -> bool {
    let out = Command::new(BIN)
        .args([subcommand, "--help"])
        .output()
        .expect("the binary runs");
    String::from_utf8_lossy(&out.stdout)
        .split(|c: char| c.is_whitespace() || c == ',' || c == '=')
        .any(|w| w == flag)
}

/// What one run of the binary left: exit code, output, its report file parsed, its directory.
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    report: Value,
    elapsed: Duration,
    dir: tempfile::TempDir,
}

/// `recovery-harness SUBCOMMAND --report-dir <temp> FLAGS... ARGS...`, waited for, with `report`
/// (a file in the report directory) read back.
fn run(subcommand: &str, flags: &[&str], args: &[&str], report: &str) -> Finished {
    run_path(&[subcommand], flags, args, report)
}

/// [`run`] with a subcommand path (`load capacity`).
fn run_path(subcommand: &[&str], flags: &[&str], args: &[&str], report: &str) -> Finished {
    let dir = tempfile::tempdir().expect("a report dir");
    let started = Instant::now();
    let out: Output = Command::new(BIN)
        .args(subcommand)
        .arg("--report-dir")
        .arg(dir.path())
        .args(flags)
        .args(args)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    let elapsed = started.elapsed();
    let report = std::fs::read_to_string(dir.path().join(report))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report,
        elapsed,
        dir,
    }
}

/// `recovery-harness check --report-dir <temp> ARGS...`, waited for.
pub fn check(args: &[&str]) -> CheckRun {
    let f = run("check", &[], args, "conformance.json");
    CheckRun {
        code: f.code,
        stdout: f.stdout,
        stderr: f.stderr,
        report: f.report,
        elapsed: f.elapsed,
        dir: f.dir,
    }
}

impl CheckRun {
    /// The report directory.
    pub fn report_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A report file's path.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Every check of the report.
    pub fn checks(&self) -> Vec<&Value> {
        self.report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .collect()
    }

    /// The check `id` (`None` when the report has no such check).
    pub fn check(&self, id: &str) -> Option<&Value> {
        self.checks().into_iter().find(|c| c["id"] == id)
    }

    /// Its status, or `"absent"`.
    pub fn status_of(&self, id: &str) -> &str {
        self.check(id)
            .and_then(|c| c["status"].as_str())
            .unwrap_or("absent")
    }

    /// The ids with status `status`.
    pub fn ids_with(&self, status: &str) -> Vec<String> {
        self.checks()
            .into_iter()
            .filter(|c| c["status"] == status)
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect()
    }

    /// `summary.<key>` as a number (`None` when absent).
    pub fn summary(&self, key: &str) -> Option<u64> {
        self.report["summary"][key].as_u64()
    }

    /// The report's notes joined by newlines.
    pub fn notes(&self) -> String {
        self.report["notes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `id: status: detail` of every check whose status is not `passed` (the evidence a failed
    /// assertion prints).
    pub fn describe_not_passed(&self) -> String {
        let mut out = String::new();
        for c in self.checks() {
            if c["status"] != "passed" {
                out.push_str(&format!(
                    "  {}: {}: {}\n",
                    c["id"].as_str().unwrap_or("?"),
                    c["status"].as_str().unwrap_or("?"),
                    c["detail"].as_str().unwrap_or("")
                ));
            }
        }
        out
    }

    /// Everything a failed assertion should show.
    pub fn context(&self) -> String {
        format!(
            "exit {:?} after {:?}\nsummary: {}\nnot passed:\n{}notes:\n{}\nstderr (tail):\n{}",
            self.code,
            self.elapsed,
            self.report["summary"],
            self.describe_not_passed(),
            self.notes(),
            tail(&self.stderr, 30)
        )
    }

    /// Exit 0, a report, no failed check, no warning (a faithful Kratos follows the recommended
    /// practice too) and no run error. The one warning allowed is a flaky generated case: Kratos
    /// on SQLite answers an odd request 500 `database is locked` under concurrency, and the
    /// replay answers it properly (the harness reports that, and it is Kratos's storage, not a
    /// rule).
    pub fn assert_no_failures(&self) {
        assert!(
            self.report.is_object(),
            "no conformance.json\n{}",
            self.context()
        );
        let failed = self.ids_with("failed");
        let warnings: Vec<String> = self
            .checks()
            .into_iter()
            .filter(|c| {
                c["status"] == "warning"
                    && !c["detail"].as_str().is_some_and(|d| d.starts_with("FLAKY"))
            })
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        let errors = self.ids_with("error");
        assert!(
            failed.is_empty()
                && warnings.is_empty()
                && errors.is_empty()
                && self.summary("failed") == Some(0),
            "checks failed: {failed:?}, warnings: {warnings:?}, errors: {errors:?}\n{}",
            self.context()
        );
        assert_eq!(self.code, Some(0), "{}", self.context());
    }

    /// No check skipped but the opt-in expiry checks (`--expiry-wait` against a short lifespan):
    /// given credentials, a code source and `--known-email`, everything else runs.
    pub fn assert_nothing_skipped_but_expiry(&self) {
        let skipped: Vec<String> = self
            .ids_with("skipped")
            .into_iter()
            .filter(|id| !id.starts_with("expiry."))
            .collect();
        assert!(
            skipped.is_empty(),
            "skipped: {}\n{}",
            skipped.join(", "),
            self.context()
        );
    }

    /// Each id in `ids` has status `passed`.
    pub fn assert_passed(&self, ids: &[&str]) {
        let bad: Vec<String> = ids
            .iter()
            .filter(|id| self.status_of(id) != "passed")
            .map(|id| format!("{id} is {}", self.status_of(id)))
            .collect();
        assert!(bad.is_empty(), "{bad:?}\n{}", self.context());
    }
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One finished `load` run.
#[derive(Debug)]
pub struct LoadRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// `load-summary.json` (`Value::Null` when it was not written).
    pub summary: Value,
    pub elapsed: Duration,
    pub dir: tempfile::TempDir,
}

/// `recovery-harness load --report-dir <temp> --quiet ARGS...`, waited for.
pub fn load(args: &[&str]) -> LoadRun {
    load_path(&["load"], args)
}

/// `recovery-harness load capacity --report-dir <temp> --quiet ARGS...`, waited for.
pub fn load_capacity(args: &[&str]) -> LoadRun {
    load_path(&["load", "capacity"], args)
}

fn load_path(subcommand: &[&str], args: &[&str]) -> LoadRun {
    let f = run_path(subcommand, &["--quiet"], args, "load-summary.json");
    LoadRun {
        code: f.code,
        stdout: f.stdout,
        stderr: f.stderr,
        summary: f.report,
        elapsed: f.elapsed,
        dir: f.dir,
    }
}

impl LoadRun {
    /// Everything a failed assertion should show.
    pub fn context(&self) -> String {
        let mut s = self.summary.clone();
        // The per-step table is long; the totals, verdict and reasons say what failed.
        if let Some(o) = s.as_object_mut() {
            o.remove("steps");
        }
        format!(
            "exit {:?} after {:?}\nload-summary.json (without steps): {s}\nstdout (tail):\n{}\nstderr (tail):\n{}",
            self.code,
            self.elapsed,
            tail(&self.stdout, 30),
            tail(&self.stderr, 30)
        )
    }

    /// Exit 0, verdict `passed`, requests made, no schema failure.
    pub fn assert_passed(&self) {
        assert!(
            self.summary.is_object(),
            "no load-summary.json\n{}",
            self.context()
        );
        assert_eq!(self.summary["verdict"], "passed", "{}", self.context());
        assert_eq!(self.summary["schema_failures"], 0, "{}", self.context());
        assert!(
            self.summary["requests"].as_u64().unwrap_or(0) > 0,
            "no requests\n{}",
            self.context()
        );
        assert_eq!(self.code, Some(0), "{}", self.context());
    }
}
