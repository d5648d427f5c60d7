//! deploy/kubernetes/ and the Dockerfile: the manifests validate against Kubernetes' own schemas
//! (`kubernetes-validate --strict`, no cluster needed), and they agree with the binary and with
//! each other: the scenario ConfigMap is the committed scenario, the Indexed Job's completions,
//! parallelism and --shards are one N, its arguments are ones `load` accepts, both Jobs share the
//! reports volume, and the image's user is the one the pods run as.

mod load_shard_support;
mod support;

use load_shard_support::*;
use std::path::{Path, PathBuf};
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "manifests_validate_against_the_kubernetes_schemas",
            &[Needs::KubernetesValidate],
            manifests_validate_against_the_kubernetes_schemas,
        ),
        test(
            "the_scenario_configmap_is_the_committed_scenario",
            &[],
            the_scenario_configmap_is_the_committed_scenario,
        ),
        test(
            "the_indexed_job_is_one_n_and_its_arguments_run",
            &[],
            the_indexed_job_is_one_n_and_its_arguments_run,
        ),
        test(
            "the_image_runs_as_the_user_the_pods_expect",
            &[],
            the_image_runs_as_the_user_the_pods_expect,
        ),
    ])
}

/// The Kubernetes version validated against: the newest that kubernetes-validate 1.37.0 ships.
const KUBERNETES_VERSION: &str = "1.37.0";

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes")
}

fn manifests() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("deploy/kubernetes") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&deploy(), &mut out);
    out.sort();
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The block under `key: |` in `text`, unindented.
fn block(text: &str, key: &str) -> String {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{key}: |"));
    let head = lines
        .next()
        .unwrap_or_else(|| panic!("no `{key}: |` block"));
    let indent = head.len() - head.trim_start().len() + 2;
    let mut out = String::new();
    for l in lines {
        if !l.trim().is_empty() && l.len() - l.trim_start().len() < indent {
            break;
        }
        out.push_str(l.get(indent..).unwrap_or(""));
        out.push('\n');
    }
    out
}

/// The list items under `key:` (`- value` lines), unquoted.
fn list(text: &str, key: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{key}:"));
    lines.next().unwrap_or_else(|| panic!("no `{key}:` list"));
    lines
        .map(str::trim)
        .take_while(|l| l.starts_with("- "))
        .map(|l| l[2..].trim().trim_matches('"').to_owned())
        .collect()
}

/// The value of the first `key: value` line.
fn value(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no `{key}:`"))
        .trim()
        .trim_matches('"')
        .to_owned()
}

fn manifests_validate_against_the_kubernetes_schemas() {
    let tool = support::runner::program(Needs::KubernetesValidate);
    let files = manifests();
    assert!(files.len() >= 6, "{files:?}");
    let out = std::process::Command::new(&tool)
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "kubernetes-validate --strict:\n{text}"
    );
    for f in &files {
        let name = f
            .strip_prefix(deploy())
            .expect("under deploy")
            .display()
            .to_string();
        assert!(
            text.lines()
                .any(|l| l.contains(&name) && l.contains("passed")),
            "{name} not reported as passed:\n{text}"
        );
    }

    // The tool does reject what Kubernetes would: a misspelt field fails strict validation.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        read(&deploy().join("10-shards-job.yaml")).replace("completionMode:", "completionMod:"),
    )
    .expect("write");
    let out = std::process::Command::new(&tool)
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .arg(&bad)
        .output()
        .expect("kubernetes-validate runs");
    assert!(!out.status.success(), "a misspelt field must fail");
}

fn the_scenario_configmap_is_the_committed_scenario() {
    let cm = read(&deploy().join("01-scenario-configmap.yaml"));
    let scenario = block(&cm, "scenario.toml");
    let committed =
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/create-native-flow.toml"));
    assert_eq!(
        scenario, committed,
        "ConfigMap and scenarios/create-native-flow.toml differ"
    );
}

fn the_indexed_job_is_one_n_and_its_arguments_run() {
    let job = read(&deploy().join("10-shards-job.yaml"));
    assert_eq!(value(&job, "completionMode"), "Indexed");
    let completions = value(&job, "completions");
    assert_eq!(
        value(&job, "parallelism"),
        completions,
        "parallelism = completions"
    );
    let args = list(&job, "args");
    let shards = args
        .iter()
        .position(|a| a == "--shards")
        .map(|i| args[i + 1].clone())
        .expect("--shards");
    assert_eq!(shards, completions, "--shards = completions");
    assert!(
        args.iter().any(|a| a.contains("shard-{shard}")),
        "one report directory per pod: {args:?}"
    );

    // The pod's arguments, with Kubernetes' $(VAR) expansion done as the kubelet would, are
    // accepted by `load` up to the last check: a --start-at in the past (so nothing is sent).
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(
        &scenario,
        block(
            &read(&deploy().join("01-scenario-configmap.yaml")),
            "scenario.toml",
        ),
    )
    .expect("write");
    let reports = dir.path().to_string_lossy().into_owned();
    let argv: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("$(TARGET)", "http://127.0.0.1:9")
                .replace("$(START_AT)", "2000-01-01T00:00:00Z")
                .replace("$(RUN_ID)", "run-1")
                .replace("/reports", &reports)
                .replace(
                    "/etc/recovery-harness/scenario.toml",
                    &scenario.to_string_lossy(),
                )
        })
        .collect();
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let last = (completions.parse::<usize>().expect("N") - 1).to_string();
    let r = run(&argv, &[("JOB_COMPLETION_INDEX", &last)]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("--start-at") && r.stderr.contains("in the past"),
        "{r}"
    );

    let merge = read(&deploy().join("merge/merge-job.yaml"));
    let margs = list(&merge, "args");
    assert_eq!(&margs[..2], ["load", "merge"], "{margs:?}");
    assert_eq!(
        value(&merge, "backoffLimit"),
        "0",
        "the verdict is never retried"
    );
    for text in [&job, &merge] {
        assert_eq!(value(text, "claimName"), "recovery-harness-reports");
        assert_eq!(value(text, "runAsUser"), "65532");
    }
    let pvc = read(&deploy().join("03-reports-pvc.yaml"));
    assert!(
        pvc.contains("ReadWriteMany"),
        "shards on several nodes share it"
    );
}

fn the_image_runs_as_the_user_the_pods_expect() {
    let df = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"));
    let froms = df.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(froms >= 2, "multi-stage");
    assert!(df.contains("cargo build --release --locked"), "{df}");
    assert!(df.contains("USER 65532:65532"), "{df}");
    assert!(
        df.contains("ENTRYPOINT [\"/usr/local/bin/recovery-harness\"]"),
        "{df}"
    );
}
