//! The test runner of the test files that need a program from outside the repository (real Ory
//! Kratos, Mailpit, PostgreSQL, Chromium, actionlint, kubernetes-validate, ...), so that a test
//! whose program is missing is reported as **ignored, with the reason**, in the runner's own
//! summary, and fails in CI (docs/testing.md, "Tests that need a real program").
//!
//! Such a file sets `harness = false` in `Cargo.toml` and lists its tests in `main`, each with
//! what it needs:
//!
//! ```ignore
//! mod support;
//! use support::runner::{run, test, Needs::{Kratos, Mailpit}};
//!
//! fn main() -> std::process::ExitCode {
//!     run(vec![
//!         test("check_passes_on_real_kratos", &[Kratos], check_passes_on_real_kratos),
//!         test("codes_come_from_mailpit", &[Kratos, Mailpit], codes_come_from_mailpit),
//!         test("parses_a_mail", &[], parses_a_mail),
//!     ])
//! }
//! ```
//!
//! Before a test starts, each program it needs is looked up ([`Needs::find`]). Missing, the test
//! is ignored with the reason and how to get the program (`test x ... ignored (needs real Kratos:
//! RECOVERY_HARNESS_KRATOS_BIN is not set ...)`), unless the program's `RECOVERY_HARNESS_REQUIRE_*`
//! variable is `1` (CI), where the test fails with the same text. A function that is not listed
//! is dead code, which the lints refuse, so a test cannot be forgotten. The runner is
//! libtest-mimic: filters, `--list`, `--test-threads` and `--exact` work as with `#[test]`; it does
//! not capture a test's output.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A program a test needs, from outside the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The real Ory Kratos (master): `RECOVERY_HARNESS_KRATOS_BIN`, with `kratos.yml` and
    /// `identity.schema.json` beside it.
    Kratos,
    /// Kratos v26.2.0, the newest release: `kratos-v26.2.0` beside `RECOVERY_HARNESS_KRATOS_BIN`.
    KratosRelease,
    /// Mailpit: `RECOVERY_HARNESS_MAILPIT_BIN`, or `mailpit` on `PATH`.
    Mailpit,
    /// PostgreSQL's `initdb`, `postgres` and `psql`: `RECOVERY_HARNESS_POSTGRES_BIN`, Debian's
    /// `/usr/lib/postgresql/<major>/bin`, or `PATH`.
    Postgres,
    /// Headless Chromium: `RECOVERY_HARNESS_CHROMIUM`, or `chromium` on `PATH`.
    Chromium,
    /// actionlint on `PATH` or in `~/go/bin`.
    Actionlint,
    /// `kubernetes-validate` on `PATH`.
    KubernetesValidate,
    /// Prometheus: `prometheus` on `PATH` (Debian's `prometheus`).
    Prometheus,
    /// promtool: `promtool` on `PATH` (Debian's `prometheus`).
    Promtool,
    /// A user that is not root: root writes into read-only directories, so a test of a write
    /// refused by permissions cannot run as root. No variable requires it (CI runs as root).
    NotRoot,
}

impl Needs {
    /// What the skip and failure messages call it.
    pub fn what(self) -> &'static str {
        match self {
            Needs::Kratos => "real Kratos",
            Needs::KratosRelease => "real Kratos v26.2.0",
            Needs::Mailpit => "Mailpit",
            Needs::Postgres => "PostgreSQL",
            Needs::Chromium => "Chromium",
            Needs::Actionlint => "actionlint",
            Needs::KubernetesValidate => "kubernetes-validate",
            Needs::Prometheus => "Prometheus",
            Needs::Promtool => "promtool",
            Needs::NotRoot => "a user other than root",
        }
    }

    /// The variable that, set to `1`, turns a missing program into a failure.
    pub fn require_var(self) -> Option<&'static str> {
        match self {
            Needs::Kratos | Needs::KratosRelease => Some(super::kratos::REQUIRE_VAR),
            Needs::NotRoot => None,
            _ => Some(REQUIRE_TOOLS),
        }
    }

    /// The program (`None` for [`Needs::NotRoot`]), or why it is missing and how to get it.
    pub fn find(self) -> Result<Option<PathBuf>, String> {
        match self {
            Needs::Kratos => super::kratos::find_binary().map(Some),
            Needs::KratosRelease => super::kratos::find_binary()
                .and_then(|master| {
                    super::kratos::find_sibling(&master, super::kratos::RELEASE_V26_2_0)
                })
                .map(Some),
            Needs::Mailpit => super::mailpit::find().map(Some),
            Needs::Postgres => super::postgres::find_bin_dir().map(Some),
            Needs::Chromium => find_chromium().map(Some),
            Needs::Actionlint => on_path("actionlint")
                .or_else(|| {
                    let p = Path::new(&std::env::var_os("HOME")?).join("go/bin/actionlint");
                    p.is_file().then_some(p)
                })
                .map(Some)
                .ok_or_else(|| {
                    "actionlint is neither on PATH nor in ~/go/bin \
                     (go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12)"
                        .to_owned()
                }),
            Needs::KubernetesValidate => {
                on_path("kubernetes-validate").map(Some).ok_or_else(|| {
                    "kubernetes-validate is not on PATH (pip install kubernetes-validate==1.37.0 \
                 in a virtualenv)"
                        .to_owned()
                })
            }
            Needs::Prometheus => on_path("prometheus")
                .map(Some)
                .ok_or_else(|| "prometheus is not on PATH (apt-get install prometheus)".to_owned()),
            Needs::Promtool => on_path("promtool")
                .map(Some)
                .ok_or_else(|| "promtool is not on PATH (apt-get install prometheus)".to_owned()),
            Needs::NotRoot => {
                if running_as_root() {
                    Err("running as root, which writes into read-only directories".to_owned())
                } else {
                    Ok(None)
                }
            }
        }
    }
}

/// The variable that makes every program but Kratos required (CI sets it).
pub const REQUIRE_TOOLS: &str = "RECOVERY_HARNESS_REQUIRE_TOOLS";

/// The path of a program the test declared (it was found before the test started).
pub fn program(need: Needs) -> PathBuf {
    match need.find() {
        Ok(Some(path)) => path,
        Ok(None) => panic!("{} is a condition, not a program", need.what()),
        Err(why) => panic!("{} is missing: {why}", need.what()),
    }
}

/// A test that runs only when everything in `needs` is there (see the module doc).
pub fn test(name: &str, needs: &'static [Needs], body: fn()) -> Trial {
    Trial::ignorable_test(name, move || {
        for &need in needs {
            if let Err(why) = need.find() {
                let text = format!("needs {}: {why} (docs/testing.md)", need.what());
                return match need.require_var().filter(|v| super::required(v)) {
                    Some(var) => Err(Failed::from(format!("{text}; {var}=1 requires it"))),
                    None => Ok(Completion::ignored_with(text)),
                };
            }
        }
        body();
        Ok(Completion::Completed)
    })
}

/// Runs the listed tests with the command line `cargo test` passed (filters, `--list`, ...).
pub fn run(tests: Vec<Trial>) -> ExitCode {
    libtest_mimic::run(&Arguments::from_args(), tests).exit_code()
}

/// `name` in a directory of `PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn find_chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("RECOVERY_HARNESS_CHROMIUM").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "RECOVERY_HARNESS_CHROMIUM={} is not a file",
                p.display()
            ))
        };
    }
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .into_iter()
    .find_map(on_path)
    .ok_or_else(|| {
        "chromium is not on PATH and RECOVERY_HARNESS_CHROMIUM is not set (apt-get install chromium)"
            .to_owned()
    })
}

/// Whether this process runs as root (the effective user id in `/proc/self/status`).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}
