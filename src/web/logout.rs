//! Single logout (docs/protocol.md §Logout): Huawei's signed LogoutRequest, and the
//! confirmation a plain GET needs before it ends a session (docs/security.md A20).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

use super::AppState;
use super::cookies;
use super::error::{PageError, html_response};
use super::pages::{self, Lang};
use super::redirect;
use crate::flow::FlowError;
use crate::flow::logout::LogoutOutcome;

/// `GET /saml/slo`: single logout. A signed LogoutRequest is answered at once; a plain GET with
/// a live session shows a confirmation page (docs/security.md A20).
pub async fn slo(
    State(bridge): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::in_lang(lang);
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
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::in_lang(lang);
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
