//! Running a capacity search: the target started (or probed) once, one open-model attack per
//! step ([`crate::load::run::execute`]) with its own report directory (`steps/NN`), and the
//! search's own `load-summary.json` and `report.html` once it ends, whichever way it ends: found,
//! first step failed, interrupted (exit 130/143), or the target stopped answering (exit 2, after
//! the reports of the steps that ran).

use super::outcome::{self, Ending};
use super::search::{CapacityPlan, Next, Search, Stopped};
use crate::exit::Outcome;
use crate::load::arrivals::{show_rate, Schedule, Share};
use crate::load::error::LoadError;
use crate::load::plan::Plan;
use crate::load::reports::Reports;
use crate::load::run::{execute, Session, Target};
use crate::report::load_summary::{self, LoadSummary};
use crate::schema::Schemas;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder of the steps' report directories inside the command's.
pub const STEPS_DIR: &str = "steps";

/// Removes what an earlier search left in `dir`: the summary and reports, and its step
/// directories (`steps/NN`, nothing else in `steps/`).
fn clear(dir: &Path) -> Result<(), LoadError> {
    let err = |source| LoadError::ReportDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    for name in [
        load_summary::FILE_NAME,
        crate::report::REPORT_HTML,
        "report.json",
        "report.md",
    ] {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
            _ => {}
        }
    }
    let steps = dir.join(STEPS_DIR);
    if let Ok(entries) = std::fs::read_dir(&steps) {
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name();
            let ours = name
                .to_str()
                .is_some_and(|n| n.len() >= 2 && n.bytes().all(|b| b.is_ascii_digit()));
            if ours && e.path().is_dir() {
                std::fs::remove_dir_all(e.path()).map_err(err)?;
            }
        }
    }
    Ok(())
}

/// The plan of step `index` at `rate`: the base plan with a constant rate for the step's length
/// and the step's own report directory.
fn step_plan(
    base: &Plan,
    search: &CapacityPlan,
    index: usize,
    rate: f64,
) -> Result<Plan, LoadError> {
    let mut plan = base.clone();
    let schedule = Schedule::constant(rate, search.step)
        .map_err(|m| crate::load::error::flag("--start-rate", m))?;
    if let Some(open) = plan.open.as_mut() {
        open.share = Share::whole(schedule);
    }
    plan.report_dir = step_dir(&search.report_dir, index);
    plan.quiet = true;
    Ok(plan)
}

fn step_dir(dir: &Path, index: usize) -> PathBuf {
    dir.join(STEPS_DIR).join(format!("{index:02}"))
}

/// `recovery-harness load capacity`: runs the search, writes its reports, prints its table and
/// verdict. An error before the first step (bad report directory, unreachable target) is exit 2
/// with nothing written; a target that stops answering during the search is exit 2 too, after
/// the reports of every step that ran.
pub async fn run(
    base: &Plan,
    search_plan: &CapacityPlan,
    schemas: Arc<Schemas>,
) -> Result<Outcome, LoadError> {
    clear(&search_plan.report_dir)?;
    let target = Target::start(base).await?;
    let result = search(base, search_plan, schemas, &target).await;
    target.stop().await;
    result
}

async fn search(
    base: &Plan,
    search_plan: &CapacityPlan,
    schemas: Arc<Schemas>,
    target: &Target,
) -> Result<Outcome, LoadError> {
    let session = Session::open(base, target).await?;
    let shown = crate::secret::redact_userinfo(&target.base);
    if !base.quiet {
        if target.kind == "embedded" {
            crate::say!(
                "no --target: started the reference server in-process at {shown} (ephemeral loopback port)"
            );
        }
        crate::say!(
            "load capacity: scenario {} against {shown}: rules {}; steps of {} from {}/s, doubling then bisecting to {}%, at most {} in flight",
            base.scenario.name,
            search_plan.slo.join(", "),
            humantime::format_duration(search_plan.step),
            show_rate(search_plan.start_rate),
            show_rate(search_plan.precision_pct),
            base.users
        );
    }
    let mut search = Search::new(
        search_plan.start_rate,
        search_plan.max_rate,
        search_plan.precision_pct,
    );
    let mut steps = Vec::new();
    let mut summaries: Vec<LoadSummary> = Vec::new();
    let mut error: Option<LoadError> = None;
    let mut retried: Option<f64> = None;
    let ending = loop {
        if let Some(signal) = crate::load::signals::received() {
            break Ending::Interrupted(signal);
        }
        let rate = match (retried, search.next()) {
            (Some(rate), _) => rate,
            (None, Next::Run(rate)) => rate,
            (None, Next::Stop(why)) => break Ending::Stopped(why),
        };
        let index = steps.len() + 1;
        let plan = step_plan(base, search_plan, index, rate)?;
        let dir_shown = plan.report_dir.display().to_string();
        if !base.quiet {
            crate::say!(
                "step {index}: {}/s for {} ...",
                show_rate(rate),
                humantime::format_duration(search_plan.step)
            );
        }
        let reports = Reports::prepare(&plan.report_dir, None)?;
        match execute(&plan, schemas.clone(), &reports, &session, false).await {
            Ok(done) => {
                let line = outcome::step(index, rate, &done.summary, dir_shown);
                if !base.quiet {
                    print(&format!("{}\n", outcome::step_line(&line)));
                }
                let passed = done.outcome == Outcome::Passed;
                let late = line.generator_limited;
                let (lag_ms, p99_ms) = (
                    done.summary
                        .open
                        .as_ref()
                        .map_or(0.0, |o| o.start_lag_p99_ms),
                    done.summary.p99_ms,
                );
                steps.push(line);
                summaries.push(done.summary);
                if let Outcome::Interrupted { signal } = done.outcome {
                    break Ending::Interrupted(signal);
                }
                if let Some(e) = done.stopped {
                    let why = e.to_string();
                    error = Some(e);
                    break Ending::Error(why, "stopped_answering");
                }
                if late {
                    // The generator was late, not the target: once more, then give up rather
                    // than blame the target.
                    if retried.take().is_some() {
                        // A passing and a failing rate the target itself was judged at already
                        // bracket the capacity: it stands, only less precise than asked.
                        if search.capacity().is_some() && search.failing().is_some() {
                            break Ending::Stopped(Stopped::GeneratorLimited);
                        }
                        let e = LoadError::GeneratorLimited {
                            rate: show_rate(rate),
                            lag_ms,
                            p99_ms,
                        };
                        let why = e.to_string();
                        error = Some(e);
                        break Ending::Error(why, "generator_limited");
                    }
                    retried = Some(rate);
                    continue;
                }
                retried = None;
                search.record(rate, passed);
            }
            Err(e @ LoadError::NoResponse { .. }) => {
                // The target answered nothing during the step: the search cannot go on.
                reports.discard();
                let why = e.to_string();
                steps.push(outcome::failed_step(index, rate, why.clone(), dir_shown));
                error = Some(e);
                break Ending::Error(why, "stopped_answering");
            }
            Err(e) => {
                reports.discard();
                return Err(e);
            }
        }
    };

    let (outcome, capacity, failed_because) =
        outcome::judge(search_plan, base.users, steps, &ending);
    let dir = &search_plan.report_dir;
    let reports = vec![
        dir.join(load_summary::FILE_NAME).display().to_string(),
        dir.join(crate::report::REPORT_HTML).display().to_string(),
    ];
    if let Some(summary) = outcome::summary(
        &summaries,
        capacity.clone(),
        outcome,
        failed_because.clone(),
        reports,
    ) {
        load_summary::write(&summary, dir)?;
        crate::report::write_load_html(
            &crate::report::load_report::LoadReport::from_summary(&summary, Vec::new()),
            dir,
        )?;
        print(&outcome::render(&summary, base.quiet));
    } else {
        // No step ran to its end (the first gave no answer): nothing to summarise but why.
        let mut out = String::from("load capacity FAILED: no step ran\n");
        for reason in &failed_because {
            out.push_str(&format!("  - {reason}\n"));
        }
        print(&out);
    }
    match error {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// Prints `text` on stdout; a closed stdout ends the output, not the process.
fn print(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
