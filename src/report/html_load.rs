//! `report.html` of `load`: the load run as one self-contained page (see [`super::html`]), rendered
//! from the plain [`LoadReport`]. It replaces the load engine's stock page, whose charts load a
//! script from a CDN and stay empty offline.
//!
//! Layout, most important first: the verdict with the reasons and the headline figures; the
//! thresholds and their outcomes; the run (target labelled by its kind, scenario, users, ramp,
//! validation mode); the validation results with the spec failures grouped by step and reason;
//! per step, a chart of the p50/p95/p99 response times per second (inline SVG drawn by
//! `plotters`); the per-step figures; the most frequent failure reasons; the baseline comparison.
//!
//! A maud template, one function per section in page order. Step names come from scenario files
//! and reasons quote the target's answers: maud escapes every value spliced in. The charts are
//! drawn by [`super::chart`] from numbers and the fixed legend only; step names stay in the HTML
//! around the SVG.

use super::chart::{capacity_chart, chart};
use super::html::page;
use super::load_report::{LoadFigures, LoadReport, LoadVerdict, ReasonCount, StepSeries};
use super::text::trim_float;
use maud::{html, Markup};
use std::io::Write;

/// Renders `report` as the load `report.html` document.
pub fn render(report: &LoadReport) -> String {
    let body = html! {
        (verdict(report))
        (capacity(report))
        (thresholds(report))
        (run(report))
        (validation(report))
        (charts(&report.series))
        (steps(report))
        @if !report.top_reasons.is_empty() {
            section #reasons {
                "\n" h2 { "Most frequent failure reasons" } "\n"
                (reasons_table(&report.top_reasons))
            }
            "\n"
        }
        (baseline(report))
        footer {
            "recovery-harness " (report.tool_version)
            " · load-summary.json next to this file holds the same figures for machines."
        }
        "\n"
    };
    page(
        &format!(
            "Load run {}: {} against {}",
            report.verdict.as_str(),
            report.scenario,
            report.target.label()
        ),
        LOAD_CSS,
        body,
    )
}

/// Writes the load `report.html` document of `report` to `out`.
pub fn write(report: &LoadReport, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(render(report).as_bytes())
}

/// `load capacity`: the capacity, what broke above it, the throughput–latency curve and every
/// step (the figures further down are the capacity step's).
fn capacity(r: &LoadReport) -> Markup {
    let Some(c) = &r.capacity else {
        return html! {};
    };
    html! {
        section #capacity {
            "\n" h2 { "Capacity" } "\n"
            p {
                @match c.rate {
                    Some(rate) if c.stopped_by == "max_rate" => {
                        "Every step up to the highest rate tried held the rules: the capacity is at least "
                        b { (trim_float(rate)) " iterations/s" } "."
                    }
                    Some(rate) => {
                        b { (trim_float(rate)) " iterations/s" }
                        " is the highest rate whose step held every rule ("
                        (c.slo.join(", ")) ")."
                    }
                    None => { "No step held every rule (" (c.slo.join(", ")) ")." }
                }
                @if let Some(failing) = c.failing_rate {
                    " At " b { (trim_float(failing)) " iterations/s" } ": "
                    (c.failing_rules.join("; ")) "."
                }
            } "\n"
            p.muted {
                (c.steps.len()) " steps of " (trim_float(c.step_duration_s)) " s, doubling then bisecting to "
                (trim_float(c.precision_pct)) " %, at most " (c.max_in_flight)
                " iterations in flight; stopped by " (c.stopped_by)
                ". Latencies count from each iteration's intended start. The figures below are the capacity step's."
            } "\n"
            figure.chart {
                (capacity_chart(c))
                figcaption { "Throughput against latency, one point per step (not the steps the load generator was late for); the dashed line is the capacity." }
            } "\n"
            table {
                thead { tr {
                    th { "step" } th.num { "rate/s" } th.num { "achieved/s" } th.num { "p50" }
                    th.num { "p95" } th.num { "p99" } th.num { "errors" } th.num { "dropped" }
                    th.num { "start delay p99" } th { "verdict" } th { "reports" }
                } } "\n"
                tbody {
                    @for s in &c.steps {
                        tr.failed[s.verdict != "passed"] {
                            td { (s.index) }
                            td.num { (trim_float(s.intended_rate)) }
                            td.num { (trim_float(s.achieved_rate)) }
                            td.num { (ms(s.p50_ms)) }
                            td.num { (ms(s.p95_ms)) }
                            td.num { (ms(s.p99_ms)) }
                            td.num { (trim_float(s.error_rate_pct)) " %" }
                            td.num { (grouped(s.dropped_iterations)) }
                            td.num { (ms(s.start_lag_p99_ms)) }
                            td {
                                (s.verdict)
                                @if s.generator_limited { " (the load generator was late: run again)" }
                                @for why in &s.failed_because { br; small { (why) } }
                            }
                            td { code { (s.report_dir) } }
                        }
                        "\n"
                    }
                }
            }
        }
        "\n"
    }
}

/// The verdict, its reasons, the headline figures and the run's notes.
fn verdict(r: &LoadReport) -> Markup {
    let headline = match r.verdict {
        LoadVerdict::Passed => "Passed",
        LoadVerdict::Failed => "Failed",
        LoadVerdict::Interrupted => "Interrupted",
    };
    let t = &r.totals;
    html! {
        header.verdict.(r.verdict.as_str()) #verdict {
            "\n"
            p.kicker { "Recovery load run · scenario " (r.scenario) } "\n"
            h1 { (headline) } "\n"
            @if !r.reasons.is_empty() {
                ul.reasons { "\n" @for reason in &r.reasons { li { (reason) } "\n" } } "\n"
            }
            ul.counts {
                li { b { (grouped(t.requests)) } " requests" }
                li { b { (format!("{:.1}", t.rps)) } " req/s" }
                li { b { (ms(t.p95_ms)) } " p95" }
                li { b { (ms(t.p99_ms)) } " p99" }
                li { b { (t.errors) } " errors" }
                li { b { (r.validation.spec_failures()) } " spec failures" }
            }
            "\n"
        }
        "\n"
        @if !r.notes.is_empty() {
            ul.notes { "\n" @for note in &r.notes { li { (note) } "\n" } } "\n"
        }
    }
}

/// Each threshold rule, what was observed and whether it held.
fn thresholds(r: &LoadReport) -> Markup {
    html! {
        section #thresholds {
            "\n" h2 { "Thresholds" } "\n"
            @if r.thresholds.is_empty() {
                p.muted { "No threshold rule was set for this run." } "\n"
            } @else {
                table {
                    "\n"
                    thead { tr { th { "Outcome" } th { "Rule" } th { "Observed" } th { "From" } } }
                    "\n"
                    tbody {
                        "\n"
                        @for t in &r.thresholds {
                            @let (class, word) = if t.passed {
                                ("passed", "held")
                            } else {
                                ("failed", "breached")
                            };
                            tr.(class) {
                                td { span.badge.(class) { (word) } }
                                td { code { (t.rule) } }
                                td {
                                    (t.observed)
                                    @if t.aborted { " " span.muted { "(stopped the run)" } }
                                }
                                td.muted { (t.source) }
                            }
                            "\n"
                        }
                    }
                    "\n"
                }
                "\n"
            }
        }
        "\n"
    }
}

/// The run's settings.
fn run(r: &LoadReport) -> Markup {
    let secs =
        |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    html! {
        section #run {
            "\n" h2 { "Run" } "\n"
            dl.run {
                "\n"
                dt { "Target" } dd { code { (r.target.label()) } } "\n"
                dt { "Scenario" }
                dd {
                    (r.scenario) " "
                    span.muted {
                        "("
                        // "embedded" is where the scenario came from (built into the binary), not
                        // the target: said in other words so that it is never read as the target's
                        // kind.
                        @if r.scenario_origin == "embedded" {
                            "built-in scenario"
                        } @else {
                            "from " code { (r.scenario_origin) }
                        }
                        ")"
                    }
                }
                "\n"
                dt { "Users" }
                dd { (r.users) " (started at " (trim_float(r.hatch_rate)) "/s)" } "\n"
                dt { "Duration" } dd { (r.duration_s) " s after the ramp-up" } "\n"
                dt { "Throttle" }
                dd {
                    @match r.throttle {
                        Some(n) => { (n) " req/s" },
                        None => "none",
                    }
                }
                "\n"
                dt { "Validation" } dd { (r.validate) } "\n"
                dt { "Started" } dd { (secs(&r.started_at)) } "\n"
                dt { "Finished" } dd { (secs(&r.finished_at)) } "\n"
                dt { "Tool" } dd { "recovery-harness " (r.tool_version) } "\n"
            }
            "\n"
        }
        "\n"
    }
}

/// What the response validation found, failures grouped by step and reason.
fn validation(r: &LoadReport) -> Markup {
    let v = &r.validation;
    let bad = |n: u64| if n > 0 { "bad" } else { "" };
    html! {
        section #validation {
            "\n" h2 { "Validation" } "\n"
            ul.counts.small {
                li { b { (grouped(v.validated_bodies)) } " bodies validated" }
                li class=(bad(v.status_mismatches)) {
                    b { (v.status_mismatches) } " statuses the step does not allow"
                }
                li class=(bad(v.body_violations)) {
                    b { (v.body_violations) } " bodies that break the schema"
                }
                li { b { (v.transport_errors) } " requests without a response" }
            }
            "\n"
            @if !v.failures.is_empty() {
                h3 { "Failures by reason" } "\n"
                (reasons_table(&v.failures))
            } @else if v.spec_failures() == 0 {
                p { "No response broke the spec." } "\n"
            } @else {
                p.muted { "The reasons of these failures were not recorded." } "\n"
            }
        }
        "\n"
    }
}

fn reasons_table(reasons: &[ReasonCount]) -> Markup {
    html! {
        table.reasons {
            "\n"
            thead { tr { th.num { "Count" } th { "Step" } th { "Reason" } } } "\n"
            tbody {
                "\n"
                @for r in reasons {
                    tr {
                        td.num { (r.count) }
                        td { (r.step.as_deref().unwrap_or("—")) }
                        td { code { (r.reason) } }
                    }
                    "\n"
                }
            }
            "\n"
        }
        "\n"
    }
}

/// Per step, the chart of its percentiles over time.
fn charts(series: &[StepSeries]) -> Markup {
    let drawn: Vec<&StepSeries> = series.iter().filter(|s| !s.points.is_empty()).collect();
    let per = match drawn.first().map(|s| s.bucket_s) {
        Some(width) if width > 1 => format!("Per {width} s"),
        _ => "Per second".to_owned(),
    };
    html! {
        section #latency {
            "\n" h2 { "Response times per step over time" } "\n"
            @if drawn.is_empty() {
                p.muted { "No per-second response times were recorded." } "\n"
            } @else {
                p.muted {
                    (per) ": median (p50), 95th and 99th percentile of the step's response times, \
                    in milliseconds."
                }
                "\n"
                @for s in drawn {
                    figure.chart {
                        "\n" figcaption { (s.step) } "\n"
                        (chart(s))
                        "\n"
                    }
                    "\n"
                }
            }
        }
        "\n"
    }
}

/// The per-step figures and their total.
fn steps(r: &LoadReport) -> Markup {
    html! {
        section #steps {
            "\n" h2 { "Steps" } "\n"
            table {
                "\n"
                thead {
                    tr {
                        th { "Step" } th.num { "Requests" } th.num { "Errors" } th.num { "req/s" }
                        th.num { "p50" } th.num { "p95" } th.num { "p99" } th.num { "mean" }
                        th.num { "max" }
                    }
                }
                "\n"
                tbody {
                    "\n"
                    @for s in &r.steps { (figures_row(&s.name, &s.figures, None)) "\n" }
                    (figures_row("All steps", &r.totals, Some("total"))) "\n"
                }
                "\n"
            }
            "\n"
        }
        "\n"
    }
}

fn figures_row(name: &str, f: &LoadFigures, class: Option<&str>) -> Markup {
    let or_dash = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), ms);
    html! {
        tr class=[class] {
            td { (name) }
            td.num { (grouped(f.requests)) }
            td.num { (grouped(f.errors)) }
            td.num { (format!("{:.1}", f.rps)) }
            td.num { (ms(f.p50_ms)) }
            td.num { (ms(f.p95_ms)) }
            td.num { (ms(f.p99_ms)) }
            td.num { (or_dash(f.avg_ms)) }
            td.num { (or_dash(f.max_ms)) }
        }
    }
}

/// The comparison with the baseline run, when one was given.
fn baseline(r: &LoadReport) -> Markup {
    let Some(b) = &r.baseline else {
        return html! {};
    };
    html! {
        section #baseline {
            "\n" h2 { "Against the baseline" } "\n"
            dl.run {
                "\n"
                dt { "Baseline" } dd { code { (b.path) } } "\n"
                dt { "req/s" }
                dd {
                    (format!("{:.1} → {:.1}", b.baseline_rps, r.totals.rps))
                    (format!(" ({:+.1} %)", b.rps_change_pct))
                }
                "\n"
                dt { "p95" }
                dd {
                    (ms(b.baseline_p95_ms)) " → " (ms(r.totals.p95_ms))
                    (format!(" ({:+.1} %)", b.p95_change_pct))
                }
                "\n"
                dt { "Regression gate" }
                dd {
                    @match b.max_regression_pct {
                        Some(pct) if b.passed => {
                            "held (at most " (trim_float(pct)) " % allowed)"
                        },
                        Some(pct) => {
                            b { "breached" } " (at most " (trim_float(pct)) " % allowed)"
                        },
                        None => "no limit set",
                    }
                }
                "\n"
            }
            "\n"
        }
        "\n"
    }
}

/// Milliseconds for people: two decimals under 1 ms, one under 100 ms, none above.
fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.2} ms")
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

/// A count with thousands separators (`12,000`).
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const LOAD_CSS: &str = r#"ul.reasons { margin: 0 0 .8em; padding-left: 1.2em; }
ul.counts.small { font-size: .95rem; margin: .3em 0 .8em; }
ul.counts.small b { font-size: 1.15rem; }
ul.counts li.bad b { color: var(--fail); }
tr.failed td { background: var(--fail-bg); }
tr.total td { font-weight: 600; border-top: 2px solid var(--line); }
figure.chart { margin: 1rem 0 1.5rem; }
figure.chart figcaption { font-weight: 600; margin-bottom: .3em; }
figure.chart svg { display: block; width: 100%; max-width: 760px; height: auto; border: 1px solid var(--line); border-radius: 4px; }
table.reasons code { overflow-wrap: anywhere; }
@media print { tr.failed td { background: none; } figure.chart svg { max-width: 100%; } }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(ms(0.413), "0.41 ms");
        assert_eq!(ms(12.34), "12.3 ms");
        assert_eq!(ms(1234.5), "1234 ms");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(12_000), "12,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
