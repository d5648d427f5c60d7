//! `report.html` of `check`: the conformance run as one self-contained page for people (see
//! [`super::html`] for what "self-contained" guarantees).
//!
//! Layout, most important first: the verdict and the counts; the run (target, start, duration,
//! tool version, notes with the fuzz seed, the `--insecure` warning); every failure with its
//! detail, the rule, and each exchange's evidence (request, status, headers, `pointer = value`,
//! body excerpt, transport error, a `curl` line), before the long tables, where a reader looks
//! first; a table per operation with each check's status, id, title, rule source and time; the
//! skipped checks with their reasons.
//!
//! A maud template, one function per part of the page: everything that comes from the run is
//! spliced as a value and so HTML-escaped by maud (evidence quotes the target's bodies and
//! headers verbatim, and a hostile target must not be able to inject markup). Secrets are already
//! `[REDACTED]` in the model. The `"\n"` between blocks only keep the page source readable line by
//! line (and its golden file reviewable).

use super::html::{anchor, page};
use super::model::{CheckResult, Evidence, RunReport, Status, Summary};
use super::text::{count, human_ms, show_pointer};
use maud::{html, Markup};
use std::io::Write;

/// Renders `report` as the `report.html` document.
pub fn render(report: &RunReport) -> String {
    let s = report.summary();
    let verdict = verdict_word(report, &s);
    let groups = report.by_operation();
    let body = html! {
        (verdict_header(report, &s, verdict))
        (run(report))
        // Failures and errors fail the run; warnings are broken recommended rules. Both keep their
        // whole evidence, before the long tables.
        (listed(report, "failures", "Failures", &[Status::Failed, Status::Error]))
        (listed(report, "warnings", "Warnings", &[Status::Warning]))
        @if groups.len() > 1 {
            nav.toc {
                b { "Operations:" }
                @for (op, checks) in &groups {
                    " " a href={ "#" (anchor("op-", op)) } { (op) }
                    " " span.muted { "(" (counts_text(&Summary::of(checks.iter().copied()))) ")" }
                }
            }
            "\n"
        }
        @for (op, checks) in &groups {
            (operation(op, checks))
        }
        (skipped(report))
        footer {
            "recovery-harness " (report.tool_version) " · run started "
            (report.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            " · the same run is in conformance.json, junit.xml and summary.md next to this file."
        }
        "\n"
    };
    page(
        &format!("Recovery conformance {verdict}: {}", counts_text(&s)),
        CHECK_CSS,
        body,
    )
}

/// Writes the `report.html` document of `report` to `out`.
pub fn write(report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(render(report).as_bytes())
}

/// The verdict's word, from the run's own outcome (never recomputed here): also the class that
/// colours the header. `warning`: passed, with recommended rules broken.
fn verdict_word(report: &RunReport, s: &Summary) -> &'static str {
    if report.outcome() != crate::exit::Outcome::Passed {
        "failed"
    } else if s.warnings > 0 {
        "warning"
    } else {
        "passed"
    }
}

fn verdict_headline(report: &RunReport, s: &Summary) -> String {
    if report.outcome() != crate::exit::Outcome::Passed {
        let mut why = Vec::new();
        if s.failed > 0 {
            why.push(format!(
                "{} of {} checks broke a required rule",
                s.failed,
                s.total()
            ));
        }
        if s.errors > 0 {
            why.push(format!(
                "{} could not get an answer",
                count(s.errors, "check")
            ));
        }
        if report.strict && s.warnings > 0 {
            why.push(format!("{} under --strict", count(s.warnings, "warning")));
        }
        format!("Failed: {}", why.join("; "))
    } else if s.total() == 0 {
        "Passed: no check was selected".to_owned()
    } else if s.warnings > 0 {
        format!(
            "Passed with warnings: {} broke a recommended rule",
            count(s.warnings, "check")
        )
    } else {
        format!("Passed: every check that ran held ({} ran)", s.passed)
    }
}

fn counts_text(s: &Summary) -> String {
    let mut text = format!(
        "{} failed, {}, {} passed, {} skipped",
        s.failed,
        count(s.warnings, "warning"),
        s.passed,
        s.skipped
    );
    if s.errors > 0 {
        text.push_str(&format!(", {}", count(s.errors, "error")));
    }
    text
}

/// The verdict, its reasons and the counts.
fn verdict_header(report: &RunReport, s: &Summary, verdict: &str) -> Markup {
    let counts = [
        (s.failed, "failed", "failed"),
        (s.warnings, "warning", "warnings"),
        (s.errors, "error", "errors"),
        (s.passed, "passed", "passed"),
        (s.skipped, "skipped", "skipped"),
    ];
    html! {
        header.verdict.(verdict) #verdict {
            "\n"
            p.kicker { "Recovery conformance" } "\n"
            h1 { (verdict_headline(report, s)) } "\n"
            ul.counts {
                @for (n, class, word) in counts {
                    // An error count of 0 is noise: errors are rare and said when they happen.
                    @if n > 0 || class != "error" {
                        li.(class) {
                            b { (n) } " "
                            (if n == 1 { word.trim_end_matches('s') } else { word })
                        }
                    }
                }
                li { b { (s.total()) } " checks" }
            }
            "\n"
        }
        "\n"
    }
}

/// The run's facts, the `--strict` and `--insecure` notices, the notes.
fn run(report: &RunReport) -> Markup {
    html! {
        dl.run {
            "\n"
            dt { "Target" }
            dd {
                code { (report.target) }
                @if report.embedded_target { " " span.muted { "(embedded reference server)" } }
            }
            "\n"
            dt { "Started" }
            dd { (report.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)) } "\n"
            dt { "Duration" } dd { (human_ms(report.duration)) } "\n"
            dt { "Tool" } dd { "recovery-harness " (report.tool_version) } "\n"
        }
        "\n"
        @if report.strict {
            p.alert { code { "--strict" } ": a broken recommended rule fails the run." } "\n"
        }
        @if report.insecure {
            p.alert.fail {
                b { "TLS certificate verification was disabled" }
                " (" code { "--insecure" } "): this run does not prove the target's identity."
            }
            "\n"
        }
        @if !report.notes.is_empty() {
            ul.notes {
                "\n"
                @for note in &report.notes { li { (note) } "\n" }
            }
            "\n"
        }
    }
}

/// The checks of `statuses` with their whole evidence, under `heading`; nothing when there are
/// none.
fn listed(report: &RunReport, id: &str, heading: &str, statuses: &[Status]) -> Markup {
    let listed: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| statuses.contains(&c.status))
        .collect();
    html! {
        @if !listed.is_empty() {
            section #(id) {
                "\n"
                h2 { (heading) " (" (listed.len()) ")" } "\n"
                @if id == "warnings" {
                    p.muted {
                        "Recommended rules (Kratos practice, hardening) the target broke: "
                        @if report.strict {
                            "under " code { "--strict" } " they fail the run"
                        } @else {
                            "reported, they do not fail the run unless " code { "--strict" }
                        }
                        "."
                    }
                    "\n"
                }
                @for c in listed { (failure(c)) }
            }
            "\n"
        }
    }
}

/// The table of one operation's checks.
fn operation(op: &str, checks: &[&CheckResult]) -> Markup {
    let s = Summary::of(checks.iter().copied());
    html! {
        section.operation #(anchor("op-", op)) {
            "\n"
            h2 { (op) " " span.muted { "— " (counts_text(&s)) } } "\n"
            table.checks {
                "\n"
                thead {
                    tr {
                        th { "Status" } th { "Level" } th { "Check" } th { "Title" } th { "Source" }
                        th.num { "Time" }
                    }
                }
                "\n"
                tbody {
                    "\n"
                    @for c in checks { (check_row(c)) "\n" }
                }
                "\n"
            }
            "\n"
        }
        "\n"
    }
}

fn check_row(c: &CheckResult) -> Markup {
    let status = c.status.as_str();
    let level = c.level.as_str();
    html! {
        tr.(status) {
            td { span.badge.(status) { (status) } }
            td.level.(level) { (level) }
            td.id {
                @match c.status {
                    Status::Passed => code { (c.id) },
                    Status::Failed | Status::Warning | Status::Error | Status::Skipped => {
                        a href={ "#" (anchor("c-", &c.id)) } { code { (c.id) } }
                    }
                }
            }
            td.title { (c.title) }
            td.source { (c.source.as_str()) }
            td.num {
                @match c.status {
                    Status::Skipped => "—",
                    Status::Passed | Status::Failed | Status::Warning | Status::Error => {
                        (human_ms(c.duration))
                    }
                }
            }
        }
    }
}

/// The skipped checks with their reasons; nothing when none was skipped.
fn skipped(report: &RunReport) -> Markup {
    let skipped: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .collect();
    html! {
        @if !skipped.is_empty() {
            section #skipped {
                "\n"
                h2 { "Skipped (" (skipped.len()) ")" } "\n"
                table {
                    "\n"
                    thead { tr { th { "Check" } th { "Title" } th { "Reason" } } } "\n"
                    tbody {
                        "\n"
                        @for c in skipped {
                            tr #(anchor("c-", &c.id)) {
                                td { code { (c.id) } } td { (c.title) } td { (c.detail) }
                            }
                            "\n"
                        }
                    }
                    "\n"
                }
                "\n"
            }
            "\n"
        }
    }
}

/// One failed, erroneous or warned check: what was wrong, the rule, each exchange.
fn failure(c: &CheckResult) -> Markup {
    let status = c.status.as_str();
    html! {
        article.failure.(status) #(anchor("c-", &c.id)) {
            "\n"
            h3 { span.badge.(status) { (status) } " " code { (c.id) } " — " (c.title) } "\n"
            p.detail { (c.detail) } "\n"
            p.rule {
                span.muted {
                    "Rule (" (c.operation) ", " (c.level.as_str()) ", " (c.source.as_str()) "):"
                }
                " " (c.rule)
            }
            "\n"
            @for (i, ev) in c.evidence.iter().enumerate() {
                (evidence(ev, i + 1, c.evidence.len()))
            }
        }
        "\n"
    }
}

/// One exchange: request → status, headers, `pointer = value`, body excerpt, transport error and
/// a `curl` line, each when there is one.
fn evidence(ev: &Evidence, n: usize, of: usize) -> Markup {
    let outcome = match (ev.status, &ev.transport_error) {
        (Some(status), _) => status.to_string(),
        (None, Some(_)) => "no response".to_owned(),
        (None, None) => "no status".to_owned(),
    };
    let headers = [(">", &ev.request_headers), ("<", &ev.response_headers)];
    html! {
        div.evidence {
            "\n"
            p.request {
                @if of > 1 { span.muted { "exchange " (n) " of " (of) } " " }
                code { (ev.method) " " (ev.url) } " → " b.status { (outcome) }
            }
            "\n"
            @if !ev.request_headers.is_empty() || !ev.response_headers.is_empty() {
                table.headers {
                    tbody {
                        "\n"
                        @for (dir, list) in headers {
                            @for (name, value) in list {
                                tr {
                                    td.dir { (dir) }
                                    td { code { (name) } }
                                    td { code { (value) } }
                                }
                                "\n"
                            }
                        }
                    }
                }
                "\n"
            }
            @match (&ev.pointer, &ev.value) {
                (Some(pointer), value) => {
                    p.pointer {
                        span.muted { "at" } " " code { (show_pointer(pointer)) }
                        @if let Some(value) = value { " = " code.value { (value) } }
                    }
                    "\n"
                }
                (None, Some(value)) => {
                    p.pointer { span.muted { "value" } " " code.value { (value) } } "\n"
                }
                (None, None) => {}
            }
            @if let Some(body) = &ev.body_excerpt {
                p.label.muted { "Response body (start)" } "\n"
                pre.body { (body) } "\n"
            }
            @if let Some(err) = &ev.transport_error {
                p.transport { span.muted { "error:" } " " (err) } "\n"
            }
            @if let Some(curl) = &ev.curl {
                p.label.muted { "Reproduce" } "\n"
                pre.curl { (curl) } "\n"
            }
        }
        "\n"
    }
}

const CHECK_CSS: &str = r#"nav.toc { margin: 1rem 0; line-height: 1.9; }
table.checks td:first-child { width: 7em; }
table.checks td.source { color: var(--muted); font-size: .85em; white-space: nowrap; }
table.checks td { padding-top: .25em; padding-bottom: .25em; }
table.checks td.id { overflow-wrap: anywhere; }
table.checks td.title { color: var(--muted); font-size: .92em; }
tr.failed td, tr.error td { background: var(--fail-bg); }
tr.warning td { background: var(--warn-bg); }
table.checks td.level { font-size: .85em; color: var(--muted); }
table.checks td.level.required { color: var(--ink); }
article.failure.warning { border-left-color: var(--warn); }
article.failure.warning .evidence .status { color: var(--warn); }
article.failure { border: 1px solid var(--line); border-left: 4px solid var(--fail); border-radius: 4px;
  padding: .2rem 1rem .6rem; margin: 1rem 0; }
article.failure h3 { margin-top: .8em; overflow-wrap: anywhere; }
.evidence { border-top: 1px dashed var(--line); padding-top: .4rem; margin-top: .6rem; }
.evidence p { margin: .35em 0; overflow-wrap: anywhere; }
.evidence .status { color: var(--fail); }
table.headers { width: auto; margin: .2em 0; }
table.headers td { border: 0; padding: .05em .5em; overflow-wrap: anywhere; }
table.headers td.dir { color: var(--muted); }
.label { margin: .6em 0 0; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
@media print { tr.failed td, tr.error td, tr.warning td { background: none; } article.failure { border-left-width: 3px; } }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{Evidence, Level, RuleSource};
    use chrono::{DateTime, Utc};
    use std::time::Duration;

    fn report(checks: Vec<CheckResult>) -> RunReport {
        RunReport {
            tool_version: "9.9.9".into(),
            target: "http://127.0.0.1:1/".into(),
            embedded_target: true,
            insecure: false,
            strict: false,
            started_at: DateTime::<Utc>::UNIX_EPOCH,
            duration: Duration::from_millis(5),
            notes: Vec::new(),
            checks,
        }
    }

    fn check(status: Status, body: &str) -> CheckResult {
        CheckResult {
            id: "x.1".into(),
            title: "t".into(),
            operation: "op".into(),
            rule: "r".into(),
            source: RuleSource::OpenApi,
            level: Level::Required,
            effects: Vec::new(),
            status,
            detail: "d".into(),
            evidence: vec![Evidence {
                method: "GET".into(),
                url: "http://127.0.0.1:1/x".into(),
                status: Some(500),
                body_excerpt: Some(body.into()),
                ..Evidence::default()
            }],
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn an_attacker_body_cannot_inject_markup() {
        let html = render(&report(vec![check(
            Status::Failed,
            "</pre><script src=\"https://evil.example/x.js\"></script><img src=x onerror=alert(1)>",
        )]));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;/pre&gt;&lt;script src=&quot;https://evil.example/x.js&quot;"));
    }

    #[test]
    fn verdict_follows_the_failures() {
        let failed = render(&report(vec![check(Status::Failed, "")]));
        assert!(failed.contains("<header class=\"verdict failed\""));
        assert!(failed.contains("Failed: 1 of 1 checks broke a required rule"));
        let passed = render(&report(vec![check(Status::Passed, "")]));
        assert!(passed.contains("<header class=\"verdict passed\""));
        // A passed check's evidence is in conformance.json, not in the failures section.
        assert!(!passed.contains("id=\"failures\""));
        let mut warned = check(Status::Warning, "");
        warned.level = Level::Recommended;
        let mut r = report(vec![warned]);
        let html = render(&r);
        assert!(html.contains("<header class=\"verdict warning\""));
        assert!(html.contains("Passed with warnings: 1 check broke a recommended rule"));
        assert!(html.contains("<section id=\"warnings\">"));
        assert!(html.contains("<td class=\"level recommended\">recommended</td>"));
        r.strict = true;
        let html = render(&r);
        assert!(html.contains("<header class=\"verdict failed\""));
        assert!(html.contains("Failed: 1 warning under --strict"));
        let errored = render(&report(vec![check(Status::Error, "")]));
        assert!(errored.contains("Failed: 1 check could not get an answer"));
        assert!(errored.contains("<span class=\"badge error\">error</span>"));
        let none = render(&report(Vec::new()));
        assert!(none.contains("Passed: no check was selected"));
    }
}
