//! Test harness: a bridge configured from a real TOML file in a temp dir, a test SP with its own
//! key that signs AuthnRequests the way Huawei does, and helpers to drive the router in-process.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use openssl::x509::X509;
use saml::redirect::uri_component;
use sso_bridge::clock::{Clock, FixedClock};
use sso_bridge::config::Settings;
use sso_bridge::flow::Bridge;
use sso_bridge::store::Store;
use sso_bridge::store::memory::MemoryStore;
use sso_bridge::store::redis::RedisStore;
use std::io::Write as _;
use time::OffsetDateTime;
use tower::ServiceExt as _;

pub const PUBLIC_URL: &str = "https://idp.test";
pub const SSO_URL: &str = "https://idp.test/saml/sso";
pub const SP_ENTITY: &str = "https://sp.test/";
pub const ACS: &str = "https://sp.test/acs";
pub const ACS2: &str = "https://sp.test/acs2";
pub const LOGIN_URL: &str = "https://auth.sp.test/authui/saml/login";
pub const PARTNER_LOGIN: &str = "https://partner.test/login";
pub const PARTNER_LANDING: &str = "https://partner.test/welcome";
pub const PARTNER_LOGOUT: &str = "https://partner.test/logged-out";
pub const PAYMENT_SUCCESS: &str = "https://partner.test/orders/paid?from=huawei";
pub const RECHARGE: &str = "https://partner.test/wallet/top-up";
pub const API_KEY: &str = "test-api-key-0123456789";
/// The second site's SP (see [`TestEnv::two_sites`]).
pub const SP2_ENTITY: &str = "https://sp2.test/";
pub const SP2_ACS: &str = "https://sp2.test/acs";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Which store backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Redis,
}

/// Runs a test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$name($crate::support::Backend::Memory).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                super::$name($crate::support::Backend::Redis).await;
            }
        }
    };
}

pub fn redis_url() -> String {
    std::env::var("SSO_BRIDGE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// A temp dir removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "sso-bridge-{tag}-{}",
            sso_bridge::random::token().unwrap()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A service provider under test control: its key signs requests, its metadata is trusted.
pub struct TestSp {
    pub key: PKey<Private>,
    pub cert: X509,
}

impl TestSp {
    pub fn new() -> Self {
        let (key, cert) = sso_bridge::keys::generate(2048, 365, "test sp").unwrap();
        Self { key, cert }
    }

    pub fn metadata(&self) -> String {
        let cert = STANDARD.encode(self.cert.to_der().unwrap());
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{SP_ENTITY}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.test/slo" ResponseLocation="https://sp.test/slo-response"/>
    <md:NameIDFormat>
urn:oasis:names:tc:SAML:2.0:nameid-format:transient
</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{ACS}" index="0" isDefault="true"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{ACS2}" index="1"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }
}

/// An AuthnRequest shaped like Huawei's sample, with every part adjustable.
#[derive(Clone)]
pub struct AuthnSpec {
    pub id: String,
    pub issue_instant: OffsetDateTime,
    pub destination: Option<String>,
    pub acs_url: Option<String>,
    pub acs_index: Option<u16>,
    pub protocol_binding: Option<String>,
    pub issuer: String,
    pub issuer_ns: String,
    pub version: String,
    pub prolog: String,
    pub force_authn: bool,
}

impl AuthnSpec {
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            id: sso_bridge::random::xml_id().unwrap(),
            issue_instant: now,
            destination: Some(SSO_URL.into()),
            acs_url: Some(ACS.into()),
            acs_index: None,
            protocol_binding: Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST".into()),
            issuer: SP_ENTITY.into(),
            issuer_ns: "urn:oasis:names:tc:SAML:2.0:assertion".into(),
            version: "2.0".into(),
            prolog: r#"<?xml version="1.0" encoding="UTF-8"?>"#.into(),
            force_authn: false,
        }
    }

    pub fn xml(&self) -> String {
        let mut attrs = String::new();
        if let Some(a) = &self.acs_url {
            attrs.push_str(&format!(r#" AssertionConsumerServiceURL="{a}""#));
        }
        if let Some(i) = self.acs_index {
            attrs.push_str(&format!(r#" AssertionConsumerServiceIndex="{i}""#));
        }
        if let Some(d) = &self.destination {
            attrs.push_str(&format!(r#" Destination="{d}""#));
        }
        if let Some(b) = &self.protocol_binding {
            attrs.push_str(&format!(r#" ProtocolBinding="{b}""#));
        }
        format!(
            r#"{}<saml2p:AuthnRequest xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol"{attrs} ForceAuthn="{}" ID="{}" IsPassive="false" IssueInstant="{}" Version="{}"><saml2:Issuer xmlns:saml2="{}">{}</saml2:Issuer><saml2p:NameIDPolicy AllowCreate="true" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" SPNameQualifier="{SP_ENTITY}"/></saml2p:AuthnRequest>"#,
            self.prolog,
            self.force_authn,
            self.id,
            saml::xml_time::format(self.issue_instant),
            self.version,
            self.issuer_ns,
            self.issuer,
        )
    }
}

/// Raw-DEFLATE + base64 like Huawei's sender.
pub fn deflate_b64(xml: &[u8]) -> String {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(xml).unwrap();
    STANDARD.encode(e.finish().unwrap())
}

/// Signs `SAMLRequest=…[&RelayState=…]&SigAlg=…` as given and appends `&Signature=…`.
pub fn sign_query(key: &PKey<Private>, unsigned: &str, digest: MessageDigest) -> String {
    let mut s = Signer::new(digest, key).unwrap();
    s.update(unsigned.as_bytes()).unwrap();
    format!(
        "{unsigned}&Signature={}",
        uri_component(&STANDARD.encode(s.sign_to_vec().unwrap()))
    )
}

/// A signed redirect-binding query for `xml`.
pub fn signed_query(key: &PKey<Private>, xml: &str, relay_state: Option<&str>) -> String {
    let mut q = format!(
        "SAMLRequest={}",
        uri_component(&deflate_b64(xml.as_bytes()))
    );
    if let Some(r) = relay_state {
        q.push_str(&format!("&RelayState={}", uri_component(r)));
    }
    q.push_str(&format!("&SigAlg={}", uri_component(RSA_SHA256)));
    sign_query(key, &q, MessageDigest::sha256())
}

/// A bridge under test.
pub struct TestEnv {
    pub dir: TempDir,
    pub sp: TestSp,
    pub settings: Arc<Settings>,
    pub bridge: Arc<Bridge>,
    pub clock: Arc<FixedClock>,
    pub router: Router,
    pub backend: Backend,
    pub prefix: String,
}

/// Rewrites a config file's text.
pub type ConfigEdit = Box<dyn Fn(String) -> String>;
/// Prepares files in the config directory.
pub type DirSetup = Box<dyn Fn(&Path)>;

pub struct EnvOptions {
    pub backend: Backend,
    pub prefix: Option<String>,
    pub extra_idp: String,
    pub now: OffsetDateTime,
    pub sp_metadata: Option<String>,
    pub sp_key: Option<TestSp>,
    /// Rewrites the generated config file before it is loaded.
    pub edit: Option<ConfigEdit>,
    /// Writes extra files into the config directory before it is loaded.
    pub pre_load: Option<DirSetup>,
    /// The bridge's XML ids (random when `None`).
    pub ids: Option<Arc<dyn sso_bridge::ids::XmlIds>>,
}

impl EnvOptions {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            prefix: None,
            extra_idp: String::new(),
            now: OffsetDateTime::now_utc(),
            sp_metadata: None,
            sp_key: None,
            edit: None,
            pre_load: None,
            ids: None,
        }
    }
}

/// Writes the IdP key pair and a config file into `dir`; returns the config path.
pub fn write_config(
    dir: &Path,
    sp_metadata: &str,
    extra_idp: &str,
    backend: Backend,
    prefix: &str,
) -> PathBuf {
    let (key, cert) = sso_bridge::keys::generate(2048, 365, "test idp").unwrap();
    sso_bridge::keys::write_new(&dir.join("idp.key"), &dir.join("idp.crt"), &key, &cert).unwrap();
    std::fs::write(dir.join("sp.xml"), sp_metadata).unwrap();
    let hash = sso_bridge::random::hex(&openssl::sha::sha256(API_KEY.as_bytes()));
    let backend = match backend {
        Backend::Memory => "memory",
        Backend::Redis => "redis",
    };
    let config = format!(
        r#"
listen = "127.0.0.1:0"
public_url = "{PUBLIC_URL}"

[idp]
key_file = "idp.key"
cert_file = "idp.crt"
bp_id = "bp-<&>-伙伴"
{extra_idp}

[store]
backend = "{backend}"
redis_url = "{redis}"
key_prefix = "{prefix}"

[partner]
login_url = "{PARTNER_LOGIN}"
landing_url = "{PARTNER_LANDING}"
logout_url = "{PARTNER_LOGOUT}"
api_key_sha256 = ["{hash}"]

[[sites]]
name = "cn"
x_account_type = "partnerX"
sp_metadata_file = "sp.xml"
login_url = "{LOGIN_URL}"
default_service = "https://console.sp.test/"
allowed_service_hosts = ["console.sp.test", "activity.sp.test"]
payment_success_url = "{PAYMENT_SUCCESS}"
recharge_url = "{RECHARGE}"
return_params = ["orderId", "amount"]
"#,
        redis = redis_url(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    path
}

impl TestEnv {
    pub async fn new(backend: Backend) -> Self {
        Self::with(EnvOptions::new(backend)).await
    }

    /// A bridge with a second site `intl` whose SP (`SP2_ENTITY`, its own key, returned) differs
    /// from the China site's.
    pub async fn two_sites(backend: Backend) -> (Self, TestSp) {
        let sp2 = TestSp::new();
        let md2 = sp2
            .metadata()
            .replace(SP_ENTITY, SP2_ENTITY)
            .replace(ACS2, "https://sp2.test/acs-other")
            .replace(ACS, SP2_ACS)
            .replace("https://sp.test/slo", "https://sp2.test/slo");
        let mut o = EnvOptions::new(backend);
        o.edit = Some(Box::new(|c: String| {
            format!(
                "{c}\n[[sites]]\nname = \"intl\"\nx_account_type = \"partnerIntl\"\nsp_metadata_file = \"sp2.xml\"\nlogin_url = \"https://auth-intl.sp.test/authui/saml/login\"\ndefault_service = \"https://console-intl.sp.test/\"\n"
            )
        }));
        o.pre_load = Some(Box::new(move |dir: &Path| {
            std::fs::write(dir.join("sp2.xml"), &md2).unwrap()
        }));
        (Self::with(o).await, sp2)
    }

    pub async fn with(o: EnvOptions) -> Self {
        let dir = TempDir::new("env");
        let sp = o.sp_key.unwrap_or_else(TestSp::new);
        let prefix = o
            .prefix
            .unwrap_or_else(|| format!("test-{}", &sso_bridge::random::token().unwrap()[..12]));
        let metadata = o.sp_metadata.unwrap_or_else(|| sp.metadata());
        let path = write_config(dir.path(), &metadata, &o.extra_idp, o.backend, &prefix);
        if let Some(pre_load) = &o.pre_load {
            pre_load(dir.path());
        }
        if let Some(edit) = &o.edit {
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, edit(text)).unwrap();
        }
        let settings = Arc::new(Settings::load(&path, &|_| None).unwrap());
        let clock = Arc::new(FixedClock::new(o.now));
        let store = make_store(&settings, o.backend, clock.clone());
        if o.backend == Backend::Redis {
            store
                .ping()
                .await
                .expect("Redis-backed tests need a Redis server (set SSO_BRIDGE_TEST_REDIS_URL or start one on 127.0.0.1:6379)");
        }
        let mut bridge =
            Bridge::new(settings.clone(), store, clock.clone() as Arc<dyn Clock>).unwrap();
        if let Some(ids) = o.ids {
            bridge = bridge.with_ids(ids);
        }
        let bridge = Arc::new(bridge);
        let router = sso_bridge::web::router(bridge.clone());
        Self {
            dir,
            sp,
            settings,
            bridge,
            clock,
            router,
            backend: o.backend,
            prefix,
        }
    }

    /// A second bridge process on the same store (same config, same Redis prefix).
    pub fn sibling(&self) -> (Arc<Bridge>, Router) {
        let store = make_store(&self.settings, self.backend, self.clock.clone());
        let bridge = Arc::new(
            Bridge::new(
                self.settings.clone(),
                store,
                self.clock.clone() as Arc<dyn Clock>,
            )
            .unwrap(),
        );
        let router = sso_bridge::web::router(bridge.clone());
        (bridge, router)
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn authn(&self) -> AuthnSpec {
        AuthnSpec::new(self.now())
    }

    pub fn signed(&self, spec: &AuthnSpec, relay: Option<&str>) -> String {
        signed_query(&self.sp.key, &spec.xml(), relay)
    }

    /// Everything the store holds now (keys and contents), for "nothing changed" assertions.
    pub async fn snapshot(&self) -> Vec<String> {
        match &self.bridge.store {
            Store::Memory(m) => m.snapshot(),
            Store::Redis(_) => redis_snapshot(&self.prefix).await,
        }
    }

    pub async fn get(&self, uri: &str, cookie: Option<&str>) -> TestResponse {
        call(&self.router, get_request(uri, cookie, None)).await
    }

    /// Sends a new, validly signed AuthnRequest (fresh ID) with an optional session cookie.
    pub async fn fresh_sso(&self, cookie: Option<&str>) -> TestResponse {
        self.get(
            &format!("/saml/sso?{}", self.signed(&self.authn(), None)),
            cookie,
        )
        .await
    }

    pub async fn get_lang(&self, uri: &str, lang: &str) -> TestResponse {
        call(&self.router, get_request(uri, None, Some(lang))).await
    }

    pub async fn post_json(&self, uri: &str, key: Option<&str>, body: &str) -> TestResponse {
        post_json(&self.router, uri, key, body).await
    }

    /// An authenticated API call with an optional body of `content_type`.
    pub async fn api(&self, method: &str, uri: &str, body: Option<(&str, &str)>) -> TestResponse {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {API_KEY}"));
        let body = match body {
            Some((content_type, text)) => {
                b = b.header(header::CONTENT_TYPE, content_type);
                Body::from(text.to_owned())
            }
            None => Body::empty(),
        };
        call(&self.router, b.body(body).unwrap()).await
    }

    /// `PUT` a mapping through the API.
    pub async fn put_mapping(
        &self,
        x_user_id: &str,
        domain_id: &str,
        domain_name: &str,
    ) -> TestResponse {
        let body =
            serde_json::json!({"domain_id": domain_id, "domain_name": domain_name}).to_string();
        self.api(
            "PUT",
            &format!("/api/v1/sites/cn/mappings/{}", uri_component(x_user_id)),
            Some(("application/json", &body)),
        )
        .await
    }

    /// A form POST (the browser's bind-result notification), optionally with a cookie.
    pub async fn post_form(&self, uri: &str, body: &str, cookie: Option<&str>) -> TestResponse {
        let mut b =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, format!("__Host-sso_bridge_session={c}"));
        }
        call(&self.router, b.body(Body::from(body.to_owned())).unwrap()).await
    }

    /// Creates a ticket through the API and returns the `/sso/start` path+query.
    pub async fn ticket(&self, body: serde_json::Value) -> String {
        let res = self
            .post_json("/api/v1/login-tickets", Some(API_KEY), &body.to_string())
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let url = res.json()["url"].as_str().unwrap().to_owned();
        url.strip_prefix(PUBLIC_URL).unwrap().to_owned()
    }

    /// Logs `x_user_id` in: ticket → /sso/start (confirming on the first-login page when it
    /// shows); returns the session cookie value. The session has just jumped to Huawei, so an
    /// AuthnRequest within the jump window is answered at once.
    pub async fn login(&self, body: serde_json::Value) -> String {
        let start = self.ticket(body).await;
        let res = self.get(&start, None).await;
        let cookie = res.session_cookie().expect("session cookie");
        if res.status == StatusCode::OK && res.body.contains("/sso/confirm") {
            let next = self.confirm(&cookie, &res.body, "continue").await;
            assert_eq!(next.status, StatusCode::SEE_OTHER, "{}", next.body);
        } else {
            assert_eq!(res.status, StatusCode::FOUND, "{}", res.body);
        }
        cookie
    }

    /// Redeems a ticket (`/sso/start` path) and, when the first-login confirmation page shows,
    /// continues on it: the response is the redirect to Huawei or the auto-POST answer. Returns
    /// it with the session cookie.
    pub async fn redeem(&self, start: &str) -> (TestResponse, String) {
        let res = self.get(start, None).await;
        let cookie = res.session_cookie().expect("session cookie");
        if res.status == StatusCode::OK && res.body.contains("/sso/confirm") {
            return (self.confirm(&cookie, &res.body, "continue").await, cookie);
        }
        (res, cookie)
    }

    /// Answers a confirmation page (`continue` or `cancel`) with its own hidden fields.
    pub async fn confirm(&self, cookie: &str, page: &str, action: &str) -> TestResponse {
        let mut body = format!("action={action}");
        for name in ["csrf", "state"] {
            if let Some(v) = form_value(page, name) {
                body.push_str(&format!("&{name}={}", uri_component(&v)));
            }
        }
        self.post_form("/sso/confirm", &body, Some(cookie)).await
    }
}

pub fn make_store(settings: &Settings, backend: Backend, clock: Arc<FixedClock>) -> Store {
    match backend {
        Backend::Memory => Store::Memory(MemoryStore::new(clock)),
        Backend::Redis => {
            Store::Redis(RedisStore::connect(&redis_url(), &settings.key_prefix).unwrap())
        }
    }
}

fn get_request(uri: &str, cookie: Option<&str>, lang: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(c) = cookie {
        b = b.header(
            header::COOKIE,
            format!("sso_bridge_session=x; __Host-sso_bridge_session={c}"),
        );
    }
    if let Some(l) = lang {
        b = b.header(header::ACCEPT_LANGUAGE, l);
    }
    b.body(Body::empty()).unwrap()
}

pub async fn post_json(router: &Router, uri: &str, key: Option<&str>, body: &str) -> TestResponse {
    let mut b = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
    }
    call(router, b.body(Body::from(body.to_owned())).unwrap()).await
}

pub async fn call(router: &Router, req: Request<Body>) -> TestResponse {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 4 * 1024 * 1024)
        .await
        .unwrap();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get_on(router: &Router, uri: &str, cookie: Option<&str>) -> TestResponse {
    call(router, get_request(uri, cookie, None)).await
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    pub fn location(&self) -> String {
        self.header("location").expect("Location header")
    }

    pub fn session_cookie(&self) -> Option<String> {
        let v = self.header("set-cookie")?;
        let first = v.split(';').next()?;
        first.split_once('=').map(|(_, v)| v.to_owned())
    }

    /// The error code shown on an error page or in a JSON error.
    pub fn error_code(&self) -> String {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&self.body) {
            return v["error"]["code"].as_str().unwrap_or_default().to_owned();
        }
        let start = self
            .body
            .find("<code>")
            .map(|i| i + 6)
            .expect("error page with a code");
        let end = self.body[start..].find("</code>").unwrap() + start;
        self.body[start..end].to_owned()
    }

    /// `(SAMLResponse XML, RelayState)` from an auto-POST page.
    pub fn saml_post(&self) -> (String, Option<String>) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        let b64 = form_value(&self.body, "SAMLResponse").expect("SAMLResponse field");
        let xml = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        (xml, form_value(&self.body, "RelayState"))
    }

    pub fn saml_response_b64(&self) -> String {
        form_value(&self.body, "SAMLResponse").expect("SAMLResponse field")
    }
}

/// Reads `<input … name="NAME" value="…">` and unescapes the value.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The query string value `name` of a URL (percent-decoded).
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|p| {
        let (n, v) = p.split_once('=')?;
        (n == name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
    })
}

/// Keys under `prefix` with their type and contents, sorted.
pub async fn redis_snapshot(prefix: &str) -> Vec<String> {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let contents: String = match kind.as_str() {
            "string" => redis::cmd("GET")
                .arg(&key)
                .query_async::<Vec<u8>>(&mut conn)
                .await
                .map(|v| format!("{v:?}"))
                .unwrap(),
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async::<Vec<String>>(&mut conn)
                .await
                .map(|v| format!("{v:?}"))
                .unwrap(),
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async::<Vec<String>>(&mut conn)
                .await
                .map(|v| format!("{v:?}"))
                .unwrap(),
            "set" => redis::cmd("SMEMBERS")
                .arg(&key)
                .query_async::<Vec<String>>(&mut conn)
                .await
                .map(|mut v| {
                    v.sort();
                    format!("{v:?}")
                })
                .unwrap(),
            "stream" => redis::cmd("XLEN")
                .arg(&key)
                .query_async::<u64>(&mut conn)
                .await
                .map(|n| n.to_string())
                .unwrap(),
            other => other.to_owned(),
        };
        out.push(format!("{key} {kind} {contents}"));
    }
    out
}

/// A test peer's Python venv under `<target>/peers/` (`venv`: pysaml2, `st-venv`: schemathesis),
/// created or brought up to date by `scripts/setup-peers.sh`.
pub fn peer_venv(name: &str) -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = std::process::Command::new("bash")
        .arg(repo.join("scripts/setup-peers.sh"))
        .status()
        .expect("run scripts/setup-peers.sh");
    assert!(
        status.success(),
        "scripts/setup-peers.sh failed (needs python3-venv and PyPI)"
    );
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo.join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        repo.join(target)
    };
    target.join("peers").join(name)
}

/// A 429 `too_many_requests` that says when to retry (within the minute of the limit).
pub fn assert_rate_limited(res: &TestResponse) {
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
        "{}",
        res.body
    );
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}
