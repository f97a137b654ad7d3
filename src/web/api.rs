//! The partner API (JSON, `Authorization: Bearer <key>`). Authentication is the first line of
//! every handler; keys are compared by SHA-256 hash in constant time (A14).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use openssl::sha::sha256;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use super::request_id::RequestId;
use crate::flow::TicketRequest;

/// Checks the bearer key against every configured hash without an early exit.
pub fn authenticate(
    bridge: &AppState,
    headers: &HeaderMap,
    request_id: &RequestId,
) -> Result<(), ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid partner API key as `Authorization: Bearer <key>`",
            request_id,
        )
    };
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(unauthorized)?;
    let presented = sha256(key.as_bytes());
    let mut ok = false;
    for known in &bridge.settings.api_key_hashes {
        ok |= openssl::memcmp::eq(known, &presented);
    }
    if ok { Ok(()) } else { Err(unauthorized()) }
}

/// Parses a JSON body with the API's own error shape (not axum's plain-text rejections).
pub fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    request_id: &RequestId,
) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
            request_id,
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let status = if e.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        let code = if e.is_data() {
            "invalid_field"
        } else {
            "invalid_json"
        };
        ApiError::new(status, code, format!("request body: {e}"), request_id)
    })
}

/// `POST /api/v1/login-tickets`.
pub async fn create_ticket(
    State(bridge): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    authenticate(&bridge, &headers, &request_id)?;
    let body = body.map_err(|e| body_error(&e, &request_id))?;
    let req: TicketRequest = json_body(&headers, &body, &request_id)?;
    let created = bridge
        .create_ticket(req)
        .await
        .map_err(|e| ApiError::from_flow(e, &request_id))?;
    tracing::info!("login ticket created");
    let mut res = (StatusCode::CREATED, Json(created)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// Maps a body read failure (usually the size limit) to the API error shape.
pub fn body_error(
    e: &axum::extract::rejection::BytesRejection,
    request_id: &RequestId,
) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body is larger than 16 KiB",
            request_id,
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "request body could not be read",
            request_id,
        )
    }
}
