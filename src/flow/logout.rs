//! Single logout (`GET /saml/slo`) and return redirects (`GET /return/{site}/{kind}`).

use time::OffsetDateTime;

use super::{Bridge, FlowError, append_query};
use crate::random;
use crate::saml::authn_request::Freshness;
use crate::saml::logout;
use crate::saml::redirect::{MessageKind, encode_signed_query};

/// Where the browser goes after logout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutOutcome {
    /// Redirect target: the SP's SLO ResponseLocation with a signed LogoutResponse, or the
    /// partner's post-logout page.
    pub location: String,
    /// Sessions ended.
    pub ended: usize,
}

impl Bridge {
    /// Handles `/saml/slo`. With SAML parameters: a signed LogoutRequest, verified like the
    /// AuthnRequest, ends the sessions it names (SessionIndex) or else the browser's session,
    /// and is answered with a signed LogoutResponse. Without: ends the browser's session and
    /// goes to the partner's post-logout page.
    pub async fn logout(
        &self,
        raw_query: &str,
        session_cookie: Option<&str>,
    ) -> Result<LogoutOutcome, FlowError> {
        let now = self.clock.now();
        let cookie_digest = session_cookie
            .filter(|c| random::is_token_shaped(c))
            .map(random::token_digest);
        if !raw_query.split('&').any(|p| p.starts_with("SAMLRequest=")) {
            let mut ended = 0;
            if let Some(d) = &cookie_digest {
                ended = usize::from(self.store.get_session(d).await?.is_some());
                self.store.delete_session(d).await?;
            }
            return Ok(LogoutOutcome {
                location: self.settings.partner_logout_url.to_string(),
                ended,
            });
        }
        let freshness = Freshness {
            max_age: self.settings.idp.request_max_age,
            skew: self.settings.idp.clock_skew,
        };
        let (request, site) = logout::verify_redirect(
            raw_query,
            |issuer| self.settings.site_by_sp(issuer),
            &self.settings.slo_url(),
            now,
            freshness,
        )?;
        let replay_ttl = freshness.max_age + freshness.skew + freshness.skew;
        if !self
            .store
            .first_use_of_request_id(&request.issuer, &request.id, replay_ttl)
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
            digests.extend(cookie_digest);
        }
        let mut ended = 0;
        for d in &digests {
            ended += usize::from(self.store.get_session(d).await?.is_some());
            self.store.delete_session(d).await?;
        }
        let location = match site.sp.redirect_slo() {
            Some(slo) => self.signed_logout_response(&slo.response_location, &request, now)?,
            None => self.settings.partner_logout_url.to_string(),
        };
        Ok(LogoutOutcome { location, ended })
    }

    fn signed_logout_response(
        &self,
        destination: &str,
        request: &logout::LogoutRequest,
        now: OffsetDateTime,
    ) -> Result<String, FlowError> {
        let xml = logout::response_xml(
            &random::xml_id()?,
            &request.id,
            destination,
            &self.settings.idp.entity_id,
            now,
        );
        let signer = &self.settings.idp.signer;
        let query = encode_signed_query(
            MessageKind::Response,
            &xml,
            request.relay_state.as_deref(),
            |data| signer.sign_bytes(data),
        )?;
        let sep = if destination.contains('?') { '&' } else { '?' };
        Ok(format!("{destination}{sep}{query}"))
    }

    /// Handles `/return/{site}/{kind}`: the configured partner URL, plus only the allow-listed
    /// query parameters, encoded again. `None` for an unknown site or kind (or one not configured).
    pub fn return_location(&self, site: &str, kind: &str, raw_query: &str) -> Option<String> {
        let site = self.settings.site(Some(site))?;
        let target = match kind {
            "payment-success" => site.payment_success_url.as_ref()?,
            "recharge" => site.recharge_url.as_ref()?,
            _ => return None,
        };
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
            .filter(|(name, value)| {
                site.return_params.iter().any(|p| p == name) && !value.chars().any(char::is_control)
            })
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        Some(append_query(target.as_str(), &borrowed))
    }
}
