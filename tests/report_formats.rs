//! Structural tests of the file reports: `conformance.json` against its committed JSON Schema and
//! docs/contract.md, `junit.xml` through a real XML parser, `summary.md` for its escaping, and the
//! rule that renderers show an already-redacted report exactly as it is.

mod report_fixture;

use recovery_harness::report::{
    json, junit, markdown, CheckResult, Evidence, Level, RuleSource, RunReport, Status,
};
use report_fixture::{assert_only_xml_chars, parse_xml, sample_report, Element};
use serde_json::Value;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// conformance.json

fn schema() -> Value {
    serde_json::from_str(json::SCHEMA).expect("the committed schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema())
        .expect("the committed schema compiles")
}

fn assert_valid(doc: &Value) {
    let v = validator();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "conformance.json breaks its schema: {errors:#?}"
    );
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::meta::validate(&s).expect("schema valid against its meta-schema");
}

/// Every property of every object in the schema says what it means: a schema is documentation too.
#[test]
fn schema_describes_every_field() {
    fn walk(node: &Value, path: &str, missing: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (name, prop) in props {
                        if prop
                            .get("description")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                        {
                            missing.push(format!("{path}/properties/{name}"));
                        }
                    }
                }
                for (key, child) in map {
                    walk(child, &format!("{path}/{key}"), missing);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}/{i}"), missing);
                }
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    walk(&schema(), "#", &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:?}"
    );
}

#[test]
fn real_output_validates_against_the_schema() {
    let doc: Value = serde_json::from_str(&json::render(&sample_report())).expect("output is JSON");
    assert_valid(&doc);
}

#[test]
fn empty_and_all_passed_runs_validate_too() {
    let mut report = sample_report();
    report.checks.retain(|c| c.status == Status::Passed);
    report.notes.clear();
    report.insecure = false;
    let doc: Value = serde_json::from_str(&json::render(&report)).expect("output is JSON");
    assert_valid(&doc);
    assert_eq!(doc["outcome"], "passed");

    report.checks.clear();
    let doc: Value = serde_json::from_str(&json::render(&report)).expect("output is JSON");
    assert_valid(&doc);
    assert_eq!(doc["summary"]["total"], 0);
}

#[test]
fn schema_rejects_documents_that_break_the_contract() {
    let good: Value =
        serde_json::from_str(&json::render(&sample_report())).expect("output is JSON");
    let v = validator();
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: [Breakage; 6] = [
        ("no target", |d| {
            d.as_object_mut().map(|o| o.remove("target"));
        }),
        ("unknown status", |d| d["checks"][0]["status"] = "ok".into()),
        ("summary without skipped", |d| {
            d["summary"].as_object_mut().map(|o| o.remove("skipped"));
        }),
        ("negative count", |d| d["summary"]["failed"] = (-1).into()),
        ("check without detail", |d| {
            d["checks"][1].as_object_mut().map(|o| o.remove("detail"));
        }),
        ("status code as text", |d| {
            d["checks"][1]["evidence"][0]["status"] = "200".into()
        }),
    ];
    for (what, breaks) in breakages {
        let mut doc = good.clone();
        breaks(&mut doc);
        assert!(
            !v.is_valid(&doc),
            "the schema accepts a document with {what}"
        );
    }
}

/// The docs/contract.md shape, read the way a CI script would.
#[test]
fn output_has_the_contract_shape() {
    let report = sample_report();
    let doc: Value = serde_json::from_str(&json::render(&report)).expect("output is JSON");
    assert_eq!(doc["target"], "https://id.example.com/auth");
    let s = &doc["summary"];
    assert_eq!(
        (
            s["passed"].as_u64(),
            s["failed"].as_u64(),
            s["skipped"].as_u64(),
            s["warnings"].as_u64(),
            s["errors"].as_u64(),
        ),
        (Some(2), Some(1), Some(1), Some(1), Some(1))
    );
    let checks = doc["checks"].as_array().expect("checks is an array");
    assert_eq!(checks.len(), report.checks.len());
    for (c, expected) in checks.iter().zip(&report.checks) {
        assert_eq!(c["id"], expected.id.as_str());
        assert_eq!(c["title"], expected.title.as_str());
        assert_eq!(c["status"], expected.status.as_str());
        assert_eq!(c["detail"], expected.detail.as_str());
        assert_eq!(c["level"], expected.level.as_str());
    }
    // Control characters survive as JSON escapes, not raw bytes.
    let text = json::render(&report);
    assert!(text.contains(r"\u001b[31mred\u0007"), "{text}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
}

// ---------------------------------------------------------------------------------------------
// junit.xml

#[test]
fn junit_is_well_formed_and_structured_per_operation() {
    let report = sample_report();
    let xml = junit::render(&report);
    assert_only_xml_chars(&xml);
    let root = parse_xml(&xml);
    assert_eq!(root.name, "testsuites");
    assert_eq!(
        (
            root.attr("tests"),
            root.attr("failures"),
            root.attr("skipped"),
            root.attr("errors")
        ),
        ("6", "1", "1", "1")
    );
    let suites = root.all("testsuite");
    let names: Vec<&str> = suites.iter().map(|s| s.attr("name")).collect();
    assert_eq!(names, ["createNativeRecoveryFlow", "getRecoveryFlow"]);

    for suite in &suites {
        let cases = suite.all("testcase");
        let failures = cases
            .iter()
            .filter(|c| !c.all("failure").is_empty())
            .count();
        let skipped = cases
            .iter()
            .filter(|c| !c.all("skipped").is_empty())
            .count();
        assert_eq!(suite.attr("tests"), cases.len().to_string());
        assert_eq!(suite.attr("failures"), failures.to_string());
        assert_eq!(suite.attr("skipped"), skipped.to_string());
        let errors = cases.iter().filter(|c| !c.all("error").is_empty()).count();
        assert_eq!(suite.attr("errors"), errors.to_string());
        assert_eq!(suite.attr("timestamp"), "2026-11-25T15:04:05");
        let props = suite.one("properties").all("property");
        let prop = |n: &str| {
            props
                .iter()
                .find(|p| p.attr("name") == n)
                .map(|p| p.attr("value"))
        };
        assert_eq!(prop("target"), Some("https://id.example.com/auth"));
        assert_eq!(prop("tool_version"), Some("0.1.0"));
        assert_eq!(prop("insecure"), Some("true"));
        let out = &suite.one("system-out").text;
        assert!(
            out.contains("--insecure") && out.contains("server: <kratos>"),
            "{out}"
        );
        for case in cases {
            assert_eq!(case.attr("classname"), suite.attr("name"));
            assert!(case.attr("time").parse::<f64>().is_ok());
        }
    }

    // Every check is one testcase whose name round-trips through the escaping.
    let cases: Vec<&Element> = suites.iter().flat_map(|s| s.all("testcase")).collect();
    assert_eq!(cases.len(), report.checks.len());
    for (case, check) in cases.iter().zip(&report.checks) {
        assert_eq!(case.attr("name"), format!("{} — {}", check.id, check.title));
        match check.status {
            Status::Passed => assert!(case.children.is_empty(), "a passed testcase is empty"),
            Status::Skipped => assert_eq!(case.one("skipped").attr("message"), check.detail),
            // Without --strict a warning passes, with the warning as its output.
            Status::Warning => {
                assert!(case.all("failure").is_empty());
                let out = &case.one("system-out").text;
                assert!(
                    out.starts_with("WARNING") && out.contains(&check.detail),
                    "{out}"
                );
            }
            Status::Error => assert_eq!(case.one("error").attr("message"), check.detail),
            Status::Failed => {
                let failure = case.one("failure");
                // Attribute values keep their newlines (encoded as &#10;).
                assert_eq!(failure.attr("message"), check.detail);
                for ev in &check.evidence {
                    assert!(
                        failure.text.contains(&ev.url),
                        "failure text has the URL: {}",
                        failure.text
                    );
                    if let Some(curl) = &ev.curl {
                        assert!(failure.text.contains(curl.as_str()));
                    }
                }
            }
        }
    }
    let token_failure = cases[1].one("failure");
    assert_eq!(token_failure.attr("type"), "conformance");
    assert!(token_failure
        .text
        .contains("/ui/nodes/0/attributes/value = \"héllo | `tick` \\u{1b}[31mred\\u{7}\""));
    assert_eq!(cases[4].one("error").attr("type"), "no_answer");

    // Under --strict the warning is a failure to the reporter too, as it is to the exit code.
    let mut strict = sample_report();
    strict.strict = true;
    let root = parse_xml(&junit::render(&strict));
    assert_eq!(root.attr("failures"), "2");
    let cases: Vec<&Element> = root
        .all("testsuite")
        .into_iter()
        .flat_map(|s| s.all("testcase"))
        .collect();
    assert_eq!(cases[3].one("failure").attr("type"), "warning");
}

#[test]
fn junit_without_notes_or_insecure_has_no_system_out() {
    let mut report = sample_report();
    report.notes.clear();
    report.insecure = false;
    let root = parse_xml(&junit::render(&report));
    for suite in root.all("testsuite") {
        assert!(suite.all("system-out").is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// summary.md

#[test]
fn markdown_tables_keep_their_columns() {
    let md = markdown::render(&sample_report());
    // Every table row has exactly six unescaped pipes (five columns).
    for line in md.lines().filter(|l| l.starts_with('|')) {
        let mut pipes = 0;
        let mut escaped = false;
        for c in line.chars() {
            if c == '|' && !escaped {
                pipes += 1;
            }
            escaped = c == '\\' && !escaped;
        }
        assert_eq!(pipes, 6, "row with a broken cell: {line}");
    }
    assert!(
        md.contains(r"The flow is retrievable by id \| \`Accept\` stays JSON"),
        "{md}"
    );
}

#[test]
fn markdown_headline_insecure_warning_and_details() {
    let md = markdown::render(&sample_report());
    let first = md.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "## ❌ Recovery conformance failed: 2 passed, 1 failed, 1 warning, 1 skipped, 1 error"
    );
    assert!(md.contains("> [!WARNING]"));
    assert_eq!(
        md.matches("<details>").count(),
        3,
        "one details block per failure, warning and error"
    );
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    assert!(
        !md.chars().any(|c| c.is_control() && c != '\n'),
        "no raw control characters"
    );

    let mut warned = sample_report();
    warned
        .checks
        .retain(|c| !matches!(c.status, Status::Failed | Status::Error));
    warned.insecure = false;
    let md = markdown::render(&warned);
    assert!(md.starts_with(
        "## ⚠️ Recovery conformance passed with warnings: 2 passed, 0 failed, 1 warning, 1 skipped\n"
    ));
    warned.strict = true;
    assert!(markdown::render(&warned).starts_with("## ❌ Recovery conformance failed"));

    let mut clean = sample_report();
    clean
        .checks
        .retain(|c| matches!(c.status, Status::Passed | Status::Skipped));
    clean.insecure = false;
    let md = markdown::render(&clean);
    assert!(md.starts_with(
        "## ✅ Recovery conformance passed: 2 passed, 0 failed, 0 warnings, 1 skipped\n"
    ));
    assert!(!md.contains("[!WARNING]") && !md.contains("<details>"));
}

#[test]
fn markdown_fence_outlasts_backticks_in_evidence() {
    let mut report = sample_report();
    report.checks[1].evidence[0].body_excerpt = Some("```\n</details>\n```".into());
    let md = markdown::render(&report);
    assert!(md.contains("````text\n"), "a longer fence is chosen: {md}");
    // The </details> inside the fenced block is content; the block still closes once per failure
    // (and per warning and error).
    assert_eq!(md.matches("\n</details>\n\n").count(), 3);
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// Renderers take the report as it is: what the producer redacted stays redacted, and nothing
/// new (a secret) can appear since renderers read no other input.
#[test]
fn redacted_values_stay_redacted_in_every_format() {
    let report = RunReport {
        tool_version: "0.1.0".into(),
        target: "https://[REDACTED]@id.example.com".into(),
        embedded_target: false,
        insecure: false,
        strict: false,
        started_at: chrono::DateTime::UNIX_EPOCH,
        duration: Duration::from_millis(5),
        notes: vec!["session token [REDACTED] supplied".into()],
        checks: vec![CheckResult {
            id: "create_native.signed_in.cookie.400".into(),
            title: "cookie".into(),
            operation: "createNativeRecoveryFlow".into(),
            rule: "r".into(),
            source: RuleSource::ObservedKratos,
            level: Level::Required,
            effects: Vec::new(),
            status: Status::Failed,
            detail: "sent Cookie: ory_kratos_session=[REDACTED]".into(),
            evidence: vec![Evidence {
                method: "GET".into(),
                url: "https://id.example.com/self-service/recovery/api".into(),
                request_headers: vec![("Cookie".into(), "ory_kratos_session=[REDACTED]".into())],
                status: Some(200),
                curl: Some(
                    "curl -H 'Cookie: ory_kratos_session=[REDACTED]' https://id.example.com".into(),
                ),
                ..Evidence::default()
            }],
            duration: Duration::from_millis(1),
        }],
    };
    let mut term = Vec::new();
    let opts = recovery_harness::report::terminal::TerminalOptions {
        color: false,
        quiet: false,
    };
    recovery_harness::report::terminal::render(&report, &opts, &mut term).expect("render");
    let outputs = [
        ("json", json::render(&report)),
        ("junit", junit::render(&report)),
        ("markdown", markdown::render(&report)),
        ("terminal", String::from_utf8(term).expect("UTF-8")),
    ];
    for (format, out) in outputs {
        // The evidence (a fenced block in Markdown) shows the marker verbatim in every format.
        assert!(
            out.contains("ory_kratos_session=[REDACTED]"),
            "{format}: {out}"
        );
        assert!(
            out.contains("[REDACTED]@id.example.com")
                || out.contains(r"\[REDACTED\]@id.example.com"),
            "{format}: target keeps its marker: {out}"
        );
    }
}

#[test]
fn markdown_stays_small_with_huge_evidence() {
    let mut report = sample_report();
    let huge = "x".repeat(200_000);
    for c in &mut report.checks {
        c.status = Status::Failed;
        c.evidence = vec![Evidence {
            method: "GET".into(),
            url: "http://h/".into(),
            body_excerpt: Some(huge.clone()),
            ..Evidence::default()
        }];
    }
    let md = markdown::render(&report);
    let n = report.checks.len();
    assert!(md.len() < n * 5_000, "summary.md is {} bytes", md.len());
    assert_eq!(md.matches("more bytes in conformance.json").count(), n);
    // The JSON keeps everything.
    assert!(json::render(&report).contains(&huge));
}
