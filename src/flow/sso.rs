//! The SSO flow: login tickets, `/sso/start`, Huawei's AuthnRequest, and the customer's
//! confirmation (`POST /sso/confirm`) that stands between a session and an assertion whenever
//! the bridge cannot be sure the customer asked for it (docs/security.md A16, A23).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::huawei::fields::{self, FieldError, XUserId};
use crate::huawei::links;
use crate::random::{self, SecretDigest};
use crate::store::{PendingRequest, Replay, Session, SessionLifetimes, SsoRules, Ticket};
use saml::authn_request::{self, Freshness};
use saml::response::{self, HuaweiAttributes, ResponseParams};

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
    /// Name shown to the customer on the confirmation page (never sent to Huawei).
    pub display_name: Option<String>,
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

/// Where the browser goes once a session may be used.
#[derive(Debug)]
pub enum Onward {
    /// Send the browser to Huawei's login URL (`xAccountType`, `isFirstLogin`, `service`).
    ToHuawei(String),
    /// Answer a parked request directly.
    Answer(AutoPost),
    /// Ask the customer to confirm who they are signing in as first.
    Confirm(Confirmation),
}

/// What `/sso/start` does next: the new session to set, and where the browser goes.
#[derive(Debug)]
pub struct StartOutcome {
    /// The session to set.
    pub session: NewSession,
    /// Next step.
    pub next: Onward,
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
    /// The session is not one the bridge just sent to Huawei, or its customer has not
    /// confirmed: the request is parked and the customer confirms first
    /// (docs/security.md A16, A23).
    Confirm(Confirmation),
}

/// Why the customer is asked to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmReason {
    /// First jump of a partner user without a mapping: Huawei will offer to create or link an
    /// account (docs/security.md A16).
    FirstLogin,
    /// Huawei asked for a sign-in that this bridge did not just start (docs/security.md A23).
    NotStartedHere,
}

/// The confirmation page's content: who is signing in, and the form's hidden values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// Why.
    pub reason: ConfirmReason,
    /// The partner's name for the user, when it gave one.
    pub display_name: Option<String>,
    /// The partner user id.
    pub x_user_id: String,
    /// E-mail, masked.
    pub email: Option<String>,
    /// Mobile, masked.
    pub mobile: Option<String>,
    /// Anti-CSRF token bound to the session cookie.
    pub csrf: String,
    /// State of the parked request the confirmation answers, when there is one.
    pub state: Option<String>,
}

/// What the customer answered on the confirmation page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmChoice {
    /// Go on to Huawei.
    Continue,
    /// "This is not me": end the session.
    Cancel,
}

/// What `POST /sso/confirm` does next.
#[derive(Debug)]
pub enum ConfirmOutcome {
    /// Continue: to Huawei, or answer the parked request.
    Onward(Onward),
    /// Cancelled: the session ended; go to this partner page.
    Cancelled(String),
}

/// The anti-CSRF token of a session's confirmation forms: a digest of the cookie secret with a
/// purpose label, so a page elsewhere cannot produce it and a copy of the store does not hold it.
pub fn csrf_token(cookie: &str, purpose: &str) -> String {
    random::token_digest(&format!("csrf\n{purpose}\n{cookie}"))
}

/// Compares a presented anti-CSRF token with the expected one in constant time.
pub(crate) fn csrf_matches(presented: &str, cookie: &str, purpose: &str) -> bool {
    let expected = csrf_token(cookie, purpose);
    presented.len() == expected.len()
        && openssl::memcmp::eq(presented.as_bytes(), expected.as_bytes())
}

/// Purpose label of the sign-in confirmation token.
pub const CONFIRM_PURPOSE: &str = "confirm";

/// `l***i@example.com`: enough for the owner to recognise, little for anyone else.
fn mask_email(email: &str) -> String {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return "***".into();
    };
    let mut chars = local.chars();
    let first = chars.next().unwrap_or('*');
    let last = chars.next_back().map(String::from).unwrap_or_default();
    format!("{first}***{last}@{domain}")
}

/// `0086-138****5678`: country code, the first three and the last four digits.
fn mask_mobile(mobile: &str) -> String {
    let (cc, number) = mobile.split_once('-').unwrap_or(("", mobile));
    let head: String = number.chars().take(3).collect();
    let tail: String = number
        .chars()
        .skip(number.chars().count().saturating_sub(4))
        .collect();
    format!("{cc}-{head}****{tail}")
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

    /// Creates a single-use login ticket for a partner user (docs/protocol.md §Flow step 1).
    /// Creates a single-use login ticket; `issued_by` is the API key's id, recorded with it.
    pub async fn create_ticket(
        &self,
        req: TicketRequest,
        issued_by: &str,
    ) -> Result<TicketCreated, FlowError> {
        let now = self.now();
        let x_user_id = XUserId::parse(&req.x_user_id)?;
        let name = optional(req.name, |v| fields::account_name("name", v))?;
        let email = optional(req.email, fields::email)?;
        let mobile = optional(req.mobile, fields::mobile)?;
        let display_name = optional(req.display_name, fields::display_name)?;
        // A resumed request decides the site: the partner cannot know it from the opaque state.
        let resumed = match req.resume.filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => {
                if !random::is_token_shaped(&r) {
                    return Err(FieldError {
                        field: "resume",
                        rule: "must be the resume value the bridge passed to the login page",
                    }
                    .into());
                }
                let pending = self.store.peek_pending(&SecretDigest::of(&r)).await?;
                match pending.filter(|p| p.expires_at > unix(now)) {
                    Some(p) => Some((r, p.site)),
                    // Well formed, but its parked request is gone (answered or expired).
                    None => return Err(FlowError::ResumeGone),
                }
            }
        };
        let site_name = match (req.site.as_deref().filter(|s| !s.is_empty()), &resumed) {
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
            display_name,
            site: site.name.as_str().to_owned(),
            service,
            resume,
            expires_at: unix(now + ttl),
            issued_by: Some(issued_by.to_owned()),
        };
        self.store
            .put_ticket(&SecretDigest::of(&ticket), &stored, ttl + EXPIRED_GRACE)
            .await?;
        Ok(TicketCreated {
            url: format!("{}/sso/start?ticket={ticket}", self.settings.public_url),
            ticket,
            expires_in: ttl.whole_seconds(),
        })
    }

    fn session_lifetimes(&self) -> SessionLifetimes {
        let l = &self.settings.lifetimes;
        SessionLifetimes {
            idle: l.session_idle,
            absolute: l.session_absolute,
            bind_window: l.bind_window,
        }
    }

    /// Redeems a ticket: opens a fresh session (docs/security.md A13), then sends the browser to
    /// Huawei, answers the parked request the ticket resumes, or, for a partner user without a
    /// mapping, asks the customer to confirm who they are first (docs/security.md A16).
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
            .take_ticket(&SecretDigest::of(ticket))
            .await?
            .ok_or(FlowError::TicketUnknown)?;
        if ticket.expires_at <= unix(now) {
            return Err(FlowError::TicketExpired);
        }
        let site = self
            .settings
            .site(Some(&ticket.site))
            .ok_or(FlowError::TicketUnknown)?;
        let first_login = self
            .store
            .get_mapping(&site.name, &ticket.x_user_id)
            .await?
            .is_none();
        let confirm = first_login && self.settings.first_login_confirmation;
        let resume_digest = ticket.resume.as_deref().map(SecretDigest::of);
        // A parked request is answered once: taken now, or left parked until the customer
        // confirms (then taken by `confirm`).
        let pending = match &resume_digest {
            Some(d) if !confirm => Some(self.take_pending_for(d, site.name.as_str(), now).await?),
            Some(d) => {
                self.store
                    .peek_pending(d)
                    .await?
                    .filter(|p| p.expires_at > unix(now) && p.site == site.name)
                    .ok_or(FlowError::ResumeUnknown)?;
                None
            }
            None => None,
        };
        if let Some(old) = old_session.filter(|c| random::is_token_shaped(c)) {
            self.store.delete_session(&SecretDigest::of(old)).await?;
        }
        let cookie = random::token()?;
        let session = Session {
            x_user_id: ticket.x_user_id.clone(),
            name: ticket.name.clone(),
            email: ticket.email.clone(),
            mobile: ticket.mobile.clone(),
            display_name: ticket.display_name.clone(),
            site: site.name.as_str().to_owned(),
            service: ticket.service.clone(),
            session_index: self.ids.next_id()?,
            name_id: self.ids.next_id()?,
            created_at: unix(now),
            absolute_expires_at: unix(now + self.settings.lifetimes.session_absolute),
            jumped_at: (!confirm).then_some(unix(now)),
            awaiting_confirmation: confirm,
            resume_digest: resume_digest.filter(|_| confirm),
            issued_by: ticket.issued_by.clone(),
        };
        self.store
            .put_session(
                &SecretDigest::of(&cookie),
                &session,
                self.session_lifetimes(),
                pending.is_some(),
            )
            .await?;
        let next = match pending {
            _ if confirm => Onward::Confirm(confirmation(
                &session,
                &cookie,
                ConfirmReason::FirstLogin,
                None,
            )),
            Some(p) => Onward::Answer(self.answer(&session, &p, now).await?),
            None => Onward::ToHuawei(self.huawei_location(&session, first_login)),
        };
        Ok(StartOutcome {
            session: NewSession { cookie },
            next,
        })
    }

    /// The customer's answer on the confirmation page (`POST /sso/confirm`), checked against the
    /// session's anti-CSRF token. Continuing marks the session confirmed and just-jumped, then
    /// answers the parked request (the one named by `state`, or the one the ticket resumed) or
    /// sends the browser to Huawei; cancelling ends the session.
    pub async fn confirm(
        &self,
        cookie: Option<&str>,
        csrf: &str,
        state: Option<&str>,
        choice: ConfirmChoice,
    ) -> Result<ConfirmOutcome, FlowError> {
        let now = self.now();
        let cookie = cookie
            .filter(|c| random::is_token_shaped(c))
            .ok_or(FlowError::SessionGone)?;
        if !csrf_matches(csrf, cookie, CONFIRM_PURPOSE) {
            return Err(FlowError::BadCsrf);
        }
        let digest = SecretDigest::of(cookie);
        let mut session = self
            .store
            .get_session(&digest)
            .await?
            .filter(|s| s.absolute_expires_at > unix(now))
            .ok_or(FlowError::SessionGone)?;
        if choice == ConfirmChoice::Cancel {
            self.store.delete_session(&digest).await?;
            return Ok(ConfirmOutcome::Cancelled(
                self.settings.partner_landing_url.to_string(),
            ));
        }
        let parked = match state.filter(|s| !s.is_empty()) {
            Some(s) if random::is_token_shaped(s) => Some(SecretDigest::of(s)),
            Some(_) => return Err(FlowError::ResumeUnknown),
            None => session.resume_digest.clone(),
        };
        let pending = match &parked {
            Some(d) => Some(self.take_pending_for(d, &session.site, now).await?),
            None => None,
        };
        session.awaiting_confirmation = false;
        session.resume_digest = None;
        session.jumped_at = Some(unix(now));
        if !self
            .store
            .update_session(
                &digest,
                &session,
                self.session_lifetimes(),
                pending.is_some(),
            )
            .await?
        {
            return Err(FlowError::SessionGone);
        }
        Ok(ConfirmOutcome::Onward(match pending {
            Some(p) => Onward::Answer(self.answer(&session, &p, now).await?),
            None => {
                // A site no longer configured has no mappings (and no login link either).
                let first_login = match self.settings.site(Some(&session.site)) {
                    Some(site) => self
                        .store
                        .get_mapping(&site.name, &session.x_user_id)
                        .await?
                        .is_none(),
                    None => true,
                };
                Onward::ToHuawei(self.huawei_location(&session, first_login))
            }
        }))
    }

    /// Takes the parked request `digest` if it is live and of `site`.
    async fn take_pending_for(
        &self,
        digest: &SecretDigest,
        site: &str,
        now: OffsetDateTime,
    ) -> Result<PendingRequest, FlowError> {
        self.store
            .take_pending(digest)
            .await?
            .filter(|p| p.expires_at > unix(now) && p.site == site)
            .ok_or(FlowError::ResumeUnknown)
    }

    /// Huawei's login URL for the session's site and service.
    fn huawei_location(&self, session: &Session, first_login: bool) -> String {
        let Some(site) = self.settings.site(Some(&session.site)) else {
            return self.settings.partner_landing_url.to_string();
        };
        let service = session
            .service
            .as_deref()
            .unwrap_or(site.default_service.as_str());
        links::login(site, first_login, service)
    }

    /// Handles Huawei's AuthnRequest (docs/protocol.md §Flow steps 3 and 4).
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
        let query = raw_query.to_owned();
        let (verified, site) = self
            .check_on_pool(move |settings| {
                authn_request::verify_redirect(
                    &query,
                    &settings.sites,
                    &settings.sso_url(),
                    now,
                    freshness,
                )
            })
            .await?;
        // Last check, the only one that writes, in one store round trip with the session read:
        // the ID is single-use across processes (docs/security.md A10), with a TTL covering every
        // instant at which the same request could still pass the freshness check. A passive
        // request without a session records nothing. ForceAuthn asks for a new login: the
        // session is not used.
        let cookie = session_cookie.filter(|c| random::is_token_shaped(c));
        let digest = cookie
            .filter(|_| !verified.request.force_authn)
            .map(SecretDigest::of);
        let lifetimes = &self.settings.lifetimes;
        let lookup = self
            .store
            .sso_lookup(
                digest.as_ref(),
                &verified.sp_entity_id,
                &verified.request.id,
                SsoRules {
                    site: &site.name,
                    now: unix(now),
                    idle: lifetimes.session_idle,
                    jump_window: lifetimes.jump_window,
                    bind_window: lifetimes.bind_window,
                    replay_ttl: freshness.max_age + freshness.skew + freshness.skew,
                    passive: verified.request.is_passive,
                    max_parked: lifetimes.max_parked_requests,
                    parked_ttl: lifetimes.pending_request,
                },
            )
            .await?;
        match lookup.replay {
            Replay::Seen => return Err(FlowError::Replayed),
            Replay::NotRecorded => return Err(FlowError::PassiveImpossible),
            // Slots free as parked requests are answered or expire: not within a second.
            Replay::Full => return Err(FlowError::Busy("parked-request limit reached", 30)),
            Replay::First => {}
        }
        let ttl = lifetimes.pending_request;
        let target = PendingRequest {
            site: site.name.as_str().to_owned(),
            sp_entity_id: verified.sp_entity_id,
            request_id: verified.request.id,
            acs_url: verified.acs_url,
            relay_state: verified.relay_state,
            expires_at: unix(now + ttl),
        };
        match (&lookup.session, cookie) {
            (Some(session), _) if lookup.silent => {
                return Ok(SsoOutcome::Answer(
                    self.answer(session, &target, now).await?,
                ));
            }
            _ if verified.request.is_passive => return Err(FlowError::PassiveImpossible),
            _ => {}
        }
        let state = random::token()?;
        self.store
            .put_pending(&SecretDigest::of(&state), &target, ttl + EXPIRED_GRACE)
            .await?;
        Ok(match (lookup.session, cookie) {
            (Some(session), Some(cookie)) => {
                let reason = if session.awaiting_confirmation {
                    ConfirmReason::FirstLogin
                } else {
                    ConfirmReason::NotStartedHere
                };
                SsoOutcome::Confirm(confirmation(&session, cookie, reason, Some(state)))
            }
            _ => SsoOutcome::ToPartnerLogin {
                location: links::append_query(
                    self.settings.partner_login_url.as_str(),
                    &[("resume", &state)],
                ),
            },
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
        let ids = (self.ids.next_id()?, self.ids.next_id()?);
        let sign = move || {
            let idp = &settings.idp;
            let (response_id, assertion_id) = ids;
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
                    name_id: &session.name_id,
                    session_index: &session.session_index,
                    attributes: &attributes,
                    sign_response: idp.sign_response,
                },
            );
            (xml, target)
        };
        let (xml, target) = self.cpu.run_admitted(sign).await?;
        Ok(AutoPost {
            saml_response: STANDARD.encode(xml?),
            acs_url: target.acs_url,
            relay_state: target.relay_state,
        })
    }
}

/// The confirmation page's content for `session`.
fn confirmation(
    session: &Session,
    cookie: &str,
    reason: ConfirmReason,
    state: Option<String>,
) -> Confirmation {
    Confirmation {
        reason,
        display_name: session.display_name.clone(),
        x_user_id: session.x_user_id.as_str().to_owned(),
        email: session.email.as_deref().map(mask_email),
        mobile: session.mobile.as_deref().map(mask_mobile),
        csrf: csrf_token(cookie, CONFIRM_PURPOSE),
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_contact_details() {
        assert_eq!(mask_email("zhangsan@example.com"), "z***n@example.com");
        assert_eq!(mask_email("a@example.com"), "a***@example.com");
        assert_eq!(mask_mobile("0086-13812345678"), "0086-138****5678");
        assert_eq!(mask_mobile("86-12345"), "86-123****2345");
    }

    #[test]
    fn csrf_tokens_are_bound_to_cookie_and_purpose() {
        let t = csrf_token("cookie-a", CONFIRM_PURPOSE);
        assert!(csrf_matches(&t, "cookie-a", CONFIRM_PURPOSE));
        assert!(!csrf_matches(&t, "cookie-b", CONFIRM_PURPOSE));
        assert!(!csrf_matches(&t, "cookie-a", "logout"));
        assert!(!csrf_matches("", "cookie-a", CONFIRM_PURPOSE));
    }
}
