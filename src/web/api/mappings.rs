//! Mapping, event and session endpoints of the partner API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::auth::Partner;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::json_response;
use super::ndjson::NdjsonImport;
use super::views::{EventPageView, MappingPageView, MappingView};
use crate::flow::FlowError;
use crate::flow::mappings::{MappingPage, MappingRequest, PutResult};
use crate::web::AppState;
use crate::web::error::ApiError;

type ApiResult = Result<Response, ApiError>;

/// Path of one mapping: `/api/v1/sites/{site}/mappings/{x_user_id}`.
#[derive(Debug, Deserialize)]
pub struct MappingPath {
    site: String,
    x_user_id: String,
}

/// Path of a site's collections: `/api/v1/sites/{site}/…`.
#[derive(Debug, Deserialize)]
pub struct SitePath {
    site: String,
}

/// Path of a partner user's resources: `/api/v1/users/{x_user_id}/…`.
#[derive(Debug, Deserialize)]
pub struct UserPath {
    x_user_id: String,
}

/// `PUT /api/v1/sites/{site}/mappings/{x_user_id}`: create (201) or replace (200).
pub async fn put_one(
    State(bridge): State<AppState>,
    partner: Partner,
    ApiPath(p): ApiPath<MappingPath>,
    ApiJson(req): ApiJson<MappingRequest>,
) -> ApiResult {
    let (result, mapping) = bridge
        .put_mapping(&p.site, &p.x_user_id, req, partner.actor())
        .await?;
    tracing::info!(site = %p.site, result = ?result, "mapping stored");
    let status = if result == PutResult::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &MappingView::from(&mapping)))
}

/// `GET /api/v1/sites/{site}/mappings/{x_user_id}`.
pub async fn get_one(
    State(bridge): State<AppState>,
    _: Partner,
    ApiPath(p): ApiPath<MappingPath>,
) -> ApiResult {
    let mapping = bridge.read_mapping(&p.site, &p.x_user_id).await?;
    Ok(json_response(StatusCode::OK, &MappingView::from(&mapping)))
}

/// `DELETE /api/v1/sites/{site}/mappings/{x_user_id}`: unbind; answers with what was removed.
pub async fn delete_one(
    State(bridge): State<AppState>,
    partner: Partner,
    ApiPath(p): ApiPath<MappingPath>,
) -> ApiResult {
    let removed = bridge
        .delete_mapping(&p.site, &p.x_user_id, partner.actor())
        .await?;
    tracing::info!(site = %p.site, "mapping removed");
    Ok(json_response(StatusCode::OK, &MappingView::from(&removed)))
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
    _: Partner,
    ApiPath(SitePath { site }): ApiPath<SitePath>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult {
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
            Ok(mapping) => MappingPage {
                mappings: vec![mapping],
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
    Ok(json_response(StatusCode::OK, &MappingPageView::from(&page)))
}

/// `POST /api/v1/sites/{site}/mapping-imports` (NDJSON body).
pub async fn import(
    State(bridge): State<AppState>,
    partner: Partner,
    ApiPath(SitePath { site }): ApiPath<SitePath>,
    NdjsonImport(text): NdjsonImport,
) -> ApiResult {
    let report = bridge
        .import_mappings(&site, &text, &partner.import_actor())
        .await?;
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
    _: Partner,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult {
    let page = bridge.events(q.after.as_deref(), q.limit).await?;
    Ok(json_response(StatusCode::OK, &EventPageView::from(&page)))
}

/// `DELETE /api/v1/users/{x_user_id}/sessions`.
pub async fn end_sessions(
    State(bridge): State<AppState>,
    _: Partner,
    ApiPath(UserPath { x_user_id }): ApiPath<UserPath>,
) -> ApiResult {
    let ended = bridge.end_user_sessions(&x_user_id).await?;
    tracing::info!(ended, "user sessions ended");
    Ok(json_response(StatusCode::OK, &json!({ "ended": ended })))
}
