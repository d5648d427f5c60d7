//! The monitor's HTTP endpoints: `GET /metrics` (the Prometheus text format, or OpenMetrics when
//! the scrape's `Accept` prefers it), `GET /healthz` (liveness: the process serves, whatever the
//! target does) and `GET /last-run.json` (the last run's `conformance.json`). They read only
//! shared state, so they answer while a run hangs.

use super::metrics::{self, Metrics};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use std::sync::{Arc, RwLock};

/// What the endpoints serve.
#[derive(Debug)]
pub struct Shared {
    /// The metrics.
    pub metrics: Metrics,
    last_run: RwLock<Option<Bytes>>,
}

impl Shared {
    /// Before any run.
    pub fn new(metrics: Metrics) -> Shared {
        Shared {
            metrics,
            last_run: RwLock::new(None),
        }
    }

    /// Replaces the last run's `conformance.json`.
    pub fn set_last_run(&self, json: String) {
        if let Ok(mut last) = self.last_run.write() {
            *last = Some(Bytes::from(json));
        }
    }

    fn last_run(&self) -> Option<Bytes> {
        self.last_run.read().ok().and_then(|l| l.clone())
    }
}

/// The router of the endpoints.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(healthz))
        .route("/last-run.json", get(last_run))
        .with_state(shared)
}

async fn scrape(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(metrics::wants_openmetrics);
    let content_type = if openmetrics {
        metrics::OPENMETRICS_CONTENT_TYPE
    } else {
        metrics::TEXT_CONTENT_TYPE
    };
    match shared.metrics.encode(openmetrics) {
        Ok(body) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the exposition could not be encoded\n",
        )
            .into_response(),
    }
}

async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
}

async fn last_run(State(shared): State<Arc<Shared>>) -> Response {
    match shared.last_run() {
        Some(json) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            json,
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::RETRY_AFTER, "1"),
            ],
            "{\"error\":\"no run has finished yet\"}\n",
        )
            .into_response(),
    }
}
