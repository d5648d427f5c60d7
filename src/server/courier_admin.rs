//! The admin courier routes: `GET /admin/courier/messages` (listCourierMessages) and
//! `GET /admin/courier/messages/{id}`. Kratos serves them on its admin port; the reference server
//! serves them next to the public routes so that one base URL completes a whole recovery.

use super::courier::STATUSES;
use super::error::{KratosError, MSG_NOT_FOUND};
use super::state::{parse_id, App};
use super::{http, reply};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

/// `GET /admin/courier/messages?recipient=&status=&page_size=`.
pub(crate) fn list(app: &App, req: &Request) -> Result<Response, KratosError> {
    let query = req.uri().query();
    let page_size = match http::query_param(query, "page_size") {
        None => 250,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(KratosError::bad_request(format!(
                    "The page_size query parameter must be an integer from 1 to 1000, got \"{v}\"."
                )))
            }
        },
    };
    let status = http::query_param(query, "status");
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(KratosError::bad_request(format!(
                "The status query parameter must be one of queued, sent, processing, abandoned, got \"{s}\"."
            )));
        }
    }
    let recipient = http::query_param(query, "recipient").filter(|r| !r.is_empty());
    let body = app
        .courier
        .render_list(recipient.as_deref(), status.as_deref(), page_size);
    Ok(reply::json(StatusCode::OK, body))
}

/// `GET /admin/courier/messages/{id}`.
pub(crate) fn one(app: &App, req: &Request) -> Result<Response, KratosError> {
    let id = req.uri().path().rsplit('/').next();
    match parse_id(id).and_then(|id| app.courier.render_one(id)) {
        Some(body) => Ok(reply::json(StatusCode::OK, body)),
        None => Err(KratosError::new(404, MSG_NOT_FOUND)),
    }
}
