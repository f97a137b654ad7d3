//! The partner API (JSON, `Authorization: Bearer <key>`). Every operation but the OpenAPI
//! document is authenticated by [`require_key`] from the headers alone, before its body is read;
//! keys are compared by SHA-256 hash in constant time. Every error has one
//! shape (see [`ApiError`]), including unknown paths and methods under `/api/`.
//!
//! [`operations`] is the single list of API routes: the router is built from it, and a test
//! checks it against the OpenAPI document served at `/api/v1/openapi.json`.

pub mod mappings;
pub mod tickets;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use openssl::sha::sha256;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;

/// The OpenAPI document of this API, kept in the repository.
pub const OPENAPI_JSON: &str = include_str!("../../../openapi/openapi.json");

/// Largest NDJSON import body.
pub const MAX_IMPORT_BYTES: usize = 4 * 1024 * 1024;

/// Every API operation: method, path (axum and OpenAPI share the `{param}` syntax), handler.
pub fn operations() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        // The handler is replaced in `router` by one serving the rendered document.
        (Method::GET, "/api/v1/openapi.json", get(not_found)),
        (
            Method::POST,
            "/api/v1/login-tickets",
            post(tickets::create_ticket),
        ),
        (
            Method::GET,
            "/api/v1/sites/{site}/mappings",
            get(mappings::list),
        ),
        (
            Method::PUT,
            "/api/v1/sites/{site}/mappings/{x_user_id}",
            put(mappings::put_one),
        ),
        (
            Method::GET,
            "/api/v1/sites/{site}/mappings/{x_user_id}",
            get(mappings::get_one),
        ),
        (
            Method::DELETE,
            "/api/v1/sites/{site}/mappings/{x_user_id}",
            delete(mappings::delete_one),
        ),
        (
            Method::POST,
            "/api/v1/sites/{site}/mapping-imports",
            post(mappings::import),
        ),
        (Method::GET, "/api/v1/events", get(mappings::events)),
        (
            Method::DELETE,
            "/api/v1/users/{x_user_id}/sessions",
            delete(mappings::end_sessions),
        ),
    ]
}

/// The API router, to be nested at `/api`, with JSON answers for unknown paths and methods.
pub fn router(bridge: &AppState) -> Router<AppState> {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for (_, path, route) in operations() {
        let route = if path == "/api/v1/openapi.json" {
            // Rendered once: the configuration does not change while the router lives.
            let document: Arc<str> = openapi_document(&bridge.settings).into();
            get(move || std::future::ready(openapi(Arc::clone(&document))))
        } else {
            route.route_layer(from_fn_with_state(Arc::clone(bridge), require_key))
        };
        let path = path.strip_prefix("/api").unwrap_or(path);
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(route),
            None => by_path.push((path, route)),
        }
    }
    let mut router = Router::new();
    for (path, route) in by_path {
        router = router.route(path, route.fallback(method_not_allowed));
    }
    router.fallback(not_found)
}

/// The OpenAPI document as this bridge serves it: the repository's document with what only the
/// configuration knows filled in (the site names, the service hosts), so that every request the
/// served document allows is one this bridge accepts.
pub fn openapi_document(settings: &crate::config::Settings) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(OPENAPI_JSON) else {
        return OPENAPI_JSON.to_owned();
    };
    let sites: Vec<&str> = settings.sites.iter().map(|s| s.name.as_str()).collect();
    let mut hosts: Vec<String> = settings
        .sites
        .iter()
        .flat_map(|s| s.allowed_service_hosts.iter())
        .map(|h| regex_escape(&h.to_ascii_lowercase()))
        .collect();
    hosts.sort();
    hosts.dedup();
    let ticket = "/components/schemas/TicketRequest/properties";
    if let Some(site) = doc.pointer_mut(&format!("{ticket}/site")) {
        let mut allowed: Vec<serde_json::Value> = sites.iter().map(|s| (*s).into()).collect();
        allowed.push(serde_json::Value::Null);
        allowed.push("".into());
        site["enum"] = serde_json::Value::Array(allowed);
    }
    if let Some(service) = doc.pointer_mut(&format!("{ticket}/service")) {
        // After the host: printable ASCII but a backslash; no port, no credentials. Empty = none.
        service["pattern"] = serde_json::json!(format!(
            "^(?:https://(?:{})(?:[/?#][!-\\[\\]-~]*)?)?$",
            hosts.join("|")
        ));
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| OPENAPI_JSON.to_owned())
}

/// A host name as a regex: its only metacharacter is `.`.
fn regex_escape(host: &str) -> String {
    host.replace('.', "\\.")
}

fn openapi(document: Arc<str>) -> Response {
    let mut res = document.to_string().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such API endpoint; see /api/v1/openapi.json",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method; see /api/v1/openapi.json",
    )
}

/// The authenticated caller: `api:<first 8 hex digits of the key's hash>`, for the event log.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

/// Middleware: authenticates from the headers alone, before the handler's extractors read the
/// body, so an unauthenticated client cannot make the bridge buffer (up to 4 MiB of) a body.
pub async fn require_key(State(bridge): State<AppState>, mut req: Request, next: Next) -> Response {
    let actor = match authenticate(&bridge, req.headers()) {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    // Per key, so a leaked key cannot mint tickets (or anything else) at machine speed.
    if let Some(limit) = &bridge.api_keys
        && let Err(wait) = limit.check(&actor)
    {
        let err = crate::flow::FlowError::RateLimited(
            "requests with this API key",
            crate::rate_limit::retry_after_secs(wait),
        );
        return ApiError::from(err).into_response();
    }
    req.extensions_mut().insert(Actor(actor));
    next.run(req).await
}

/// Checks the bearer key against every configured hash without an early exit, and returns
/// the actor to record in the event log: `api:<first 8 hex digits of the key's hash>`.
pub fn authenticate(bridge: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid partner API key as `Authorization: Bearer <key>`",
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
    // The key 0.1's demo published opens nothing, whatever the key list says.
    if crate::config::is_retired_demo_key_hash(&presented) {
        ok = false;
    }
    if ok {
        Ok(format!(
            "api:{}",
            crate::random::hex(presented.get(..4).unwrap_or_default())
        ))
    } else {
        Err(unauthorized())
    }
}

/// True when the request's media type is one of `accepted`.
fn media_type_is(headers: &HeaderMap, accepted: &[&str]) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| accepted.iter().any(|a| m.trim().eq_ignore_ascii_case(a)))
}

/// Refuses a request whose media type is not one of `accepted`.
pub fn check_media_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), ApiError> {
    if media_type_is(headers, accepted) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("send the body as {}", accepted.join(" or ")),
    ))
}

/// Reads a body of one of the `accepted` media types, mapping size and type errors.
pub fn body_of(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    accepted: &[&str],
) -> Result<Bytes, ApiError> {
    let body = body.map_err(|e| body_error(&e))?;
    check_media_type(headers, accepted)?;
    Ok(body)
}

/// Parses a JSON body with the API's own error shape (not axum's plain-text rejections).
pub fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body_of(headers, body, &["application/json"])?;
    serde_json::from_slice(&body).map_err(|e| {
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

/// Maps a body read failure (usually the size limit) to the API error shape.
pub fn body_error(e: &BytesRejection) -> ApiError {
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

/// A JSON answer that is never cached.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut res = (status, Json(value)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
