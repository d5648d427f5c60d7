//! The capacity search as arithmetic: the next rate to try given the steps so far, and when to
//! stop. No clock, no I/O: property-tested against monotone and noisy targets.

use std::path::PathBuf;
use std::time::Duration;

/// A checked `load capacity` run (the flags are `cli/load.rs`'s).
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityPlan {
    /// The rules every step must hold (an error-rate rule included).
    pub slo: Vec<String>,
    /// The interval to narrow to, percent.
    pub precision_pct: f64,
    /// `--min-rate`.
    pub min_rate: Option<f64>,
    /// The first step's rate.
    pub start_rate: f64,
    /// The highest rate tried.
    pub max_rate: f64,
    /// How long each step applies its rate.
    pub step: Duration,
    /// The command's report directory (the steps' are `steps/NN` inside).
    pub report_dir: PathBuf,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Run a step at this rate.
    Run(f64),
    /// Stop.
    Stop(Stopped),
}

/// Why a search stopped by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The highest passing and lowest failing rates are within the precision.
    Precision,
    /// The first step failed: there is no lower rate to try.
    FirstStepFailed,
    /// Every rate up to `--max-rate` passed.
    MaxRate,
    /// [`MAX_STEPS`] steps ran (a target whose verdicts change from one step to the next).
    Steps,
    /// The load generator could not start a rate between the bracket's ends on time, twice:
    /// the capacity stands with the precision the bracket has.
    GeneratorLimited,
}

impl Stopped {
    /// The name `"stopped_by"` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Stopped::Precision => "precision",
            Stopped::FirstStepFailed => "first_step_failed",
            Stopped::MaxRate => "max_rate",
            Stopped::Steps => "max_steps",
            Stopped::GeneratorLimited => "generator_limited",
        }
    }
}

/// The state of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    start: f64,
    max: f64,
    /// As a fraction (0.05 for 5 %).
    precision: f64,
    /// The highest rate that passed.
    pass: Option<f64>,
    /// The lowest rate that failed.
    fail: Option<f64>,
    steps: usize,
}

/// The most steps a search runs: doubling from the lowest to the highest accepted rate takes
/// 27, bisecting to the finest precision about 12 more.
pub const MAX_STEPS: usize = 60;

impl Search {
    /// A search from `start` up to `max`, narrowing to `precision_pct` percent.
    pub fn new(start: f64, max: f64, precision_pct: f64) -> Search {
        Search {
            start,
            max: max.max(start),
            precision: precision_pct / 100.0,
            pass: None,
            fail: None,
            steps: 0,
        }
    }

    /// The rate to try next, or why to stop.
    pub fn next(&self) -> Next {
        if self.steps >= MAX_STEPS {
            return Next::Stop(Stopped::Steps);
        }
        match (self.pass, self.fail) {
            (None, None) => Next::Run(self.start),
            (None, Some(_)) => Next::Stop(Stopped::FirstStepFailed),
            (Some(pass), None) if pass >= self.max => Next::Stop(Stopped::MaxRate),
            (Some(pass), None) => Next::Run((pass * 2.0).min(self.max)),
            (Some(pass), Some(fail)) => {
                if fail <= pass * (1.0 + self.precision) {
                    Next::Stop(Stopped::Precision)
                } else {
                    // The geometric middle halves the ratio's logarithm: the precision is a
                    // ratio.
                    Next::Run((pass * fail).sqrt())
                }
            }
        }
    }

    /// Records a step at `rate` and whether it held every rule. The search only tries rates
    /// between the highest pass and the lowest failure, so the bracket stays ordered; a noisy
    /// target that passes above a failure (a rate given by hand) moves the failure out.
    pub fn record(&mut self, rate: f64, passed: bool) {
        self.steps += 1;
        if passed {
            if self.pass.is_none_or(|p| rate > p) {
                self.pass = Some(rate);
            }
            if self.fail.is_some_and(|f| f <= rate) {
                self.fail = None;
            }
        } else if self.fail.is_none_or(|f| rate < f) && self.pass.is_none_or(|p| rate > p) {
            self.fail = Some(rate);
        }
    }

    /// The highest passing rate.
    pub fn capacity(&self) -> Option<f64> {
        self.pass
    }

    /// The lowest failing rate.
    pub fn failing(&self) -> Option<f64> {
        self.fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a search against a target that passes exactly below `capacity`.
    fn against(capacity: f64, start: f64, max: f64, precision: f64) -> (Search, Vec<f64>, Stopped) {
        let mut s = Search::new(start, max, precision);
        let mut rates = Vec::new();
        loop {
            match s.next() {
                Next::Run(rate) => {
                    rates.push(rate);
                    s.record(rate, rate <= capacity);
                }
                Next::Stop(why) => return (s, rates, why),
            }
        }
    }

    #[test]
    fn it_brackets_the_capacity_within_the_precision() {
        for capacity in [12.0, 100.0, 799.0, 800.0, 801.0, 1500.0, 33_333.0] {
            let (s, rates, why) = against(capacity, 10.0, 100_000.0, 5.0);
            assert_eq!(why, Stopped::Precision, "{capacity}");
            let (pass, fail) = (s.capacity().expect("pass"), s.failing().expect("fail"));
            assert!(
                pass <= capacity && capacity < fail,
                "{capacity}: {pass}..{fail}"
            );
            assert!(fail <= pass * 1.05 + 1e-9, "{capacity}: {pass}..{fail}");
            assert!(rates.len() < 25, "{capacity}: {} steps", rates.len());
        }
    }

    #[test]
    fn a_failing_first_step_stops_the_search() {
        let (s, rates, why) = against(5.0, 10.0, 1000.0, 5.0);
        assert_eq!(why, Stopped::FirstStepFailed);
        assert_eq!(rates, vec![10.0]);
        assert_eq!(s.capacity(), None);
        assert_eq!(s.failing(), Some(10.0));
    }

    #[test]
    fn a_target_beyond_the_max_rate_stops_there() {
        let (s, rates, why) = against(1e9, 10.0, 100.0, 5.0);
        assert_eq!(why, Stopped::MaxRate);
        assert_eq!(rates, vec![10.0, 20.0, 40.0, 80.0, 100.0]);
        assert_eq!(s.capacity(), Some(100.0));
    }

    #[test]
    fn noise_never_makes_it_loop() {
        // A target that passes and fails at random: the search still ends, bounded.
        let mut s = Search::new(10.0, 100_000.0, 0.5);
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut n = 0;
        while let Next::Run(rate) = s.next() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.record(rate, !x.is_multiple_of(3));
            n += 1;
            assert!(n <= MAX_STEPS + 1);
        }
    }
}
