//! What the one-shot commands print: `keygen`, `hash-api-key`, `urls` and `check`.

use crate::config::{Backend, Settings};
use crate::{keys, random};

/// Runs `keygen`.
pub fn keygen(
    key: &std::path::Path,
    cert: &std::path::Path,
    days: u32,
    bits: u32,
    cn: &str,
) -> Result<String, String> {
    if bits < keys::MIN_RSA_BITS {
        return Err(format!("--bits must be at least {}", keys::MIN_RSA_BITS));
    }
    let (k, c) = keys::generate(bits, days, cn).map_err(|e| e.to_string())?;
    keys::write_new(key, cert, &k, &c).map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote {} (RSA-{bits}, mode 0600) and {} (self-signed, SHA-256, {days} days)",
        key.display(),
        cert.display()
    ))
}

/// Runs `hash-api-key`: returns the lines to print.
pub fn hash_api_key(generate: bool, stdin: &mut dyn std::io::Read) -> Result<String, String> {
    let key = if generate {
        random::token().map_err(|e| e.to_string())?
    } else {
        let mut s = String::new();
        stdin.read_to_string(&mut s).map_err(|e| e.to_string())?;
        s.trim().to_owned()
    };
    if key.len() < 16 {
        return Err("an API key must have at least 16 characters".into());
    }
    let hash = random::hex(&openssl::sha::sha256(key.as_bytes()));
    Ok(if generate {
        format!(
            "api key (give to the partner platform): {key}\napi_key_sha256 (put in the config): {hash}"
        )
    } else {
        hash
    })
}

/// The values to enter in Huawei's Partner Center, per site (for `urls`).
pub fn partner_center_urls(s: &Settings) -> String {
    let mut out = format!(
        "IdP metadata (upload the file; also served at):  {}\nSSO URL (in the metadata):                         {}\nSLO URL (in the metadata):                         {}\n",
        s.metadata_url(),
        s.sso_url(),
        s.slo_url()
    );
    for site in &s.sites {
        out.push_str(&format!(
            "\nsite {} (xAccountType {})\n  通知结果绑定地址 / bind-result notification URL:  {}\n  订单支付成功跳转地址 / payment-success return URL: {}\n  订单充值跳转地址 / recharge return URL:           {}\n",
            site.name,
            site.x_account_type,
            s.bind_result_url(site.name.as_str()),
            s.return_url(site.name.as_str(), "payment-success"),
            s.return_url(site.name.as_str(), "recharge"),
        ));
        if site.payment_success_url.is_none() || site.recharge_url.is_none() {
            out.push_str("  (a return URL answers 404 until sites[].payment_success_url / recharge_url is configured)\n");
        }
    }
    out
}

/// Describes what would be served (for `check`).
pub fn describe(s: &Settings) -> String {
    let mut out = format!(
        "configuration OK\n  public URL      {}\n  listen          {}\n  dev mode        {}\n  entityID        {}\n  metadata URL    {}\n  SSO URL         {}\n  SLO URL         {}\n  store           {}\n  partner login   {}\n  API keys        {}\n",
        s.public_url,
        s.listen,
        s.dev_mode,
        s.idp.entity_id,
        s.metadata_url(),
        s.sso_url(),
        s.slo_url(),
        match &s.backend {
            Backend::Memory => "memory".to_owned(),
            Backend::Redis(_) => format!("redis (prefix {})", s.key_prefix),
        },
        s.partner_login_url,
        s.api_key_hashes.len(),
    );
    for site in &s.sites {
        out.push_str(&format!(
            "  site {:<10} xAccountType={} SP={} ACS={} login={}\n",
            site.name,
            site.x_account_type,
            site.sp.entity_id,
            site.sp.default_acs().map_or("-", |a| a.location.as_str()),
            site.login_url,
        ));
    }
    for w in &s.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_api_keys() {
        let out = hash_api_key(false, &mut "0123456789abcdef\n".as_bytes()).unwrap();
        assert_eq!(out.len(), 64);
        assert!(hash_api_key(false, &mut "short".as_bytes()).is_err());
    }
}
