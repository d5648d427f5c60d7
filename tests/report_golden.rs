//! Exact-string golden tests of every report format (hurl style): any change to a format shows
//! up as a diff of `tests/data/report/*`, reviewed like code. `BLESS=1 cargo test --test
//! report_golden` rewrites the files after an intended change.

mod report_fixture;

use recovery_harness::report::terminal::{self, TerminalOptions};
use recovery_harness::report::{json, junit, markdown};
use report_fixture::{assert_golden, sample_report};

fn terminal_output(opts: TerminalOptions) -> String {
    let mut out = Vec::new();
    terminal::render(&sample_report(), &opts, &mut out).expect("render into a Vec");
    String::from_utf8(out).expect("terminal output is UTF-8")
}

#[test]
fn conformance_json_matches_golden() {
    assert_golden("conformance.json", &json::render(&sample_report()));
}

#[test]
fn junit_xml_matches_golden() {
    assert_golden("junit.xml", &junit::render(&sample_report()));
}

#[test]
fn summary_md_matches_golden() {
    assert_golden("summary.md", &markdown::render(&sample_report()));
}

#[test]
fn terminal_plain_matches_golden() {
    let text = terminal_output(TerminalOptions {
        color: false,
        quiet: false,
    });
    assert!(
        !text.contains('\u{1b}'),
        "no escape sequence without colour"
    );
    assert_golden("terminal.txt", &text);
}

#[test]
fn terminal_colour_matches_golden() {
    let text = terminal_output(TerminalOptions {
        color: true,
        quiet: false,
    });
    assert!(text.contains("\u{1b}[31"), "failures are red");
    assert_golden("terminal-color.txt", &text);
}

#[test]
fn terminal_quiet_matches_golden() {
    let text = terminal_output(TerminalOptions {
        color: false,
        quiet: true,
    });
    assert!(
        !text.contains("PASS") && !text.contains("SKIP"),
        "quiet shows failures only"
    );
    assert_golden("terminal-quiet.txt", &text);
}

#[test]
fn write_functions_match_render() {
    let report = sample_report();
    let mut buf = Vec::new();
    json::write(&report, &mut buf).expect("write json");
    assert_eq!(buf, json::render(&report).into_bytes());
    buf.clear();
    junit::write(&report, &mut buf).expect("write junit");
    assert_eq!(buf, junit::render(&report).into_bytes());
    buf.clear();
    markdown::write(&report, &mut buf).expect("write markdown");
    assert_eq!(buf, markdown::render(&report).into_bytes());
}

#[test]
fn terminal_quiet_clean_run_is_the_summary_line_alone() {
    let mut report = sample_report();
    use recovery_harness::report::Status;
    report
        .checks
        .retain(|c| matches!(c.status, Status::Passed | Status::Skipped));
    report.insecure = false;
    let mut out = Vec::new();
    let opts = TerminalOptions {
        color: false,
        quiet: true,
    };
    terminal::render(&report, &opts, &mut out).expect("render into a Vec");
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        "2 passed, 0 failed, 0 warnings, 1 skipped in 10412 ms\n"
    );
}
