//! The URLs the bridge builds: Huawei's login link (docs/protocol.md §Login-link), the
//! partner login page with `resume`, and the return links (docs/protocol.md §Return-links).
//! Every value is encoded like JavaScript's `encodeURIComponent`, which is what Huawei's own
//! pages produce and expect.

use saml::redirect::uri_component;

use crate::config::Site;

/// Huawei's login link for `site`: `xAccountType`, `isFirstLogin` and `service`.
pub fn login(site: &Site, first_login: bool, service: &str) -> String {
    append_query(
        site.login_url.as_str(),
        &[
            ("xAccountType", &site.x_account_type),
            ("isFirstLogin", if first_login { "true" } else { "false" }),
            ("service", service),
        ],
    )
}

/// Where `GET /return/{site}/{kind}` sends the browser: the partner URL configured for `kind`
/// (`payment-success` or `recharge`) with only the allow-listed query parameters of
/// `raw_query`, decoded and encoded again (values with control characters are dropped). `None`
/// for an unknown kind or one the site has not configured.
pub fn return_target(site: &Site, kind: &str, raw_query: &str) -> Option<String> {
    let target = match kind {
        "payment-success" => site.payment_success_url.as_ref()?,
        "recharge" => site.recharge_url.as_ref()?,
        _ => return None,
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .filter(|(name, value)| {
            site.return_params.iter().any(|p| p == name) && !value.chars().any(char::is_control)
        })
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    Some(append_query(target.as_str(), &borrowed))
}

/// Appends `name=value` pairs to a URL that may already have a query.
pub fn append_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = base.to_owned();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (name, value) in pairs {
        out.push(sep);
        out.push_str(name);
        out.push('=');
        out.push_str(&uri_component(value));
        sep = '&';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_to_urls_with_and_without_a_query() {
        assert_eq!(
            append_query("https://p/x", &[("a", "1 2"), ("b", "é&")]),
            "https://p/x?a=1%202&b=%C3%A9%26"
        );
        assert_eq!(
            append_query("https://p/x?k=v", &[("a", "1")]),
            "https://p/x?k=v&a=1"
        );
        assert_eq!(append_query("https://p/x", &[]), "https://p/x");
    }
}
