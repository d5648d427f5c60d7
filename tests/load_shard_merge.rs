//! `load merge` is exact: shards run against a loopback target that answers each shard after its
//! own fixed delay, and the merged p50/p95/p99 equal the percentiles over the union of every
//! shard's samples at Goose's bucket resolution (computed here from the definition). Then the
//! shard sets `merge` must refuse: missing, duplicated, of another target, scenario or tool.

mod load_shard_support;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use load_shard_support::*;
use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const REQUEST: &str = "GET create flow";
/// Each shard's delay (ms): distinct, far apart, so each shard's times sit in their own buckets.
const DELAYS_MS: [u64; 3] = [2, 12, 40];

/// A Kratos-shaped recovery endpoint that answers after `delay` ms (read per request).
fn serve_delayed(delay: Arc<AtomicU64>) -> SocketAddr {
    let flow = include_str!("fixtures/kratos/flow-create-api.json");
    let router = Router::new().route(
        "/self-service/recovery/api",
        get(move || {
            let delay = delay.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(delay.load(Ordering::Relaxed))).await;
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    flow,
                )
                    .into_response()
            }
        }),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            // Bounded: the test process ends it; nothing else connects to an ephemeral port.
            let _ = tokio::time::timeout(
                Duration::from_secs(600),
                axum::serve(listener, router).into_future(),
            )
            .await;
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("server up")
}

fn shard_run(target: &str, index: usize, dir: &Path) -> Run {
    let shard = format!("{index}/{}", DELAYS_MS.len());
    let dir = dir.to_string_lossy().into_owned();
    let r = run(
        &[
            "load",
            "--target",
            target,
            "--shard",
            &shard,
            "--users",
            "6",
            "--duration",
            "2s",
            "--throttle",
            "240",
            "--threshold",
            "p99<10s",
            "-q",
            "--report-dir",
            &dir,
        ],
        &[],
    );
    assert_eq!(r.code, 0, "shard {index}: {r}");
    r
}

fn merge(dirs: &[&Path], extra: &[&str], out: &Path) -> Run {
    let mut args: Vec<String> = vec!["load".into(), "merge".into()];
    args.extend(dirs.iter().map(|d| d.to_string_lossy().into_owned()));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.push("--report-dir".into());
    args.push(out.to_string_lossy().into_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, &[])
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

fn edit_summary(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v = summary(dir);
    f(&mut v);
    std::fs::write(dir.join("load-summary.json"), v.to_string()).expect("write");
}

#[test]
fn merged_percentiles_are_those_of_the_union_of_samples() {
    let delay = Arc::new(AtomicU64::new(0));
    let addr = serve_delayed(delay.clone());
    let target = format!("http://{addr}");
    let root = tempfile::tempdir().expect("tempdir");
    let dirs: Vec<PathBuf> = (0..DELAYS_MS.len())
        .map(|i| root.path().join(format!("shard-{i}")))
        .collect();

    // One after the other, each with its own delay: the windows do not overlap, which the merge
    // must say (and still merge exactly).
    for (i, ms) in DELAYS_MS.iter().enumerate() {
        delay.store(*ms, Ordering::Relaxed);
        shard_run(&target, i, &dirs[i]);
        let s = summary(&dirs[i]);
        assert_valid_summary(&s);
        assert_eq!(s["shard"]["index"], i);
        assert_eq!(s["shard"]["count"], DELAYS_MS.len());
        assert_eq!(s["users"], 2, "6 users over 3 shards");
        assert_eq!(s["throttle"], 80, "240 requests/s over 3 shards");
        assert_eq!(s["shard"]["user_offset"], 2 * i);
        assert_eq!(s["shard"]["threshold_rules"][0], "p99<10s");
        assert_eq!(s["shard"]["judged"], false);
        assert!(
            s["thresholds"].as_array().expect("array").is_empty(),
            "a shard does not judge alone: {s:#}"
        );
        // The delay took effect: every response of this shard took at least its delay.
        let p50 = s["p50_ms"].as_f64().expect("p50");
        assert!(
            p50 >= *ms as f64,
            "shard {i}: p50 {p50} below its delay {ms}ms"
        );
    }

    let out = root.path().join("merged");
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let r = merge(&refs, &[], &out);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stderr.contains("overlap for only"),
        "sequential shards: {r}"
    );
    let m = summary(&out);
    assert_valid_summary(&m);

    let (mut samples, min, max) = union_of_samples(&refs, REQUEST);
    let shard_requests: u64 = refs
        .iter()
        .map(|d| summary(d)["requests"].as_u64().expect("requests"))
        .sum();
    assert_eq!(m["requests"].as_u64(), Some(shard_requests));
    assert_eq!(
        samples.len() as u64,
        shard_requests,
        "every request has a time"
    );
    for (field, p) in [("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99)] {
        let want = percentile_of(&mut samples, min, max, p) as f64 / 1000.0;
        assert_eq!(m[field].as_f64(), Some(want), "{field}: {m:#}");
        assert_eq!(m["steps"][0][field].as_f64(), Some(want), "step {field}");
    }
    assert_eq!(m["max_ms"].as_f64(), Some(max as f64 / 1000.0));
    // The merged tail is the slow shard's, the merged median is none of the fast shard's.
    assert!(m["p99_ms"].as_f64().expect("p99") >= 40.0, "{m:#}");
    let fast_p50 = summary(refs[0])["p50_ms"].as_f64().expect("p50");
    assert!(m["p50_ms"].as_f64().expect("p50") > fast_p50, "{m:#}");
    assert_eq!(m["merge"]["shards"], 3);
    assert_eq!(m["thresholds"][0]["rule"], "p99<10s");
    assert_eq!(m["thresholds"][0]["passed"], true);
    assert_eq!(m["verdict"], "passed");
    assert!(r.stdout.contains("load PASSED"), "{r}");
    assert_merged_html(&out, &m, "Passed");

    // The thresholds are judged on the merged figures: p95 below the slow shard's delay fails.
    let failing = root.path().join("failing");
    let r = merge(
        &refs,
        &["--threshold", "p95<10ms", "--threshold", "error-rate<1%"],
        &failing,
    );
    assert_eq!(r.code, 1, "{r}");
    let f = summary(&failing);
    assert_eq!(f["verdict"], "failed");
    assert_eq!(f["thresholds"][0]["passed"], false);
    assert_eq!(f["thresholds"][1]["passed"], true);
    assert!(
        f["failed_because"][0]
            .as_str()
            .expect("reason")
            .contains("p95<10ms"),
        "{f:#}"
    );
    assert_merged_html(&failing, &f, "Failed");

    // Refusals, each exit 2 with the reason named.
    let bad = root.path().join("bad");
    let missing = merge(&refs[..2], &[], &bad);
    assert_eq!(missing.code, 2, "{missing}");
    assert!(
        missing.stderr.contains("shard 2 of 3 is missing"),
        "{missing}"
    );
    let dup = merge(&[refs[0], refs[1], refs[2], refs[1]], &[], &bad);
    assert_eq!(dup.code, 2, "{dup}");
    assert!(dup.stderr.contains("shard 1 of 3 is given twice"), "{dup}");
    for (what, field, value) in [
        ("target", "target", "http://127.0.0.1:1"),
        ("tool version", "tool", "recovery-harness 0.0.1"),
        ("scenario", "scenario", "full-recovery"),
    ] {
        let other = root.path().join(format!("other-{field}"));
        copy_dir(refs[2], &other);
        edit_summary(&other, |v| v[field] = value.into());
        let r = merge(&[refs[0], refs[1], &other], &[], &bad);
        assert_eq!(r.code, 2, "{what}: {r}");
        assert!(r.stderr.contains(&format!("{what} `")), "{what}: {r}");
    }
    let digest = root.path().join("other-digest");
    copy_dir(refs[2], &digest);
    edit_summary(&digest, |v| {
        v["shard"]["scenario_digest"] = "sha256:00".into()
    });
    let r = merge(&[refs[0], refs[1], &digest], &[], &bad);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("scenario digest"), "{r}");
    let into_shard = merge(&refs, &[], refs[0]);
    assert_eq!(into_shard.code, 2, "{into_shard}");
    assert!(
        into_shard
            .stderr
            .contains("is one of the shards' directories"),
        "{into_shard}"
    );
    assert!(
        refs[0].join("report.json").exists(),
        "the shard's report is kept"
    );
    let not_a_shard = merge(&[root.path()], &[], &bad);
    assert_eq!(
        not_a_shard.code, 2,
        "a directory of shards and copies: {not_a_shard}"
    );
    assert!(
        !bad.join("load-summary.json").exists() && !bad.join("report.html").exists(),
        "exit 2 writes no summary and no report.html"
    );
}

/// The merged `report.html` next to the merged `load-summary.json`: the same verdict, every
/// threshold with its outcome, the reasons, each step's merged percentiles, the shards named;
/// written whole (no temporary file left beside it).
fn assert_merged_html(dir: &Path, m: &serde_json::Value, headline: &str) {
    let html =
        std::fs::read_to_string(dir.join("report.html")).expect("the merge writes report.html");
    assert!(html.trim_end().ends_with("</html>"), "whole page");
    assert!(
        html.contains(&format!("<h1>{headline}</h1>")),
        "verdict {headline}"
    );
    assert!(
        html.contains(&format!(
            "class=\"verdict {}\"",
            m["verdict"].as_str().expect("verdict")
        )),
        "verdict class"
    );
    for t in m["thresholds"].as_array().expect("thresholds") {
        let rule = t["rule"].as_str().expect("rule").replace('<', "&lt;");
        assert!(html.contains(&rule), "threshold {rule} shown");
    }
    for reason in m["failed_because"].as_array().expect("reasons") {
        let text = reason.as_str().expect("reason").replace('<', "&lt;");
        assert!(html.contains(&text), "reason {text} shown");
    }
    let step = &m["steps"][0];
    assert!(
        html.contains(&format!("<td>{REQUEST}</td>")),
        "the step row"
    );
    for field in ["p50_ms", "p95_ms", "p99_ms"] {
        let v = step[field].as_f64().expect("percentile");
        let shown = if v < 1.0 {
            format!("{v:.2} ms")
        } else if v < 100.0 {
            format!("{v:.1} ms")
        } else {
            format!("{v:.0} ms")
        };
        assert!(html.contains(&shown), "step {field} {shown} shown");
    }
    assert!(
        html.contains("Merged from 3 shards"),
        "the shards are named"
    );
    assert!(
        m["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.ends_with("report.html"))),
        "the summary lists report.html: {m:#}"
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
