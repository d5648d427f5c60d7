//! `POST` (and `GET`) `/self-service/recovery?flow=` — updateRecoveryFlow (§5): reads the body,
//! runs [`super::machine`] with the flow locked, and answers what it decided.

use super::courier::Message;
use super::error::{KratosError, MSG_BAD_REQUEST, MSG_NOT_FOUND};
use super::machine::{decide, Next, Submit};
use super::state::{new_id, now_ns, parse_id, App, ReqCtx};
use super::store::{Flow, FlowType, Msg};
use super::{csrf, http, json, render, reply};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;

const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

async fn read_body(
    app: &App,
    req: Request,
) -> Result<(axum::http::request::Parts, bytes::Bytes), KratosError> {
    let (parts, body) = req.into_parts();
    let limit = app.cfg.max_body;
    let too_large = || {
        KratosError::new(413, "The request body is too large").reason(format!(
            "The request body exceeds the limit of {limit} bytes."
        ))
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // A client that stops sending mid-body must not hold the handler (or a graceful shutdown).
    let collected = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        http_body_util::Limited::new(body, limit).collect(),
    )
    .await;
    match collected {
        Ok(Ok(c)) => Ok((parts, c.to_bytes())),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(KratosError::new(408, "The request timed out")
            .reason("The request body was not received within 30 seconds.")),
        Ok(Err(_)) => Err(KratosError::bad_request(
            "The request body could not be read.",
        )),
    }
}

/// The handler.
pub(crate) async fn update(app: &App, ctx: &ReqCtx, req: Request) -> Result<Response, KratosError> {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let query = req.uri().query().map(str::to_owned);
    let Some(id) = parse_id(http::query_param(query.as_deref(), "flow").as_deref()) else {
        return Err(
            KratosError::bad_request("The flow query parameter is missing or malformed.")
                .forwarded(),
        );
    };
    let (parts, body) = if ctx.get {
        (req.into_parts().0, bytes::Bytes::new())
    } else {
        read_body(app, req).await?
    };
    let headers = &parts.headers;
    let now = now_ns();
    let next = {
        let mut guard = app.store.get(id);
        let Some(flow) = guard.flow() else {
            return Err(KratosError::new(404, MSG_NOT_FOUND)
                .reason("The recovery request could not be found. Please restart the flow.")
                .forwarded());
        };
        // The flow is looked up first: an unknown flow is a 404 even with recovery off.
        if !app.cfg.recovery_enabled {
            return Err(KratosError::recovery_disabled());
        }
        let submit = Submit {
            headers,
            query: query.as_deref(),
            body: &body,
            now,
        };
        decide(app, ctx, id, flow, &submit)
    };
    let request_url = ctx
        .request_url(&path_and_query)
        .unwrap_or_else(|| format!("{}{path_and_query}", app.cfg.origin));
    act(app, ctx, next, headers, id, now, request_url)
}

/// Creates the replacement flow of a retry or expiry and stores it; the `Set-Cookie` for a
/// browser flow's fresh anti-CSRF token (retries of any flow regenerate it, as Kratos does).
fn new_flow_from(
    app: &App,
    ctx: &ReqCtx,
    flow_type: FlowType,
    msg: Msg,
    expired: Option<(i64, i64)>,
    request_url: String,
    now: i64,
) -> (u128, Option<HeaderValue>) {
    let id = new_id();
    let mut flow = Flow::new(flow_type, app.cfg.method, app.cfg.v2, now);
    flow.msg = msg;
    let (token, fresh_cookie) = ctx.csrf_token(app);
    if flow_type == FlowType::Browser {
        flow.extra_mut().csrf = Some(csrf::mask(&token).into());
    }
    let extra = flow.extra_mut();
    extra.request_url = Some(request_url.into());
    if expired.is_some() {
        extra.expired = expired;
    }
    app.store.insert(id, flow, now);
    // An expired flow's replacement keeps the client's cookie; a retry sets a fresh one.
    let cookie = if expired.is_some() {
        None
    } else {
        fresh_cookie
    };
    (id, cookie)
}

/// The 303 that hands a client the flow which replaced its old one: to the flow's JSON for API
/// flows and JSON requests (a redirect-following client lands on the fresh flow), else to the UI.
fn to_new_flow(app: &App, new: u128, json_like: bool, get: bool) -> Response {
    let location = if json_like {
        app.cfg.flows_url_for(new)
    } else {
        app.cfg.recovery_ui_url(new)
    };
    reply::redirect(StatusCode::SEE_OTHER, &location, get)
}

fn session_cookie_header(app: &App, token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax",
        app.cfg.session_cookie_name
    ))
    .ok()
}

/// `show_recovery_ui` for a flow that replaced the submitted one (the error's details).
fn continue_with_details(new: u128, found_cookies: &[String]) -> String {
    let mut details =
        String::from("{\"continue_with\":[{\"action\":\"show_recovery_ui\",\"flow\":{\"id\":\"");
    json::push_uuid(&mut details, new);
    details.push_str("\"}}]");
    if !found_cookies.is_empty() {
        details.push_str(",\"found cookies\":[");
        for (i, c) in found_cookies.iter().enumerate() {
            if i > 0 {
                details.push(',');
            }
            json::push_str(&mut details, c);
        }
        details.push(']');
    }
    details.push('}');
    details
}

fn act(
    app: &App,
    ctx: &ReqCtx,
    next: Next,
    headers: &HeaderMap,
    id: u128,
    now: i64,
    request_url: String,
) -> Result<Response, KratosError> {
    let cfg = &app.cfg;
    let (json_req, get) = (ctx.json_request, ctx.get);
    // A browser flow answered to a plain (non-JSON) request goes back to the UI.
    let flow_or_ui = |status: StatusCode, body: String| {
        let browser = app.store.get(id).flow().map(|f| f.flow_type) == Some(FlowType::Browser);
        if browser && !json_req {
            reply::redirect(StatusCode::SEE_OTHER, &cfg.recovery_ui_url(id), get)
        } else {
            reply::json(status, body)
        }
    };
    Ok(match next {
        Next::Send { msg, body } => {
            push(app, msg);
            flow_or_ui(StatusCode::OK, body)
        }
        Next::Flow { status, body } => flow_or_ui(status, body),
        Next::Session => {
            if json_req {
                return Err(KratosError::session_already_available());
            }
            reply::redirect(StatusCode::FOUND, cfg.default_return.as_str(), get)
        }
        Next::CsrfError(miss) => {
            // nosurf regenerates the token of a request it refused.
            let token = csrf::new_token();
            return Err(csrf::violation(headers, &cfg.csrf_cookie_name, miss)
                .forwarded()
                .cookie(csrf::cookie_header(&cfg.csrf_cookie_name, &token)));
        }
        Next::MethodDisabled => {
            return Err(KratosError::new(404, MSG_NOT_FOUND)
                .reason("This endpoint was disabled by system administrator. Please check your url or contact the system administrator to enable it.")
                .forwarded());
        }
        Next::Retry {
            flow_type,
            msg,
            found_cookies,
        } => {
            let (new, cookie) = new_flow_from(app, ctx, flow_type, msg, None, request_url, now);
            if cfg.continue_with && json_req {
                return Err(KratosError::new(400, MSG_BAD_REQUEST)
                    .reason(render::retry_reason(msg))
                    .details(continue_with_details(new, &found_cookies))
                    .cookie(cookie));
            }
            reply::with_cookie(to_new_flow(app, new, json_req, get), cookie)
        }
        Next::Expired {
            flow_type,
            expired_at,
            ago_x100,
            request_url,
        } => {
            let (new, cookie) = new_flow_from(
                app,
                ctx,
                flow_type,
                Msg::Expired,
                Some((expired_at, ago_x100)),
                request_url,
                now,
            );
            if cfg.continue_with && flow_type == FlowType::Api {
                let mut extra = String::from("\"expired_at\":\"");
                json::push_timestamp(&mut extra, expired_at);
                extra.push_str("\",\"since\":");
                json::push_int(&mut extra, now.saturating_sub(expired_at));
                extra.push_str(",\"use_flow_id\":\"");
                json::push_uuid(&mut extra, new);
                extra.push('"');
                return Err(KratosError::new(410, "self-service flow expired")
                    .id("self_service_flow_expired")
                    .reason(format!(
                        "The self-service flow expired {}.{:02} minutes ago, initialize a new one.",
                        ago_x100 / 100,
                        ago_x100 % 100
                    ))
                    .details(continue_with_details(new, &[]))
                    .extra(extra)
                    .cookie(cookie));
            }
            reply::with_cookie(
                to_new_flow(app, new, flow_type == FlowType::Api || json_req, get),
                cookie,
            )
        }
        Next::Completed {
            flow_type,
            settings,
            token,
            body,
            link,
        } => {
            app.sessions.issue(&token);
            let settings_url = cfg.settings_url(settings);
            let resp = if link {
                reply::redirect(StatusCode::SEE_OTHER, &settings_url, get)
            } else if cfg.continue_with && (flow_type == FlowType::Api || json_req) {
                reply::json(StatusCode::OK, body)
            } else if json_req {
                let mut extra = String::from("\"redirect_browser_to\":");
                json::push_str(&mut extra, &settings_url);
                let err = KratosError::new(422, "browser location change required")
                    .id("browser_location_change_required")
                    .reason(format!(
                        "In order to complete this flow please redirect the browser to: {settings_url}"
                    ))
                    .extra(extra);
                let cookie = (flow_type == FlowType::Browser)
                    .then(|| session_cookie_header(app, &token))
                    .flatten();
                return Err(err.cookie(cookie));
            } else {
                reply::redirect(StatusCode::SEE_OTHER, &settings_url, get)
            };
            if flow_type == FlowType::Browser || link {
                reply::with_cookie(resp, session_cookie_header(app, &token))
            } else {
                resp
            }
        }
    })
}

fn push(app: &App, msg: Message) {
    app.courier.push(msg);
}
