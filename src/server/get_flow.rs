//! `GET /self-service/recovery/flows?id=` — getRecoveryFlow (§4).

use super::csrf::{self, Miss};
use super::error::KratosError;
use super::state::{minutes_x100, now_ns, parse_id, App, ReqCtx};
use super::store::FlowType;
use super::{http, json, render, reply};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

/// `GET /self-service/recovery/flows?id=`.
pub(crate) fn get_flow(app: &App, ctx: &ReqCtx, req: &Request) -> Result<Response, KratosError> {
    if !app.cfg.recovery_enabled {
        return Err(KratosError::recovery_disabled());
    }
    let headers = req.headers();
    let Some(id) = parse_id(http::query_param(req.uri().query(), "id").as_deref()) else {
        return Err(KratosError::flow_not_found());
    };
    let now = now_ns();
    let mut guard = app.store.get(id);
    let Some(flow) = guard.flow() else {
        return Err(KratosError::flow_not_found());
    };
    if flow.flow_type == FlowType::Browser {
        let bound = match (ctx.csrf_cookie.as_deref(), flow.csrf()) {
            (Some(cookie), Some(token)) => csrf::matches(token, cookie),
            _ => false,
        };
        if !bound {
            drop(guard);
            return Err(csrf::violation(
                headers,
                &app.cfg.csrf_cookie_name,
                Miss::NoToken,
            ));
        }
    }
    let expires = flow.issued_ns.saturating_add(app.cfg.lifespan_ns);
    if now > expires {
        let ago = minutes_x100(now - expires);
        let (ty, rt) = (flow.flow_type, http::query_param(flow.query(), "return_to"));
        drop(guard);
        return Err(match ty {
            FlowType::Api => {
                let mut details = String::from("{\"api\":");
                json::push_str(
                    &mut details,
                    &format!("{}/self-service/recovery/api", app.cfg.base_url),
                );
                details.push('}');
                KratosError::new(410, "self-service flow expired")
                    .id("self_service_flow_expired")
                    .reason(format!(
                        "The self-service flow expired {}.{:02} minutes ago, initialize a new one.",
                        ago / 100,
                        ago % 100
                    ))
                    .details(details)
            }
            FlowType::Browser => {
                let rt = rt.unwrap_or_default();
                let mut redirect_to = format!("{}/self-service/recovery/browser", app.cfg.base_url);
                if !rt.is_empty() {
                    redirect_to.push_str("?return_to=");
                    redirect_to.extend(url::form_urlencoded::byte_serialize(rt.as_bytes()));
                }
                let mut details = String::from("{\"redirect_to\":");
                json::push_str(&mut details, &redirect_to);
                details.push_str(",\"return_to\":");
                json::push_str(&mut details, &rt);
                details.push('}');
                KratosError::new(
                    410,
                    "The requested resource is no longer available because it has expired or is otherwise invalid.",
                )
                .reason("The recovery flow has expired. Redirect the user to the recovery flow init endpoint to initialize a new recovery flow.")
                .details(details)
            }
        });
    }
    let body = render::flow(&app.cfg, id, flow, None);
    drop(guard);
    Ok(reply::json(StatusCode::OK, body))
}
