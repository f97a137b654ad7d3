//! Huawei's SP metadata (docs/protocol.md §SP-metadata): who may send us AuthnRequests, where
//! responses go, and which keys sign Huawei's messages.
//!
//! Unlike samael's helper (docs/security.md §samael) we keep every ACS and every signing
//! certificate, and a `KeyDescriptor` without `use` counts as signing (saml-metadata §2.4.1.1).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use url::Url;

use super::inbound::{self, Element};
use super::ns;

/// Largest metadata file accepted; Huawei's is about 7 KB and its own limit for IdP metadata is 2 MB.
pub const MAX_METADATA_BYTES: usize = 2 * 1024 * 1024;

/// Why SP metadata was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpMetadataError {
    /// The file could not be parsed.
    #[error("SP metadata is not acceptable XML: {0}")]
    Xml(#[from] inbound::XmlError),
    /// Larger than [`MAX_METADATA_BYTES`].
    #[error("SP metadata is larger than 2 MB")]
    TooLarge,
    /// The root is not an EntityDescriptor with an entityID.
    #[error("SP metadata has no md:EntityDescriptor with an entityID")]
    NoEntity,
    /// No SPSSODescriptor for SAML 2.0.
    #[error("SP metadata has no SAML 2.0 md:SPSSODescriptor")]
    NoDescriptor,
    /// No signing certificate.
    #[error(
        "SP metadata has no signing certificate (KeyDescriptor use=\"signing\" or without use)"
    )]
    NoSigningKey,
    /// A signing key is not RSA or smaller than 2048 bits (docs/security.md A12).
    #[error("SP metadata has a signing key that is not RSA of at least 2048 bits ({0} bits)")]
    WeakKey(u32),
    /// A certificate could not be decoded.
    #[error("SP metadata has a certificate that is not valid base64 DER X.509: {0}")]
    BadCertificate(String),
    /// No HTTP-POST ACS.
    #[error("SP metadata has no AssertionConsumerService with the HTTP-POST binding")]
    NoAcs,
    /// An endpoint URL is not absolute https (docs/security.md A8).
    #[error("SP metadata endpoint {0:?} is not an https URL (only dev mode allows http)")]
    InsecureEndpoint(String),
    /// An index is not a number.
    #[error("SP metadata has an endpoint with an invalid index")]
    BadIndex,
}

/// An AssertionConsumerService endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsEndpoint {
    /// Binding URI.
    pub binding: String,
    /// Where responses are POSTed.
    pub location: String,
    /// `index` attribute.
    pub index: Option<u16>,
    /// `isDefault` attribute, when given.
    pub is_default: Option<bool>,
}

/// A SingleLogoutService endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SloEndpoint {
    /// Binding URI.
    pub binding: String,
    /// Where requests go.
    pub location: String,
    /// Where responses go (defaults to `location`).
    pub response_location: String,
}

/// One service provider as its metadata describes it.
#[derive(Clone)]
pub struct ServiceProvider {
    /// entityID; the Issuer of its requests, our Audience and NameQualifier.
    pub entity_id: String,
    /// Every ACS in document order.
    pub acs: Vec<AcsEndpoint>,
    /// Every SLO endpoint in document order.
    pub slo: Vec<SloEndpoint>,
    /// Certificates that may sign its messages.
    pub signing_certs: Vec<X509>,
    /// Their public keys, extracted once.
    pub signing_keys: Vec<PKey<Public>>,
    /// NameID formats it lists, trimmed.
    pub name_id_formats: Vec<String>,
    /// `AuthnRequestsSigned`.
    pub authn_requests_signed: bool,
    /// `WantAssertionsSigned`.
    pub want_assertions_signed: bool,
}

impl std::fmt::Debug for ServiceProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProvider")
            .field("entity_id", &self.entity_id)
            .field("acs", &self.acs)
            .field("slo", &self.slo)
            .field("signing_certs", &self.signing_certs.len())
            .finish_non_exhaustive()
    }
}

impl AsRef<ServiceProvider> for ServiceProvider {
    fn as_ref(&self) -> &ServiceProvider {
        self
    }
}

impl ServiceProvider {
    /// Parses SP metadata. Outside dev mode every ACS and SLO location must be https
    /// (docs/security.md A8).
    pub fn from_metadata(xml: &[u8], allow_http: bool) -> Result<Self, SpMetadataError> {
        if xml.len() > MAX_METADATA_BYTES {
            return Err(SpMetadataError::TooLarge);
        }
        let root = inbound::parse(xml)?;
        let entity = find_entity(&root)?;
        let entity_id = entity
            .attr("entityID")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(SpMetadataError::NoEntity)?
            .to_owned();
        let sp = entity
            .children_named(ns::METADATA, "SPSSODescriptor")
            .find(|d| {
                d.attr("protocolSupportEnumeration")
                    .is_some_and(|p| p.split_whitespace().any(|x| x == ns::PROTOCOL))
            })
            .ok_or(SpMetadataError::NoDescriptor)?;

        let signing_certs = signing_certificates(sp)?;
        if signing_certs.is_empty() {
            return Err(SpMetadataError::NoSigningKey);
        }
        let signing_keys = signing_certs
            .iter()
            .map(|c| c.public_key())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SpMetadataError::BadCertificate(e.to_string()))?;
        // docs/security.md A12: never trust a signing key weaker than RSA-2048.
        if let Some(weak) = signing_keys
            .iter()
            .find(|k| k.rsa().is_err() || k.bits() < crate::certificate::MIN_RSA_BITS)
        {
            return Err(SpMetadataError::WeakKey(weak.bits()));
        }

        let mut acs = Vec::new();
        for el in sp.children_named(ns::METADATA, "AssertionConsumerService") {
            let location = endpoint_location(el.attr("Location"), allow_http)?;
            acs.push(AcsEndpoint {
                binding: el.attr("Binding").unwrap_or_default().trim().to_owned(),
                location,
                index: el
                    .attr("index")
                    .map(|i| {
                        i.trim()
                            .parse::<u16>()
                            .map_err(|_| SpMetadataError::BadIndex)
                    })
                    .transpose()?,
                is_default: el
                    .attr("isDefault")
                    .map(|d| matches!(d.trim(), "true" | "1")),
            });
        }
        if !acs.iter().any(|a| a.binding == ns::BINDING_POST) {
            return Err(SpMetadataError::NoAcs);
        }
        let mut slo = Vec::new();
        for el in sp.children_named(ns::METADATA, "SingleLogoutService") {
            let location = endpoint_location(el.attr("Location"), allow_http)?;
            let response_location = match el.attr("ResponseLocation") {
                Some(r) => endpoint_location(Some(r), allow_http)?,
                None => location.clone(),
            };
            slo.push(SloEndpoint {
                binding: el.attr("Binding").unwrap_or_default().trim().to_owned(),
                location,
                response_location,
            });
        }
        Ok(Self {
            entity_id,
            acs,
            slo,
            signing_certs,
            signing_keys,
            name_id_formats: sp
                .children_named(ns::METADATA, "NameIDFormat")
                .map(|e| e.trimmed_text().to_owned())
                .filter(|f| !f.is_empty())
                .collect(),
            authn_requests_signed: bool_attr(sp, "AuthnRequestsSigned"),
            want_assertions_signed: bool_attr(sp, "WantAssertionsSigned"),
        })
    }

    /// The default HTTP-POST ACS (saml-metadata §2.2.3): the one marked `isDefault="true"`,
    /// else the first not marked `false`, else the first.
    pub fn default_acs(&self) -> Option<&AcsEndpoint> {
        let post = || self.acs.iter().filter(|a| a.binding == ns::BINDING_POST);
        post()
            .find(|a| a.is_default == Some(true))
            .or_else(|| post().find(|a| a.is_default.is_none()))
            .or_else(|| post().next())
    }

    /// The HTTP-POST ACS whose Location is exactly `url`.
    pub fn acs_by_url(&self, url: &str) -> Option<&AcsEndpoint> {
        self.acs
            .iter()
            .find(|a| a.binding == ns::BINDING_POST && a.location == url)
    }

    /// The HTTP-POST ACS with `index`.
    pub fn acs_by_index(&self, index: u16) -> Option<&AcsEndpoint> {
        self.acs
            .iter()
            .find(|a| a.binding == ns::BINDING_POST && a.index == Some(index))
    }

    /// The HTTP-Redirect SLO endpoint, if any.
    pub fn redirect_slo(&self) -> Option<&SloEndpoint> {
        self.slo.iter().find(|s| s.binding == ns::BINDING_REDIRECT)
    }
}

fn find_entity(root: &Element) -> Result<&Element, SpMetadataError> {
    if root.is(ns::METADATA, "EntityDescriptor") {
        return Ok(root);
    }
    // A file holding an EntitiesDescriptor with exactly this one SP is accepted too.
    if root.is(ns::METADATA, "EntitiesDescriptor") {
        let mut entities = root.children_named(ns::METADATA, "EntityDescriptor");
        if let (Some(one), None) = (entities.next(), entities.next()) {
            return Ok(one);
        }
    }
    Err(SpMetadataError::NoEntity)
}

fn signing_certificates(sp: &Element) -> Result<Vec<X509>, SpMetadataError> {
    let mut certs = Vec::new();
    for kd in sp.children_named(ns::METADATA, "KeyDescriptor") {
        if !matches!(kd.attr("use").map(str::trim), None | Some("signing")) {
            continue;
        }
        for key_info in kd.children_named(ns::DSIG, "KeyInfo") {
            for data in key_info.children_named(ns::DSIG, "X509Data") {
                for cert in data.children_named(ns::DSIG, "X509Certificate") {
                    certs.push(decode_certificate(&cert.text)?);
                }
            }
        }
    }
    Ok(certs)
}

/// Decodes base64 DER (whitespace inside is allowed, as metadata files wrap lines).
pub fn decode_certificate(b64: &str) -> Result<X509, SpMetadataError> {
    let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(compact)
        .map_err(|e| SpMetadataError::BadCertificate(e.to_string()))?;
    X509::from_der(&der).map_err(|e| SpMetadataError::BadCertificate(e.to_string()))
}

fn endpoint_location(raw: Option<&str>, allow_http: bool) -> Result<String, SpMetadataError> {
    let raw = raw.map(str::trim).unwrap_or_default();
    let insecure = || SpMetadataError::InsecureEndpoint(raw.to_owned());
    let url = Url::parse(raw).map_err(|_| insecure())?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok || url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() {
        return Err(insecure());
    }
    Ok(raw.to_owned())
}

fn bool_attr(el: &Element, name: &str) -> bool {
    el.attr(name)
        .is_some_and(|v| matches!(v.trim(), "true" | "1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUAWEI_CN: &[u8] = include_bytes!("../../../metadata/huawei-cn-sp-metadata.xml");

    #[test]
    fn reads_huawei_china_metadata() {
        let sp = ServiceProvider::from_metadata(HUAWEI_CN, false).unwrap();
        assert_eq!(sp.entity_id, "https://auth.huaweicloud.com/");
        assert_eq!(sp.signing_certs.len(), 1);
        assert_eq!(sp.signing_keys[0].bits(), 4096);
        assert_eq!(sp.acs.len(), 1);
        let acs = sp.default_acs().unwrap();
        assert_eq!(
            acs.location,
            "https://auth.huaweicloud.com/authui/saml/SAMLAssertionConsumer"
        );
        assert_eq!((acs.index, acs.is_default), (Some(0), Some(true)));
        assert_eq!(sp.name_id_formats, vec![ns::NAMEID_TRANSIENT.to_owned()]);
        assert!(sp.authn_requests_signed && sp.want_assertions_signed);
        let slo = sp.redirect_slo().unwrap();
        assert!(
            slo.response_location
                .ends_with("LogoutServiceHTTPRedirectResponse")
        );
    }

    fn cert_b64() -> String {
        let text = std::str::from_utf8(HUAWEI_CN).unwrap();
        let start = text.find("<ds:X509Certificate>").unwrap() + 20;
        let end = text.find("</ds:X509Certificate>").unwrap();
        text[start..end].to_owned()
    }

    fn metadata(key_use: &str, acs: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="urn:sp">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor {key_use}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
{acs}
</md:SPSSODescriptor></md:EntityDescriptor>"#,
            cert_b64()
        )
    }

    const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

    #[test]
    fn key_descriptor_without_use_signs_and_every_acs_is_kept() {
        let acs = format!(
            r#"<md:AssertionConsumerService Binding="{POST}" Location="https://a.example/1" index="1"/>
<md:AssertionConsumerService Binding="{POST}" Location="https://a.example/2" index="2" isDefault="true"/>"#
        );
        let sp = ServiceProvider::from_metadata(metadata("", &acs).as_bytes(), false).unwrap();
        assert_eq!(sp.signing_certs.len(), 1);
        assert_eq!(sp.acs.len(), 2);
        assert_eq!(sp.default_acs().unwrap().location, "https://a.example/2");
        assert_eq!(sp.acs_by_index(1).unwrap().location, "https://a.example/1");
        assert!(sp.acs_by_url("https://a.example/3").is_none());
    }

    #[test]
    fn refuses_missing_signing_key_missing_acs_and_insecure_acs() {
        let good_acs = format!(
            r#"<md:AssertionConsumerService Binding="{POST}" Location="https://a.example/1"/>"#
        );
        let only_encryption = metadata(r#"use="encryption""#, &good_acs);
        assert!(matches!(
            ServiceProvider::from_metadata(only_encryption.as_bytes(), false),
            Err(SpMetadataError::NoSigningKey)
        ));
        assert!(matches!(
            ServiceProvider::from_metadata(metadata("", "").as_bytes(), false),
            Err(SpMetadataError::NoAcs)
        ));
        for bad in [
            "http://a.example/1",
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
        ] {
            let acs =
                format!(r#"<md:AssertionConsumerService Binding="{POST}" Location="{bad}"/>"#);
            assert!(
                matches!(
                    ServiceProvider::from_metadata(metadata("", &acs).as_bytes(), false),
                    Err(SpMetadataError::InsecureEndpoint(_))
                ),
                "{bad}"
            );
        }
        let http_acs = format!(
            r#"<md:AssertionConsumerService Binding="{POST}" Location="http://127.0.0.1:9/acs"/>"#
        );
        assert!(ServiceProvider::from_metadata(metadata("", &http_acs).as_bytes(), true).is_ok());
    }
}
