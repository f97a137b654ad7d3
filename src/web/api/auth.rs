//! [`Partner`]: the authenticated caller of the partner API, as an extractor.
//!
//! Why an extractor: a handler that takes a `Partner` cannot run for an unauthenticated client,
//! and its signature says so. Axum runs every parts extractor before the one that reads the body,
//! so with `Partner` among the parts the key is checked from the headers alone and an
//! unauthenticated client cannot make the bridge wait for, or buffer, a body (up to 4 MiB for an
//! import). Put `Partner` before the other fallible extractors, so that a caller without a key
//! learns nothing from path or query errors (`tests/it/api_wire.rs` checks every operation).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use openssl::sha::sha256;

use crate::flow::FlowError;
use crate::web::AppState;
use crate::web::error::ApiError;

/// The caller, authenticated by its `Authorization: Bearer <key>` and admitted by the key's rate
/// limit. Carries only the key's fingerprint, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    actor: String,
}

impl Partner {
    /// Who acts, for the event log, tickets and the log: `api:<first 8 hex digits of the key's
    /// SHA-256>`.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The actor of a bulk import, `import:<same fingerprint>`, so the event log tells imported
    /// mappings from single calls.
    pub fn import_actor(&self) -> String {
        self.actor.replacen("api:", "import:", 1)
    }
}

impl FromRequestParts<AppState> for Partner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, bridge: &AppState) -> Result<Self, ApiError> {
        let actor = authenticate(bridge, &parts.headers)?;
        // Per key, so a leaked key cannot mint tickets (or anything else) at machine speed.
        if let Some(limit) = &bridge.api_keys
            && let Err(wait) = limit.check(&actor)
        {
            return Err(FlowError::RateLimited(
                "requests with this API key",
                crate::rate_limit::retry_after_secs(wait),
            )
            .into());
        }
        Ok(Self { actor })
    }
}

/// Checks the bearer key against every configured hash without an early exit (the hashes are
/// compared in constant time), refuses the key 0.1's demo published, and returns the actor.
fn authenticate(bridge: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid partner API key as `Authorization: Bearer <key>`",
        )
    };
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(unauthorized)?;
    let presented = sha256(key.as_bytes());
    let mut ok = false;
    for known in &bridge.settings.api_key_hashes {
        ok |= openssl::memcmp::eq(known, &presented);
    }
    // The key 0.1's demo published opens nothing, whatever the key list says.
    if crate::config::is_retired_demo_key_hash(&presented) {
        ok = false;
    }
    if ok {
        Ok(format!(
            "api:{}",
            crate::random::hex(presented.get(..4).unwrap_or_default())
        ))
    } else {
        Err(unauthorized())
    }
}
