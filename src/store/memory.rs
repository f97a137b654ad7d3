//! The in-memory backend: the embedded default and fast tests. One process only; everything is
//! lost on restart. Expiry follows the injected clock, so tests can move time. Every operation
//! runs in one short critical section, which makes each of them atomic.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use time::{Duration, OffsetDateTime};

use super::mappings::{
    BindOutcome, Change, Event, EventId, EventKind, Mapping, MappingFields, UnbindOutcome,
    Unconfirmed,
};
use super::{Kind, MAX_SESSIONS_PER_USER, Replay, SessionLifetimes, SsoRules, StoreError};
use crate::clock::Clock;
use crate::huawei::fields::DomainId;
use crate::store::Session;

/// Purge expired entries after this many writes, keeping memory bounded without a timer task.
const PURGE_EVERY_WRITES: u64 = 1024;

type Expiring = (Vec<u8>, OffsetDateTime);

#[derive(Default)]
struct Maps {
    values: HashMap<(&'static str, String), Expiring>,
    /// (site, x_user_id) → mapping; ordered for listing.
    mappings: BTreeMap<(String, String), Mapping>,
    /// (site, domain_id) → x_user_id.
    by_domain: HashMap<(String, DomainId), String>,
    events: VecDeque<Event>,
    last_event: EventId,
    /// user key → (absolute expiry, session digest), oldest first.
    user_sessions: HashMap<String, Vec<(OffsetDateTime, String)>>,
    /// The slot of every parked request: (expiry, request key), oldest first; bounded by
    /// `SsoRules::max_parked`. A slot leaves when its request is taken or expires.
    parked: BTreeSet<(OffsetDateTime, String)>,
    /// Request key → expiry of its slot (to free it when the request is taken).
    parked_by_key: HashMap<String, OffsetDateTime>,
    writes: u64,
}

impl Maps {
    /// The pending bind jump of an assertion issued in session `digest` for `site`.
    fn record_bind_jump(
        &mut self,
        digest: &str,
        site: &str,
        lifetimes: SessionLifetimes,
        now: OffsetDateTime,
    ) {
        let until = now + lifetimes.bind_window;
        self.insert(Kind::BindJump, digest, site.as_bytes(), until, now);
    }

    fn live(&self, kind: Kind, key: &str, now: OffsetDateTime) -> Option<&Vec<u8>> {
        self.values
            .get(&(kind.as_str(), key.to_owned()))
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v)
    }

    fn insert(
        &mut self,
        kind: Kind,
        key: &str,
        value: &[u8],
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        self.writes += 1;
        if self.writes.is_multiple_of(PURGE_EVERY_WRITES) {
            self.values.retain(|_, (_, e)| *e > now);
            let values = &self.values;
            for digests in self.user_sessions.values_mut() {
                digests.retain(|(_, d)| values.contains_key(&(Kind::Session.as_str(), d.clone())));
            }
            self.user_sessions.retain(|_, d| !d.is_empty());
        }
        self.values
            .insert((kind.as_str(), key.to_owned()), (value.to_vec(), expires));
    }

    /// True when session `digest` is live and holds a pending bind jump for `site`.
    fn has_jump(&self, digest: &str, site: &str, now: OffsetDateTime) -> bool {
        self.live(Kind::Session, digest, now).is_some()
            && self
                .live(Kind::BindJump, digest, now)
                .is_some_and(|v| v.as_slice() == site.as_bytes())
    }

    /// Uses up the pending bind jump of session `digest` (when `jump` names one).
    fn consume_jump(&mut self, jump: Option<&str>) {
        if let Some(digest) = jump {
            self.values
                .remove(&(Kind::BindJump.as_str(), digest.to_owned()));
        }
    }

    fn append_event(
        &mut self,
        max_events: usize,
        kind: EventKind,
        change: &Change<'_>,
        mapping: &Mapping,
        now: OffsetDateTime,
    ) -> String {
        self.push_event(
            max_events,
            Event {
                id: String::new(),
                kind,
                site: change.site.as_str().to_owned(),
                x_user_id: change.x_user_id.as_str().to_owned(),
                domain_id: mapping.domain_id.clone(),
                domain_name: mapping.domain_name.clone(),
                source: change.source,
                actor: change.actor.to_owned(),
                at: change.now,
                action: None,
                reason: None,
            },
            now,
        )
    }

    /// Appends `event` with the next id (the shape of Redis stream ids).
    fn push_event(&mut self, max_events: usize, mut event: Event, now: OffsetDateTime) -> String {
        let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let id = if millis > self.last_event.0 {
            EventId(millis, 0)
        } else {
            EventId(self.last_event.0, self.last_event.1 + 1)
        };
        self.last_event = id;
        if self.events.len() >= max_events {
            self.events.pop_front();
        }
        event.id = id.to_string();
        self.events.push_back(event);
        id.to_string()
    }
}

/// In-process maps behind one mutex (operations are short and never await while holding it).
#[derive(Clone)]
pub struct MemoryStore {
    maps: Arc<Mutex<Maps>>,
    clock: Arc<dyn Clock>,
    /// Events kept (like the Redis stream's bound).
    max_events: usize,
}

impl MemoryStore {
    /// An empty store whose expiry follows `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            maps: Arc::default(),
            clock,
            max_events: usize::try_from(super::redis::DEFAULT_EVENT_LOG_MAX_LEN).unwrap_or(100_000),
        }
    }

    /// Sets how many events are kept.
    pub fn with_event_log_max_len(mut self, max_len: u64) -> Self {
        self.max_events = usize::try_from(max_len).unwrap_or(usize::MAX).max(1);
        self
    }

    fn lock(&self) -> Result<MutexGuard<'_, Maps>, StoreError> {
        self.maps
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))
    }

    /// Everything live, one line per entry (kind, key and a digest of the value), sorted; lets
    /// tests prove that a rejected request changed nothing.
    pub fn snapshot(&self) -> Vec<String> {
        let now = self.clock.now();
        let Ok(m) = self.lock() else {
            return Vec::new();
        };
        let mut out: Vec<String> = m
            .values
            .iter()
            .filter(|(_, (_, e))| *e > now)
            .map(|((kind, key), (v, _))| {
                format!(
                    "{kind}:{key}={}",
                    crate::random::token_digest(&String::from_utf8_lossy(v))
                )
            })
            .collect();
        out.extend(
            m.mappings
                .iter()
                .map(|((site, uid), map)| format!("map:{site}:{uid}={map:?}")),
        );
        out.extend(
            m.by_domain
                .iter()
                .map(|((site, d), uid)| format!("by-domain:{site}:{}={uid}", d.as_str())),
        );
        out.extend(m.events.iter().map(|e| format!("event:{}", e.id)));
        out.sort();
        out
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(drop)
    }

    pub(crate) async fn set(
        &self,
        kind: Kind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.lock()?.insert(kind, key, value, now + ttl, now);
        Ok(())
    }

    pub(crate) async fn set_if_absent(
        &self,
        kind: Kind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        if maps.live(kind, key, now).is_some() {
            return Ok(false);
        }
        maps.insert(kind, key, value, now + ttl, now);
        Ok(true)
    }

    pub(crate) async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        Ok(self.lock()?.live(kind, key, now).cloned())
    }

    pub(crate) async fn take(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        Ok(maps
            .values
            .remove(&(kind.as_str(), key.to_owned()))
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v))
    }

    pub(crate) async fn delete(&self, kind: Kind, key: &str) -> Result<(), StoreError> {
        self.lock()?.values.remove(&(kind.as_str(), key.to_owned()));
        Ok(())
    }

    /// Frees the parked-request slot of `request_key` (its request was taken).
    pub(crate) async fn release_parked(&self, request_key: &str) -> Result<(), StoreError> {
        let mut maps = self.lock()?;
        if let Some(until) = maps.parked_by_key.remove(request_key) {
            maps.parked.remove(&(until, request_key.to_owned()));
        }
        Ok(())
    }

    pub(crate) async fn sso_lookup(
        &self,
        session_digest: Option<&str>,
        request_key: &str,
        rules: SsoRules<'_>,
    ) -> Result<(Option<Vec<u8>>, Replay, bool), StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        let session = session_digest.and_then(|d| {
            let raw = maps.live(Kind::Session, d, now)?;
            let s: Session = serde_json::from_slice(raw).ok()?;
            s.is_live_for(rules.site.as_str(), rules.now)
                .then(|| (d.to_owned(), raw.clone(), s))
        });
        if session.is_none() && rules.passive {
            return Ok((None, Replay::NotRecorded, false));
        }
        let raw = session.as_ref().map(|(_, raw, _)| raw.clone());
        if maps.live(Kind::RequestId, request_key, now).is_some() {
            return Ok((raw, Replay::Seen, false));
        }
        let silent = session.as_ref().is_some_and(|(_, _, s)| {
            s.answers_silently(rules.now, rules.jump_window.whole_seconds())
        });
        // A request about to be parked takes a slot; none left, nothing is written (a flood
        // of validly signed requests cannot grow the store past the cap).
        if !silent && !rules.passive {
            while let Some(first) = maps.parked.first().filter(|(e, _)| *e <= now).cloned() {
                maps.parked.remove(&first);
                maps.parked_by_key.remove(&first.1);
            }
            if maps.parked.len() >= rules.max_parked {
                return Ok((raw, Replay::Full, false));
            }
            let until = now + rules.parked_ttl;
            maps.parked.insert((until, request_key.to_owned()));
            maps.parked_by_key.insert(request_key.to_owned(), until);
        }
        maps.insert(
            Kind::RequestId,
            request_key,
            b"1",
            now + rules.replay_ttl,
            now,
        );
        let Some((digest, raw, _)) = session else {
            return Ok((None, Replay::First, false));
        };
        // Only an accepted request restarts the session's idle timer.
        if let Some((_, expires)) = maps
            .values
            .get_mut(&(Kind::Session.as_str(), digest.clone()))
        {
            *expires = now + rules.idle;
        }
        if silent {
            let jump = rules.site.as_str().as_bytes();
            maps.insert(Kind::BindJump, &digest, jump, now + rules.bind_window, now);
        }
        Ok((Some(raw), Replay::First, silent))
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
        let now = self.clock.now();
        let mut maps = self.lock()?;
        maps.insert(Kind::Session, digest, value, now + lifetimes.idle, now);
        maps.insert(
            Kind::SessionIndex,
            &session.session_index,
            digest.as_bytes(),
            now + lifetimes.absolute,
            now,
        );
        if let Some(site) = bind_jump {
            maps.record_bind_jump(digest, site, lifetimes, now);
        }
        // Prune the user's index to live sessions, add this one, and end the oldest beyond the
        // cap (docs/security.md A13: bounded per-user state; see MAX_SESSIONS_PER_USER).
        let mut index = maps.user_sessions.remove(user).unwrap_or_default();
        index.retain(|(_, d)| maps.live(Kind::Session, d, now).is_some());
        index.push((now + lifetimes.absolute, digest.to_owned()));
        // Stable and by expiry only: sessions created in the same instant keep their order, so
        // the cap ends the oldest, never the one being created.
        index.sort_by_key(|(expires, _)| *expires);
        while index.len() > MAX_SESSIONS_PER_USER {
            let (_, oldest) = index.remove(0);
            maps.values.remove(&(Kind::Session.as_str(), oldest));
        }
        maps.user_sessions.insert(user.to_owned(), index);
        Ok(())
    }

    pub(crate) async fn session_update(
        &self,
        digest: &str,
        value: &[u8],
        lifetimes: SessionLifetimes,
        bind_jump: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        if maps.live(Kind::Session, digest, now).is_none() {
            return Ok(false);
        }
        maps.insert(Kind::Session, digest, value, now + lifetimes.idle, now);
        if let Some(site) = bind_jump {
            maps.record_bind_jump(digest, site, lifetimes, now);
        }
        Ok(true)
    }

    pub(crate) async fn session_delete_user(&self, user: &str) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        let digests = maps.user_sessions.remove(user).unwrap_or_default();
        let mut ended = 0;
        for (_, d) in digests {
            if let Some((_, expires)) = maps.values.remove(&(Kind::Session.as_str(), d))
                && expires > now
            {
                ended += 1;
            }
        }
        Ok(ended)
    }

    pub(crate) async fn user_index_len(&self, user: &str) -> Result<usize, StoreError> {
        Ok(self.lock()?.user_sessions.get(user).map_or(0, Vec::len))
    }

    pub(crate) async fn record_unconfirmed(
        &self,
        event: &Unconfirmed<'_>,
        dedupe: &str,
        dedupe_ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        if maps.live(Kind::Unconfirmed, dedupe, now).is_some() {
            return Ok(false);
        }
        maps.insert(Kind::Unconfirmed, dedupe, b"1", now + dedupe_ttl, now);
        let c = &event.change;
        maps.push_event(
            self.max_events,
            Event {
                id: String::new(),
                kind: EventKind::Unconfirmed,
                site: c.site.as_str().to_owned(),
                x_user_id: c.x_user_id.as_str().to_owned(),
                domain_id: event.fields.domain_id.clone(),
                domain_name: event.fields.domain_name.clone(),
                source: c.source,
                actor: c.actor.to_owned(),
                at: c.now,
                action: Some(event.action.to_owned()),
                reason: Some(event.reason.as_str().to_owned()),
            },
            now,
        );
        Ok(true)
    }

    pub(crate) async fn mapping_get(
        &self,
        site: &str,
        x_user_id: &str,
    ) -> Result<Option<Mapping>, StoreError> {
        Ok(self
            .lock()?
            .mappings
            .get(&(site.to_owned(), x_user_id.to_owned()))
            .cloned())
    }

    pub(crate) async fn mapping_by_domain(
        &self,
        site: &str,
        domain_id: &DomainId,
    ) -> Result<Option<(String, Mapping)>, StoreError> {
        let maps = self.lock()?;
        let Some(uid) = maps.by_domain.get(&(site.to_owned(), domain_id.clone())) else {
            return Ok(None);
        };
        Ok(maps
            .mappings
            .get(&(site.to_owned(), uid.clone()))
            .map(|m| (uid.clone(), m.clone())))
    }

    pub(crate) async fn mapping_bind(
        &self,
        change: &Change<'_>,
        fields: &MappingFields,
        jump: Option<&str>,
    ) -> Result<BindOutcome, StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        if let Some(digest) = jump
            && !maps.has_jump(digest, change.site.as_str(), now)
        {
            return Ok(BindOutcome::NoJump);
        }
        let site = change.site.as_str().to_owned();
        let uid = change.x_user_id.as_str().to_owned();
        if let Some(owner) = maps
            .by_domain
            .get(&(site.clone(), fields.domain_id.clone()))
            && *owner != uid
        {
            return Ok(BindOutcome::Conflict {
                owner: owner.clone(),
            });
        }
        // Past the only refusal: the notification is applied (or already was), so its jump is
        // used up; a refused one leaves the jump for the real notification.
        maps.consume_jump(jump);
        let mut new = Mapping::new(fields.clone(), change.source, change.now);
        let old = maps.mappings.get(&(site.clone(), uid.clone())).cloned();
        let kind = match &old {
            Some(old) if old.same_content(&new) => return Ok(BindOutcome::Unchanged(old.clone())),
            Some(old) => {
                new.created_at = old.created_at;
                new.source = old.source;
                if old.domain_id != new.domain_id
                    && maps.by_domain.get(&(site.clone(), old.domain_id.clone())) == Some(&uid)
                {
                    maps.by_domain
                        .remove(&(site.clone(), old.domain_id.clone()));
                }
                EventKind::Updated
            }
            None => EventKind::Bound,
        };
        maps.mappings
            .insert((site.clone(), uid.clone()), new.clone());
        maps.by_domain.insert((site, new.domain_id.clone()), uid);
        maps.append_event(self.max_events, kind, change, &new, now);
        Ok(match kind {
            EventKind::Bound => BindOutcome::Created(new),
            _ => BindOutcome::Updated(new),
        })
    }

    pub(crate) async fn mapping_unbind(
        &self,
        change: &Change<'_>,
        expected_domain: Option<&DomainId>,
        jump: Option<&str>,
    ) -> Result<UnbindOutcome, StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        if let Some(digest) = jump
            && !maps.has_jump(digest, change.site.as_str(), now)
        {
            return Ok(UnbindOutcome::NoJump);
        }
        let key = (
            change.site.as_str().to_owned(),
            change.x_user_id.as_str().to_owned(),
        );
        let Some(old) = maps.mappings.get(&key).cloned() else {
            return Ok(UnbindOutcome::NotFound);
        };
        if expected_domain.is_some_and(|d| *d != old.domain_id) {
            return Ok(UnbindOutcome::OtherDomain(old));
        }
        maps.consume_jump(jump);
        maps.mappings.remove(&key);
        let rev = (change.site.as_str().to_owned(), old.domain_id.clone());
        if maps.by_domain.get(&rev) == Some(&key.1) {
            maps.by_domain.remove(&rev);
        }
        maps.append_event(self.max_events, EventKind::Unbound, change, &old, now);
        Ok(UnbindOutcome::Removed(old))
    }

    pub(crate) async fn mapping_list(
        &self,
        site: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Mapping)>, Option<String>), StoreError> {
        let maps = self.lock()?;
        let start = match after {
            Some(a) => Bound::Excluded((site.to_owned(), a.to_owned())),
            None => Bound::Included((site.to_owned(), String::new())),
        };
        let rows: Vec<(String, Mapping)> = maps
            .mappings
            .range((start, Bound::Unbounded))
            .take_while(|((s, _), _)| s == site)
            .take(limit)
            .map(|((_, uid), m)| (uid.clone(), m.clone()))
            .collect();
        let next = (rows.len() == limit)
            .then(|| rows.last().map(|(u, _)| u.clone()))
            .flatten();
        Ok((rows, next))
    }

    pub(crate) async fn events_after(
        &self,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let maps = self.lock()?;
        Ok(maps
            .events
            .iter()
            .filter(|e| after.is_none_or(|a| EventId::parse(&e.id).is_some_and(|id| id > a)))
            .take(limit)
            .cloned()
            .collect())
    }
}
