//! One seam over everything the bridge remembers: login tickets, IdP sessions, parked
//! AuthnRequests, replay ids and account mappings. Two real backends sit behind it: Redis for
//! production (shared by several bridge processes) and an in-memory map for the embedded default
//! and fast tests. The same contract tests run against both.
//!
//! Browser-facing secrets are stored under their SHA-256 ([`crate::random::token_digest`]), never
//! in clear. Every value expires by TTL, and flows also check the expiry stored inside the value
//! against their own clock, so tests can move time on either backend.

pub mod memory;
pub mod redis;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::fields::XUserId;

/// The store could not answer. The flow turns this into a 503 and changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend is unreachable or failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be decoded.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
}

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

/// An IdP session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The partner user.
    pub x_user_id: XUserId,
    /// Name attribute.
    pub name: Option<String>,
    /// E-mail attribute.
    pub email: Option<String>,
    /// Mobile attribute.
    pub mobile: Option<String>,
    /// Site the session was opened for.
    pub site: String,
    /// `service` the user was sent to (for later return steps).
    pub service: Option<String>,
    /// Public SessionIndex put in assertions (not the cookie secret).
    pub session_index: String,
    /// Unix time of login.
    pub created_at: i64,
    /// Unix time after which the session is void whatever its activity.
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

/// Where a mapping came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingSource {
    /// Registered by the partner platform through the API.
    Api,
    /// Reported by Huawei's bind-result notification.
    BindNotification,
}

/// A partner user's Huawei account on one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Huawei account id.
    pub domain_id: String,
    /// Huawei account name.
    pub domain_name: String,
    /// Huawei IAM user id, when known.
    pub user_id: Option<String>,
    /// Huawei IAM user name, when known.
    pub user_name: Option<String>,
    /// Origin.
    pub source: MappingSource,
    /// Unix time of creation.
    pub created_at: i64,
    /// Unix time of last change.
    pub updated_at: i64,
}

/// Kinds of single keys, each with its own key namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Ticket,
    Session,
    Pending,
    RequestId,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Session => "session",
            Self::Pending => "pending",
            Self::RequestId => "request-id",
        }
    }
}

/// The store: a closed set of backends.
#[derive(Clone)]
pub enum Store {
    /// In-process.
    Memory(memory::MemoryStore),
    /// Redis.
    Redis(redis::RedisStore),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Memory(_) => "Store::Memory",
            Self::Redis(_) => "Store::Redis",
        })
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes
        .map(|b| serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

macro_rules! backend {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            Store::Memory($b) => $e,
            Store::Redis($b) => $e,
        }
    };
}

impl Store {
    /// Checks the backend answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        backend!(self, b => b.ping().await)
    }

    /// Stores a ticket under its digest.
    pub async fn put_ticket(
        &self,
        digest: &str,
        ticket: &Ticket,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let value = encode(ticket)?;
        backend!(self, b => b.set(Kind::Ticket, digest, &value, ttl).await)
    }

    /// Removes and returns a ticket in one atomic step, so it can be used once only (A10).
    pub async fn take_ticket(&self, digest: &str) -> Result<Option<Ticket>, StoreError> {
        decode(backend!(self, b => b.take(Kind::Ticket, digest).await)?)
    }

    /// Stores a session with its idle timeout.
    pub async fn put_session(
        &self,
        digest: &str,
        session: &Session,
        idle: Duration,
    ) -> Result<(), StoreError> {
        let value = encode(session)?;
        backend!(self, b => b.set(Kind::Session, digest, &value, idle).await)
    }

    /// Reads a session and restarts its idle timeout.
    pub async fn touch_session(
        &self,
        digest: &str,
        idle: Duration,
    ) -> Result<Option<Session>, StoreError> {
        decode(backend!(self, b => b.get_touch(Kind::Session, digest, idle).await)?)
    }

    /// Ends a session.
    pub async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        backend!(self, b => b.delete(Kind::Session, digest).await)
    }

    /// Parks a verified request under a state id digest.
    pub async fn put_pending(
        &self,
        digest: &str,
        pending: &PendingRequest,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let value = encode(pending)?;
        backend!(self, b => b.set(Kind::Pending, digest, &value, ttl).await)
    }

    /// Reads a parked request without consuming it (ticket creation checks it exists).
    pub async fn peek_pending(&self, digest: &str) -> Result<Option<PendingRequest>, StoreError> {
        decode(backend!(self, b => b.get(Kind::Pending, digest).await)?)
    }

    /// Removes and returns a parked request atomically: it is answered once only.
    pub async fn take_pending(&self, digest: &str) -> Result<Option<PendingRequest>, StoreError> {
        decode(backend!(self, b => b.take(Kind::Pending, digest).await)?)
    }

    /// Records an AuthnRequest ID; true on its first use, false when seen before (A10). Atomic
    /// across processes sharing the store.
    pub async fn first_use_of_request_id(
        &self,
        sp_entity_id: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let key = crate::random::token_digest(&format!("{sp_entity_id}\n{id}"));
        backend!(self, b => b.set_if_absent(Kind::RequestId, &key, b"1", ttl).await)
    }

    /// The mapping of a partner user on a site.
    pub async fn get_mapping(
        &self,
        site: &str,
        x_user_id: &XUserId,
    ) -> Result<Option<Mapping>, StoreError> {
        decode(backend!(self, b => b.mapping_get(site, x_user_id.as_str()).await)?)
    }

    /// Creates or replaces a mapping.
    pub async fn put_mapping(
        &self,
        site: &str,
        x_user_id: &XUserId,
        mapping: &Mapping,
    ) -> Result<(), StoreError> {
        let value = encode(mapping)?;
        backend!(self, b => b.mapping_put(site, x_user_id.as_str(), &value).await)
    }
}

/// Whole seconds of a TTL, at least one.
pub(crate) fn ttl_secs(ttl: Duration) -> u64 {
    u64::try_from(ttl.whole_seconds()).unwrap_or(0).max(1)
}
