//! Browser routes of the SSO flow: `/sso/start` (redeem a ticket) and `/saml/sso` (Huawei's
//! AuthnRequest).

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::cookies;
use super::error::{PageError, html_response};
use super::pages::{self, Lang};
use super::request_id::RequestId;
use crate::flow::{AutoPost, FlowError, SsoOutcome, StartOutcome};

/// Query of `/sso/start`.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    ticket: Option<String>,
}

/// `GET /sso/start?ticket=…`.
pub async fn start(
    State(bridge): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    query: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = |err| PageError {
        err,
        lang,
        request_id: request_id.clone(),
    };
    let ticket = query
        .ok()
        .and_then(|Query(q)| q.ticket)
        .ok_or_else(|| fail(FlowError::TicketUnknown))?;
    let dev = bridge.settings.dev_mode;
    let old = cookies::session(&headers, dev);
    let outcome = bridge.start(&ticket, old.as_deref()).await.map_err(fail)?;
    let (cookie, mut res) = match outcome {
        StartOutcome::ToHuawei { session, location } => {
            tracing::info!("session opened; sending browser to Huawei");
            (
                session.cookie,
                super::redirect(StatusCode::FOUND, &location),
            )
        }
        StartOutcome::Answer { session, post } => {
            tracing::info!("session opened; answering resumed request");
            (session.cookie, auto_post(lang, &post))
        }
    };
    if let Some(v) = cookies::set_session(&cookie, dev) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// `GET /saml/sso`: the HTTP-Redirect binding endpoint Huawei sends AuthnRequests to. The raw
/// query is passed on untouched: the signature covers the octets as received.
pub async fn saml_sso(
    State(bridge): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let cookie = cookies::session(&headers, bridge.settings.dev_mode);
    let outcome = bridge
        .sso(uri.query().unwrap_or(""), cookie.as_deref())
        .await
        .map_err(|err| PageError {
            err,
            lang,
            request_id: request_id.clone(),
        })?;
    Ok(match outcome {
        SsoOutcome::Answer(post) => {
            tracing::info!("AuthnRequest answered");
            auto_post(lang, &post)
        }
        SsoOutcome::ToPartnerLogin { location } => {
            tracing::info!("no session; AuthnRequest parked for partner login");
            super::redirect(StatusCode::FOUND, &location)
        }
    })
}

fn auto_post(lang: Lang, post: &AutoPost) -> Response {
    html_response(
        StatusCode::OK,
        pages::auto_post(lang, post),
        pages::csp_auto_post(),
    )
}
