//! When runs start: slot `k` starts at `start + k × every + jitter_k` (`jitter_k` drawn in
//! `[0, jitter]`, slot 0 at once), so a fleet of monitors spreads its requests and a slow run does
//! not shift every later one. One run at a time: a slot whose start passes while a run is still
//! going is an overrun, counted and dropped, never queued behind it.

use std::time::Duration;
use tokio::time::Instant;

/// The slots of a monitor.
#[derive(Debug)]
pub struct Schedule {
    start: Instant,
    every: Duration,
    jitter: Duration,
    slot: u32,
}

/// The next run to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    /// When it starts.
    pub at: Instant,
    /// Slots dropped since the last run because it was still going when they came.
    pub overruns: u64,
}

impl Schedule {
    /// Slot 0 at `start`; `jitter` is at most `every` (the caller validates it).
    pub fn new(start: Instant, every: Duration, jitter: Duration) -> Schedule {
        Schedule {
            start,
            every,
            jitter: jitter.min(every),
            slot: 0,
        }
    }

    /// The first slot after the run that ended at `now`; `draw(max)` picks a jitter in
    /// `[0, max]`.
    pub fn next_after(&mut self, now: Instant, mut draw: impl FnMut(Duration) -> Duration) -> Next {
        let mut overruns = 0;
        loop {
            self.slot = self.slot.saturating_add(1);
            let at = self.start + self.every * self.slot + draw(self.jitter).min(self.jitter);
            if at > now {
                return Next { at, overruns };
            }
            overruns += 1;
        }
    }
}

/// A uniform jitter in `[0, max]`.
pub fn uniform(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_run_within_its_slot_loses_nothing() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 10 * S, 2 * S);
        let next = s.next_after(t0 + S, |_| S);
        assert_eq!(
            next,
            Next {
                at: t0 + 11 * S,
                overruns: 0
            }
        );
        let next = s.next_after(t0 + 12 * S, |_| Duration::ZERO);
        assert_eq!(
            next,
            Next {
                at: t0 + 20 * S,
                overruns: 0
            }
        );
    }

    #[test]
    fn slots_that_pass_during_a_run_are_counted_not_queued() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 10 * S, Duration::ZERO);
        // The first run took 35 s: the slots at 10, 20 and 30 s passed meanwhile.
        let next = s.next_after(t0 + 35 * S, |_| Duration::ZERO);
        assert_eq!(
            next,
            Next {
                at: t0 + 40 * S,
                overruns: 3
            }
        );
        // A slot that starts exactly when the run ends is passed too: never two runs at once.
        let next = s.next_after(t0 + 50 * S, |_| Duration::ZERO);
        assert_eq!(
            next,
            Next {
                at: t0 + 60 * S,
                overruns: 1
            }
        );
    }

    #[test]
    fn jitter_is_bounded_by_its_maximum_and_by_the_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 10 * S, 60 * S);
        let next = s.next_after(t0, |max| max * 2);
        assert_eq!(next.at, t0 + 20 * S);
        for _ in 0..1000 {
            assert!(uniform(3 * S) <= 3 * S);
        }
        assert_eq!(uniform(Duration::ZERO), Duration::ZERO);
    }
}
