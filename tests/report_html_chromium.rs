//! Both `report.html` files in a real browser: headless Chromium renders each page once
//! (`--dump-dom`), and the test reads what it rendered and what it tried to fetch.
//!
//! How "no request leaves the file" is proven: every run records Chromium's network log
//! (`--log-net-log`), which lists each URL request the network stack starts together with the
//! network isolation key of the frame it was made for. A request made for the page carries the
//! page's site (`file://`); Chromium's own background requests (component updates, account
//! lookups) carry none, so they are told apart without a list of hosts. The report pages must
//! start no such request. A control page with an external stylesheet and image, rendered the same
//! way, must show both in the log: that proves the log would have caught a fetch. Meanwhile
//! nothing can actually leave the machine: all traffic goes to a proxy on a closed loopback port
//! and every host name resolves to nothing.
//!
//! Chromium is `RECOVERY_HARNESS_CHROMIUM`, else `chromium` (or `chromium-browser`,
//! `google-chrome`) on `PATH`. Missing, the test is reported as ignored with the reason; with
//! `RECOVERY_HARNESS_REQUIRE_TOOLS=1` (CI) it fails instead (`support::runner`).

mod html_fixture;
mod report_fixture;
mod support;

use html_fixture::{sample_load_report, KNOWN_SCHEMA_FAILURE};
use recovery_harness::report::{html_check, html_load};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![test(
        "both_reports_render_offline_in_chromium_and_fetch_nothing",
        &[Needs::Chromium],
        both_reports_render_offline_in_chromium_and_fetch_nothing,
    )])
}

/// A rendering that has not finished by then is a failure, not a hang.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// Kills the browser if the test ends before it does.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// What one headless run gave: the serialised DOM and the URLs requested on the page's behalf.
struct Rendered {
    dom: String,
    page_requests: Vec<String>,
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn render(chromium: &Path, page: &Path, work: &Path) -> Rendered {
    let netlog = work.join("netlog.json");
    let profile = work.join("profile");
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--proxy-server=http://127.0.0.1:{}", closed_port()))
    .arg("--proxy-bypass-list=<-loopback>")
    .arg("--host-resolver-rules=MAP * ~NOTFOUND")
    .arg(format!("--log-net-log={}", netlog.display()))
    .arg("--dump-dom")
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().expect("start chromium");
    let mut browser = Browser(child);
    let stdout = browser.0.stdout.take().expect("piped stdout");
    let stderr = browser.0.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = browser.0.try_wait().expect("wait for chromium") {
            break status;
        }
        assert!(
            started.elapsed() < BROWSER_TIMEOUT,
            "chromium did not finish rendering {} within {BROWSER_TIMEOUT:?}",
            page.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium failed on {} ({status}):\n{stderr}",
        page.display()
    );
    Rendered {
        dom,
        page_requests: page_requests(&netlog),
    }
}

/// The URLs of the network log's requests made for a frame whose site is `file://`.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog)
        .unwrap_or_else(|e| panic!("no network log at {} ({e})", netlog.display()));
    let log: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("unreadable network log {} ({e})", netlog.display()));
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the network log names URL_REQUEST_START_JOB");
    log["events"]
        .as_array()
        .expect("the network log has events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| {
            let key = e["params"]["network_isolation_key"].as_str().unwrap_or("");
            let initiator = e["params"]["initiator"].as_str().unwrap_or("");
            key.contains("file://") || initiator.starts_with("file://")
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect()
}

fn page(dir: &Path, name: &str, html: &str) -> PathBuf {
    let work = dir.join(name);
    std::fs::create_dir_all(&work).expect("work dir");
    let path = work.join("report.html");
    std::fs::write(&path, html).expect("write page");
    path
}

/// The merged `load-summary.json` of two shards (as `load merge` writes it), one threshold
/// breached.
fn merged_summary() -> recovery_harness::report::load_summary::LoadSummary {
    serde_json::from_str(
        r#"{
        "tool": "recovery-harness 0.2.0", "target": "https://id.example.com/auth",
        "target_kind": "external", "scenario": "create-native-flow", "scenario_origin": "embedded",
        "started_at": "2026-12-01T10:00:00Z", "finished_at": "2026-12-01T10:01:00Z",
        "duration_s": 60, "measured_s": 60, "users": 64, "hatch_rate": 64.0, "throttle": null,
        "validate": "all", "requests": 120000, "rps": 2000.0, "p50_ms": 3.2, "p95_ms": 61.5,
        "p99_ms": 140.0, "avg_ms": 8.1, "max_ms": 900.0, "errors": 0, "schema_failures": 0,
        "status_mismatches": 0, "body_violations": 0, "transport_errors": 0,
        "validated_bodies": 120000, "skipped_steps": 0,
        "steps": [{"request": "GET create flow", "requests": 120000, "errors": 0, "rps": 2000.0,
                   "p50_ms": 3.2, "p95_ms": 61.5, "p99_ms": 140.0}],
        "failure_reasons": [], "top_reasons": [],
        "thresholds": [{"rule": "p95<50ms", "source": "shards", "observed": "61.5ms",
                        "value": 61.5, "passed": false, "aborted": false}],
        "baseline": null, "verdict": "failed",
        "failed_because": ["threshold p95<50ms failed: observed 61.5ms"],
        "reports": [],
        "merge": {"shards": 2, "dirs": ["reports/run/shard-0", "reports/run/shard-1"],
                  "window_start": "2026-12-01T10:00:00.000Z",
                  "window_end": "2026-12-01T10:01:00.000Z", "window_overlap": 0.98,
                  "warnings": []}
    }"#,
    )
    .expect("a merged load-summary.json")
}

/// One test, four browser runs in parallel (the check report, the load report, a merged load
/// report, the control page): each page is rendered once.
fn both_reports_render_offline_in_chromium_and_fetch_nothing() {
    let chromium = support::runner::program(Needs::Chromium);
    let tmp = tempfile::tempdir().expect("temp dir");
    let check_page = page(
        tmp.path(),
        "check",
        &html_check::render(&report_fixture::sample_report()),
    );
    let load_page = page(
        tmp.path(),
        "load",
        &html_load::render(&sample_load_report()),
    );
    let merged_page = page(
        tmp.path(),
        "merged",
        &html_load::render(&recovery_harness::load::merge::merged_report(
            &merged_summary(),
        )),
    );
    let control_page = page(
        tmp.path(),
        "control",
        "<!DOCTYPE html><html><head><title>control</title>\
         <link rel=\"stylesheet\" href=\"https://control.invalid/style.css\"></head>\
         <body><img src=\"http://control.invalid/pixel.png\" alt=\"\"></body></html>",
    );
    let [check, load, merged, control] = std::thread::scope(|s| {
        let run = |p: &Path| {
            let work = p.parent().expect("page dir").to_path_buf();
            let chromium = chromium.clone();
            let p = p.to_path_buf();
            s.spawn(move || render(&chromium, &p, &work))
        };
        let handles = [
            run(&check_page),
            run(&load_page),
            run(&merged_page),
            run(&control_page),
        ];
        handles.map(|h| h.join().expect("browser run"))
    });

    // The detector sees a page's fetches...
    let mut seen = control.page_requests.clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            "http://control.invalid/pixel.png",
            "https://control.invalid/style.css"
        ],
        "the network log must show the control page's requests"
    );
    // ...and the reports make none.
    assert_eq!(
        check.page_requests,
        Vec::<String>::new(),
        "check report.html fetched"
    );
    assert_eq!(
        load.page_requests,
        Vec::<String>::new(),
        "load report.html fetched"
    );
    assert_eq!(
        merged.page_requests,
        Vec::<String>::new(),
        "merged load report.html fetched"
    );

    // The merged report: the merged verdict, its breached threshold, the step, the shards.
    let dom = &merged.dom;
    assert!(dom.contains("<h1>Failed</h1>"), "{dom}");
    assert!(
        dom.contains("threshold p95&lt;50ms failed: observed 61.5ms"),
        "{dom}"
    );
    assert!(
        dom.contains("<span class=\"badge failed\">breached</span>"),
        "{dom}"
    );
    assert!(dom.contains("<td>GET create flow</td>"), "{dom}");
    assert!(dom.contains("61.5 ms"), "{dom}");
    assert!(
        dom.contains("Merged from 2 shards: reports/run/shard-0, reports/run/shard-1."),
        "{dom}"
    );
    assert_eq!(
        dom.matches("<svg ").count(),
        0,
        "no per-second series merged"
    );

    // The check report: the verdict and a known failure's evidence, as the browser built them.
    let dom = &check.dom;
    assert!(
        dom.contains(
            "<h1>Failed: 1 of 6 checks broke a required rule; 1 check could not get an answer</h1>"
        ),
        "{dom}"
    );
    assert!(
        dom.contains("<code>/ui/nodes/0/attributes/value</code>"),
        "{dom}"
    );
    assert!(dom.contains(
        "<pre class=\"curl\">curl -sS -H 'Accept: application/json' -H 'X-Session-Token: [REDACTED]' \
         'https://id.example.com/auth/self-service/recovery/api?return_to=a&amp;b=&lt;c&gt;'</pre>"
    ), "{dom}");
    assert!(dom.contains("A signed-in token gets 400 &lt;session_already_available&gt;"));
    assert!(!dom.contains("<script") && !dom.contains("<c>"), "{dom}");

    // The load report: verdict, the breached threshold, the known schema failure, the charts.
    let dom = &load.dom;
    assert!(dom.contains("<h1>Failed</h1>"), "{dom}");
    assert!(
        dom.contains("<span class=\"badge failed\">breached</span>"),
        "{dom}"
    );
    assert!(dom.contains(KNOWN_SCHEMA_FAILURE), "{dom}");
    assert_eq!(dom.matches("<svg ").count(), 2, "one chart per step");
    assert!(
        dom.matches("<polyline").count() >= 6,
        "three lines per chart"
    );
    assert!(dom.contains("<code>https://id.example.com/auth</code>"));
}
