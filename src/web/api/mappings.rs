//! Mapping, event and session endpoints of the partner API.

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt as _;
use serde::Deserialize;
use serde_json::json;

use super::{Actor, MAX_IMPORT_BYTES, check_media_type, json_body, json_response};
use crate::flow::FlowError;
use crate::flow::mappings::MAX_IMPORT_LINES;
use crate::flow::mappings::{MappingPage, MappingRequest, PutResult};
use crate::web::AppState;
use crate::web::error::ApiError;

type ApiResult = Result<Response, ApiError>;

fn path_err(e: &PathRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        format!("path: {e}"),
    )
}

fn query_err(e: &QueryRejection) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        format!("query: {e}"),
    )
}

/// `PUT /api/v1/sites/{site}/mappings/{x_user_id}`: create (201) or replace (200).
pub async fn put_one(
    State(bridge): State<AppState>,
    Extension(Actor(actor)): Extension<Actor>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let Path((site, x_user_id)) = path.map_err(|e| path_err(&e))?;
    let req: MappingRequest = json_body(&headers, body)?;
    let (result, view) = bridge.put_mapping(&site, &x_user_id, req, &actor).await?;
    tracing::info!(site = %site, result = ?result, "mapping stored");
    let status = if result == PutResult::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &view))
}

/// `GET /api/v1/sites/{site}/mappings/{x_user_id}`.
pub async fn get_one(
    State(bridge): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult {
    let Path((site, x_user_id)) = path.map_err(|e| path_err(&e))?;
    let view = bridge.read_mapping(&site, &x_user_id).await?;
    Ok(json_response(StatusCode::OK, &view))
}

/// `DELETE /api/v1/sites/{site}/mappings/{x_user_id}`: unbind; answers with what was removed.
pub async fn delete_one(
    State(bridge): State<AppState>,
    Extension(Actor(actor)): Extension<Actor>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult {
    let Path((site, x_user_id)) = path.map_err(|e| path_err(&e))?;
    let view = bridge.delete_mapping(&site, &x_user_id, &actor).await?;
    tracing::info!(site = %site, "mapping removed");
    Ok(json_response(StatusCode::OK, &view))
}

/// Query of the listing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    domain_id: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/sites/{site}/mappings[?domain_id=…|?cursor=…&limit=…]`.
pub async fn list(
    State(bridge): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult {
    let Path(site) = path.map_err(|e| path_err(&e))?;
    let Query(q) = query.map_err(|e| query_err(&e))?;
    let page = match q.domain_id {
        // A reverse lookup answers 0 or 1 mapping; a limit is still checked like the listing's.
        Some(_) if q.limit.is_some_and(|l| !(1..=1000).contains(&l)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "limit: must be between 1 and 1000",
            ));
        }
        Some(domain_id) => match bridge.mapping_for_domain(&site, &domain_id).await {
            Ok(view) => MappingPage {
                mappings: vec![view],
                next_cursor: None,
            },
            Err(FlowError::MappingNotFound) => MappingPage {
                mappings: Vec::new(),
                next_cursor: None,
            },
            Err(e) => return Err(e.into()),
        },
        None => {
            bridge
                .list_mappings(&site, q.cursor.as_deref(), q.limit)
                .await?
        }
    };
    Ok(json_response(StatusCode::OK, &page))
}

/// Reads an NDJSON body chunk by chunk, counting its non-blank lines as they arrive, and stops at
/// the first chunk that would pass [`MAX_IMPORT_BYTES`] or [`MAX_IMPORT_LINES`]: an oversized
/// import is refused before it is buffered, and nothing per line is allocated while reading.
async fn read_ndjson(mut body: Body) -> Result<Vec<u8>, ApiError> {
    let mut buffer = Vec::new();
    let (mut lines, mut in_line) = (0usize, false);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the request body could not be read",
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buffer.len() + data.len() > MAX_IMPORT_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "an import is at most 4 MiB; split it",
            ));
        }
        for &b in data.iter() {
            if b == b'\n' {
                lines += usize::from(in_line);
                in_line = false;
            } else if !b.is_ascii_whitespace() {
                in_line = true;
            }
        }
        if lines + usize::from(in_line) > MAX_IMPORT_LINES {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("body: must have at most {MAX_IMPORT_LINES} lines; split the import"),
            ));
        }
        buffer.extend_from_slice(&data);
    }
    Ok(buffer)
}

/// `POST /api/v1/sites/{site}/mapping-imports` (NDJSON body).
pub async fn import(
    State(bridge): State<AppState>,
    Extension(Actor(actor)): Extension<Actor>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult {
    let Path(site) = path.map_err(|e| path_err(&e))?;
    check_media_type(&headers, &["application/x-ndjson", "application/jsonl"])?;
    let body = read_ndjson(body).await?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "the import must be UTF-8 NDJSON",
        )
    })?;
    let actor = actor.replacen("api:", "import:", 1);
    let report = bridge.import_mappings(&site, text, &actor).await?;
    tracing::info!(site = %site, lines = report.results.len(), "mappings imported");
    Ok(json_response(StatusCode::OK, &report))
}

/// Query of the event log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/events?after=…&limit=…`.
pub async fn events(
    State(bridge): State<AppState>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query.map_err(|e| query_err(&e))?;
    let page = bridge.events(q.after.as_deref(), q.limit).await?;
    Ok(json_response(StatusCode::OK, &page))
}

/// `DELETE /api/v1/users/{x_user_id}/sessions`.
pub async fn end_sessions(
    State(bridge): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(x_user_id) = path.map_err(|e| path_err(&e))?;
    let ended = bridge.end_user_sessions(&x_user_id).await?;
    tracing::info!(ended, "user sessions ended");
    Ok(json_response(StatusCode::OK, &json!({ "ended": ended })))
}
