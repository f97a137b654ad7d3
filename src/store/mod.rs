//! One seam over everything the bridge remembers: login tickets, IdP sessions, parked
//! AuthnRequests, replay ids and account mappings. Two real backends sit behind it: Redis for
//! production (shared by several bridge processes) and an in-memory map for the embedded default
//! and fast tests. The same contract tests run against both.
//!
//! Browser-facing secrets are stored under their SHA-256, never in clear: the methods that key by
//! one take a [`SecretDigest`], which only [`SecretDigest::of`] makes from a secret. Every value expires by TTL, and flows also check the expiry stored inside the value
//! against their own clock, so tests can move time on either backend.

pub mod mappings;
pub mod memory;
pub mod redis;
pub mod types;

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::Duration;

use crate::config::SiteName;
use crate::huawei::fields::{DomainId, XUserId};
use crate::random::SecretDigest;
pub use mappings::{
    BindOutcome, Change, Event, EventId, EventKind, Mapping, MappingFields, MappingSource,
    UnbindOutcome, Unconfirmed,
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
    /// Not recorded: the request would be parked, and as many requests as allowed are parked
    /// already (a flood); nothing was written.
    Full,
}

/// What [`Store::sso_lookup`] found for Huawei's AuthnRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoLookup {
    /// The browser's session, when it is live and belongs to the request's site.
    pub session: Option<Session>,
    /// The request ID's replay status.
    pub replay: Replay,
    /// The session may be answered without asking the customer (see
    /// [`Session::answers_silently`]); the pending bind jump is then already recorded.
    pub silent: bool,
}

/// The rules of [`Store::sso_lookup`], passed to the backend (the Redis script applies them
/// inside Redis, so the lookup, the replay record and the pending jump take one round trip).
#[derive(Debug, Clone, Copy)]
pub struct SsoRules<'a> {
    /// Site of the verified request.
    pub site: &'a SiteName,
    /// Unix seconds now.
    pub now: i64,
    /// Session idle timeout, restarted by an accepted request.
    pub idle: Duration,
    /// How long after a jump a request is answered without asking (docs/security.md A23).
    pub jump_window: Duration,
    /// How long a pending bind jump stays valid.
    pub bind_window: Duration,
    /// Replay record lifetime.
    pub replay_ttl: Duration,
    /// `IsPassive`: without a session nothing is recorded.
    pub passive: bool,
    /// Most requests parked at once (waiting for a login or a confirmation).
    pub max_parked: usize,
    /// How long a parked request holds its slot.
    pub parked_ttl: Duration,
}

/// Kinds of single keys, each with its own key namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Ticket,
    Session,
    Pending,
    RequestId,
    SessionIndex,
    LogoutRequestId,
    BindJump,
    Unconfirmed,
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
            Self::LogoutRequestId => "logout-request-id",
            Self::BindJump => "bind-jump",
            Self::Unconfirmed => "unconfirmed",
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

    /// Checks that Redis cannot evict what must not be lost. Mappings, their indexes and the
    /// event log have no TTL and replay records must outlive their TTL, so any evicting
    /// `maxmemory-policy` is refused: `allkeys-*` evicts mappings (customers silently become
    /// first-login again), `volatile-*` evicts replay records (a used request is accepted again).
    /// Ephemeral state is bounded instead (parked requests, sessions per user), so `noeviction`
    /// with enough `maxmemory` does not block mapping writes. Returns what was found, for the
    /// log; `Err` when the policy is unsafe. The memory store has nothing to check.
    pub async fn check_memory_policy(&self) -> Result<MemoryPolicy, String> {
        let Store::Redis(r) = self else {
            return Ok(MemoryPolicy::NotRedis);
        };
        match r.memory_settings().await {
            Ok((policy, _)) if policy != "noeviction" => Err(format!(
                "store: Redis maxmemory-policy is {policy}, which lets Redis delete mappings \
                 (allkeys-*) or replay records (volatile-*); set `maxmemory-policy noeviction` \
                 (redis.conf, `CONFIG SET maxmemory-policy noeviction`, or the policy setting \
                 of your managed Redis) and start again"
            )),
            Ok((_, maxmemory)) => Ok(MemoryPolicy::NoEviction { maxmemory }),
            Err(e) => Ok(MemoryPolicy::Unknown(e.to_string())),
        }
    }

    /// Stores a ticket under its digest.
    pub async fn put_ticket(
        &self,
        digest: &SecretDigest,
        ticket: &Ticket,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let value = encode(ticket)?;
        backend!(self, b => b.set(Kind::Ticket, digest.as_str(), &value, ttl).await)
    }

    /// Removes and returns a ticket in one atomic step, so it can be used once only
    /// (docs/security.md A10).
    pub async fn take_ticket(&self, digest: &SecretDigest) -> Result<Option<Ticket>, StoreError> {
        decode(backend!(self, b => b.take(Kind::Ticket, digest.as_str()).await)?)
    }

    /// Stores a new session with its idle timeout, and indexes it by user (for "end every
    /// session of this user") and by SessionIndex (for single logout) for `absolute`. The user's
    /// index is pruned on the way (sessions that ended or expired leave it) and holds at most
    /// [`MAX_SESSIONS_PER_USER`]: beyond that the oldest sessions end, so the index and
    /// [`Store::delete_user_sessions`] stay bounded. With `bind_jump`, the session answers an
    /// assertion right away, and the pending bind jump is recorded with it.
    pub async fn put_session(
        &self,
        digest: &SecretDigest,
        session: &Session,
        lifetimes: SessionLifetimes,
        bind_jump: bool,
    ) -> Result<(), StoreError> {
        let value = encode(session)?;
        let user = user_key(&session.x_user_id);
        let jump = bind_jump.then_some(session.site.as_str());
        backend!(self, b => b.session_put(digest.as_str(), &value, session, &user, lifetimes, jump).await)
    }

    /// Replaces a live session's content (the customer confirmed, docs/security.md A16) and
    /// restarts its idle timer; with `bind_jump`, records the pending bind jump of the assertion
    /// now answered.
    /// False when the session is gone.
    pub async fn update_session(
        &self,
        digest: &SecretDigest,
        session: &Session,
        lifetimes: SessionLifetimes,
        bind_jump: bool,
    ) -> Result<bool, StoreError> {
        let value = encode(session)?;
        let jump = bind_jump.then_some(session.site.as_str());
        backend!(self, b => b.session_update(digest.as_str(), &value, lifetimes, jump).await)
    }

    /// How many sessions the per-user index holds for `x_user_id` (operators and tests: the
    /// index stays within [`MAX_SESSIONS_PER_USER`]).
    pub async fn user_index_len(&self, x_user_id: &XUserId) -> Result<usize, StoreError> {
        let user = user_key(x_user_id);
        backend!(self, b => b.user_index_len(&user).await)
    }

    /// Reads a session without touching it.
    pub async fn get_session(&self, digest: &SecretDigest) -> Result<Option<Session>, StoreError> {
        decode(backend!(self, b => b.get(Kind::Session, digest.as_str()).await)?)
    }

    /// Ends a session.
    pub async fn delete_session(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        backend!(self, b => b.delete(Kind::Session, digest.as_str()).await)
    }

    /// The digest of the session that issued `session_index`, if it may still live.
    pub async fn session_by_index(
        &self,
        session_index: &str,
    ) -> Result<Option<SecretDigest>, StoreError> {
        let raw = backend!(self, b => b.get(Kind::SessionIndex, session_index).await)?;
        Ok(raw
            .and_then(|v| String::from_utf8(v).ok())
            .map(SecretDigest::from_stored))
    }

    /// Ends every session of a user; returns how many were live.
    pub async fn delete_user_sessions(&self, x_user_id: &XUserId) -> Result<usize, StoreError> {
        let user = user_key(x_user_id);
        backend!(self, b => b.session_delete_user(&user).await)
    }

    /// Parks a verified request under a state id digest.
    pub async fn put_pending(
        &self,
        digest: &SecretDigest,
        pending: &PendingRequest,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let value = encode(pending)?;
        backend!(self, b => b.set(Kind::Pending, digest.as_str(), &value, ttl).await)
    }

    /// Reads a parked request without consuming it (ticket creation checks it exists).
    pub async fn peek_pending(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<PendingRequest>, StoreError> {
        decode(backend!(self, b => b.get(Kind::Pending, digest.as_str()).await)?)
    }

    /// Removes and returns a parked request atomically: it is answered once only. Its slot in
    /// the parked-request bound is freed with it.
    pub async fn take_pending(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<PendingRequest>, StoreError> {
        let taken: Option<PendingRequest> =
            decode(backend!(self, b => b.take(Kind::Pending, digest.as_str()).await)?)?;
        if let Some(p) = &taken {
            let key = message_key(&p.sp_entity_id, &p.request_id);
            backend!(self, b => b.release_parked(&key).await)?;
        }
        Ok(taken)
    }

    /// Huawei's AuthnRequest in one step (one Redis round trip): reads the session named by
    /// `session_digest`, keeps it only when it is live and of the request's site, records the
    /// request ID as used (docs/security.md A10), restarts the session's idle timer, and, when the
    /// session may answer without asking, records the pending bind jump of the assertion about to
    /// be issued.
    /// A passive request without a session records nothing.
    pub async fn sso_lookup(
        &self,
        session_digest: Option<&SecretDigest>,
        sp_entity_id: &str,
        request_id: &str,
        rules: SsoRules<'_>,
    ) -> Result<SsoLookup, StoreError> {
        let key = message_key(sp_entity_id, request_id);
        let (raw, replay, silent) = backend!(self, b => b.sso_lookup(session_digest.map(SecretDigest::as_str), &key, rules).await)?;
        Ok(SsoLookup {
            session: decode(raw)?,
            replay,
            silent,
        })
    }

    /// Records a LogoutRequest ID; true on its first use (docs/security.md A10). LogoutRequest IDs
    /// have their own namespace (docs/security.md A24): a LogoutRequest can never use up an
    /// AuthnRequest ID or the reverse.
    pub async fn first_use_of_logout_request_id(
        &self,
        sp_entity_id: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let key = message_key(sp_entity_id, id);
        backend!(self, b => b.set_if_absent(Kind::LogoutRequestId, &key, b"1", ttl).await)
    }

    /// Appends an `unconfirmed` event for a verified notification that changed nothing
    /// (docs/security.md A15), once per `dedupe` key within `dedupe_ttl`. True when the event was
    /// appended.
    pub async fn record_unconfirmed(
        &self,
        event: &Unconfirmed<'_>,
        dedupe: &str,
        dedupe_ttl: Duration,
    ) -> Result<bool, StoreError> {
        backend!(self, b => b.record_unconfirmed(event, dedupe, dedupe_ttl).await)
    }

    /// Stores a continuation for the bind-result GET step.
    pub async fn put_continuation(
        &self,
        digest: &SecretDigest,
        value: &Continuation,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let value = encode(value)?;
        backend!(self, b => b.set(Kind::Continuation, digest.as_str(), &value, ttl).await)
    }

    /// Makes `continuation` (a token digest) the one outstanding continuation of a bind-result
    /// notification (`marker`: a digest of site and content); returns the one it replaces.
    pub async fn replace_outstanding_continuation(
        &self,
        marker: &str,
        continuation: &SecretDigest,
        ttl: Duration,
    ) -> Result<Option<SecretDigest>, StoreError> {
        let key = format!("received:{marker}");
        let old = backend!(self, b => b.get(Kind::Continuation, &key).await)?;
        let new = continuation.as_str().as_bytes();
        backend!(self, b => b.set(Kind::Continuation, &key, new, ttl).await)?;
        Ok(old
            .and_then(|v| String::from_utf8(v).ok())
            .map(SecretDigest::from_stored))
    }

    /// Forgets [`Store::replace_outstanding_continuation`] once its continuation was taken.
    pub async fn forget_receipt_of_notification(&self, marker: &str) -> Result<(), StoreError> {
        let key = format!("received:{marker}");
        backend!(self, b => b.delete(Kind::Continuation, &key).await)
    }

    /// Takes a continuation (once).
    pub async fn take_continuation(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<Continuation>, StoreError> {
        decode(backend!(self, b => b.take(Kind::Continuation, digest.as_str()).await)?)
    }

    /// The mapping of a partner user on a site.
    pub async fn get_mapping(
        &self,
        site: &SiteName,
        x_user_id: &XUserId,
    ) -> Result<Option<Mapping>, StoreError> {
        backend!(self, b => b.mapping_get(site.as_str(), x_user_id.as_str()).await)
    }

    /// The partner user and mapping holding `domain_id` on a site (reverse index).
    pub async fn mapping_by_domain(
        &self,
        site: &SiteName,
        domain_id: &DomainId,
    ) -> Result<Option<(String, Mapping)>, StoreError> {
        backend!(self, b => b.mapping_by_domain(site.as_str(), domain_id).await)
    }

    /// Creates or replaces a mapping atomically with its reverse index and an event; a
    /// domain_id held by another user is a conflict and changes nothing. With `jump` (the digest
    /// of the session whose pending bind jump authorises a notification, docs/security.md A15), the
    /// jump is consumed in the same atomic step, and without a live jump nothing changes.
    pub async fn bind_mapping(
        &self,
        change: &Change<'_>,
        fields: &MappingFields,
        jump: Option<&SecretDigest>,
    ) -> Result<BindOutcome, StoreError> {
        let jump = jump.map(SecretDigest::as_str);
        backend!(self, b => b.mapping_bind(change, fields, jump).await)
    }

    /// Removes a mapping (only if it names `expected_domain`, when given), atomically with its
    /// reverse index and an event; `jump` as for [`Store::bind_mapping`].
    pub async fn unbind_mapping(
        &self,
        change: &Change<'_>,
        expected_domain: Option<&DomainId>,
        jump: Option<&SecretDigest>,
    ) -> Result<UnbindOutcome, StoreError> {
        let jump = jump.map(SecretDigest::as_str);
        backend!(self, b => b.mapping_unbind(change, expected_domain, jump).await)
    }

    /// Mappings of a site in x_user_id order, strictly after `after`, at most `limit`, and the
    /// last x_user_id scanned when the page was full (where the next page starts; a mapping
    /// removed while the page was read does not end the listing early).
    pub async fn list_mappings(
        &self,
        site: &SiteName,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Mapping)>, Option<String>), StoreError> {
        backend!(self, b => b.mapping_list(site.as_str(), after, limit.min(mappings::MAX_PAGE)).await)
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

/// The replay key of a SAML message ID: a digest of issuer and ID, so IDs of any text are safe.
fn message_key(sp_entity_id: &str, id: &str) -> String {
    crate::random::token_digest(&format!("{sp_entity_id}\n{id}"))
}

/// Most sessions one user keeps at once; a new login beyond it ends the oldest. Bounds the
/// per-user index and the work of ending a user's sessions.
pub const MAX_SESSIONS_PER_USER: usize = 32;

/// The lifetimes a session write needs.
#[derive(Debug, Clone, Copy)]
pub struct SessionLifetimes {
    /// Idle timeout.
    pub idle: Duration,
    /// Absolute timeout (the indexes live as long).
    pub absolute: Duration,
    /// How long a pending bind jump stays valid.
    pub bind_window: Duration,
}

/// The index key of a user's sessions: a digest, so user ids of any text are safe in key names.
fn user_key(x_user_id: &XUserId) -> String {
    crate::random::token_digest(x_user_id.as_str())
}

/// What [`Store::check_memory_policy`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryPolicy {
    /// The in-memory store.
    NotRedis,
    /// `noeviction`, with `maxmemory` bytes (0 = no limit).
    NoEviction {
        /// Redis's `maxmemory`.
        maxmemory: u64,
    },
    /// The policy could not be read (CONFIG disabled or Redis unreachable): why.
    Unknown(String),
}

/// Whole seconds of a TTL, at least one.
pub(crate) fn ttl_secs(ttl: Duration) -> u64 {
    u64::try_from(ttl.whole_seconds()).unwrap_or(0).max(1)
}
