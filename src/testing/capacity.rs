//! A reference server with a known capacity, for the load tests: the real reference server's
//! answers, each served by one of `workers` workers in exactly `service` time, first come first
//! served. It completes at most `workers / service` requests per second, and beyond that its
//! queue grows: a target whose capacity and queueing are known, so that `load capacity` and the
//! open model can be checked against them.
//!
//! The workers are a schedule, not threads: a request arriving at `a` takes the worker that
//! frees first (at `f`), starts at `max(a, f)` and ends `service` later; the handler sleeps until
//! its start (the queue), runs the reference server, and answers at its end. Chaining each start
//! on the previous end (not on when a sleep woke up) keeps the throughput exact despite the
//! timer's millisecond granularity. A request whose client has gone keeps its worker, as a real
//! server's would.
//!
//! [`CapacityServer::stop_answering_after`] makes it hang from the n-th request on: a target that
//! stops answering in the middle of a run.

use crate::server::{RunningServer, ServerConfig};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The queue of a capacity-limited server.
#[derive(Debug)]
pub struct Workers {
    service: Duration,
    /// When each worker is next free.
    free_at: Mutex<Vec<Instant>>,
    /// Requests arrived.
    arrived: AtomicU64,
    /// Requests answered.
    answered: AtomicU64,
    /// From this request on (1-based), none is answered.
    hang_from: AtomicU64,
}

impl Workers {
    /// `workers` workers of `service` each.
    pub fn new(workers: usize, service: Duration) -> Workers {
        let now = Instant::now();
        Workers {
            service,
            free_at: Mutex::new(vec![now; workers.max(1)]),
            arrived: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            hang_from: AtomicU64::new(u64::MAX),
        }
    }

    /// Requests per second the workers complete at most.
    pub fn capacity(&self) -> f64 {
        let n = self.free_at.lock().unwrap_or_else(|e| e.into_inner()).len();
        n as f64 / self.service.as_secs_f64()
    }

    /// Reserves a worker for a request arriving at `now`: when it starts and ends.
    pub fn reserve(&self, now: Instant) -> (Instant, Instant) {
        let mut free = self.free_at.lock().unwrap_or_else(|e| e.into_inner());
        let (i, f) = free
            .iter()
            .enumerate()
            .min_by_key(|(_, f)| **f)
            .map(|(i, f)| (i, *f))
            .unwrap_or((0, now));
        let start = f.max(now);
        let end = start + self.service;
        free[i] = end;
        (start, end)
    }

    /// Requests that arrived so far.
    pub fn arrived(&self) -> u64 {
        self.arrived.load(Ordering::Relaxed)
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }
}

async fn serve(State(w): State<Arc<Workers>>, request: Request, next: Next) -> Response {
    let n = w.arrived.fetch_add(1, Ordering::Relaxed) + 1;
    if n >= w.hang_from.load(Ordering::Relaxed) {
        std::future::pending::<()>().await;
    }
    let (start, end) = w.reserve(Instant::now());
    tokio::time::sleep_until(start.into()).await;
    let response = next.run(request).await;
    tokio::time::sleep_until(end.into()).await;
    w.answered.fetch_add(1, Ordering::Relaxed);
    response
}

/// A capacity-limited reference server running on a thread of its own (its own runtime), on an
/// ephemeral loopback port; it lives as long as the value.
pub struct CapacityServer {
    base_url: String,
    workers: Arc<Workers>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CapacityServer {
    /// Starts a server of `workers` workers taking `service` per request.
    pub fn start(workers: usize, service: Duration) -> CapacityServer {
        let queue = Arc::new(Workers::new(workers, service));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let state = queue.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the capacity server");
            rt.block_on(async move {
                let server = crate::server::spawn_with(
                    ServerConfig {
                        max_flows: 100_000,
                        ..ServerConfig::default()
                    },
                    move |router| router.layer(axum::middleware::from_fn_with_state(state, serve)),
                )
                .await;
                let server: RunningServer = match server {
                    Ok(s) => s,
                    Err(e) => panic!("the capacity server did not start: {e}"),
                };
                let _ = ready_tx.send(server.base_url().to_owned());
                let _ = stop_rx.await;
                server.shutdown().await;
            });
        });
        let base_url = ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the capacity server started");
        CapacityServer {
            base_url,
            workers: queue,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Its base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Its queue.
    pub fn workers(&self) -> &Workers {
        &self.workers
    }

    /// From the `n`-th request on (1-based), no request is answered.
    pub fn stop_answering_after(&self, n: u64) {
        self.workers.hang_from.store(n, Ordering::Relaxed);
    }
}

impl Drop for CapacityServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_serves_workers_over_service_requests_a_second() {
        let w = Workers::new(4, Duration::from_millis(5));
        assert!((w.capacity() - 800.0).abs() < 1e-9);
        let t0 = Instant::now() + Duration::from_secs(1);
        // 40 requests at once: 10 rounds of 4, the last ending 50 ms later.
        let ends: Vec<Instant> = (0..40).map(|_| w.reserve(t0).1).collect();
        assert_eq!(
            *ends.iter().max().expect("ends"),
            t0 + Duration::from_millis(50)
        );
        // A request after the queue drained starts at once.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(w.reserve(later), (later, later + Duration::from_millis(5)));
    }
}
