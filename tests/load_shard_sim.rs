//! A sharded run as a Kubernetes Indexed Job runs it, simulated on loopback: one `serve`
//! process, N `load --shards N` processes told their index by `JOB_COMPLETION_INDEX` and started
//! at one `--start-at`, each writing `shard-{shard}` under one directory, then `load merge` on
//! that directory, whose exit code is the verdict.

mod load_shard_support;

use load_shard_support::*;
use std::io::BufRead as _;
use std::time::Duration;

const SHARDS: usize = 3;

/// Starts `serve` on an ephemeral loopback port; returns its guard and base URL.
fn serve() -> (Guard, String) {
    let mut child = command(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--session-token",
            "shard-sim-token",
            "--max-flows",
            "20000",
        ],
        &[],
    )
    .spawn()
    .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let guard = Guard(Some(child));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(at) = line.find("http://") {
                let _ = tx.send(line[at..].trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve prints its base URL");
    (guard, url)
}

#[test]
fn an_indexed_job_of_shards_merges_into_one_verdict() {
    let (_serve, url) = serve();
    let root = tempfile::tempdir().expect("tempdir");
    let base = root.path().join("run");
    let report_dir = base.join("shard-{shard}").to_string_lossy().into_owned();
    let start_at = (chrono::Utc::now() + chrono::TimeDelta::seconds(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let shards = SHARDS.to_string();

    // Every pod gets the same arguments; only JOB_COMPLETION_INDEX differs.
    let children: Vec<_> = (0..SHARDS)
        .map(|i| {
            let index = i.to_string();
            command(
                &[
                    "load",
                    "--target",
                    &url,
                    "--shards",
                    &shards,
                    "--users",
                    "7",
                    "--duration",
                    "2s",
                    "--throttle",
                    "600",
                    "--threshold",
                    "error-rate<1%",
                    "--start-at",
                    &start_at,
                    "--report-dir",
                    &report_dir,
                ],
                &[("JOB_COMPLETION_INDEX", &index)],
            )
            .spawn()
            .expect("shard starts")
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .enumerate()
        .map(|(i, c)| finish(c, Duration::from_secs(120), &format!("shard {i}")))
        .collect();
    let mut total = 0;
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.code, 0, "shard {i}: {r}");
        assert!(
            r.stderr.contains("judged by `load merge`"),
            "shard {i}: {r}"
        );
        let s = summary(&base.join(format!("shard-{i}")));
        assert_valid_summary(&s);
        assert_eq!(s["shard"]["index"], i);
        assert_eq!(
            s["users"],
            if i == 0 { 3 } else { 2 },
            "7 users over 3 shards"
        );
        assert_eq!(s["shard"]["user_offset"], [0, 3, 5][i]);
        assert_eq!(s["shard"]["start_at"], start_at.as_str());
        total += s["requests"].as_u64().expect("requests");
    }
    assert!(total > 0);

    let merged = root.path().join("merged");
    let merged_dir = merged.to_string_lossy().into_owned();
    let base_dir = base.to_string_lossy().into_owned();
    let r = run(
        &["load", "merge", &base_dir, "--report-dir", &merged_dir],
        &[],
    );
    assert_eq!(r.code, 0, "{r}");
    let m = summary(&merged);
    assert_valid_summary(&m);
    assert_eq!(
        m["requests"].as_u64(),
        Some(total),
        "merged count is the sum"
    );
    assert_eq!(m["users"], 7);
    assert_eq!(m["throttle"], 600);
    assert_eq!(m["verdict"], "passed");
    assert_eq!(m["merge"]["shards"], SHARDS);
    let overlap = m["merge"]["window_overlap"].as_f64().expect("overlap");
    assert!(
        overlap >= 0.9,
        "one --start-at: the windows coincide ({overlap}): {m:#}"
    );
    assert!(!r.stderr.contains("overlap for only"), "{r}");

    // The verdict follows the thresholds: an impossible rule fails the merged run.
    let r = run(
        &[
            "load",
            "merge",
            &base_dir,
            "--threshold",
            "p50<0.001ms",
            "--report-dir",
            &merged_dir,
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{r}");
    assert_eq!(summary(&merged)["verdict"], "failed");

    // A pod whose shard is lost: the merge cannot give a verdict.
    std::fs::remove_dir_all(base.join("shard-1")).expect("remove shard 1");
    let r = run(
        &["load", "merge", &base_dir, "--report-dir", &merged_dir],
        &[],
    );
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("shard 1 of 3 is missing"), "{r}");
}

#[test]
fn shard_flags_are_refused_clearly() {
    for (args, env, want) in [
        (vec!["--shard", "0/0"], vec![], "at least 1 shard"),
        (
            vec!["--shard", "3/2"],
            vec![],
            "not below the shard count 2",
        ),
        (
            vec!["--shards", "2"],
            vec![],
            "JOB_COMPLETION_INDEX is not set",
        ),
        (
            vec!["--shards", "2"],
            vec![("JOB_COMPLETION_INDEX", "2")],
            "completions must equal --shards",
        ),
        (
            vec!["--shard", "0/2", "--shards", "2"],
            vec![],
            "cannot be used with",
        ),
        (
            vec!["--shard", "0/4", "--users", "3"],
            vec![],
            "one user per shard",
        ),
        (
            vec!["--start-at", "2000-01-01T00:00:00Z"],
            vec![],
            "in the past",
        ),
        (
            vec!["--start-at", "2999-01-01T00:00:00Z"],
            vec![],
            "at most 1h ahead",
        ),
        (vec!["--start-at", "soon"], vec![], "not an RFC 3339 time"),
    ] {
        let mut argv = vec!["load"];
        argv.extend(args.iter().copied());
        let r = run(&argv, &env);
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert!(r.stderr.contains(want), "{args:?}: want {want:?}: {r}");
    }
    let r = run(&["load", "merge"], &[]);
    assert_eq!(r.code, 2, "{r}");
    let empty = tempfile::tempdir().expect("tempdir");
    let r = run(&["load", "merge", &empty.path().to_string_lossy()], &[]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("no shard report directory"), "{r}");
}

/// `{user}` stays unique over the shards: two shards of `full-recovery` with 4 users in all
/// send codes to recovery-load-1..4, each address used, none beyond (without the run-wide
/// numbering both shards would use 1 and 2 only).
#[test]
fn user_templates_number_users_across_shards() {
    let (_serve, url) = serve();
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root
        .path()
        .join("shard-{shard}")
        .to_string_lossy()
        .into_owned();
    let children: Vec<_> = (0..2)
        .map(|i| {
            let shard = format!("{i}/2");
            command(
                &[
                    "load",
                    "--target",
                    &url,
                    "--scenario",
                    "full-recovery",
                    "--shard",
                    &shard,
                    "--users",
                    "4",
                    "--duration",
                    "1s",
                    "--throttle",
                    "40",
                    "-q",
                    "--report-dir",
                    &dir,
                ],
                &[],
            )
            .spawn()
            .expect("shard starts")
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let r = finish(c, Duration::from_secs(120), &format!("shard {i}"));
        assert_eq!(r.code, 0, "shard {i}: {r}");
    }
    let sent = |n: usize| {
        let body = reqwest_get(&format!(
            "{url}/admin/courier/messages?recipient=recovery-load-{n}@example.org&page_size=1"
        ));
        let v: serde_json::Value = serde_json::from_str(&body).expect("courier listing is JSON");
        !v.as_array().expect("a list").is_empty()
    };
    for n in 1..=4 {
        assert!(sent(n), "no code was sent to recovery-load-{n}@example.org");
    }
    assert!(!sent(5), "a user beyond the run's 4");
}

/// One blocking GET on loopback (the test has no HTTP client of its own besides the binary).
fn reqwest_get(url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    recovery_harness::tls::install_default_provider();
    rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .header("Accept", "application/json")
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("courier listing answers")
            .text()
            .await
            .expect("body")
    })
}
