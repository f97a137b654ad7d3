//! `[sessions]`: how long tickets, sessions, parked requests and the jump and bind windows live,
//! and whether a first login is confirmed.

use time::Duration;

use super::file::SessionsFile;
use super::{ConfigError, Lifetimes, err};

/// `[sessions]`, validated.
pub(super) struct Sessions {
    pub(super) lifetimes: Lifetimes,
    pub(super) first_login_confirmation: bool,
}

/// Every lifetime is bounded, with the ranges `deploy/config.example.toml` documents, because
/// each limits what a leaked link or a flood can do. A login ticket logs in whoever opens it
/// (docs/security.md A16): 5–600 s. A session has a positive idle timeout and an absolute timeout
/// at least as long (docs/security.md A13). A parked AuthnRequest waits 60–3600 s for the partner
/// login, and 100–10000000 may be parked at once, so a flood of validly signed requests cannot
/// fill the store (docs/security.md A22). An AuthnRequest is answered without asking only within
/// 10–3600 s of this bridge sending the browser to Huawei (docs/security.md A23), and a
/// bind-result notification may change a mapping only within 60–86400 s of an assertion to that
/// user in that browser (docs/security.md A15). `first_login_confirmation`
/// (docs/security.md A16) is a plain switch.
pub(super) fn validate(s: &SessionsFile) -> Result<Sessions, ConfigError> {
    if !(5..=600).contains(&s.ticket_ttl_secs) {
        return Err(err(
            "sessions.ticket_ttl_secs",
            "must be between 5 and 600 seconds",
        ));
    }
    if s.idle_timeout_secs == 0 || s.absolute_timeout_secs < s.idle_timeout_secs {
        return Err(err(
            "sessions.absolute_timeout_secs",
            "must be at least idle_timeout_secs, which must be positive",
        ));
    }
    if !(60..=3600).contains(&s.pending_request_ttl_secs) {
        return Err(err(
            "sessions.pending_request_ttl_secs",
            "must be between 60 and 3600 seconds",
        ));
    }
    if !(100..=10_000_000).contains(&s.max_parked_requests) {
        return Err(err(
            "sessions.max_parked_requests",
            "must be between 100 and 10000000",
        ));
    }
    if !(10..=3600).contains(&s.jump_window_secs) {
        return Err(err(
            "sessions.jump_window_secs",
            "must be between 10 and 3600 seconds",
        ));
    }
    if !(60..=86_400).contains(&s.bind_window_secs) {
        return Err(err(
            "sessions.bind_window_secs",
            "must be between 60 and 86400 seconds",
        ));
    }
    Ok(Sessions {
        lifetimes: lifetimes(s),
        first_login_confirmation: s.first_login_confirmation,
    })
}

/// The lifetimes of `s` as durations, unchecked (the embedded default uses the file defaults).
pub(super) fn lifetimes(s: &SessionsFile) -> Lifetimes {
    let secs = |n: u32| Duration::seconds(i64::from(n));
    Lifetimes {
        ticket: secs(s.ticket_ttl_secs),
        session_idle: secs(s.idle_timeout_secs),
        session_absolute: secs(s.absolute_timeout_secs),
        pending_request: secs(s.pending_request_ttl_secs),
        jump_window: secs(s.jump_window_secs),
        bind_window: secs(s.bind_window_secs),
        max_parked_requests: s.max_parked_requests,
    }
}
