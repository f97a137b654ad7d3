//! The IdP metadata the partner uploads to Huawei's Partner Center
//! (docs/protocol.md §IdP-metadata): entityID, signing certificate(s), SSO and SLO endpoints
//! (HTTP-Redirect) and the transient NameID format.
//! It holds nothing secret and stays far below Huawei's 2 MB limit.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;

use super::canonical::{close, empty_element, open, text_element};
use super::ns;

/// Inputs for the metadata document.
pub struct IdpMetadata<'a> {
    /// Our entityID.
    pub entity_id: &'a str,
    /// Current signing certificate.
    pub cert: &'a X509,
    /// Next certificate during a rollover, published before it is used (docs/security.md A12).
    pub next_cert: Option<&'a X509>,
    /// `<public URL>/saml/sso`.
    pub sso_url: &'a str,
    /// `<public URL>/saml/slo`.
    pub slo_url: &'a str,
}

impl IdpMetadata<'_> {
    /// Renders the metadata as UTF-8 XML.
    pub fn render(&self) -> Result<String, openssl::error::ErrorStack> {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        open(
            &mut out,
            "md:EntityDescriptor",
            &[("md", ns::METADATA), ("ds", ns::DSIG)],
            &[("", "entityID", self.entity_id)],
        );
        out.push_str("\n  ");
        open(
            &mut out,
            "md:IDPSSODescriptor",
            &[],
            &[("", "protocolSupportEnumeration", ns::PROTOCOL)],
        );
        for cert in std::iter::once(self.cert).chain(self.next_cert) {
            out.push_str("\n    ");
            open(&mut out, "md:KeyDescriptor", &[], &[("", "use", "signing")]);
            open(&mut out, "ds:KeyInfo", &[], &[]);
            open(&mut out, "ds:X509Data", &[], &[]);
            text_element(
                &mut out,
                "ds:X509Certificate",
                &[],
                &[],
                &STANDARD.encode(cert.to_der()?),
            );
            close(&mut out, "ds:X509Data");
            close(&mut out, "ds:KeyInfo");
            close(&mut out, "md:KeyDescriptor");
        }
        out.push_str("\n    ");
        empty_element(
            &mut out,
            "md:SingleLogoutService",
            &[],
            &[
                ("", "Binding", ns::BINDING_REDIRECT),
                ("", "Location", self.slo_url),
            ],
        );
        out.push_str("\n    ");
        text_element(&mut out, "md:NameIDFormat", &[], &[], ns::NAMEID_TRANSIENT);
        out.push_str("\n    ");
        empty_element(
            &mut out,
            "md:SingleSignOnService",
            &[],
            &[
                ("", "Binding", ns::BINDING_REDIRECT),
                ("", "Location", self.sso_url),
            ],
        );
        out.push_str("\n  ");
        close(&mut out, "md:IDPSSODescriptor");
        out.push('\n');
        close(&mut out, "md:EntityDescriptor");
        out.push('\n');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound;

    #[test]
    fn lists_both_certificates_and_endpoints() {
        let (_, cert) = crate::certificate::self_signed(2048, 1, "a").unwrap();
        let (_, next) = crate::certificate::self_signed(2048, 1, "b").unwrap();
        let xml = IdpMetadata {
            entity_id: "https://idp.example/saml/metadata",
            cert: &cert,
            next_cert: Some(&next),
            sso_url: "https://idp.example/saml/sso",
            slo_url: "https://idp.example/saml/slo",
        }
        .render()
        .unwrap();
        let root = inbound::parse(xml.as_bytes()).unwrap();
        assert_eq!(
            root.attr("entityID"),
            Some("https://idp.example/saml/metadata")
        );
        let idp = root
            .children_named(ns::METADATA, "IDPSSODescriptor")
            .next()
            .unwrap();
        assert_eq!(idp.children_named(ns::METADATA, "KeyDescriptor").count(), 2);
        let sso = idp
            .children_named(ns::METADATA, "SingleSignOnService")
            .next()
            .unwrap();
        assert_eq!(sso.attr("Binding"), Some(ns::BINDING_REDIRECT));
        assert_eq!(sso.attr("Location"), Some("https://idp.example/saml/sso"));
        assert!(xml.len() < 2 * 1024 * 1024);
        assert!(!xml.contains("PRIVATE"));
    }
}
