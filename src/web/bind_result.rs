//! The bind-result notification Huawei sends through the browser (docs/protocol.md
//! §Bind-result): a cross-site form POST that only verifies and parks, then a same-site GET step
//! that applies it for the customer's own session.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::AppState;
use super::cookies;
use super::error::PageError;
use super::pages::Lang;
use super::redirect;
use crate::flow::FlowError;
use crate::huawei::bind_notification::NotificationError;

/// `POST /huawei/{site}/bind-result`: verify and apply, then 303 to the GET step. Does not read
/// cookies: a SameSite=Lax cookie is not sent with Huawei's cross-site POST.
pub async fn bind_result(
    State(bridge): State<AppState>,
    headers: HeaderMap,
    Path(site): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::in_lang(lang);
    let body = body.map_err(|e| {
        fail(FlowError::Notification(
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                NotificationError::TooLong("body")
            } else {
                NotificationError::BadForm("body")
            },
        ))
    })?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(fail(FlowError::Notification(NotificationError::BadForm(
            "content type",
        ))));
    }
    let result = bridge.bind_result(&site, &body).await.map_err(fail)?;
    let token = result.token;
    tracing::info!(site = %site, signed_over = result.signed_over, "bind-result notification verified; applied in the GET step");
    let location = format!(
        "{}/huawei/{site}/bind-result/continue?c={token}",
        bridge.settings.public_url
    );
    Ok(redirect(StatusCode::SEE_OTHER, &location))
}

/// Query of the GET step.
#[derive(Debug, serde::Deserialize)]
pub struct ContinueQuery {
    c: Option<String>,
}

/// `GET /huawei/{site}/bind-result/continue?c=…`: same-site, so the session cookie is present.
pub async fn bind_continue(
    State(bridge): State<AppState>,
    headers: HeaderMap,
    Path(site): Path<String>,
    query: Result<axum::extract::Query<ContinueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let token = query.ok().and_then(|q| q.0.c);
    let cookie = cookies::session(&headers, bridge.settings.dev_mode);
    let applied = bridge
        .bind_continue(&site, token.as_deref(), cookie.as_deref())
        .await
        .map_err(PageError::in_lang(lang))?;
    tracing::info!(
        outcome = applied.outcome,
        "bind-result notification applied"
    );
    Ok(redirect(StatusCode::FOUND, &applied.location))
}
