//! The open model (`--rate`, `--stages`, and every step of `load capacity`): a dispatcher that
//! starts iterations at their scheduled times, whatever the answers' latency, and hands them to
//! Goose's users.
//!
//! How it fits with Goose: Goose still runs the users (one per allowed in-flight iteration,
//! `--max-in-flight`), times and records every request, and judges the thresholds. What changes
//! is when a user starts an iteration: instead of looping as fast as its answers come back (the
//! closed model), the user's first step waits here for a [`Ticket`], which the dispatcher issues
//! at the iteration's due time ([`super::arrivals`]). The idle users wait in a stack (the one
//! that finished last gets the next ticket, so a run keeps as few connections warm as its
//! concurrency needs). An iteration due while `--max-in-flight` iterations are already running
//! is dropped and counted ([`OpenModel::dropped`]), never silently skipped. A due iteration that
//! finds every user busy for a moment waits in a queue, and that wait counts in its latency:
//! the first request of an iteration is timed from the iteration's intended start, not from
//! when it was sent (see `steps/exchange.rs`), so a slow target cannot hide its queueing
//! (coordinated omission).
//!
//! The dispatcher also ends the attack: once the schedule is over and every started iteration
//! has finished (or `--timeout` per step has passed), it triggers Goose's killswitch, and the
//! users waiting here are released so that Goose can stop them. A watchdog ends the run early
//! when the target gives no answer for a whole `--timeout` while requests wait
//! ([`OpenModel::stopped_answering`]).

use super::arrivals::Share;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The reason given to Goose's killswitch when the schedule is done.
pub const FINISHED: &str = "open model: every scheduled iteration has run";
/// The longest wait for Goose to start every user before the schedule starts anyway.
const READY_WAIT: Duration = Duration::from_secs(60);
/// How often a waiting dispatcher looks at signals and the watchdog.
const TICK: Duration = Duration::from_millis(50);

/// One iteration handed to a user: when it was due.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    /// Its intended start.
    pub intended: Instant,
}

#[derive(Debug, Default)]
struct Queue {
    /// Users waiting for an iteration, the one that waited least on top.
    idle: Vec<oneshot::Sender<Ticket>>,
    /// Iterations due while every user was busy.
    pending: VecDeque<Ticket>,
    /// No more tickets will come.
    closed: bool,
}

/// Start delays of iterations (intended start to the first request's send), in a log-linear
/// histogram: 1 µs resolution below 1 ms, then about 3 %.
#[derive(Debug, Default)]
struct Lag {
    buckets: std::collections::BTreeMap<u64, u64>,
    count: u64,
    max_us: u64,
}

impl Lag {
    fn bucket(us: u64) -> u64 {
        if us < 1000 {
            return us;
        }
        // Keep the 5 leading bits: about 3 % wide.
        let shift = 63 - us.leading_zeros() as u64 - 5;
        (us >> shift) << shift
    }
    fn record(&mut self, us: u64) {
        *self.buckets.entry(Lag::bucket(us)).or_default() += 1;
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((p * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (bucket, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return (*bucket).min(self.max_us) as f64 / 1000.0;
            }
        }
        self.max_us as f64 / 1000.0
    }
}

/// What an open-model run did, for its summary.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OpenFigures {
    /// Iterations whose due time came (started, queued or dropped).
    pub due: u64,
    /// Iterations a user started.
    pub started: u64,
    /// Iterations that finished (whatever their outcome).
    pub completed: u64,
    /// ... of which within the schedule's window.
    pub completed_in_window: u64,
    /// Iterations dropped: due while `--max-in-flight` were running.
    pub dropped: u64,
    /// The window the rate was applied for, seconds (shorter when the run was stopped).
    pub window_s: f64,
    /// Median delay from an iteration's intended start to its first request, ms.
    pub start_lag_p50_ms: f64,
    /// 99th percentile of that delay, ms.
    pub start_lag_p99_ms: f64,
    /// The most iterations in flight at once.
    pub peak_in_flight: usize,
}

impl OpenFigures {
    /// Iterations that finished within the window, per second: the rate the target sustained.
    pub fn achieved_rate(&self) -> f64 {
        if self.window_s > 0.0 {
            self.completed_in_window as f64 / self.window_s
        } else {
            0.0
        }
    }
}

/// The dispatcher of one open-model run; shared by the users (through the steps' shared state)
/// and its own task ([`OpenModel::drive`]).
#[derive(Debug)]
pub struct OpenModel {
    share: Share,
    max_in_flight: usize,
    users: usize,
    /// Longest a started iteration may still run once the schedule is over.
    drain: Duration,
    /// `--timeout`: the watchdog's silence limit.
    timeout: Duration,
    queue: Mutex<Queue>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    due: AtomicU64,
    started: AtomicU64,
    completed: AtomicU64,
    completed_in_window: AtomicU64,
    dropped: AtomicU64,
    lag: Mutex<Lag>,
    /// The schedule's start, once the users are ready.
    t0: std::sync::OnceLock<(Instant, chrono::DateTime<chrono::Utc>)>,
    /// When the rate stopped being applied (schedule end, or a stop).
    window_end: std::sync::OnceLock<Instant>,
    /// Every user may leave: set once the run is over.
    over: AtomicBool,
    over_notify: tokio::sync::Notify,
    /// Milliseconds since `created` of the last answer (any HTTP status).
    last_answer_ms: AtomicU64,
    /// Milliseconds since `created` of the first request sent after that answer (0: none).
    first_unanswered_ms: AtomicU64,
    created: Instant,
    /// Set by the watchdog: how long the target had been silent.
    silent_for: std::sync::OnceLock<Duration>,
}

impl OpenModel {
    /// A dispatcher for `share` of a schedule, with `users` Goose users allowed at most
    /// `max_in_flight` running iterations; `drain` bounds the wait for the last iterations and
    /// `timeout` (`--timeout`) is how long the target may stay silent.
    pub fn new(
        share: Share,
        users: usize,
        max_in_flight: usize,
        drain: Duration,
        timeout: Duration,
    ) -> Arc<OpenModel> {
        Arc::new(OpenModel {
            share,
            max_in_flight,
            users,
            drain,
            timeout,
            queue: Mutex::new(Queue::default()),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            due: AtomicU64::new(0),
            started: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            completed_in_window: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            lag: Mutex::new(Lag::default()),
            t0: std::sync::OnceLock::new(),
            window_end: std::sync::OnceLock::new(),
            over: AtomicBool::new(false),
            over_notify: tokio::sync::Notify::new(),
            last_answer_ms: AtomicU64::new(0),
            first_unanswered_ms: AtomicU64::new(0),
            created: Instant::now(),
            silent_for: std::sync::OnceLock::new(),
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for this user's next iteration; `None` once the run is over (the user then returns
    /// at once, and Goose stops it between two transactions).
    pub async fn next(&self) -> Option<Ticket> {
        let waiting = {
            let mut q = self.queue();
            if let Some(t) = q.pending.pop_front() {
                self.started.fetch_add(1, Ordering::Relaxed);
                return Some(t);
            }
            if q.closed {
                None
            } else {
                let (tx, rx) = oneshot::channel();
                q.idle.push(tx);
                Some(rx)
            }
        };
        if let Some(rx) = waiting {
            if let Ok(t) = rx.await {
                self.started.fetch_add(1, Ordering::Relaxed);
                return Some(t);
            }
        }
        self.wait_over().await;
        None
    }

    /// Waits until the run is over, then a little more: Goose looks at its stop command between
    /// transactions, so a released user must not come straight back in a busy loop.
    async fn wait_over(&self) {
        self.ended().await;
        tokio::time::sleep(TICK).await;
    }

    /// Resolves once the run is over: the schedule ended and its iterations finished, or the
    /// drain's bound passed, or a signal or the watchdog stopped it. A request still waiting then
    /// is abandoned (and counted as one without an answer).
    pub async fn ended(&self) {
        loop {
            let notified = self.over_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.over.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    /// The iteration of `ticket` finished (whatever its outcome).
    pub fn done(&self, _ticket: Ticket) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        if self.window_end.get().is_none() {
            self.completed_in_window.fetch_add(1, Ordering::Relaxed);
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// The first request of an iteration is being sent at `sent`: records the start delay.
    pub fn started_request(&self, ticket: Instant, sent: Instant) {
        let us = sent.saturating_duration_since(ticket).as_micros() as u64;
        self.lag
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(us);
    }

    fn ms_since_created(&self, at: Instant) -> u64 {
        // +1: 0 means "none" in `first_unanswered_ms`.
        at.saturating_duration_since(self.created).as_millis() as u64 + 1
    }

    /// A request is being sent (the watchdog's clock).
    pub fn attempt(&self, at: Instant) {
        let ms = self.ms_since_created(at);
        let _ =
            self.first_unanswered_ms
                .compare_exchange(0, ms, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// An answer came (any status).
    pub fn answered(&self, at: Instant) {
        self.last_answer_ms
            .fetch_max(self.ms_since_created(at), Ordering::Relaxed);
        self.first_unanswered_ms.store(0, Ordering::Relaxed);
    }

    /// Seconds from the schedule's start to `at` (0 before it).
    pub fn second_of(&self, at: Instant) -> u64 {
        self.t0
            .get()
            .map_or(0, |(t0, _)| at.saturating_duration_since(*t0).as_secs())
    }

    /// When the schedule started (UTC), once it has.
    pub fn started_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.t0.get().map(|(_, utc)| *utc)
    }

    /// How long the target had been silent when the watchdog stopped the run, if it did.
    pub fn stopped_answering(&self) -> Option<Duration> {
        self.silent_for.get().copied()
    }

    /// Iterations dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Iterations running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The run's figures.
    pub fn figures(&self) -> OpenFigures {
        let window_s = match (self.t0.get(), self.window_end.get()) {
            (Some((t0, _)), Some(end)) => end.saturating_duration_since(*t0).as_secs_f64(),
            (Some((t0, _)), None) => t0.elapsed().as_secs_f64(),
            _ => 0.0,
        };
        let lag = self.lag.lock().unwrap_or_else(|e| e.into_inner());
        OpenFigures {
            due: self.due.load(Ordering::Relaxed),
            started: self.started.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            completed_in_window: self.completed_in_window.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            window_s,
            start_lag_p50_ms: lag.percentile_ms(0.50),
            start_lag_p99_ms: lag.percentile_ms(0.99),
            peak_in_flight: self.peak_in_flight.load(Ordering::Relaxed),
        }
    }

    /// Makes one iteration due now: a waiting user starts it, or it waits for the next free
    /// user, or (at `--max-in-flight`) it is dropped.
    fn dispatch(&self, ticket: Ticket) {
        self.due.fetch_add(1, Ordering::Relaxed);
        let running = self.in_flight.fetch_add(1, Ordering::SeqCst);
        if running >= self.max_in_flight {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.peak_in_flight
            .fetch_max(running + 1, Ordering::Relaxed);
        let mut q = self.queue();
        let mut ticket = ticket;
        while let Some(user) = q.idle.pop() {
            match user.send(ticket) {
                Ok(()) => return,
                // That user is gone (Goose stopped it): the next one.
                Err(back) => ticket = back,
            }
        }
        q.pending.push_back(ticket);
    }

    /// No more tickets: the waiting users are released (they wait for the end of the run).
    fn close(&self) {
        let mut q = self.queue();
        q.closed = true;
        q.idle.clear();
        // Iterations due but never started are not run after the window: counted as dropped.
        let never = q.pending.len();
        q.pending.clear();
        drop(q);
        if never > 0 {
            self.dropped.fetch_add(never as u64, Ordering::Relaxed);
            self.in_flight.fetch_sub(never, Ordering::SeqCst);
        }
    }

    fn finish(&self) {
        self.over.store(true, Ordering::SeqCst);
        self.over_notify.notify_waiters();
    }

    /// The watchdog: the target gave no answer for a whole `--timeout` while a request waited.
    fn silent(&self, now: Instant) -> Option<Duration> {
        let first = self.first_unanswered_ms.load(Ordering::Relaxed);
        if first == 0 {
            return None;
        }
        let now_ms = self.ms_since_created(now);
        let last = self.last_answer_ms.load(Ordering::Relaxed);
        let silent = Duration::from_millis(now_ms.saturating_sub(last.max(first)));
        let since_answer = Duration::from_millis(now_ms.saturating_sub(last.max(1)));
        (silent >= self.timeout).then_some(since_answer)
    }

    /// Whether the run must stop now (a signal, or the target went silent).
    fn must_stop(&self, now: Instant) -> bool {
        if super::signals::received().is_some() {
            return true;
        }
        if let Some(silent) = self.silent(now) {
            let _ = self.silent_for.set(silent);
            return true;
        }
        false
    }

    /// Runs the schedule: waits until every user is ready (or until `start_at`), issues the
    /// tickets at their due times, waits for the started iterations to finish, then ends the
    /// Goose attack. Spawned next to `GooseAttack::execute`.
    pub async fn drive(self: Arc<Self>, start_at: Option<chrono::DateTime<chrono::Utc>>) {
        // Goose starts the users over a moment; the schedule starts once all wait here, so
        // that no iteration waits for a user that is not there yet.
        let ready_by = Instant::now() + READY_WAIT;
        while self.queue().idle.len() < self.users && Instant::now() < ready_by {
            if super::signals::received().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (t0, t0_utc) = match start_at {
            Some(at) => {
                let ahead = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                (Instant::now() + ahead, at)
            }
            None => (Instant::now(), chrono::Utc::now()),
        };
        let _ = self.t0.set((t0, t0_utc));
        let end = t0 + self.share.schedule.duration();

        let mut local = 0u64;
        let mut stopped = false;
        'schedule: while let Some((_, offset)) = self.share.due(local) {
            let due = t0 + offset;
            loop {
                let now = Instant::now();
                if self.must_stop(now) {
                    stopped = true;
                    break 'schedule;
                }
                if now >= due {
                    break;
                }
                tokio::time::sleep_until((due.min(now + TICK)).into()).await;
            }
            self.dispatch(Ticket { intended: due });
            local += 1;
        }
        if !stopped {
            // The window lasts the schedule's length, even when its last iteration is early.
            while Instant::now() < end {
                if self.must_stop(Instant::now()) {
                    stopped = true;
                    break;
                }
                tokio::time::sleep_until((end.min(Instant::now() + TICK)).into()).await;
            }
        }
        let _ = self.window_end.set(Instant::now().min(end.max(t0)));
        self.close();
        if !stopped {
            let drain_by = Instant::now() + self.drain;
            while self.in_flight() > 0 && Instant::now() < drain_by {
                if self.must_stop(Instant::now()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        self.finish();
        goose::trigger_killswitch(FINISHED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::arrivals::Schedule;

    #[test]
    fn lag_percentiles_are_close() {
        let mut lag = Lag::default();
        for us in 1..=10_000u64 {
            lag.record(us);
        }
        let p50 = lag.percentile_ms(0.5);
        let p99 = lag.percentile_ms(0.99);
        assert!((p50 - 5.0).abs() / 5.0 < 0.04, "{p50}");
        assert!((p99 - 9.9).abs() / 9.9 < 0.04, "{p99}");
        assert_eq!(Lag::default().percentile_ms(0.99), 0.0);
    }

    #[tokio::test]
    async fn iterations_beyond_the_in_flight_cap_are_dropped_and_counted() {
        let share =
            Share::whole(Schedule::constant(200.0, Duration::from_millis(500)).expect("valid"));
        let open = OpenModel::new(share, 2, 2, Duration::from_secs(1), Duration::from_secs(5));
        // Two users that take one iteration each and never finish it.
        let mut users = Vec::new();
        for _ in 0..2 {
            let open = open.clone();
            users.push(tokio::spawn(async move { open.next().await }));
        }
        let driver = tokio::spawn(open.clone().drive(None));
        let tickets: Vec<_> = futures::future::join_all(users).await;
        assert!(tickets.iter().all(|t| matches!(t, Ok(Some(_)))));
        // The schedule ends; the two running ones hold the drain (1 s) and are then cut.
        let _ = driver.await;
        let f = open.figures();
        assert_eq!(f.due, 100);
        assert_eq!(f.started, 2);
        assert_eq!(f.dropped, 98);
        assert_eq!(f.completed, 0);
        assert_eq!(f.peak_in_flight, 2);
        goose::reset_killswitch();
    }

    #[tokio::test]
    async fn a_silent_target_stops_the_run_after_the_timeout() {
        let share = Share::whole(Schedule::constant(10.0, Duration::from_secs(30)).expect("valid"));
        let open = OpenModel::new(
            share,
            1,
            1,
            Duration::from_secs(1),
            Duration::from_millis(300),
        );
        let user = {
            let open = open.clone();
            tokio::spawn(async move {
                let t = open.next().await.expect("a ticket");
                open.attempt(Instant::now());
                t
            })
        };
        let started = Instant::now();
        open.clone().drive(None).await;
        assert!(started.elapsed() < Duration::from_secs(5), "stopped early");
        let silent = open.stopped_answering().expect("the watchdog fired");
        assert!(silent >= Duration::from_millis(300), "{silent:?}");
        let _ = user.await;
        goose::reset_killswitch();
    }
}
