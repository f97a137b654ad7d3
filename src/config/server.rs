//! The top-level keys `listen` and `public_url`: where the bridge listens and the URL browsers
//! and Huawei reach it at.

use std::net::SocketAddr;

use super::{ConfigError, checked_url, err};

/// `listen` and `public_url`, validated.
pub(super) struct Server {
    pub(super) listen: SocketAddr,
    /// Without trailing slash.
    pub(super) public_url: String,
}

/// `listen` defaults to `127.0.0.1:8080` and must be a socket address (`host:port`, no name to
/// resolve). `public_url` is required: the SSO, SLO and metadata URLs registered with Huawei and
/// the default entityID are built from it (`<public_url>/saml/sso`, …), so it is https outside
/// dev mode like every configured URL, has no query or fragment that would end up in the middle
/// of those URLs, and loses a trailing slash so each gets exactly one.
pub(super) fn validate(
    listen: Option<String>,
    public_url: Option<String>,
    dev_mode: bool,
) -> Result<Server, ConfigError> {
    let listen_raw = listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_raw
        .parse()
        .map_err(|e| err("listen", format!("{listen_raw:?} is not host:port: {e}")))?;
    let public_raw = public_url.ok_or_else(|| {
        err(
            "public_url",
            "required: the https URL browsers and Huawei use to reach the bridge",
        )
    })?;
    let public = checked_url("public_url", &public_raw, dev_mode)?;
    if public.query().is_some() || public.fragment().is_some() {
        return Err(err("public_url", "must not have a query or fragment"));
    }
    let public_url = public.as_str().trim_end_matches('/').to_owned();
    Ok(Server { listen, public_url })
}
