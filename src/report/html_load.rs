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
//! Step names come from scenario files and reasons quote the target's answers: all are escaped.
//! Chart text is numbers and the fixed legend only; step names stay in the HTML around the SVG.

use super::html::{close_page, esc, open_page};
use super::load_report::{LoadFigures, LoadReport, LoadVerdict, ReasonCount, StepSeries};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::io::Write;

/// Size of each chart in SVG user units (the page scales it to its width).
const CHART_SIZE: (u32, u32) = (760, 260);

/// Renders `report` as the load `report.html` document.
pub fn render(report: &LoadReport) -> String {
    let mut h = String::with_capacity(32 * 1024 + report.series.len() * 24 * 1024);
    let verdict = report.verdict.as_str();
    open_page(
        &mut h,
        &format!(
            "Load run {verdict}: {} against {}",
            report.scenario,
            report.target.label()
        ),
        LOAD_CSS,
    );
    write_verdict(&mut h, report);
    write_thresholds(&mut h, report);
    write_run(&mut h, report);
    write_validation(&mut h, report);
    write_charts(&mut h, &report.series);
    write_steps(&mut h, report);
    if !report.top_reasons.is_empty() {
        h.push_str("<section id=\"reasons\">\n<h2>Most frequent failure reasons</h2>\n");
        reasons_table(&mut h, &report.top_reasons);
        h.push_str("</section>\n");
    }
    write_baseline(&mut h, report);
    let _ = writeln!(
        h,
        "<footer>recovery-harness {} · load-summary.json next to this file holds the same figures \
         for machines.</footer>",
        esc(&report.tool_version)
    );
    close_page(&mut h);
    h
}

/// Writes the load `report.html` document of `report` to `out`.
pub fn write(report: &LoadReport, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(render(report).as_bytes())
}

fn write_verdict(h: &mut String, r: &LoadReport) {
    let headline = match r.verdict {
        LoadVerdict::Passed => "Passed",
        LoadVerdict::Failed => "Failed",
        LoadVerdict::Interrupted => "Interrupted",
    };
    let _ = writeln!(
        h,
        "<header class=\"verdict {}\" id=\"verdict\">\n<p class=\"kicker\">Recovery load run · \
         scenario {}</p>\n<h1>{headline}</h1>",
        r.verdict.as_str(),
        esc(&r.scenario)
    );
    if !r.reasons.is_empty() {
        h.push_str("<ul class=\"reasons\">\n");
        for reason in &r.reasons {
            let _ = writeln!(h, "<li>{}</li>", esc(reason));
        }
        h.push_str("</ul>\n");
    }
    let t = &r.totals;
    let _ = writeln!(
        h,
        "<ul class=\"counts\"><li><b>{}</b> requests</li><li><b>{:.1}</b> req/s</li>\
         <li><b>{}</b> p95</li><li><b>{}</b> p99</li><li><b>{}</b> errors</li>\
         <li><b>{}</b> spec failures</li></ul>\n</header>",
        grouped(t.requests),
        t.rps,
        ms(t.p95_ms),
        ms(t.p99_ms),
        t.errors,
        r.validation.spec_failures()
    );
    if !r.notes.is_empty() {
        h.push_str("<ul class=\"notes\">\n");
        for note in &r.notes {
            let _ = writeln!(h, "<li>{}</li>", esc(note));
        }
        h.push_str("</ul>\n");
    }
}

fn write_thresholds(h: &mut String, r: &LoadReport) {
    h.push_str("<section id=\"thresholds\">\n<h2>Thresholds</h2>\n");
    if r.thresholds.is_empty() {
        h.push_str("<p class=\"muted\">No threshold rule was set for this run.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<table>\n<thead><tr><th>Outcome</th><th>Rule</th><th>Observed</th><th>From</th></tr></thead>\n<tbody>\n",
    );
    for t in &r.thresholds {
        let (class, word) = if t.passed {
            ("passed", "held")
        } else {
            ("failed", "breached")
        };
        let aborted = if t.aborted {
            " <span class=\"muted\">(stopped the run)</span>"
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr class=\"{class}\"><td><span class=\"badge {class}\">{word}</span></td>\
             <td><code>{}</code></td><td>{}{aborted}</td><td class=\"muted\">{}</td></tr>",
            esc(&t.rule),
            esc(&t.observed),
            esc(&t.source)
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn write_run(h: &mut String, r: &LoadReport) {
    let throttle = match r.throttle {
        Some(n) => format!("{n} req/s"),
        None => "none".to_owned(),
    };
    // "embedded" is where the scenario came from (built into the binary), not the target: said
    // in other words so that it is never read as the target's kind.
    let origin = if r.scenario_origin == "embedded" {
        "built-in scenario".to_owned()
    } else {
        format!("from <code>{}</code>", esc(&r.scenario_origin))
    };
    let _ = writeln!(
        h,
        "<section id=\"run\">\n<h2>Run</h2>\n<dl class=\"run\">\n\
         <dt>Target</dt><dd><code>{}</code></dd>\n\
         <dt>Scenario</dt><dd>{} <span class=\"muted\">({origin})</span></dd>\n\
         <dt>Users</dt><dd>{} (started at {}/s)</dd>\n\
         <dt>Duration</dt><dd>{} s after the ramp-up</dd>\n\
         <dt>Throttle</dt><dd>{throttle}</dd>\n\
         <dt>Validation</dt><dd>{}</dd>\n\
         <dt>Started</dt><dd>{}</dd>\n<dt>Finished</dt><dd>{}</dd>\n\
         <dt>Tool</dt><dd>recovery-harness {}</dd>\n</dl>\n</section>",
        esc(&r.target.label()),
        esc(&r.scenario),
        r.users,
        trim_float(r.hatch_rate),
        r.duration_s,
        esc(&r.validate),
        r.started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        r.finished_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        esc(&r.tool_version),
    );
}

fn write_validation(h: &mut String, r: &LoadReport) {
    let v = &r.validation;
    let _ = writeln!(
        h,
        "<section id=\"validation\">\n<h2>Validation</h2>\n<ul class=\"counts small\">\
         <li><b>{}</b> bodies validated</li><li class=\"{}\"><b>{}</b> statuses the step does not allow</li>\
         <li class=\"{}\"><b>{}</b> bodies that break the schema</li><li><b>{}</b> requests without a response</li></ul>",
        grouped(v.validated_bodies),
        if v.status_mismatches > 0 { "bad" } else { "" },
        v.status_mismatches,
        if v.body_violations > 0 { "bad" } else { "" },
        v.body_violations,
        v.transport_errors,
    );
    if v.failures.is_empty() {
        if v.spec_failures() == 0 {
            h.push_str("<p>No response broke the spec.</p>\n");
        } else {
            h.push_str("<p class=\"muted\">The reasons of these failures were not recorded.</p>\n");
        }
    } else {
        h.push_str("<h3>Failures by reason</h3>\n");
        reasons_table(h, &v.failures);
    }
    h.push_str("</section>\n");
}

fn reasons_table(h: &mut String, reasons: &[ReasonCount]) {
    h.push_str(
        "<table class=\"reasons\">\n<thead><tr><th class=\"num\">Count</th><th>Step</th><th>Reason</th></tr></thead>\n<tbody>\n",
    );
    for r in reasons {
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
            r.count,
            r.step.as_deref().map(esc).unwrap_or_else(|| "—".into()),
            esc(&r.reason)
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

fn write_charts(h: &mut String, series: &[StepSeries]) {
    h.push_str("<section id=\"latency\">\n<h2>Response times per step over time</h2>\n");
    let drawn: Vec<&StepSeries> = series.iter().filter(|s| !s.points.is_empty()).collect();
    if drawn.is_empty() {
        h.push_str(
            "<p class=\"muted\">No per-second response times were recorded.</p>\n</section>\n",
        );
        return;
    }
    let width = drawn[0].bucket_s;
    let per = if width <= 1 {
        "Per second".to_owned()
    } else {
        format!("Per {width} s")
    };
    let _ = writeln!(
        h,
        "<p class=\"muted\">{per}: median (p50), 95th and 99th percentile of the step's \
         response times, in milliseconds.</p>"
    );
    for s in drawn {
        let _ = writeln!(
            h,
            "<figure class=\"chart\">\n<figcaption>{}</figcaption>",
            esc(&s.step)
        );
        match chart_svg(s) {
            Ok(svg) => h.push_str(&svg),
            Err(e) => {
                let _ = write!(
                    h,
                    "<p class=\"muted\">The chart could not be drawn: {}</p>",
                    esc(&e)
                );
            }
        }
        h.push_str("\n</figure>\n");
    }
    h.push_str("</section>\n");
}

/// The p50/p95/p99 lines of one step as an SVG element.
fn chart_svg(s: &StepSeries) -> Result<String, String> {
    let first = s.points.first().map_or(0, |p| p.second) as f64;
    let last = s.points.last().map_or(0, |p| p.second) as f64;
    let x_end = if last > first { last } else { first + 1.0 };
    let y_top = s
        .points
        .iter()
        .map(|p| p.p99_ms.max(p.p95_ms).max(p.p50_ms))
        .fold(0.0f64, f64::max);
    let y_end = if y_top > 0.0 && y_top.is_finite() {
        // Headroom for the legend in the upper left corner.
        y_top * 1.4
    } else {
        1.0
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(first..x_end, 0.0..y_end)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc("ms")
            // Whole seconds only: a short run must not repeat a rounded label.
            .x_labels(((x_end - first) as usize + 1).min(10))
            .y_labels(6)
            .max_light_lines(1)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| trim_float(*y))
            .light_line_style(RGBColor(238, 240, 243))
            .bold_line_style(RGBColor(215, 219, 225))
            .axis_style(RGBColor(152, 162, 179))
            .label_style(("sans-serif", 16).into_font().color(&RGBColor(71, 84, 103)))
            .draw()
            .map_err(|e| err(&e))?;
        for (name, color, pick) in LINES {
            let style = ShapeStyle::from(&color).stroke_width(2);
            chart
                .draw_series(
                    LineSeries::new(s.points.iter().map(|p| (p.second as f64, pick(p))), style)
                        .point_size(if s.points.len() < 3 { 3 } else { 0 }),
                )
                .map_err(|e| err(&e))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(208, 213, 221))
            .label_font(("sans-serif", 16))
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

type Pick = fn(&super::load_report::SeriesPoint) -> f64;

/// The three lines of every chart: legend label, colour, value.
const LINES: [(&str, RGBColor, Pick); 3] = [
    ("p50", RGBColor(46, 144, 250), |p| p.p50_ms),
    ("p95", RGBColor(247, 144, 9), |p| p.p95_ms),
    ("p99", RGBColor(217, 45, 32), |p| p.p99_ms),
];

fn write_steps(h: &mut String, r: &LoadReport) {
    h.push_str(
        "<section id=\"steps\">\n<h2>Steps</h2>\n<table>\n<thead><tr><th>Step</th>\
         <th class=\"num\">Requests</th><th class=\"num\">Errors</th><th class=\"num\">req/s</th>\
         <th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">p99</th>\
         <th class=\"num\">mean</th><th class=\"num\">max</th></tr></thead>\n<tbody>\n",
    );
    for s in &r.steps {
        figures_row(h, &esc(&s.name), &s.figures, "");
    }
    figures_row(h, "All steps", &r.totals, " class=\"total\"");
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn figures_row(h: &mut String, name: &str, f: &LoadFigures, class: &str) {
    let _ = writeln!(
        h,
        "<tr{class}><td>{name}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{:.1}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        grouped(f.requests),
        grouped(f.errors),
        f.rps,
        ms(f.p50_ms),
        ms(f.p95_ms),
        ms(f.p99_ms),
        f.avg_ms.map_or_else(|| "—".to_owned(), ms),
        f.max_ms.map_or_else(|| "—".to_owned(), ms),
    );
}

fn write_baseline(h: &mut String, r: &LoadReport) {
    let Some(b) = &r.baseline else {
        return;
    };
    let gate = match b.max_regression_pct {
        Some(pct) if b.passed => format!("held (at most {} % allowed)", trim_float(pct)),
        Some(pct) => format!("<b>breached</b> (at most {} % allowed)", trim_float(pct)),
        None => "no limit set".to_owned(),
    };
    let _ = writeln!(
        h,
        "<section id=\"baseline\">\n<h2>Against the baseline</h2>\n<dl class=\"run\">\n\
         <dt>Baseline</dt><dd><code>{}</code></dd>\n\
         <dt>req/s</dt><dd>{:.1} → {:.1} ({:+.1} %)</dd>\n\
         <dt>p95</dt><dd>{} → {} ({:+.1} %)</dd>\n<dt>Regression gate</dt><dd>{gate}</dd>\n</dl>\n</section>",
        esc(&b.path),
        b.baseline_rps,
        r.totals.rps,
        b.rps_change_pct,
        ms(b.baseline_p95_ms),
        ms(r.totals.p95_ms),
        b.p95_change_pct,
    );
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

/// A number without trailing zeros (`2`, `2.5`, `0.25`).
fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
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
        assert_eq!(trim_float(2.0), "2");
        assert_eq!(trim_float(2.5), "2.5");
        assert_eq!(trim_float(0.0), "0");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(12_000), "12,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
