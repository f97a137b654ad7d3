//! The SAML 2.0 HTTP-Redirect binding (saml-bindings §3.4) as a receiver sees it.
//!
//! The signature covers `SAMLRequest=…&RelayState=…&SigAlg=…` with the values exactly as they
//! appear in the received query (saml-bindings §3.4.4.1). We therefore cut those octets out of
//! the raw query and never re-encode: Huawei may escape `/` as `%2f` where we would write `%2F`
//! (docs/security.md A11).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::read::DeflateDecoder;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Public};
use openssl::sign::Verifier;
use percent_encoding::percent_decode_str;
use std::io::Read as _;

use super::ns;

/// Longest query string accepted (docs/security.md A5). A Huawei request with an RSA-4096 signature
/// is under 2 KB.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Largest inflated message accepted (docs/security.md A5); Huawei's AuthnRequest is under 1 KB.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024;
/// Longest RelayState accepted (saml-bindings §3.4.3: at most 80 bytes).
pub const MAX_RELAY_STATE_BYTES: usize = 80;

/// Which message parameter the query carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `SAMLRequest`.
    Request,
    /// `SAMLResponse`.
    Response,
}

impl MessageKind {
    fn param(self) -> &'static str {
        match self {
            Self::Request => "SAMLRequest",
            Self::Response => "SAMLResponse",
        }
    }
}

/// Why a redirect-binding message was refused; the text is for logs only.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectError {
    /// The query is longer than [`MAX_QUERY_BYTES`].
    #[error("query string longer than {MAX_QUERY_BYTES} bytes")]
    QueryTooLong,
    /// A SAML parameter is missing.
    #[error("query has no {0} parameter")]
    Missing(&'static str),
    /// A SAML parameter appears more than once (docs/security.md A11).
    #[error("query repeats the {0} parameter")]
    Duplicate(&'static str),
    /// A value is not valid percent-encoding, UTF-8 or base64.
    #[error("{0} is not properly encoded")]
    BadEncoding(&'static str),
    /// The message does not inflate as raw DEFLATE.
    #[error("message does not inflate as raw DEFLATE")]
    BadDeflate,
    /// The message inflates past [`MAX_INFLATED_BYTES`] (docs/security.md A5).
    #[error("message inflates past {MAX_INFLATED_BYTES} bytes")]
    TooLarge,
    /// `SigAlg` is not on the allow-list (docs/security.md A6).
    #[error("signature algorithm not allowed")]
    AlgorithmNotAllowed,
    /// No trusted key verifies the signature (docs/security.md A7).
    #[error("signature does not verify with any trusted key")]
    BadSignature,
    /// RelayState longer than 80 bytes.
    #[error("RelayState longer than {MAX_RELAY_STATE_BYTES} bytes")]
    RelayStateTooLong,
}

/// A signature algorithm on the allow-list (docs/security.md A6). `SigAlg` is compared as an exact,
/// case-sensitive string: XML-DSig algorithm identifiers are URIs whose fragment is
/// case-sensitive, and Huawei's upper-case rendering in its docs is CSS, not data
/// (docs/protocol.md §Conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// RSA PKCS#1 v1.5 with SHA-256 (Huawei's default).
    RsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaSha384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaSha512,
}

impl SigAlg {
    /// Parses an allow-listed URI; anything else (rsa-sha1, dsa, hmac, unknown) is refused.
    pub fn from_uri(uri: &str) -> Result<Self, RedirectError> {
        match uri {
            ns::RSA_SHA256 => Ok(Self::RsaSha256),
            ns::RSA_SHA384 => Ok(Self::RsaSha384),
            ns::RSA_SHA512 => Ok(Self::RsaSha512),
            _ => Err(RedirectError::AlgorithmNotAllowed),
        }
    }

    /// The URI of this algorithm.
    pub fn uri(self) -> &'static str {
        match self {
            Self::RsaSha256 => ns::RSA_SHA256,
            Self::RsaSha384 => ns::RSA_SHA384,
            Self::RsaSha512 => ns::RSA_SHA512,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            Self::RsaSha256 => MessageDigest::sha256(),
            Self::RsaSha384 => MessageDigest::sha384(),
            Self::RsaSha512 => MessageDigest::sha512(),
        }
    }

    /// Verifies an RSA PKCS#1 v1.5 `signature` over `data` with any of `keys`. Non-RSA keys never
    /// verify, and OpenSSL errors count as "does not verify" (fail closed).
    pub fn verify_any(self, keys: &[PKey<Public>], data: &[u8], signature: &[u8]) -> bool {
        keys.iter().any(|key| {
            key.rsa().is_ok()
                && Verifier::new(self.digest(), key)
                    .and_then(|mut v| {
                        v.update(data)?;
                        v.verify(signature)
                    })
                    .unwrap_or(false)
        })
    }
}

/// The parts of a redirect-binding query, split but not yet trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedQuery {
    /// Base64 of the DEFLATEd message, percent-decoded.
    message_b64: String,
    /// RelayState, percent-decoded, when present.
    pub relay_state: Option<String>,
    /// The `SigAlg` URI, percent-decoded.
    pub sig_alg: String,
    /// The signature bytes (base64-decoded).
    signature: Vec<u8>,
    /// `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as received.
    signed_octets: String,
}

/// A raw `name=value` pair from the query.
struct RawParam<'q> {
    value: &'q str,
}

/// Splits a raw query string into the SAML parameters (docs/protocol.md §Checks 1–2).
///
/// Exactly one each of the message parameter, `SigAlg` and `Signature`, at most one
/// `RelayState`. Other parameters are ignored: they are not signed and never read.
pub fn split_query(raw: &str, kind: MessageKind) -> Result<SignedQuery, RedirectError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(RedirectError::QueryTooLong);
    }
    let message_name = kind.param();
    let mut message: Option<RawParam<'_>> = None;
    let mut relay: Option<RawParam<'_>> = None;
    let mut sig_alg: Option<RawParam<'_>> = None;
    let mut signature: Option<RawParam<'_>> = None;
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (slot, label) = match name {
            n if n == message_name => (&mut message, message_name),
            "RelayState" => (&mut relay, "RelayState"),
            "SigAlg" => (&mut sig_alg, "SigAlg"),
            "Signature" => (&mut signature, "Signature"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(RedirectError::Duplicate(label));
        }
        *slot = Some(RawParam { value });
    }
    let message = message.ok_or(RedirectError::Missing(message_name))?;
    let sig_alg = sig_alg.ok_or(RedirectError::Missing("SigAlg"))?;
    let signature = signature.ok_or(RedirectError::Missing("Signature"))?;

    let mut signed_octets = format!("{message_name}={}", message.value);
    if let Some(relay) = &relay {
        signed_octets.push_str("&RelayState=");
        signed_octets.push_str(relay.value);
    }
    signed_octets.push_str("&SigAlg=");
    signed_octets.push_str(sig_alg.value);

    Ok(SignedQuery {
        message_b64: decode_base64_param(message.value, message_name)?,
        relay_state: relay
            .map(|r| decode_form_value(r.value, "RelayState"))
            .transpose()?,
        sig_alg: decode_form_value(sig_alg.value, "SigAlg")?,
        signature: STANDARD
            .decode(decode_base64_param(signature.value, "Signature")?)
            .map_err(|_| RedirectError::BadEncoding("Signature"))?,
        signed_octets,
    })
}

impl SignedQuery {
    /// Base64-decodes and raw-inflates the message, stopping at [`MAX_INFLATED_BYTES`]
    /// (docs/security.md A5).
    pub fn inflate(&self) -> Result<Vec<u8>, RedirectError> {
        let deflated = STANDARD
            .decode(&self.message_b64)
            .map_err(|_| RedirectError::BadEncoding("message"))?;
        inflate_bounded(&deflated, MAX_INFLATED_BYTES)
    }

    /// Checks the algorithm against the allow-list and the signature over the received octets
    /// with any of `keys` (the issuer's signing keys from its metadata; never a key carried in
    /// the message, docs/security.md A7).
    pub fn verify(&self, keys: &[PKey<Public>]) -> Result<SigAlg, RedirectError> {
        let alg = SigAlg::from_uri(&self.sig_alg)?;
        if self.signature.is_empty()
            || !alg.verify_any(keys, self.signed_octets.as_bytes(), &self.signature)
        {
            return Err(RedirectError::BadSignature);
        }
        Ok(alg)
    }

    /// Checks the RelayState length limit.
    pub fn check_relay_state(&self) -> Result<(), RedirectError> {
        match &self.relay_state {
            Some(r) if r.len() > MAX_RELAY_STATE_BYTES => Err(RedirectError::RelayStateTooLong),
            _ => Ok(()),
        }
    }
}

/// Inflates raw DEFLATE (RFC 1951, no zlib header, as Huawei's `Inflater(true)`), refusing
/// output larger than `cap` without ever holding more than `cap + 1` bytes.
pub fn inflate_bounded(deflated: &[u8], cap: usize) -> Result<Vec<u8>, RedirectError> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    DeflateDecoder::new(deflated)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| RedirectError::BadDeflate)?;
    if out.len() > cap {
        return Err(RedirectError::TooLarge);
    }
    Ok(out)
}

/// Percent-decodes a base64 parameter. `+` stays `+`: base64 has no spaces, so a literal `+`
/// can only be an unescaped base64 character (Java's URLEncoder always escapes it, others not).
fn decode_base64_param(raw: &str, name: &'static str) -> Result<String, RedirectError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| RedirectError::BadEncoding(name))
}

/// Decodes an `application/x-www-form-urlencoded` value (`+` is a space).
fn decode_form_value(raw: &str, name: &'static str) -> Result<String, RedirectError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| RedirectError::BadEncoding(name))
}

/// Builds a signed redirect-binding query (`SAMLRequest` or `SAMLResponse`, RelayState, SigAlg,
/// Signature) for a message we send, e.g. a LogoutResponse.
pub fn encode_signed_query(
    kind: MessageKind,
    xml: &str,
    relay_state: Option<&str>,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack>,
) -> Result<String, openssl::error::ErrorStack> {
    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use std::io::Write as _;

    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let deflated = encoder
        .write_all(xml.as_bytes())
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    let mut query = format!(
        "{}={}",
        kind.param(),
        uri_component(&STANDARD.encode(deflated))
    );
    if let Some(relay) = relay_state {
        query.push_str("&RelayState=");
        query.push_str(&uri_component(relay));
    }
    query.push_str("&SigAlg=");
    query.push_str(&uri_component(ns::RSA_SHA256));
    let signature = sign(query.as_bytes())?;
    query.push_str("&Signature=");
    query.push_str(&uri_component(&STANDARD.encode(signature)));
    Ok(query)
}

/// Percent-encodes like JavaScript's `encodeURIComponent` (leaves `A-Z a-z 0-9 - _ . ! ~ * ' ( )`),
/// which Huawei asks for on the `service` parameter (docs/protocol.md §Login-link).
pub fn uri_component(s: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'!')
        .remove(b'~')
        .remove(b'*')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')');
    utf8_percent_encode(s, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        assert_eq!(
            uri_component("https://console.huaweicloud.com/iam/?a=b c&d='x'"),
            "https%3A%2F%2Fconsole.huaweicloud.com%2Fiam%2F%3Fa%3Db%20c%26d%3D'x'"
        );
        assert_eq!(uri_component("中"), "%E4%B8%AD");
    }

    #[test]
    fn splits_and_keeps_received_octets() {
        let q = "SAMLRequest=abc%2f&RelayState=r%2Bs+t&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=AAAA&extra=1";
        let s = split_query(q, MessageKind::Request).unwrap();
        assert_eq!(
            s.signed_octets,
            "SAMLRequest=abc%2f&RelayState=r%2Bs+t&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"
        );
        assert_eq!(s.relay_state.as_deref(), Some("r+s t"));
        assert_eq!(s.sig_alg, ns::RSA_SHA256);
        assert_eq!(s.message_b64, "abc/");
    }

    #[test]
    fn refuses_missing_and_duplicated_parameters() {
        let base = "SAMLRequest=a&SigAlg=b&Signature=AAAA";
        assert!(split_query(base, MessageKind::Request).is_ok());
        assert_eq!(
            split_query("SAMLRequest=a&Signature=AAAA", MessageKind::Request),
            Err(RedirectError::Missing("SigAlg"))
        );
        assert_eq!(
            split_query("SAMLRequest=a&SigAlg=b", MessageKind::Request),
            Err(RedirectError::Missing("Signature"))
        );
        assert_eq!(
            split_query("SigAlg=b&Signature=AAAA", MessageKind::Request),
            Err(RedirectError::Missing("SAMLRequest"))
        );
        assert_eq!(
            split_query(&format!("{base}&SAMLRequest=c"), MessageKind::Request),
            Err(RedirectError::Duplicate("SAMLRequest"))
        );
        assert_eq!(
            split_query(
                &format!("{base}&RelayState=1&RelayState=2"),
                MessageKind::Request
            ),
            Err(RedirectError::Duplicate("RelayState"))
        );
        assert_eq!(
            split_query(&"a".repeat(MAX_QUERY_BYTES + 1), MessageKind::Request),
            Err(RedirectError::QueryTooLong)
        );
    }

    #[test]
    fn allow_list_is_exact() {
        assert_eq!(SigAlg::from_uri(ns::RSA_SHA256), Ok(SigAlg::RsaSha256));
        for bad in [
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "HTTP://WWW.W3.ORG/2001/04/XMLDSIG-MORE#RSA-SHA256",
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            "",
        ] {
            assert_eq!(
                SigAlg::from_uri(bad),
                Err(RedirectError::AlgorithmNotAllowed)
            );
        }
    }

    #[test]
    fn inflate_stops_at_the_cap() {
        use flate2::Compression;
        use flate2::write::DeflateEncoder;
        use std::io::Write as _;
        let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
        e.write_all(&vec![b'a'; 10 * 1024 * 1024]).unwrap();
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 20 * 1024);
        assert_eq!(inflate_bounded(&bomb, 1024), Err(RedirectError::TooLarge));
        assert_eq!(
            inflate_bounded(b"not deflate", 1024),
            Err(RedirectError::BadDeflate)
        );
    }
}
