//! The client address a request counts against: the TCP peer, or — only when the operator names
//! it in `limits.client_address_header` because a trusted reverse proxy sets it — that header's
//! last address (the one the proxy itself appended; earlier ones are client-supplied). When the
//! header is missing or unreadable the peer address counts, so a request that bypasses the proxy
//! is still limited (as the proxy's address, at worst).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, HeaderName};

/// The client address, or `None` when neither source gives one (an in-process caller).
pub fn client_address(
    headers: &HeaderMap,
    extensions: &Extensions,
    trusted_header: Option<&HeaderName>,
) -> Option<IpAddr> {
    let from_header = trusted_header.and_then(|name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|a| parse_address(a.trim()))
    });
    from_header.or_else(|| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip())
    })
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_address(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn peer_address_unless_a_trusted_header_is_named() {
        let mut ext = Extensions::new();
        ext.insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 4000))));
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.4"),
        );
        assert_eq!(
            client_address(&headers, &ext, None),
            Some(IpAddr::from([192, 0, 2, 7])),
            "a header nobody vouches for is ignored"
        );
        let name = HeaderName::from_static("x-forwarded-for");
        assert_eq!(
            client_address(&headers, &ext, Some(&name)),
            Some(IpAddr::from([198, 51, 100, 4])),
            "the address the proxy appended"
        );
        assert_eq!(
            client_address(&HeaderMap::new(), &Extensions::new(), None),
            None
        );
    }
}
