//! `[limits]`: request rates, deadlines and the connection cap.

use super::file::LimitsFile;
use super::{ConfigError, Limits, err};

/// Deadlines and the connection cap keep idle, silent or trickling connections from holding the
/// server (docs/security.md A18), so each is positive and bounded: headers 1–300 s, a whole
/// request 1–3600 s, 1–1000000 connections. The rates need no check (0 = unlimited). SAML
/// requests are counted per client address (docs/security.md A22); behind a reverse proxy that
/// address comes from `client_address_header`, which must be a valid header name and not
/// `Forwarded`.
pub(super) fn validate(l: &LimitsFile) -> Result<Limits, ConfigError> {
    if !(1..=300).contains(&l.header_read_timeout_secs) {
        return Err(err(
            "limits.header_read_timeout_secs",
            "must be between 1 and 300",
        ));
    }
    if !(1..=3600).contains(&l.request_timeout_secs) {
        return Err(err(
            "limits.request_timeout_secs",
            "must be between 1 and 3600",
        ));
    }
    if !(1..=1_000_000).contains(&l.max_connections) {
        return Err(err(
            "limits.max_connections",
            "must be between 1 and 1000000",
        ));
    }
    Ok(Limits {
        header_read_timeout: std::time::Duration::from_secs(l.header_read_timeout_secs.into()),
        request_timeout: std::time::Duration::from_secs(l.request_timeout_secs.into()),
        max_connections: l.max_connections,
        api_requests_per_minute_per_key: l.api_requests_per_minute_per_key,
        saml_requests_per_minute_per_client: l.saml_requests_per_minute_per_client,
        client_address_header: l
            .client_address_header
            .as_deref()
            .map(|h| {
                let name = axum::http::HeaderName::try_from(h).map_err(|_| {
                    err(
                        "limits.client_address_header",
                        format!("{h:?} is not a valid header name"),
                    )
                })?;
                // RFC 7239's `Forwarded: for=…` is not a list of addresses.
                if name == axum::http::header::FORWARDED {
                    return Err(err(
                        "limits.client_address_header",
                        "must name a header holding addresses only (x-forwarded-for, x-real-ip), not forwarded",
                    ));
                }
                Ok(name)
            })
            .transpose()?,
    })
}
