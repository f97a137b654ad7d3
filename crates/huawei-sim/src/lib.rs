//! A stand-in for Huawei Cloud IAM (the SP) that plays its part exactly as docs/protocol.md
//! describes: login link → signed AuthnRequest (HTTP-Redirect) → strict ACS → on a first login, the
//! create-or-bind choice and the signed bind-result notification through the browser → a page
//! standing for the console → signed LogoutRequest. It has its own generated key, never Huawei's.
//!
//! Used by `sso-bridge simulate`, by `sso-bridge demo`, and by the tests as the SP side.

pub mod acs;
pub mod http_client;
pub mod idp;
pub mod messages;
mod page;
mod random;
mod redirect_check;
mod xmldsig;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use serde::Deserialize;
use time::OffsetDateTime;

use openssl::hash::MessageDigest;
use openssl::sign::Signer;
use saml::inbound;
use saml::ns;
use saml::redirect::{MessageKind, encode_signed_query};

pub use idp::IdpDescriptor;
use messages::{ACS_PATH, LOGIN_PATH, METADATA_PATH, SLO_RESPONSE_PATH};
use page::{Lang, escape, found as redirect, page, with_query};

/// The simulator's source of the current time (the real clock in `simulate` and the demo).
pub type Now = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// A partner platform registered with the simulated IAM (what 接入配置 holds).
#[derive(Debug, Clone)]
pub struct PartnerLink {
    /// Its Partner Platform ID.
    pub x_account_type: String,
    /// Its IdP metadata.
    pub idp: IdpDescriptor,
    /// 通知结果绑定地址.
    pub bind_result_url: String,
    /// 订单支付成功跳转地址, if configured.
    pub payment_success_url: Option<String>,
    /// 订单充值跳转地址, if configured.
    pub recharge_url: Option<String>,
}

/// How the simulator is set up.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Public base URL (no trailing slash), e.g. `http://localhost:8082`.
    pub public_url: String,
    /// Registered partners.
    pub partners: Vec<PartnerLink>,
}

/// A login in flight (AuthnRequest sent, Response not yet received), keyed by RelayState.
#[derive(Debug, Clone)]
struct Pending {
    request_id: String,
    x_account_type: String,
    first_login: bool,
    service: String,
}

/// A Huawei account of the simulated cloud.
#[derive(Debug, Clone)]
struct Account {
    domain_id: String,
    domain_name: String,
}

/// A signed-in console session.
#[derive(Debug, Clone)]
struct Console {
    x_account_type: String,
    login: acs::Login,
    account: Account,
    via_bind: bool,
}

/// A first login waiting for the create-or-bind choice.
#[derive(Debug, Clone)]
struct Choice {
    x_account_type: String,
    login: acs::Login,
}

#[derive(Default)]
struct SimState {
    pending: HashMap<String, Pending>,
    choices: HashMap<String, Choice>,
    accounts: HashMap<(String, String), Account>,
    consoles: HashMap<String, Console>,
    logouts: HashMap<String, String>,
}

/// The simulated Huawei Cloud IAM.
pub struct Simulator {
    config: SimulatorConfig,
    entity_id: String,
    cert: X509,
    key: PKey<Private>,
    now: Now,
    state: Mutex<SimState>,
}

/// Console session cookie of the simulator.
const COOKIE: &str = "sim_console";

impl Simulator {
    /// A simulator with a new RSA key.
    pub fn new(config: SimulatorConfig, now: Now) -> Result<Self, String> {
        let (key, cert) = saml::certificate::self_signed(2048, 3650, "huawei-iam-simulator")
            .map_err(|e| e.to_string())?;
        Ok(Self {
            entity_id: format!("{}/", config.public_url),
            config,
            cert,
            key,
            now,
            state: Mutex::default(),
        })
    }

    /// The SP entityID (public URL with a trailing slash, like `https://auth.huaweicloud.com/`).
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// The SP metadata to configure in the bridge.
    pub fn sp_metadata(&self) -> Result<String, String> {
        messages::sp_metadata(&self.entity_id, &self.config.public_url, &self.cert)
            .map_err(|e| e.to_string())
    }

    /// Adds a partner after start (the demo learns the bridge's metadata after building it).
    pub fn register(&mut self, partner: PartnerLink) {
        self.config.partners.push(partner);
    }

    /// The bind-result signing key (the SP key), for tests that forge or tamper.
    pub fn signing_key(&self) -> &PKey<Private> {
        &self.key
    }

    /// RSA-SHA256 over `data` with the SP key: the redirect binding's and the bind result's
    /// signature.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key)?;
        signer.update(data)?;
        signer.sign_to_vec()
    }

    fn partner(&self, x_account_type: &str) -> Option<&PartnerLink> {
        self.config
            .partners
            .iter()
            .find(|p| p.x_account_type == x_account_type)
    }

    fn acs_url(&self) -> String {
        format!("{}{ACS_PATH}", self.config.public_url)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SimState> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// The simulator's routes.
pub fn router(sim: Arc<Simulator>) -> Router {
    Router::new()
        .route("/", get(index))
        .route(METADATA_PATH, get(metadata))
        .route(LOGIN_PATH, get(login))
        .route(ACS_PATH, post(acs_post))
        .route("/authui/bind", post(bind_choice))
        .route("/console", get(console))
        .route("/console/{*rest}", get(console))
        .route("/console-logout", post(console_logout))
        .route(SLO_RESPONSE_PATH, get(logout_response))
        .with_state(sim)
}

async fn index(headers: HeaderMap) -> Response {
    let lang = Lang::of(&headers);
    page(
        lang,
        StatusCode::OK,
        lang.pick("华为云 IAM 模拟器", "Huawei Cloud IAM simulator"),
        &format!(
            "<h1>{}</h1><p>{}</p><p><a href=\"{METADATA_PATH}\">SP metadata</a> · <a href=\"/console\">{}</a></p>",
            escape(lang.pick("华为云 IAM 模拟器", "Huawei Cloud IAM simulator")),
            escape(lang.pick(
                "从合作伙伴平台跳转到这里：/authui/saml/login?xAccountType=…&isFirstLogin=…&service=…",
                "Partner platforms send browsers to /authui/saml/login?xAccountType=…&isFirstLogin=…&service=…"
            )),
            escape(lang.pick("控制台", "Console")),
        ),
    )
}

async fn metadata(State(sim): State<Arc<Simulator>>) -> Response {
    match sim.sp_metadata() {
        Ok(xml) => {
            let mut res = xml.into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml; charset=utf-8"),
            );
            res
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Query of the login link (docs/protocol.md §Login-link).
#[derive(Debug, Deserialize)]
struct LoginQuery {
    #[serde(rename = "xAccountType")]
    x_account_type: Option<String>,
    #[serde(rename = "isFirstLogin")]
    is_first_login: Option<String>,
    service: Option<String>,
}

/// `GET /authui/saml/login`: a signed AuthnRequest to the registered IdP's SSO URL.
async fn login(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = Lang::of(&headers);
    let Ok(Query(q)) = query else {
        return page(
            lang,
            StatusCode::BAD_REQUEST,
            "Bad request",
            "<h1>Bad request</h1>",
        );
    };
    let Some(partner) = q.x_account_type.as_deref().and_then(|x| sim.partner(x)) else {
        let title = lang.pick("未知的 xAccountType", "Unknown xAccountType");
        return page(
            lang,
            StatusCode::BAD_REQUEST,
            title,
            &format!("<h1>{}</h1>", escape(title)),
        );
    };
    let (Ok(id), Ok(relay)) = (random::huawei_style_id(), random::token()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let xml = messages::authn_request(
        &id,
        &sim.entity_id,
        &sim.acs_url(),
        &partner.idp.sso_url,
        (sim.now)(),
    );
    let Ok(query) = encode_signed_query(MessageKind::Request, &xml, Some(&relay), |d| sim.sign(d))
    else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    sim.state().pending.insert(
        relay,
        Pending {
            request_id: id,
            x_account_type: partner.x_account_type.clone(),
            first_login: q.is_first_login.as_deref() == Some("true"),
            service: q
                .service
                .unwrap_or_else(|| format!("{}/console", sim.config.public_url)),
        },
    );
    let sep = if partner.idp.sso_url.contains('?') {
        '&'
    } else {
        '?'
    };
    redirect(&format!("{}{sep}{query}", partner.idp.sso_url))
}

/// `POST /authui/saml/SAMLAssertionConsumer`.
async fn acs_post(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::of(&headers);
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let pending = form
        .get("RelayState")
        .and_then(|r| sim.state().pending.remove(r));
    let Some(pending) = pending else {
        let title = lang.pick("没有对应的登录请求", "No matching login request");
        return page(
            lang,
            StatusCode::BAD_REQUEST,
            title,
            &format!(
                "<h1>{}</h1><p>{}</p>",
                escape(title),
                escape(lang.pick(
                    "RelayState 未知或已使用。",
                    "The RelayState is unknown or was already used."
                ))
            ),
        );
    };
    let Some(partner) = sim.partner(&pending.x_account_type) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let acs = sim.acs_url();
    let expected = acs::Expected {
        idp: &partner.idp,
        entity_id: &sim.entity_id,
        acs: &acs,
        request_id: &pending.request_id,
        now: (sim.now)(),
    };
    let (checks, login) = acs::validate(
        form.get("SAMLResponse").map_or("", String::as_str),
        &expected,
    );
    let Some(login) = login else {
        return checks_page(lang, &checks);
    };
    let uid = login.attribute("xUserId").to_owned();
    let known = sim
        .state()
        .accounts
        .get(&(pending.x_account_type.clone(), uid.clone()))
        .cloned();
    if pending.first_login {
        let Ok(token) = random::token() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        sim.state().choices.insert(
            token.clone(),
            Choice {
                x_account_type: pending.x_account_type.clone(),
                login,
            },
        );
        return choice_page(lang, &token);
    }
    // Not a first login: the partner says the account is bound; use it (or the one the API made).
    let account = known.unwrap_or_else(|| Account {
        domain_id: random::hex(16).unwrap_or_default(),
        domain_name: format!("hw_{}", &random::hex(4).unwrap_or_default()),
    });
    sim.state()
        .accounts
        .insert((pending.x_account_type.clone(), uid), account.clone());
    open_console(
        &sim,
        Console {
            x_account_type: pending.x_account_type,
            login,
            account,
            via_bind: false,
        },
        &pending.service,
    )
}

fn checks_page(lang: Lang, checks: &[acs::Check]) -> Response {
    let mut rows = String::new();
    for c in checks {
        let (class, mark) = if c.ok {
            ("ok", lang.pick("通过", "PASS"))
        } else {
            ("fail", lang.pick("失败", "FAIL"))
        };
        rows.push_str(&format!(
            "<li><span class=\"{class}\">{mark}</span> <strong>{}</strong><br><span class=\"muted\">{}</span></li>",
            escape(c.name),
            escape(&c.detail)
        ));
    }
    let title = lang.pick("SAML 响应被拒绝", "SAML Response rejected");
    page(
        lang,
        StatusCode::BAD_REQUEST,
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><ul class=\"checks\">{rows}</ul>",
            escape(title),
            escape(lang.pick(
                "以下检查未通过：",
                "These are the checks the simulated Huawei ACS ran:"
            ))
        ),
    )
}

fn choice_page(lang: Lang, token: &str) -> Response {
    let title = lang.pick("关联华为云账号", "Link a Huawei Cloud account");
    let body = format!(
        "<h1>{}</h1><p>{}</p>\
         <form method=\"post\" action=\"/authui/bind\"><input type=\"hidden\" name=\"token\" value=\"{t}\"><input type=\"hidden\" name=\"choice\" value=\"create\"><button type=\"submit\" id=\"create-account\">{}</button></form>\
         <p></p><form method=\"post\" action=\"/authui/bind\"><input type=\"hidden\" name=\"token\" value=\"{t}\"><input type=\"hidden\" name=\"choice\" value=\"bind\"><label>{} <input name=\"account\" value=\"existing_user\"></label> <button type=\"submit\" id=\"bind-account\">{}</button></form>",
        escape(title),
        escape(lang.pick("这是您第一次从合作伙伴平台登录。请创建新的华为云账号，或关联已有账号。", "This is your first sign-in from the partner platform. Create a new Huawei Cloud account or link an existing one.")),
        escape(lang.pick("创建新的华为云账号", "Create a new Huawei Cloud account")),
        escape(lang.pick("已有账号：", "Existing account:")),
        escape(lang.pick("关联已有账号", "Link the existing account")),
        t = escape(token),
    );
    page(lang, StatusCode::OK, title, &body)
}

/// `POST /authui/bind`: records the choice, then sends the signed bind-result notification
/// through the browser to the partner's 通知结果绑定地址.
async fn bind_choice(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::of(&headers);
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let choice = form
        .get("token")
        .and_then(|t| sim.state().choices.remove(t));
    let Some(choice) = choice else {
        let title = lang.pick("操作已过期", "This step has expired");
        return page(
            lang,
            StatusCode::BAD_REQUEST,
            title,
            &format!("<h1>{}</h1>", escape(title)),
        );
    };
    let Some(partner) = sim.partner(&choice.x_account_type).cloned() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let uid = choice.login.attribute("xUserId").to_owned();
    let name = match form.get("choice").map(String::as_str) {
        Some("bind") => form
            .get("account")
            .cloned()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "existing_user".into()),
        _ => Some(choice.login.attribute("name").to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("hw_{}", random::hex(4).unwrap_or_default())),
    };
    let account = Account {
        domain_id: random::hex(16).unwrap_or_default(),
        domain_name: name,
    };
    sim.state().accounts.insert(
        (choice.x_account_type.clone(), uid.clone()),
        account.clone(),
    );
    let payload = serde_json::json!({
        "domainName": account.domain_name,
        "domainId": account.domain_id,
        "xUserId": uid,
        "bindAction": "0",
        "userName": account.domain_name,
        "userId": account.domain_id,
    });
    let bind_request = STANDARD.encode(payload.to_string());
    let Ok(signature) = sim.sign(bind_request.as_bytes()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let console = Console {
        x_account_type: choice.x_account_type,
        login: choice.login,
        account,
        via_bind: true,
    };
    let Some(cookie) = new_console(&sim, console) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut res = page::self_posting_form(
        lang,
        lang.pick("正在通知合作伙伴平台", "Notifying the partner platform"),
        lang.pick(
            "华为云正在把账号关联结果发送给合作伙伴平台。",
            "Huawei Cloud is sending the account-link result to the partner platform.",
        ),
        &partner.bind_result_url,
        &[
            ("bindRequest", &bind_request),
            ("SigAlg", ns::RSA_SHA256),
            ("Signature", &STANDARD.encode(signature)),
        ],
    );
    set_cookie(&mut res, &cookie);
    res
}

fn new_console(sim: &Simulator, console: Console) -> Option<String> {
    let cookie = random::token().ok()?;
    sim.state().consoles.insert(cookie.clone(), console);
    Some(cookie)
}

fn set_cookie(res: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn open_console(sim: &Simulator, console: Console, service: &str) -> Response {
    let Some(cookie) = new_console(sim, console) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // Huawei lands the user on `service`; the simulator only serves its own console pages.
    let target = if service.starts_with(&format!("{}/", sim.config.public_url)) {
        service.to_owned()
    } else {
        format!("{}/console", sim.config.public_url)
    };
    let mut res = redirect(&target);
    set_cookie(&mut res, &cookie);
    res
}

fn console_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| *n == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// `GET /console[/…]`: stands for the Huawei console, showing which account is signed in.
async fn console(State(sim): State<Arc<Simulator>>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = Lang::of(&headers);
    let session = console_cookie(&headers).and_then(|c| sim.state().consoles.get(&c).cloned());
    let Some(s) = session else {
        let title = lang.pick(
            "未登录华为云控制台",
            "Not signed in to the Huawei Cloud console",
        );
        return page(
            lang,
            StatusCode::OK,
            title,
            &format!("<h1>{}</h1>", escape(title)),
        );
    };
    let partner = sim.partner(&s.x_account_type);
    let order = format!("CS{}", random::hex(4).unwrap_or_default().to_uppercase());
    let mut links = String::new();
    if let Some(url) = partner.and_then(|p| p.payment_success_url.as_deref()) {
        links.push_str(&format!(
            "<li><a id=\"order-details\" href=\"{}\">{}</a></li>",
            escape(&with_query(url, &[("orderId", &order)])),
            escape(lang.pick(
                "订单支付成功：查看订单详情",
                "Order paid: view order details"
            ))
        ));
    }
    if let Some(url) = partner.and_then(|p| p.recharge_url.as_deref()) {
        links.push_str(&format!(
            "<li><a id=\"recharge\" href=\"{}\">{}</a></li>",
            escape(url),
            escape(lang.pick("余额不足：去充值", "Balance too low: top up"))
        ));
    }
    let mut attributes = String::new();
    for (name, value) in &s.login.attributes {
        attributes.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            escape(name),
            escape(value)
        ));
    }
    let title = lang.pick("华为云控制台（模拟）", "Huawei Cloud console (simulated)");
    let body = format!(
        "<h1>{}</h1><p id=\"account\">{} <strong id=\"domain-name\">{}</strong> <span class=\"muted\">(domain_id <code id=\"domain-id\">{}</code>)</span></p>\
         <p>{} <strong id=\"x-user-id\">{}</strong></p><p id=\"how\">{}</p><p class=\"muted\">{} <code>{}</code></p>\
         <table>{attributes}</table><ul>{links}</ul>\
         <form method=\"post\" action=\"/console-logout\"><button type=\"submit\" id=\"logout\">{}</button></form>",
        escape(title),
        escape(lang.pick("已登录华为云账号", "Signed in to Huawei Cloud account")),
        escape(&s.account.domain_name),
        escape(&s.account.domain_id),
        escape(lang.pick(
            "合作伙伴平台用户 xUserId：",
            "Partner platform user xUserId:"
        )),
        escape(s.login.attribute("xUserId")),
        escape(if s.via_bind {
            lang.pick(
                "首次登录：已创建或关联华为云账号（isFirstLogin=true）。",
                "First sign-in: a Huawei Cloud account was created or linked (isFirstLogin=true).",
            )
        } else {
            lang.pick(
                "直接登录，无需关联（isFirstLogin=false）。",
                "Signed in directly, no linking needed (isFirstLogin=false).",
            )
        }),
        escape(lang.pick("当前页面：", "Page:")),
        escape(uri.path()),
        escape(lang.pick("退出登录", "Log out")),
    );
    page(lang, StatusCode::OK, title, &body)
}

/// `POST /console-logout`: ends the console session and sends a signed LogoutRequest to the IdP.
async fn console_logout(State(sim): State<Arc<Simulator>>, headers: HeaderMap) -> Response {
    let lang = Lang::of(&headers);
    let session = console_cookie(&headers).and_then(|c| sim.state().consoles.remove(&c));
    let Some(s) = session else {
        return redirect("/console");
    };
    let Some(slo) = sim
        .partner(&s.x_account_type)
        .and_then(|p| p.idp.slo_url.clone())
    else {
        let title = lang.pick("已退出", "Signed out");
        return page(
            lang,
            StatusCode::OK,
            title,
            &format!("<h1>{}</h1>", escape(title)),
        );
    };
    let Ok(id) = random::huawei_style_id() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let xml = messages::logout_request(
        &id,
        &sim.entity_id,
        &slo,
        &s.login.name_id,
        &s.login.session_index,
        (sim.now)(),
    );
    let Ok(query) = encode_signed_query(MessageKind::Request, &xml, None, |d| sim.sign(d)) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    sim.state().logouts.insert(id, s.x_account_type);
    let mut res = redirect(&format!(
        "{slo}{}{query}",
        if slo.contains('?') { '&' } else { '?' }
    ));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// `GET /authui/saml/LogoutServiceHTTPRedirectResponse`: checks the IdP's signed LogoutResponse.
async fn logout_response(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let lang = Lang::of(&headers);
    let verdict = check_logout_response(&sim, uri.query().unwrap_or(""), (sim.now)());
    let (status, title, detail) = match verdict {
        Ok(()) => (StatusCode::OK, lang.pick("已退出登录", "You have signed out"), lang.pick("身份提供方已确认退出（LogoutResponse 签名有效，状态 Success）。", "The identity provider confirmed the logout (LogoutResponse signature valid, status Success).").to_owned()),
        Err(e) => (StatusCode::BAD_REQUEST, lang.pick("退出响应无效", "Invalid logout response"), e),
    };
    page(
        lang,
        status,
        title,
        &format!(
            "<h1 id=\"logout-result\">{}</h1><p>{}</p>",
            escape(title),
            escape(&detail)
        ),
    )
}

fn check_logout_response(sim: &Simulator, query: &str, now: OffsetDateTime) -> Result<(), String> {
    let received = redirect_check::RedirectResponse::parse(query)?;
    let root = inbound::parse(&received.xml).map_err(|e| e.to_string())?;
    if !root.is(ns::PROTOCOL, "LogoutResponse") {
        return Err("not a LogoutResponse".into());
    }
    let in_response_to = root.attr("InResponseTo").unwrap_or_default();
    let pending = sim.state().logouts.get(in_response_to).cloned();
    let x_account_type = pending.ok_or("InResponseTo matches no LogoutRequest we sent")?;
    let partner = sim.partner(&x_account_type).ok_or("unknown partner")?;
    let keys: Vec<_> = partner.idp.certs.iter().map(|(_, k)| k.clone()).collect();
    // Verify before consuming the pending logout, so a forged response cannot use it up.
    received.verify(&keys)?;
    let issuer = root
        .children_named(ns::ASSERTION, "Issuer")
        .next()
        .map(|i| i.trimmed_text().to_owned());
    if issuer.as_deref() != Some(partner.idp.entity_id.as_str()) {
        return Err("Issuer is not the IdP".into());
    }
    let issued = root
        .attr("IssueInstant")
        .and_then(saml::xml_time::parse)
        .ok_or("no IssueInstant")?;
    if (issued - now).abs() > time::Duration::minutes(5) {
        return Err("IssueInstant is outside the allowed window".into());
    }
    sim.state().logouts.remove(in_response_to);
    let status = root
        .children_named(ns::PROTOCOL, "Status")
        .next()
        .and_then(|s| s.children_named(ns::PROTOCOL, "StatusCode").next())
        .and_then(|c| c.attr("Value"));
    if status != Some(ns::STATUS_SUCCESS) {
        return Err("status is not Success".into());
    }
    if root.attr("Destination") != Some(&format!("{}{SLO_RESPONSE_PATH}", sim.config.public_url)) {
        return Err("Destination is not our SLO response URL".into());
    }
    Ok(())
}
