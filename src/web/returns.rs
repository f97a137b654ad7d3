//! The return links Huawei's console sends customers to after paying or to top up
//! (docs/protocol.md §Return-links).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::AppState;
use super::redirect;
use super::status::not_found;
use crate::huawei::links;

/// `GET /return/{site}/{kind}`: to the configured partner page, with allow-listed parameters.
pub async fn return_link(
    State(bridge): State<AppState>,
    headers: HeaderMap,
    Path((site, kind)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let target = bridge
        .settings
        .site(Some(&site))
        .and_then(|site| links::return_target(site, &kind, uri.query().unwrap_or("")));
    match target {
        Some(location) => redirect(StatusCode::FOUND, &location),
        None => not_found(headers).await,
    }
}
