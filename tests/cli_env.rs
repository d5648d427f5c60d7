//! `RECOVERY_HARNESS_*` variables: each one is shown in `--help` next to its flag, is read when
//! the flag is absent, and loses to the flag when both are given.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_recovery-harness");

/// The binary with no `RECOVERY_HARNESS_*` variable of the caller's shell, plus `vars`.
fn run(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RECOVERY_HARNESS_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .envs(vars.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn help(command: &str) -> String {
    let out = run(&[command, "--help"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // clap wraps the help text; the variable names must survive it whole.
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn help_names_the_variable_of_every_main_flag() {
    let expected: &[(&str, &[&str])] = &[
        (
            "check",
            &[
                "TARGET",
                "SESSION_TOKEN",
                "SESSION_COOKIE",
                "REPORT_DIR",
                "TIMEOUT",
                "ONLY",
                "SKIP",
                "STRICT",
                "FUZZ_CASES",
                "SEED",
                "INSECURE",
                "SCHEMAS",
                "SPEC",
            ],
        ),
        (
            "load",
            &[
                "TARGET",
                "SESSION_TOKEN",
                "REPORT_DIR",
                "SCENARIO",
                "USERS",
                "DURATION",
                "THRESHOLD",
                "ADMIN_URL",
                "TIMEOUT",
                "INSECURE",
                "VALIDATE",
                "RATE",
                "STAGES",
                "MAX_IN_FLIGHT",
            ],
        ),
        (
            "monitor",
            &[
                "TARGET",
                "SESSION_TOKEN",
                "SESSION_COOKIE",
                "REPORT_DIR",
                "TIMEOUT",
                "INSECURE",
                "MONITOR_EVERY",
                "MONITOR_JITTER",
                "MONITOR_DEADLINE",
                "MONITOR_LISTEN",
                "MONITOR_FUZZ_CASES",
                "SCHEMAS",
                "SPEC",
            ],
        ),
        (
            "serve",
            &[
                "LISTEN",
                "BASE_PATH",
                "SESSION_TOKEN",
                "LIFESPAN",
                "MAX_FLOWS",
            ],
        ),
    ];
    for (command, names) in expected {
        let text = help(command);
        for name in *names {
            let var = format!("RECOVERY_HARNESS_{name}");
            assert!(
                text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == var),
                "`{command} --help` does not show {var}"
            );
        }
    }
}

/// `monitor` reads its variables and a flag wins: shown by the first value it refuses (it would
/// otherwise run until stopped).
#[test]
fn monitor_reads_its_variables_and_a_flag_wins() {
    let from_env = run(
        &["monitor"],
        &[
            ("RECOVERY_HARNESS_TARGET", "http://127.0.0.1:9"),
            ("RECOVERY_HARNESS_MONITOR_EVERY", "10ms"),
        ],
    );
    assert_eq!(from_env.status.code(), Some(2), "{}", stderr(&from_env));
    assert!(
        stderr(&from_env).contains("--every"),
        "{}",
        stderr(&from_env)
    );
    let flag_wins = run(
        &["monitor", "--every", "60s", "--jitter", "70s"],
        &[
            ("RECOVERY_HARNESS_TARGET", "http://127.0.0.1:9"),
            ("RECOVERY_HARNESS_MONITOR_EVERY", "10ms"),
        ],
    );
    assert_eq!(flag_wins.status.code(), Some(2), "{}", stderr(&flag_wins));
    let text = stderr(&flag_wins);
    assert!(
        text.contains("--jitter") && !text.contains("--every:"),
        "{text}"
    );
}

#[test]
fn secrets_given_by_variable_are_not_echoed_by_help() {
    let out = run(
        &["check", "--help"],
        &[
            (
                "RECOVERY_HARNESS_SESSION_TOKEN",
                "ory_st_secret-token-value",
            ),
            (
                "RECOVERY_HARNESS_SESSION_COOKIE",
                "chx_auth_session=secret-cookie-value",
            ),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RECOVERY_HARNESS_SESSION_TOKEN"));
    assert!(!text.contains("secret-token-value") && !text.contains("secret-cookie-value"));
}

fn conformance(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("conformance.json"))
        .unwrap_or_else(|e| panic!("no conformance.json in {}: {e}", dir.display()));
    serde_json::from_str(&text).expect("conformance.json is JSON")
}

/// The ids of the checks that were not skipped.
fn ran(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] != "skipped")
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect()
}

/// A short real run against the embedded server: the variables decide where the reports go and
/// what they say; a flag given as well wins.
#[test]
fn check_reads_its_variables_and_a_flag_wins() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let from_env = tmp.path().join("from-env");
    let from_flag = tmp.path().join("from-flag");
    let env = [
        (
            "RECOVERY_HARNESS_REPORT_DIR",
            from_env.to_str().expect("utf-8"),
        ),
        ("RECOVERY_HARNESS_ONLY", "preflight"),
        ("RECOVERY_HARNESS_FUZZ_CASES", "0"),
        ("RECOVERY_HARNESS_STRICT", "true"),
        ("RECOVERY_HARNESS_INSECURE", "1"),
    ];

    let out = run(&["check", "--quiet"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = conformance(&from_env);
    assert_eq!(report["strict"], true, "--strict comes from the variable");
    assert_eq!(
        report["insecure"], true,
        "--insecure comes from the variable"
    );
    assert_eq!(
        ran(&report),
        ["preflight.recovery_enabled"],
        "RECOVERY_HARNESS_ONLY selected the run"
    );

    std::fs::remove_dir_all(&from_env).expect("clean");
    let out = run(
        &[
            "check",
            "--quiet",
            "--report-dir",
            from_flag.to_str().expect("utf-8"),
            "--only",
            "create_native.200",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids = ran(&conformance(&from_flag));
    assert!(
        ids.contains(&"create_native.200".to_owned()) && !ids.contains(&"get_flow.200".to_owned()),
        "the flag wins over the variable: {ids:?}"
    );
    assert!(
        !from_env.exists(),
        "the variable's directory is not used when the flag is given"
    );
}

#[test]
fn a_bad_value_in_a_variable_is_a_usage_error_that_names_it() {
    let out = run(&["check"], &[("RECOVERY_HARNESS_TIMEOUT", "ten seconds")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("ten seconds") && err.contains("--timeout"),
        "{err}"
    );

    let out = run(&["check"], &[("RECOVERY_HARNESS_INSECURE", "perhaps")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("perhaps"));
}

#[test]
fn load_reads_its_variables_and_a_flag_wins() {
    // Both values are out of bounds, so the run stops before any request; the message says which
    // value was used.
    let out = run(&["load"], &[("RECOVERY_HARNESS_USERS", "0")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("0 users"), "{}", stderr(&out));

    let out = run(
        &["load", "--users", "99999999"],
        &[("RECOVERY_HARNESS_USERS", "0")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("99999999 users"), "{}", stderr(&out));
}

#[test]
fn serve_reads_its_variables() {
    // A bad base path is refused before the port is bound, so the server never starts.
    let out = run(
        &["serve"],
        &[("RECOVERY_HARNESS_BASE_PATH", "no-leading-slash")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no-leading-slash"),
        "{}",
        stderr(&out)
    );
}
