//! The HTTP layer: one function builds the [`Router`] (used by `main` and by tests without a
//! socket), handlers extract input, call one [`crate::flow`] function and render the outcome.

pub mod api;
pub mod bind_result;
pub mod client_addr;
pub mod cookies;
pub mod error;
pub mod logout;
pub mod pages;
pub mod request_id;
pub mod returns;
pub mod server;
pub mod sso;
pub mod status;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse as _;
use axum::routing::{get, post};

use crate::flow::Bridge;

/// Largest request body accepted anywhere; the API's JSON bodies are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Shared state of the handlers.
pub type AppState = Arc<Bridge>;

/// Builds the application router.
pub fn router(bridge: Arc<Bridge>) -> Router {
    let per_client = axum::middleware::from_fn_with_state(Arc::clone(&bridge), admit_client);
    Router::new()
        .route("/healthz", get(status::healthz))
        .route("/readyz", get(status::readyz))
        .route("/saml/metadata", get(status::metadata))
        .route(
            "/saml/sso",
            get(sso::saml_sso)
                .route_layer(per_client.clone())
                .head(head_not_allowed),
        )
        .route(
            "/saml/slo",
            get(logout::slo)
                .route_layer(per_client.clone())
                .post(logout::slo_confirmed)
                .head(head_not_allowed),
        )
        .route("/sso/start", get(sso::start).head(head_not_allowed))
        .route("/sso/confirm", post(sso::confirm))
        .route(
            "/huawei/{site}/bind-result",
            post(bind_result::bind_result).route_layer(per_client.clone()),
        )
        .route(
            "/huawei/{site}/bind-result/continue",
            get(bind_result::bind_continue).head(head_not_allowed),
        )
        .route("/return/{site}/{kind}", get(returns::return_link))
        .nest("/api", api::router(&bridge))
        .fallback(status::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            bridge.settings.limits.request_timeout,
            deadline,
        ))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(bridge)
}

/// Route layer for the routes Huawei's messages reach through the browser: takes one request from
/// the client address's allowance (`limits.saml_requests_per_minute_per_client`) before any work
/// is spent on it; over it, 429 with `Retry-After`. A request without a known address (an in-process caller) is not
/// limited.
async fn admit_client(
    axum::extract::State(bridge): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let addr = client_addr::client_address(
        req.headers(),
        req.extensions(),
        bridge.settings.limits.client_address_header.as_ref(),
    );
    if let (Some(limit), Some(addr)) = (&bridge.saml_clients, addr)
        && let Err(wait) = limit.check(&crate::rate_limit::client_key(addr))
    {
        let err = crate::flow::FlowError::RateLimited(
            "requests from this address",
            crate::rate_limit::retry_after_secs(wait),
        );
        let lang = pages::Lang::from_headers(req.headers());
        return error::PageError::in_lang(lang)(err).into_response();
    }
    next.run(req).await
}

/// Every request, body included, must complete within `limits.request_timeout_secs`: a client
/// that trickles its body is answered 408 and its connection closed.
async fn deadline(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let api = req.uri().path().starts_with("/api/");
    let lang = pages::Lang::from_headers(req.headers());
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            let err = crate::flow::FlowError::RequestTimeout;
            // The error's own answer logs the cause once.
            let mut res = if api {
                error::ApiError::from(err).into_response()
            } else {
                error::PageError::in_lang(lang)(err).into_response()
            };
            res.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            res
        }
    }
}

/// A redirect that is never cached.
pub fn redirect(status: axum::http::StatusCode, location: &str) -> axum::response::Response {
    match axum::http::HeaderValue::from_str(location) {
        Ok(v) => {
            let mut res = status.into_response();
            res.headers_mut().insert(axum::http::header::LOCATION, v);
            res.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            res
        }
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// HEAD on a route whose GET consumes something (a ticket, a request ID, a session): link
/// scanners and prefetchers send HEAD, and it must not use up a login.
async fn head_not_allowed() -> axum::http::StatusCode {
    axum::http::StatusCode::METHOD_NOT_ALLOWED
}

/// Serves `router` on `listener` until `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    bridge: Arc<Bridge>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = server::ConnectionLimits {
        header_read: bridge.settings.limits.header_read_timeout,
        max_connections: bridge.settings.limits.max_connections,
        write_stall: bridge.settings.limits.request_timeout,
        drain: bridge.settings.limits.request_timeout + std::time::Duration::from_secs(5),
    };
    server::serve(listener, router(bridge), limits, shutdown).await
}
