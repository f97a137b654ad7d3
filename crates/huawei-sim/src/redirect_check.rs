//! The simulator's own reading of a signed message on the HTTP-Redirect binding (the IdP's
//! LogoutResponse), written apart from the bridge's `saml::redirect` so that the bridge's
//! encoder and its verifier are not the only two parties that agree on the format.
//!
//! saml-bindings §3.4.4.1: the signature covers `SAMLResponse=…[&RelayState=…]&SigAlg=…`
//! exactly as the octets were received, and the message is base64 of raw DEFLATE.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::read::DeflateDecoder;
use openssl::pkey::{PKey, Public};
use saml::ns;

use crate::xmldsig::rsa_sha256_verifies;

/// Largest inflated message the simulated SP reads.
const MAX_XML: u64 = 256 * 1024;

/// A received redirect-binding response, before its signature is checked.
#[derive(Debug)]
pub struct RedirectResponse {
    /// The inflated XML.
    pub xml: Vec<u8>,
    signed_octets: String,
    signature: Vec<u8>,
}

impl RedirectResponse {
    /// Reads `SAMLResponse`, `RelayState`, `SigAlg` and `Signature` from the raw query (each at
    /// most once); only RSA-SHA256 is accepted, as the bridge is configured to sign.
    pub fn parse(raw_query: &str) -> Result<Self, String> {
        let mut found: [Option<(&str, String)>; 4] = [None, None, None, None];
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "SAMLResponse" => 0,
                "RelayState" => 1,
                "SigAlg" => 2,
                "Signature" => 3,
                _ => continue,
            };
            if found[slot].is_some() {
                return Err(format!("{name} appears twice"));
            }
            found[slot] = Some((raw, decode_component(raw)));
        }
        let [message, relay, sig_alg, signature] = found;
        let (message_raw, message) = message.ok_or("no SAMLResponse")?;
        let (sig_alg_raw, sig_alg) = sig_alg.ok_or("unsigned: no SigAlg")?;
        let (_, signature) = signature.ok_or("unsigned: no Signature")?;
        if sig_alg != ns::RSA_SHA256 {
            return Err(format!("SigAlg {sig_alg} is not RSA-SHA256"));
        }
        let mut signed_octets = format!("SAMLResponse={message_raw}");
        if let Some((relay_raw, _)) = relay {
            signed_octets.push_str(&format!("&RelayState={relay_raw}"));
        }
        signed_octets.push_str(&format!("&SigAlg={sig_alg_raw}"));
        let deflated = STANDARD
            .decode(message)
            .map_err(|_| "SAMLResponse is not base64")?;
        let mut xml = Vec::new();
        DeflateDecoder::new(deflated.as_slice())
            .take(MAX_XML + 1)
            .read_to_end(&mut xml)
            .map_err(|_| "SAMLResponse is not raw DEFLATE")?;
        if xml.len() as u64 > MAX_XML {
            return Err("SAMLResponse inflates beyond the limit".into());
        }
        Ok(Self {
            xml,
            signed_octets,
            signature: STANDARD
                .decode(signature)
                .map_err(|_| "Signature is not base64")?,
        })
    }

    /// Checks the signature over the received octets with one of the IdP's keys from its
    /// metadata.
    pub fn verify(&self, trusted: &[PKey<Public>]) -> Result<(), String> {
        if trusted
            .iter()
            .any(|key| rsa_sha256_verifies(key, self.signed_octets.as_bytes(), &self.signature))
        {
            Ok(())
        } else {
            Err("the signature does not verify with the IdP's keys".into())
        }
    }
}

/// One query value, percent-decoded as application/x-www-form-urlencoded (`+` is a space).
fn decode_component(raw: &str) -> String {
    form_urlencoded::parse(format!("v={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use openssl::hash::MessageDigest;
    use openssl::sign::Signer;
    use std::io::Write as _;

    fn encode(s: &str) -> String {
        form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    fn signed_query(key: &PKey<openssl::pkey::Private>, xml: &str, sig_alg: &str) -> String {
        let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
        deflater.write_all(xml.as_bytes()).unwrap();
        let message = STANDARD.encode(deflater.finish().unwrap());
        let unsigned = format!(
            "SAMLResponse={}&RelayState=r%2Bs&SigAlg={}",
            encode(&message),
            encode(sig_alg)
        );
        let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
        signer.update(unsigned.as_bytes()).unwrap();
        let signature = STANDARD.encode(signer.sign_to_vec().unwrap());
        format!("{unsigned}&Signature={}", encode(&signature))
    }

    #[test]
    fn verifies_the_received_octets_and_refuses_changes_and_other_keys() {
        let (key, cert) = saml::certificate::self_signed(2048, 1, "idp").unwrap();
        let (_, other) = saml::certificate::self_signed(2048, 1, "other").unwrap();
        let trusted = [cert.public_key().unwrap()];
        let query = signed_query(&key, "<LogoutResponse/>", ns::RSA_SHA256);
        let received = RedirectResponse::parse(&query).unwrap();
        assert_eq!(received.xml, b"<LogoutResponse/>");
        received.verify(&trusted).unwrap();
        assert!(received.verify(&[other.public_key().unwrap()]).is_err());
        let changed = query.replace("RelayState=r%2Bs", "RelayState=r+s");
        assert!(
            RedirectResponse::parse(&changed)
                .unwrap()
                .verify(&trusted)
                .is_err()
        );
        let twice = format!("{query}&SigAlg=x");
        assert!(RedirectResponse::parse(&twice).is_err());
        let unsigned = query.split("&Signature=").next().unwrap();
        assert!(RedirectResponse::parse(unsigned).is_err());
    }

    #[test]
    fn refuses_other_algorithms_and_non_rsa_keys() {
        let (key, _) = saml::certificate::self_signed(2048, 1, "idp").unwrap();
        let sha1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
        assert!(RedirectResponse::parse(&signed_query(&key, "<x/>", sha1)).is_err());
        let ec = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap();
        let ec_key = PKey::from_ec_key(ec).unwrap();
        let query = signed_query(&ec_key, "<x/>", ns::RSA_SHA256);
        let public = PKey::public_key_from_pem(&ec_key.public_key_to_pem().unwrap()).unwrap();
        // An ECDSA signature labelled RSA-SHA256 verifies in OpenSSL; the SP must refuse it.
        assert!(
            RedirectResponse::parse(&query)
                .unwrap()
                .verify(&[public])
                .is_err()
        );
    }
}
