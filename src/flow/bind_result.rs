//! Huawei's bind-result notification (spec §5), delivered by the customer's browser as a
//! cross-site form POST. The POST is authenticated by its signature alone (a SameSite=Lax
//! cookie is not sent with it); it records the result, then hands over to a same-site GET step
//! that may read the session to pick where the browser goes.

use time::Duration;

use super::{Bridge, FlowError, unix};
use crate::bind_notification::{self, BindAction, BindForm};
use crate::fields::XUserId;
use crate::random;
use crate::store::{BindOutcome, Change, Continuation, MappingSource, UnbindOutcome};

/// How long a processed notification is remembered, so that a replay changes nothing even
/// after later changes to the mapping.
const NOTIFICATION_MEMORY: Duration = Duration::days(30);
/// How long the GET step may follow the POST.
const CONTINUATION_TTL: Duration = Duration::minutes(5);

/// Actor recorded for changes Huawei reported.
pub const HUAWEI_ACTOR: &str = "huawei";

/// What the POST did; the web layer answers 303 to the continue URL with `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindResult {
    /// Continuation token for the GET step.
    pub token: String,
    /// What happened, for the log: `bound`, `updated`, `unchanged`, `unbound`, `absent`, `replay`.
    pub outcome: &'static str,
    /// Which bytes Huawei's signature covered.
    pub signed_over: &'static str,
}

impl Bridge {
    /// Verifies and applies a notification for `site`. Nothing changes unless the signature
    /// verifies with that site's SP keys and the payload is complete.
    pub async fn bind_result(&self, site: &str, body: &[u8]) -> Result<BindResult, FlowError> {
        let now = self.clock.now();
        let site = self
            .settings
            .site(Some(site))
            .ok_or(FlowError::UnknownSite)?;
        let form = BindForm::parse(body)?;
        let n = bind_notification::verify(&form, &site.sp.signing_keys)?;
        let seen_key = random::token_digest(&format!("{}\n{}", site.name, n.digest));
        let outcome = if self.store.notification_seen(&seen_key).await? {
            "replay"
        } else {
            let change = Change {
                site: &site.name,
                x_user_id: n.x_user_id.as_str(),
                source: MappingSource::BindNotification,
                actor: HUAWEI_ACTOR,
                now: unix(now),
            };
            let outcome = match n.action {
                BindAction::Bind => match self.store.bind_mapping(&change, &n.fields).await? {
                    BindOutcome::Created(_) => "bound",
                    BindOutcome::Updated(_) => "updated",
                    BindOutcome::Unchanged(_) => "unchanged",
                    BindOutcome::Conflict { .. } => return Err(FlowError::DomainConflict),
                },
                BindAction::Unbind => match self
                    .store
                    .unbind_mapping(&change, Some(&n.fields.domain_id))
                    .await?
                {
                    UnbindOutcome::Removed(_) => "unbound",
                    UnbindOutcome::NotFound => "absent",
                    UnbindOutcome::OtherDomain(_) => return Err(FlowError::MappingMismatch),
                },
            };
            // Remembered only once applied: a store failure before this point lets Huawei's
            // (or the user's) retry through, and applying twice is idempotent anyway.
            self.store
                .remember_notification(&seen_key, NOTIFICATION_MEMORY)
                .await?;
            outcome
        };
        let token = random::token()?;
        let continuation = Continuation {
            site: site.name.clone(),
            x_user_id: n.x_user_id.clone(),
            expires_at: unix(now + CONTINUATION_TTL),
        };
        self.store
            .put_continuation(
                &random::token_digest(&token),
                &continuation,
                CONTINUATION_TTL,
            )
            .await?;
        Ok(BindResult {
            token,
            outcome,
            signed_over: n.signed_over.as_str(),
        })
    }

    /// The same-site GET step: where the browser goes after a notification. With a live session
    /// of the notified user, to the `service` remembered in it (or the site's default service);
    /// otherwise to the partner's landing page. The target never comes from the request.
    pub async fn bind_continue(
        &self,
        site: &str,
        token: Option<&str>,
        session_cookie: Option<&str>,
    ) -> Result<String, FlowError> {
        let now = unix(self.clock.now());
        let landing = self.settings.partner_landing_url.to_string();
        let Some(site) = self.settings.site(Some(site)) else {
            return Ok(landing);
        };
        let continuation = match token.filter(|t| random::is_token_shaped(t)) {
            Some(t) => {
                self.store
                    .take_continuation(&random::token_digest(t))
                    .await?
            }
            None => None,
        }
        .filter(|c| c.expires_at > now && c.site == site.name);
        let Some(continuation) = continuation else {
            return Ok(landing);
        };
        let session = match session_cookie.filter(|c| random::is_token_shaped(c)) {
            Some(c) => self.store.get_session(&random::token_digest(c)).await?,
            None => None,
        }
        .filter(|s| {
            s.absolute_expires_at > now
                && s.site == site.name
                && same_user(&s.x_user_id, &continuation.x_user_id)
        });
        Ok(match session {
            Some(s) => s
                .service
                .unwrap_or_else(|| site.default_service.to_string()),
            None => landing,
        })
    }
}

fn same_user(a: &XUserId, b: &XUserId) -> bool {
    a == b
}
