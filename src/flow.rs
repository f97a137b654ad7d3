//! The SSO flow as plain async functions over [`Bridge`]: no HTTP types in here. Each function
//! reads `now` once, checks everything before it changes anything, and returns an outcome the web
//! layer renders.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::{Settings, Site};
use crate::fields::{self, FieldError, XUserId};
use crate::random;
use crate::saml::authn_request::{self, Freshness, RequestError, VerifiedRequest};
use crate::saml::idp_metadata::IdpMetadata;
use crate::saml::redirect::uri_component;
use crate::saml::response::{self, HuaweiAttributes, ResponseParams};
use crate::store::{PendingRequest, Session, Store, StoreError, Ticket};

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
    /// Huawei's AuthnRequest failed a check.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The AuthnRequest ID was seen before (A10).
    #[error("AuthnRequest ID was already used")]
    Replayed,
    /// `IsPassive` was requested but there is no session to answer from.
    #[error("passive authentication requested without a session")]
    PassiveImpossible,
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing or another internal step failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<openssl::error::ErrorStack> for FlowError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::Internal(format!("openssl: {e}"))
    }
}

/// How long past its own expiry a ticket or parked request is kept, so that a late click gets
/// "expired" rather than "unknown" (the flow checks `expires_at`, never the store's TTL alone).
const EXPIRED_GRACE: time::Duration = time::Duration::minutes(5);

/// Shared state of one bridge process.
pub struct Bridge {
    /// Validated configuration.
    pub settings: Arc<Settings>,
    /// Tickets, sessions, requests, mappings.
    pub store: Store,
    /// The only clock.
    pub clock: Arc<dyn Clock>,
    /// IdP metadata, rendered once.
    pub metadata_xml: String,
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
        Ok(Self {
            settings,
            store,
            clock,
            metadata_xml,
        })
    }
}

/// Body of `POST /api/v1/login-tickets`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketRequest {
    /// Partner user id.
    pub x_user_id: String,
    /// Proposed Huawei account name.
    pub name: Option<String>,
    /// Mobile, `cc-number`.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Site name; the first configured site when absent.
    pub site: Option<String>,
    /// Where Huawei should land the user.
    pub service: Option<String>,
    /// State id from the `resume` parameter the bridge gave the partner login page.
    pub resume: Option<String>,
}

/// Answer of `POST /api/v1/login-tickets`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TicketCreated {
    /// The ticket secret.
    pub ticket: String,
    /// Where to send the browser.
    pub url: String,
    /// Seconds until the ticket expires.
    pub expires_in: i64,
}

/// A Response to auto-POST to the SP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoPost {
    /// ACS URL (from SP metadata).
    pub acs_url: String,
    /// Base64 of the Response XML.
    pub saml_response: String,
    /// RelayState to echo.
    pub relay_state: Option<String>,
}

/// A new session to set as cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Cookie value (the secret; stored only as its digest).
    pub cookie: String,
}

/// What `/sso/start` does next.
#[derive(Debug)]
pub enum StartOutcome {
    /// Send the browser to Huawei's login URL.
    ToHuawei {
        /// The session to set.
        session: NewSession,
        /// Huawei login URL with `xAccountType`, `isFirstLogin`, `service`.
        location: String,
    },
    /// Answer the parked request directly.
    Answer {
        /// The session to set.
        session: NewSession,
        /// The response to post.
        post: AutoPost,
    },
}

/// What `/saml/sso` does next.
#[derive(Debug)]
pub enum SsoOutcome {
    /// Answer with a Response.
    Answer(AutoPost),
    /// Log the user in at the partner platform first.
    ToPartnerLogin {
        /// Partner login URL with `resume=<state>`.
        location: String,
    },
}

fn optional(
    value: Option<String>,
    check: impl Fn(&str) -> Result<String, FieldError>,
) -> Result<Option<String>, FieldError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| check(&v))
        .transpose()
}

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

impl Bridge {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Creates a single-use login ticket for a partner user (issue step 1).
    pub async fn create_ticket(&self, req: TicketRequest) -> Result<TicketCreated, FlowError> {
        let now = self.now();
        let x_user_id = XUserId::parse(&req.x_user_id)?;
        let site = self.settings.site(req.site.as_deref()).ok_or(FieldError {
            field: "site",
            rule: "must name a configured site",
        })?;
        let name = optional(req.name, |v| fields::account_name("name", v))?;
        let email = optional(req.email, fields::email)?;
        let mobile = optional(req.mobile, fields::mobile)?;
        let service = req
            .service
            .filter(|s| !s.is_empty())
            .map(|s| fields::service_url(&s, &site.allowed_service_hosts).map(String::from))
            .transpose()?;
        let resume = match req.resume.filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => {
                let bad = FieldError {
                    field: "resume",
                    rule: "must be the resume value the bridge passed to the login page, within 10 minutes",
                };
                if !random::is_token_shaped(&r) {
                    return Err(bad.into());
                }
                match self.store.peek_pending(&random::token_digest(&r)).await? {
                    Some(p) if p.expires_at > unix(now) && p.site == site.name => Some(r),
                    Some(p) if p.site != site.name => {
                        return Err(FieldError {
                            field: "site",
                            rule: "must match the site of the request being resumed (omit it)",
                        }
                        .into());
                    }
                    _ => return Err(bad.into()),
                }
            }
        };
        let ttl = self.settings.lifetimes.ticket;
        let ticket = random::token()?;
        let stored = Ticket {
            x_user_id,
            name,
            email,
            mobile,
            site: site.name.clone(),
            service,
            resume,
            expires_at: unix(now + ttl),
        };
        self.store
            .put_ticket(&random::token_digest(&ticket), &stored, ttl + EXPIRED_GRACE)
            .await?;
        Ok(TicketCreated {
            url: format!("{}/sso/start?ticket={ticket}", self.settings.public_url),
            ticket,
            expires_in: ttl.whole_seconds(),
        })
    }

    /// Redeems a ticket: opens a fresh session (A13), then either sends the browser to Huawei or
    /// answers the parked request it resumes (issue steps 2 and 4).
    pub async fn start(
        &self,
        ticket: &str,
        old_session: Option<&str>,
    ) -> Result<StartOutcome, FlowError> {
        let now = self.now();
        if !random::is_token_shaped(ticket) {
            return Err(FlowError::TicketUnknown);
        }
        let ticket = self
            .store
            .take_ticket(&random::token_digest(ticket))
            .await?
            .ok_or(FlowError::TicketUnknown)?;
        if ticket.expires_at <= unix(now) {
            return Err(FlowError::TicketExpired);
        }
        let site = self
            .settings
            .site(Some(&ticket.site))
            .ok_or(FlowError::TicketUnknown)?;
        let pending = match &ticket.resume {
            Some(state) => {
                let p = self
                    .store
                    .take_pending(&random::token_digest(state))
                    .await?
                    .filter(|p| p.expires_at > unix(now) && p.site == site.name)
                    .ok_or(FlowError::ResumeUnknown)?;
                Some(p)
            }
            None => None,
        };
        if let Some(old) = old_session.filter(|c| random::is_token_shaped(c)) {
            self.store
                .delete_session(&random::token_digest(old))
                .await?;
        }
        let cookie = random::token()?;
        let session = Session {
            x_user_id: ticket.x_user_id.clone(),
            name: ticket.name.clone(),
            email: ticket.email.clone(),
            mobile: ticket.mobile.clone(),
            site: site.name.clone(),
            service: ticket.service.clone(),
            session_index: random::xml_id()?,
            created_at: unix(now),
            absolute_expires_at: unix(now + self.settings.lifetimes.session_absolute),
        };
        self.store
            .put_session(
                &random::token_digest(&cookie),
                &session,
                self.settings.lifetimes.session_idle,
            )
            .await?;
        let session_out = NewSession { cookie };
        if let Some(p) = pending {
            let post = self
                .answer(
                    &session,
                    &p.sp_entity_id,
                    &p.acs_url,
                    &p.request_id,
                    p.relay_state.clone(),
                    now,
                )
                .await?;
            return Ok(StartOutcome::Answer {
                session: session_out,
                post,
            });
        }
        let first_login = self
            .store
            .get_mapping(&site.name, &ticket.x_user_id)
            .await?
            .is_none();
        let service = ticket
            .service
            .as_deref()
            .unwrap_or(site.default_service.as_str());
        Ok(StartOutcome::ToHuawei {
            session: session_out,
            location: huawei_login_location(site, first_login, service),
        })
    }

    /// Handles Huawei's AuthnRequest (issue steps 3 and 4).
    pub async fn sso(
        &self,
        raw_query: &str,
        session_cookie: Option<&str>,
    ) -> Result<SsoOutcome, FlowError> {
        let now = self.now();
        let idp = &self.settings.idp;
        let freshness = Freshness {
            max_age: idp.request_max_age,
            skew: idp.clock_skew,
        };
        let (verified, _) = authn_request::verify_redirect(
            raw_query,
            |issuer| self.settings.site_by_sp(issuer).map(|s| s.sp.as_ref()),
            &self.settings.sso_url(),
            now,
            freshness,
        )?;
        let site = self
            .settings
            .site_by_sp(&verified.sp_entity_id)
            .ok_or(RequestError::UnknownIssuer)?;
        // Last check, the only one that writes: the ID is single-use across processes (A10).
        // Its TTL covers every instant at which the same request could still pass the freshness check.
        let replay_ttl = freshness.max_age + freshness.skew + freshness.skew;
        if !self
            .store
            .first_use_of_request_id(&verified.sp_entity_id, &verified.request.id, replay_ttl)
            .await?
        {
            return Err(FlowError::Replayed);
        }
        let session = match session_cookie.filter(|c| random::is_token_shaped(c)) {
            Some(c) if !verified.request.force_authn => self
                .store
                .touch_session(
                    &random::token_digest(c),
                    self.settings.lifetimes.session_idle,
                )
                .await?
                .filter(|s| s.absolute_expires_at > unix(now) && s.site == site.name),
            _ => None,
        };
        match session {
            Some(session) => {
                let VerifiedRequest {
                    request,
                    sp_entity_id,
                    acs_url,
                    relay_state,
                } = verified;
                let post = self
                    .answer(
                        &session,
                        &sp_entity_id,
                        &acs_url,
                        &request.id,
                        relay_state,
                        now,
                    )
                    .await?;
                Ok(SsoOutcome::Answer(post))
            }
            None if verified.request.is_passive => Err(FlowError::PassiveImpossible),
            None => {
                let state = random::token()?;
                let ttl = self.settings.lifetimes.pending_request;
                let pending = PendingRequest {
                    site: site.name.clone(),
                    sp_entity_id: verified.sp_entity_id,
                    request_id: verified.request.id,
                    acs_url: verified.acs_url,
                    relay_state: verified.relay_state,
                    expires_at: unix(now + ttl),
                };
                self.store
                    .put_pending(&random::token_digest(&state), &pending, ttl)
                    .await?;
                Ok(SsoOutcome::ToPartnerLogin {
                    location: append_query(
                        self.settings.partner_login_url.as_str(),
                        &[("resume", &state)],
                    ),
                })
            }
        }
    }

    /// Builds and signs the Response for `session`. Signing runs on the blocking pool so an RSA
    /// operation never stalls the async executor.
    async fn answer(
        &self,
        session: &Session,
        sp_entity_id: &str,
        acs_url: &str,
        request_id: &str,
        relay_state: Option<String>,
        now: OffsetDateTime,
    ) -> Result<AutoPost, FlowError> {
        let idp = &self.settings.idp;
        let signer = Arc::clone(&idp.signer);
        let attributes = HuaweiAttributes {
            x_user_id: session.x_user_id.as_str().to_owned(),
            bp_id: idp.bp_id.clone(),
            email: session.email.clone().unwrap_or_default(),
            name: session.name.clone().unwrap_or_default(),
            mobile: session.mobile.clone().unwrap_or_default(),
        };
        let (response_id, assertion_id, name_id) =
            (random::xml_id()?, random::xml_id()?, random::xml_id()?);
        let owned = (
            idp.entity_id.clone(),
            sp_entity_id.to_owned(),
            acs_url.to_owned(),
            request_id.to_owned(),
            session.session_index.clone(),
        );
        let (skew, lifetime, sign_response) =
            (idp.clock_skew, idp.assertion_lifetime, idp.sign_response);
        let xml = tokio::task::spawn_blocking(move || {
            let (idp_entity_id, sp_entity_id, acs_url, in_response_to, session_index) = owned;
            response::build(
                &signer,
                &ResponseParams {
                    idp_entity_id: &idp_entity_id,
                    sp_entity_id: &sp_entity_id,
                    acs_url: &acs_url,
                    in_response_to: &in_response_to,
                    now,
                    not_before_skew: skew,
                    lifetime,
                    response_id: &response_id,
                    assertion_id: &assertion_id,
                    name_id: &name_id,
                    session_index: &session_index,
                    attributes: &attributes,
                    sign_response,
                },
            )
        })
        .await
        .map_err(|e| FlowError::Internal(format!("signing task failed: {e}")))??;
        Ok(AutoPost {
            acs_url: acs_url.to_owned(),
            saml_response: STANDARD.encode(xml),
            relay_state,
        })
    }
}

/// Huawei's login link (spec §3.1), every value encoded like `encodeURIComponent`.
pub fn huawei_login_location(site: &Site, first_login: bool, service: &str) -> String {
    append_query(
        site.login_url.as_str(),
        &[
            ("xAccountType", &site.x_account_type),
            ("isFirstLogin", if first_login { "true" } else { "false" }),
            ("service", service),
        ],
    )
}

/// Appends `name=value` pairs to a URL that may already have a query.
pub fn append_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = base.to_owned();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (name, value) in pairs {
        out.push(sep);
        out.push_str(name);
        out.push('=');
        out.push_str(&uri_component(value));
        sep = '&';
    }
    out
}
