//! A hand-made conformance run shared by the report tests: two operations, every status, and
//! evidence full of characters that each format must escape (`<>&"'`, `|`, a backtick, unicode,
//! control characters) plus an already-redacted secret.

#![allow(dead_code, unreachable_pub)]

use chrono::{TimeZone, Utc};
use quick_xml::events::Event;
use recovery_harness::report::{
    CheckResult, Effect, Evidence, Level, RuleSource, RunReport, Status,
};
use std::path::PathBuf;
use std::time::Duration;

/// The run every golden file renders.
pub fn sample_report() -> RunReport {
    RunReport {
        tool_version: "0.1.0".into(),
        target: "https://id.example.com/auth".into(),
        embedded_target: false,
        insecure: true,
        strict: false,
        started_at: Utc
            .with_ymd_and_hms(2026, 11, 25, 15, 4, 5)
            .single()
            .expect("a valid fixed date")
            + chrono::Duration::milliseconds(678),
        duration: Duration::from_micros(10_412_345),
        notes: vec![
            "fuzzing seed 42 (64 cases)".into(),
            "target answered with header \"server: <kratos>\"".into(),
        ],
        checks: vec![
            CheckResult {
                id: "create_native.200.status".into(),
                title: "Creating a native flow answers 200".into(),
                operation: "createNativeRecoveryFlow".into(),
                rule: "GET /self-service/recovery/api answers 200 with a recoveryFlow".into(),
                source: RuleSource::OpenApi,
                level: Level::Required,
                effects: vec![Effect::CreatesFlows],
                status: Status::Passed,
                detail: "status 200 as expected".into(),
                evidence: vec![Evidence {
                    method: "GET".into(),
                    url: "https://id.example.com/auth/self-service/recovery/api".into(),
                    request_headers: vec![("Accept".into(), "application/json".into())],
                    status: Some(200),
                    ..Evidence::default()
                }],
                duration: Duration::from_micros(3_125),
            },
            CheckResult {
                id: "create_native.signed_in.token.400".into(),
                title: "A signed-in token gets 400 <session_already_available>".into(),
                operation: "createNativeRecoveryFlow".into(),
                rule: "A valid X-Session-Token makes flow creation fail with 400 & error.id \
                       \"session_already_available\""
                    .into(),
                source: RuleSource::SpecProse,
                level: Level::Required,
                effects: Vec::new(),
                status: Status::Failed,
                detail: "expected status 400, got 200; /error/id: expected 'session_already_available'\n\
                         seen | a `flow` instead"
                    .into(),
                evidence: vec![Evidence {
                    method: "GET".into(),
                    url: "https://id.example.com/auth/self-service/recovery/api?return_to=a&b=<c>".into(),
                    request_headers: vec![
                        ("Accept".into(), "application/json".into()),
                        ("X-Session-Token".into(), "[REDACTED]".into()),
                    ],
                    status: Some(200),
                    response_headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
                    pointer: Some("/ui/nodes/0/attributes/value".into()),
                    value: Some("\"héllo | `tick` \u{1b}[31mred\u{7}\"".into()),
                    body_excerpt: Some("{\"id\":\"7f0c…\",\n\"type\":\"api\"}".into()),
                    curl: Some(
                        "curl -sS -H 'Accept: application/json' -H 'X-Session-Token: [REDACTED]' \
                         'https://id.example.com/auth/self-service/recovery/api?return_to=a&b=<c>'"
                            .into(),
                    ),
                    transport_error: None,
                }],
                duration: Duration::from_micros(12_500),
            },
            CheckResult {
                id: "create_native.signed_in.cookie.400".into(),
                title: "A signed-in cookie gets 400".into(),
                operation: "createNativeRecoveryFlow".into(),
                rule: "A valid session cookie makes flow creation fail with 400".into(),
                source: RuleSource::ObservedKratos,
                level: Level::Required,
                effects: Vec::new(),
                status: Status::Skipped,
                detail: "no --session-cookie NAME=VALUE given".into(),
                evidence: Vec::new(),
                duration: Duration::ZERO,
            },
            CheckResult {
                id: "create_native.cache_control".into(),
                title: "The flow is not cacheable".into(),
                operation: "createNativeRecoveryFlow".into(),
                rule: "the 200 answer carries Cache-Control with no-store".into(),
                source: RuleSource::ObservedKratos,
                level: Level::Recommended,
                effects: Vec::new(),
                status: Status::Warning,
                detail: "expected Cache-Control with no-store, got `public, max-age=300`".into(),
                evidence: vec![Evidence {
                    method: "GET".into(),
                    url: "https://id.example.com/auth/self-service/recovery/api".into(),
                    status: Some(200),
                    response_headers: vec![("cache-control".into(), "public, max-age=300".into())],
                    ..Evidence::default()
                }],
                duration: Duration::from_micros(1_500),
            },
            CheckResult {
                id: "get.unknown_id.404".into(),
                title: "An unknown flow id gets 404 errorGeneric".into(),
                operation: "getRecoveryFlow".into(),
                rule: "Every non-200/400 status carries an errorGeneric body".into(),
                source: RuleSource::OpenApi,
                level: Level::Required,
                effects: Vec::new(),
                status: Status::Error,
                detail: "no answer: the request timed out under concurrency 16 and again alone".into(),
                evidence: vec![Evidence {
                    method: "GET".into(),
                    url: "https://id.example.com/auth/self-service/recovery/flows?id=00000000-0000-4000-8000-000000000000".into(),
                    status: None,
                    transport_error: Some("timed out after 10s".into()),
                    ..Evidence::default()
                }],
                duration: Duration::from_secs(10),
            },
            CheckResult {
                id: "get.same_flow".into(),
                title: "The flow is retrievable by id | `Accept` stays JSON".into(),
                operation: "getRecoveryFlow".into(),
                rule: "getRecoveryFlow returns the created flow".into(),
                source: RuleSource::OpenApi,
                level: Level::Required,
                effects: Vec::new(),
                status: Status::Passed,
                detail: "same id, type and state".into(),
                evidence: Vec::new(),
                duration: Duration::from_micros(2_000),
            },
        ],
    }
}

/// `tests/data/report/NAME`.
pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/report")
        .join(name)
}

/// Compares `actual` with the golden file `name` byte for byte. With `BLESS=1` in the
/// environment the golden file is (re)written instead: review the diff before committing it.
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {} ({e}); run with BLESS=1",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from {} at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
             full output:\n{actual}\n(run with BLESS=1 to accept)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}

/// A minimal DOM: enough to check structure and unescaped values.
#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> &str {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("<{}> has no attribute {name}", self.name))
    }

    pub fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    pub fn one(&self, name: &str) -> &Element {
        let found = self.all(name);
        assert_eq!(
            found.len(),
            1,
            "<{}> must have exactly one <{name}>",
            self.name
        );
        found[0]
    }
}

/// Parses `xml` with quick-xml, failing on any well-formedness error.
pub fn parse_xml(xml: &str) -> Element {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = vec![Element::default()];
    let start = |e: &quick_xml::events::BytesStart<'_>| Element {
        name: String::from_utf8(e.name().as_ref().to_vec()).expect("UTF-8 name"),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    String::from_utf8(a.key.as_ref().to_vec()).expect("UTF-8 key"),
                    a.unescape_value()
                        .expect("attribute value unescapes")
                        .into_owned(),
                )
            })
            .collect(),
        ..Element::default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Decl(d) => {
                let enc = d
                    .encoding()
                    .expect("declared encoding")
                    .expect("valid encoding");
                assert_eq!(enc.as_ref(), b"UTF-8");
            }
            Event::Start(e) => stack.push(start(&e)),
            Event::Empty(e) => {
                let el = start(&e);
                stack.last_mut().expect("open element").children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().expect("open element");
                stack.last_mut().expect("parent element").children.push(el);
            }
            Event::Text(t) => {
                let text = t.decode().expect("UTF-8 text");
                stack.last_mut().expect("open element").text.push_str(&text);
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().expect("valid character reference") {
                    Some(c) => c.to_string(),
                    None => match r.decode().expect("UTF-8 entity").as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => panic!("undeclared entity &{other};"),
                    },
                };
                stack.last_mut().expect("open element").text.push_str(&c);
            }
            Event::Eof => break,
            other => panic!("unexpected XML event {other:?}"),
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements at end of document");
    let mut root = stack.pop().expect("document");
    assert_eq!(root.children.len(), 1, "exactly one root element");
    root.children.pop().expect("root element")
}

/// XML 1.0 `Char` production: no C0 control but tab, newline and carriage return.
pub fn assert_only_xml_chars(xml: &str) {
    for c in xml.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}';
        assert!(ok, "character {c:?} is not allowed in XML 1.0");
    }
}
