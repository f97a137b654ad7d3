//! Huawei's bind-result notification (docs/protocol.md §Bind-result), delivered by the customer's
//! browser as a cross-site form POST, and the rule that ties it to this bridge
//! (docs/security.md A15).
//!
//! Huawei signs only `{domainName, domainId, xUserId, bindAction}` with one key for all partners;
//! nothing in it names this partner, the browser or a time, and it passes through end users'
//! browsers. So the signature proves Huawei said it, not that it is about a jump this bridge
//! made. The POST therefore only verifies and parks the notification; the same-site GET step
//! that follows (which carries the SameSite=Lax session cookie) applies it only when the browser
//! holds a live session of the same site and `xUserId` in which the bridge issued an assertion
//! within the bind window (the pending jump), and consumes that jump atomically with the mapping
//! change. Anything else changes no mapping and is kept as an `unconfirmed` event for the partner
//! to review. This replaces a content-digest replay memory, which both let old notifications
//! through after it expired and dropped a legitimate bind → unbind → bind of one account.

use time::Duration;

use super::{Bridge, FlowError, unix};
use crate::huawei::bind_notification::{self, BindAction, BindForm};
use crate::random::{self, SecretDigest};
use crate::store::mappings::UnconfirmedReason;
use crate::store::{BindOutcome, Change, Continuation, MappingSource, UnbindOutcome, Unconfirmed};

/// How long the GET step may follow the POST.
const CONTINUATION_TTL: Duration = Duration::minutes(5);
/// How long an unconfirmed notification is remembered so that posting it again adds no second
/// event. Kept because one captured notification could otherwise be posted endlessly, each copy
/// pushing a real event out of the bounded event log; a day covers any retry by the customer.
const UNCONFIRMED_MEMORY: Duration = Duration::days(1);

/// Actor recorded for changes Huawei reported.
pub const HUAWEI_ACTOR: &str = "huawei";

/// What the POST did; the web layer answers 303 to the continue URL with `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindResult {
    /// Continuation token for the GET step.
    pub token: String,
    /// Which bytes Huawei's signature covered.
    pub signed_over: &'static str,
}

/// What the GET step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindApplied {
    /// Where the browser goes next.
    pub location: String,
    /// What happened, for the log: `bound`, `updated`, `unchanged`, `unbound`, `absent`, or
    /// `expired` (no live continuation).
    pub outcome: &'static str,
}

/// The store key of "this notification has a continuation outstanding".
fn receipt_marker(site: &str, notification_digest: &str) -> String {
    random::token_digest(&format!("{site}\n{notification_digest}"))
}

impl Bridge {
    /// Verifies a notification for `site` and parks it for the GET step. Changes no mapping.
    pub async fn bind_result(&self, site: &str, body: &[u8]) -> Result<BindResult, FlowError> {
        let now = self.clock.now();
        let site = self
            .settings
            .site(Some(site))
            .ok_or(FlowError::UnknownSite)?;
        let form = BindForm::parse(body)?;
        // RSA verification (two readings of what is signed, each key) on the CPU pool.
        let keys = site.sp.signing_keys.clone();
        let n = self
            .cpu
            .run(move || bind_notification::verify(&form, &keys))
            .await??;
        let marker = receipt_marker(site.name.as_str(), &n.digest);
        let token = random::token()?;
        let token_digest = SecretDigest::of(&token);
        let continuation = Continuation {
            site: site.name.as_str().to_owned(),
            x_user_id: n.x_user_id,
            unbind: n.action == BindAction::Unbind,
            fields: n.fields,
            digest: n.digest,
            expires_at: unix(now + CONTINUATION_TTL),
        };
        self.store
            .put_continuation(&token_digest, &continuation, CONTINUATION_TTL)
            .await?;
        // One continuation per notification at a time, and the latest wins: a captured
        // notification posted again and again stores nothing more, and one posted ahead of the
        // customer's own cannot take the customer's place (their POST replaces it).
        if let Some(replaced) = self
            .store
            .replace_outstanding_continuation(&marker, &token_digest, CONTINUATION_TTL)
            .await?
            .filter(|old| *old != token_digest)
        {
            self.store.take_continuation(&replaced).await?;
        }
        Ok(BindResult {
            token,
            signed_over: n.signed_over.as_str(),
        })
    }

    /// The same-site GET step: applies the parked notification when the browser's session is
    /// the notified user's on that site with a pending jump (consumed with the change), then
    /// sends the browser to the `service` remembered in the session (or the site's default).
    /// Without a live continuation, to the partner's landing page. Otherwise the notification is
    /// recorded as `unconfirmed` and the customer sees a page saying so.
    pub async fn bind_continue(
        &self,
        site: &str,
        token: Option<&str>,
        session_cookie: Option<&str>,
    ) -> Result<BindApplied, FlowError> {
        let now = unix(self.clock.now());
        let landing = BindApplied {
            location: self.settings.partner_landing_url.to_string(),
            outcome: "expired",
        };
        let Some(site) = self.settings.site(Some(site)) else {
            return Ok(landing);
        };
        let continuation = match token.filter(|t| random::is_token_shaped(t)) {
            Some(t) => self.store.take_continuation(&SecretDigest::of(t)).await?,
            None => None,
        };
        // Taken (live or not): the same notification may be received again (a re-bind after an
        // unbind is byte-identical), still never with more than one continuation outstanding.
        if let Some(c) = &continuation {
            self.store
                .forget_receipt_of_notification(&receipt_marker(&c.site, &c.digest))
                .await?;
        }
        let Some(n) = continuation.filter(|c| c.expires_at > now && c.site == site.name) else {
            return Ok(landing);
        };
        let digest = session_cookie
            .filter(|c| random::is_token_shaped(c))
            .map(SecretDigest::of);
        let session = match &digest {
            Some(d) => self.store.get_session(d).await?,
            None => None,
        }
        .filter(|s| s.absolute_expires_at > now);
        let change = Change {
            site: &site.name,
            x_user_id: &n.x_user_id,
            source: MappingSource::BindNotification,
            actor: HUAWEI_ACTOR,
            now,
        };
        let refused = match (&session, &digest) {
            (None, _) | (_, None) => Some(UnconfirmedReason::NoSession),
            (Some(s), _) if s.site != site.name => Some(UnconfirmedReason::OtherSite),
            (Some(s), _) if s.x_user_id != n.x_user_id => Some(UnconfirmedReason::OtherUser),
            _ => None,
        };
        let applied = match (refused, &digest) {
            (None, Some(jump)) => self.apply(&change, &n, jump).await?,
            _ => None,
        };
        let Some(outcome) = applied else {
            let reason = refused.unwrap_or(UnconfirmedReason::NoPendingJump);
            let event = Unconfirmed {
                change,
                fields: &n.fields,
                action: if n.unbind { "unbind" } else { "bind" },
                reason,
            };
            // One event per notification, reason and browser session a day: a flood of one
            // captured notification adds one line, while the same notification refused for
            // another reason (or in another browser) is still recorded.
            // Only a session that exists names a browser: random cookies do not mint new keys.
            let browser = digest
                .as_ref()
                .map(SecretDigest::as_str)
                .filter(|_| session.is_some())
                .unwrap_or("-");
            let dedupe = random::token_digest(&format!(
                "{}\n{}\n{}\n{browser}",
                site.name,
                n.digest,
                reason.as_str()
            ));
            self.store
                .record_unconfirmed(&event, &dedupe, UNCONFIRMED_MEMORY)
                .await?;
            return Err(FlowError::BindUnconfirmed(reason.as_str()));
        };
        let location = session
            .and_then(|s| s.service)
            .unwrap_or_else(|| site.default_service.to_string());
        Ok(BindApplied { location, outcome })
    }

    /// Applies a notification with the pending jump of session `jump`; `None` when no jump was
    /// live (nothing changed).
    async fn apply(
        &self,
        change: &Change<'_>,
        n: &Continuation,
        jump: &SecretDigest,
    ) -> Result<Option<&'static str>, FlowError> {
        Ok(Some(if n.unbind {
            match self
                .store
                .unbind_mapping(change, Some(&n.fields.domain_id), Some(jump))
                .await?
            {
                UnbindOutcome::Removed(_) => "unbound",
                UnbindOutcome::NotFound => "absent",
                UnbindOutcome::OtherDomain(_) => return Err(FlowError::MappingMismatch),
                UnbindOutcome::NoJump => return Ok(None),
            }
        } else {
            match self
                .store
                .bind_mapping(change, &n.fields, Some(jump))
                .await?
            {
                BindOutcome::Created(_) => "bound",
                BindOutcome::Updated(_) => "updated",
                BindOutcome::Unchanged(_) => "unchanged",
                BindOutcome::Conflict { .. } => return Err(FlowError::DomainConflict),
                BindOutcome::NoJump => return Ok(None),
            }
        }))
    }
}
