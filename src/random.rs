//! Random identifiers and secrets, all from OpenSSL's CSPRNG.
//!
//! Secrets that travel to a browser (tickets, session ids, state ids) are 256-bit and stored only
//! as SHA-256 hashes, so a copy of the store does not let anyone use them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::sha::sha256;

/// Number of random bytes in a browser-facing secret (256 bits).
const SECRET_BYTES: usize = 32;

/// Random bytes from OpenSSL. Fails closed: an RNG failure is an error, never a weak value.
pub fn bytes<const N: usize>() -> Result<[u8; N], openssl::error::ErrorStack> {
    let mut buf = [0u8; N];
    openssl::rand::rand_bytes(&mut buf)?;
    Ok(buf)
}

/// A new URL-safe secret token (43 characters).
pub fn token() -> Result<String, openssl::error::ErrorStack> {
    Ok(URL_SAFE_NO_PAD.encode(bytes::<SECRET_BYTES>()?))
}

/// A new XML ID: `_` followed by 40 lowercase hex characters (NCName-safe, 160 bits).
pub fn xml_id() -> Result<String, openssl::error::ErrorStack> {
    Ok(format!("_{}", hex(&bytes::<20>()?)))
}

/// True when `s` looks like a token made by [`token`]; cheap shape check before any store lookup.
pub fn is_token_shaped(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The store key for a secret (or any id of unbounded text): SHA-256, so the store never holds
/// the secret itself; base64url (43 characters) rather than hex keeps keys short.
pub fn token_digest(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(token.as_bytes()))
}

/// The store key of a browser-facing secret (ticket, session cookie, state id, continuation
/// token): its [`token_digest`]. A type of its own, so a raw secret can never be handed to the
/// store where it expects the digest (the store would then hold the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretDigest(String);

impl SecretDigest {
    /// The digest of `secret`.
    pub fn of(secret: &str) -> Self {
        Self(token_digest(secret))
    }

    /// A digest read back from the store (the session index holds one).
    pub(crate) fn from_stored(digest: String) -> Self {
        Self(digest)
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lowercase hex encoding.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_shaped() {
        let a = token().unwrap();
        let b = token().unwrap();
        assert_ne!(a, b);
        assert!(is_token_shaped(&a));
        assert!(!is_token_shaped("short"));
        assert!(!is_token_shaped(&format!("{}!", &a[..42])));
    }

    #[test]
    fn xml_ids_are_ncnames() {
        let id = xml_id().unwrap();
        assert_eq!(id.len(), 41);
        assert!(id.starts_with('_'));
    }

    #[test]
    fn digest_is_hex_sha256() {
        // SHA-256("abc") = ba7816bf…15ad, in base64url.
        assert_eq!(
            token_digest("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
