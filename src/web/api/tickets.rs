//! `POST /api/v1/login-tickets`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Actor, json_body, json_response};
use crate::flow::TicketRequest;
use crate::web::AppState;
use crate::web::error::ApiError;

/// Creates a single-use login ticket for a user the partner platform has authenticated.
pub async fn create_ticket(
    State(bridge): State<AppState>,
    Extension(Actor(actor)): Extension<Actor>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: TicketRequest = json_body(&headers, body)?;
    let created = bridge.create_ticket(req, &actor).await?;
    tracing::info!(key = %actor, "login ticket created");
    Ok(json_response(StatusCode::CREATED, &created))
}
