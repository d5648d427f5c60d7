//! The open model's arrival schedule: when each iteration is due, for `--rate R` (a constant
//! rate) and `--stages 'DURATION:RATE[-RATE],...'` (piecewise-linear ramps of the rate).
//!
//! Pure arithmetic, no clock: the dispatcher ([`super::open`]) adds the run's start instant. The
//! rate `r(t)` of a stage goes linearly from its first to its last rate; the expected number of
//! iterations due by `t` is `N(t) = ∫₀ᵗ r`. Iteration `k` (0-based) is due when `N(t)` reaches
//! `k + ½`, so a constant `R` over `D` seconds has exactly `R·D` iterations when that is a whole
//! number, evenly spaced, none at the very first instant of a ramp from 0. Inside a linear
//! stage `N` is a quadratic, solved in closed form with the cancellation-free root.
//!
//! Sharding (`--shard I/N`) interleaves instead of scaling: shard `I` runs the whole run's
//! iterations `I, I+N, I+2N, ...`, so the shards' schedules together are exactly the whole
//! run's, and `load merge` adds them up without rounding.

use std::fmt::Write as _;
use std::time::Duration;

/// The highest rate accepted (iterations/s): far beyond what one process can start, low enough
/// that a typo (`--rate 1e12`) is refused instead of queueing a trillion iterations.
pub const MAX_RATE: f64 = 1_000_000.0;
/// The longest schedule: a load run must end by itself.
pub const MAX_SCHEDULE: Duration = Duration::from_secs(24 * 3600);

/// One stage of `--stages`: the rate goes linearly from `from` to `to` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Iterations/s at its start.
    pub from: f64,
    /// Iterations/s at its end.
    pub to: f64,
}

/// A checked arrival schedule: stages of positive length, rates in `0..=MAX_RATE`, at least one
/// iteration in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    stages: Vec<Stage>,
    /// Each stage's start, seconds.
    starts: Vec<f64>,
    /// `N` at each stage's start, plus the total at the end.
    cumulative: Vec<f64>,
    /// Set when the schedule is one constant rate given as `--rate`.
    constant: bool,
}

/// Parses a rate (`--rate`, or a rate inside `--stages`): a finite number from 0 (`allow_zero`)
/// or above 0, at most [`MAX_RATE`].
fn parse_rate(text: &str, allow_zero: bool) -> Result<f64, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a rate (iterations per second)", text.trim()))?;
    if !rate.is_finite() || rate < 0.0 || (!allow_zero && rate == 0.0) {
        return Err(format!(
            "{rate} iterations/s: a rate must be {} and finite",
            if allow_zero { "0 or more" } else { "above 0" }
        ));
    }
    if rate > MAX_RATE {
        return Err(format!(
            "{rate} iterations/s is above the {MAX_RATE} a run accepts"
        ));
    }
    Ok(rate)
}

/// `--rate R` as clap parses it: above 0, finite, at most [`MAX_RATE`].
pub fn parse_rate_flag(text: &str) -> Result<f64, String> {
    parse_rate(text, false)
}

/// A rate as the summaries show it: `0.5`, `120`, `1131.37`.
pub fn show_rate(rate: f64) -> String {
    let text = format!("{rate:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Schedule {
    fn new(stages: Vec<Stage>, constant: bool) -> Result<Schedule, String> {
        let mut starts = Vec::with_capacity(stages.len());
        let mut cumulative = Vec::with_capacity(stages.len() + 1);
        let (mut t, mut n) = (0.0, 0.0);
        for s in &stages {
            starts.push(t);
            cumulative.push(n);
            let secs = s.duration.as_secs_f64();
            t += secs;
            n += (s.from + s.to) / 2.0 * secs;
        }
        cumulative.push(n);
        let total: Duration = stages.iter().map(|s| s.duration).sum();
        if total > MAX_SCHEDULE {
            return Err(format!(
                "the stages last {}, longer than the 24h a load run may last",
                humantime::format_duration(total)
            ));
        }
        let schedule = Schedule {
            stages,
            starts,
            cumulative,
            constant,
        };
        if schedule.iterations() == 0 {
            return Err(
                "it schedules no iteration at all: give a rate and a duration whose product is at least 1"
                    .to_owned(),
            );
        }
        Ok(schedule)
    }

    /// A constant `rate` for `duration` (`--rate R --duration D`).
    pub fn constant(rate: f64, duration: Duration) -> Result<Schedule, String> {
        let rate = parse_rate(&rate.to_string(), false)?;
        if duration.is_zero() {
            return Err("the duration is 0".to_owned());
        }
        Schedule::new(
            vec![Stage {
                duration,
                from: rate,
                to: rate,
            }],
            true,
        )
    }

    /// Parses `--stages`: `DURATION:RATE[-RATE]` stages separated by commas, e.g.
    /// `30s:0-500,60s:500,10s:500-0`.
    pub fn parse_stages(text: &str) -> Result<Schedule, String> {
        let mut stages = Vec::new();
        for (i, part) in text.split(',').enumerate() {
            let part = part.trim();
            let at = |why: String| {
                format!(
                    "stage {} `{part}`: {why}; stages are DURATION:RATE or DURATION:FROM-TO, e.g. 30s:0-500,60s:500",
                    i + 1
                )
            };
            let (duration, rates) = part
                .split_once(':')
                .ok_or_else(|| at("no `:` between the duration and the rate".to_owned()))?;
            let duration = crate::input::parse_duration(duration.trim()).map_err(&at)?;
            if duration.is_zero() {
                return Err(at("a stage lasts more than 0s".to_owned()));
            }
            let (from, to) = match rates.split_once('-') {
                Some((from, to)) => (
                    parse_rate(from, true).map_err(&at)?,
                    parse_rate(to, true).map_err(&at)?,
                ),
                None => {
                    let rate = parse_rate(rates, true).map_err(&at)?;
                    (rate, rate)
                }
            };
            stages.push(Stage { duration, from, to });
        }
        Schedule::new(stages, false)
    }

    /// The stages.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// How long the schedule lasts.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The expected number of iterations, `N` at the end (fractional).
    fn expected(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or_default()
    }

    /// How many iterations the schedule makes due (the whole run's).
    pub fn iterations(&self) -> u64 {
        // Iteration k is due at N = k + 1/2; those below the total count.
        let n = self.expected();
        if n < 0.5 {
            0
        } else {
            (n - 0.5).floor() as u64 + 1
        }
    }

    /// The mean rate, iterations per second: the intended rate of the run.
    pub fn mean_rate(&self) -> f64 {
        let secs = self.duration().as_secs_f64();
        if secs > 0.0 {
            self.iterations() as f64 / secs
        } else {
            0.0
        }
    }

    /// The highest rate any stage reaches.
    pub fn peak_rate(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
    }

    /// When iteration `k` (0-based, of the whole run) is due, from the schedule's start; `None`
    /// past the last one.
    pub fn due(&self, k: u64) -> Option<Duration> {
        if k >= self.iterations() {
            return None;
        }
        let n = k as f64 + 0.5;
        // The last stage whose start N is at or below n and that adds iterations.
        let i = self
            .cumulative
            .partition_point(|&c| c <= n)
            .saturating_sub(1)
            .min(self.stages.len() - 1);
        let s = &self.stages[i];
        let dn = n - self.cumulative[i];
        let secs = s.duration.as_secs_f64();
        let slope = (s.to - s.from) / (2.0 * secs);
        let disc = (s.from * s.from + 4.0 * slope * dn).max(0.0);
        let denominator = s.from + disc.sqrt();
        let tau = if denominator > 0.0 {
            2.0 * dn / denominator
        } else {
            0.0
        };
        Some(Duration::from_secs_f64(
            (self.starts[i] + tau.clamp(0.0, secs)).max(0.0),
        ))
    }

    /// The schedule as `--stages` would give it (`--rate R` shows as one stage), with durations
    /// in milliseconds so that it reads back the same.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.stages.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let ms = s.duration.as_millis();
            let d = if ms % 1000 == 0 {
                format!("{}s", ms / 1000)
            } else {
                format!("{ms}ms")
            };
            let _ = if s.from == s.to {
                write!(out, "{d}:{}", show_rate(s.from))
            } else {
                write!(out, "{d}:{}-{}", show_rate(s.from), show_rate(s.to))
            };
        }
        out
    }

    /// Whether the schedule is one constant rate (`--rate`).
    pub fn is_constant(&self) -> bool {
        self.constant
    }
}

/// This process's part of a schedule: the whole run's iterations `index, index + count, ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// The whole run's schedule.
    pub schedule: Schedule,
    /// This shard's index (0 for a run of one process).
    pub index: u64,
    /// The shard count (1 for a run of one process).
    pub count: u64,
}

impl Share {
    /// The whole schedule, one process.
    pub fn whole(schedule: Schedule) -> Share {
        Share {
            schedule,
            index: 0,
            count: 1,
        }
    }

    /// The `local`-th iteration of this share (0-based): its global number and when it is due.
    pub fn due(&self, local: u64) -> Option<(u64, Duration)> {
        let global = local.checked_mul(self.count)?.checked_add(self.index)?;
        self.schedule.due(global).map(|at| (global, at))
    }

    /// How many of the whole run's iterations are this share's.
    pub fn iterations(&self) -> u64 {
        let all = self.schedule.iterations();
        all / self.count + u64::from(self.index < all % self.count)
    }

    /// This share's mean rate: its iterations over the schedule's length.
    pub fn mean_rate(&self) -> f64 {
        let secs = self.schedule.duration().as_secs_f64();
        if secs > 0.0 {
            self.iterations() as f64 / secs
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn a_constant_rate_spaces_its_iterations_evenly() {
        let s = Schedule::constant(100.0, Duration::from_secs(3)).expect("valid");
        assert_eq!(s.iterations(), 300);
        assert!((secs(s.due(0).expect("first")) - 0.005).abs() < 1e-9);
        assert!((secs(s.due(299).expect("last")) - 2.995).abs() < 1e-9);
        assert_eq!(s.due(300), None);
        assert!((s.mean_rate() - 100.0).abs() < 1e-9);
        assert_eq!(s.describe(), "3s:100");
    }

    #[test]
    fn ramps_follow_the_integral_of_the_rate() {
        // 0 to 100/s over 10 s: N(t) = 5 t², 500 iterations; the one at N = 125 is due at 5 s.
        let s = Schedule::parse_stages("10s:0-100").expect("valid");
        assert_eq!(s.iterations(), 500);
        let k = 125 - 1; // due at N = 124.5: t = sqrt(124.5 / 5)
        assert!((secs(s.due(k).expect("due")) - (124.5f64 / 5.0).sqrt()).abs() < 1e-9);
        let down = Schedule::parse_stages("10s:100-0").expect("valid");
        assert_eq!(down.iterations(), 500);
        // Symmetric: the ramp down's k-th is the ramp up's mirror image.
        for k in [0, 17, 250, 499] {
            let up = secs(s.due(499 - k).expect("up"));
            let dn = secs(down.due(k).expect("down"));
            assert!((up + dn - 10.0).abs() < 1e-6, "{k}: {up} {dn}");
        }
    }

    #[test]
    fn stages_chain_and_times_never_go_back() {
        let s = Schedule::parse_stages("30s:0-500, 60s:500,10s:500-0").expect("valid");
        assert_eq!(s.duration(), Duration::from_secs(100));
        assert_eq!(s.iterations(), 7500 + 30_000 + 2500);
        let mut last = Duration::ZERO;
        for k in 0..s.iterations() {
            let at = s.due(k).expect("due");
            assert!(at >= last, "{k}");
            last = at;
        }
        assert!(secs(last) < 100.0);
        assert_eq!(s.describe(), "30s:0-500,60s:500,10s:500-0");
        assert_eq!(s.peak_rate(), 500.0);
    }

    #[test]
    fn a_pause_makes_nothing_due() {
        let s = Schedule::parse_stages("1s:10,2s:0,1s:10").expect("valid");
        assert_eq!(s.iterations(), 20);
        let times: Vec<f64> = (0..20).map(|k| secs(s.due(k).expect("due"))).collect();
        assert!(times.iter().all(|t| *t < 1.0 || *t >= 3.0), "{times:?}");
    }

    #[test]
    fn bad_stages_and_rates_are_refused_with_the_reason() {
        for (text, want) in [
            ("30s", "no `:`"),
            ("soon:5", "stage 1"),
            ("0s:5", "more than 0s"),
            ("10s:-5", "not a rate"),
            ("10s:5,10s:x", "stage 2"),
            ("10s:0", "no iteration"),
            ("10s:inf", "finite"),
            ("10s:5-2000000", "above"),
            ("25h:1", "24h"),
            ("", "stage 1"),
        ] {
            let e = Schedule::parse_stages(text).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
        }
        for bad in ["0", "-1", "nan", "x", "1e9"] {
            assert!(parse_rate_flag(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate_flag("0.5"), Ok(0.5));
        assert!(Schedule::constant(0.1, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn shares_interleave_into_the_whole_schedule() {
        let whole = Schedule::parse_stages("2s:0-300,1s:300").expect("valid");
        let all: Vec<Duration> = (0..whole.iterations())
            .map(|k| whole.due(k).expect("due"))
            .collect();
        let mut merged = Vec::new();
        let mut count = 0;
        for index in 0..3 {
            let share = Share {
                schedule: whole.clone(),
                index,
                count: 3,
            };
            let mut local = 0;
            while let Some((global, at)) = share.due(local) {
                assert_eq!(global % 3, index);
                merged.push((global, at));
                local += 1;
            }
            assert_eq!(local, share.iterations());
            count += share.iterations();
        }
        assert_eq!(count, whole.iterations());
        merged.sort_by_key(|(g, _)| *g);
        let times: Vec<Duration> = merged.into_iter().map(|(_, t)| t).collect();
        assert_eq!(times, all);
    }
}
