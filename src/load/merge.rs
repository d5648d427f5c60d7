//! `recovery-harness load merge DIR...`: the shards of one run (`load --shard I/N`) joined into
//! one exact result and one verdict.
//!
//! Exact, because nothing is averaged: each shard's Goose `report.json` holds its raw response
//! times (`raw_metrics.requests[*].raw_data.times_us`, Goose's log-linear microsecond buckets,
//! see goose `src/metrics/buckets.rs`). The merge adds the counts of equal buckets, so the merged
//! histogram is the one a single process would have recorded for all the requests, and the
//! percentiles come from Goose's own `GooseRequestMetricTimingData::percentile_us` over it.
//! Counts, failures, Goose's error table and the harness's schema counters are summed. `rps` is
//! all requests over the measured window, whose length is every shard's (they run the same
//! `--duration`; `--start-at` makes the windows coincide, and a warning says when they do not).
//!
//! The thresholds are judged here, on the merged figures, with Goose's rule syntax and
//! comparison; the verdict, `load-summary.json` and the exit code are those of a single run.
//! Shards that do not belong together (missing, duplicated, of another scenario, target, tool
//! version, duration or set of rules) are refused: exit 2.

pub use super::error::MergeError;
use super::figures::aggregated;
use super::shard::ShardSpec;
use super::summary::{failure_reasons, step_summaries};
use crate::exit::Outcome;
use crate::report::load_summary::{
    self, LoadSummary, MergeSummary, OpenSummary, ShardSummary, ThresholdVerdict,
};
use chrono::{DateTime, Utc};
use goose::metrics::{GooseMetrics, GooseRequestMetricAggregate};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name of Goose's JSON report in a shard's directory.
pub const GOOSE_REPORT: &str = "report.json";
/// Below this share of the whole span, the shards' windows "barely overlap": the merged rps and
/// percentiles then describe load that was never applied at once.
pub const MIN_OVERLAP: f64 = 0.9;

/// What a shard's `load-summary.json` must say for the merge (other fields are not read, so a
/// summary gaining fields still merges).
#[derive(Debug, Clone, Deserialize)]
struct ShardFile {
    tool: String,
    target: String,
    target_kind: String,
    scenario: String,
    scenario_origin: String,
    started_at: String,
    finished_at: String,
    duration_s: u64,
    hatch_rate: f64,
    validate: String,
    schema_failures: u64,
    status_mismatches: u64,
    body_violations: u64,
    transport_errors: u64,
    validated_bodies: u64,
    #[serde(default)]
    skipped_steps: u64,
    verdict: String,
    shard: Option<ShardSummary>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    achieved_rate: Option<f64>,
    #[serde(default)]
    dropped_iterations: Option<u64>,
    #[serde(default)]
    open: Option<OpenSummary>,
}

/// Goose's JSON report: only the raw metrics are read.
#[derive(Deserialize)]
struct GooseReport {
    raw_metrics: GooseMetrics,
}

/// One shard, read.
struct Shard {
    dir: PathBuf,
    file: ShardFile,
    meta: ShardSummary,
    metrics: GooseMetrics,
}

/// `dirs` with every directory that is no shard itself replaced by its subdirectories that
/// are, sorted.
pub fn shard_dirs(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, MergeError> {
    let mut out = Vec::new();
    for dir in dirs {
        if dir.join(load_summary::FILE_NAME).is_file() {
            out.push(dir.clone());
            continue;
        }
        let entries = std::fs::read_dir(dir).map_err(|e| MergeError::Read {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        // Only the shards' summaries: a merged summary written into the same directory
        // (`--report-dir DIR/merged`) is not a shard of it.
        let mut inner: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_shard_dir(p))
            .collect();
        if inner.is_empty() {
            return Err(MergeError::NotAShard { path: dir.clone() });
        }
        inner.sort();
        out.extend(inner);
    }
    Ok(out)
}

/// Whether `dir` holds a shard's `load-summary.json` (one with a `"shard"` object).
fn is_shard_dir(dir: &Path) -> bool {
    std::fs::read(dir.join(load_summary::FILE_NAME))
        .ok()
        .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
        .is_some_and(|v| v.get("shard").is_some_and(|s| s.is_object()))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, MergeError> {
    let err = |reason: String| MergeError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_slice(&text).map_err(|e| err(format!("not the expected JSON ({e})")))
}

fn read_shard(dir: &Path) -> Result<Shard, MergeError> {
    let file: ShardFile = read_json(&dir.join(load_summary::FILE_NAME))?;
    let meta = file.shard.clone().ok_or_else(|| MergeError::NotAShard {
        path: dir.to_path_buf(),
    })?;
    let report: GooseReport = read_json(&dir.join(GOOSE_REPORT))?;
    Ok(Shard {
        dir: dir.to_path_buf(),
        file,
        meta,
        metrics: report.raw_metrics,
    })
}

/// Checks that `shards` are every shard of one run, each once.
fn check_complete(shards: &[Shard]) -> Result<(), MergeError> {
    let first = &shards[0];
    let shown = |s: &Shard| s.dir.display().to_string();
    let same = |what: &'static str, f: &dyn Fn(&Shard) -> String| -> Result<(), MergeError> {
        for s in &shards[1..] {
            let (a, b) = (f(first), f(s));
            if a != b {
                return Err(MergeError::Mismatch {
                    what,
                    a,
                    dir_a: shown(first),
                    b,
                    dir_b: shown(s),
                });
            }
        }
        Ok(())
    };
    same("tool version", &|s| s.file.tool.clone())?;
    same("scenario", &|s| s.file.scenario.clone())?;
    same("scenario digest", &|s| s.meta.scenario_digest.clone())?;
    same("target", &|s| s.file.target.clone())?;
    same("shard count", &|s| s.meta.count.to_string())?;
    same("--duration (s)", &|s| s.file.duration_s.to_string())?;
    same("users of the run", &|s| s.meta.total_users.to_string())?;
    same("threshold rules", &|s| s.meta.threshold_rules.join(" "))?;
    same("load model", &|s| {
        s.file.model.clone().unwrap_or_else(|| "closed".to_owned())
    })?;
    same("schedule (--rate, --stages)", &|s| {
        s.meta.schedule.clone().unwrap_or_default()
    })?;

    let count = first.meta.count;
    let mut seen: BTreeMap<usize, &Shard> = BTreeMap::new();
    for s in shards {
        ShardSpec::new(s.meta.index, count).map_err(|m| MergeError::Read {
            path: s.dir.join(load_summary::FILE_NAME),
            reason: m,
        })?;
        if let Some(other) = seen.insert(s.meta.index, s) {
            return Err(MergeError::Duplicated {
                index: s.meta.index,
                count,
                first: shown(other),
                second: shown(s),
            });
        }
    }
    let missing: Vec<usize> = (0..count).filter(|i| !seen.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            count,
            missing,
            got: super::error::list(&seen.keys().copied().collect::<Vec<_>>()),
        });
    }
    Ok(())
}

/// The merged Goose metrics of `parts`: every request's buckets, counts and status codes added,
/// Goose's error table added, `duration` the longest measured window.
pub fn merge_metrics<'a>(parts: impl IntoIterator<Item = &'a GooseMetrics>) -> GooseMetrics {
    let mut out = GooseMetrics::default();
    for m in parts {
        out.duration = out.duration.max(m.duration);
        out.maximum_users += m.maximum_users;
        out.total_users += m.total_users;
        out.hosts.extend(m.hosts.iter().cloned());
        for (key, agg) in &m.requests {
            match out.requests.get_mut(key) {
                None => {
                    out.requests.insert(key.clone(), agg.clone());
                }
                Some(into) => add_request(into, agg),
            }
        }
        for (key, e) in &m.errors {
            match out.errors.get_mut(key) {
                None => {
                    out.errors.insert(key.clone(), e.clone());
                }
                Some(into) => into.occurrences += e.occurrences,
            }
        }
    }
    out
}

fn add_request(into: &mut GooseRequestMetricAggregate, other: &GooseRequestMetricAggregate) {
    let (a, b) = (&mut into.raw_data, &other.raw_data);
    for (&bucket, &count) in b.times_us.iter() {
        let had = a.times_us.get(&bucket).copied().unwrap_or(0);
        a.times_us.insert(bucket, had + count);
    }
    // The counter, not a minimum of 0, says whether there are times yet (a time can be 0 µs).
    if b.counter > 0 && (a.counter == 0 || b.minimum_time_us < a.minimum_time_us) {
        a.minimum_time_us = b.minimum_time_us;
    }
    a.maximum_time_us = a.maximum_time_us.max(b.maximum_time_us);
    a.total_time_us += b.total_time_us;
    a.counter += b.counter;
    into.success_count += other.success_count;
    into.fail_count += other.fail_count;
    for (code, n) in &other.status_code_counts {
        *into.status_code_counts.entry(*code).or_default() += n;
    }
    // Per status code timings are a report table, not a figure the verdict reads.
    into.status_code_timings.clear();
}

/// A threshold rule split into the parts Goose's syntax has (Goose checked it first).
struct Rule {
    text: String,
    metric: RuleMetric,
    op: &'static str,
    /// µs for a time, % for error-rate, requests/s for rps.
    limit: f64,
    request: Option<String>,
}

#[derive(Clone, Copy)]
enum RuleMetric {
    Percentile(f64),
    Avg,
    Max,
    ErrorRate,
    Rps,
}

/// Parses `rule` as Goose's [`goose::threshold::Threshold`] does (Goose's parser decides what
/// is valid; this only keeps the parts, which Goose does not expose).
fn parse_rule(rule: &str) -> Result<Rule, MergeError> {
    let text = rule.trim();
    text.parse::<goose::threshold::Threshold>()
        .map_err(|e| match e {
            goose::GooseError::InvalidOption { detail, .. } => MergeError::Threshold(detail),
            other => MergeError::Threshold(other.to_string()),
        })?;
    let at = text
        .find(['<', '>', '='])
        .ok_or_else(|| MergeError::Threshold(format!("{text:?} has no operator")))?;
    let name = text[..at].trim();
    let metric = match name {
        "avg" => RuleMetric::Avg,
        "max" => RuleMetric::Max,
        "error-rate" => RuleMetric::ErrorRate,
        "rps" => RuleMetric::Rps,
        p => RuleMetric::Percentile(
            p.trim_start_matches('p')
                .parse()
                .map_err(|_| MergeError::Threshold(format!("{text:?}: metric {p:?}")))?,
        ),
    };
    let rest = &text[at..];
    let (op, rest) = ["<=", ">=", "<", ">"]
        .into_iter()
        .find_map(|op| rest.strip_prefix(op).map(|r| (op, r)))
        .ok_or_else(|| MergeError::Threshold(format!("{text:?}: operator")))?;
    let rest = format!(" {}", rest.trim());
    let (value, request) = match rest.find(" for ") {
        Some(i) => (
            rest[..i].trim().to_owned(),
            Some(rest[i + 5..].trim().to_owned()),
        ),
        None => (rest.trim().to_owned(), None),
    };
    let number = |v: &str| {
        v.parse::<f64>()
            .map_err(|_| MergeError::Threshold(format!("{text:?}: value {v:?}")))
    };
    let limit = match metric {
        RuleMetric::Percentile(_) | RuleMetric::Avg | RuleMetric::Max => {
            if let Some(v) = value.strip_suffix("us") {
                number(v)?
            } else if let Some(v) = value.strip_suffix("ms") {
                number(v)? * 1_000.0
            } else if let Some(v) = value.strip_suffix('s') {
                number(v)? * 1_000_000.0
            } else {
                number(&value)? * 1_000.0
            }
        }
        RuleMetric::ErrorRate => number(value.strip_suffix('%').unwrap_or(&value))?,
        RuleMetric::Rps => number(&value)?,
    };
    Ok(Rule {
        text: text.to_owned(),
        metric,
        op,
        limit,
        request,
    })
}

fn short(n: f64) -> String {
    let t = format!("{n:.2}");
    t.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Judges `rule` on the merged `metrics`, `seconds` being the measured window: what Goose's
/// final judgement of a single run would say. A rule without samples fails, as at Goose's end
/// of run.
fn judge(rule: &Rule, metrics: &GooseMetrics, seconds: u64) -> ThresholdVerdict {
    let (times, requests, failures) = match &rule.request {
        Some(key) => match metrics.requests.get(key) {
            Some(a) => (
                a.raw_data.clone(),
                (a.success_count + a.fail_count) as u64,
                a.fail_count as u64,
            ),
            None => Default::default(),
        },
        None => {
            let all = merge_requests(metrics);
            let f = aggregated(metrics);
            (all, f.requests, f.errors)
        }
    };
    let time = |us: f64| (us, us / 1000.0, format!("{}ms", short(us / 1000.0)));
    let observed = match rule.metric {
        RuleMetric::Percentile(p) if times.counter > 0 => {
            Some(time(times.percentile_us((p / 100.0) as f32) as f64))
        }
        RuleMetric::Avg if times.counter > 0 => {
            Some(time(times.total_time_us as f64 / times.counter as f64))
        }
        RuleMetric::Max if times.counter > 0 => Some(time(times.maximum_time_us as f64)),
        RuleMetric::ErrorRate if requests > 0 => {
            let pct = failures as f64 / requests as f64 * 100.0;
            Some((pct, pct, format!("{}%", short(pct))))
        }
        RuleMetric::Rps if requests > 0 && seconds >= 1 => {
            let rate = requests as f64 / seconds as f64;
            Some((
                rate,
                rate,
                format!("{} over the merged window", short(rate)),
            ))
        }
        _ => None,
    };
    let (observed, value, passed) = match observed {
        Some((compared, value, shown)) => {
            let passed = match rule.op {
                "<" => compared < rule.limit,
                "<=" => compared <= rule.limit,
                ">" => compared > rule.limit,
                _ => compared >= rule.limit,
            };
            (shown, Some(value), passed)
        }
        None => ("no samples".to_owned(), None, false),
    };
    ThresholdVerdict {
        rule: rule.text.clone(),
        source: "shards".to_owned(),
        observed,
        value,
        passed,
        aborted: false,
    }
}

/// Every request's times of `metrics` in one histogram.
fn merge_requests(metrics: &GooseMetrics) -> goose::metrics::GooseRequestMetricTimingData {
    let mut acc: Option<GooseRequestMetricAggregate> = None;
    for agg in metrics.requests.values() {
        match acc.as_mut() {
            None => acc = Some(agg.clone()),
            Some(a) => add_request(a, agg),
        }
    }
    acc.map(|a| a.raw_data).unwrap_or_default()
}

fn parse_time(path: &Path, s: &str) -> Result<DateTime<Utc>, MergeError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| MergeError::Read {
            path: path.join(load_summary::FILE_NAME),
            reason: format!("window time `{s}` is not RFC 3339 ({e})"),
        })
}

/// The shards' measured windows: the share of their whole span that all of them cover.
fn overlap(shards: &[Shard]) -> Result<(f64, DateTime<Utc>, DateTime<Utc>), MergeError> {
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for s in shards {
        starts.push(parse_time(&s.dir, &s.meta.window_start)?);
        ends.push(parse_time(&s.dir, &s.meta.window_end)?);
    }
    let (first_start, last_start) = (
        *starts.iter().min().expect("shards"),
        *starts.iter().max().expect("shards"),
    );
    let (first_end, last_end) = (
        *ends.iter().min().expect("shards"),
        *ends.iter().max().expect("shards"),
    );
    let span = (last_end - first_start).num_milliseconds().max(1) as f64;
    let common = (first_end - last_start).num_milliseconds().max(0) as f64;
    Ok((common / span, first_start, last_end))
}

/// The merge of the shard directories `dirs`, judged with `rules` (the shards' rules when
/// empty). Nothing is written.
pub fn merge(
    dirs: &[PathBuf],
    rules: &[String],
) -> Result<(Outcome, LoadSummary, Vec<String>), MergeError> {
    let dirs = shard_dirs(dirs)?;
    let shards = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<Vec<_>, _>>()?;
    check_complete(&shards)?;
    let mut shards = shards;
    shards.sort_by_key(|s| s.meta.index);
    let first = &shards[0];

    let mut warnings = Vec::new();
    let (share, window_start, window_end) = overlap(&shards)?;
    if share < MIN_OVERLAP {
        warnings.push(format!(
            "the shards' measured windows overlap for only {:.0}% of their span ({} to {}): the merged figures describe load that was not applied all at once; start the shards with one --start-at",
            share * 100.0,
            window_start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            window_end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ));
    }
    for s in shards.iter().filter(|s| s.meta.judged) {
        warnings.push(format!(
            "shard {} ({}) judged its thresholds on its own figures too (--judge-shard); the merged verdict is the one that counts",
            s.meta.index,
            s.dir.display()
        ));
    }

    let metrics = merge_metrics(shards.iter().map(|s| &s.metrics));
    let rule_texts: Vec<String> = if rules.is_empty() {
        first.meta.threshold_rules.clone()
    } else {
        rules.iter().map(|r| r.trim().to_owned()).collect()
    };
    let source = if rules.is_empty() {
        "shards"
    } else {
        "--threshold"
    };
    let parsed = rule_texts
        .iter()
        .map(|r| parse_rule(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut figures = aggregated(&metrics);
    figures.seconds = metrics.duration as u64;
    let thresholds: Vec<ThresholdVerdict> = parsed
        .iter()
        .map(|r| ThresholdVerdict {
            source: source.to_owned(),
            ..judge(r, &metrics, figures.seconds)
        })
        .collect();

    let sum = |f: &dyn Fn(&ShardFile) -> u64| shards.iter().map(|s| f(&s.file)).sum::<u64>();
    let schema_failures = sum(&|f| f.schema_failures);
    let status_mismatches = sum(&|f| f.status_mismatches);
    let body_violations = sum(&|f| f.body_violations);

    let mut failed_because = Vec::new();
    let dropped: u64 = shards
        .iter()
        .map(|s| s.file.dropped_iterations.unwrap_or_default())
        .sum();
    if dropped > 0 {
        failed_because.push(format!(
            "{dropped} due iterations were dropped over the shards (--max-in-flight was reached): the target was not offered the whole rate"
        ));
    }
    for t in thresholds.iter().filter(|t| !t.passed) {
        failed_because.push(format!(
            "threshold {} failed: observed {}",
            t.rule, t.observed
        ));
    }
    if schema_failures > 0 {
        failed_because.push(format!(
            "{schema_failures} responses broke the spec ({status_mismatches} with a status the step does not allow, {body_violations} with a body that breaks the schema)"
        ));
    }
    let interrupted: Vec<String> = shards
        .iter()
        .filter(|s| s.file.verdict == "interrupted")
        .map(|s| s.meta.index.to_string())
        .collect();
    if !interrupted.is_empty() {
        failed_because.push(format!(
            "shard {} was interrupted: the merged run is incomplete",
            interrupted.join(", ")
        ));
    }
    let outcome = if failed_because.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    let verdict = match (outcome, interrupted.is_empty()) {
        (Outcome::Passed, _) => "passed",
        (_, false) => "interrupted",
        _ => "failed",
    };

    let mut steps = step_summaries(&metrics);
    // Scenario order is the order of the first shard's summary; Goose keys requests in a map.
    let order: Vec<String> =
        read_json::<serde_json::Value>(&first.dir.join(load_summary::FILE_NAME))
            .ok()
            .and_then(|v| {
                v.get("steps")?.as_array().map(|a| {
                    a.iter()
                        .filter_map(|s| s.get("request")?.as_str().map(str::to_owned))
                        .collect()
                })
            })
            .unwrap_or_default();
    steps.sort_by_key(|s| {
        order
            .iter()
            .position(|k| *k == s.request)
            .unwrap_or(usize::MAX)
    });

    let open = merged_open(&shards);
    let summary = LoadSummary {
        tool: first.file.tool.clone(),
        target: first.file.target.clone(),
        target_kind: first.file.target_kind.clone(),
        scenario: first.file.scenario.clone(),
        scenario_origin: first.file.scenario_origin.clone(),
        started_at: shards
            .iter()
            .map(|s| s.file.started_at.clone())
            .min()
            .unwrap_or_default(),
        finished_at: shards
            .iter()
            .map(|s| s.file.finished_at.clone())
            .max()
            .unwrap_or_default(),
        duration_s: first.file.duration_s,
        measured_s: figures.seconds,
        users: first.meta.total_users,
        hatch_rate: shards.iter().map(|s| s.file.hatch_rate).sum(),
        throttle: first.meta.total_throttle,
        validate: first.file.validate.clone(),
        requests: figures.requests,
        rps: figures.rps,
        p50_ms: figures.p50_ms,
        p95_ms: figures.p95_ms,
        p99_ms: figures.p99_ms,
        avg_ms: figures.avg_ms,
        max_ms: figures.max_ms,
        errors: figures.errors,
        schema_failures,
        status_mismatches,
        body_violations,
        transport_errors: sum(&|f| f.transport_errors),
        validated_bodies: sum(&|f| f.validated_bodies),
        skipped_steps: sum(&|f| f.skipped_steps),
        steps,
        failure_reasons: failure_reasons(&metrics, 20),
        top_reasons: failure_reasons(&metrics, 10),
        thresholds,
        baseline: None,
        verdict: verdict.to_owned(),
        failed_because,
        reports: Vec::new(),
        shard: None,
        merge: Some(MergeSummary {
            shards: shards.len(),
            dirs: shards.iter().map(|s| s.dir.display().to_string()).collect(),
            window_start: window_start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            window_end: window_end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            window_overlap: (share * 1000.0).round() / 1000.0,
            warnings: warnings.clone(),
        }),
        model: first
            .file
            .model
            .clone()
            .unwrap_or_else(|| "closed".to_owned()),
        intended_rate: open.as_ref().map(|(rate, ..)| *rate),
        achieved_rate: open.as_ref().map(|(_, achieved, ..)| *achieved),
        dropped_iterations: open.as_ref().map(|(_, _, dropped, _)| *dropped),
        open: open.map(|(.., o)| o),
        capacity: None,
    };
    Ok((outcome, summary, warnings))
}

/// The open model's figures of the merged run: the whole schedule's rate (each shard ran its
/// interleaved share of it, see [`super::arrivals::Share`]), the achieved rates and the
/// iteration counts added up. `None` for closed-model shards.
fn merged_open(shards: &[Shard]) -> Option<(f64, f64, u64, OpenSummary)> {
    let first = &shards[0];
    let schedule = first.meta.schedule.as_deref()?;
    let whole = super::arrivals::Schedule::parse_stages(schedule).ok()?;
    let opens: Vec<&OpenSummary> = shards.iter().filter_map(|s| s.file.open.as_ref()).collect();
    if opens.len() != shards.len() {
        return None;
    }
    let add = |f: &dyn Fn(&OpenSummary) -> u64| opens.iter().map(|o| f(o)).sum::<u64>();
    let worst = |f: &dyn Fn(&OpenSummary) -> f64| opens.iter().map(|o| f(o)).fold(0.0, f64::max);
    let achieved = shards
        .iter()
        .map(|s| s.file.achieved_rate.unwrap_or_default())
        .sum();
    let merged = OpenSummary {
        schedule: schedule.to_owned(),
        max_in_flight: first
            .meta
            .total_max_in_flight
            .unwrap_or_else(|| opens.iter().map(|o| o.max_in_flight).sum()),
        due_iterations: add(&|o| o.due_iterations),
        started_iterations: add(&|o| o.started_iterations),
        completed_iterations: add(&|o| o.completed_iterations),
        completed_in_window: add(&|o| o.completed_in_window),
        window_s: worst(&|o| o.window_s),
        peak_in_flight: opens.iter().map(|o| o.peak_in_flight).sum(),
        start_lag_p50_ms: worst(&|o| o.start_lag_p50_ms),
        start_lag_p99_ms: worst(&|o| o.start_lag_p99_ms),
    };
    // Every shard reports its own drops; their sum is the run's.
    let dropped: u64 = shards
        .iter()
        .map(|s| s.file.dropped_iterations.unwrap_or_default())
        .sum();
    Some((whole.mean_rate(), achieved, dropped, merged))
}

/// `recovery-harness load merge`: merges the shard directories `dirs` (with `thresholds` replacing
/// the shards' rules, if any), writes the merged `load-summary.json` and `report.html` into
/// `report_dir`, and prints the verdict (only it and its reasons when `quiet`).
pub fn run(
    dirs: &[PathBuf],
    thresholds: &[String],
    report_dir: &Path,
    quiet: bool,
) -> Result<Outcome, super::error::LoadError> {
    let (outcome, mut summary, warnings) =
        merge(dirs, thresholds).map_err(super::error::LoadError::from)?;
    let dir = report_dir;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let shard_dirs = summary
        .merge
        .as_ref()
        .map(|m| m.dirs.clone())
        .unwrap_or_default();
    if shard_dirs.iter().any(|d| same(Path::new(d), dir)) {
        return Err(MergeError::OutputIsShard {
            path: dir.to_path_buf(),
        }
        .into());
    }
    let io = |source| super::error::LoadError::ReportDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    // A single run's Goose reports left in this directory would sit next to the merged summary
    // as if they were its own.
    for stale in ["report.html", "report.json", "report.md"] {
        match std::fs::remove_file(dir.join(stale)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
    }
    summary.reports = vec![
        dir.join(load_summary::FILE_NAME).display().to_string(),
        dir.join(crate::report::REPORT_HTML).display().to_string(),
    ];
    load_summary::write(&summary, dir)?;
    crate::report::write_load_html(&merged_report(&summary), dir)?;
    for w in &warnings {
        crate::say!("warning: {w}");
    }
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(
            format!(
                "merged {} shards of {}\n{}",
                summary.merge.as_ref().map_or(0, |m| m.shards),
                summary.scenario,
                super::console::render(&summary, quiet)
            )
            .as_bytes(),
        )
        .and_then(|()| out.flush());
    Ok(outcome)
}

/// The merged run's `report.html` model: the merged summary's verdict, thresholds, validation
/// and per-step figures, with notes naming the shards. The per-second series stay in each
/// shard's own `report.html` (a shard's summary does not carry them).
pub fn merged_report(summary: &LoadSummary) -> crate::report::load_report::LoadReport {
    let mut report = crate::report::load_report::LoadReport::from_summary(summary, Vec::new());
    if let Some(m) = &summary.merge {
        report.notes.push(format!(
            "Merged from {} shards: {}.",
            m.shards,
            m.dirs.join(", ")
        ));
        report.notes.push(format!(
            "Measured windows: {} to {}, all shards at once for {:.0}% of that span.",
            m.window_start,
            m.window_end,
            m.window_overlap * 100.0
        ));
        report
            .notes
            .extend(m.warnings.iter().map(|w| format!("Warning: {w}.")));
        report
            .notes
            .push("Response times per second are in each shard's own report.html.".to_owned());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_keep_goose_syntax() {
        let r = parse_rule("p99.9<2s for GET create flow").expect("valid");
        assert!(matches!(r.metric, RuleMetric::Percentile(p) if (p - 99.9).abs() < 1e-9));
        assert_eq!(r.limit, 2_000_000.0);
        assert_eq!(r.request.as_deref(), Some("GET create flow"));
        assert_eq!(parse_rule("error-rate<=1%").expect("valid").limit, 1.0);
        assert_eq!(parse_rule("p95<50").expect("valid").limit, 50_000.0);
        assert_eq!(parse_rule("avg<250us").expect("valid").limit, 250.0);
        assert!(parse_rule("p100<1s").is_err());
        assert!(parse_rule("latency<1s").is_err());
    }

    #[test]
    fn merged_buckets_add_up() {
        let mut a = GooseMetrics::default();
        let mut req: GooseRequestMetricAggregate = serde_json::from_value(serde_json::json!({
            "path": "GET x", "method": "Get",
            "raw_data": {"counter": 2, "times_us": {"1000": 2}, "minimum_time_us": 1000,
                         "maximum_time_us": 1010, "total_time_us": 2010},
            "coordinated_omission_data": null, "status_code_counts": {"200": 2},
            "success_count": 2, "fail_count": 0, "load_test_hash": 0
        }))
        .expect("a Goose request aggregate");
        a.duration = 10;
        a.requests.insert("GET x".to_owned(), req.clone());
        req.raw_data.times_us.insert(1000, 1);
        req.raw_data.times_us.insert(40960, 3);
        req.raw_data.counter = 4;
        req.raw_data.maximum_time_us = 41000;
        req.success_count = 4;
        let mut b = GooseMetrics::default();
        b.duration = 11;
        b.requests.insert("GET x".to_owned(), req);
        let m = merge_metrics([&a, &b]);
        let x = &m.requests["GET x"];
        assert_eq!(x.raw_data.counter, 6);
        assert_eq!(x.raw_data.times_us.get(&1000), Some(&3));
        assert_eq!(x.raw_data.times_us.get(&40960), Some(&3));
        assert_eq!(x.raw_data.maximum_time_us, 41000);
        assert_eq!(x.success_count, 6);
        assert_eq!(x.status_code_counts[&200], 4);
        assert_eq!(m.duration, 11);
    }
}
