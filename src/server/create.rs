//! Flow creation: `GET /self-service/recovery/api` (createNativeRecoveryFlow, §2) and
//! `GET /self-service/recovery/browser` (createBrowserRecoveryFlow, §3).

use super::error::KratosError;
use super::http::{self, ReturnToError};
use super::render::NewFlowBody;
use super::state::{new_id, now_ns, App, ReqCtx, Resolved};
use super::store::{Flow, FlowType};
use super::{csrf, render, reply};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

/// What flow creation renders once per server.
pub(crate) struct NewFlows {
    /// The body of a new API flow created without a query string (what a load test creates),
    /// with its id and timestamps to fill in; `None` if it could not be cut (then [`render::flow`]
    /// renders each one).
    api: Option<NewFlowBody>,
}

impl NewFlows {
    pub(crate) fn new(cfg: &Resolved) -> NewFlows {
        NewFlows {
            api: NewFlowBody::new(cfg, FlowType::Api),
        }
    }
}

/// Longest query string a created flow keeps (`request_url`); longer ones get a 414 so that
/// `--max-flows` really bounds memory.
pub(crate) const MAX_STORED_QUERY: usize = 4096;

fn uri_too_long() -> KratosError {
    KratosError::new(414, "The request URI is too long").reason(
        "The query string is longer than 4096 bytes; the reference server does not store such flows.",
    )
}

/// §2.3: the `return_to` of the query, checked.
pub(crate) fn return_to_error(app: &App, query: Option<&str>) -> Option<KratosError> {
    let rt = http::query_param(query, "return_to").filter(|v| !v.is_empty())?;
    match http::check_return_to(&rt, &app.cfg.default_return, &app.cfg.allowed) {
        Ok(()) => None,
        Err(ReturnToError::Forbidden(u)) => Some(
            KratosError::bad_request(format!("Requested return_to URL \"{u}\" is not allowed."))
                .id("self_service_flow_return_to_forbidden"),
        ),
        Err(ReturnToError::Unparsable(e)) => Some(KratosError::bad_request(format!(
            "Unable to parse the return_to query parameter as an URL: {e}"
        ))),
    }
}

/// A new flow of `flow_type` for this request (its `request_url` as the request came in).
fn new_flow(app: &App, ctx: &ReqCtx, req: &Request, flow_type: FlowType, now: i64) -> Flow {
    let mut flow = Flow::new(flow_type, app.cfg.method, app.cfg.v2, now);
    let query = req.uri().query().filter(|q| !q.is_empty());
    if let Some(q) = query {
        flow.extra_mut().query = Some(q.into());
    }
    let path = req
        .uri()
        .path_and_query()
        .map_or(req.uri().path(), |p| p.as_str());
    if let Some(url) = ctx.request_url(path) {
        flow.extra_mut().request_url = Some(url.into());
    }
    flow
}

/// `GET /self-service/recovery/api`.
pub(crate) fn api(
    app: &App,
    new_flows: &NewFlows,
    ctx: &ReqCtx,
    req: &Request,
) -> Result<Response, KratosError> {
    if app.signed_in(ctx, req.headers()) {
        return Err(KratosError::session_already_available());
    }
    if !app.cfg.recovery_enabled {
        return Err(KratosError::recovery_disabled());
    }
    let query = req.uri().query().filter(|q| !q.is_empty());
    if query.is_some_and(|q| q.len() > MAX_STORED_QUERY) {
        return Err(uri_too_long());
    }
    if let Some(e) = return_to_error(app, query) {
        return Err(e);
    }
    let now = now_ns();
    let id = new_id();
    let flow = new_flow(app, ctx, req, FlowType::Api, now);
    let body = match &new_flows.api {
        Some(body) if flow.extra().is_none() => body.render(id, now),
        _ => render::flow(&app.cfg, id, &flow, None).into_bytes(),
    };
    app.store.insert(id, flow, now);
    Ok(reply::json(StatusCode::OK, body))
}

/// `GET /self-service/recovery/browser`.
pub(crate) fn browser(app: &App, ctx: &ReqCtx, req: &Request) -> Result<Response, KratosError> {
    let query = req.uri().query().filter(|q| !q.is_empty());
    if app.signed_in(ctx, req.headers()) {
        if ctx.json_request {
            return Err(KratosError::session_already_available());
        }
        let to = match http::query_param(query, "return_to").filter(|v| !v.is_empty()) {
            Some(rt) if return_to_error(app, query).is_none() => rt,
            _ => app.cfg.default_return.to_string(),
        };
        return Ok(reply::redirect(StatusCode::FOUND, &to, ctx.get));
    }
    if !app.cfg.recovery_enabled {
        return Err(KratosError::recovery_disabled());
    }
    if query.is_some_and(|q| q.len() > MAX_STORED_QUERY) {
        return Err(uri_too_long());
    }
    if let Some(e) = return_to_error(app, query) {
        return Err(e.forwarded());
    }
    let (token, cookie) = ctx.csrf_token(app);
    let now = now_ns();
    let id = new_id();
    let mut flow = new_flow(app, ctx, req, FlowType::Browser, now);
    flow.extra_mut().csrf = Some(csrf::mask(&token).into());
    let resp = if ctx.accepts_json {
        reply::json(StatusCode::OK, render::flow(&app.cfg, id, &flow, None))
    } else {
        reply::redirect(StatusCode::SEE_OTHER, &app.cfg.recovery_ui_url(id), ctx.get)
    };
    app.store.insert(id, flow, now);
    Ok(reply::with_cookie(resp, cookie))
}
