//! The Response we send to Huawei (docs/protocol.md R1–R14), written directly in exclusive
//! canonical form and signed by [`XmlSigner`].

use time::{Duration, OffsetDateTime};

use super::canonical::{close, empty_element, open, text_element};
use super::ns;
use super::signer::{SignableElement, XmlSigner};
use super::xml_time;

/// The six attributes Huawei reads (docs/protocol.md §Attributes). Empty optional values are sent
/// as empty `AttributeValue`s, as in Huawei's sample.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HuaweiAttributes {
    /// Partner-platform user id; sent as both `xUserId` and `xAccountId` (docs/protocol.md R11).
    pub x_user_id: String,
    /// `bpId` from configuration.
    pub bp_id: String,
    /// E-mail, or empty.
    pub email: String,
    /// Name (the proposed Huawei account name), or empty.
    pub name: String,
    /// Mobile in `country-number` form, or empty.
    pub mobile: String,
}

/// Everything that varies between responses. Time and ids are inputs so that outputs are
/// reproducible in tests.
#[derive(Debug, Clone)]
pub struct ResponseParams<'a> {
    /// Our entityID (docs/protocol.md R3).
    pub idp_entity_id: &'a str,
    /// The SP's entityID: Audience, NameQualifier, SubjectLocality (docs/protocol.md R4).
    pub sp_entity_id: &'a str,
    /// The ACS from the SP metadata: Destination and Recipient (docs/protocol.md R1, R5).
    pub acs_url: &'a str,
    /// The AuthnRequest ID (docs/protocol.md R2).
    pub in_response_to: &'a str,
    /// Issue time.
    pub now: OffsetDateTime,
    /// When the user authenticated (the IdP session's login), for `AuthnInstant`.
    pub authn_instant: OffsetDateTime,
    /// How far before `now` the assertion is already valid (clock skew).
    pub not_before_skew: Duration,
    /// How long after `now` the assertion stays valid (docs/protocol.md R12).
    pub lifetime: Duration,
    /// Response `ID`.
    pub response_id: &'a str,
    /// Assertion `ID`.
    pub assertion_id: &'a str,
    /// Transient NameID value, one per IdP session and SP (docs/protocol.md R6).
    pub name_id: &'a str,
    /// SessionIndex identifying our IdP session (for single logout).
    pub session_index: &'a str,
    /// The attributes.
    pub attributes: &'a HuaweiAttributes,
    /// Also sign the Response element (off by default; Huawei's sample signs only the Assertion,
    /// docs/protocol.md R9).
    pub sign_response: bool,
}

/// Builds the signed Response document (UTF-8 XML, with declaration).
pub fn build(
    signer: &XmlSigner,
    p: &ResponseParams<'_>,
) -> Result<String, openssl::error::ErrorStack> {
    let assertion = signed_assertion(signer, p)?;
    let now = xml_time::format(p.now);

    let mut head = String::with_capacity(512);
    open(
        &mut head,
        "saml2p:Response",
        &[("saml2p", ns::PROTOCOL)],
        &[
            ("", "Consent", ns::CONSENT_UNSPECIFIED),
            ("", "Destination", p.acs_url),
            ("", "ID", p.response_id),
            ("", "InResponseTo", p.in_response_to),
            ("", "IssueInstant", &now),
            ("", "Version", "2.0"),
        ],
    );
    text_element(
        &mut head,
        "saml2:Issuer",
        &[("saml2", ns::ASSERTION)],
        &[("", "Format", ns::NAMEID_ENTITY)],
        p.idp_entity_id,
    );
    let mut tail = String::with_capacity(assertion.len() + 400);
    open(&mut tail, "saml2p:Status", &[], &[]);
    empty_element(
        &mut tail,
        "saml2p:StatusCode",
        &[],
        &[("", "Value", ns::STATUS_SUCCESS)],
    );
    text_element(
        &mut tail,
        "saml2p:StatusMessage",
        &[],
        &[],
        ns::STATUS_SUCCESS,
    );
    close(&mut tail, "saml2p:Status");
    tail.push_str(&assertion);
    close(&mut tail, "saml2p:Response");

    let body = if p.sign_response {
        signer.sign_element(&SignableElement {
            id: p.response_id,
            head: &head,
            tail: &tail,
        })?
    } else {
        head + &tail
    };
    Ok(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}"))
}

/// The Assertion with its enveloped signature after the Issuer (docs/protocol.md R7).
fn signed_assertion(
    signer: &XmlSigner,
    p: &ResponseParams<'_>,
) -> Result<String, openssl::error::ErrorStack> {
    let now = xml_time::format(p.now);
    let not_before = xml_time::format(p.now - p.not_before_skew);
    let not_on_or_after = xml_time::format(p.now + p.lifetime);

    let mut head = String::with_capacity(400);
    open(
        &mut head,
        "saml2:Assertion",
        // xsd is declared here and kept by InclusiveNamespaces PrefixList="xsd"
        // (docs/protocol.md R10).
        &[("saml2", ns::ASSERTION), ("xsd", ns::XSD)],
        &[
            ("", "ID", p.assertion_id),
            ("", "IssueInstant", &now),
            ("", "Version", "2.0"),
        ],
    );
    text_element(&mut head, "saml2:Issuer", &[], &[], p.idp_entity_id);

    let mut tail = String::with_capacity(3000);
    open(&mut tail, "saml2:Subject", &[], &[]);
    text_element(
        &mut tail,
        "saml2:NameID",
        &[],
        &[
            ("", "Format", ns::NAMEID_TRANSIENT),
            ("", "NameQualifier", p.sp_entity_id),
        ],
        p.name_id,
    );
    open(
        &mut tail,
        "saml2:SubjectConfirmation",
        &[],
        &[("", "Method", ns::CM_BEARER)],
    );
    // saml-profiles §4.1.4.2: bearer confirmation data carries no NotBefore.
    empty_element(
        &mut tail,
        "saml2:SubjectConfirmationData",
        &[],
        &[
            ("", "InResponseTo", p.in_response_to),
            ("", "NotOnOrAfter", &not_on_or_after),
            ("", "Recipient", p.acs_url),
        ],
    );
    close(&mut tail, "saml2:SubjectConfirmation");
    close(&mut tail, "saml2:Subject");

    open(
        &mut tail,
        "saml2:Conditions",
        &[],
        &[
            ("", "NotBefore", &not_before),
            ("", "NotOnOrAfter", &not_on_or_after),
        ],
    );
    open(&mut tail, "saml2:AudienceRestriction", &[], &[]);
    text_element(&mut tail, "saml2:Audience", &[], &[], p.sp_entity_id);
    close(&mut tail, "saml2:AudienceRestriction");
    close(&mut tail, "saml2:Conditions");

    let a = p.attributes;
    open(&mut tail, "saml2:AttributeStatement", &[], &[]);
    for (name, value) in [
        ("xUserId", a.x_user_id.as_str()),
        ("xAccountId", a.x_user_id.as_str()),
        ("bpId", a.bp_id.as_str()),
        ("email", a.email.as_str()),
        ("name", a.name.as_str()),
        ("mobile", a.mobile.as_str()),
    ] {
        push_attribute(&mut tail, name, value);
    }
    close(&mut tail, "saml2:AttributeStatement");

    open(
        &mut tail,
        "saml2:AuthnStatement",
        &[],
        &[
            ("", "AuthnInstant", &xml_time::format(p.authn_instant)),
            ("", "SessionIndex", p.session_index),
        ],
    );
    empty_element(
        &mut tail,
        "saml2:SubjectLocality",
        &[],
        &[("", "Address", p.sp_entity_id)],
    );
    open(&mut tail, "saml2:AuthnContext", &[], &[]);
    text_element(
        &mut tail,
        "saml2:AuthnContextClassRef",
        &[],
        &[],
        ns::AC_UNSPECIFIED,
    );
    close(&mut tail, "saml2:AuthnContext");
    close(&mut tail, "saml2:AuthnStatement");
    close(&mut tail, "saml2:Assertion");

    signer.sign_element(&SignableElement {
        id: p.assertion_id,
        head: &head,
        tail: &tail,
    })
}

/// One attribute as Huawei's sample has it: Name = FriendlyName, uri NameFormat, xsd:string
/// (docs/protocol.md R10).
fn push_attribute(out: &mut String, name: &str, value: &str) {
    open(
        out,
        "saml2:Attribute",
        &[],
        &[
            ("", "FriendlyName", name),
            ("", "Name", name),
            ("", "NameFormat", ns::ATTRNAME_URI),
        ],
    );
    text_element(
        out,
        "saml2:AttributeValue",
        &[("xsi", ns::XSI)],
        &[(ns::XSI, "xsi:type", "xsd:string")],
        value,
    );
    close(out, "saml2:Attribute");
}
