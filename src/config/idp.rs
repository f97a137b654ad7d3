//! `[idp]`: our identity as an IdP, its signing key and certificates, and the time limits of what
//! it signs and accepts.

use std::path::Path;
use std::sync::Arc;

use saml::signer::XmlSigner;
use time::Duration;

use super::file::IdpFile;
use super::{ConfigError, IdpSettings, err, resolve};
use crate::keys;

/// Keys (docs/security.md A12): whoever holds the IdP key forges any login, and a weak key or a
/// careless rollover makes that easier or locks customers out. So the key and certificate are
/// required and loaded at start-up: RSA of at least 2048 bits, a matching pair, a certificate
/// valid now; a certificate expiring within 30 days and a key file readable by group or others
/// are warnings. `next_cert_file` (empty = none) is loaded and must be valid now too, because it
/// is published in the metadata ahead of a rollover (docs/protocol.md §IdP-metadata). Relative
/// paths, from the file or the environment, are relative to the file's directory.
///
/// `entity_id` (default `<public_url>/saml/metadata`) is published in the metadata and is the
/// Issuer of every Response and Assertion (docs/protocol.md R3), and `bp_id` is an attribute
/// value in every assertion, so neither may hold control characters, and the entityID not be
/// blank. The assertion lifetime and the oldest AuthnRequest accepted are 10–3600 s, the clock
/// skew at most 600 s (docs/protocol.md R12, §Checks 10).
pub(super) fn validate(
    f: IdpFile,
    base: &Path,
    public_url: &str,
    warnings: &mut Vec<String>,
) -> Result<IdpSettings, ConfigError> {
    let key_path = resolve(
        base,
        &f.key_file.ok_or_else(|| {
            err(
                "idp.key_file",
                "required (create one with `sso-bridge keygen`)",
            )
        })?,
    );
    let cert_path = resolve(
        base,
        &f.cert_file.ok_or_else(|| {
            err(
                "idp.cert_file",
                "required (create one with `sso-bridge keygen`)",
            )
        })?,
    );
    let key = keys::load_key(&key_path).map_err(|e| err("idp.key_file", e))?;
    let cert = keys::load_cert(&cert_path).map_err(|e| err("idp.cert_file", e))?;
    keys::check_pair(&key, &cert, &key_path, &cert_path).map_err(|e| err("idp.cert_file", e))?;
    let days = keys::check_validity(&cert, &cert_path).map_err(|e| err("idp.cert_file", e))?;
    if days < keys::EXPIRY_WARNING_DAYS {
        warnings.push(format!("idp.cert_file: certificate expires in {days} days; publish a next_cert_file and roll over"));
    }
    if keys::readable_by_others(&key_path) {
        warnings.push(format!(
            "idp.key_file: {} is readable by group or others; chmod 600 it",
            key_path.display()
        ));
    }
    let next_cert = match f.next_cert_file {
        Some(p) if !p.as_os_str().is_empty() => {
            let p = resolve(base, &p);
            let c = keys::load_cert(&p).map_err(|e| err("idp.next_cert_file", e))?;
            keys::check_validity(&c, &p).map_err(|e| err("idp.next_cert_file", e))?;
            Some(c)
        }
        _ => None,
    };
    let signer = XmlSigner::new(key, &cert).map_err(|e| err("idp.key_file", e))?;
    let entity_id = f
        .entity_id
        .unwrap_or_else(|| format!("{public_url}/saml/metadata"));
    if entity_id.trim().is_empty() || entity_id.chars().any(char::is_control) {
        return Err(err("idp.entity_id", "must be a non-empty URI"));
    }
    if f.bp_id.chars().any(char::is_control) {
        return Err(err("idp.bp_id", "must not contain control characters"));
    }
    for (key, value) in [
        ("idp.assertion_lifetime_secs", f.assertion_lifetime_secs),
        ("idp.request_max_age_secs", f.request_max_age_secs),
    ] {
        if !(10..=3600).contains(&value) {
            return Err(err(key, "must be between 10 and 3600 seconds"));
        }
    }
    if f.clock_skew_secs > 600 {
        return Err(err("idp.clock_skew_secs", "must be at most 600 seconds"));
    }
    Ok(IdpSettings {
        entity_id,
        signer: Arc::new(signer),
        cert,
        next_cert,
        bp_id: f.bp_id,
        assertion_lifetime: Duration::seconds(i64::from(f.assertion_lifetime_secs)),
        clock_skew: Duration::seconds(i64::from(f.clock_skew_secs)),
        request_max_age: Duration::seconds(i64::from(f.request_max_age_secs)),
        sign_response: f.sign_response,
    })
}
