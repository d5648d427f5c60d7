//! The router: axum method routing over the route families (one module each), Go's plain-text
//! 404 and 405 for what no route serves, and the Kratos layer around the whole of it.

use super::layer;
use super::reply;
use super::state::App;
use super::{courier_admin, create, get_flow, update};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use axum::Router;
use std::sync::Arc;

/// Go's `ServeMux` answer to a method the route does not serve: plain text with `Allow`.
fn method_not_allowed(allow: &'static str) -> Response {
    let mut r = reply::plain_text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// A GET route (Go's router answers HEAD on it too) with Go's 405 for every other method.
fn get_only<H, T>(handler: H) -> MethodRouter<Arc<App>>
where
    H: axum::handler::Handler<T, Arc<App>>,
    T: 'static,
{
    get(handler).fallback(|| async { method_not_allowed("GET, HEAD") })
}

/// Go's `http.NotFound`, which Kratos's router answers for every unknown path.
async fn not_found() -> Response {
    reply::plain_text(StatusCode::NOT_FOUND, "404 page not found")
}

/// The router over `app`, inside the Kratos layer.
pub(crate) fn router(app: Arc<App>) -> Router {
    let b = app.cfg.base_path.clone();
    let routes = Router::new()
        .route(
            &format!("{b}/self-service/recovery/api"),
            get_only(create::api),
        )
        .route(
            &format!("{b}/self-service/recovery/browser"),
            get_only(create::browser),
        )
        .route(
            &format!("{b}/self-service/recovery/flows"),
            get_only(get_flow::get_flow),
        )
        .route(
            &format!("{b}/self-service/recovery"),
            get(update::update)
                .post(update::update)
                .fallback(|| async { method_not_allowed("GET, HEAD, POST") }),
        )
        .route(
            &format!("{b}/admin/courier/messages"),
            get_only(courier_admin::list),
        )
        .route(
            &format!("{b}/admin/courier/messages/{{id}}"),
            get_only(courier_admin::one),
        )
        .fallback(not_found)
        .with_state(Arc::clone(&app));
    layer::around(app, routes)
}
