//! The Redis backend. Keys are `<prefix>:<kind>:<key>` with a TTL; mappings live in one hash per
//! site (`<prefix>:mappings:<site>`, field = x_user_id) so that ids of any Unicode text need no
//! escaping. Single-use reads are `GETDEL` and the replay check is `SET NX EX`, both atomic, so
//! two bridge processes sharing one Redis behave as one.
//!
//! The connection is a lazy [`ConnectionManager`] with short timeouts: a Redis outage turns into
//! quick errors (503 for the user) instead of hung requests, and the manager reconnects by
//! itself when Redis is back.

use std::time::Duration as StdDuration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, SetExpiry, SetOptions};
use time::Duration;

use super::{Kind, StoreError, ttl_secs};

/// How long one Redis command may take before the request fails with 503.
const RESPONSE_TIMEOUT: StdDuration = StdDuration::from_millis(1500);
/// How long connecting may take.
const CONNECT_TIMEOUT: StdDuration = StdDuration::from_millis(1000);

/// Redis-backed store.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

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
        })
    }

    fn key(&self, kind: Kind, key: &str) -> String {
        format!("{}:{}:{key}", self.prefix, kind.as_str())
    }

    fn mappings_key(&self, site: &str) -> String {
        format!("{}:mappings:{site}", self.prefix)
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(unavailable)
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

    pub(crate) async fn get_touch(
        &self,
        kind: Kind,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        conn.get_ex(self.key(kind, key), redis::Expiry::EX(ttl_secs(ttl)))
            .await
            .map_err(unavailable)
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

    pub(crate) async fn mapping_get(
        &self,
        site: &str,
        x_user_id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        conn.hget(self.mappings_key(site), x_user_id)
            .await
            .map_err(unavailable)
    }

    pub(crate) async fn mapping_put(
        &self,
        site: &str,
        x_user_id: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        conn.hset::<_, _, _, ()>(self.mappings_key(site), x_user_id, value)
            .await
            .map_err(unavailable)
    }
}
