//! A tiny demo partner platform: log in as one of a few demo users, then "Open Huawei Cloud
//! console", which creates a login ticket through the bridge's partner API (over HTTP, like a
//! real platform) and sends the browser to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::random;
use crate::web::error::html_response;
use crate::web::pages::{self, Lang, escape};
use crate::web::redirect;
use huawei_sim::http_client;

/// A demo user: (x_user_id, account name, display name, e-mail, mobile).
pub const USERS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "demo-1001",
        "zhang_san",
        "张三 Zhang San",
        "zhangsan@example.com",
        "0086-13800000001",
    ),
    (
        "demo-1002",
        "li_si_01",
        "李四 Li Si",
        "lisi@example.com",
        "0086-13800000002",
    ),
    (
        "demo-1003",
        "wang_wu_01",
        "王五 Wang Wu",
        "wangwu@example.com",
        "0086-13800000003",
    ),
];

const COOKIE: &str = "demo_partner_session";

/// The demo platform.
pub struct PartnerDemo {
    /// Base URL of the bridge's API.
    pub bridge_url: String,
    /// Partner API key.
    pub api_key: String,
    sessions: Mutex<HashMap<String, usize>>,
}

impl PartnerDemo {
    /// A platform that calls the bridge at `bridge_url` with `api_key`.
    pub fn new(bridge_url: String, api_key: String) -> Self {
        Self {
            bridge_url,
            api_key,
            sessions: Mutex::default(),
        }
    }

    fn user(&self, headers: &HeaderMap) -> Option<usize> {
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|p| p.trim().split_once('='))
            .find(|(n, _)| *n == COOKIE)
            .map(|(_, v)| v.to_owned())?;
        self.sessions.lock().ok()?.get(&cookie).copied()
    }

    /// Creates a login ticket through the partner API; returns the URL to send the browser to.
    async fn ticket(&self, user: usize, resume: Option<&str>) -> Result<String, String> {
        let (x_user_id, name, display_name, email, mobile) =
            USERS.get(user).ok_or("no such user")?;
        let mut body = serde_json::json!({"x_user_id": x_user_id, "name": name, "display_name": display_name,
                                          "email": email, "mobile": mobile});
        if let Some(r) = resume {
            body["resume"] = serde_json::Value::from(r);
        }
        let auth = format!("Bearer {}", self.api_key);
        let res = http_client::request(
            "POST",
            &format!("{}/api/v1/login-tickets", self.bridge_url),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let json: serde_json::Value =
            serde_json::from_slice(&res.body).map_err(|e| e.to_string())?;
        match (res.status, json["url"].as_str()) {
            (201, Some(url)) => Ok(url.to_owned()),
            _ => Err(json["error"]["message"]
                .as_str()
                .unwrap_or("ticket refused")
                .to_owned()),
        }
    }
}

/// The platform's routes.
pub fn router(demo: Arc<PartnerDemo>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/open-console", post(open_console))
        .route("/logout", post(logout))
        .route("/orders/paid", get(order_paid))
        .route("/wallet", get(wallet))
        .with_state(demo)
}

fn page(lang: Lang, title: &str, body: &str) -> Response {
    let banner = format!(
        "<p class=\"muted\">{}</p>",
        escape(lang.pick("演示合作伙伴销售平台", "Demo partner sales platform"))
    );
    html_response(
        StatusCode::OK,
        pages::layout(lang, title, &format!("{banner}{body}"), false),
        pages::csp_plain(),
    )
}

fn login_form(lang: Lang, resume: Option<&str>) -> String {
    let resume_field = resume
        .map(|r| {
            format!(
                "<input type=\"hidden\" name=\"resume\" value=\"{}\">",
                escape(r)
            )
        })
        .unwrap_or_default();
    let mut buttons = String::new();
    for (i, (id, _, display, _, _)) in USERS.iter().enumerate() {
        buttons.push_str(&format!(
            "<p><button type=\"submit\" name=\"user\" value=\"{i}\" id=\"login-{id}\">{} {}</button></p>",
            escape(lang.pick("登录为", "Log in as")),
            escape(display)
        ));
    }
    format!(
        "<h1>{}</h1><p>{}</p><form method=\"post\" action=\"/login\">{resume_field}{buttons}</form>",
        escape(lang.pick("登录", "Log in")),
        escape(lang.pick(
            "选择一个演示用户（无需密码）。",
            "Pick a demo user (no password needed)."
        ))
    )
}

async fn home(State(demo): State<Arc<PartnerDemo>>, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let Some(user) = demo.user(&headers) else {
        return page(lang, lang.pick("登录", "Log in"), &login_form(lang, None));
    };
    let (id, _, display, _, _) = USERS.get(user).copied().unwrap_or(USERS[0]);
    let body = format!(
        "<h1 id=\"welcome\">{} {}</h1><p class=\"muted\">x_user_id <code>{}</code></p>\
         <form method=\"post\" action=\"/open-console\"><button type=\"submit\" id=\"open-console\">{}</button></form><p></p>\
         <form method=\"post\" action=\"/logout\"><button type=\"submit\" id=\"partner-logout\">{}</button></form>",
        escape(lang.pick("欢迎，", "Welcome,")),
        escape(display),
        escape(id),
        escape(lang.pick("打开华为云控制台", "Open Huawei Cloud console")),
        escape(lang.pick("退出登录", "Log out")),
    );
    page(lang, lang.pick("合作伙伴平台", "Partner platform"), &body)
}

#[derive(Debug, Deserialize)]
struct ResumeQuery {
    resume: Option<String>,
}

/// `GET /login?resume=…`: where the bridge sends browsers that arrive from Huawei without a session.
async fn login_page(
    headers: HeaderMap,
    query: Result<Query<ResumeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let resume = query.ok().and_then(|q| q.0.resume);
    page(
        lang,
        lang.pick("登录", "Log in"),
        &login_form(lang, resume.as_deref()),
    )
}

async fn login(State(demo): State<Arc<PartnerDemo>>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::from_headers(&headers);
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let Some(user) = form
        .get("user")
        .and_then(|u| u.parse::<usize>().ok())
        .filter(|u| *u < USERS.len())
    else {
        return redirect(StatusCode::SEE_OTHER, "/");
    };
    let Ok(cookie) = random::token() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(mut s) = demo.sessions.lock() {
        s.insert(cookie.clone(), user);
    }
    let target = match form.get("resume").filter(|r| !r.is_empty()) {
        // Back from Huawei: finish the parked sign-in.
        Some(resume) => match demo.ticket(user, Some(resume)).await {
            Ok(url) => url,
            Err(e) => return error_page(lang, &e),
        },
        None => "/".to_owned(),
    };
    let mut res = redirect(StatusCode::SEE_OTHER, &target);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn open_console(State(demo): State<Arc<PartnerDemo>>, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let Some(user) = demo.user(&headers) else {
        return redirect(StatusCode::SEE_OTHER, "/");
    };
    match demo.ticket(user, None).await {
        Ok(url) => redirect(StatusCode::SEE_OTHER, &url),
        Err(e) => error_page(lang, &e),
    }
}

async fn logout(State(demo): State<Arc<PartnerDemo>>, headers: HeaderMap) -> Response {
    if let Some(user) = demo.user(&headers) {
        let (id, ..) = USERS.get(user).copied().unwrap_or(USERS[0]);
        let auth = format!("Bearer {}", demo.api_key);
        // The platform's logout also ends the user's IdP sessions at the bridge.
        let _ = http_client::request(
            "DELETE",
            &format!("{}/api/v1/users/{id}/sessions", demo.bridge_url),
            &[("Authorization", &auth)],
            b"",
        )
        .await;
    }
    let mut res = redirect(StatusCode::SEE_OTHER, "/");
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("demo_partner_session=; Path=/; Max-Age=0"),
    );
    res
}

fn error_page(lang: Lang, message: &str) -> Response {
    page(
        lang,
        lang.pick("出错了", "Something went wrong"),
        &format!(
            "<h1>{}</h1><p>{}</p>",
            escape(lang.pick("出错了", "Something went wrong")),
            escape(message)
        ),
    )
}

#[derive(Debug, Deserialize)]
struct OrderQuery {
    #[serde(rename = "orderId")]
    order_id: Option<String>,
}

async fn order_paid(
    headers: HeaderMap,
    query: Result<Query<OrderQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let order = query.ok().and_then(|q| q.0.order_id).unwrap_or_default();
    let title = lang.pick("订单已支付", "Order paid");
    page(
        lang,
        title,
        &format!(
            "<h1 id=\"order-paid\">{}</h1><p>{} <code id=\"order-id\">{}</code></p><p><a href=\"/\">{}</a></p>",
            escape(title),
            escape(lang.pick("订单号", "Order")),
            escape(&order),
            escape(lang.pick("返回首页", "Back to the platform"))
        ),
    )
}

async fn wallet(headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let title = lang.pick("充值", "Top up");
    page(
        lang,
        title,
        &format!(
            "<h1 id=\"wallet\">{}</h1><p>{}</p>",
            escape(title),
            escape(lang.pick(
                "合作伙伴平台的充值页面。",
                "The partner platform's top-up page."
            ))
        ),
    )
}
