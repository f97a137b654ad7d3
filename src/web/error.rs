//! One error type per audience: [`PageError`] for browsers (an HTML page) and [`ApiError`] for
//! the partner API (`{"error": {"code", "message", "request_id"}}`). Both show the request id,
//! log the cause once, and never send internals to the client. Both read the id when they are
//! answered ([`RequestId::current`]), so handlers and extractors build errors, and convert flow
//! errors, without handing the id around.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::pages::{self, ErrorText, Lang};
use super::request_id::RequestId;
use crate::flow::FlowError;
use saml::authn_request::RequestError;

/// Status and stable code for a flow error.
pub fn classify(err: &FlowError) -> (StatusCode, &'static str) {
    match err {
        FlowError::Field(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        FlowError::TicketUnknown => (StatusCode::BAD_REQUEST, "ticket_unknown"),
        FlowError::TicketExpired => (StatusCode::BAD_REQUEST, "ticket_expired"),
        FlowError::ResumeUnknown => (StatusCode::BAD_REQUEST, "resume_expired"),
        FlowError::ResumeGone => (StatusCode::NOT_FOUND, "resume_not_found"),
        FlowError::SessionGone => (StatusCode::BAD_REQUEST, "session_expired"),
        FlowError::BadCsrf => (StatusCode::FORBIDDEN, "csrf_mismatch"),
        FlowError::BindUnconfirmed(_) => (StatusCode::CONFLICT, "bind_not_confirmed"),
        FlowError::Request(e) => (
            match e {
                RequestError::Binding(saml::redirect::RedirectError::QueryTooLong) => {
                    StatusCode::URI_TOO_LONG
                }
                RequestError::Binding(saml::redirect::RedirectError::TooLarge) => {
                    StatusCode::PAYLOAD_TOO_LARGE
                }
                _ => StatusCode::BAD_REQUEST,
            },
            e.code(),
        ),
        FlowError::Replayed => (StatusCode::BAD_REQUEST, "replayed_request"),
        FlowError::UnknownSite => (StatusCode::NOT_FOUND, "unknown_site"),
        FlowError::MappingNotFound => (StatusCode::NOT_FOUND, "mapping_not_found"),
        FlowError::DomainConflict => (StatusCode::CONFLICT, "domain_already_bound"),
        FlowError::MappingMismatch => (StatusCode::CONFLICT, "mapping_mismatch"),
        FlowError::Notification(e) => (
            if matches!(
                e,
                crate::huawei::bind_notification::NotificationError::TooLong(_)
            ) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            },
            e.code(),
        ),
        FlowError::PassiveImpossible => (StatusCode::BAD_REQUEST, "passive_not_possible"),
        FlowError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        FlowError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        FlowError::Busy(..) => (StatusCode::SERVICE_UNAVAILABLE, "server_busy"),
        FlowError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
        FlowError::RateLimited(..) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
    }
}

/// Logs a failure once: 5xx as errors, 4xx as warnings, with the cause. The request id comes
/// from the surrounding request span. Load shedding and rate limiting are answers to floods:
/// one line each would let a flood flood the log too, so they go to DEBUG.
fn log(status: StatusCode, code: &str, cause: &dyn std::fmt::Display) {
    if matches!(code, "server_busy" | "too_many_requests") {
        tracing::debug!(status = status.as_u16(), code, cause = %cause, "request shed");
    } else if status.is_server_error() {
        tracing::error!(status = status.as_u16(), code, cause = %cause, "request failed");
    } else {
        tracing::warn!(status = status.as_u16(), code, cause = %cause, "request refused");
    }
}

/// An error shown to a person in a browser.
#[derive(Debug)]
pub struct PageError {
    /// What went wrong.
    pub err: FlowError,
    /// Page language.
    pub lang: Lang,
}

impl PageError {
    /// A converter for one request's failures: `.map_err(PageError::in_lang(lang))`.
    pub fn in_lang(lang: Lang) -> impl Fn(FlowError) -> Self {
        move |err| Self { err, lang }
    }
}

/// The id of the request being answered. Every route runs inside the request-id layer; outside
/// it (never in the router) a fresh id still gives the client something to quote.
pub(crate) fn current_request_id() -> RequestId {
    RequestId::current().unwrap_or_else(RequestId::generate)
}

fn page_text(err: &FlowError, lang: Lang) -> ErrorText<'static> {
    let again = lang.pick(
        "请返回合作伙伴平台，重新点击进入华为云。",
        "Go back to the partner platform and open Huawei Cloud again.",
    );
    let t = |zh: &'static str, en: &'static str, next: &'static str| ErrorText {
        title: lang.pick(zh, en),
        what: "",
        next,
    };
    let mut text = match err {
        FlowError::TicketUnknown => t("登录链接无效", "This sign-in link is not valid", again),
        FlowError::TicketExpired => t("登录链接已过期", "This sign-in link has expired", again),
        FlowError::ResumeUnknown | FlowError::ResumeGone => t("登录等待时间过长", "Signing in took too long", again),
        FlowError::SessionGone => t("登录会话已结束", "Your sign-in session has ended", again),
        FlowError::BadCsrf => t(
            "无法确认此操作",
            "This action could not be confirmed",
            again,
        ),
        FlowError::BindUnconfirmed(_) => t(
            "账号关联结果未能确认",
            "The account link could not be confirmed",
            lang.pick(
                "您的账号没有被更改。如果您刚刚创建或关联了华为云账号，请返回合作伙伴平台，重新点击进入华为云；如果华为云再次要求关联账号，请联系合作伙伴平台的客服，并提供下方的请求编号。",
                "Nothing was changed. If you just created or linked a Huawei Cloud account, go back to the partner platform and open Huawei Cloud again; if Huawei Cloud asks you to link an account again, contact the partner platform's support with the request id below.",
            ),
        ),
        FlowError::DomainConflict | FlowError::MappingMismatch => t(
            "该华为云账号已关联其他用户",
            "This Huawei Cloud account is linked to another user",
            lang.pick(
                "您的账号没有被更改。请联系合作伙伴平台的客服，并提供下方的请求编号。",
                "Nothing was changed. Contact the partner platform's support with the request id below.",
            ),
        ),
        FlowError::Notification(_) => t(
            "无法确认华为云的绑定结果",
            "The account-binding result from Huawei Cloud could not be confirmed",
            again,
        ),
        FlowError::UnknownSite | FlowError::MappingNotFound => t("页面不存在", "Page not found", again),
        FlowError::Request(_) | FlowError::Replayed | FlowError::PassiveImpossible | FlowError::Field(_) => t(
            "无法处理来自华为云的登录请求",
            "The sign-in request from Huawei Cloud could not be accepted",
            again,
        ),
        FlowError::Store(_) => t(
            "服务暂时不可用",
            "The service is temporarily unavailable",
            lang.pick("请稍等一分钟后重试。", "Please try again in a minute."),
        ),
        FlowError::Busy(..) | FlowError::RateLimited(..) | FlowError::RequestTimeout => t(
            "服务繁忙",
            "The service is busy",
            lang.pick("请等几秒钟后刷新本页面重试。", "Please wait a few seconds, then reload this page."),
        ),
        FlowError::Internal(_) => t(
            "发生内部错误",
            "Something went wrong on our side",
            lang.pick("请稍后重试；如果问题持续，请联系客服并提供下方的请求编号。", "Please try again later; if it keeps happening, contact support with the request id below."),
        ),
    };
    text.what = match err {
        FlowError::TicketUnknown => lang.pick(
            "该链接可能已经使用过，每个链接只能使用一次。",
            "It may have been used already; each link works only once.",
        ),
        FlowError::TicketExpired => lang.pick(
            "登录链接只在很短的时间内有效。",
            "Sign-in links are valid only for a short time.",
        ),
        FlowError::ResumeUnknown => lang.pick(
            "华为云的登录请求已失效。",
            "The pending sign-in request from Huawei Cloud is no longer valid.",
        ),
        FlowError::SessionGone => lang.pick(
            "您在本页面停留的时间过长，或者已经退出登录。",
            "You stayed on the page too long, or you have signed out.",
        ),
        FlowError::BadCsrf => lang.pick(
            "该表单不是在本浏览器的当前登录会话中打开的，因此没有执行任何操作。",
            "The form was not opened in this browser's current sign-in session, so nothing was done.",
        ),
        FlowError::BindUnconfirmed(_) => lang.pick(
            "华为云发来的账号关联结果，无法与您在本浏览器中刚刚进行的登录对应起来。",
            "The account-link result Huawei Cloud sent could not be matched to a sign-in you just made in this browser.",
        ),
        FlowError::Store(_)
        | FlowError::Internal(_)
        | FlowError::Busy(..)
        | FlowError::RequestTimeout
        | FlowError::RateLimited(..) => lang.pick(
            "您的登录没有完成，也没有任何更改。",
            "Your sign-in did not complete and nothing was changed.",
        ),
        _ => lang.pick(
            "该请求未通过安全检查，因此没有登录。",
            "The request did not pass our security checks, so you were not signed in.",
        ),
    };
    text
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, code) = classify(&self.err);
        log(status, code, &self.err);
        let body = pages::error_page(
            self.lang,
            &page_text(&self.err, self.lang),
            code,
            current_request_id().as_str(),
        );
        let mut res = html_response(status, body, pages::csp_plain());
        set_retry_after(&mut res, &self.err);
        res
    }
}

/// `Retry-After` on load-shedding and rate-limit answers.
fn set_retry_after(res: &mut Response, err: &FlowError) {
    let secs = match err {
        FlowError::Busy(_, secs) | FlowError::RateLimited(_, secs) => *secs,
        _ => return,
    };
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// An HTML response with the security headers every page gets.
pub fn html_response(status: StatusCode, body: String, csp: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

/// An error answered to the partner API.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: &'static str,
    /// Public message, safe to show the partner's developers.
    pub message: String,
    /// Cause for the log.
    pub cause: String,
    /// Seconds for a `Retry-After` header (rate limits, load shedding).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a public message that is also the logged cause.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            code,
            cause: message.clone(),
            message,
            retry_after: None,
        }
    }
}

/// A flow error's status and code come from [`classify`]; its public message says no more than
/// the client may know (no store or internal detail).
impl From<FlowError> for ApiError {
    fn from(err: FlowError) -> Self {
        let (status, code) = classify(&err);
        let message = match &err {
            FlowError::Field(e) => e.to_string(),
            FlowError::Store(_) => "the store is unavailable; retry later".into(),
            FlowError::Internal(_) => "internal error".into(),
            FlowError::Busy(_, secs) => format!("the service is busy; retry after {secs} s"),
            FlowError::RateLimited(what, secs) => {
                format!("too many requests ({what}); retry after {secs} s")
            }
            other => other.to_string(),
        };
        Self {
            status,
            code,
            message,
            cause: err.to_string(),
            retry_after: match err {
                FlowError::Busy(_, secs) | FlowError::RateLimited(_, secs) => Some(secs),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log(self.status, self.code, &self.cause);
        let request_id = current_request_id();
        let body = json!({"error": {"code": self.code, "message": self.message, "request_id": request_id.as_str()}});
        let mut res = (self.status, Json(body)).into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(v) = self
            .retry_after
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
