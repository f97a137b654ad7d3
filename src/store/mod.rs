//! One seam over everything the bridge remembers: login tickets, IdP sessions, parked
//! AuthnRequests, replay ids and account mappings. Two real backends sit behind it: Redis for
//! production (shared by several bridge processes) and an in-memory map for the embedded default
//! and fast tests. The same contract tests run against both.
//!
//! Browser-facing secrets are stored under their SHA-256 ([`crate::random::token_digest`]), never
//! in clear. Every value expires by TTL, and flows also check the expiry stored inside the value
//! against their own clock, so tests can move time on either backend.

pub mod mappings;
pub mod memory;
pub mod redis;
pub mod types;

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::Duration;

use crate::fields::XUserId;
pub use mappings::{
    BindOutcome, Change, Event, EventId, EventKind, Mapping, MappingFields, MappingSource,
    UnbindOutcome,
};
pub use types::{Continuation, PendingRequest, Session, Ticket};

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

/// What happened to a request ID in [`Store::sso_lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// First use, now recorded.
    First,
    /// Seen before: a replay.
    Seen,
    /// Not recorded (passive request without a session).
    NotRecorded,
}

/// Kinds of single keys, each with its own key namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Ticket,
    Session,
    Pending,
    RequestId,
    SessionIndex,
    Notification,
    Continuation,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Session => "session",
            Self::Pending => "pending",
            Self::RequestId => "request-id",
            Self::SessionIndex => "session-index",
            Self::Notification => "notification",
            Self::Continuation => "continuation",
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

    /// Stores a new session with its idle timeout, and indexes it by user (for "end every
    /// session of this user") and by SessionIndex (for single logout) for `absolute`.
    pub async fn put_session(
        &self,
        digest: &str,
        session: &Session,
        idle: Duration,
        absolute: Duration,
    ) -> Result<(), StoreError> {
        let value = encode(session)?;
        let user = user_key(&session.x_user_id);
        backend!(self, b => b.session_put(digest, &value, idle, &user, &session.session_index, absolute).await)
    }

    /// Reads a session without touching it.
    pub async fn get_session(&self, digest: &str) -> Result<Option<Session>, StoreError> {
        decode(backend!(self, b => b.get(Kind::Session, digest).await)?)
    }

    /// Ends a session.
    pub async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        backend!(self, b => b.delete(Kind::Session, digest).await)
    }

    /// The digest of the session that issued `session_index`, if it may still live.
    pub async fn session_by_index(
        &self,
        session_index: &str,
    ) -> Result<Option<String>, StoreError> {
        let raw = backend!(self, b => b.get(Kind::SessionIndex, session_index).await)?;
        Ok(raw.and_then(|v| String::from_utf8(v).ok()))
    }

    /// Ends every session of a user; returns how many were live.
    pub async fn delete_user_sessions(&self, x_user_id: &XUserId) -> Result<usize, StoreError> {
        let user = user_key(x_user_id);
        backend!(self, b => b.session_delete_user(&user).await)
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

    /// Huawei's AuthnRequest in one step (one Redis round trip): reads the session named by
    /// `session_digest` (restarting its idle timer) and records the request ID as used (A10). A
    /// passive request without a session records nothing.
    pub async fn sso_lookup(
        &self,
        session_digest: Option<&str>,
        idle: Duration,
        sp_entity_id: &str,
        request_id: &str,
        replay_ttl: Duration,
        passive: bool,
    ) -> Result<(Option<Session>, Replay), StoreError> {
        let key = crate::random::token_digest(&format!("{sp_entity_id}\n{id}", id = request_id));
        let (raw, replay) = backend!(self, b => b.sso_lookup(session_digest, idle, &key, replay_ttl, passive).await)?;
        Ok((decode(raw)?, replay))
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

    /// True when a notification with this digest was already applied.
    pub async fn notification_seen(&self, digest: &str) -> Result<bool, StoreError> {
        Ok(backend!(self, b => b.get(Kind::Notification, digest).await)?.is_some())
    }

    /// Remembers an applied notification, so a replay changes nothing.
    pub async fn remember_notification(
        &self,
        digest: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        backend!(self, b => b.set(Kind::Notification, digest, b"1", ttl).await)
    }

    /// Stores a continuation for the bind-result GET step.
    pub async fn put_continuation(
        &self,
        digest: &str,
        value: &Continuation,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let value = encode(value)?;
        backend!(self, b => b.set(Kind::Continuation, digest, &value, ttl).await)
    }

    /// Takes a continuation (once).
    pub async fn take_continuation(
        &self,
        digest: &str,
    ) -> Result<Option<Continuation>, StoreError> {
        decode(backend!(self, b => b.take(Kind::Continuation, digest).await)?)
    }

    /// The mapping of a partner user on a site.
    pub async fn get_mapping(
        &self,
        site: &str,
        x_user_id: &XUserId,
    ) -> Result<Option<Mapping>, StoreError> {
        backend!(self, b => b.mapping_get(site, x_user_id.as_str()).await)
    }

    /// The partner user and mapping holding `domain_id` on a site (reverse index).
    pub async fn mapping_by_domain(
        &self,
        site: &str,
        domain_id: &str,
    ) -> Result<Option<(String, Mapping)>, StoreError> {
        backend!(self, b => b.mapping_by_domain(site, domain_id).await)
    }

    /// Creates or replaces a mapping atomically with its reverse index and an event; a
    /// domain_id held by another user is a conflict and changes nothing.
    pub async fn bind_mapping(
        &self,
        change: &Change<'_>,
        fields: &MappingFields,
    ) -> Result<BindOutcome, StoreError> {
        backend!(self, b => b.mapping_bind(change, fields).await)
    }

    /// Removes a mapping (only if it names `expected_domain`, when given), atomically with its
    /// reverse index and an event.
    pub async fn unbind_mapping(
        &self,
        change: &Change<'_>,
        expected_domain: Option<&str>,
    ) -> Result<UnbindOutcome, StoreError> {
        backend!(self, b => b.mapping_unbind(change, expected_domain).await)
    }

    /// Mappings of a site in x_user_id order, strictly after `after`, at most `limit`, and the
    /// last x_user_id scanned when the page was full (where the next page starts; a mapping
    /// removed while the page was read does not end the listing early).
    pub async fn list_mappings(
        &self,
        site: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Mapping)>, Option<String>), StoreError> {
        backend!(self, b => b.mapping_list(site, after, limit.min(mappings::MAX_PAGE)).await)
    }

    /// Events strictly after `after`, oldest first, at most `limit`.
    pub async fn events_after(
        &self,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        backend!(self, b => b.events_after(after, limit.min(mappings::MAX_PAGE)).await)
    }
}

/// The index key of a user's sessions: a digest, so user ids of any text are safe in key names.
fn user_key(x_user_id: &XUserId) -> String {
    crate::random::token_digest(x_user_id.as_str())
}

/// Whole seconds of a TTL, at least one.
pub(crate) fn ttl_secs(ttl: Duration) -> u64 {
    u64::try_from(ttl.whole_seconds()).unwrap_or(0).max(1)
}
