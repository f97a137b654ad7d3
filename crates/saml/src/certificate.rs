//! Signing credentials: the smallest RSA key we sign with or trust, and self-signed certificates
//! (SAML metadata carries bare certificates; no CA is involved on either side).

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

/// Smallest RSA key accepted for signing or for trusting.
pub const MIN_RSA_BITS: u32 = 2048;

/// Generates an RSA key and a self-signed SHA-256 certificate valid for `days` from now.
pub fn self_signed(
    bits: u32,
    days: u32,
    common_name: &str,
) -> Result<(PKey<Private>, X509), ErrorStack> {
    let key = PKey::from_rsa(Rsa::generate(bits)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", common_name)?;
    let name = name.build();
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let mut cert = X509::builder()?;
    cert.set_version(2)?;
    cert.set_serial_number(Asn1Integer::from_bn(&serial)?.as_ref())?;
    cert.set_subject_name(&name)?;
    cert.set_issuer_name(&name)?;
    cert.set_pubkey(&key)?;
    cert.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    cert.set_not_after(Asn1Time::days_from_now(days)?.as_ref())?;
    cert.sign(&key, MessageDigest::sha256())?;
    Ok((key, cert.build()))
}
