//! The routes: which handler serves a request, matched on its exact path under the base path as
//! Kratos's router does, and Go's plain-text 404 and 405 (with `Allow`) for what no route serves.
//! A `match` over six fixed paths: no router to build, nothing to allocate per request.

use super::create::{self, NewFlows};
use super::error::KratosError;
use super::reply;
use super::state::{App, ReqCtx};
use super::{courier_admin, get_flow};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use std::sync::Arc;

/// A route answered from the request's head alone: its body is never read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadRoute {
    /// `GET /self-service/recovery/api`
    CreateApi,
    /// `GET /self-service/recovery/browser`
    CreateBrowser,
    /// `GET /self-service/recovery/flows`
    GetFlow,
    /// `GET /admin/courier/messages`
    CourierList,
    /// `GET /admin/courier/messages/{id}`
    CourierOne,
}

/// What serves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Head(HeadRoute),
    /// `GET`/`POST /self-service/recovery` (updateRecoveryFlow), which reads the body.
    Update,
}

/// Why no route serves a request: Go's router answers these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRoute {
    /// No route has the path: `404 page not found`.
    NotFound,
    /// The path's route does not serve the method: 405 with these `Allow`ed methods.
    MethodNotAllowed(&'static str),
}

impl NoRoute {
    /// Go's plain-text answer.
    pub(crate) fn answer(self) -> Response {
        match self {
            NoRoute::NotFound => not_found(),
            NoRoute::MethodNotAllowed(allow) => method_not_allowed(allow),
        }
    }
}

/// The routes of one server, with what they render once for all requests.
pub(crate) struct Routes {
    app: Arc<App>,
    new_flows: NewFlows,
}

/// Go's `ServeMux` answer to a method the route does not serve: plain text with `Allow`.
fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = reply::plain_text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// Go's `http.NotFound`, which Kratos's router answers for every unknown path.
fn not_found() -> Response {
    reply::plain_text(StatusCode::NOT_FOUND, "404 page not found")
}

impl Routes {
    pub(crate) fn new(app: Arc<App>) -> Routes {
        Routes {
            new_flows: NewFlows::new(&app.cfg),
            app,
        }
    }

    pub(crate) fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// The route serving `method` on `path`, or Go's 404 or 405. GET routes answer HEAD too, as
    /// Go's router does.
    pub(crate) fn find(&self, method: &Method, path: &str) -> Result<Route, NoRoute> {
        let Some(rest) = path.strip_prefix(self.app.cfg.base_path.as_str()) else {
            return Err(NoRoute::NotFound);
        };
        let route = match rest {
            "/self-service/recovery/api" => Route::Head(HeadRoute::CreateApi),
            "/self-service/recovery/browser" => Route::Head(HeadRoute::CreateBrowser),
            "/self-service/recovery/flows" => Route::Head(HeadRoute::GetFlow),
            "/self-service/recovery" => Route::Update,
            "/admin/courier/messages" => Route::Head(HeadRoute::CourierList),
            _ => match rest.strip_prefix("/admin/courier/messages/") {
                // One non-empty path segment, as the router's `{id}` takes it.
                Some(id) if !id.is_empty() && !id.contains('/') => {
                    Route::Head(HeadRoute::CourierOne)
                }
                _ => return Err(NoRoute::NotFound),
            },
        };
        let get = *method == Method::GET || *method == Method::HEAD;
        match route {
            Route::Update if get || *method == Method::POST => Ok(route),
            Route::Update => Err(NoRoute::MethodNotAllowed("GET, HEAD, POST")),
            Route::Head(_) if get => Ok(route),
            Route::Head(_) => Err(NoRoute::MethodNotAllowed("GET, HEAD")),
        }
    }

    /// The answer of a route that does not read the request body.
    pub(crate) fn answer(
        &self,
        route: HeadRoute,
        ctx: &ReqCtx,
        req: &Request,
    ) -> Result<Response, KratosError> {
        let app = &*self.app;
        match route {
            HeadRoute::CreateApi => create::api(app, &self.new_flows, ctx, req),
            HeadRoute::CreateBrowser => create::browser(app, ctx, req),
            HeadRoute::GetFlow => get_flow::get_flow(app, ctx, req),
            HeadRoute::CourierList => courier_admin::list(app, req),
            HeadRoute::CourierOne => courier_admin::one(app, req),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::ServerConfig;

    fn routes(base_path: &str) -> Routes {
        let config = ServerConfig {
            session_tokens: vec!["t".into()],
            base_path: base_path.into(),
            ..Default::default()
        };
        Routes::new(Arc::new(App::new(&config, "http://h:1").expect("app")))
    }

    #[test]
    fn paths_match_exactly_under_the_base_path() {
        let r = routes("/auth");
        let find = |m: Method, p: &str| r.find(&m, p);
        assert_eq!(
            find(Method::GET, "/auth/self-service/recovery/api"),
            Ok(Route::Head(HeadRoute::CreateApi))
        );
        assert_eq!(
            find(Method::HEAD, "/auth/admin/courier/messages/x"),
            Ok(Route::Head(HeadRoute::CourierOne))
        );
        assert_eq!(
            find(Method::POST, "/auth/self-service/recovery"),
            Ok(Route::Update)
        );
        for p in [
            "/self-service/recovery/api",
            "/auth/self-service/recovery/api/",
            "/auth//self-service/recovery/api",
            "/authx/self-service/recovery/api",
            "/auth/admin/courier/messages/",
            "/auth/admin/courier/messages/a/b",
            "/auth",
            "/",
        ] {
            assert_eq!(find(Method::GET, p), Err(NoRoute::NotFound), "{p}");
        }
        assert_eq!(
            find(Method::PUT, "/auth/self-service/recovery/flows"),
            Err(NoRoute::MethodNotAllowed("GET, HEAD"))
        );
        assert_eq!(
            find(Method::DELETE, "/auth/self-service/recovery"),
            Err(NoRoute::MethodNotAllowed("GET, HEAD, POST"))
        );
        let answer = NoRoute::MethodNotAllowed("GET, HEAD").answer();
        assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(answer.headers()[header::ALLOW], "GET, HEAD");
        assert_eq!(NoRoute::NotFound.answer().status(), StatusCode::NOT_FOUND);
    }
}
