//! The SAML messages the simulated Huawei SP sends: its metadata (shaped like Huawei's China-site
//! file), AuthnRequests like Huawei's sample, and LogoutRequests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use time::OffsetDateTime;

use saml::canonical::{close, empty_element, open, text_element};
use saml::{ns, xml_time};

/// Paths of the simulated IAM endpoints (Huawei's own paths, docs/protocol.md §SP-metadata).
pub const ACS_PATH: &str = "/authui/saml/SAMLAssertionConsumer";
/// SLO request endpoint.
pub const SLO_PATH: &str = "/authui/saml/LogoutServiceHTTPRedirect";
/// SLO response endpoint.
pub const SLO_RESPONSE_PATH: &str = "/authui/saml/LogoutServiceHTTPRedirectResponse";
/// Metadata.
pub const METADATA_PATH: &str = "/authui/saml/metadata.xml";
/// Login entry (`?xAccountType=…&isFirstLogin=…&service=…`).
pub const LOGIN_PATH: &str = "/authui/saml/login";

/// SP metadata with signed AuthnRequests, signed assertions wanted, the HTTP-POST ACS and SLO.
pub fn sp_metadata(
    entity_id: &str,
    base: &str,
    cert: &X509,
) -> Result<String, openssl::error::ErrorStack> {
    let cert = STANDARD.encode(cert.to_der()?);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    open(
        &mut out,
        "md:EntityDescriptor",
        &[("md", ns::METADATA), ("ds", ns::DSIG)],
        &[("", "entityID", entity_id)],
    );
    open(
        &mut out,
        "md:SPSSODescriptor",
        &[],
        &[
            ("", "AuthnRequestsSigned", "true"),
            ("", "WantAssertionsSigned", "true"),
            ("", "protocolSupportEnumeration", ns::PROTOCOL),
        ],
    );
    for key_use in ["signing", "encryption"] {
        open(&mut out, "md:KeyDescriptor", &[], &[("", "use", key_use)]);
        open(&mut out, "ds:KeyInfo", &[], &[]);
        open(&mut out, "ds:X509Data", &[], &[]);
        text_element(&mut out, "ds:X509Certificate", &[], &[], &cert);
        close(&mut out, "ds:X509Data");
        close(&mut out, "ds:KeyInfo");
        close(&mut out, "md:KeyDescriptor");
    }
    empty_element(
        &mut out,
        "md:SingleLogoutService",
        &[],
        &[
            ("", "Binding", ns::BINDING_REDIRECT),
            ("", "Location", &format!("{base}{SLO_PATH}")),
            (
                "",
                "ResponseLocation",
                &format!("{base}{SLO_RESPONSE_PATH}"),
            ),
        ],
    );
    text_element(&mut out, "md:NameIDFormat", &[], &[], ns::NAMEID_TRANSIENT);
    empty_element(
        &mut out,
        "md:AssertionConsumerService",
        &[],
        &[
            ("", "Binding", ns::BINDING_POST),
            ("", "Location", &format!("{base}{ACS_PATH}")),
            ("", "index", "0"),
            ("", "isDefault", "true"),
        ],
    );
    close(&mut out, "md:SPSSODescriptor");
    close(&mut out, "md:EntityDescriptor");
    out.push('\n');
    Ok(out)
}

/// An AuthnRequest shaped like Huawei's sample (docs/protocol.md §AuthnRequest).
pub fn authn_request(
    id: &str,
    entity_id: &str,
    acs: &str,
    destination: &str,
    now: OffsetDateTime,
) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    open(
        &mut out,
        "saml2p:AuthnRequest",
        &[("saml2p", ns::PROTOCOL)],
        &[
            ("", "AssertionConsumerServiceURL", acs),
            ("", "Destination", destination),
            ("", "ForceAuthn", "false"),
            ("", "ID", id),
            ("", "IsPassive", "false"),
            ("", "IssueInstant", &xml_time::format(now)),
            ("", "ProtocolBinding", ns::BINDING_POST),
            ("", "Version", "2.0"),
        ],
    );
    text_element(
        &mut out,
        "saml2:Issuer",
        &[("saml2", ns::ASSERTION)],
        &[],
        entity_id,
    );
    empty_element(
        &mut out,
        "saml2p:NameIDPolicy",
        &[],
        &[
            ("", "AllowCreate", "true"),
            ("", "Format", ns::NAMEID_TRANSIENT),
            ("", "SPNameQualifier", entity_id),
        ],
    );
    close(&mut out, "saml2p:AuthnRequest");
    out
}

/// A LogoutRequest for a NameID and SessionIndex the IdP issued.
pub fn logout_request(
    id: &str,
    entity_id: &str,
    destination: &str,
    name_id: &str,
    session_index: &str,
    now: OffsetDateTime,
) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    open(
        &mut out,
        "saml2p:LogoutRequest",
        &[("saml2p", ns::PROTOCOL), ("saml2", ns::ASSERTION)],
        &[
            ("", "Destination", destination),
            ("", "ID", id),
            ("", "IssueInstant", &xml_time::format(now)),
            ("", "Version", "2.0"),
        ],
    );
    text_element(&mut out, "saml2:Issuer", &[], &[], entity_id);
    text_element(
        &mut out,
        "saml2:NameID",
        &[],
        &[("", "Format", ns::NAMEID_TRANSIENT)],
        name_id,
    );
    text_element(&mut out, "saml2p:SessionIndex", &[], &[], session_index);
    close(&mut out, "saml2p:LogoutRequest");
    out
}
