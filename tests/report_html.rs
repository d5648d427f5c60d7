//! The two `report.html` files without a browser: the check report against its golden file and
//! its structure (verdict first, every check, the failures' evidence escaped), the load report
//! rendered from constructed runs (verdict and thresholds first, inline SVG charts, validation by
//! reason, the target's label), and both pages free of anything that would fetch.
//! The rendered pages are checked in a real browser by `report_html_chromium`.

mod html_fixture;
mod report_fixture;

use html_fixture::{
    fetching_references, passed_embedded_load_report, sample_load_report, KNOWN_SCHEMA_FAILURE,
};
use recovery_harness::report::{html_check, html_load, write_check_reports, write_load_html};
use report_fixture::{assert_golden, sample_report};

fn position(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in the page"))
}

#[test]
fn check_report_html_matches_golden() {
    assert_golden("report.html", &html_check::render(&sample_report()));
}

#[test]
fn check_report_puts_the_verdict_first_and_shows_every_check() {
    let report = sample_report();
    let html = html_check::render(&report);
    let verdict = position(&html, "<header class=\"verdict failed\" id=\"verdict\">");
    assert!(verdict < position(&html, "<section class=\"operation\""));
    assert!(html
        .contains("Failed: 1 of 6 checks broke a required rule; 1 check could not get an answer"));
    for count in [
        "<li class=\"failed\"><b>1</b> failed</li>",
        "<li class=\"warning\"><b>1</b> warning</li>",
        "<li class=\"error\"><b>1</b> error</li>",
        "<li class=\"passed\"><b>2</b> passed</li>",
        "<li class=\"skipped\"><b>1</b> skipped</li>",
    ] {
        assert!(html.contains(count), "{count}");
    }
    // Each check's level, in its row.
    assert!(html.contains("<td class=\"level recommended\">recommended</td><td class=\"id\"><a href=\"#c-create_native.cache_control\">"));
    assert_eq!(
        html.matches("<td class=\"level ").count(),
        report.checks.len()
    );
    for c in &report.checks {
        assert!(
            html.contains(&format!("<code>{}</code>", c.id)),
            "{} missing",
            c.id
        );
    }
    // One table per operation, in catalogue order.
    let create = position(&html, "id=\"op-createNativeRecoveryFlow\"");
    let get = position(&html, "id=\"op-getRecoveryFlow\"");
    assert!(create < get);
    // The run's facts.
    assert!(html.contains("<code>https://id.example.com/auth</code>"));
    assert!(html.contains("recovery-harness 0.1.0"));
    assert!(html.contains("fuzzing seed 42"));
    assert!(html.contains("TLS certificate verification was disabled"));
    // Failures before the tables (where a reader looks first), skips with their reason last.
    let failures = position(&html, "<section id=\"failures\">");
    let warnings = position(&html, "<section id=\"warnings\">");
    assert!(verdict < failures && failures < warnings && warnings < create);
    assert!(get < position(&html, "<section id=\"skipped\">"));
    // The error is listed with the failures (it fails the run), the warning with its reason.
    assert!(
        position(
            &html,
            "<article class=\"failure error\" id=\"c-get.unknown_id.404\">"
        ) < warnings
    );
    assert!(html.contains("expected Cache-Control with no-store, got `public, max-age=300`"));
    assert!(html.contains("they do not fail the run unless <code>--strict</code>"));
    assert!(html.contains("no --session-cookie NAME=VALUE given"));
}

#[test]
fn check_report_escapes_the_evidence_and_keeps_secrets_redacted() {
    let html = html_check::render(&sample_report());
    // The request, its status, the pointer and value, and the curl line, all escaped.
    assert!(html.contains(
        "<code>GET https://id.example.com/auth/self-service/recovery/api?return_to=a&amp;b=&lt;c&gt;</code> → <b class=\"status\">200</b>"
    ));
    assert!(html.contains("<code>/ui/nodes/0/attributes/value</code> = <code class=\"value\">&quot;héllo | `tick` \\u{1b}[31mred\\u{7}&quot;</code>"));
    // maud leaves `'` as it is (attributes are always double-quoted), so the curl line reads in
    // the page source as it is typed.
    assert!(html.contains("<pre class=\"curl\">curl -sS -H 'Accept: application/json' -H 'X-Session-Token: [REDACTED]'"));
    assert!(html.contains("A signed-in token gets 400 &lt;session_already_available&gt;"));
    assert!(!html.contains("<c>") && !html.contains("<session_already_available>"));
    assert!(!html.contains('\u{1b}') && !html.contains('\u{7}'));
    assert!(html.contains("timed out after 10s"));
}

#[test]
fn check_report_is_written_atomically_with_the_other_formats() {
    let dir = tempfile::tempdir().expect("temp dir");
    let written = write_check_reports(&sample_report(), dir.path()).expect("writable");
    let html_path = dir.path().join("report.html");
    assert!(written.contains(&html_path), "{written:?}");
    let on_disk = std::fs::read_to_string(&html_path).expect("report.html written");
    assert_eq!(on_disk, html_check::render(&sample_report()));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn load_report_puts_verdict_and_thresholds_first() {
    let html = html_load::render(&sample_load_report());
    let verdict = position(&html, "<header class=\"verdict failed\" id=\"verdict\">");
    let thresholds = position(&html, "<section id=\"thresholds\">");
    let validation = position(&html, "<section id=\"validation\">");
    let charts = position(&html, "<section id=\"latency\">");
    assert!(verdict < thresholds && thresholds < validation && validation < charts);
    assert!(html.contains("<h1>Failed</h1>"));
    assert!(html.contains("threshold p95&lt;1ms failed: observed p95 = 1.9 ms"));
    assert!(html.contains(
        "<tr class=\"failed\"><td><span class=\"badge failed\">breached</span></td><td><code>p95&lt;1ms</code></td>"
    ));
    assert!(html.contains(
        "<span class=\"badge passed\">held</span></td><td><code>error-rate&lt;1%</code>"
    ));
}

#[test]
fn load_report_shows_validation_by_reason_and_labels_the_target() {
    let html = html_load::render(&sample_load_report());
    assert!(html.contains(&format!("<td class=\"num\">32</td><td>GET create flow</td><td><code>{KNOWN_SCHEMA_FAILURE}</code></td>")));
    assert!(html.contains("status 500, expected 200 &lt;html&gt;&quot;&amp;'\\u{1b}[31m"));
    assert!(html.contains("<dt>Target</dt><dd><code>https://id.example.com/auth</code></dd>"));
    assert!(
        !html.contains("embedded reference server"),
        "an outside target is not embedded"
    );
    assert!(!html.contains("<by id>"), "step names are escaped");

    let passed = html_load::render(&passed_embedded_load_report());
    assert!(passed.contains("<h1>Passed</h1>"));
    assert!(passed.contains("http://127.0.0.1:40123 (embedded reference server)"));
    assert!(passed.contains("No threshold rule was set for this run."));
    assert!(passed.contains("No response broke the spec."));
    assert!(passed.contains("No per-second response times were recorded."));
}

#[test]
fn load_report_draws_one_inline_svg_chart_per_step() {
    let report = sample_load_report();
    let html = html_load::render(&report);
    assert_eq!(html.matches("<svg ").count(), report.series.len());
    assert_eq!(html.matches("</svg>").count(), report.series.len());
    for legend in [">\np50\n</text>", ">\np95\n</text>", ">\np99\n</text>"] {
        assert_eq!(
            html.matches(legend).count(),
            report.series.len(),
            "{legend}"
        );
    }
    // Three lines of 30 points each per chart.
    assert!(html.matches("<polyline").count() >= 3 * report.series.len());
    assert!(html.contains("<figcaption>GET fetch flow &lt;by id&gt;</figcaption>"));
    assert!(html.contains("seconds since start"));
}

#[test]
fn an_interrupted_run_says_so() {
    let mut r = sample_load_report();
    r.verdict = recovery_harness::report::load_report::LoadVerdict::Interrupted;
    r.reasons = vec!["interrupted by SIGINT after 12 s of 30 s".into()];
    let html = html_load::render(&r);
    assert!(html.contains("<header class=\"verdict interrupted\" id=\"verdict\">"));
    assert!(html.contains("<h1>Interrupted</h1>"));
    assert!(!html.contains("<h1>Passed</h1>"));
}

#[test]
fn load_report_is_written_atomically() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("reports/load");
    let path = write_load_html(&sample_load_report(), &nested).expect("writable");
    assert_eq!(path, nested.join("report.html"));
    assert_eq!(
        std::fs::read_to_string(&path).expect("written"),
        html_load::render(&sample_load_report())
    );
}

#[test]
fn neither_page_references_anything_outside_itself() {
    for (name, html) in [
        ("check", html_check::render(&sample_report())),
        ("load", html_load::render(&sample_load_report())),
        (
            "load passed",
            html_load::render(&passed_embedded_load_report()),
        ),
    ] {
        assert_eq!(fetching_references(&html), Vec::<String>::new(), "{name}");
        assert!(
            html.contains(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
            ),
            "{name}"
        );
        assert!(
            html.starts_with("<!DOCTYPE html>\n") && html.ends_with("</html>\n"),
            "{name}"
        );
        assert!(html.contains("@media print"), "{name}");
    }
}

/// maud escapes every value spliced into a template; `PreEscaped` opts out. It may appear only
/// where this crate writes the text itself: the style sheets (`html.rs`) and the charts
/// `plotters` draws from numbers (`chart.rs`). Anything else would be a value of the run spliced
/// unescaped.
#[test]
fn only_the_style_sheets_and_charts_skip_the_escaping() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/report") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            !text.contains("fn esc("),
            "{name}: HTML goes through the maud templates, not a hand-written escaper"
        );
        if text.contains("PreEscaped") && !matches!(name.as_str(), "html.rs" | "chart.rs") {
            found.push(name);
        }
    }
    assert!(
        found.is_empty(),
        "PreEscaped outside html.rs and chart.rs: {found:?}"
    );
}

#[test]
fn the_reference_scan_finds_what_would_fetch() {
    let bad = r##"<p><img src="x.png"> <a href="https://e.example/">x</a> <a href="#ok">ok</a>
        <link rel=stylesheet href=//cdn.example/x.css><style>b{background:url(x.png)}</style>"##;
    let found = fetching_references(bad);
    assert_eq!(found.len(), 5, "{found:#?}");
}
