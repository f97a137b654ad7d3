//! The flows as plain async functions over [`Bridge`]: no HTTP types in here. Each function
//! reads `now` once, checks everything before it changes anything, and returns an outcome the web
//! layer renders.
//!
//! - [`sso`]: login tickets, `/sso/start`, Huawei's AuthnRequest.
//! - [`mappings`]: the partner API over account mappings, events and sessions.
//! - [`bind_result`]: Huawei's bind-result notification.
//! - [`logout`]: single logout.

pub mod bind_result;
pub mod cpu_pool;
pub mod logout;
pub mod mappings;
pub mod sso;

use std::sync::Arc;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::Settings;
use crate::huawei::fields::FieldError;
use crate::store::{Store, StoreError};
use saml::authn_request::RequestError;
use saml::idp_metadata::IdpMetadata;

pub use sso::{
    AutoPost, ConfirmChoice, ConfirmOutcome, ConfirmReason, Confirmation, NewSession, Onward,
    SsoOutcome, StartOutcome, TicketCreated, TicketRequest,
};

/// Why a flow step failed. The web layer maps each to a status, a stable code and public text.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A partner-supplied field broke a rule.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The ticket is malformed, unknown or already used.
    #[error("login ticket unknown or already used")]
    TicketUnknown,
    /// The ticket was found but had expired.
    #[error("login ticket expired")]
    TicketExpired,
    /// The parked AuthnRequest to resume is gone (expired or answered).
    #[error("the request to resume is unknown or expired")]
    ResumeUnknown,
    /// A ticket request names a well-formed `resume` whose parked request is gone.
    #[error("the parked request named by resume is gone (answered or expired)")]
    ResumeGone,
    /// A confirmation form arrived without a live session.
    #[error("no live session for this confirmation")]
    SessionGone,
    /// A confirmation form's anti-CSRF token does not belong to the browser's session.
    #[error("anti-CSRF token does not match the session")]
    BadCsrf,
    /// Huawei's bind-result notification verified but is not tied to a jump of this browser's
    /// session (docs/security.md A15); it was recorded as an `unconfirmed` event.
    #[error("bind-result notification not confirmed: {0}")]
    BindUnconfirmed(&'static str),
    /// Huawei's AuthnRequest failed a check.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The AuthnRequest ID was seen before (docs/security.md A10).
    #[error("AuthnRequest ID was already used")]
    Replayed,
    /// `IsPassive` was requested but there is no session to answer from.
    #[error("passive authentication requested without a session")]
    PassiveImpossible,
    /// The site named in the path is not configured.
    #[error("unknown site")]
    UnknownSite,
    /// No mapping for the user (or domain).
    #[error("mapping not found")]
    MappingNotFound,
    /// The domain_id is mapped to another partner user on this site; nothing changed.
    #[error("domain_id is already bound to another user on this site")]
    DomainConflict,
    /// An unbind notification names another domain than the stored mapping.
    #[error("the notification names another Huawei account than the stored mapping")]
    MappingMismatch,
    /// Huawei's bind-result notification was refused.
    #[error(transparent)]
    Notification(#[from] crate::huawei::bind_notification::NotificationError),
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing or another internal step failed.
    #[error("internal error: {0}")]
    Internal(String),
    /// The CPU pool's queue is full: the request is shed before any work is spent on it.
    #[error("busy: {0}; retry after {1} s")]
    Busy(&'static str, u64),
    /// The request, body included, took longer than `limits.request_timeout_secs`.
    #[error("request not completed within the deadline")]
    RequestTimeout,
    /// A per-client or per-key rate limit: retry after this many seconds.
    #[error("rate limited ({0}); retry after {1} s")]
    RateLimited(&'static str, u64),
}

impl From<cpu_pool::PoolError> for FlowError {
    fn from(e: cpu_pool::PoolError) -> Self {
        match e {
            cpu_pool::PoolError::Busy => Self::Busy("CPU pool queue full", 1),
            cpu_pool::PoolError::Stopped => Self::Internal("CPU threads stopped".into()),
        }
    }
}

impl From<openssl::error::ErrorStack> for FlowError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::Internal(format!("openssl: {e}"))
    }
}

/// Shared state of one bridge process.
pub struct Bridge {
    /// Validated configuration.
    pub settings: Arc<Settings>,
    /// Tickets, sessions, requests, mappings.
    pub store: Store,
    /// The only clock.
    pub clock: Arc<dyn Clock>,
    /// The only source of XML ids (random unless a test fixes them).
    pub ids: Arc<dyn crate::ids::XmlIds>,
    /// IdP metadata, rendered once.
    pub metadata_xml: String,
    /// Threads that verify and parse inbound requests and sign responses, off the async
    /// executor, with a bounded queue.
    pub(crate) cpu: cpu_pool::CpuPool,
    /// SAML requests per client address (`limits.saml_requests_per_minute_per_client`).
    pub saml_clients: Option<crate::rate_limit::KeyedLimit<std::net::IpAddr>>,
    /// Partner API requests per API key (`limits.api_requests_per_minute_per_key`).
    pub api_keys: Option<crate::rate_limit::KeyedLimit<String>>,
}

impl Bridge {
    /// Assembles a bridge and renders its metadata.
    pub fn new(
        settings: Arc<Settings>,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, FlowError> {
        let sso_url = settings.sso_url();
        let slo_url = settings.slo_url();
        let metadata_xml = IdpMetadata {
            entity_id: &settings.idp.entity_id,
            cert: &settings.idp.cert,
            next_cert: settings.idp.next_cert.as_ref(),
            sso_url: &sso_url,
            slo_url: &slo_url,
        }
        .render()?;
        let saml_clients = crate::rate_limit::KeyedLimit::per_minute(
            settings.limits.saml_requests_per_minute_per_client,
        );
        let api_keys = crate::rate_limit::KeyedLimit::per_minute(
            settings.limits.api_requests_per_minute_per_key,
        );
        Ok(Self {
            saml_clients,
            api_keys,
            settings,
            store,
            clock,
            ids: Arc::new(crate::ids::RandomIds),
            metadata_xml,
            cpu: cpu_pool::CpuPool::per_cpu()
                .map_err(|e| FlowError::Internal(format!("cannot start CPU threads: {e}")))?,
        })
    }
}

impl Bridge {
    /// The same bridge with another source of XML ids (tests that compare signed output byte
    /// for byte use [`crate::ids::SequentialIds`]).
    pub fn with_ids(mut self, ids: Arc<dyn crate::ids::XmlIds>) -> Self {
        self.ids = ids;
        self
    }

    /// Runs a check of an inbound SAML message on the CPU pool — verification and parsing, so a
    /// flood of expensive input waits there (or is shed with 503) instead of stalling the
    /// executor that serves everyone else — and returns its result with the site whose SP sent
    /// it.
    pub(crate) async fn check_on_pool<T: Send + 'static>(
        &self,
        check: impl FnOnce(
            &crate::config::Settings,
        )
            -> Result<(T, &crate::config::Site), saml::authn_request::RequestError>
        + Send
        + 'static,
    ) -> Result<(T, &crate::config::Site), FlowError> {
        let settings = Arc::clone(&self.settings);
        let (checked, site_name) = self
            .cpu
            .run(move || check(&settings).map(|(t, site)| (t, site.name.clone())))
            .await??;
        let site = self
            .settings
            .site(Some(site_name.as_str()))
            .ok_or(FlowError::UnknownSite)?;
        Ok((checked, site))
    }
}

/// Unix seconds.
pub(crate) fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}
