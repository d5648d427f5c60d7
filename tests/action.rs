//! The composite GitHub Action (`action.yml`): actionlint accepts it together with the example
//! workflow that uses it (and rejects a workflow that misuses it, so the lint really reads the
//! action), and its run script, executed by bash as the runner would, runs the built binary,
//! fills the step summary and outputs, and fails the step with the tool's exit code.

mod support;

use std::path::Path;
use std::process::Command;
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "actionlint_accepts_the_action_and_the_example_workflow",
            &[Needs::Actionlint],
            actionlint_accepts_the_action_and_the_example_workflow,
        ),
        test(
            "actionlint_rejects_an_input_the_action_does_not_declare",
            &[Needs::Actionlint],
            actionlint_rejects_an_input_the_action_does_not_declare,
        ),
        test(
            "the_step_runs_check_and_hands_over_summary_junit_and_exit_0",
            &[],
            the_step_runs_check_and_hands_over_summary_junit_and_exit_0,
        ),
        test(
            "a_failing_check_fails_the_step_with_exit_1_and_still_writes_the_summary",
            &[],
            a_failing_check_fails_the_step_with_exit_1_and_still_writes_the_summary,
        ),
        test(
            "a_run_that_cannot_be_carried_out_fails_the_step_with_exit_2",
            &[],
            a_run_that_cannot_be_carried_out_fails_the_step_with_exit_2,
        ),
        test(
            "both_runs_check_then_load_and_reports_each_exit_code",
            &[],
            both_runs_check_then_load_and_reports_each_exit_code,
        ),
    ])
}

const BIN: &str = env!("CARGO_BIN_EXE_recovery-harness");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A throwaway repository laid out as GitHub sees one that uses the action: `action.yml` at the
/// root, the workflow in `.github/workflows/`.
fn project_with(workflow: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        Path::new(ROOT).join("action.yml"),
        dir.path().join("action.yml"),
    )
    .expect("action.yml copied");
    // actionlint takes the directory with `.git` as the repository root that `./` names.
    std::fs::create_dir(dir.path().join(".git")).expect(".git");
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("workflows dir");
    std::fs::write(workflows.join("recovery-harness.yml"), workflow).expect("workflow written");
    dir
}

fn lint(actionlint: &Path, project: &Path) -> (bool, String) {
    let out = Command::new(actionlint)
        .args(["-no-color", ".github/workflows/recovery-harness.yml"])
        .current_dir(project)
        .output()
        .expect("actionlint runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn example_workflow() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("docs/examples/workflow.yml"))
        .expect("docs/examples/workflow.yml")
}

fn actionlint_accepts_the_action_and_the_example_workflow() {
    let actionlint = support::runner::program(Needs::Actionlint);
    let project = project_with(&example_workflow());
    let (ok, text) = lint(&actionlint, project.path());
    assert!(ok, "actionlint:\n{text}");
}

fn actionlint_rejects_an_input_the_action_does_not_declare() {
    let actionlint = support::runner::program(Needs::Actionlint);
    let workflow = example_workflow().replace("duration: 30s", "durration: 30s");
    assert!(workflow.contains("durration"), "the example sets duration");
    let project = project_with(&workflow);
    let (ok, text) = lint(&actionlint, project.path());
    assert!(!ok, "a misspelled input passed the lint");
    assert!(
        text.contains("durration") && text.contains("not defined"),
        "{text}"
    );
}

/// The script of the action's step `id: run`, as the runner hands it to bash.
fn run_script() -> String {
    let yaml = std::fs::read_to_string(Path::new(ROOT).join("action.yml")).expect("action.yml");
    let start = yaml.find("      id: run\n").expect("a step with id: run");
    let rest = &yaml[start..];
    let body = rest
        .find("      run: |\n")
        .map(|i| &rest[i + "      run: |\n".len()..])
        .expect("its run: block");
    body.lines()
        .take_while(|l| l.is_empty() || l.starts_with("        "))
        .map(|l| l.strip_prefix("        ").unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

struct Step {
    code: Option<i32>,
    summary: String,
    outputs: String,
    log: String,
}

/// Runs the step script the way the runner does: inputs as environment variables, the binary on
/// PATH, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` as files.
fn run_step(work: &Path, inputs: &[(&str, &str)]) -> Step {
    let output = work.join("github_output");
    let summary = work.join("step_summary");
    std::fs::write(&output, "").expect("output file");
    std::fs::write(&summary, "").expect("summary file");
    let bin_dir = Path::new(BIN).parent().expect("bin dir");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_owned()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-e", "-c", &run_script()])
        .current_dir(work)
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("NO_COLOR", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RECOVERY_HARNESS_") {
            cmd.env_remove(key);
        }
    }
    // The action's defaults, then the test's inputs.
    let defaults = [
        ("COMMAND", "check"),
        ("TARGET", ""),
        ("RECOVERY_HARNESS_SESSION_TOKEN", ""),
        ("RECOVERY_HARNESS_SESSION_COOKIE", ""),
        ("REPORT_DIR", "reports"),
        ("STRICT", "false"),
        ("CHECK_ARGS", ""),
        ("SCENARIO", "create-native-flow"),
        ("USERS", ""),
        ("DURATION", ""),
        ("THRESHOLDS", ""),
        ("LOAD_ARGS", ""),
    ];
    cmd.envs(defaults).envs(inputs.iter().copied());
    let out = cmd.output().expect("bash runs");
    Step {
        code: out.status.code(),
        summary: std::fs::read_to_string(&summary).expect("summary"),
        outputs: std::fs::read_to_string(&output).expect("outputs"),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn the_step_runs_check_and_hands_over_summary_junit_and_exit_0() {
    let work = tempfile::tempdir().expect("tempdir");
    let step = run_step(
        work.path(),
        &[(
            "CHECK_ARGS",
            "--only preflight,create_native --fuzz-cases 0",
        )],
    );
    assert_eq!(step.code, Some(0), "{}", step.log);
    let summary_md = std::fs::read_to_string(work.path().join("reports/check/summary.md"))
        .expect("summary.md in REPORT_DIR/check");
    assert!(!summary_md.is_empty());
    assert!(
        step.summary.contains(summary_md.trim()),
        "summary.md appended to $GITHUB_STEP_SUMMARY"
    );
    assert!(
        step.outputs.contains("check-exit-code=0\n"),
        "{}",
        step.outputs
    );
    assert!(
        step.outputs.contains("junit=reports/check/junit.xml\n"),
        "{}",
        step.outputs
    );
    assert!(work.path().join("reports/check/junit.xml").is_file());
    assert!(!step.outputs.contains("load-exit-code"), "load did not run");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_check_fails_the_step_with_exit_1_and_still_writes_the_summary() {
    let fault = recovery_harness::testing::fault("create_native_500").expect("the fault exists");
    let server = recovery_harness::testing::spawn_faulty(fault)
        .await
        .expect("faulty server starts");
    let target = server.base_url().to_owned();
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().to_owned();
    let step = tokio::task::spawn_blocking(move || {
        run_step(
            &dir,
            &[
                ("TARGET", target.as_str()),
                ("CHECK_ARGS", "--only create_native --fuzz-cases 0"),
            ],
        )
    })
    .await
    .expect("the step finishes");
    server.shutdown().await;
    assert_eq!(step.code, Some(1), "{}", step.log);
    assert!(
        step.outputs.contains("check-exit-code=1\n"),
        "{}",
        step.outputs
    );
    assert!(step.summary.contains("create_native"), "{}", step.summary);
}

fn a_run_that_cannot_be_carried_out_fails_the_step_with_exit_2() {
    let work = tempfile::tempdir().expect("tempdir");
    // Port 1 on loopback: nothing listens there, every request is refused.
    let step = run_step(
        work.path(),
        &[
            ("TARGET", "http://127.0.0.1:1"),
            ("CHECK_ARGS", "--fuzz-cases 0 --timeout 2s"),
        ],
    );
    assert_eq!(step.code, Some(2), "{}", step.log);
    assert!(
        step.outputs.contains("check-exit-code=2\n"),
        "{}",
        step.outputs
    );

    let step = run_step(work.path(), &[("COMMAND", "everything")]);
    assert_eq!(step.code, Some(2), "{}", step.log);
    assert!(
        step.log.contains("::error::command must be"),
        "{}",
        step.log
    );
}

fn both_runs_check_then_load_and_reports_each_exit_code() {
    let work = tempfile::tempdir().expect("tempdir");
    let step = run_step(
        work.path(),
        &[
            ("COMMAND", "both"),
            ("CHECK_ARGS", "--only preflight --fuzz-cases 0"),
            ("USERS", "1"),
            ("DURATION", "1s"),
            ("THRESHOLDS", "error-rate<50%\n\n"),
        ],
    );
    assert_eq!(step.code, Some(0), "{}", step.log);
    assert!(
        step.outputs.contains("check-exit-code=0\n"),
        "{}",
        step.outputs
    );
    assert!(
        step.outputs.contains("load-exit-code=0\n"),
        "{}",
        step.outputs
    );
    assert!(work.path().join("reports/load/load-summary.json").is_file());
    assert!(
        step.summary.matches('#').count() >= 2,
        "both summaries in the step summary:\n{}",
        step.summary
    );
}
