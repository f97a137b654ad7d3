//! Values kept for the browser flow: tickets, sessions, parked requests.

use serde::{Deserialize, Serialize};

use crate::fields::XUserId;

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
    /// Site name.
    pub site: String,
    /// `service` target, already validated against the site.
    pub service: Option<String>,
    /// State id of a parked AuthnRequest to answer directly.
    pub resume: Option<String>,
    /// Unix time after which the ticket is void.
    pub expires_at: i64,
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
    /// Site the session was opened for.
    #[serde(rename = "s")]
    pub site: String,
    /// `service` the user was sent to (for later return steps).
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Public SessionIndex put in assertions (not the cookie secret).
    #[serde(rename = "i")]
    pub session_index: String,
    /// Unix time of login.
    #[serde(rename = "c")]
    pub created_at: i64,
    /// Unix time after which the session is void whatever its activity.
    #[serde(rename = "x")]
    pub absolute_expires_at: i64,
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

/// What the bind-result POST leaves for its same-site GET step (issue 3: the POST must not
/// depend on the session cookie, the GET may read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// Site of the notification.
    pub site: String,
    /// The partner user the notification was about.
    pub x_user_id: XUserId,
    /// Unix time after which it is void.
    pub expires_at: i64,
}
