//! Single logout (saml-core §3.7, saml-bindings §3.4): Huawei's LogoutRequest over HTTP-Redirect,
//! verified like the AuthnRequest (signature over the received octets), and our LogoutResponse.

use time::OffsetDateTime;

use super::authn_request::{Freshness, RequestError, check_freshness, signed_message};
use super::canonical::{close, empty_element, open, text_element};
use super::inbound::{self, Element};
use super::ns;
use super::sp_metadata::ServiceProvider;
use super::xml_time;

/// A verified LogoutRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// `ID` (our InResponseTo).
    pub id: String,
    /// Issuer = SP entityID.
    pub issuer: String,
    /// The `NameID` of the principal to log out (our transient NameID).
    pub name_id: String,
    /// `SessionIndex` values (our session indexes).
    pub session_indexes: Vec<String>,
    /// RelayState to echo.
    pub relay_state: Option<String>,
}

/// A LogoutRequest as read, before any check that needs keys, our URL or the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLogout {
    /// `ID`.
    pub id: String,
    /// `IssueInstant`.
    pub issue_instant: OffsetDateTime,
    /// The single `Issuer`.
    pub issuer: String,
    /// `Destination`, when present.
    pub destination: Option<String>,
    /// `NotOnOrAfter`, when present.
    pub not_on_or_after: Option<OffsetDateTime>,
    /// The single, non-empty `NameID`.
    pub name_id: String,
    /// `SessionIndex` values.
    pub session_indexes: Vec<String>,
}

/// Reads a LogoutRequest strictly: root, Version 2.0, a well-formed ID, IssueInstant, exactly one
/// Issuer, a valid NotOnOrAfter when present, and exactly one non-empty `NameID` (the request must
/// identify the principal, saml-core §3.7.1).
pub fn parse(xml: &[u8]) -> Result<ParsedLogout, RequestError> {
    let root = inbound::parse(xml)?;
    if !root.is(ns::PROTOCOL, "LogoutRequest") {
        return Err(RequestError::NotLogoutRequest("root element"));
    }
    if root.attr("Version") != Some("2.0") {
        return Err(RequestError::Version);
    }
    let id = root
        .attr("ID")
        .filter(|id| {
            (1..=256).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
        .ok_or(RequestError::NotLogoutRequest("ID"))?
        .to_owned();
    let issue_instant = root
        .attr("IssueInstant")
        .and_then(xml_time::parse)
        .ok_or(RequestError::NotLogoutRequest("IssueInstant"))?;
    let issuer = single_issuer(&root)?;
    let not_on_or_after = root
        .attr("NotOnOrAfter")
        .map(|raw| xml_time::parse(raw).ok_or(RequestError::NotLogoutRequest("NotOnOrAfter")))
        .transpose()?;
    let mut name_ids = root.children_named(ns::ASSERTION, "NameID");
    let name_id = match (name_ids.next(), name_ids.next()) {
        (Some(one), None) if !one.trimmed_text().is_empty() => one.trimmed_text().to_owned(),
        _ => return Err(RequestError::NotLogoutRequest("NameID")),
    };
    Ok(ParsedLogout {
        id,
        issue_instant,
        issuer,
        destination: root.attr("Destination").map(str::to_owned),
        not_on_or_after,
        name_id,
        session_indexes: root
            .children_named(ns::PROTOCOL, "SessionIndex")
            .map(|e| e.trimmed_text().to_owned())
            .collect(),
    })
}

/// Verifies a redirect-binding LogoutRequest: binding, SigAlg and signature (before anything is
/// parsed), the message ([`parse`]), an Issuer whose key signed it, Destination = our SLO URL
/// (required on signed messages), the IssueInstant window and `NotOnOrAfter` not passed
/// (saml-core §3.7.1). The caller matches NameID and SessionIndex with the session.
pub fn verify_redirect<'a, S: AsRef<ServiceProvider>>(
    raw_query: &str,
    sps: &'a [S],
    slo_url: &str,
    now: OffsetDateTime,
    freshness: Freshness,
) -> Result<(LogoutRequest, &'a S), RequestError> {
    // The signature first, with every registered SP's keys; only signed input is parsed.
    let signed = signed_message(raw_query, sps)?;
    let parsed = parse(&signed.xml)?;
    let holder = signed.signer_named(&parsed.issuer, sps)?;
    let query = signed.query;
    if parsed.destination.as_deref() != Some(slo_url) {
        return Err(RequestError::WrongDestination);
    }
    check_freshness(parsed.issue_instant, now, freshness)?;
    if parsed
        .not_on_or_after
        .is_some_and(|deadline| now >= deadline + freshness.skew)
    {
        return Err(RequestError::Expired);
    }
    query.check_relay_state()?;
    Ok((
        LogoutRequest {
            id: parsed.id,
            issuer: parsed.issuer,
            name_id: parsed.name_id,
            session_indexes: parsed.session_indexes,
            relay_state: query.relay_state.clone(),
        },
        holder,
    ))
}

fn single_issuer(root: &Element) -> Result<String, RequestError> {
    let mut issuers = root.children_named(ns::ASSERTION, "Issuer");
    match (issuers.next(), issuers.next()) {
        (Some(one), None) => Ok(one.trimmed_text().to_owned()),
        _ => Err(RequestError::UnknownIssuer),
    }
}

/// Our LogoutResponse, to be sent deflated and signed in the query string. `ended` says whether
/// a session matched: Success if so, else Requester with the second-level code UnknownPrincipal
/// (saml-core §3.2.2.2: the responder does not recognise the principal), so the SP learns that
/// nothing was logged out here.
pub fn response_xml(
    id: &str,
    in_response_to: &str,
    destination: &str,
    issuer: &str,
    now: OffsetDateTime,
    ended: bool,
) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    open(
        &mut out,
        "samlp:LogoutResponse",
        &[("samlp", ns::PROTOCOL), ("saml", ns::ASSERTION)],
        &[
            ("", "Destination", destination),
            ("", "ID", id),
            ("", "InResponseTo", in_response_to),
            ("", "IssueInstant", &xml_time::format(now)),
            ("", "Version", "2.0"),
        ],
    );
    text_element(&mut out, "saml:Issuer", &[], &[], issuer);
    open(&mut out, "samlp:Status", &[], &[]);
    if ended {
        empty_element(
            &mut out,
            "samlp:StatusCode",
            &[],
            &[("", "Value", ns::STATUS_SUCCESS)],
        );
    } else {
        open(
            &mut out,
            "samlp:StatusCode",
            &[],
            &[("", "Value", ns::STATUS_REQUESTER)],
        );
        empty_element(
            &mut out,
            "samlp:StatusCode",
            &[],
            &[("", "Value", ns::STATUS_UNKNOWN_PRINCIPAL)],
        );
        close(&mut out, "samlp:StatusCode");
    }
    close(&mut out, "samlp:Status");
    close(&mut out, "samlp:LogoutResponse");
    out
}
