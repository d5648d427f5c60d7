//! Writes the constructed load run of the HTML tests as `DIR/load/report.html` (and the check
//! fixture as `DIR/check-fixture/report.html`), for `docs/screenshots.sh` and for looking at the
//! pages while changing them: `cargo run --example report_samples -- DIR`.

#[path = "../tests/html_fixture/mod.rs"]
mod html_fixture;
#[path = "../tests/report_fixture/mod.rs"]
mod report_fixture;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .ok_or("usage: report_samples DIR")?,
    );
    let load = recovery_harness::report::write_load_html(
        &html_fixture::sample_load_report(),
        &dir.join("load"),
    )?;
    let check_dir = dir.join("check-fixture");
    std::fs::create_dir_all(&check_dir)?;
    let check = check_dir.join("report.html");
    std::fs::write(
        &check,
        recovery_harness::report::html_check::render(&report_fixture::sample_report()),
    )?;
    println!("{}\n{}", load.display(), check.display());
    Ok(())
}
