//! `[partner]`: the partner platform's pages the bridge sends browsers to, and the hashes of the
//! API keys it accepts.

use url::Url;

use super::file::PartnerFile;
use super::{ConfigError, checked_url, err, is_retired_demo_key_hash, parse_sha256_hex};

/// `[partner]`, validated.
pub(super) struct Partner {
    pub(super) login_url: Url,
    pub(super) landing_url: Url,
    pub(super) logout_url: Url,
    pub(super) api_key_hashes: Vec<[u8; 32]>,
}

/// Every redirect goes to a configured URL (docs/security.md A9), so the partner pages are
/// checked like every configured URL (https outside dev mode, with a host). `login_url` is
/// required: an AuthnRequest that arrives without a session is sent there (with `resume=`); the
/// landing and logout pages default to it (empty = default). API keys are configured only as SHA-256 hashes
/// (docs/security.md A14), 64 hex characters each, and the hash of release 0.1's published demo
/// key is refused. No key is allowed but worth a warning: the API then refuses every call.
pub(super) fn validate(
    f: PartnerFile,
    dev_mode: bool,
    warnings: &mut Vec<String>,
) -> Result<Partner, ConfigError> {
    let login_raw = f.login_url.ok_or_else(|| {
        err(
            "partner.login_url",
            "required: the partner platform page that logs users in",
        )
    })?;
    let login_url = checked_url("partner.login_url", &login_raw, dev_mode)?;
    let optional_url = |key: &str, raw: &Option<String>| -> Result<Option<Url>, ConfigError> {
        raw.as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| checked_url(key, r, dev_mode))
            .transpose()
    };
    let landing_url =
        optional_url("partner.landing_url", &f.landing_url)?.unwrap_or_else(|| login_url.clone());
    let logout_url =
        optional_url("partner.logout_url", &f.logout_url)?.unwrap_or_else(|| login_url.clone());
    let mut api_key_hashes = Vec::new();
    for (i, h) in f.api_key_sha256.iter().enumerate() {
        let key = format!("partner.api_key_sha256[{i}]");
        let hash = parse_sha256_hex(h).ok_or_else(|| {
            err(
                &key,
                "must be 64 hex characters (`sso-bridge hash-api-key` prints one)",
            )
        })?;
        if is_retired_demo_key_hash(&hash) {
            return Err(err(
                key,
                "is the hash of the published demo key; generate a key of your own and put the output of `sso-bridge hash-api-key` here",
            ));
        }
        api_key_hashes.push(hash);
    }
    if api_key_hashes.is_empty() {
        warnings.push(
            "partner.api_key_sha256: no API key configured; the partner API refuses every call"
                .into(),
        );
    }
    Ok(Partner {
        login_url,
        landing_url,
        logout_url,
        api_key_hashes,
    })
}
