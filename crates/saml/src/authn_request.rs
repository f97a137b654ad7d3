//! Receiving Huawei's AuthnRequest over the HTTP-Redirect binding: decode, check, in the fixed
//! order of docs/protocol.md §Checks. Everything here is pure; the replay check (the one step that
//! needs the shared store) is left to the caller and must run last, so a rejected request changes
//! nothing.

use time::{Duration, OffsetDateTime};

use super::inbound::{self, Element};
use super::ns;
use super::redirect::{self, MessageKind, RedirectError};
use super::sp_metadata::{AcsEndpoint, ServiceProvider};
use super::xml_time;

/// Why an AuthnRequest was refused. [`RequestError::code`] is stable and safe to show; the
/// `Display` text is for the log.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    /// Binding-level failure (length, parameters, encoding, inflate, algorithm, signature).
    #[error(transparent)]
    Binding(#[from] RedirectError),
    /// The XML was refused by the strict reader.
    #[error("request XML refused: {0}")]
    Xml(#[from] inbound::XmlError),
    /// The root is not `samlp:AuthnRequest` (or lacks required attributes).
    #[error("not a SAML 2.0 AuthnRequest: {0}")]
    NotAuthnRequest(&'static str),
    /// The root is not `samlp:LogoutRequest` (or lacks required attributes).
    #[error("not a SAML 2.0 LogoutRequest: {0}")]
    NotLogoutRequest(&'static str),
    /// `Version` is not 2.0.
    #[error("request Version is not 2.0")]
    Version,
    /// The Issuer is missing, in the wrong namespace, or not a registered SP.
    #[error("request Issuer is not a registered service provider")]
    UnknownIssuer,
    /// `Destination` is missing or differs from our endpoint.
    #[error("request Destination is missing or not our endpoint")]
    WrongDestination,
    /// `IssueInstant` is older than the allowed age (plus skew).
    #[error("request IssueInstant is too old")]
    Stale,
    /// `IssueInstant` lies in the future beyond the skew.
    #[error("request IssueInstant is in the future")]
    FromTheFuture,
    /// A LogoutRequest's `NotOnOrAfter` has passed (saml-core §3.7.1).
    #[error("LogoutRequest NotOnOrAfter has passed")]
    Expired,
    /// The requested ACS is not in the SP metadata (docs/security.md A8), or both URL and index
    /// were given.
    #[error("request names an AssertionConsumerService that is not in the SP metadata")]
    UnlistedAcs,
    /// `ProtocolBinding` is not HTTP-POST.
    #[error("request asks for a protocol binding other than HTTP-POST")]
    UnsupportedBinding,
    /// The NameIDPolicy asks for a format we do not issue.
    #[error("request asks for a NameID format other than transient")]
    UnsupportedNameIdFormat,
}

impl RequestError {
    /// A stable snake_case code for logs, pages and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Binding(e) => match e {
                RedirectError::QueryTooLong => "query_too_long",
                RedirectError::Missing(_) => "missing_parameter",
                RedirectError::Duplicate(_) => "duplicate_parameter",
                RedirectError::BadEncoding(_) => "bad_encoding",
                RedirectError::BadDeflate => "bad_deflate",
                RedirectError::TooLarge => "message_too_large",
                RedirectError::AlgorithmNotAllowed => "sig_alg_not_allowed",
                RedirectError::BadSignature => "bad_signature",
                RedirectError::RelayStateTooLong => "relay_state_too_long",
            },
            Self::Xml(inbound::XmlError::Doctype | inbound::XmlError::Entity) => "xml_doctype",
            Self::Xml(_) => "xml_rejected",
            Self::NotAuthnRequest(_) => "not_authn_request",
            Self::NotLogoutRequest(_) => "not_logout_request",
            Self::Version => "bad_version",
            Self::UnknownIssuer => "unknown_issuer",
            Self::WrongDestination => "wrong_destination",
            Self::Stale => "stale_request",
            Self::FromTheFuture => "future_request",
            Self::Expired => "expired_request",
            Self::UnlistedAcs => "unlisted_acs",
            Self::UnsupportedBinding => "unsupported_binding",
            Self::UnsupportedNameIdFormat => "unsupported_name_id_format",
        }
    }
}

/// The fields of an AuthnRequest that we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// `ID`; becomes our `InResponseTo` and the replay key.
    pub id: String,
    /// `IssueInstant`.
    pub issue_instant: OffsetDateTime,
    /// `Destination`, when present.
    pub destination: Option<String>,
    /// `AssertionConsumerServiceURL`, when present.
    pub acs_url: Option<String>,
    /// `AssertionConsumerServiceIndex`, when present.
    pub acs_index: Option<u16>,
    /// `ProtocolBinding`, when present.
    pub protocol_binding: Option<String>,
    /// `Issuer` text.
    pub issuer: String,
    /// `ForceAuthn="true"`.
    pub force_authn: bool,
    /// `IsPassive="true"`.
    pub is_passive: bool,
    /// `NameIDPolicy/@Format`, when present.
    pub name_id_format: Option<String>,
}

/// Parses an inflated AuthnRequest document (after the strict reader).
pub fn parse(xml: &[u8]) -> Result<AuthnRequest, RequestError> {
    let root = inbound::parse(xml)?;
    from_element(&root)
}

fn from_element(root: &Element) -> Result<AuthnRequest, RequestError> {
    if !root.is(ns::PROTOCOL, "AuthnRequest") {
        return Err(RequestError::NotAuthnRequest("root element"));
    }
    // saml-core §3.2.1: Version is required and must be 2.0.
    if root.attr("Version") != Some("2.0") {
        return Err(RequestError::Version);
    }
    let id = root
        .attr("ID")
        .filter(|id| is_ncname_like(id))
        .ok_or(RequestError::NotAuthnRequest("ID"))?
        .to_owned();
    let issue_instant = root
        .attr("IssueInstant")
        .and_then(xml_time::parse)
        .ok_or(RequestError::NotAuthnRequest("IssueInstant"))?;
    // saml-core §3.2.1 + saml-profiles §4.1.4.1: exactly one Issuer in the assertion namespace.
    let mut issuers = root.children_named(ns::ASSERTION, "Issuer");
    let issuer = match (issuers.next(), issuers.next()) {
        (Some(one), None) => one,
        _ => return Err(RequestError::UnknownIssuer),
    };
    if issuer
        .attr("Format")
        .is_some_and(|f| f != ns::NAMEID_ENTITY)
    {
        return Err(RequestError::UnknownIssuer);
    }
    let acs_index = root
        .attr("AssertionConsumerServiceIndex")
        .map(|i| i.parse::<u16>().map_err(|_| RequestError::UnlistedAcs))
        .transpose()?;
    let name_id_format = root
        .children_named(ns::PROTOCOL, "NameIDPolicy")
        .next()
        .and_then(|p| p.attr("Format"))
        .map(str::to_owned);
    Ok(AuthnRequest {
        id,
        issue_instant,
        destination: root.attr("Destination").map(str::to_owned),
        acs_url: root.attr("AssertionConsumerServiceURL").map(str::to_owned),
        acs_index,
        protocol_binding: root.attr("ProtocolBinding").map(str::to_owned),
        issuer: issuer.trimmed_text().to_owned(),
        force_authn: root
            .attr("ForceAuthn")
            .is_some_and(|v| v == "true" || v == "1"),
        is_passive: root
            .attr("IsPassive")
            .is_some_and(|v| v == "true" || v == "1"),
        name_id_format,
    })
}

/// An ID we are willing to store and echo: 1–256 characters of a conservative NCName alphabet.
fn is_ncname_like(id: &str) -> bool {
    (1..=256).contains(&id.len())
        && id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Time policy for inbound requests.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// The oldest `IssueInstant` accepted, measured back from `now`.
    pub max_age: Duration,
    /// Allowed difference between Huawei's clock and ours, either way.
    pub skew: Duration,
}

/// Where and for whom to answer a verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The request as parsed.
    pub request: AuthnRequest,
    /// The SP's entityID (equal to the Issuer).
    pub sp_entity_id: String,
    /// The ACS we will POST to: from the SP metadata, never from the request alone
    /// (docs/security.md A8).
    pub acs_url: String,
    /// RelayState to echo, when present.
    pub relay_state: Option<String>,
}

/// A redirect-binding message whose signature verified, inflated but not yet parsed.
pub(crate) struct SignedMessage<'a, S> {
    /// The query as split.
    pub query: redirect::SignedQuery,
    /// The registered SPs whose signing keys verified the signature.
    pub signers: Vec<&'a S>,
    /// The inflated message.
    pub xml: Vec<u8>,
}

impl<'a, S: AsRef<ServiceProvider>> SignedMessage<'a, S> {
    /// The signer whose entityID is `issuer`. An issuer that is registered but whose keys did not
    /// sign this message is a bad signature; any other issuer is unknown.
    pub fn signer_named(&self, issuer: &str, all: &[S]) -> Result<&'a S, RequestError> {
        if let Some(sp) = self.signers.iter().find(|s| s.as_ref().entity_id == issuer) {
            return Ok(*sp);
        }
        if all.iter().any(|s| s.as_ref().entity_id == issuer) {
            return Err(RedirectError::BadSignature.into());
        }
        Err(RequestError::UnknownIssuer)
    }
}

/// Splits a redirect-binding query and verifies its signature over the received octets with the
/// keys of every registered SP (a handful) *before* inflating or parsing anything: unsigned
/// input costs a few RSA verifications and is never decompressed or read as XML.
pub(crate) fn signed_message<'a, S: AsRef<ServiceProvider>>(
    raw_query: &str,
    sps: &'a [S],
) -> Result<SignedMessage<'a, S>, RequestError> {
    let query = redirect::split_query(raw_query, MessageKind::Request)?;
    redirect::SigAlg::from_uri(&query.sig_alg)?;
    let signers: Vec<&S> = sps
        .iter()
        .filter(|sp| query.verify(&sp.as_ref().signing_keys).is_ok())
        .collect();
    if signers.is_empty() {
        return Err(RedirectError::BadSignature.into());
    }
    let xml = query.inflate()?;
    Ok(SignedMessage {
        query,
        signers,
        xml,
    })
}

/// Runs every check of docs/protocol.md §Checks except the replay check and returns where to
/// answer: the signature first (with the keys of every SP in `sps`), then the message, whose
/// Issuer must be an SP whose key signed it. `sso_url` is our SSO endpoint.
pub fn verify_redirect<'a, S: AsRef<ServiceProvider>>(
    raw_query: &str,
    sps: &'a [S],
    sso_url: &str,
    now: OffsetDateTime,
    freshness: Freshness,
) -> Result<(VerifiedRequest, &'a S), RequestError> {
    let signed = signed_message(raw_query, sps)?;
    let request = parse(&signed.xml)?;
    let holder = signed.signer_named(&request.issuer, sps)?;
    let sp = holder.as_ref();
    let query = signed.query;
    // saml-bindings §3.4.5.2: a signed message MUST carry Destination, and it must be the
    // receiving endpoint. Huawei signs for every partner IdP with one key, so Destination is what
    // ties a request to this bridge.
    if request.destination.as_deref() != Some(sso_url) {
        return Err(RequestError::WrongDestination);
    }
    check_freshness(request.issue_instant, now, freshness)?;
    let acs = choose_acs(sp, &request)?;
    // saml-profiles §4.1.4.1: only the HTTP-POST binding is offered for the response.
    if request
        .protocol_binding
        .as_deref()
        .is_some_and(|b| b != ns::BINDING_POST)
    {
        return Err(RequestError::UnsupportedBinding);
    }
    if request.name_id_format.as_deref().is_some_and(|f| {
        f != ns::NAMEID_TRANSIENT && f != "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    }) {
        return Err(RequestError::UnsupportedNameIdFormat);
    }
    query.check_relay_state()?;
    let acs_url = acs.location.clone();
    Ok((
        VerifiedRequest {
            sp_entity_id: sp.entity_id.clone(),
            acs_url,
            relay_state: query.relay_state.clone(),
            request,
        },
        holder,
    ))
}

/// `IssueInstant` must lie in `[now - max_age - skew, now + skew]`.
pub fn check_freshness(
    issued: OffsetDateTime,
    now: OffsetDateTime,
    freshness: Freshness,
) -> Result<(), RequestError> {
    if issued > now + freshness.skew {
        return Err(RequestError::FromTheFuture);
    }
    if issued < now - freshness.max_age - freshness.skew {
        return Err(RequestError::Stale);
    }
    Ok(())
}

/// Picks the ACS (saml-core §3.4.1): a URL must be listed in the metadata; an index must exist;
/// both at once are refused; neither means the default ACS.
fn choose_acs<'a>(
    sp: &'a ServiceProvider,
    request: &AuthnRequest,
) -> Result<&'a AcsEndpoint, RequestError> {
    match (&request.acs_url, request.acs_index) {
        (Some(_), Some(_)) => Err(RequestError::UnlistedAcs),
        (Some(url), None) => sp.acs_by_url(url).ok_or(RequestError::UnlistedAcs),
        (None, Some(index)) => sp.acs_by_index(index).ok_or(RequestError::UnlistedAcs),
        (None, None) => sp.default_acs().ok_or(RequestError::UnlistedAcs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = include_bytes!("../../../tests/fixtures/huawei-authnrequest-sample.xml");

    #[test]
    fn parses_huawei_sample() {
        let r = parse(SAMPLE).unwrap();
        assert_eq!(r.id, "_th2kld6nqqaq6lbvbw1cqqkbld2m7shj5i7x");
        assert_eq!(r.issuer, "https://auth.huaweicloud.com/");
        assert_eq!(
            r.acs_url.as_deref(),
            Some("https://auth.huaweicloud.com/authui/saml/SAMLAssertionConsumer")
        );
        assert_eq!(r.protocol_binding.as_deref(), Some(ns::BINDING_POST));
        assert_eq!(r.name_id_format.as_deref(), Some(ns::NAMEID_TRANSIENT));
        assert!(!r.force_authn && !r.is_passive);
        assert_eq!(
            xml_time::format(r.issue_instant),
            "2018-11-26T09:11:58.446Z"
        );
    }

    #[test]
    fn issuer_namespace_is_checked() {
        let wrong_ns = String::from_utf8(SAMPLE.to_vec()).unwrap().replace(
            "xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\"",
            "xmlns:saml2=\"urn:evil\"",
        );
        assert_eq!(parse(wrong_ns.as_bytes()), Err(RequestError::UnknownIssuer));
    }

    #[test]
    fn version_and_root_are_checked() {
        let v1 = String::from_utf8(SAMPLE.to_vec())
            .unwrap()
            .replace("Version=\"2.0\"", "Version=\"1.1\"");
        assert_eq!(parse(v1.as_bytes()), Err(RequestError::Version));
        assert!(matches!(
            parse(b"<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"),
            Err(RequestError::NotAuthnRequest(_))
        ));
    }

    #[test]
    fn freshness_window() {
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        let f = Freshness {
            max_age: Duration::minutes(5),
            skew: Duration::minutes(2),
        };
        assert!(check_freshness(now, now, f).is_ok());
        assert!(check_freshness(now + Duration::minutes(2), now, f).is_ok());
        assert_eq!(
            check_freshness(now + Duration::minutes(3), now, f),
            Err(RequestError::FromTheFuture)
        );
        assert!(check_freshness(now - Duration::minutes(7), now, f).is_ok());
        assert_eq!(
            check_freshness(now - Duration::minutes(8), now, f),
            Err(RequestError::Stale)
        );
    }
}
