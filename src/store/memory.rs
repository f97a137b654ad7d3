//! The in-memory backend: the embedded default and fast tests. One process only; everything is
//! lost on restart. Expiry follows the injected clock, so tests can move time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use time::{Duration, OffsetDateTime};

use super::{Kind, StoreError};
use crate::clock::Clock;

/// Purge expired entries after this many writes, keeping memory bounded without a timer task.
const PURGE_EVERY_WRITES: u64 = 1024;

#[derive(Default)]
struct Maps {
    values: HashMap<(&'static str, String), (Vec<u8>, OffsetDateTime)>,
    mappings: HashMap<(String, String), Vec<u8>>,
    writes: u64,
}

/// In-process maps behind one mutex (operations are short and never await while holding it).
#[derive(Clone)]
pub struct MemoryStore {
    maps: Arc<Mutex<Maps>>,
    clock: Arc<dyn Clock>,
}

impl MemoryStore {
    /// An empty store whose expiry follows `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            maps: Arc::default(),
            clock,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Maps>, StoreError> {
        self.maps
            .lock()
            .map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))
    }

    /// Number of live (unexpired) entries and mappings; lets tests prove a rejected request
    /// changed nothing, and is a cheap size gauge for operators.
    pub fn live_entries(&self) -> usize {
        let now = self.clock.now();
        self.lock().map_or(0, |m| {
            m.values.values().filter(|(_, e)| *e > now).count() + m.mappings.len()
        })
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
        let mut maps = self.lock()?;
        maps.writes += 1;
        if maps.writes % PURGE_EVERY_WRITES == 0 {
            maps.values.retain(|_, (_, expires)| *expires > now);
        }
        maps.values
            .insert((kind.as_str(), key.to_owned()), (value.to_vec(), now + ttl));
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
        let slot = (kind.as_str(), key.to_owned());
        if maps
            .values
            .get(&slot)
            .is_some_and(|(_, expires)| *expires > now)
        {
            return Ok(false);
        }
        maps.values.insert(slot, (value.to_vec(), now + ttl));
        Ok(true)
    }

    pub(crate) async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let maps = self.lock()?;
        Ok(maps
            .values
            .get(&(kind.as_str(), key.to_owned()))
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v.clone()))
    }

    pub(crate) async fn get_touch(
        &self,
        kind: Kind,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.clock.now();
        let mut maps = self.lock()?;
        match maps.values.get_mut(&(kind.as_str(), key.to_owned())) {
            Some((value, expires)) if *expires > now => {
                *expires = now + ttl;
                Ok(Some(value.clone()))
            }
            _ => Ok(None),
        }
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

    pub(crate) async fn mapping_get(
        &self,
        site: &str,
        x_user_id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .lock()?
            .mappings
            .get(&(site.to_owned(), x_user_id.to_owned()))
            .cloned())
    }

    pub(crate) async fn mapping_put(
        &self,
        site: &str,
        x_user_id: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        self.lock()?
            .mappings
            .insert((site.to_owned(), x_user_id.to_owned()), value.to_vec());
        Ok(())
    }
}
