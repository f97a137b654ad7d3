//! Single logout (`GET /saml/slo`) and return redirects (`GET /return/{site}/{kind}`).

use std::sync::Arc;

use time::OffsetDateTime;

use super::sso::{csrf_matches, csrf_token};
use super::{Bridge, FlowError, unix};
use crate::random::{self, SecretDigest};
use saml::authn_request::Freshness;
use saml::logout;
use saml::redirect::{MessageKind, encode_signed_query};

/// What `/saml/slo` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Go to `location` (the SP's SLO ResponseLocation with a signed LogoutResponse, or the
    /// partner's post-logout page) after ending `ended` sessions.
    Done {
        /// Redirect target.
        location: String,
        /// Sessions ended.
        ended: usize,
    },
    /// A plain GET while a session is live: ask the customer first, with this anti-CSRF token
    /// (docs/security.md A20: a link or image elsewhere must not be able to log anyone out).
    Confirm {
        /// Token for the confirmation form.
        csrf: String,
    },
}

/// Purpose label of the logout confirmation token.
pub const LOGOUT_PURPOSE: &str = "logout";

impl Bridge {
    /// Handles `GET /saml/slo`. With SAML parameters: a signed LogoutRequest, verified like the
    /// AuthnRequest, ends the sessions it names, each only if the session is of the request's
    /// site and carries the request's NameID, found by `SessionIndex` (or, without one, the
    /// browser's session), and is answered with a signed LogoutResponse whose status says
    /// whether anything matched (docs/security.md A24). Without SAML parameters: a live session is
    /// ended only after the customer confirms ([`Bridge::logout_confirmed`]); without one,
    /// straight to the partner's post-logout page.
    pub async fn logout(
        &self,
        raw_query: &str,
        session_cookie: Option<&str>,
    ) -> Result<LogoutOutcome, FlowError> {
        let now = self.clock.now();
        let cookie = session_cookie.filter(|c| random::is_token_shaped(c));
        if !raw_query.split('&').any(|p| p.starts_with("SAMLRequest=")) {
            let live = match cookie {
                Some(c) => self
                    .store
                    .get_session(&SecretDigest::of(c))
                    .await?
                    .is_some_and(|s| s.absolute_expires_at > unix(now)),
                None => false,
            };
            return Ok(match cookie.filter(|_| live) {
                Some(c) => LogoutOutcome::Confirm {
                    csrf: csrf_token(c, LOGOUT_PURPOSE),
                },
                None => LogoutOutcome::Done {
                    location: self.settings.partner_logout_url.to_string(),
                    ended: 0,
                },
            });
        }
        let freshness = Freshness {
            max_age: self.settings.idp.request_max_age,
            skew: self.settings.idp.clock_skew,
        };
        let query = raw_query.to_owned();
        let (request, site) = self
            .check_on_pool(move |settings| {
                logout::verify_redirect(
                    &query,
                    &settings.sites,
                    &settings.slo_url(),
                    now,
                    freshness,
                )
            })
            .await?;
        let replay_ttl = freshness.max_age + freshness.skew + freshness.skew;
        if !self
            .store
            .first_use_of_logout_request_id(&request.issuer, &request.id, replay_ttl)
            .await?
        {
            return Err(FlowError::Replayed);
        }
        let mut digests = Vec::new();
        for index in &request.session_indexes {
            if let Some(d) = self.store.session_by_index(index).await? {
                digests.push(d);
            }
        }
        if request.session_indexes.is_empty() {
            digests.extend(cookie.map(SecretDigest::of));
        }
        let mut ended = 0;
        for d in &digests {
            let matches = self.store.get_session(d).await?.is_some_and(|s| {
                s.site == site.name
                    && s.name_id == request.name_id
                    && s.absolute_expires_at > unix(now)
            });
            if matches {
                self.store.delete_session(d).await?;
                ended += 1;
            }
        }
        let location = match site.sp.redirect_slo() {
            Some(slo) => {
                self.signed_logout_response(&slo.response_location, &request, now, ended > 0)
                    .await?
            }
            None => self.settings.partner_logout_url.to_string(),
        };
        Ok(LogoutOutcome::Done { location, ended })
    }

    /// The confirmation POST of a plain logout: ends the browser's session when the anti-CSRF
    /// token belongs to it; returns the partner's post-logout page.
    pub async fn logout_confirmed(
        &self,
        session_cookie: Option<&str>,
        csrf: &str,
    ) -> Result<LogoutOutcome, FlowError> {
        let cookie = session_cookie
            .filter(|c| random::is_token_shaped(c))
            .ok_or(FlowError::SessionGone)?;
        if !csrf_matches(csrf, cookie, LOGOUT_PURPOSE) {
            return Err(FlowError::BadCsrf);
        }
        let digest = SecretDigest::of(cookie);
        let ended = usize::from(self.store.get_session(&digest).await?.is_some());
        self.store.delete_session(&digest).await?;
        Ok(LogoutOutcome::Done {
            location: self.settings.partner_logout_url.to_string(),
            ended,
        })
    }

    /// The signed LogoutResponse redirect; the RSA signature runs on the CPU pool.
    async fn signed_logout_response(
        &self,
        destination: &str,
        request: &logout::LogoutRequest,
        now: OffsetDateTime,
        ended: bool,
    ) -> Result<String, FlowError> {
        let xml = logout::response_xml(
            &self.ids.next_id()?,
            &request.id,
            destination,
            &self.settings.idp.entity_id,
            now,
            ended,
        );
        let signer = Arc::clone(&self.settings.idp.signer);
        let relay = request.relay_state.clone();
        let query = self
            .cpu
            .run_admitted(move || {
                encode_signed_query(MessageKind::Response, &xml, relay.as_deref(), |data| {
                    signer.sign_bytes(data)
                })
            })
            .await??;
        let sep = if destination.contains('?') { '&' } else { '?' };
        Ok(format!("{destination}{sep}{query}"))
    }
}
