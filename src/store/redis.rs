//! The Redis backend. Keys are `<prefix>:<kind>:<key>` with a TTL. Mappings live in one hash per
//! site (`<prefix>:map:<site>`, field = x_user_id, so ids of any Unicode text need no escaping),
//! with a reverse hash (`map-by-domain`), a listing index (`map-index`, a sorted set read by
//! lexical range) and one event stream (`<prefix>:events`); Lua scripts change them together. Single-use reads are `GETDEL` and the replay check is `SET NX EX`, both atomic, so
//! two bridge processes sharing one Redis behave as one.
//!
//! The connection is a lazy [`ConnectionManager`] with short timeouts: a Redis outage turns into
//! quick errors (503 for the user) instead of hung requests, and the manager reconnects by
//! itself when Redis is back.

use std::time::Duration as StdDuration;

use std::sync::LazyLock;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script, SetExpiry, SetOptions};
use time::Duration;

use super::mappings::{
    BindOutcome, Change, Event, EventId, EventKind, Mapping, MappingFields, MappingSource,
    UnbindOutcome, Unconfirmed,
};
use super::{
    Kind, MAX_SESSIONS_PER_USER, Replay, SessionLifetimes, SsoRules, StoreError, ttl_secs,
};
use crate::huawei::fields::DomainId;
use crate::store::Session;

/// How long one Redis command may take before the request fails with 503.
const RESPONSE_TIMEOUT: StdDuration = StdDuration::from_millis(1500);
/// How long connecting may take.
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_millis(1000);

/// Redis-backed store.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    /// Approximate bound of the event stream (`XADD MAXLEN ~`).
    event_log_max_len: u64,
}

/// Default bound of the event stream.
pub const DEFAULT_EVENT_LOG_MAX_LEN: u64 = 100_000;

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl RedisStore {
    /// Connects lazily to `url`; the first command establishes the connection.
    pub fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(StdDuration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            event_log_max_len: DEFAULT_EVENT_LOG_MAX_LEN,
        })
    }

    /// Sets the approximate bound of the event stream.
    pub fn with_event_log_max_len(mut self, max_len: u64) -> Self {
        self.event_log_max_len = max_len;
        self
    }

    fn key(&self, kind: Kind, key: &str) -> String {
        format!("{}:{}:{key}", self.prefix, kind.as_str())
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    /// Redis's `maxmemory-policy` and `maxmemory`, or why they could not be read (managed
    /// Redis services often disable CONFIG).
    pub(crate) async fn memory_settings(&self) -> Result<(String, u64), StoreError> {
        let mut conn = self.conn.clone();
        let read = |pairs: Vec<String>| pairs.into_iter().nth(1);
        let policy: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let max: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let policy = read(policy)
            .ok_or_else(|| StoreError::Unavailable("CONFIG GET returned nothing".into()))?;
        let max = read(max).and_then(|m| m.parse().ok()).unwrap_or(0);
        Ok((policy, max))
    }

    pub(crate) async fn set(
        &self,
        kind: Kind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        conn.set_ex::<_, _, ()>(self.key(kind, key), value, ttl_secs(ttl))
            .await
            .map_err(unavailable)
    }

    pub(crate) async fn set_if_absent(
        &self,
        kind: Kind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let options = SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(SetExpiry::EX(ttl_secs(ttl)));
        let reply: Option<String> = conn
            .set_options(self.key(kind, key), value, options)
            .await
            .map_err(unavailable)?;
        Ok(reply.is_some())
    }

    pub(crate) async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        conn.get(self.key(kind, key)).await.map_err(unavailable)
    }

    pub(crate) async fn take(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        conn.get_del(self.key(kind, key)).await.map_err(unavailable)
    }

    pub(crate) async fn delete(&self, kind: Kind, key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        conn.del::<_, ()>(self.key(kind, key))
            .await
            .map_err(unavailable)
    }

    /// Frees the parked-request slot of `request_key` (its request was taken).
    pub(crate) async fn release_parked(&self, request_key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        conn.zrem::<_, _, ()>(
            format!("{}:parked-index", self.prefix),
            self.key(Kind::RequestId, request_key),
        )
        .await
        .map_err(unavailable)
    }

    pub(crate) async fn sso_lookup(
        &self,
        session_digest: Option<&str>,
        request_key: &str,
        rules: SsoRules<'_>,
    ) -> Result<(Option<Vec<u8>>, Replay, bool), StoreError> {
        let mut conn = self.conn.clone();
        let digest = session_digest.unwrap_or("-");
        let (session, replay, silent): (Vec<u8>, String, String) = SSO_LOOKUP
            .key(self.key(Kind::Session, digest))
            .key(self.key(Kind::RequestId, request_key))
            .key(self.key(Kind::BindJump, digest))
            .key(format!("{}:parked-index", self.prefix))
            .arg(ttl_secs(rules.idle))
            .arg(ttl_secs(rules.replay_ttl))
            .arg(if rules.passive { "1" } else { "0" })
            .arg(if session_digest.is_some() { "1" } else { "0" })
            .arg(rules.site.as_str())
            .arg(rules.now)
            .arg(rules.jump_window.whole_seconds())
            .arg(ttl_secs(rules.bind_window))
            .arg(rules.max_parked)
            .arg(ttl_secs(rules.parked_ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let replay = match replay.as_str() {
            "first" => Replay::First,
            "seen" => Replay::Seen,
            "not_recorded" => Replay::NotRecorded,
            "full" => Replay::Full,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unexpected sso_lookup reply {other}"
                )));
            }
        };
        Ok((
            (!session.is_empty()).then_some(session),
            replay,
            silent == "1",
        ))
    }

    pub(crate) async fn session_put(
        &self,
        digest: &str,
        value: &[u8],
        session: &Session,
        user: &str,
        lifetimes: SessionLifetimes,
        bind_jump: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        SESSION_PUT
            .key(self.key(Kind::Session, digest))
            .key(self.key(Kind::SessionIndex, &session.session_index))
            .key(self.user_sessions_key(user))
            .key(self.key(Kind::BindJump, digest))
            .arg(value)
            .arg(ttl_secs(lifetimes.idle))
            .arg(ttl_secs(lifetimes.absolute))
            .arg(digest)
            .arg(session.created_at)
            .arg(session.absolute_expires_at)
            .arg(self.key(Kind::Session, ""))
            .arg(MAX_SESSIONS_PER_USER)
            .arg(bind_jump.unwrap_or(""))
            .arg(ttl_secs(lifetimes.bind_window))
            .invoke_async::<i64>(&mut conn)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    pub(crate) async fn session_update(
        &self,
        digest: &str,
        value: &[u8],
        lifetimes: SessionLifetimes,
        bind_jump: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let updated: i64 = SESSION_UPDATE
            .key(self.key(Kind::Session, digest))
            .key(self.key(Kind::BindJump, digest))
            .arg(value)
            .arg(ttl_secs(lifetimes.idle))
            .arg(bind_jump.unwrap_or(""))
            .arg(ttl_secs(lifetimes.bind_window))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(updated == 1)
    }

    pub(crate) async fn session_delete_user(&self, user: &str) -> Result<usize, StoreError> {
        let mut conn = self.conn.clone();
        DELETE_USER_SESSIONS
            .key(self.user_sessions_key(user))
            .arg(self.key(Kind::Session, ""))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)
    }

    pub(crate) async fn user_index_len(&self, user: &str) -> Result<usize, StoreError> {
        let mut conn = self.conn.clone();
        conn.zcard(self.user_sessions_key(user))
            .await
            .map_err(unavailable)
    }

    pub(crate) async fn record_unconfirmed(
        &self,
        event: &Unconfirmed<'_>,
        dedupe: &str,
        dedupe_ttl: time::Duration,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let [.., events] = self.mapping_keys((event.change.site).as_str());
        let c = &event.change;
        let appended: i64 = UNCONFIRMED
            .key(self.key(Kind::Unconfirmed, dedupe))
            .key(events)
            .arg(ttl_secs(dedupe_ttl))
            .arg(self.event_log_max_len)
            .arg(c.site.as_str())
            .arg(c.x_user_id.as_str())
            .arg(event.fields.domain_id.as_str())
            .arg(event.fields.domain_name.as_deref().unwrap_or(""))
            .arg(c.source.as_str())
            .arg(c.actor)
            .arg(c.now)
            .arg(event.action)
            .arg(event.reason.as_str())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(appended == 1)
    }

    /// The user's session index: a sorted set (release 0.1 kept an unbounded set under
    /// `user-sessions:`; the new name avoids a type clash with those keys, which expire).
    fn user_sessions_key(&self, user: &str) -> String {
        format!("{}:user-index:{user}", self.prefix)
    }

    fn mapping_keys(&self, site: &str) -> [String; 4] {
        [
            format!("{}:map:{site}", self.prefix),
            format!("{}:map-by-domain:{site}", self.prefix),
            format!("{}:map-index:{site}", self.prefix),
            format!("{}:events", self.prefix),
        ]
    }

    pub(crate) async fn mapping_get(
        &self,
        site: &str,
        x_user_id: &str,
    ) -> Result<Option<Mapping>, StoreError> {
        let mut conn = self.conn.clone();
        let [map, ..] = self.mapping_keys(site);
        let raw: Option<String> = conn.hget(map, x_user_id).await.map_err(unavailable)?;
        raw.map(|r| parse_mapping(&r)).transpose()
    }

    pub(crate) async fn mapping_by_domain(
        &self,
        site: &str,
        domain_id: &DomainId,
    ) -> Result<Option<(String, Mapping)>, StoreError> {
        let mut conn = self.conn.clone();
        let [map, rev, ..] = self.mapping_keys(site);
        let found: Option<(String, String)> = BY_DOMAIN
            .key(map)
            .key(rev)
            .arg(domain_id.as_str())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        found
            .map(|(uid, raw)| Ok((uid, parse_mapping(&raw)?)))
            .transpose()
    }

    pub(crate) async fn mapping_bind(
        &self,
        change: &Change<'_>,
        fields: &MappingFields,
        jump: Option<&str>,
    ) -> Result<BindOutcome, StoreError> {
        let mut conn = self.conn.clone();
        let new = Mapping::new(fields.clone(), change.source, change.now);
        let json = serde_json::to_string(&new).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let [map, rev, index, events] = self.mapping_keys((change.site).as_str());
        let reply: Vec<String> = BIND
            .key(map)
            .key(rev)
            .key(index)
            .key(events)
            .key(self.key(Kind::BindJump, jump.unwrap_or("-")))
            .key(self.key(Kind::Session, jump.unwrap_or("-")))
            .arg(change.x_user_id.as_str())
            .arg(fields.domain_id.as_str())
            .arg(json)
            .arg(change.now)
            .arg(change.site.as_str())
            .arg(change.actor)
            .arg(self.event_log_max_len)
            .arg(change.source.as_str())
            .arg(if jump.is_some() { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        match reply.as_slice() {
            [kind] if kind == "no_jump" => Ok(BindOutcome::NoJump),
            [kind, owner] if kind == "conflict" => Ok(BindOutcome::Conflict {
                owner: owner.clone(),
            }),
            [kind, raw] if kind == "unchanged" => Ok(BindOutcome::Unchanged(parse_mapping(raw)?)),
            [kind, raw, _id] if kind == "bound" => Ok(BindOutcome::Created(parse_mapping(raw)?)),
            [kind, raw, _id] if kind == "updated" => Ok(BindOutcome::Updated(parse_mapping(raw)?)),
            other => Err(StoreError::Corrupt(format!(
                "unexpected bind reply of {} items",
                other.len()
            ))),
        }
    }

    pub(crate) async fn mapping_unbind(
        &self,
        change: &Change<'_>,
        expected_domain: Option<&DomainId>,
        jump: Option<&str>,
    ) -> Result<UnbindOutcome, StoreError> {
        let mut conn = self.conn.clone();
        let [map, rev, index, events] = self.mapping_keys((change.site).as_str());
        let reply: Vec<String> = UNBIND
            .key(map)
            .key(rev)
            .key(index)
            .key(events)
            .key(self.key(Kind::BindJump, jump.unwrap_or("-")))
            .key(self.key(Kind::Session, jump.unwrap_or("-")))
            .arg(change.x_user_id.as_str())
            .arg(expected_domain.map_or("", DomainId::as_str))
            .arg(change.now)
            .arg(change.site.as_str())
            .arg(change.actor)
            .arg(self.event_log_max_len)
            .arg(change.source.as_str())
            .arg(if jump.is_some() { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        match reply.as_slice() {
            [kind] if kind == "no_jump" => Ok(UnbindOutcome::NoJump),
            [kind] if kind == "not_found" => Ok(UnbindOutcome::NotFound),
            [kind, raw] if kind == "other_domain" => {
                Ok(UnbindOutcome::OtherDomain(parse_mapping(raw)?))
            }
            [kind, raw, _id] if kind == "removed" => {
                Ok(UnbindOutcome::Removed(parse_mapping(raw)?))
            }
            other => Err(StoreError::Corrupt(format!(
                "unexpected unbind reply of {} items",
                other.len()
            ))),
        }
    }

    pub(crate) async fn mapping_list(
        &self,
        site: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Mapping)>, Option<String>), StoreError> {
        let mut conn = self.conn.clone();
        let [map, _, index, _] = self.mapping_keys(site);
        let start = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let uids: Vec<String> = redis::cmd("ZRANGE")
            .arg(&index)
            .arg(start)
            .arg("+")
            .arg("BYLEX")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if uids.is_empty() {
            return Ok((Vec::new(), None));
        }
        let next = (uids.len() == limit)
            .then(|| uids.last().cloned())
            .flatten();
        let raws: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&map)
            .arg(&uids)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut out = Vec::with_capacity(uids.len());
        for (uid, raw) in uids.into_iter().zip(raws) {
            // A mapping removed between the two reads is simply not listed.
            if let Some(raw) = raw {
                out.push((uid, parse_mapping(&raw)?));
            }
        }
        Ok((out, next))
    }

    pub(crate) async fn events_after(
        &self,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        // Nothing can follow the largest id (and Redis refuses an exclusive range starting there).
        if after == Some(EventId(u64::MAX, u64::MAX)) {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let [.., events] = self.mapping_keys("");
        let start = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg(events)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        entries
            .into_iter()
            .map(|(id, fields)| parse_event(id, &fields))
            .collect()
    }
}

static SSO_LOOKUP: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/sso_lookup.lua")));
static BIND: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/bind.lua")));
static UNBIND: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/unbind.lua")));
static BY_DOMAIN: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/by_domain.lua")));
static SESSION_PUT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/session_put.lua")));
static SESSION_UPDATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/session_update.lua")));
static UNCONFIRMED: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/unconfirmed.lua")));
static DELETE_USER_SESSIONS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delete_user_sessions.lua")));

fn parse_mapping(raw: &str) -> Result<Mapping, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("mapping: {e}")))
}

/// Builds an [`Event`] from a stream entry's flat field/value list.
fn parse_event(id: String, fields: &[String]) -> Result<Event, StoreError> {
    let get = |name: &str| {
        fields
            .chunks(2)
            .find(|pair| pair.first().is_some_and(|n| n == name))
            .and_then(|pair| pair.get(1))
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("event {id} lacks {name}")))
    };
    let domain_name = get("domain_name")?;
    let optional = |name: &str| get(name).ok().filter(|v| !v.is_empty());
    Ok(Event {
        kind: EventKind::parse(&get("kind")?)
            .ok_or_else(|| StoreError::Corrupt("event kind".into()))?,
        site: get("site")?,
        x_user_id: get("x_user_id")?,
        domain_id: DomainId::from_stored(get("domain_id")?),
        domain_name: (!domain_name.is_empty()).then_some(domain_name),
        source: MappingSource::parse(&get("source")?)
            .ok_or_else(|| StoreError::Corrupt("event source".into()))?,
        actor: get("actor")?,
        at: get("at")?
            .parse()
            .map_err(|_| StoreError::Corrupt("event time".into()))?,
        action: optional("action"),
        reason: optional("reason"),
        id,
    })
}
