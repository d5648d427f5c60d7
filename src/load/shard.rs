//! Sharding one load run over N processes that need no coordinator (`load --shard I/N`, or
//! `--shards N` in a Kubernetes Indexed Job pod, which sets `JOB_COMPLETION_INDEX`).
//!
//! This module owns the arithmetic of a shard (its share of the users, the hatch rate and the
//! throttle, the global number of its first user, the common start moment) and the scenario
//! digest that the `"shard"` object of `load-summary.json` carries (the plan fills that object in,
//! `Plan::shard_summary`; the flags are the command line's). Every function here is pure:
//! the environment and the clock are passed in, so the rules are property-tested
//! (tests/load_shard_props.rs).
//!
//! Shard indexes are 0-based, `0..N`, as Kubernetes numbers an Indexed Job's completions
//! (`JOB_COMPLETION_INDEX` runs from 0 to `completions - 1`), so `--shard I/N` and a pod with
//! `JOB_COMPLETION_INDEX=I` are the same shard.

use super::error::{flag, LoadError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable a Kubernetes Indexed Job sets in each pod.
pub const JOB_COMPLETION_INDEX: &str = "JOB_COMPLETION_INDEX";
/// The most shards of one run (Kubernetes caps an Indexed Job's completions at 100,000; a
/// merge of more than this many report directories is not a load test any more).
pub const MAX_SHARDS: usize = 1000;
/// How far ahead `--start-at` may be: long enough for a cluster to pull an image and schedule
/// every pod, short enough that a typo in the date does not park the pods for days.
pub const MAX_START_DELAY: Duration = Duration::from_secs(3600);

/// Which shard this process is; `count == 1` is a run of one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// 0-based index, `0..count`.
    pub index: usize,
    /// How many shards the run has.
    pub count: usize,
}

/// `I/N` as `--shard` takes it: two whole numbers, `I < N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.trim().split_once('/').ok_or_else(|| {
        format!("`{s}` is not I/N; give e.g. 0/4 (shard indexes run from 0 to N-1)")
    })?;
    let number = |part: &str, what: &str| {
        part.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{s}`: {what} `{part}` is not a whole number; give e.g. 0/4"))
    };
    let (index, count) = (number(i, "index")?, number(n, "shard count")?);
    ShardSpec::new(index, count)
        .map(|spec| (spec.index, spec.count))
        .map_err(|e| format!("`{s}`: {e}"))
}

/// An RFC 3339 moment, as `--start-at` takes it.
pub fn parse_start_at(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{s}` is not an RFC 3339 time ({e}); give e.g. 2026-12-01T21:30:00Z"))
}

impl ShardSpec {
    /// Shard `index` of `count`; the reason when that is no shard.
    pub fn new(index: usize, count: usize) -> Result<ShardSpec, String> {
        if count == 0 {
            return Err("a run has at least 1 shard".to_owned());
        }
        if count > MAX_SHARDS {
            return Err(format!("{count} shards; give at most {MAX_SHARDS}"));
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the shard count {count} (indexes run from 0 to {})",
                count - 1
            ));
        }
        Ok(ShardSpec { index, count })
    }

    /// This shard's share of `total` (users, requests/s): `total / count`, the first
    /// `total % count` shards one more, so the shares add up to `total` and differ by at most 1.
    pub fn share(self, total: usize) -> usize {
        total / self.count + usize::from(self.index < total % self.count)
    }

    /// How much of `total` the shards before this one have: the number of this shard's first
    /// user minus one.
    pub fn offset(self, total: usize) -> usize {
        self.index * (total / self.count) + self.index.min(total % self.count)
    }

    /// The run-wide number (1-based) of this shard's user `local` (0-based, as Goose's
    /// `weighted_users_index`), for `{user}` templates: unique over all shards.
    pub fn global_user(self, total_users: usize, local: usize) -> usize {
        self.offset(total_users) + local + 1
    }

    /// This shard's users of `total`; every shard needs at least one.
    pub fn users(self, total: usize) -> Result<usize, LoadError> {
        if total < self.count {
            return Err(flag(
                "--users",
                format!(
                    "{total} users cannot be shared by {} shards: give at least one user per shard",
                    self.count
                ),
            ));
        }
        Ok(self.share(total))
    }

    /// This shard's part of the `--throttle` cap (requests/s, all users together); every shard
    /// needs at least 1 request/s, as Goose has no fractional throttle.
    pub fn throttle(self, total: Option<usize>) -> Result<Option<usize>, LoadError> {
        match total {
            None => Ok(None),
            Some(t) if t < self.count => Err(flag(
                "--throttle",
                format!(
                    "{t} requests/s cannot be shared by {} shards: give at least 1 request/s per shard",
                    self.count
                ),
            )),
            Some(t) => Ok(Some(self.share(t))),
        }
    }

    /// The hatch rate that starts this shard's `users` of `total_users` in the time the whole
    /// run's `rate` would start all of them, so every shard's ramp-up ends at the same moment.
    pub fn hatch_rate(self, rate: f64, users: usize, total_users: usize) -> f64 {
        rate * users as f64 / total_users as f64
    }
}

/// Checks `--start-at` against the clock: not in the past, at most [`MAX_START_DELAY`] ahead.
/// Returns how long to wait.
pub fn start_delay(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Duration, LoadError> {
    let shown = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let ahead = at.signed_duration_since(now);
    if ahead < chrono::TimeDelta::zero() {
        let ago = (-ahead).to_std().unwrap_or_default();
        return Err(flag(
            "--start-at",
            format!(
                "{shown} is {} in the past (now {}): give a moment every shard reaches before it starts",
                humantime::format_duration(Duration::from_secs(ago.as_secs().max(1))),
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ));
    }
    let ahead = ahead.to_std().unwrap_or_default();
    if ahead > MAX_START_DELAY {
        return Err(flag(
            "--start-at",
            format!(
                "{shown} is {} ahead; give a moment at most {} ahead",
                humantime::format_duration(Duration::from_secs(ahead.as_secs())),
                humantime::format_duration(MAX_START_DELAY)
            ),
        ));
    }
    Ok(ahead)
}

/// A shard's part of a run, every value checked; what the plan runs and the summary records.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardPlan {
    /// Which shard.
    pub spec: ShardSpec,
    /// The whole run's users.
    pub total_users: usize,
    /// The whole run's throttle.
    pub total_throttle: Option<usize>,
    /// The number of this shard's first user minus one.
    pub user_offset: usize,
    /// Whether this shard judges its thresholds on its own figures.
    pub judge: bool,
}

impl ShardPlan {
    /// The shard part of a plan of `total_users` users and `total_throttle`; returns it with the
    /// shard's users, hatch rate and throttle.
    pub fn new(
        spec: ShardSpec,
        judge: bool,
        total_users: usize,
        hatch_rate: f64,
        total_throttle: Option<usize>,
    ) -> Result<(ShardPlan, usize, f64, Option<usize>), LoadError> {
        let users = spec.users(total_users)?;
        let throttle = spec.throttle(total_throttle)?;
        let rate = spec.hatch_rate(hatch_rate, users, total_users);
        Ok((
            ShardPlan {
                spec,
                total_users,
                total_throttle,
                user_offset: spec.offset(total_users),
                judge,
            },
            users,
            rate,
            throttle,
        ))
    }

    /// Whether the shard hands its thresholds to Goose and lets its verdict set its exit code.
    pub fn judges(&self) -> bool {
        self.judge
    }
}

/// What a plan's shape becomes for one shard (the whole run's shape for no shard).
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The shard part, if the process is a shard.
    pub shard: Option<ShardPlan>,
    /// This process's users.
    pub users: usize,
    /// Its hatch rate.
    pub hatch_rate: f64,
    /// Its throttle.
    pub throttle: Option<usize>,
    /// Its report directory (`{shard}` replaced).
    pub report_dir: PathBuf,
}

/// What a plan becomes for `spec`: the shard part, and the shard's users, hatch rate, throttle
/// and report directory (the whole run's when `spec` is `None`). Checks `--start-at`.
#[allow(clippy::type_complexity)] // the plan's five shard-adjusted values, named at the one caller
pub fn apply(
    spec: Option<ShardSpec>,
    start_at: Option<DateTime<Utc>>,
    judge_shard: bool,
    users: usize,
    hatch_rate: f64,
    throttle: Option<usize>,
    report_dir: &Path,
) -> Result<Applied, LoadError> {
    if let Some(at) = start_at {
        start_delay(at, Utc::now())?;
    }
    match spec {
        None => Ok(Applied {
            shard: None,
            users,
            hatch_rate,
            throttle,
            report_dir: report_dir.to_path_buf(),
        }),
        Some(spec) => {
            let (plan, users, hatch_rate, throttle) =
                ShardPlan::new(spec, judge_shard, users, hatch_rate, throttle)?;
            Ok(Applied {
                shard: Some(plan),
                users,
                hatch_rate,
                throttle,
                report_dir: self::report_dir(report_dir, spec),
            })
        }
    }
}

/// A shard's report directory: `{shard}` in `--report-dir` becomes its index, so that the pods
/// of one Job, given one argument list, write one directory each.
pub fn report_dir(dir: &Path, spec: ShardSpec) -> PathBuf {
    match dir.to_str() {
        Some(s) if s.contains("{shard}") => {
            PathBuf::from(s.replace("{shard}", &spec.index.to_string()))
        }
        _ => dir.to_path_buf(),
    }
}

/// Sleeps until `at` (already checked by [`start_delay`] when the plan was made); a moment that
/// passed meanwhile (the target probe, Goose's start) starts at once.
pub async fn wait_until(at: DateTime<Utc>, quiet: bool) {
    let ahead = at
        .signed_duration_since(Utc::now())
        .to_std()
        .unwrap_or_default();
    if !quiet && !ahead.is_zero() {
        crate::say!(
            "waiting {} for --start-at {}",
            humantime::format_duration(Duration::from_millis(ahead.as_millis() as u64)),
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
    }
    tokio::time::sleep(ahead).await;
}

/// A stable digest of what a scenario makes the users do (its name, defaults, variables and
/// steps, not where it was read from): shards of one run must agree on it. `sha256:<hex>`.
pub fn scenario_digest(scenario: &super::scenario::Scenario) -> String {
    // The Debug form holds every field the steps run with; it is stable within one tool
    // version, and `load merge` refuses shards of different tool versions anyway.
    let text = format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        scenario.name, scenario.defaults, scenario.vars, scenario.steps
    );
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_shards_are_refused_clearly() {
        for (s, want) in [
            ("0/0", "at least 1 shard"),
            ("3/2", "not below the shard count 2"),
            ("2/2", "indexes run from 0 to 1"),
            ("1", "not I/N"),
            ("a/2", "not a whole number"),
            ("-1/2", "not a whole number"),
            ("0/5000", "at most 1000"),
        ] {
            let e = parse_shard(s).expect_err(s);
            assert!(e.contains(want), "{s}: {e}");
        }
        assert_eq!(parse_shard(" 1/3 "), Ok((1, 3)));
    }

    #[test]
    fn start_at_is_bounded() {
        let now = parse_start_at("2026-12-01T21:00:00Z").expect("valid");
        let at = |s: &str| parse_start_at(s).expect("valid");
        assert_eq!(
            start_delay(at("2026-12-01T21:00:30Z"), now).expect("ahead"),
            Duration::from_secs(30)
        );
        assert_eq!(start_delay(now, now).expect("now"), Duration::ZERO);
        let past = start_delay(at("2026-12-01T20:59:00Z"), now).expect_err("past");
        assert!(past.to_string().contains("1m in the past"), "{past}");
        let far = start_delay(at("2026-12-02T21:00:00Z"), now).expect_err("far");
        assert!(far.to_string().contains("at most 1h ahead"), "{far}");
        assert!(parse_start_at("tomorrow").is_err());
        assert_eq!(
            at("2026-12-01T22:00:00+01:00"),
            now,
            "offsets are converted to UTC"
        );
    }

    #[test]
    fn too_few_users_or_requests_per_shard_are_refused() {
        let s = ShardSpec::new(0, 4).expect("valid");
        assert!(s
            .users(3)
            .expect_err("3 users")
            .to_string()
            .contains("--users"));
        assert!(s
            .throttle(Some(2))
            .expect_err("2 rps")
            .to_string()
            .contains("--throttle"));
        assert_eq!(s.users(10).expect("valid"), 3);
        assert_eq!(s.throttle(None).expect("none"), None);
        assert_eq!(s.throttle(Some(10)).expect("valid"), Some(3));
    }
}
