//! Browser routes of the SSO flow: `/sso/start` (redeem a ticket), `/saml/sso` (Huawei's
//! AuthnRequest) and `/sso/confirm` (the customer's answer on the confirmation page).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::cookies;
use super::error::{PageError, html_response};
use super::pages::{self, Lang};
use crate::flow::{
    AutoPost, ConfirmChoice, ConfirmOutcome, Confirmation, FlowError, Onward, SsoOutcome,
};

/// Query of `/sso/start`.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    ticket: Option<String>,
}

/// `GET /sso/start?ticket=…`.
pub async fn start(
    State(bridge): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::in_lang(lang);
    let ticket = query
        .ok()
        .and_then(|Query(q)| q.ticket)
        .ok_or_else(|| fail(FlowError::TicketUnknown))?;
    let dev = bridge.settings.dev_mode;
    let old = cookies::session(&headers, dev);
    let outcome = bridge.start(&ticket, old.as_deref()).await.map_err(fail)?;
    tracing::info!(next = onward_label(&outcome.next), "session opened");
    let mut res = onward(&bridge, lang, &outcome.next, StatusCode::FOUND);
    if let Some(v) = cookies::set_session(&outcome.session.cookie, dev) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// `GET /saml/sso`: the HTTP-Redirect binding endpoint Huawei sends AuthnRequests to. The raw
/// query is passed on untouched: the signature covers the octets as received.
pub async fn saml_sso(
    State(bridge): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::in_lang(lang);
    let cookie = cookies::session(&headers, bridge.settings.dev_mode);
    let outcome = bridge
        .sso(uri.query().unwrap_or(""), cookie.as_deref())
        .await
        .map_err(fail)?;
    Ok(match outcome {
        SsoOutcome::Answer(post) => {
            tracing::info!("AuthnRequest answered");
            auto_post(lang, &post)
        }
        SsoOutcome::ToPartnerLogin { location } => {
            tracing::info!("no session; AuthnRequest parked for partner login");
            super::redirect(StatusCode::FOUND, &location)
        }
        SsoOutcome::Confirm(c) => {
            tracing::info!(reason = ?c.reason, "AuthnRequest parked until the customer confirms");
            confirm_page(&bridge, lang, &c)
        }
    })
}

/// The confirmation form's fields.
#[derive(Debug, Default)]
struct ConfirmForm {
    csrf: String,
    state: Option<String>,
    choice: Option<ConfirmChoice>,
}

impl ConfirmForm {
    /// Reads the urlencoded body; unknown fields are ignored, an unknown action is none.
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (name, value) in form_urlencoded::parse(body) {
            match name.as_ref() {
                "csrf" => form.csrf = value.into_owned(),
                "state" => form.state = Some(value.into_owned()),
                "action" => {
                    form.choice = match value.as_ref() {
                        "continue" => Some(ConfirmChoice::Continue),
                        "cancel" => Some(ConfirmChoice::Cancel),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        form
    }
}

/// `POST /sso/confirm`: the customer's answer. Same-site, so the SameSite=Lax session cookie is
/// sent; the anti-CSRF token proves the form came from our page for this session.
pub async fn confirm(
    State(bridge): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, PageError> {
    let lang = Lang::from_headers(&headers);
    let fail = PageError::in_lang(lang);
    let form = ConfirmForm::parse(&body.map_err(|_| fail(FlowError::BadCsrf))?);
    let choice = form.choice.ok_or_else(|| fail(FlowError::BadCsrf))?;
    let dev = bridge.settings.dev_mode;
    let cookie = cookies::session(&headers, dev);
    let outcome = bridge
        .confirm(cookie.as_deref(), &form.csrf, form.state.as_deref(), choice)
        .await
        .map_err(fail)?;
    Ok(match outcome {
        ConfirmOutcome::Onward(next) => {
            tracing::info!(next = onward_label(&next), "customer confirmed sign-in");
            onward(&bridge, lang, &next, StatusCode::SEE_OTHER)
        }
        ConfirmOutcome::Cancelled(location) => {
            tracing::info!("customer declined sign-in; session ended");
            let mut res = super::redirect(StatusCode::SEE_OTHER, &location);
            if let Some(v) = cookies::clear_session(dev) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
    })
}

/// The response for the next step of a usable session (`redirect`: 302 after a GET, 303 after
/// a POST).
fn onward(bridge: &AppState, lang: Lang, next: &Onward, redirect: StatusCode) -> Response {
    match next {
        Onward::ToHuawei(location) => super::redirect(redirect, location),
        Onward::Answer(post) => auto_post(lang, post),
        Onward::Confirm(c) => confirm_page(bridge, lang, c),
    }
}

/// For the log: which way the flow went.
fn onward_label(next: &Onward) -> &'static str {
    match next {
        Onward::ToHuawei(_) => "to_huawei",
        Onward::Answer(_) => "answer_parked_request",
        Onward::Confirm(_) => "confirm_first",
    }
}

fn confirm_page(bridge: &AppState, lang: Lang, c: &Confirmation) -> Response {
    let partner = bridge
        .settings
        .partner_landing_url
        .host_str()
        .unwrap_or_default();
    html_response(
        StatusCode::OK,
        pages::confirm_signin(lang, c, partner),
        pages::csp_plain(),
    )
}

fn auto_post(lang: Lang, post: &AutoPost) -> Response {
    html_response(
        StatusCode::OK,
        pages::auto_post(lang, post),
        pages::csp_auto_post(),
    )
}
