//! Values kept for the browser flow: tickets, sessions, parked requests.

use serde::{Deserialize, Serialize};

use crate::huawei::fields::XUserId;
use crate::store::MappingFields;

/// What a login ticket carries from the partner API to `/sso/start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The partner user.
    pub x_user_id: XUserId,
    /// Optional profile fields, already validated.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// Name shown to the user on the confirmation page (never sent to Huawei).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Site name.
    pub site: String,
    /// `service` target, already validated against the site.
    pub service: Option<String>,
    /// State id of a parked AuthnRequest to answer directly.
    pub resume: Option<String>,
    /// Unix time after which the ticket is void.
    pub expires_at: i64,
    /// Which partner API key created it (`api:<first 8 hex digits of its hash>`, never the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

/// An IdP session. Field names are one letter in the store: a session is the object kept in
/// the largest numbers, and bench/RESULTS.md holds it under 1 KB of Redis memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The partner user.
    #[serde(rename = "u")]
    pub x_user_id: XUserId,
    /// Name attribute.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail attribute.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Mobile attribute.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Name shown on the confirmation page.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Site the session was opened for.
    #[serde(rename = "s")]
    pub site: String,
    /// `service` the user was sent to (for later return steps).
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Public SessionIndex put in assertions (not the cookie secret).
    #[serde(rename = "i")]
    pub session_index: String,
    /// The transient NameID of every assertion of this session (saml-core §8.3.8 lets a
    /// transient identifier live for the session): single logout must name it
    /// (docs/security.md A24).
    #[serde(rename = "t")]
    pub name_id: String,
    /// Unix time of login (ticket redemption): the assertions' `AuthnInstant`.
    #[serde(rename = "c")]
    pub created_at: i64,
    /// Unix time after which the session is void whatever its activity.
    #[serde(rename = "x")]
    pub absolute_expires_at: i64,
    /// Unix time the bridge last sent this browser to Huawei for the session's site (or answered
    /// after the customer confirmed). An AuthnRequest is answered without asking only shortly
    /// after it (docs/security.md A23).
    #[serde(rename = "j", default, skip_serializing_if = "Option::is_none")]
    pub jumped_at: Option<i64>,
    /// The customer has not yet confirmed who they are signing in as (first login,
    /// docs/security.md A16): the session yields no assertion until they do.
    #[serde(rename = "k", default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_confirmation: bool,
    /// Digest of the parked AuthnRequest to answer once the customer confirms.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub resume_digest: Option<crate::random::SecretDigest>,
    /// The API key that created the ticket of this login ([`Ticket::issued_by`]), for support.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

/// A verified AuthnRequest parked while the user logs in at the partner platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// Site of the requesting SP.
    pub site: String,
    /// SP entityID.
    pub sp_entity_id: String,
    /// Request ID (our InResponseTo).
    pub request_id: String,
    /// ACS chosen from the metadata.
    pub acs_url: String,
    /// RelayState to echo.
    pub relay_state: Option<String>,
    /// Unix time after which the parked request is void.
    pub expires_at: i64,
}

/// A verified bind-result notification, parked by the POST for its same-site GET step (the POST
/// must not depend on the session cookie, the GET reads it and decides, docs/security.md A15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// Site of the notification.
    pub site: String,
    /// The partner user the notification was about.
    pub x_user_id: XUserId,
    /// `bindAction` 1 (unbind) rather than 0 (bind).
    pub unbind: bool,
    /// The Huawei account it names.
    pub fields: MappingFields,
    /// Digest of the signed JSON (remembers an unconfirmed notification once).
    pub digest: String,
    /// Unix time after which it is void.
    pub expires_at: i64,
}

impl Session {
    /// True when the session may still be used for `site` at `now` (its absolute timeout; the
    /// idle timeout is the store's TTL).
    pub fn is_live_for(&self, site: &str, now: i64) -> bool {
        self.site == site && self.absolute_expires_at > now
    }

    /// True when an AuthnRequest may be answered from this session without asking the customer:
    /// they confirmed who they are (docs/security.md A16) and the bridge sent this browser to
    /// Huawei for this site at most `jump_window` seconds ago (docs/security.md A23).
    /// `lua/sso_lookup.lua` applies the same rule inside Redis; the contract tests run it on both
    /// backends.
    pub fn answers_silently(&self, now: i64, jump_window: i64) -> bool {
        !self.awaiting_confirmation && self.jumped_at.is_some_and(|j| now - j <= jump_window)
    }
}
