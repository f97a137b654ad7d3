//! Routes Huawei sends browsers to: the bind-result notification (a cross-site form POST, then a
//! same-site GET step), the return links (docs/protocol.md §Return-links) and single logout.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

use super::AppState;
use super::cookies;
use super::error::{PageError, html_response};
use super::pages::{self, Lang};
use super::redirect;
use super::request_id::RequestId;
use super::status::not_found;
use crate::bind_notification::NotificationError;
use crate::flow::FlowError;
use crate::flow::logout::LogoutOutcome;

/// `POST /huawei/{site}/bind-result`: verify and apply, then 303 to the GET step. Does not read
/// cookies: a SameSite=Lax cookie is not sent with Huawei's cross-site POST.
pub async fn bind_result(
    State(bridge): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    Path(site): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::for_request(lang, &request_id);
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
    Extension(request_id): Extension<RequestId>,
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
        .map_err(|err| PageError {
            err,
            lang,
            request_id: request_id.clone(),
        })?;
    tracing::info!(
        outcome = applied.outcome,
        "bind-result notification applied"
    );
    Ok(redirect(StatusCode::FOUND, &applied.location))
}

/// `GET /return/{site}/{kind}`: to the configured partner page, with allow-listed parameters.
pub async fn return_link(
    State(bridge): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    Path((site, kind)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    match bridge.return_location(&site, &kind, uri.query().unwrap_or("")) {
        Some(location) => redirect(StatusCode::FOUND, &location),
        None => not_found(headers, Extension(request_id)).await,
    }
}

/// `GET /saml/slo`: single logout. A signed LogoutRequest is answered at once; a plain GET with
/// a live session shows a confirmation page (docs/security.md A20).
pub async fn slo(
    State(bridge): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::for_request(lang, &request_id);
    let cookie = cookies::session(&headers, bridge.settings.dev_mode);
    let outcome = bridge
        .logout(uri.query().unwrap_or(""), cookie.as_deref())
        .await
        .map_err(fail)?;
    Ok(logout_response(
        &bridge,
        lang,
        cookie.is_some(),
        outcome,
        StatusCode::FOUND,
    ))
}

/// `POST /saml/slo`: the logout confirmation form (anti-CSRF token bound to the session).
pub async fn slo_confirmed(
    State(bridge): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::for_request(lang, &request_id);
    let body = body.map_err(|_| fail(FlowError::BadCsrf))?;
    let csrf = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let cookie = cookies::session(&headers, bridge.settings.dev_mode);
    let outcome = bridge
        .logout_confirmed(cookie.as_deref(), &csrf)
        .await
        .map_err(fail)?;
    Ok(logout_response(
        &bridge,
        lang,
        cookie.is_some(),
        outcome,
        StatusCode::SEE_OTHER,
    ))
}

fn logout_response(
    bridge: &AppState,
    lang: Lang,
    had_cookie: bool,
    outcome: LogoutOutcome,
    redirect_status: StatusCode,
) -> Response {
    match outcome {
        LogoutOutcome::Confirm { csrf } => html_response(
            StatusCode::OK,
            pages::confirm_logout(lang, &csrf, bridge.settings.partner_landing_url.as_str()),
            pages::csp_plain(),
        ),
        LogoutOutcome::Done { location, ended } => {
            tracing::info!(ended, "logout");
            let mut res = redirect(redirect_status, &location);
            if had_cookie
                && ended > 0
                && let Some(v) = cookies::clear_session(bridge.settings.dev_mode)
            {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
    }
}
