//! `[store]`: where tickets, sessions, pending requests, replay records and account mappings are
//! kept.

use url::Url;

use super::file::StoreFile;
use super::{Backend, ConfigError, err};

/// `[store]`, validated.
pub(super) struct Store {
    pub(super) backend: Backend,
    pub(super) key_prefix: String,
    pub(super) event_log_max_len: u64,
}

/// `backend` is `memory` or `redis`. The memory store keeps everything in this process and loses
/// it on restart: fine for dev mode and the embedded default, a warning otherwise. `redis` needs a
/// `redis_url` that parses (whether Redis answers is found out when the store connects).
/// `key_prefix` starts every Redis key, so several deployments can share one Redis: non-empty,
/// without white space. `event_log_max_len` bounds the mapping event log (a Redis stream trimmed
/// with `XADD MAXLEN ~`) to 1000–10000000 entries.
pub(super) fn validate(
    f: StoreFile,
    dev_mode: bool,
    warnings: &mut Vec<String>,
) -> Result<Store, ConfigError> {
    let backend = match f.backend.as_str() {
        "memory" => {
            if !dev_mode {
                warnings.push("store.backend: \"memory\" keeps sessions and mappings in this process only and loses them on restart; use \"redis\" in production".into());
            }
            Backend::Memory
        }
        "redis" => {
            Url::parse(&f.redis_url).map_err(|e| err("store.redis_url", e))?;
            Backend::Redis(f.redis_url)
        }
        other => {
            return Err(err(
                "store.backend",
                format!("{other:?} is not one of \"memory\", \"redis\""),
            ));
        }
    };
    if f.key_prefix.is_empty() || f.key_prefix.contains(char::is_whitespace) {
        return Err(err("store.key_prefix", "must be non-empty without spaces"));
    }
    if !(1000..=10_000_000).contains(&f.event_log_max_len) {
        return Err(err(
            "store.event_log_max_len",
            "must be between 1000 and 10000000",
        ));
    }
    Ok(Store {
        backend,
        key_prefix: f.key_prefix,
        event_log_max_len: f.event_log_max_len,
    })
}
