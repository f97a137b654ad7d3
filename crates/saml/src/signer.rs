//! The one module that signs XML. It holds the RSA key parsed once at start-up and produces
//! enveloped XML-DSig signatures over elements we wrote in canonical form (see
//! [`super::canonical`]), so signing is one SHA-256 over the element, one over SignedInfo and
//! one RSA operation: no second XML pass, no per-call key import (docs/security.md §samael).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sha::sha256;
use openssl::sign::Signer as OsslSigner;
use openssl::x509::X509;

use super::canonical::{close, empty_element, open, text_element};
use super::ns;

/// Our signing key and the certificate we put in KeyInfo.
pub struct XmlSigner {
    /// RSA private key, parsed once.
    key: PKey<Private>,
    /// Base64 DER of our current certificate, precomputed for KeyInfo.
    cert_b64: String,
}

impl std::fmt::Debug for XmlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("XmlSigner { key: <redacted> }")
    }
}

/// A canonical element split where the signature goes: right after its Issuer (saml-core §5.4.1
/// and docs/protocol.md R7).
pub struct SignableElement<'a> {
    /// The element's `ID`, referenced as `#ID`.
    pub id: &'a str,
    /// The canonical start tag and Issuer child, i.e. everything before the signature.
    pub head: &'a str,
    /// Everything after the signature, including the end tag.
    pub tail: &'a str,
}

impl XmlSigner {
    /// A signer for `key`, presenting `cert` in KeyInfo.
    pub fn new(key: PKey<Private>, cert: &X509) -> Result<Self, openssl::error::ErrorStack> {
        Ok(Self {
            key,
            cert_b64: STANDARD.encode(cert.to_der()?),
        })
    }

    /// Raw RSA PKCS#1 v1.5 SHA-256 signature over `data` (also used for redirect-binding
    /// messages we send).
    pub fn sign_bytes(&self, data: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut signer = OsslSigner::new(MessageDigest::sha256(), &self.key)?;
        signer.update(data)?;
        signer.sign_to_vec()
    }

    /// Returns `head + <ds:Signature…> + tail`: an enveloped signature with exclusive c14n
    /// (InclusiveNamespaces `xsd`, docs/protocol.md R10), RSA-SHA256 and a SHA-256 digest.
    ///
    /// `head + tail` must already be the exclusive canonical form of the element without its
    /// signature, which is exactly what the enveloped-signature transform leaves for a verifier.
    pub fn sign_element(
        &self,
        element: &SignableElement<'_>,
    ) -> Result<String, openssl::error::ErrorStack> {
        let mut unsigned = String::with_capacity(element.head.len() + element.tail.len());
        unsigned.push_str(element.head);
        unsigned.push_str(element.tail);
        let digest = STANDARD.encode(sha256(unsigned.as_bytes()));

        let signed_info = signed_info_content(element.id, &digest);
        // Canonical SignedInfo as its own apex: it must declare the ds prefix it uses.
        let mut canonical_signed_info = String::with_capacity(signed_info.len() + 80);
        open(
            &mut canonical_signed_info,
            "ds:SignedInfo",
            &[("ds", ns::DSIG)],
            &[],
        );
        canonical_signed_info.push_str(&signed_info);
        close(&mut canonical_signed_info, "ds:SignedInfo");
        let signature_value = STANDARD.encode(self.sign_bytes(canonical_signed_info.as_bytes())?);

        let mut out =
            String::with_capacity(unsigned.len() + signed_info.len() + self.cert_b64.len() + 900);
        out.push_str(element.head);
        open(&mut out, "ds:Signature", &[("ds", ns::DSIG)], &[]);
        open(&mut out, "ds:SignedInfo", &[], &[]);
        out.push_str(&signed_info);
        close(&mut out, "ds:SignedInfo");
        text_element(&mut out, "ds:SignatureValue", &[], &[], &signature_value);
        open(&mut out, "ds:KeyInfo", &[], &[]);
        open(&mut out, "ds:X509Data", &[], &[]);
        text_element(&mut out, "ds:X509Certificate", &[], &[], &self.cert_b64);
        close(&mut out, "ds:X509Data");
        close(&mut out, "ds:KeyInfo");
        close(&mut out, "ds:Signature");
        out.push_str(element.tail);
        Ok(out)
    }
}

/// The children of SignedInfo, canonical, with `ds` declared by an ancestor.
fn signed_info_content(id: &str, digest_b64: &str) -> String {
    let reference = format!("#{id}");
    let mut out = String::with_capacity(900);
    empty_element(
        &mut out,
        "ds:CanonicalizationMethod",
        &[],
        &[("", "Algorithm", ns::EXC_C14N)],
    );
    empty_element(
        &mut out,
        "ds:SignatureMethod",
        &[],
        &[("", "Algorithm", ns::RSA_SHA256)],
    );
    open(&mut out, "ds:Reference", &[], &[("", "URI", &reference)]);
    open(&mut out, "ds:Transforms", &[], &[]);
    empty_element(
        &mut out,
        "ds:Transform",
        &[],
        &[("", "Algorithm", ns::ENVELOPED)],
    );
    open(
        &mut out,
        "ds:Transform",
        &[],
        &[("", "Algorithm", ns::EXC_C14N)],
    );
    empty_element(
        &mut out,
        "ec:InclusiveNamespaces",
        &[("ec", ns::EXC_C14N)],
        &[("", "PrefixList", "xsd")],
    );
    close(&mut out, "ds:Transform");
    close(&mut out, "ds:Transforms");
    empty_element(
        &mut out,
        "ds:DigestMethod",
        &[],
        &[("", "Algorithm", ns::SHA256)],
    );
    text_element(&mut out, "ds:DigestValue", &[], &[], digest_b64);
    close(&mut out, "ds:Reference");
    out
}
