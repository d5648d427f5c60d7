use crate::{
    metrics::{format_number, format_value, ReportData},
    report::{
        common::OrEmpty, ErrorMetric, ResponseMetric, ScenarioMetric, StatusCodeMetric,
        TransactionErrorMetric, TransactionMetric,
    },
    test_plan::TestPlanStepAction,
    GooseError,
};
use chrono::{Local, TimeZone};
use std::io::Write;

struct Markdown<'m, 'w, W: Write> {
    w: &'w mut W,
    data: ReportData<'m>,
    /// Paragraphs under the title, such as the run's notes.
    intro: &'w [String],
}

pub(crate) fn write_markdown_report<W: Write>(
    w: &mut W,
    data: ReportData,
    intro: &[String],
) -> Result<(), GooseError> {
    Markdown { w, data, intro }.write()
}

impl<W: Write> Markdown<'_, '_, W> {
    pub fn write(mut self) -> Result<(), GooseError> {
        self.write_header()?;
        self.write_plan_overview()?;
        self.write_thresholds()?;
        self.write_request_metrics()?;
        self.write_response_metrics()?;
        self.write_status_code_metrics()?;
        self.write_transaction_metrics()?;
        self.write_scenario_metrics()?;
        self.write_error_metrics()?;
        self.write_transaction_error_metrics()?;
        self.write_coordinated_omission_metrics()?;

        Ok(())
    }

    fn write_header(&mut self) -> Result<(), GooseError> {
        writeln!(
            self.w,
            r#"
# Goose Attack Report
"#
        )?;
        for paragraph in self.intro {
            writeln!(self.w, "{}\n", markdown_paragraph(paragraph))?;
        }

        Ok(())
    }

    fn write_plan_overview(&mut self) -> Result<(), GooseError> {
        write!(
            self.w,
            r#"
## Plan Overview

| Action | Started | Stopped | Elapsed | Users |
| ------ | ------- | ------- | ------- | ----: |
"#
        )?;

        for step in self.data.raw_metrics.history.windows(2) {
            let (seconds, minutes, hours) = self
                .data
                .raw_metrics
                .get_seconds_minutes_hours(&step[0].timestamp, &step[1].timestamp);
            let started = Local
                .timestamp_opt(step[0].timestamp.timestamp(), 0)
                // @TODO: error handling
                .unwrap()
                .format("%y-%m-%d %H:%M:%S");
            let stopped = Local
                .timestamp_opt(step[1].timestamp.timestamp(), 0)
                // @TODO: error handling
                .unwrap()
                .format("%y-%m-%d %H:%M:%S");

            let users = match &step[0].action {
                // For maintaining just show the current number of users.
                TestPlanStepAction::Maintaining => {
                    format!("{}", step[0].users)
                }
                // For increasing show the current number of users to the new number of users.
                TestPlanStepAction::Increasing => {
                    format!("{} &rarr; {}", step[0].users, step[1].users)
                }
                // For decreasing show the new number of users from the current number of users.
                TestPlanStepAction::Decreasing | TestPlanStepAction::Canceling => {
                    format!("{} &larr; {}", step[1].users, step[0].users,)
                }
                TestPlanStepAction::Finished => {
                    unreachable!("there shouldn't be a step after finished");
                }
            };

            writeln!(
                self.w,
                r#"| {action:?} | {started} | {stopped} | {hours:02}:{minutes:02}:{seconds:02} | {users} |"#,
                action = step[0].action,
            )?;
        }

        Ok(())
    }

    fn write_request_metrics(&mut self) -> Result<(), GooseError> {
        write!(
            self.w,
            r#"
## Request Metrics

| Method | Name | # Requests | # Fails | Average (ms) | Min (ms) | Max (ms) | RPS | Failures/s |
| ------ | ---- | ---------: | ------: | -----------: | -------: | -------: | --: | ---------: |
"#
        )?;

        for metric in &self.data.raw_request_metrics {
            if metric.is_breakdown {
                writeln!(
                    self.w,
                    r#"| | └─ {method} | {count} | | {avg} | {min} | {max} | | |"#,
                    method = metric.method,
                    count = metric.number_of_requests,
                    avg = metric.response_time_average,
                    min = metric.response_time_minimum,
                    max = metric.response_time_maximum,
                )?;
            } else {
                writeln!(
                    self.w,
                    r#"| {method} | {name} | {number_of_requests} | {number_of_failures} | {response_time_average} | {response_time_minimum} | {response_time_maximum} | {requests_per_second:.2} | {failures_per_second:.2} |"#,
                    method = metric.method,
                    name = metric.name,
                    number_of_requests = metric.number_of_requests,
                    number_of_failures = metric.number_of_failures,
                    response_time_average = metric.response_time_average,
                    response_time_minimum = metric.response_time_minimum,
                    response_time_maximum = metric.response_time_maximum,
                    requests_per_second = metric.requests_per_second,
                    failures_per_second = metric.failures_per_second,
                )?;
            }
        }

        Ok(())
    }

    fn write_response_metrics(&mut self) -> Result<(), GooseError> {
        write!(
            self.w,
            r#"
## Response Time Metrics

| Method | Name | 50%ile (ms) | 60%ile (ms) | 70%ile (ms) | 80%ile (ms) | 90%ile (ms) | 95%ile (ms) | 99%ile (ms) | 100%ile (ms) |
| ------ | ---- | ----------: | ----------: | ----------: | ----------: | ----------: | ----------: | ----------: | -----------: |
"#
        )?;

        for ResponseMetric {
            method,
            name,
            percentile_50,
            percentile_60,
            percentile_70,
            percentile_80,
            percentile_90,
            percentile_95,
            percentile_99,
            percentile_100,
        } in &self.data.raw_response_metrics
        {
            writeln!(
                self.w,
                r#"| {method} | {name} | {percentile_50} | {percentile_60} | {percentile_70} | {percentile_80} | {percentile_90} | {percentile_95} | {percentile_99} | {percentile_100} |"#,
                percentile_50 = format_value(percentile_50),
                percentile_60 = format_value(percentile_60),
                percentile_70 = format_value(percentile_70),
                percentile_80 = format_value(percentile_80),
                percentile_90 = format_value(percentile_90),
                percentile_95 = format_value(percentile_95),
                percentile_99 = format_value(percentile_99),
                percentile_100 = format_value(percentile_100),
            )?;
        }

        Ok(())
    }

    fn write_status_code_metrics(&mut self) -> Result<(), GooseError> {
        let Some(status_code_metrics) = &self.data.status_code_metrics else {
            return Ok(());
        };

        write!(
            self.w,
            r#"
## Status Code Metrics

| Method | Name | Status Codes |
| ------ | ---- | ------------ |
"#
        )?;

        for StatusCodeMetric {
            method,
            name,
            status_codes,
        } in status_code_metrics
        {
            writeln!(self.w, r#"| {method} | {name} | {status_codes} |"#)?;
        }

        Ok(())
    }

    fn write_transaction_metrics(&mut self) -> Result<(), GooseError> {
        let Some(transaction_metrics) = &self.data.transaction_metrics else {
            return Ok(());
        };

        write!(
            self.w,
            r#"
## Transaction Metrics

| Transaction | # Times Run | # Fails | Average (ms) | Min (ms) | Max (ms) | RPS | Failures/s |
| ----------- | ----------: | ------: | -----------: | -------: | -------: | --: | ---------: |
"#
        )?;

        for TransactionMetric {
            is_scenario,
            transaction,
            name,
            number_of_requests,
            number_of_failures,
            response_time_average,
            response_time_minimum,
            response_time_maximum,
            requests_per_second,
            failures_per_second,
        } in transaction_metrics
        {
            match is_scenario {
                true => writeln!(self.w, r#"| **{name}** |"#)?,
                false => writeln!(
                    self.w,
                    r#"| {transaction} {name} | {number_of_requests} | {number_of_failures} | {response_time_average} | {response_time_minimum} | {response_time_maximum} | {requests_per_second:.2} | {failures_per_second:.2} |"#,
                    response_time_average = OrEmpty(*response_time_average),
                    requests_per_second = OrEmpty(*requests_per_second),
                    failures_per_second = OrEmpty(*failures_per_second),
                )?,
            }
        }

        Ok(())
    }

    fn write_scenario_metrics(&mut self) -> Result<(), GooseError> {
        let Some(scenario_metrics) = &self.data.scenario_metrics else {
            return Ok(());
        };

        write!(
            self.w,
            r#"
## Scenario Metrics

| Scenario | # Users | # Times Run | Average (ms) | Min (ms) | Max (ms) | Scenarios/s | Iterations |
| ----------- | ------: | ----------: | -----------: | -------: | -------: | ----------: | ---------: |
"#
        )?;

        for ScenarioMetric {
            name,
            users,
            count,
            response_time_average,
            response_time_minimum,
            response_time_maximum,
            count_per_second,
            iterations,
        } in scenario_metrics
        {
            writeln!(
                self.w,
                r#"| {name} | {users} | {count} | {response_time_average} | {response_time_minimum}  | {response_time_maximum} | {count_per_second:.2} | {iterations:.2} |"#
            )?;
        }

        Ok(())
    }

    fn write_thresholds(&mut self) -> Result<(), GooseError> {
        let thresholds = &self.data.raw_metrics.thresholds;
        if thresholds.is_empty() {
            return Ok(());
        }

        write!(
            self.w,
            r#"
## Thresholds

| Rule | Observed | Result |
| ---- | -------: | ------ |
"#
        )?;

        for result in thresholds {
            // A failing row is bold, as well as saying so.
            let verdict = if result.passed {
                result.verdict().to_string()
            } else {
                format!("**{}**", result.verdict())
            };
            // As request names are, the rule is plain text, escaped so a request
            // name in it is never read as Markdown.
            writeln!(
                self.w,
                "| {} | {} | {} |",
                markdown_cell(&result.rule),
                markdown_cell(&result.observed),
                verdict
            )?;
        }

        Ok(())
    }

    fn write_error_metrics(&mut self) -> Result<(), GooseError> {
        let Some(errors) = &self.data.errors else {
            return Ok(());
        };

        write!(
            self.w,
            r#"
## Error Metrics

| Method | Name |  #  | Error |
| ------ | ---- | --: | ----- |
"#
        )?;

        for ErrorMetric {
            method,
            name,
            error,
            occurrences,
        } in errors
        {
            let occurrences = format_value(occurrences);
            writeln!(self.w, r#"| {method} | {name} | {occurrences} | {error} |"#)?;
        }

        Ok(())
    }

    fn write_transaction_error_metrics(&mut self) -> Result<(), GooseError> {
        let Some(errors) = &self.data.transaction_errors else {
            return Ok(());
        };

        write!(
            self.w,
            r#"
## Transaction Error Metrics

| Transaction | Scenario | Name |  #  | Error |
| ----------- | -------- | ---- | --: | ----- |
"#
        )?;

        for TransactionErrorMetric {
            transaction,
            scenario,
            name,
            error,
            occurrences,
        } in errors
        {
            let occurrences = format_value(occurrences);
            let cell = |text: &str| markdown_cell(&text.replace(['\r', '\n'], " "));
            writeln!(
                self.w,
                "| {} | {} | {} | {occurrences} | {} |",
                cell(transaction),
                cell(scenario),
                cell(name),
                cell(error),
            )?;
        }

        Ok(())
    }

    fn write_coordinated_omission_metrics(&mut self) -> Result<(), GooseError> {
        let Some(co_metrics) = &self.data.coordinated_omission_metrics else {
            return Ok(());
        };

        write!(
            self.w,
            r#"
## Coordinated Omission Metrics

"#
        )?;

        // Overall metrics
        writeln!(self.w, "**Overall Metrics:**")?;
        writeln!(self.w, "- Total CO Events: {}", co_metrics.total_co_events)?;
        writeln!(
            self.w,
            "- Synthetic Requests Generated: {}",
            format_number(co_metrics.synthetic_requests as usize)
        )?;
        writeln!(
            self.w,
            "- Actual Requests: {}",
            format_number(co_metrics.actual_requests as usize)
        )?;
        writeln!(
            self.w,
            "- Synthetic Percentage: {:.1}%",
            co_metrics.synthetic_percentage
        )?;
        writeln!(self.w)?;

        // Severity breakdown
        writeln!(self.w, "**Severity Breakdown:**")?;
        writeln!(self.w, "- Minor (2-5x): {}", co_metrics.minor_count)?;
        writeln!(self.w, "- Moderate (5-10x): {}", co_metrics.moderate_count)?;
        writeln!(self.w, "- Severe (10-20x): {}", co_metrics.severe_count)?;
        writeln!(self.w, "- Critical (>20x): {}", co_metrics.critical_count)?;
        writeln!(self.w)?;

        // Per-user breakdown if available
        if !co_metrics.per_user_events.is_empty() {
            writeln!(self.w, "**Per-User CO Events:**")?;
            writeln!(self.w)?;
            writeln!(self.w, "| User | CO Events | Severity Breakdown |")?;
            writeln!(self.w, "| ---: | --------: | ------------------ |")?;

            for (user_id, count, severity) in &co_metrics.per_user_events {
                writeln!(self.w, "| {user_id} | {count} | {severity} |")?;
            }
            writeln!(self.w)?;
        }

        // Per-scenario breakdown if available
        if !co_metrics.per_scenario_events.is_empty() {
            writeln!(self.w, "**Per-Scenario CO Events:**")?;
            writeln!(self.w)?;
            writeln!(self.w, "| Scenario | CO Events | Synthetic Requests |")?;
            writeln!(self.w, "| -------- | --------: | -----------------: |")?;

            for (scenario, count, synthetic) in &co_metrics.per_scenario_events {
                writeln!(
                    self.w,
                    "| {} | {} | {} |",
                    scenario,
                    count,
                    format_number(*synthetic)
                )?;
            }
        }

        Ok(())
    }
}

/// `text` as one Markdown paragraph, its own line breaks kept as hard breaks,
/// and each line escaped so it starts no heading, list or quote, and holds no
/// HTML tag or table cell break.
fn markdown_paragraph(text: &str) -> String {
    text.lines()
        .map(|line| escape_line(line.trim_end()))
        .collect::<Vec<_>>()
        .join("  \n")
}

/// `text` as the text of one table cell, with a backslash before every `\`, `<`,
/// `>` and `|`, as [`escape_line`] adds, and every backtick, `*`, `_`, `[`, `]` and
/// `&`, so it holds no HTML tag, cell break, code span, emphasis, link or entity.
fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '<' | '>' | '|' | '`' | '*' | '_' | '[' | ']' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `line` without its indent, which could start a code block, and with a
/// backslash before a leading `#`, `-`, `+`, `*` or `=`, the `.` or `)` after
/// leading digits, and every `\`, `<`, `>` and `|`.
fn escape_line(line: &str) -> String {
    let mut rest = line.trim_start();
    let mut out = String::with_capacity(line.len() + 8);
    if rest.starts_with(['#', '-', '+', '*', '=']) {
        out.push('\\');
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && rest[digits..].starts_with(['.', ')']) {
        out.push_str(&rest[..digits + 1]);
        out.insert(out.len() - 1, '\\');
        rest = &rest[digits + 1..];
    }
    for c in rest.chars() {
        if matches!(c, '\\' | '<' | '>' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A threshold cell is plain text: a backtick, `|` or `<` in a request name
    /// starts no code span, cell or tag.
    #[test]
    fn threshold_cells_are_escaped() {
        assert_eq!(
            markdown_cell("p95<1s for GET /a`b|c*d_e[f]\\g&lt;"),
            "p95\\<1s for GET /a\\`b\\|c\\*d\\_e\\[f\\]\\\\g\\&lt;"
        );
        assert_eq!(markdown_cell("error-rate>=1%"), "error-rate\\>=1%");
    }

    /// A note's lines read as text, never as Markdown blocks, HTML or table
    /// cells, and keep their line breaks.
    #[test]
    fn notes_are_escaped_line_by_line() {
        let note = "# not a heading\n- not a list\n+ nor this\n> not a quote\n12. not a list\n\
                    a <b>tag</b> | a cell\n  1.5 seconds\n* star\n===\n3) item\n\\# kept\n    not code";
        assert_eq!(
            markdown_paragraph(note),
            "\\# not a heading  \n\\- not a list  \n\\+ nor this  \n\\> not a quote  \n\
             12\\. not a list  \na \\<b\\>tag\\</b\\> \\| a cell  \n1\\.5 seconds  \n\
             \\* star  \n\\===  \n3\\) item  \n\\\\# kept  \nnot code"
        );
    }
}
