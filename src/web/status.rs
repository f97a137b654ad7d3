//! Health, readiness, metadata and the fallback page.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::{current_request_id, html_response};
use super::pages::{self, ErrorText, Lang};

/// `GET /healthz`: the process is up (independent of Redis).
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the store answers; 503 otherwise, so a load balancer stops sending traffic.
pub async fn readyz(State(bridge): State<AppState>) -> Response {
    match bridge.store.ping().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(cause = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not_ready", "reason": "store_unavailable"})),
            )
                .into_response()
        }
    }
}

/// `GET /saml/metadata`: our IdP metadata.
pub async fn metadata(State(bridge): State<AppState>) -> Response {
    let mut res = bridge.metadata_xml.clone().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml; charset=utf-8"),
    );
    res
}

/// Any other path: a 404 page.
pub async fn not_found(headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let text = ErrorText {
        title: lang.pick("页面不存在", "Page not found"),
        what: lang.pick("您访问的地址不存在。", "There is nothing at this address."),
        next: lang.pick(
            "请从合作伙伴平台重新进入。",
            "Start again from the partner platform.",
        ),
    };
    html_response(
        StatusCode::NOT_FOUND,
        pages::error_page(lang, &text, "not_found", current_request_id().as_str()),
        pages::csp_plain(),
    )
}
