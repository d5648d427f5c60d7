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
//! Everything that comes from the run is HTML-escaped ([`super::html::esc`]): evidence quotes the
//! target's bodies and headers verbatim, and a hostile target must not be able to inject markup.
//! Secrets are already `[REDACTED]` in the model.

use super::html::{anchor, close_page, esc, open_page};
use super::model::{CheckResult, Evidence, RunReport, Status, Summary};
use super::{count, human_ms, show_pointer};
use std::fmt::Write as _;
use std::io::Write;

/// Renders `report` as the `report.html` document.
pub fn render(report: &RunReport) -> String {
    let s = report.summary();
    let verdict = verdict_word(report, &s);
    let mut h = String::with_capacity(16 * 1024 + report.checks.len() * 512);
    open_page(
        &mut h,
        &format!("Recovery conformance {verdict}: {}", counts_text(&s)),
        CHECK_CSS,
    );

    let _ = write!(
        h,
        "<header class=\"verdict {verdict}\" id=\"verdict\">\n\
         <p class=\"kicker\">Recovery conformance</p>\n<h1>{}</h1>\n<ul class=\"counts\">",
        verdict_headline(report, &s)
    );
    for (n, class, word) in [
        (s.failed, "failed", "failed"),
        (s.warnings, "warning", "warnings"),
        (s.errors, "error", "errors"),
        (s.passed, "passed", "passed"),
        (s.skipped, "skipped", "skipped"),
    ] {
        // An error count of 0 is noise: errors are rare and said when they happen.
        if n > 0 || class != "error" {
            let word = if n == 1 {
                word.trim_end_matches('s')
            } else {
                word
            };
            let _ = write!(h, "<li class=\"{class}\"><b>{n}</b> {word}</li>");
        }
    }
    let _ = writeln!(h, "<li><b>{}</b> checks</li></ul>\n</header>", s.total());

    write_run(&mut h, report);

    // Failures and errors fail the run; warnings are broken recommended rules. Both keep their
    // whole evidence, before the long tables.
    for (id, heading, statuses) in [
        ("failures", "Failures", &[Status::Failed, Status::Error][..]),
        ("warnings", "Warnings", &[Status::Warning][..]),
    ] {
        let listed: Vec<&CheckResult> = report
            .checks
            .iter()
            .filter(|c| statuses.contains(&c.status))
            .collect();
        if listed.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<section id=\"{id}\">\n<h2>{heading} ({})</h2>",
            listed.len()
        );
        if id == "warnings" {
            let _ = writeln!(
                h,
                "<p class=\"muted\">Recommended rules (Kratos practice, hardening) the target broke: \
                 {}.</p>",
                if report.strict {
                    "under <code>--strict</code> they fail the run"
                } else {
                    "reported, they do not fail the run unless <code>--strict</code>"
                }
            );
        }
        for c in listed {
            write_failure(&mut h, c);
        }
        h.push_str("</section>\n");
    }

    let groups = report.by_operation();
    if groups.len() > 1 {
        h.push_str("<nav class=\"toc\"><b>Operations:</b>");
        for (op, checks) in &groups {
            let gs = Summary::of(checks.iter().copied());
            let _ = write!(
                h,
                " <a href=\"#{}\">{}</a> <span class=\"muted\">({})</span>",
                anchor("op-", op),
                esc(op),
                counts_text(&gs)
            );
        }
        h.push_str("</nav>\n");
    }
    for (op, checks) in &groups {
        write_operation(&mut h, op, checks);
    }

    let skipped: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(
            h,
            "<section id=\"skipped\">\n<h2>Skipped ({})</h2>\n<table>\n\
             <thead><tr><th>Check</th><th>Title</th><th>Reason</th></tr></thead>\n<tbody>",
            skipped.len()
        );
        for c in skipped {
            let _ = writeln!(
                h,
                "<tr id=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                anchor("c-", &c.id),
                esc(&c.id),
                esc(&c.title),
                esc(&c.detail)
            );
        }
        h.push_str("</tbody>\n</table>\n</section>\n");
    }

    let _ = writeln!(
        h,
        "<footer>recovery-harness {} · run started {} · the same run is in conformance.json, \
         junit.xml and summary.md next to this file.</footer>",
        esc(&report.tool_version),
        report
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    close_page(&mut h);
    h
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

fn write_run(h: &mut String, report: &RunReport) {
    let embedded = if report.embedded_target {
        " <span class=\"muted\">(embedded reference server)</span>"
    } else {
        ""
    };
    let _ = writeln!(
        h,
        "<dl class=\"run\">\n<dt>Target</dt><dd><code>{}</code>{embedded}</dd>\n\
         <dt>Started</dt><dd>{}</dd>\n<dt>Duration</dt><dd>{}</dd>\n\
         <dt>Tool</dt><dd>recovery-harness {}</dd>\n</dl>",
        esc(&report.target),
        report
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        human_ms(report.duration),
        esc(&report.tool_version),
    );
    if report.strict {
        h.push_str(
            "<p class=\"alert\"><code>--strict</code>: a broken recommended rule fails the run.</p>\n",
        );
    }
    if report.insecure {
        h.push_str(
            "<p class=\"alert fail\"><b>TLS certificate verification was disabled</b> \
             (<code>--insecure</code>): this run does not prove the target's identity.</p>\n",
        );
    }
    if !report.notes.is_empty() {
        h.push_str("<ul class=\"notes\">\n");
        for note in &report.notes {
            let _ = writeln!(h, "<li>{}</li>", esc(note));
        }
        h.push_str("</ul>\n");
    }
}

fn write_operation(h: &mut String, op: &str, checks: &[&CheckResult]) {
    let s = Summary::of(checks.iter().copied());
    let _ = writeln!(
        h,
        "<section class=\"operation\" id=\"{}\">\n<h2>{} <span class=\"muted\">— {}</span></h2>\n\
         <table class=\"checks\">\n<thead><tr><th>Status</th><th>Level</th><th>Check</th><th>Title</th>\
         <th>Source</th><th class=\"num\">Time</th></tr></thead>\n<tbody>",
        anchor("op-", op),
        esc(op),
        counts_text(&s)
    );
    for c in checks {
        let status = c.status.as_str();
        let level = c.level.as_str();
        let id = match c.status {
            Status::Passed => format!("<code>{}</code>", esc(&c.id)),
            Status::Failed | Status::Warning | Status::Error | Status::Skipped => format!(
                "<a href=\"#{}\"><code>{}</code></a>",
                anchor("c-", &c.id),
                esc(&c.id)
            ),
        };
        let time = match c.status {
            Status::Skipped => "—".to_owned(),
            Status::Passed | Status::Failed | Status::Warning | Status::Error => {
                human_ms(c.duration)
            }
        };
        let _ = writeln!(
            h,
            "<tr class=\"{status}\"><td><span class=\"badge {status}\">{status}</span></td>\
             <td class=\"level {level}\">{level}</td><td class=\"id\">{id}</td><td class=\"title\">{}</td><td class=\"source\">{}</td>\
             <td class=\"num\">{time}</td></tr>",
            esc(&c.title),
            c.source.as_str(),
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn write_failure(h: &mut String, c: &CheckResult) {
    let _ = writeln!(
        h,
        "<article class=\"failure {status}\" id=\"{}\">\n<h3><span class=\"badge {status}\">{status}</span> \
         <code>{}</code> — {}</h3>\n<p class=\"detail\">{}</p>\n\
         <p class=\"rule\"><span class=\"muted\">Rule ({}, {}, {}):</span> {}</p>",
        anchor("c-", &c.id),
        esc(&c.id),
        esc(&c.title),
        esc(&c.detail),
        esc(&c.operation),
        c.level.as_str(),
        c.source.as_str(),
        esc(&c.rule),
        status = c.status.as_str(),
    );
    for (i, ev) in c.evidence.iter().enumerate() {
        write_evidence(h, ev, i + 1, c.evidence.len());
    }
    h.push_str("</article>\n");
}

fn write_evidence(h: &mut String, ev: &Evidence, n: usize, of: usize) {
    let outcome = match (ev.status, &ev.transport_error) {
        (Some(status), _) => format!("<b class=\"status\">{status}</b>"),
        (None, Some(_)) => "<b class=\"status\">no response</b>".to_owned(),
        (None, None) => "<b class=\"status\">no status</b>".to_owned(),
    };
    let counter = if of > 1 {
        format!("<span class=\"muted\">exchange {n} of {of}</span> ")
    } else {
        String::new()
    };
    let _ = writeln!(
        h,
        "<div class=\"evidence\">\n<p class=\"request\">{counter}<code>{} {}</code> → {outcome}</p>",
        esc(&ev.method),
        esc(&ev.url),
    );
    if !ev.request_headers.is_empty() || !ev.response_headers.is_empty() {
        h.push_str("<table class=\"headers\"><tbody>\n");
        for (dir, headers) in [
            ("&gt;", &ev.request_headers),
            ("&lt;", &ev.response_headers),
        ] {
            for (name, value) in headers {
                let _ = writeln!(
                    h,
                    "<tr><td class=\"dir\">{dir}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                    esc(name),
                    esc(value)
                );
            }
        }
        h.push_str("</tbody></table>\n");
    }
    match (&ev.pointer, &ev.value) {
        (Some(pointer), value) => {
            let _ = write!(
                h,
                "<p class=\"pointer\"><span class=\"muted\">at</span> <code>{}</code>",
                esc(show_pointer(pointer))
            );
            if let Some(value) = value {
                let _ = write!(h, " = <code class=\"value\">{}</code>", esc(value));
            }
            h.push_str("</p>\n");
        }
        (None, Some(value)) => {
            let _ = writeln!(
                h,
                "<p class=\"pointer\"><span class=\"muted\">value</span> <code class=\"value\">{}</code></p>",
                esc(value)
            );
        }
        (None, None) => {}
    }
    if let Some(body) = &ev.body_excerpt {
        let _ = writeln!(
            h,
            "<p class=\"label muted\">Response body (start)</p>\n<pre class=\"body\">{}</pre>",
            esc(body)
        );
    }
    if let Some(err) = &ev.transport_error {
        let _ = writeln!(
            h,
            "<p class=\"transport\"><span class=\"muted\">error:</span> {}</p>",
            esc(err)
        );
    }
    if let Some(curl) = &ev.curl {
        let _ = writeln!(
            h,
            "<p class=\"label muted\">Reproduce</p>\n<pre class=\"curl\">{}</pre>",
            esc(curl)
        );
    }
    h.push_str("</div>\n");
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
