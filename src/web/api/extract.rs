//! Extractors for the partner API's input: [`ApiJson`] (a JSON body), [`ApiPath`] and
//! [`ApiQuery`]. They wrap axum's own extractors for one reason: a refusal must be an
//! [`ApiError`] (the API's one error shape, with its stable codes), not axum's plain-text
//! rejection, and each refusal is worded once here rather than in every handler.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::web::error::ApiError;

/// The media types of a JSON body.
const JSON: &[&str] = &["application/json"];

/// A JSON body, at most [`crate::web::MAX_BODY_BYTES`]. It is read whole first, so a body too
/// large is refused as such whatever its media type; then the media type must be JSON; then the
/// body must parse as `T` (400 `invalid_json` when it is not JSON, 422 `invalid_field` when it is
/// JSON of the wrong shape). Serde's message is reworded by [`crate::json_error::describe`],
/// which never quotes the input: bodies carry e-mail addresses, phone numbers and names.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = media_type_is(req.headers(), JSON);
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_error(&e))?;
        if !is_json {
            return Err(unsupported_media_type(JSON));
        }
        serde_json::from_slice(&body).map(Self).map_err(|e| {
            let (status, code) = if e.is_data() {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
            } else {
                (StatusCode::BAD_REQUEST, "invalid_json")
            };
            ApiError::new(
                status,
                code,
                format!("request body: {}", crate::json_error::describe(&e)),
            )
        })
    }
}

/// Path parameters, refused as 400 `invalid_path` (in practice: a parameter that is not UTF-8
/// once percent-decoded). Keep `T`'s fields strings and validate them in the flow: axum's message
/// for a value that fails to parse as another type quotes the value, and path segments are
/// partner user ids, which may be e-mail addresses or phone numbers.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                format!("path: {e}"),
            )),
        }
    }
}

/// The query string, refused as 422 `invalid_field` (an unknown parameter, a number that is not
/// one), described by [`crate::json_error::describe_query`] without quoting the input.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(e) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!(
                    "query: {}",
                    crate::json_error::describe_query(&e.body_text())
                ),
            )),
        }
    }
}

/// True when the request's media type (parameters aside, any case) is one of `accepted`.
pub(super) fn media_type_is(headers: &HeaderMap, accepted: &[&str]) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| accepted.iter().any(|a| m.trim().eq_ignore_ascii_case(a)))
}

/// The refusal of a body that is not of one of the `accepted` media types.
pub(super) fn unsupported_media_type(accepted: &[&str]) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("send the body as {}", accepted.join(" or ")),
    )
}

/// Maps a body read failure (usually the size limit) to the API error shape.
fn body_error(e: &BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body is too large",
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "request body could not be read",
        )
    }
}
