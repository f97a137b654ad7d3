//! The SSO flow: login tickets, `/sso/start` and Huawei's AuthnRequest (issue steps 1–5).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::Site;
use crate::fields::{self, FieldError, XUserId};
use crate::random;
use crate::saml::authn_request::{self, Freshness};
use crate::saml::redirect::uri_component;
use crate::saml::response::{self, HuaweiAttributes, ResponseParams};
use crate::store::{PendingRequest, Replay, Session, Ticket};

use super::{Bridge, FlowError, unix};

/// How long past its own expiry a ticket or parked request is kept, so that a late click gets
/// "expired" rather than "unknown" (the flow checks `expires_at`, never the store's TTL alone).
const EXPIRED_GRACE: time::Duration = time::Duration::minutes(5);

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

impl Bridge {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Creates a single-use login ticket for a partner user (issue step 1).
    pub async fn create_ticket(&self, req: TicketRequest) -> Result<TicketCreated, FlowError> {
        let now = self.now();
        let x_user_id = XUserId::parse(&req.x_user_id)?;
        let name = optional(req.name, |v| fields::account_name("name", v))?;
        let email = optional(req.email, fields::email)?;
        let mobile = optional(req.mobile, fields::mobile)?;
        // A resumed request decides the site: the partner cannot know it from the opaque state.
        let resumed = match req.resume.filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => {
                let pending = if random::is_token_shaped(&r) {
                    self.store.peek_pending(&random::token_digest(&r)).await?
                } else {
                    None
                };
                match pending.filter(|p| p.expires_at > unix(now)) {
                    Some(p) => Some((r, p.site)),
                    None => {
                        return Err(FieldError {
                            field: "resume",
                            rule: "must be the resume value the bridge passed to the login page, within 10 minutes",
                        }
                        .into());
                    }
                }
            }
        };
        let site_name = match (req.site.as_deref(), &resumed) {
            (Some(asked), Some((_, parked))) if asked != parked => {
                return Err(FieldError {
                    field: "site",
                    rule: "must match the site of the request being resumed (or be omitted)",
                }
                .into());
            }
            (Some(asked), _) => Some(asked),
            (None, Some((_, parked))) => Some(parked.as_str()),
            (None, None) => None,
        };
        let site = self.settings.site(site_name).ok_or(FieldError {
            field: "site",
            rule: "must name a configured site",
        })?;
        let service = req
            .service
            .filter(|s| !s.is_empty())
            .map(|s| fields::service_url(&s, &site.allowed_service_hosts).map(String::from))
            .transpose()?;
        let resume = resumed.map(|(r, _)| r);
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
                self.settings.lifetimes.session_absolute,
            )
            .await?;
        let session_out = NewSession { cookie };
        if let Some(p) = pending {
            let post = self.answer(&session, &p, now).await?;
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
        let (verified, site) = authn_request::verify_redirect(
            raw_query,
            |issuer| self.settings.site_by_sp(issuer),
            &self.settings.sso_url(),
            now,
            freshness,
        )?;
        // Last check, the only one that writes, in one store round trip with the session read:
        // the ID is single-use across processes (A10), with a TTL covering every instant at which
        // the same request could still pass the freshness check. A passive request without a
        // session records nothing.
        let digest = session_cookie
            .filter(|c| random::is_token_shaped(c) && !verified.request.force_authn)
            .map(random::token_digest);
        let replay_ttl = freshness.max_age + freshness.skew + freshness.skew;
        let (session, replay) = self
            .store
            .sso_lookup(
                digest.as_deref(),
                self.settings.lifetimes.session_idle,
                &verified.sp_entity_id,
                &verified.request.id,
                replay_ttl,
                verified.request.is_passive,
            )
            .await?;
        match replay {
            Replay::Seen => return Err(FlowError::Replayed),
            Replay::NotRecorded => return Err(FlowError::PassiveImpossible),
            Replay::First => {}
        }
        let session = session.filter(|s| s.absolute_expires_at > unix(now) && s.site == site.name);
        if session.is_none() && verified.request.is_passive {
            return Err(FlowError::PassiveImpossible);
        }
        let ttl = self.settings.lifetimes.pending_request;
        let target = PendingRequest {
            site: site.name.clone(),
            sp_entity_id: verified.sp_entity_id,
            request_id: verified.request.id,
            acs_url: verified.acs_url,
            relay_state: verified.relay_state,
            expires_at: unix(now + ttl),
        };
        if let Some(session) = session {
            return Ok(SsoOutcome::Answer(
                self.answer(&session, &target, now).await?,
            ));
        }
        let state = random::token()?;
        self.store
            .put_pending(&random::token_digest(&state), &target, ttl + EXPIRED_GRACE)
            .await?;
        Ok(SsoOutcome::ToPartnerLogin {
            location: append_query(
                self.settings.partner_login_url.as_str(),
                &[("resume", &state)],
            ),
        })
    }

    /// Builds and signs the Response to `target` for `session`. Signing runs on the bridge's
    /// signing threads so an RSA operation never stalls the async executor (measured in
    /// bench/RESULTS.md: cheaper than `spawn_blocking` or `block_in_place`).
    async fn answer(
        &self,
        session: &Session,
        target: &PendingRequest,
        now: OffsetDateTime,
    ) -> Result<AutoPost, FlowError> {
        let settings = Arc::clone(&self.settings);
        let (session, target) = (session.clone(), target.clone());
        let ids = (random::xml_id()?, random::xml_id()?, random::xml_id()?);
        let sign = move || {
            let idp = &settings.idp;
            let (response_id, assertion_id, name_id) = ids;
            let attributes = HuaweiAttributes {
                x_user_id: session.x_user_id.as_str().to_owned(),
                bp_id: idp.bp_id.clone(),
                email: session.email.unwrap_or_default(),
                name: session.name.unwrap_or_default(),
                mobile: session.mobile.unwrap_or_default(),
            };
            let xml = response::build(
                &idp.signer,
                &ResponseParams {
                    idp_entity_id: &idp.entity_id,
                    sp_entity_id: &target.sp_entity_id,
                    acs_url: &target.acs_url,
                    in_response_to: &target.request_id,
                    now,
                    authn_instant: OffsetDateTime::from_unix_timestamp(session.created_at)
                        .unwrap_or(now),
                    not_before_skew: idp.clock_skew,
                    lifetime: idp.assertion_lifetime,
                    response_id: &response_id,
                    assertion_id: &assertion_id,
                    name_id: &name_id,
                    session_index: &session.session_index,
                    attributes: &attributes,
                    sign_response: idp.sign_response,
                },
            );
            (xml, target)
        };
        let (xml, target) = self
            .signing
            .run(sign)
            .await
            .ok_or_else(|| FlowError::Internal("signing threads stopped".into()))?;
        Ok(AutoPost {
            saml_response: STANDARD.encode(xml?),
            acs_url: target.acs_url,
            relay_state: target.relay_state,
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
