//! The partner API (JSON, `Authorization: Bearer <key>`). Every operation but the OpenAPI
//! document takes an [`auth::Partner`], which authenticates the caller from the headers alone,
//! before the body is read; keys are compared by SHA-256 hash in constant time. Input comes
//! through the extractors of [`extract`] and [`ndjson`], so handlers hold no parsing or error
//! wording. Every error has one shape (see [`ApiError`]), including unknown paths and methods
//! under `/api/`, and carries the request id without the handlers passing it.
//!
//! [`operations`] is the single list of API routes: the router is built from it, and a test
//! checks it against the OpenAPI document served at `/api/v1/openapi.json`.

pub mod auth;
pub mod extract;
pub mod mappings;
pub mod ndjson;
pub mod tickets;
pub mod views;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use serde::Serialize;

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
            route
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

/// A JSON answer that is never cached.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut res = (status, Json(value)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
