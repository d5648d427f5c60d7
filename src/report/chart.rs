//! The load report's charts: one step's p50/p95/p99 response times over time as inline SVG,
//! drawn by `plotters` (no bitmap, font file or script: the page stays self-contained).
//!
//! Only numbers and the fixed legend go into the SVG (step names stay in the HTML around it, where
//! maud escapes them), which is why the drawing is spliced unescaped: one of the two places in
//! `report/` that use `PreEscaped` (see [`super::html`]).

use super::load_report::{SeriesPoint, StepSeries};
use super::load_summary::{CapacityStep, CapacitySummary};
use super::text::trim_float;
use maud::{html, Markup, PreEscaped};
use plotters::prelude::*;

/// Size of each chart in SVG user units (the page scales it to its width).
const CHART_SIZE: (u32, u32) = (760, 260);

/// The chart of `s`, or a sentence saying why it could not be drawn.
pub(crate) fn chart(s: &StepSeries) -> Markup {
    match chart_svg(s) {
        Ok(svg) => PreEscaped(svg),
        Err(e) => html! { p.muted { "The chart could not be drawn: " (e) } },
    }
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
        legend(&mut chart)?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// The legend both charts draw in their upper left corner.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(208, 213, 221))
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())
}

type Pick = fn(&SeriesPoint) -> f64;

/// The three lines of every chart: legend label, colour, value.
const LINES: [(&str, RGBColor, Pick); 3] = [
    ("p50", RGBColor(46, 144, 250), |p| p.p50_ms),
    ("p95", RGBColor(247, 144, 9), |p| p.p95_ms),
    ("p99", RGBColor(217, 45, 32), |p| p.p99_ms),
];

/// The throughput–latency curve of a capacity search: each step's p50/p95/p99 (ms, log scale)
/// against the rate it achieved, and a dashed line at the capacity; or a sentence saying why it
/// could not be drawn.
pub(crate) fn capacity_chart(c: &CapacitySummary) -> Markup {
    match capacity_svg(c) {
        Ok(svg) => PreEscaped(svg),
        Err(e) => html! { p.muted { "The curve could not be drawn: " (e) } },
    }
}

/// One percentile of a capacity step.
type StepPick = fn(&CapacityStep) -> f64;

fn capacity_svg(c: &CapacitySummary) -> Result<String, String> {
    // Steps that ran to their end, by achieved rate: the curve a rising rate traces. A step the
    // load generator was late for measured the generator: left out (the table keeps it).
    let mut steps: Vec<&CapacityStep> = c
        .steps
        .iter()
        .filter(|s| s.requests > 0 && !s.generator_limited)
        .collect();
    steps.sort_by(|a, b| a.achieved_rate.total_cmp(&b.achieved_rate));
    if steps.is_empty() {
        return Err("no step ran to its end".to_owned());
    }
    let x_top = steps
        .iter()
        .map(|s| s.achieved_rate.max(s.intended_rate))
        .chain(c.rate)
        .fold(0.0f64, f64::max);
    let x_end = if x_top > 0.0 { x_top * 1.1 } else { 1.0 };
    let finite = |v: f64| v.is_finite() && v > 0.0;
    let y_values: Vec<f64> = steps
        .iter()
        .flat_map(|s| [s.p50_ms, s.p95_ms, s.p99_ms])
        .filter(|v| finite(*v))
        .collect();
    let y_low = y_values.iter().copied().fold(f64::MAX, f64::min).min(1.0) * 0.8;
    let y_high = y_values
        .iter()
        .copied()
        .fold(0.0f64, f64::max)
        .max(y_low * 10.0)
        * 3.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_end, (y_low..y_high).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("iterations/s achieved")
            .y_desc("ms (log)")
            .x_labels(8)
            .y_labels(8)
            .max_light_lines(1)
            .x_label_formatter(&|x| trim_float(*x))
            .y_label_formatter(&|y| trim_float(*y))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| err(&e))?;
        if let Some(rate) = c.rate {
            let line = RGBColor(16, 122, 78);
            chart
                .draw_series(DashedLineSeries::new(
                    [(rate, y_low), (rate, y_high)],
                    6,
                    4,
                    line.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label("capacity")
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], line.stroke_width(2))
                });
        }
        let picks: [(&str, RGBColor, StepPick); 3] = [
            ("p50", LINES[0].1, |s| s.p50_ms),
            ("p95", LINES[1].1, |s| s.p95_ms),
            ("p99", LINES[2].1, |s| s.p99_ms),
        ];
        for (label, color, pick) in picks {
            let points: Vec<(f64, f64)> = steps
                .iter()
                .map(|s| (s.achieved_rate, pick(s).max(y_low)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(|e| err(&e))?;
        }
        legend(&mut chart)?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
