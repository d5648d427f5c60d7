//! `write_check_reports`: the four files land in the report directory, created on demand,
//! replacing earlier ones whole, and an unwritable location is an error that names the path.

mod report_fixture;
mod support;

use recovery_harness::report::{
    html_check, json, junit, markdown, write_check_reports, ReportError, CONFORMANCE_JSON,
    JUNIT_XML, REPORT_HTML, SUMMARY_MD,
};
use report_fixture::sample_report;
use std::fs;
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "creates_the_directory_and_its_parents",
            &[],
            creates_the_directory_and_its_parents,
        ),
        test(
            "replaces_earlier_files_and_keeps_unrelated_ones",
            &[],
            replaces_earlier_files_and_keeps_unrelated_ones,
        ),
        test(
            "a_path_under_a_regular_file_fails_with_that_path",
            &[],
            a_path_under_a_regular_file_fails_with_that_path,
        ),
        test(
            "a_directory_in_the_way_of_a_report_fails_with_its_path_and_leaves_no_temp_file",
            &[],
            a_directory_in_the_way_of_a_report_fails_with_its_path_and_leaves_no_temp_file,
        ),
        test(
            "a_read_only_directory_fails_with_the_file_path",
            &[Needs::NotRoot],
            a_read_only_directory_fails_with_the_file_path,
        ),
        test(
            "concurrent_writers_to_one_directory_each_leave_whole_files",
            &[],
            concurrent_writers_to_one_directory_each_leave_whole_files,
        ),
    ])
}

fn creates_the_directory_and_its_parents() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("reports/nested/latest");
    let report = sample_report();
    let written = write_check_reports(&report, &dir).expect("reports written");
    assert_eq!(
        written,
        [
            dir.join(CONFORMANCE_JSON),
            dir.join(JUNIT_XML),
            dir.join(SUMMARY_MD),
            dir.join(REPORT_HTML)
        ]
    );
    assert_eq!(
        fs::read_to_string(&written[0]).expect("json"),
        json::render(&report)
    );
    assert_eq!(
        fs::read_to_string(&written[1]).expect("xml"),
        junit::render(&report)
    );
    assert_eq!(
        fs::read_to_string(&written[2]).expect("md"),
        markdown::render(&report)
    );
    assert_eq!(
        fs::read_to_string(&written[3]).expect("html"),
        html_check::render(&report)
    );
    // No temporary file is left behind.
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("list dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["conformance.json", "junit.xml", "report.html", "summary.md"]
    );
}

fn replaces_earlier_files_and_keeps_unrelated_ones() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    // A longer earlier file: a non-truncating write would leave its tail behind.
    let stale = "x".repeat(1 << 20);
    for name in [CONFORMANCE_JSON, JUNIT_XML, SUMMARY_MD, REPORT_HTML] {
        fs::write(dir.join(name), &stale).expect("seed stale file");
    }
    fs::write(dir.join("load-summary.json"), "load report").expect("seed unrelated file");

    let mut report = sample_report();
    write_check_reports(&report, dir).expect("first write");
    report.checks.truncate(1);
    write_check_reports(&report, dir).expect("second write");

    assert_eq!(
        fs::read_to_string(dir.join(CONFORMANCE_JSON)).expect("json"),
        json::render(&report)
    );
    assert_eq!(
        fs::read_to_string(dir.join(JUNIT_XML)).expect("xml"),
        junit::render(&report)
    );
    assert_eq!(
        fs::read_to_string(dir.join(SUMMARY_MD)).expect("md"),
        markdown::render(&report)
    );
    assert_eq!(
        fs::read_to_string(dir.join(REPORT_HTML)).expect("html"),
        html_check::render(&report)
    );
    assert_eq!(
        fs::read_to_string(dir.join("load-summary.json")).expect("unrelated"),
        "load report"
    );
}

fn a_path_under_a_regular_file_fails_with_that_path() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, "plain file").expect("seed file");
    let dir = file.join("reports");
    let err =
        write_check_reports(&sample_report(), &dir).expect_err("cannot create a dir under a file");
    let ReportError::Io { path, .. } = &err;
    assert_eq!(path, &dir);
    let message = recovery_harness::causes::render(&err);
    assert!(message.contains(&dir.display().to_string()), "{message}");
    assert_eq!(
        fs::read_to_string(&file).expect("file intact"),
        "plain file"
    );
}

fn a_directory_in_the_way_of_a_report_fails_with_its_path_and_leaves_no_temp_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    // junit.xml is a non-empty directory: the rename onto it must fail.
    fs::create_dir_all(dir.join(JUNIT_XML).join("inside")).expect("seed blocking dir");
    let err = write_check_reports(&sample_report(), dir).expect_err("junit.xml is blocked");
    let ReportError::Io { path, .. } = &err;
    assert_eq!(path, &dir.join(JUNIT_XML));
    let leftovers: Vec<String> = fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[cfg(unix)]
fn a_read_only_directory_fails_with_the_file_path() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("ro");
    fs::create_dir(&dir).expect("create dir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root ignores directory permissions (the runner ignores this test there: Needs::NotRoot); a
    // user with the same privilege would make the test prove nothing.
    let probe = dir.join(".probe");
    assert!(
        fs::write(&probe, "").is_err(),
        "this user writes into a read-only directory: the refusal cannot be provoked"
    );
    let result = write_check_reports(&sample_report(), &dir);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod back");
    let err = result.expect_err("read-only dir");
    let ReportError::Io { path, .. } = &err;
    assert_eq!(path, &dir.join(CONFORMANCE_JSON));
}

fn concurrent_writers_to_one_directory_each_leave_whole_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let mut small = sample_report();
    small.checks.truncate(1);
    let reports = [sample_report(), small];
    std::thread::scope(|scope| {
        for i in 0..8 {
            let (dir, report) = (&dir, &reports[i % 2]);
            scope.spawn(move || write_check_reports(report, dir).expect("concurrent write"));
        }
    });
    // Whichever writer renamed last, each file is one complete rendering, never a mix.
    let json_text = fs::read_to_string(dir.join(CONFORMANCE_JSON)).expect("json");
    assert!(reports.iter().any(|r| json::render(r) == json_text));
    let xml = fs::read_to_string(dir.join(JUNIT_XML)).expect("xml");
    assert!(reports.iter().any(|r| junit::render(r) == xml));
    let md = fs::read_to_string(dir.join(SUMMARY_MD)).expect("md");
    assert!(reports.iter().any(|r| markdown::render(r) == md));
    let html = fs::read_to_string(dir.join(REPORT_HTML)).expect("html");
    assert!(reports.iter().any(|r| html_check::render(r) == html));
    let count = fs::read_dir(&dir).expect("list dir").count();
    assert_eq!(count, 4, "no temporary file left behind");
}
