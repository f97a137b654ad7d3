//! Configuration: one TOML file (every key documented in `deploy/config.example.toml`), then
//! environment variables for secrets and addresses, validated once at start-up into [`Settings`].
//! Every error names the key it is about.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openssl::sha::sha256;
use openssl::x509::X509;
use time::Duration;
use url::Url;

mod env;
mod file;

use file::{
    FileConfig, SessionsFile, SiteFile, default_api_per_key, default_event_log_max_len,
    default_header_read_timeout, default_key_prefix, default_max_connections,
    default_request_timeout, default_saml_per_client,
};

use crate::fields;
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
    pub name: String,
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
            lifetimes: lifetimes(&SessionsFile::default()),
            first_login_confirmation: true,
            limits: Limits::default(),
            partner_login_url: url(&format!("{public_url}/"), "partner.login_url")?,
            partner_landing_url: url(&format!("{public_url}/"), "partner.landing_url")?,
            partner_logout_url: url(&format!("{public_url}/"), "partner.logout_url")?,
            event_log_max_len: default_event_log_max_len(),
            api_key_hashes: vec![sha256(api_key.as_bytes())],
            sites: vec![Site {
                name: "cn".into(),
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

fn lifetimes(s: &SessionsFile) -> Lifetimes {
    let secs = |n: u32| Duration::seconds(i64::from(n));
    Lifetimes {
        ticket: secs(s.ticket_ttl_secs),
        session_idle: secs(s.idle_timeout_secs),
        session_absolute: secs(s.absolute_timeout_secs),
        pending_request: secs(s.pending_request_ttl_secs),
        jump_window: secs(s.jump_window_secs),
        bind_window: secs(s.bind_window_secs),
        max_parked_requests: s.max_parked_requests,
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

fn from_file(
    mut f: FileConfig,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    env::apply(&mut f, env);
    let dev_mode = f.dev_mode;
    let mut warnings = Vec::new();

    let listen_raw = f.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_raw
        .parse()
        .map_err(|e| err("listen", format!("{listen_raw:?} is not host:port: {e}")))?;
    let public_raw = f.public_url.ok_or_else(|| {
        err(
            "public_url",
            "required: the https URL browsers and Huawei use to reach the bridge",
        )
    })?;
    let public = checked_url("public_url", &public_raw, dev_mode)?;
    if public.query().is_some() || public.fragment().is_some() {
        return Err(err("public_url", "must not have a query or fragment"));
    }
    let public_url = public.as_str().trim_end_matches('/').to_owned();

    // Keys (docs/security.md A12).
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let key_path = resolve(&f.idp.key_file.ok_or_else(|| {
        err(
            "idp.key_file",
            "required (create one with `sso-bridge keygen`)",
        )
    })?);
    let cert_path = resolve(&f.idp.cert_file.ok_or_else(|| {
        err(
            "idp.cert_file",
            "required (create one with `sso-bridge keygen`)",
        )
    })?);
    let key = keys::load_key(&key_path).map_err(|e| err("idp.key_file", e))?;
    let cert = keys::load_cert(&cert_path).map_err(|e| err("idp.cert_file", e))?;
    keys::check_pair(&key, &cert, &key_path, &cert_path).map_err(|e| err("idp.cert_file", e))?;
    let days = keys::check_validity(&cert, &cert_path).map_err(|e| err("idp.cert_file", e))?;
    if days < keys::EXPIRY_WARNING_DAYS {
        warnings.push(format!("idp.cert_file: certificate expires in {days} days; publish a next_cert_file and roll over"));
    }
    if keys::readable_by_others(&key_path) {
        warnings.push(format!(
            "idp.key_file: {} is readable by group or others; chmod 600 it",
            key_path.display()
        ));
    }
    let next_cert = match f.idp.next_cert_file {
        Some(p) if !p.as_os_str().is_empty() => {
            let p = resolve(&p);
            let c = keys::load_cert(&p).map_err(|e| err("idp.next_cert_file", e))?;
            keys::check_validity(&c, &p).map_err(|e| err("idp.next_cert_file", e))?;
            Some(c)
        }
        _ => None,
    };
    let signer = XmlSigner::new(key, &cert).map_err(|e| err("idp.key_file", e))?;
    let entity_id = f
        .idp
        .entity_id
        .unwrap_or_else(|| format!("{public_url}/saml/metadata"));
    if entity_id.trim().is_empty() || entity_id.chars().any(char::is_control) {
        return Err(err("idp.entity_id", "must be a non-empty URI"));
    }
    if f.idp.bp_id.chars().any(char::is_control) {
        return Err(err("idp.bp_id", "must not contain control characters"));
    }
    for (key, value) in [
        ("idp.assertion_lifetime_secs", f.idp.assertion_lifetime_secs),
        ("idp.request_max_age_secs", f.idp.request_max_age_secs),
    ] {
        if !(10..=3600).contains(&value) {
            return Err(err(key, "must be between 10 and 3600 seconds"));
        }
    }
    if f.idp.clock_skew_secs > 600 {
        return Err(err("idp.clock_skew_secs", "must be at most 600 seconds"));
    }

    let backend = match f.store.backend.as_str() {
        "memory" => {
            if !dev_mode {
                warnings.push("store.backend: \"memory\" keeps sessions and mappings in this process only and loses them on restart; use \"redis\" in production".into());
            }
            Backend::Memory
        }
        "redis" => {
            Url::parse(&f.store.redis_url).map_err(|e| err("store.redis_url", e))?;
            Backend::Redis(f.store.redis_url)
        }
        other => {
            return Err(err(
                "store.backend",
                format!("{other:?} is not one of \"memory\", \"redis\""),
            ));
        }
    };
    if f.store.key_prefix.is_empty() || f.store.key_prefix.contains(char::is_whitespace) {
        return Err(err("store.key_prefix", "must be non-empty without spaces"));
    }
    let s = &f.sessions;
    if !(5..=600).contains(&s.ticket_ttl_secs) {
        return Err(err(
            "sessions.ticket_ttl_secs",
            "must be between 5 and 600 seconds",
        ));
    }
    if s.idle_timeout_secs == 0 || s.absolute_timeout_secs < s.idle_timeout_secs {
        return Err(err(
            "sessions.absolute_timeout_secs",
            "must be at least idle_timeout_secs, which must be positive",
        ));
    }
    if !(60..=3600).contains(&s.pending_request_ttl_secs) {
        return Err(err(
            "sessions.pending_request_ttl_secs",
            "must be between 60 and 3600 seconds",
        ));
    }
    if !(100..=10_000_000).contains(&s.max_parked_requests) {
        return Err(err(
            "sessions.max_parked_requests",
            "must be between 100 and 10000000",
        ));
    }
    if !(10..=3600).contains(&s.jump_window_secs) {
        return Err(err(
            "sessions.jump_window_secs",
            "must be between 10 and 3600 seconds",
        ));
    }
    if !(60..=86_400).contains(&s.bind_window_secs) {
        return Err(err(
            "sessions.bind_window_secs",
            "must be between 60 and 86400 seconds",
        ));
    }

    let login_raw = f.partner.login_url.ok_or_else(|| {
        err(
            "partner.login_url",
            "required: the partner platform page that logs users in",
        )
    })?;
    let partner_login_url = checked_url("partner.login_url", &login_raw, dev_mode)?;
    let optional_url = |key: &str, raw: &Option<String>| -> Result<Option<Url>, ConfigError> {
        raw.as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| checked_url(key, r, dev_mode))
            .transpose()
    };
    let partner_landing_url = optional_url("partner.landing_url", &f.partner.landing_url)?
        .unwrap_or_else(|| partner_login_url.clone());
    let partner_logout_url = optional_url("partner.logout_url", &f.partner.logout_url)?
        .unwrap_or_else(|| partner_login_url.clone());
    if !(1000..=10_000_000).contains(&f.store.event_log_max_len) {
        return Err(err(
            "store.event_log_max_len",
            "must be between 1000 and 10000000",
        ));
    }
    let mut api_key_hashes = Vec::new();
    for (i, h) in f.partner.api_key_sha256.iter().enumerate() {
        let key = format!("partner.api_key_sha256[{i}]");
        let hash = parse_sha256_hex(h).ok_or_else(|| {
            err(
                &key,
                "must be 64 hex characters (`sso-bridge hash-api-key` prints one)",
            )
        })?;
        if is_retired_demo_key_hash(&hash) {
            return Err(err(
                key,
                "is the hash of the published demo key; generate a key of your own and put the output of `sso-bridge hash-api-key` here",
            ));
        }
        api_key_hashes.push(hash);
    }
    if api_key_hashes.is_empty() {
        warnings.push(
            "partner.api_key_sha256: no API key configured; the partner API refuses every call"
                .into(),
        );
    }

    let l = &f.limits;
    if !(1..=300).contains(&l.header_read_timeout_secs) {
        return Err(err(
            "limits.header_read_timeout_secs",
            "must be between 1 and 300",
        ));
    }
    if !(1..=3600).contains(&l.request_timeout_secs) {
        return Err(err(
            "limits.request_timeout_secs",
            "must be between 1 and 3600",
        ));
    }
    if !(1..=1_000_000).contains(&l.max_connections) {
        return Err(err(
            "limits.max_connections",
            "must be between 1 and 1000000",
        ));
    }
    let limits = Limits {
        header_read_timeout: std::time::Duration::from_secs(l.header_read_timeout_secs.into()),
        request_timeout: std::time::Duration::from_secs(l.request_timeout_secs.into()),
        max_connections: l.max_connections,
        api_requests_per_minute_per_key: l.api_requests_per_minute_per_key,
        saml_requests_per_minute_per_client: f.limits.saml_requests_per_minute_per_client,
        client_address_header: f
            .limits
            .client_address_header
            .as_deref()
            .map(|h| {
                let name = axum::http::HeaderName::try_from(h).map_err(|_| {
                    err(
                        "limits.client_address_header",
                        format!("{h:?} is not a valid header name"),
                    )
                })?;
                // RFC 7239's `Forwarded: for=…` is not a list of addresses.
                if name == axum::http::header::FORWARDED {
                    return Err(err(
                        "limits.client_address_header",
                        "must name a header holding addresses only (x-forwarded-for, x-real-ip), not forwarded",
                    ));
                }
                Ok(name)
            })
            .transpose()?,
    };
    let sites = load_sites(&f.sites, &resolve, dev_mode, &mut warnings)?;
    Ok(Settings {
        listen,
        public_url,
        dev_mode,
        idp: IdpSettings {
            entity_id,
            signer: Arc::new(signer),
            cert,
            next_cert,
            bp_id: f.idp.bp_id,
            assertion_lifetime: Duration::seconds(i64::from(f.idp.assertion_lifetime_secs)),
            clock_skew: Duration::seconds(i64::from(f.idp.clock_skew_secs)),
            request_max_age: Duration::seconds(i64::from(f.idp.request_max_age_secs)),
            sign_response: f.idp.sign_response,
        },
        backend,
        key_prefix: f.store.key_prefix,
        lifetimes: lifetimes(&f.sessions),
        first_login_confirmation: f.sessions.first_login_confirmation,
        limits,
        partner_login_url,
        partner_landing_url,
        partner_logout_url,
        event_log_max_len: f.store.event_log_max_len,
        api_key_hashes,
        sites,
        warnings,
    })
}

fn load_sites(
    files: &[SiteFile],
    resolve: &dyn Fn(&Path) -> PathBuf,
    dev_mode: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<Site>, ConfigError> {
    if files.is_empty() {
        return Err(err("sites", "at least one [[sites]] entry is required"));
    }
    let mut names = HashSet::new();
    let mut entity_ids = HashSet::new();
    let mut sites = Vec::new();
    for (i, s) in files.iter().enumerate() {
        let key = |k: &str| format!("sites[{i}].{k}");
        let name_ok = !s.name.is_empty()
            && s.name.len() <= 32
            && s.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(err(
                key("name"),
                "must be 1-32 characters of a-z, 0-9 or '-'",
            ));
        }
        if !names.insert(s.name.clone()) {
            return Err(err(
                key("name"),
                format!("{:?} is used by two sites", s.name),
            ));
        }
        if s.x_account_type.is_empty()
            || s.x_account_type.len() > 64
            || s.x_account_type.chars().any(char::is_control)
        {
            return Err(err(
                key("x_account_type"),
                "must be 1-64 characters (the Partner Platform ID Huawei shows)",
            ));
        }
        let path = resolve(&s.sp_metadata_file);
        let xml = std::fs::read(&path)
            .map_err(|e| err(key("sp_metadata_file"), format!("{}: {e}", path.display())))?;
        let sp = ServiceProvider::from_metadata(&xml, dev_mode)
            .map_err(|e| err(key("sp_metadata_file"), format!("{}: {e}", path.display())))?;
        if !entity_ids.insert(sp.entity_id.clone()) {
            return Err(err(
                key("sp_metadata_file"),
                format!("entityID {} is used by two sites", sp.entity_id),
            ));
        }
        for cert in &sp.signing_certs {
            match keys::check_validity(cert, &path) {
                Ok(days) if days < keys::EXPIRY_WARNING_DAYS => warnings.push(format!(
                    "{}: a Huawei signing certificate expires in {days} days; fetch Huawei's new SP metadata",
                    key("sp_metadata_file")
                )),
                Ok(_) => {}
                Err(e) => warnings.push(format!("{}: {e}", key("sp_metadata_file"))),
            }
        }
        let login_url = checked_url(&key("login_url"), &s.login_url, dev_mode)?;
        let default_raw =
            Url::parse(&s.default_service).map_err(|e| err(key("default_service"), e))?;
        let allowed_service_hosts = if s.allowed_service_hosts.is_empty() {
            default_raw
                .host_str()
                .map(|h| vec![h.to_owned()])
                .unwrap_or_default()
        } else {
            s.allowed_service_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect()
        };
        let default_service = fields::service_url(&s.default_service, &allowed_service_hosts)
            .map_err(|_| {
                err(
                    key("default_service"),
                    "must be an https URL on one of allowed_service_hosts",
                )
            })?;
        let return_url = |k: &str, raw: &Option<String>| -> Result<Option<Url>, ConfigError> {
            raw.as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| checked_url(&key(k), r, dev_mode))
                .transpose()
        };
        let payment_success_url = return_url("payment_success_url", &s.payment_success_url)?;
        let recharge_url = return_url("recharge_url", &s.recharge_url)?;
        if s.return_params.iter().any(|p| {
            p.is_empty()
                || p.len() > 64
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        }) {
            return Err(err(
                key("return_params"),
                "names must be 1-64 characters of letters, digits, '_', '-' or '.'",
            ));
        }
        sites.push(Site {
            name: s.name.clone(),
            x_account_type: s.x_account_type.clone(),
            sp: Arc::new(sp),
            login_url,
            default_service,
            allowed_service_hosts,
            payment_success_url,
            recharge_url,
            return_params: s.return_params.clone(),
        });
    }
    Ok(sites)
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
