//! `POST /api/v1/login-tickets`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::Partner;
use super::extract::ApiJson;
use super::json_response;
use crate::flow::TicketRequest;
use crate::web::AppState;
use crate::web::error::ApiError;

/// Creates a single-use login ticket for a user the partner platform has authenticated.
pub async fn create_ticket(
    State(bridge): State<AppState>,
    partner: Partner,
    ApiJson(req): ApiJson<TicketRequest>,
) -> Result<Response, ApiError> {
    let created = bridge.create_ticket(req, partner.actor()).await?;
    tracing::info!(key = %partner.actor(), "login ticket created");
    Ok(json_response(StatusCode::CREATED, &created))
}
