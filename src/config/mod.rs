//! Configuration: one TOML file (every key documented in `deploy/config.example.toml`), then
//! environment variables for secrets and addresses, validated once at start-up into [`Settings`].
//! Every error names the key it is about.
//!
//! `file.rs` is the shape of the file and `env.rs` the environment overrides, in one table. Each
//! section has its own validator, run in this order by `from_file`: `server.rs` (`listen`,
//! `public_url`), `idp.rs`, `store.rs`, `sessions.rs`, `partner.rs`, `limits.rs`, `sites.rs`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openssl::sha::sha256;
use openssl::x509::X509;
use time::Duration;
use url::Url;

mod env;
mod file;
mod idp;
mod limits;
mod partner;
mod server;
mod sessions;
mod sites;
mod store;

pub use sites::SiteName;

use file::{
    FileConfig, SessionsFile, default_api_per_key, default_event_log_max_len,
    default_header_read_timeout, default_key_prefix, default_max_connections,
    default_request_timeout, default_saml_per_client,
};

use crate::keys;
use saml::signer::XmlSigner;
use saml::sp_metadata::ServiceProvider;

/// The China-site SP metadata shipped in `metadata/`, used by the embedded default.
pub const HUAWEI_CN_SP_METADATA: &[u8] = include_bytes!("../../metadata/huawei-cn-sp-metadata.xml");
/// Huawei's China-site login URL (docs/protocol.md §Login-link).
pub const HUAWEI_CN_LOGIN_URL: &str = "https://auth.huaweicloud.com/authui/saml/login";

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Dotted key, e.g. `idp.key_file` or `sites[0].sp_metadata_file`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(key: impl Into<String>, message: impl std::fmt::Display) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.to_string(),
    }
}

/// Request limits (see the README's production section).
#[derive(Debug, Clone)]
pub struct Limits {
    /// SAML requests (`/saml/sso`, `/saml/slo`) per client address and minute; 0 = unlimited.
    pub saml_requests_per_minute_per_client: u32,
    /// Header carrying the client address set by a trusted reverse proxy (e.g. `x-real-ip`);
    /// `None` = the TCP peer address.
    pub client_address_header: Option<axum::http::HeaderName>,
    /// Partner API requests per API key and minute; 0 = unlimited.
    pub api_requests_per_minute_per_key: u32,
    /// Time allowed for a request's headers (and for the next one on an idle connection).
    pub header_read_timeout: std::time::Duration,
    /// Time allowed for a whole request, body included.
    pub request_timeout: std::time::Duration,
    /// Most open connections.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            saml_requests_per_minute_per_client: default_saml_per_client(),
            client_address_header: None,
            api_requests_per_minute_per_key: default_api_per_key(),
            header_read_timeout: std::time::Duration::from_secs(
                default_header_read_timeout().into(),
            ),
            request_timeout: std::time::Duration::from_secs(default_request_timeout().into()),
            max_connections: default_max_connections(),
        }
    }
}

/// Store backend choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// In-process maps; one process only, lost on restart.
    Memory,
    /// Redis at this URL.
    Redis(String),
}

/// Our identity as an IdP.
#[derive(Debug, Clone)]
pub struct IdpSettings {
    /// entityID published in metadata and used as Issuer.
    pub entity_id: String,
    /// Signs assertions.
    pub signer: Arc<XmlSigner>,
    /// Current certificate.
    pub cert: X509,
    /// Next certificate, published in metadata ahead of a rollover.
    pub next_cert: Option<X509>,
    /// `bpId` attribute value.
    pub bp_id: String,
    /// Assertion validity after issue.
    pub assertion_lifetime: Duration,
    /// Allowed clock difference with Huawei.
    pub clock_skew: Duration,
    /// Oldest AuthnRequest accepted.
    pub request_max_age: Duration,
    /// Also sign the Response element.
    pub sign_response: bool,
}

/// How long things live.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Login ticket.
    pub ticket: Duration,
    /// Session idle timeout.
    pub session_idle: Duration,
    /// Session absolute timeout.
    pub session_absolute: Duration,
    /// Parked AuthnRequest waiting for the partner login.
    pub pending_request: Duration,
    /// How long after the bridge sent a browser to Huawei an AuthnRequest in that session is
    /// answered without asking the customer (docs/security.md A23).
    pub jump_window: Duration,
    /// How long after an assertion Huawei's bind-result notification may change the mapping
    /// of that session's user (docs/security.md A15).
    pub bind_window: Duration,
    /// Most AuthnRequests parked at once; beyond it a request that would be parked gets 503
    /// and nothing is stored (bounded state under a flood of valid requests).
    pub max_parked_requests: usize,
}

/// One Huawei site (e.g. China, International).
#[derive(Debug, Clone)]
pub struct Site {
    /// Short name used in the API and URLs (`cn`, `intl`).
    pub name: SiteName,
    /// Partner platform id Huawei assigned for this site.
    pub x_account_type: String,
    /// Huawei's SP for this site.
    pub sp: Arc<ServiceProvider>,
    /// Huawei's login URL the browser is sent to.
    pub login_url: Url,
    /// `service` when the ticket names none.
    pub default_service: Url,
    /// Hosts a `service` target may point to.
    pub allowed_service_hosts: Vec<String>,
    /// Partner page for Huawei's "order paid" return link (docs/protocol.md §Return-links).
    pub payment_success_url: Option<Url>,
    /// Partner page for Huawei's "top up" return link (docs/protocol.md §Return-links).
    pub recharge_url: Option<Url>,
    /// Query parameters passed through on return redirects; all others are dropped.
    pub return_params: Vec<String>,
}

impl AsRef<ServiceProvider> for Site {
    fn as_ref(&self) -> &ServiceProvider {
        &self.sp
    }
}

/// SHA-256 of the partner API key that release 0.1's demo used for every run and published in
/// its README. Anyone may know that key, so it is refused wherever it appears: as a configured
/// hash, as `SSO_BRIDGE_DEV_API_KEY`, and by the API. Only the digest is kept, so no build
/// carries the key; today's demo makes a new key for each run.
const RETIRED_DEMO_KEY_SHA256: [u8; 32] = [
    0x28, 0xbf, 0x7f, 0x91, 0xdf, 0xdf, 0x28, 0xc2, 0xe7, 0xfb, 0xda, 0x7c, 0xba, 0xda, 0xdf, 0x35,
    0x5a, 0x5e, 0xa5, 0x19, 0xf9, 0x77, 0xe9, 0x3d, 0x25, 0x1f, 0x81, 0x3f, 0x31, 0xa8, 0x20, 0x86,
];

/// True when `hash` is the SHA-256 of the published 0.1 demo key.
pub fn is_retired_demo_key_hash(hash: &[u8; 32]) -> bool {
    openssl::memcmp::eq(hash, &RETIRED_DEMO_KEY_SHA256)
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Socket address to listen on.
    pub listen: SocketAddr,
    /// Public base URL, without trailing slash.
    pub public_url: String,
    /// Allows http URLs and non-Secure cookies; nothing else.
    pub dev_mode: bool,
    /// IdP identity and keys.
    pub idp: IdpSettings,
    /// Store backend.
    pub backend: Backend,
    /// Prefix for every Redis key.
    pub key_prefix: String,
    /// Lifetimes.
    pub lifetimes: Lifetimes,
    /// Ask a customer without a mapping to confirm who they are before the first jump
    /// (docs/security.md A16).
    pub first_login_confirmation: bool,
    /// Request limits.
    pub limits: Limits,
    /// Partner platform login page (receives `resume=`).
    pub partner_login_url: Url,
    /// Where a bind-result notification ends when the browser has no matching session.
    pub partner_landing_url: Url,
    /// Where single logout without SAML parameters ends.
    pub partner_logout_url: Url,
    /// Approximate bound of the event log.
    pub event_log_max_len: u64,
    /// SHA-256 hashes of accepted partner API keys.
    pub api_key_hashes: Vec<[u8; 32]>,
    /// Sites, the first is the default.
    pub sites: Vec<Site>,
    /// Non-fatal findings to log at start-up.
    pub warnings: Vec<String>,
}

impl Settings {
    /// `<public URL>/saml/sso`.
    pub fn sso_url(&self) -> String {
        format!("{}/saml/sso", self.public_url)
    }

    /// `<public URL>/saml/slo`.
    pub fn slo_url(&self) -> String {
        format!("{}/saml/slo", self.public_url)
    }

    /// `<public URL>/saml/metadata`.
    pub fn metadata_url(&self) -> String {
        format!("{}/saml/metadata", self.public_url)
    }

    /// `<public URL>/huawei/<site>/bind-result`, the notification URL for the Partner Center.
    pub fn bind_result_url(&self, site: &str) -> String {
        format!("{}/huawei/{site}/bind-result", self.public_url)
    }

    /// `<public URL>/return/<site>/<kind>`, a return URL for the Partner Center.
    pub fn return_url(&self, site: &str, kind: &str) -> String {
        format!("{}/return/{site}/{kind}", self.public_url)
    }

    /// The site named `name`, or the default site for `None`.
    pub fn site(&self, name: Option<&str>) -> Option<&Site> {
        match name {
            None => self.sites.first(),
            Some(n) => self.sites.iter().find(|s| s.name == n),
        }
    }

    /// The site whose SP has this entityID.
    pub fn site_by_sp(&self, entity_id: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.sp.entity_id == entity_id)
    }

    /// Loads and validates a configuration file, then applies `env` overrides.
    pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err("config", format!("{}: {e}", path.display())))?;
        let file: FileConfig =
            toml::from_str(&text).map_err(|e| err("config", format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        from_file(file, base, env)
    }

    /// The embedded default: dev mode on `listen`, in-memory store, a freshly generated key, the
    /// China site with Huawei's shipped metadata, and the given API key (never 0.1's published
    /// demo key).
    pub fn embedded(listen: SocketAddr, api_key: &str) -> Result<Self, ConfigError> {
        if is_retired_demo_key_hash(&sha256(api_key.as_bytes())) {
            return Err(err(
                "SSO_BRIDGE_DEV_API_KEY",
                "is the published demo key; choose a key of your own (at least 16 characters)",
            ));
        }
        let public_url = format!("http://{listen}");
        let (key, cert) =
            keys::generate(2048, 3650, "sso-bridge dev").map_err(|e| err("idp.key_file", e))?;
        let signer = XmlSigner::new(key, &cert).map_err(|e| err("idp.key_file", e))?;
        let sp = ServiceProvider::from_metadata(HUAWEI_CN_SP_METADATA, true)
            .map_err(|e| err("sites[0].sp_metadata_file", e))?;
        let url = |s: &str, key: &str| Url::parse(s).map_err(|e| err(key, e));
        Ok(Self {
            listen,
            idp: IdpSettings {
                entity_id: format!("{public_url}/saml/metadata"),
                signer: Arc::new(signer),
                cert,
                next_cert: None,
                bp_id: String::new(),
                assertion_lifetime: Duration::seconds(300),
                clock_skew: Duration::seconds(120),
                request_max_age: Duration::seconds(300),
                sign_response: false,
            },
            backend: Backend::Memory,
            key_prefix: default_key_prefix(),
            lifetimes: sessions::lifetimes(&SessionsFile::default()),
            first_login_confirmation: true,
            limits: Limits::default(),
            partner_login_url: url(&format!("{public_url}/"), "partner.login_url")?,
            partner_landing_url: url(&format!("{public_url}/"), "partner.landing_url")?,
            partner_logout_url: url(&format!("{public_url}/"), "partner.logout_url")?,
            event_log_max_len: default_event_log_max_len(),
            api_key_hashes: vec![sha256(api_key.as_bytes())],
            sites: vec![Site {
                name: SiteName::parse("cn").ok_or_else(|| err("sites", "bad built-in name"))?,
                x_account_type: "sso-bridge-dev".into(),
                sp: Arc::new(sp),
                login_url: url(HUAWEI_CN_LOGIN_URL, "sites[0].login_url")?,
                default_service: url(
                    "https://console.huaweicloud.com/",
                    "sites[0].default_service",
                )?,
                allowed_service_hosts: vec!["console.huaweicloud.com".into()],
                payment_success_url: None,
                recharge_url: None,
                return_params: Vec::new(),
            }],
            public_url,
            dev_mode: true,
            warnings: vec![
                "running on the embedded default (dev mode, in-memory store, generated key)".into(),
            ],
        })
    }
}

/// Parses a URL for `key`; outside dev mode it must be https.
fn checked_url(key: &str, raw: &str, dev_mode: bool) -> Result<Url, ConfigError> {
    let url =
        Url::parse(raw).map_err(|e| err(key, format!("{raw:?} is not an absolute URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if dev_mode => {}
        "http" => {
            return Err(err(
                key,
                format!("{raw:?} must be https (http is allowed only with dev_mode = true)"),
            ));
        }
        other => return Err(err(key, format!("{raw:?} has scheme {other:?}; use https"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(err(key, format!("{raw:?} has no host")));
    }
    Ok(url)
}

/// A path from the file: relative paths are relative to the file's directory.
fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Applies the environment to the parsed file, then validates it one section at a time, in this
/// order: the first error ends it, and warnings are collected in the same order.
fn from_file(
    mut f: FileConfig,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    env::apply(&mut f, env);
    let dev_mode = f.dev_mode;
    let mut warnings = Vec::new();
    let server = server::validate(f.listen, f.public_url, dev_mode)?;
    let idp = idp::validate(f.idp, base, &server.public_url, &mut warnings)?;
    let store = store::validate(f.store, dev_mode, &mut warnings)?;
    let sessions = sessions::validate(&f.sessions)?;
    let partner = partner::validate(f.partner, dev_mode, &mut warnings)?;
    let limits = limits::validate(&f.limits)?;
    let sites = sites::validate(&f.sites, base, dev_mode, &mut warnings)?;
    Ok(Settings {
        listen: server.listen,
        public_url: server.public_url,
        dev_mode,
        idp,
        backend: store.backend,
        key_prefix: store.key_prefix,
        lifetimes: sessions.lifetimes,
        first_login_confirmation: sessions.first_login_confirmation,
        limits,
        partner_login_url: partner.login_url,
        partner_landing_url: partner.landing_url,
        partner_logout_url: partner.logout_url,
        event_log_max_len: store.event_log_max_len,
        api_key_hashes: partner.api_key_hashes,
        sites,
        warnings,
    })
}

/// Parses 64 hex characters.
pub fn parse_sha256_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
