//! Reading the IdP metadata a partner registers with Huawei (接入配置): the simulator's own reader,
//! so that what the bridge publishes is read by code that did not write it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use saml::{inbound, ns};

/// What an SP needs from IdP metadata.
#[derive(Clone)]
pub struct IdpDescriptor {
    /// entityID.
    pub entity_id: String,
    /// SingleSignOnService (HTTP-Redirect).
    pub sso_url: String,
    /// SingleLogoutService (HTTP-Redirect), if any.
    pub slo_url: Option<String>,
    /// Signing certificates: DER and public key.
    pub certs: Vec<(Vec<u8>, openssl::pkey::PKey<openssl::pkey::Public>)>,
}

impl std::fmt::Debug for IdpDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpDescriptor")
            .field("entity_id", &self.entity_id)
            .field("sso_url", &self.sso_url)
            .finish_non_exhaustive()
    }
}

impl IdpDescriptor {
    /// Reads IdP metadata: entityID, signing certificates (a KeyDescriptor without `use`
    /// counts), and the HTTP-Redirect SSO and SLO endpoints.
    pub fn from_metadata(xml: &[u8]) -> Result<Self, String> {
        let root = inbound::parse(xml).map_err(|e| e.to_string())?;
        if !root.is(ns::METADATA, "EntityDescriptor") {
            return Err("not an md:EntityDescriptor".into());
        }
        let entity_id = root.attr("entityID").ok_or("no entityID")?.to_owned();
        let idp = root
            .children_named(ns::METADATA, "IDPSSODescriptor")
            .next()
            .ok_or("no IDPSSODescriptor")?;
        let redirect = |local: &'static str| {
            idp.children_named(ns::METADATA, local)
                .find(|e| e.attr("Binding") == Some(ns::BINDING_REDIRECT))
                .and_then(|e| e.attr("Location"))
                .map(str::to_owned)
        };
        let mut certs = Vec::new();
        for kd in idp.children_named(ns::METADATA, "KeyDescriptor") {
            if !matches!(kd.attr("use"), None | Some("signing")) {
                continue;
            }
            for ki in kd.children_named(ns::DSIG, "KeyInfo") {
                for data in ki.children_named(ns::DSIG, "X509Data") {
                    for c in data.children_named(ns::DSIG, "X509Certificate") {
                        let cert = decode_certificate(&c.text).map_err(|e| e.to_string())?;
                        certs.push((
                            cert.to_der().map_err(|e| e.to_string())?,
                            cert.public_key().map_err(|e| e.to_string())?,
                        ));
                    }
                }
            }
        }
        if certs.is_empty() {
            return Err("no signing certificate".into());
        }
        Ok(Self {
            entity_id,
            sso_url: redirect("SingleSignOnService")
                .ok_or("no HTTP-Redirect SingleSignOnService")?,
            slo_url: redirect("SingleLogoutService"),
            certs,
        })
    }
}

/// A base64 `X509Certificate` (white space allowed, as in metadata) to a certificate.
fn decode_certificate(b64: &str) -> Result<X509, String> {
    let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(compact)
        .map_err(|e| format!("X509Certificate is not base64: {e}"))?;
    X509::from_der(&der).map_err(|e| format!("X509Certificate is not a certificate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use saml::idp_metadata::IdpMetadata;

    #[test]
    fn reads_what_the_bridge_publishes_with_both_certificates() {
        let (_, cert) = saml::certificate::self_signed(2048, 1, "a").unwrap();
        let (_, next) = saml::certificate::self_signed(2048, 1, "b").unwrap();
        let xml = IdpMetadata {
            entity_id: "https://idp.example/saml/metadata",
            cert: &cert,
            next_cert: Some(&next),
            sso_url: "https://idp.example/saml/sso",
            slo_url: "https://idp.example/saml/slo",
        }
        .render()
        .unwrap();
        let read = IdpDescriptor::from_metadata(xml.as_bytes()).unwrap();
        assert_eq!(read.entity_id, "https://idp.example/saml/metadata");
        assert_eq!(read.sso_url, "https://idp.example/saml/sso");
        assert_eq!(
            read.slo_url.as_deref(),
            Some("https://idp.example/saml/slo")
        );
        assert_eq!(read.certs.len(), 2);
        assert_eq!(read.certs[0].0, cert.to_der().unwrap());
    }

    #[test]
    fn refuses_metadata_without_a_signing_certificate_or_sso_endpoint() {
        let no_cert = br#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"#;
        assert_eq!(
            IdpDescriptor::from_metadata(no_cert).unwrap_err(),
            "no signing certificate"
        );
        assert!(IdpDescriptor::from_metadata(b"<x/>").is_err());
    }
}
