//! The contract's exit semantics and report shape (docs/contract.md), held by every rendering of
//! any run.
//!
//! docs/contract.md, "Exit codes": `0` every check passed or was skipped (or, without
//! `--strict`, warned); `1` at least one check failed; and `conformance.json` has `target`,
//! `summary{passed,failed,skipped}` and `checks[{id,title,status,detail}]`. The summary and the verdict are computed once, by the
//! model ([`RunReport::summary`], [`RunReport::outcome`]); these tests pin that logic to the
//! contract and check, for arbitrary runs (any text, control characters included), that every
//! format tells the same verdict and stays well-formed.

mod report_fixture;

use proptest::prelude::*;
use recovery_harness::exit::{self, Outcome};
use recovery_harness::report::terminal::{self, TerminalOptions};
use recovery_harness::report::{
    json, junit, markdown, CheckResult, Evidence, Level, RuleSource, RunReport, Status,
};
use report_fixture::{assert_only_xml_chars, parse_xml};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

fn check(id: &str, status: Status) -> CheckResult {
    CheckResult {
        id: id.to_owned(),
        title: format!("title of {id}"),
        operation: "createNativeRecoveryFlow".to_owned(),
        rule: "rule".to_owned(),
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: Vec::new(),
        status,
        detail: "detail".to_owned(),
        evidence: Vec::new(),
        duration: Duration::from_millis(1),
    }
}

fn run(checks: Vec<CheckResult>) -> RunReport {
    RunReport {
        tool_version: "0.1.0".to_owned(),
        target: "http://127.0.0.1:4433".to_owned(),
        embedded_target: true,
        insecure: false,
        strict: false,
        started_at: chrono::DateTime::UNIX_EPOCH,
        duration: Duration::from_millis(7),
        notes: Vec::new(),
        checks,
    }
}

#[test]
fn exit_codes_are_the_contract_ones() {
    assert_eq!(exit::SUCCESS, 0);
    assert_eq!(exit::FAILURE, 1);
    assert_eq!(exit::ERROR, 2);
    assert_eq!(Outcome::Passed.code(), 0);
    assert_eq!(Outcome::Failed.code(), 1);
}

#[test]
fn verdicts_follow_the_contract_table() {
    use Status::{Error as E, Failed as F, Passed as P, Skipped as S, Warning as W};
    let cases: [(&str, &[Status], u8); 10] = [
        ("a warning alone does not fail a run", &[P, W, S], 0),
        ("an error of the run fails it", &[P, E], 1),
        ("a failure among warnings", &[W, F], 1),
        ("every check passed", &[P, P, P], 0),
        ("passed or skipped", &[P, S, P], 0),
        ("only skipped: skipped never fails a run", &[S, S], 0),
        ("one failure among passes", &[P, F, P], 1),
        ("one failure among skips", &[S, F], 1),
        ("everything failed", &[F, F], 1),
        ("the last check failed", &[P, S, F], 1),
    ];
    for (what, statuses, code) in cases {
        let checks = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| check(&format!("c.{i}"), *s))
            .collect();
        let report = run(checks);
        assert_eq!(report.outcome().code(), code, "{what}");
        let doc: Value = serde_json::from_str(&json::render(&report)).expect("JSON");
        let expected = if code == 0 { "passed" } else { "failed" };
        assert_eq!(
            doc["outcome"], expected,
            "{what}: conformance.json agrees with the exit code"
        );
    }
    let mut strict = run(vec![
        check("c.0", Status::Passed),
        check("c.1", Status::Warning),
    ]);
    strict.strict = true;
    assert_eq!(strict.outcome().code(), 1, "--strict makes a warning fail");
}

// ---------------------------------------------------------------------------------------------
// Any run

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(json::SCHEMA).expect("schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .expect("schema compiles")
    })
}

/// Non-empty text, for the fields the schema requires to be non-empty (id, target): the producer
/// guarantees them.
fn nonempty_text() -> impl Strategy<Value = String> {
    nasty_text().prop_map(|s| format!("x{s}"))
}

/// Text with the characters that break formats: markup, quotes, pipes, backticks, newlines,
/// control characters, unicode; or anything at all.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(
            prop::sample::select(vec![
                "a",
                "Z",
                " ",
                "<",
                ">",
                "&",
                "\"",
                "'",
                "|",
                "`",
                "```",
                "\n",
                "\r",
                "\t",
                "\u{0}",
                "\u{1b}[31m",
                "\u{7f}",
                "\u{85}",
                "é",
                "✓",
                "\u{fffe}",
                "]]>",
                "\\",
                "*",
                "_",
                "[REDACTED]",
                "</details>",
                "#",
                "--",
            ]),
            0..12,
        )
        .prop_map(|parts| parts.concat()),
        any::<String>(),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Passed),
        Just(Status::Failed),
        Just(Status::Skipped),
        Just(Status::Warning),
        Just(Status::Error)
    ]
}

fn source() -> impl Strategy<Value = RuleSource> {
    prop_oneof![
        Just(RuleSource::OpenApi),
        Just(RuleSource::SpecProse),
        Just(RuleSource::ObservedKratos)
    ]
}

fn evidence() -> impl Strategy<Value = Evidence> {
    (
        (nasty_text(), nasty_text(), prop::option::of(100u16..600)),
        prop::collection::vec((nasty_text(), nasty_text()), 0..3),
        (
            prop::option::of(nasty_text()),
            prop::option::of(nasty_text()),
            prop::option::of(nasty_text()),
            prop::option::of(nasty_text()),
            prop::option::of(nasty_text()),
        ),
    )
        .prop_map(
            |((method, url, status), headers, (pointer, value, body, curl, transport))| Evidence {
                method,
                url,
                request_headers: headers.clone(),
                status,
                response_headers: headers,
                pointer,
                value,
                body_excerpt: body,
                curl,
                transport_error: transport,
            },
        )
}

fn check_result() -> impl Strategy<Value = CheckResult> {
    (
        (
            nonempty_text(),
            nasty_text(),
            prop::sample::select(vec!["opA", "opB", "op|<C>`"]),
        ),
        (nasty_text(), source(), status(), nasty_text()),
        prop::collection::vec(evidence(), 0..3),
        0u64..20_000_000,
    )
        .prop_map(
            |((id, title, op), (rule, source, status, detail), evidence, micros)| CheckResult {
                id,
                title,
                operation: op.to_owned(),
                rule,
                source,
                level: if status == Status::Warning {
                    Level::Recommended
                } else {
                    Level::Required
                },
                effects: Vec::new(),
                status,
                detail,
                evidence,
                duration: Duration::from_micros(micros),
            },
        )
}

fn run_report() -> impl Strategy<Value = RunReport> {
    (
        (nonempty_text(), any::<bool>(), any::<bool>(), any::<bool>()),
        prop::collection::vec(nasty_text(), 0..3),
        prop::collection::vec(check_result(), 0..8),
        (0i64..4_000_000_000, 0u64..100_000_000),
    )
        .prop_map(
            |((target, embedded_target, insecure, strict), notes, checks, (secs, micros))| {
                RunReport {
                    tool_version: "0.1.0".to_owned(),
                    target,
                    embedded_target,
                    insecure,
                    strict,
                    started_at: chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default(),
                    duration: Duration::from_micros(micros),
                    notes,
                    checks,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn summary_and_outcome_match_the_checks(report in run_report()) {
        let s = report.summary();
        let count = |st: Status| report.checks.iter().filter(|c| c.status == st).count();
        prop_assert_eq!(s.passed, count(Status::Passed));
        prop_assert_eq!(s.failed, count(Status::Failed));
        prop_assert_eq!(s.skipped, count(Status::Skipped));
        prop_assert_eq!(s.warnings, count(Status::Warning));
        prop_assert_eq!(s.errors, count(Status::Error));
        prop_assert_eq!(s.total(), report.checks.len());
        let fails = report.checks.iter().any(|c| {
            matches!(c.status, Status::Failed | Status::Error)
                || (report.strict && c.status == Status::Warning)
        });
        prop_assert_eq!(report.outcome().code(), if fails { 1 } else { 0 });
    }

    #[test]
    fn conformance_json_is_valid_and_tells_the_verdict(report in run_report()) {
        let text = json::render(&report);
        let doc: Value = serde_json::from_str(&text).expect("output is JSON");
        let errors: Vec<String> = validator().iter_errors(&doc).map(|e| e.to_string()).collect();
        prop_assert!(errors.is_empty(), "schema errors: {:?}", errors);
        let s = report.summary();
        prop_assert_eq!(&doc["target"], &Value::from(report.target.as_str()));
        prop_assert_eq!(&doc["summary"]["passed"], &Value::from(s.passed));
        prop_assert_eq!(&doc["summary"]["failed"], &Value::from(s.failed));
        prop_assert_eq!(&doc["summary"]["skipped"], &Value::from(s.skipped));
        prop_assert_eq!(&doc["summary"]["warnings"], &Value::from(s.warnings));
        prop_assert_eq!(&doc["summary"]["errors"], &Value::from(s.errors));
        let outcome = if report.outcome() == Outcome::Failed { "failed" } else { "passed" };
        prop_assert_eq!(&doc["outcome"], &Value::from(outcome));
        let ids: Vec<&str> = doc["checks"].as_array().expect("checks").iter()
            .map(|c| c["id"].as_str().expect("id"))
            .collect();
        let expected: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
        prop_assert_eq!(ids, expected);
    }

    #[test]
    fn junit_is_well_formed_and_counts_agree(report in run_report()) {
        let xml = junit::render(&report);
        assert_only_xml_chars(&xml);
        let root = parse_xml(&xml);
        let s = report.summary();
        prop_assert_eq!(root.attr("tests"), s.total().to_string());
        let want_failures = s.failed + if report.strict { s.warnings } else { 0 };
        prop_assert_eq!(root.attr("failures"), want_failures.to_string());
        prop_assert_eq!(root.attr("errors"), s.errors.to_string());
        prop_assert_eq!(root.attr("skipped"), s.skipped.to_string());
        let cases: Vec<_> = root.all("testsuite").into_iter().flat_map(|t| t.all("testcase")).collect();
        prop_assert_eq!(cases.len(), report.checks.len());
        let failures = cases.iter().filter(|c| !c.all("failure").is_empty()).count();
        prop_assert_eq!(failures, want_failures);
        let errors = cases.iter().filter(|c| !c.all("error").is_empty()).count();
        prop_assert_eq!(errors, s.errors);
    }

    #[test]
    fn markdown_headline_and_rows_agree(report in run_report()) {
        let md = markdown::render(&report);
        let s = report.summary();
        let verdict = if report.outcome() == Outcome::Failed {
            "❌ Recovery conformance failed"
        } else if s.warnings > 0 {
            "⚠️ Recovery conformance passed with warnings"
        } else {
            "✅ Recovery conformance passed"
        };
        let plural = |n: usize, w: &str| if n == 1 { format!("1 {w}") } else { format!("{n} {w}s") };
        let mut headline = format!(
            "## {verdict}: {} passed, {} failed, {}, {} skipped",
            s.passed, s.failed, plural(s.warnings, "warning"), s.skipped
        );
        if s.errors > 0 {
            headline.push_str(&format!(", {}", plural(s.errors, "error")));
        }
        prop_assert_eq!(md.lines().next(), Some(headline.as_str()));
        let rows = md.lines().filter(|l| ["| ✅ |", "| ❌ |", "| ⏭️ |", "| ⚠️ |", "| 💥 |"].iter().any(|p| l.starts_with(p))).count();
        prop_assert_eq!(rows, report.checks.len());
        prop_assert_eq!(md.matches("<details>").count(), s.failed + s.warnings + s.errors);
        prop_assert!(!md.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "raw control character in {:?}", md);
    }

    #[test]
    fn terminal_ends_with_the_counts_and_never_leaks_escapes(report in run_report(), quiet in any::<bool>()) {
        let mut out = Vec::new();
        terminal::render(&report, &TerminalOptions { color: false, quiet }, &mut out).expect("render");
        let text = String::from_utf8(out).expect("UTF-8");
        let s = report.summary();
        let last = text.lines().last().unwrap_or_default();
        let plural = |n: usize, w: &str| if n == 1 { format!("1 {w}") } else { format!("{n} {w}s") };
        let errors = if s.errors > 0 { format!(", {}", plural(s.errors, "error")) } else { String::new() };
        let prefix = format!(
            "{} passed, {} failed, {}, {} skipped{errors} in ",
            s.passed, s.failed, plural(s.warnings, "warning"), s.skipped
        );
        prop_assert!(last.starts_with(&prefix), "last line {:?}", last);
        prop_assert!(last.ends_with(" ms"));
        // Without colour, nothing from the target may reach the terminal as a control sequence.
        prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{:?}", text);
        if quiet {
            prop_assert!(!text.lines().any(|l| l.starts_with("  PASS ") || l.starts_with("  SKIP ")));
        }
    }
}
