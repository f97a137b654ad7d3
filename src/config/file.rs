//! The shape of the TOML file as serde reads it, with the defaults of absent keys; see
//! `deploy/config.example.toml` for every key. Nothing here is checked: the environment overrides
//! and the validation into [`super::Settings`] come after (`super::from_file`).

use std::path::PathBuf;

use serde::Deserialize;

/// The file format; see `deploy/config.example.toml` for every key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) listen: Option<String>,
    pub(super) public_url: Option<String>,
    #[serde(default)]
    pub(super) dev_mode: bool,
    pub(super) idp: IdpFile,
    #[serde(default)]
    pub(super) store: StoreFile,
    #[serde(default)]
    pub(super) sessions: SessionsFile,
    #[serde(default)]
    pub(super) limits: LimitsFile,
    pub(super) partner: PartnerFile,
    pub(super) sites: Vec<SiteFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsFile {
    #[serde(default = "default_saml_per_client")]
    pub(super) saml_requests_per_minute_per_client: u32,
    #[serde(default)]
    pub(super) client_address_header: Option<String>,
    #[serde(default = "default_api_per_key")]
    pub(super) api_requests_per_minute_per_key: u32,
    #[serde(default = "default_header_read_timeout")]
    pub(super) header_read_timeout_secs: u32,
    #[serde(default = "default_request_timeout")]
    pub(super) request_timeout_secs: u32,
    #[serde(default = "default_max_connections")]
    pub(super) max_connections: usize,
}

/// 20 a second per key: far above a partner's sign-in rate, far below what a leaked key did
/// unlimited (1,100 tickets a second).
pub(super) fn default_api_per_key() -> u32 {
    1200
}
pub(super) fn default_header_read_timeout() -> u32 {
    10
}
pub(super) fn default_request_timeout() -> u32 {
    30
}
pub(super) fn default_max_connections() -> usize {
    4096
}

impl Default for LimitsFile {
    fn default() -> Self {
        Self {
            saml_requests_per_minute_per_client: default_saml_per_client(),
            client_address_header: None,
            api_requests_per_minute_per_key: default_api_per_key(),
            header_read_timeout_secs: default_header_read_timeout(),
            request_timeout_secs: default_request_timeout(),
            max_connections: default_max_connections(),
        }
    }
}

/// A browser makes one or two SAML requests per sign-in; 60 a minute leaves room for a company
/// behind one NAT address while a single flooding host gets one a second.
pub(super) fn default_saml_per_client() -> u32 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IdpFile {
    pub(super) entity_id: Option<String>,
    pub(super) key_file: Option<PathBuf>,
    pub(super) cert_file: Option<PathBuf>,
    pub(super) next_cert_file: Option<PathBuf>,
    #[serde(default)]
    pub(super) bp_id: String,
    #[serde(default = "default_assertion_lifetime")]
    pub(super) assertion_lifetime_secs: u32,
    #[serde(default = "default_clock_skew")]
    pub(super) clock_skew_secs: u32,
    #[serde(default = "default_request_max_age")]
    pub(super) request_max_age_secs: u32,
    #[serde(default)]
    pub(super) sign_response: bool,
}

fn default_assertion_lifetime() -> u32 {
    300
}
fn default_clock_skew() -> u32 {
    120
}
fn default_request_max_age() -> u32 {
    300
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreFile {
    #[serde(default = "default_backend")]
    pub(super) backend: String,
    #[serde(default = "default_redis_url")]
    pub(super) redis_url: String,
    #[serde(default = "default_key_prefix")]
    pub(super) key_prefix: String,
    #[serde(default = "default_event_log_max_len")]
    pub(super) event_log_max_len: u64,
}

impl Default for StoreFile {
    fn default() -> Self {
        Self {
            backend: default_backend(),
            redis_url: default_redis_url(),
            key_prefix: default_key_prefix(),
            event_log_max_len: default_event_log_max_len(),
        }
    }
}

pub(super) fn default_event_log_max_len() -> u64 {
    crate::store::redis::DEFAULT_EVENT_LOG_MAX_LEN
}

fn default_backend() -> String {
    "memory".into()
}
fn default_redis_url() -> String {
    "redis://127.0.0.1:6379/0".into()
}
pub(super) fn default_key_prefix() -> String {
    "sso-bridge".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionsFile {
    #[serde(default = "default_ticket_ttl")]
    pub(super) ticket_ttl_secs: u32,
    #[serde(default = "default_idle")]
    pub(super) idle_timeout_secs: u32,
    #[serde(default = "default_absolute")]
    pub(super) absolute_timeout_secs: u32,
    #[serde(default = "default_pending")]
    pub(super) pending_request_ttl_secs: u32,
    #[serde(default = "default_true")]
    pub(super) first_login_confirmation: bool,
    #[serde(default = "default_jump_window")]
    pub(super) jump_window_secs: u32,
    #[serde(default = "default_bind_window")]
    pub(super) bind_window_secs: u32,
    #[serde(default = "default_max_parked")]
    pub(super) max_parked_requests: usize,
}

impl Default for SessionsFile {
    fn default() -> Self {
        Self {
            ticket_ttl_secs: default_ticket_ttl(),
            idle_timeout_secs: default_idle(),
            absolute_timeout_secs: default_absolute(),
            pending_request_ttl_secs: default_pending(),
            first_login_confirmation: true,
            jump_window_secs: default_jump_window(),
            bind_window_secs: default_bind_window(),
            max_parked_requests: default_max_parked(),
        }
    }
}

/// About 10 MB of Redis (a parked request, its replay record and its slot: ~520 bytes).
fn default_max_parked() -> usize {
    20_000
}
fn default_ticket_ttl() -> u32 {
    60
}
fn default_idle() -> u32 {
    1800
}
fn default_absolute() -> u32 {
    8 * 3600
}
fn default_pending() -> u32 {
    600
}
fn default_true() -> bool {
    true
}
fn default_jump_window() -> u32 {
    300
}
fn default_bind_window() -> u32 {
    1800
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PartnerFile {
    pub(super) login_url: Option<String>,
    pub(super) landing_url: Option<String>,
    pub(super) logout_url: Option<String>,
    #[serde(default)]
    pub(super) api_key_sha256: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SiteFile {
    pub(super) name: String,
    pub(super) x_account_type: String,
    pub(super) sp_metadata_file: PathBuf,
    #[serde(default = "default_login_url")]
    pub(super) login_url: String,
    pub(super) default_service: String,
    #[serde(default)]
    pub(super) allowed_service_hosts: Vec<String>,
    pub(super) payment_success_url: Option<String>,
    pub(super) recharge_url: Option<String>,
    #[serde(default)]
    pub(super) return_params: Vec<String>,
}

fn default_login_url() -> String {
    super::HUAWEI_CN_LOGIN_URL.into()
}
