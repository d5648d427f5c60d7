//! Proof that every check can fail: for each deliberately broken variant of the reference server
//! (`recovery_harness::testing::faults()`) the suite's whole outcome is the one listed here (every
//! check that does not pass, failed or skipped with its reason; every other check passed), every
//! check of the catalogue is failed by the variant it names as its proving fault (`Check::fault`:
//! a new check without one fails this test), and the faithful server passes everything, skipping
//! nothing.
//!
//! Each run is configured as the embedded run is: the server's own courier as the code source,
//! a known address, and a short-lived twin (with the same fault) for the expiry checks.

use recovery_harness::check::config::{EMBEDDED_EXPIRY_LIFESPAN, EMBEDDED_KNOWN_EMAIL};
use recovery_harness::check::{self, catalogue, RunOptions};
use recovery_harness::cli::check::CheckArgs;
use recovery_harness::cli::common::CredentialArgs;
use recovery_harness::report::{RunReport, Status};
use recovery_harness::schema::Schemas;
use recovery_harness::server::{RunningServer, ServerConfig};
use recovery_harness::testing;
use std::sync::Arc;
use std::time::Duration;

/// fault name → every check that does not pass: `"<id> failed"`, `"<id> warning"` (a failed
/// recommended check), `"<id> error"` or `"<id> skipped: <reason>"`
/// (the reason normalised: loopback ports → `HOST`, UUIDs → `ID`, cut at 80 characters).
const TABLE: &[(&str, &[&str])] = &include!("check_faults_table.in");

fn args_for(server: &RunningServer) -> CheckArgs {
    CheckArgs {
        target: Some(server.base_url().to_owned()),
        credentials: CredentialArgs {
            session_token: Some(server.session_token().into()),
            session_cookie: Some(server.session_cookie().into()),
        },
        courier_url: Some(server.admin_url().to_owned()),
        known_email: Some(EMBEDDED_KNOWN_EMAIL.to_owned()),
        seed: Some(7),
        fuzz_cases: 32,
        timeout: Duration::from_secs(5),
        // The race faults lose an update in every trial; 4 trials instead of 16 keep each of the
        // 80 runs short (the slow-address variant takes 400 ms per mailed submission).
        race_trials: 4,
        ..CheckArgs::default()
    }
}

async fn run(args: &CheckArgs, twin: &RunningServer) -> RunReport {
    let schemas = Arc::new(Schemas::embedded().expect("embedded schemas compile"));
    let mut config = args.config().expect("valid arguments");
    config.use_expiry_twin(twin).expect("twin URL");
    check::run(config, schemas, RunOptions::default())
        .await
        .expect("the run can be carried out")
}

/// `127.0.0.1:PORT` → `HOST`, UUIDs → `ID`, at most 80 characters.
fn normalise(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i]);
        out.push_str("HOST");
        rest = rest[i + "127.0.0.1:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    let mut words = String::new();
    let bytes: Vec<char> = out.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let candidate: String = bytes[i..bytes.len().min(i + 36)].iter().collect();
        if candidate.len() == 36 && uuid::Uuid::parse_str(&candidate).is_ok() {
            words.push_str("ID");
            i += 36;
        } else {
            words.push(bytes[i]);
            i += 1;
        }
    }
    words.chars().take(80).collect()
}

/// The run's outcome in the table's form.
fn outcome(report: &RunReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter_map(|c| match c.status {
            Status::Passed => None,
            Status::Failed => Some(format!("{} failed", c.id)),
            Status::Warning => Some(format!("{} warning", c.id)),
            Status::Error => Some(format!("{} error", c.id)),
            Status::Skipped => Some(format!("{} skipped: {}", c.id, normalise(&c.detail))),
        })
        .collect()
}

fn failed_in<'a>(row: &'a [&'a str]) -> impl Iterator<Item = String> + 'a {
    // A failed recommended check is a warning; a check that could not judge is an error.
    row.iter().filter_map(|s| {
        [" failed", " warning", " error"]
            .iter()
            .find_map(|suffix| s.strip_suffix(suffix))
            .map(str::to_owned)
    })
}

#[test]
fn every_check_has_a_proving_fault() {
    // Each check names its fault (`Check::fault`), and that fault's outcome fails the check.
    let mut unproven = Vec::new();
    for check in catalogue::all() {
        let row = TABLE.iter().find(|(name, _)| *name == check.fault);
        let fails = row.is_some_and(|(_, row)| failed_in(row).any(|id| id == check.id));
        if testing::fault(check.fault).is_none() || !fails {
            unproven.push(format!("{} (fault {})", check.id, check.fault));
        }
    }
    assert!(
        unproven.is_empty(),
        "these checks are not failed by the fault they name (declare it in src/testing/, give it a row of the table, or name another): {unproven:?}"
    );
    for (_, row) in TABLE {
        for entry in *row {
            let id = entry.split(' ').next().unwrap_or_default();
            assert!(
                catalogue::by_id(id).is_some(),
                "the table names unknown check {id}"
            );
        }
    }
    for fault in testing::faults() {
        assert_eq!(
            TABLE.iter().filter(|(name, _)| *name == fault.name).count(),
            1,
            "fault {} must be in the table exactly once",
            fault.name
        );
    }
}

#[test]
fn no_fault_is_keyed_on_the_probe_header() {
    // Matchers see what a request is; the harness's own header is not even part of it.
    let mut files = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/testing")];
    let mut read = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("src/testing is readable")
                    .map(|e| e.expect("entry").path()),
            );
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        read += 1;
        assert!(
            !source.contains("PROBE_HEADER") && !source.contains("x-recovery-harness-probe\")"),
            "{} must not read the harness's probe header",
            path.display()
        );
    }
    assert!(read > 5, "read {read} files of src/testing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faithful_server_passes_every_check_and_skips_none() {
    let server = testing::spawn_faithful().await.expect("server starts");
    let twin = recovery_harness::server::spawn(ServerConfig {
        lifespan: EMBEDDED_EXPIRY_LIFESPAN,
        ..ServerConfig::default()
    })
    .await
    .expect("twin starts");
    let mut args = args_for(&server);
    args.fuzz_cases = 64;
    let report = run(&args, &twin).await;
    let not_passed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Passed)
        .map(|c| format!("{} {:?}: {}", c.id, c.status, c.detail))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(report.checks.len(), catalogue::all().count());
    server.shutdown().await;
    twin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_gives_exactly_its_outcome() {
    let mut mismatches = Vec::new();
    let mut actual_table = Vec::new();
    for fault in testing::faults() {
        let name = fault.name;
        let server = testing::spawn_faulty(fault).await.expect("server starts");
        let twin = testing::spawn_faulty_twin(fault, EMBEDDED_EXPIRY_LIFESPAN)
            .await
            .expect("twin starts");
        let mut args = args_for(&server);
        if name == "browser_never_answers" {
            // Long enough for every other probe on a loaded machine, short enough to keep the test quick.
            args.timeout = Duration::from_secs(2);
        }
        let report = run(&args, &twin).await;
        let got = outcome(&report);
        let want: Vec<String> = TABLE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, row)| row.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default();
        actual_table.push(format!(
            "    (\n        {name:?},\n        &[\n{}        ],\n    ),",
            got.iter()
                .map(|g| format!("            {g:?},\n"))
                .collect::<String>()
        ));
        if got != want {
            let details: Vec<String> = report
                .checks
                .iter()
                .filter(|c| c.status != Status::Passed)
                .map(|c| format!("    {} {:?}: {}", c.id, c.status, c.detail))
                .collect();
            mismatches.push(format!(
                "{name}:\n  expected {want:#?}\n  got {got:#?}\n{}",
                details.join("\n")
            ));
        }
        server.shutdown().await;
        twin.shutdown().await;
    }
    if !mismatches.is_empty() {
        if let Ok(path) = std::env::var("RECOVERY_HARNESS_WRITE_FAULT_TABLE") {
            let _ = std::fs::write(path, format!("[\n{}\n]\n", actual_table.join("\n")));
        }
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}
