//! `[[sites]]`: the Huawei sites (China, International, …), each its own SP with its own metadata,
//! `xAccountType` and login link (docs/protocol.md §Sites).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use saml::sp_metadata::ServiceProvider;
use url::Url;

use super::file::SiteFile;
use super::{ConfigError, Site, checked_url, err, resolve};
use crate::huawei::fields;
use crate::keys;

/// At least one site; the first is the default. A site's `name` appears in the API and in URLs
/// registered with Huawei (`/huawei/<name>/bind-result`, `/return/<name>/…`), so it is 1–32
/// characters of a-z, 0-9 or '-', and unique. `x_account_type` is Huawei's Partner Platform ID,
/// at most 64 characters in Huawei's API (docs/protocol.md §Sites), without control characters.
/// The SP metadata is the only source of the keys, ACS and SLO endpoints the bridge trusts
/// (docs/protocol.md §SP-metadata), so it is loaded now (its own checks refuse a missing signing
/// key or HTTP-POST ACS, weak keys and, outside dev mode, non-https endpoints), its entityID must
/// be unique, because a request is matched to its site by Issuer, and a Huawei certificate that
/// expires within 30 days is a warning (docs/security.md A12). Redirect targets are configured or
/// allow-listed (docs/security.md A9): `login_url` and the return-link pages are checked URLs,
/// `default_service` must be an https URL on `allowed_service_hosts` (default: its own host), and
/// `return_params` are parameter names of 1–64 letters, digits, '_', '-' or '.'
/// (docs/protocol.md §Return-links).
pub(super) fn validate(
    files: &[SiteFile],
    base: &Path,
    dev_mode: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<Site>, ConfigError> {
    if files.is_empty() {
        return Err(err("sites", "at least one [[sites]] entry is required"));
    }
    let mut names = HashSet::new();
    let mut entity_ids = HashSet::new();
    let mut sites = Vec::new();
    for (i, s) in files.iter().enumerate() {
        let key = |k: &str| format!("sites[{i}].{k}");
        let Some(name) = SiteName::parse(&s.name) else {
            return Err(err(
                key("name"),
                "must be 1-32 characters of a-z, 0-9 or '-'",
            ));
        };
        if !names.insert(s.name.clone()) {
            return Err(err(
                key("name"),
                format!("{:?} is used by two sites", s.name),
            ));
        }
        if s.x_account_type.is_empty()
            || s.x_account_type.len() > 64
            || s.x_account_type.chars().any(char::is_control)
        {
            return Err(err(
                key("x_account_type"),
                "must be 1-64 characters (the Partner Platform ID Huawei shows)",
            ));
        }
        let path = resolve(base, &s.sp_metadata_file);
        let xml = std::fs::read(&path)
            .map_err(|e| err(key("sp_metadata_file"), format!("{}: {e}", path.display())))?;
        let sp = ServiceProvider::from_metadata(&xml, dev_mode)
            .map_err(|e| err(key("sp_metadata_file"), format!("{}: {e}", path.display())))?;
        if !entity_ids.insert(sp.entity_id.clone()) {
            return Err(err(
                key("sp_metadata_file"),
                format!("entityID {} is used by two sites", sp.entity_id),
            ));
        }
        for cert in &sp.signing_certs {
            match keys::check_validity(cert, &path) {
                Ok(days) if days < keys::EXPIRY_WARNING_DAYS => warnings.push(format!(
                    "{}: a Huawei signing certificate expires in {days} days; fetch Huawei's new SP metadata",
                    key("sp_metadata_file")
                )),
                Ok(_) => {}
                Err(e) => warnings.push(format!("{}: {e}", key("sp_metadata_file"))),
            }
        }
        let login_url = checked_url(&key("login_url"), &s.login_url, dev_mode)?;
        let default_raw =
            Url::parse(&s.default_service).map_err(|e| err(key("default_service"), e))?;
        let allowed_service_hosts = if s.allowed_service_hosts.is_empty() {
            default_raw
                .host_str()
                .map(|h| vec![h.to_owned()])
                .unwrap_or_default()
        } else {
            s.allowed_service_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect()
        };
        let default_service = fields::service_url(&s.default_service, &allowed_service_hosts)
            .map_err(|_| {
                err(
                    key("default_service"),
                    "must be an https URL on one of allowed_service_hosts",
                )
            })?;
        let return_url = |k: &str, raw: &Option<String>| -> Result<Option<Url>, ConfigError> {
            raw.as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| checked_url(&key(k), r, dev_mode))
                .transpose()
        };
        let payment_success_url = return_url("payment_success_url", &s.payment_success_url)?;
        let recharge_url = return_url("recharge_url", &s.recharge_url)?;
        if s.return_params.iter().any(|p| {
            p.is_empty()
                || p.len() > 64
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        }) {
            return Err(err(
                key("return_params"),
                "names must be 1-64 characters of letters, digits, '_', '-' or '.'",
            ));
        }
        sites.push(Site {
            name,
            x_account_type: s.x_account_type.clone(),
            sp: Arc::new(sp),
            login_url,
            default_service,
            allowed_service_hosts,
            payment_success_url,
            recharge_url,
            return_params: s.return_params.clone(),
        });
    }
    Ok(sites)
}

/// A site's name (`cn`, `intl`): 1–32 characters of a-z, 0-9 or '-', so it is safe in URLs and
/// store keys. A type of its own because the flows and the store pass a site next to a user id
/// and a domain id, all text; only a configured site's name is a `SiteName`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteName(String);

impl SiteName {
    /// Checks and wraps; `None` when `s` breaks the rule above.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SiteName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for SiteName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SiteName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for SiteName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<SiteName> for String {
    fn eq(&self, other: &SiteName) -> bool {
        *self == other.0
    }
}
