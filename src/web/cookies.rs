//! The session cookie (docs/security.md A13): HttpOnly, SameSite=Lax (Huawei's redirect to
//! `/saml/sso` is a top-level GET, which Lax allows), Secure outside dev mode, and then with the
//! `__Host-` prefix so no subdomain can set or shadow it.

use axum::http::{HeaderMap, HeaderValue, header};

/// Cookie name for the mode.
pub fn name(dev_mode: bool) -> &'static str {
    if dev_mode {
        "sso_bridge_session"
    } else {
        "__Host-sso_bridge_session"
    }
}

/// The session cookie value from the request, if any.
pub fn session(headers: &HeaderMap, dev_mode: bool) -> Option<String> {
    let wanted = name(dev_mode);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == wanted)
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` for a new session.
pub fn set_session(value: &str, dev_mode: bool) -> Option<HeaderValue> {
    let secure = if dev_mode { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
        name(dev_mode)
    ))
    .ok()
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session(dev_mode: bool) -> Option<HeaderValue> {
    let secure = if dev_mode { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
        name(dev_mode)
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-sso_bridge_session=abc"),
        );
        assert_eq!(session(&h, false).as_deref(), Some("abc"));
        assert_eq!(session(&h, true), None);
    }

    #[test]
    fn flags() {
        let v = set_session("x", false).unwrap();
        assert_eq!(
            v,
            "__Host-sso_bridge_session=x; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let v = set_session("x", true).unwrap();
        assert_eq!(v, "sso_bridge_session=x; Path=/; HttpOnly; SameSite=Lax");
    }
}
