//! The simulated ACS: validates a Response as strictly as a careful SP would, and reports every
//! check by name so a failure can be read precisely.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::{Duration, OffsetDateTime};

use crate::idp::IdpDescriptor;
use crate::xmldsig;
use saml::inbound::{self, Element};
use saml::{ns, xml_time};

/// The six attributes Huawei reads.
pub const ATTRIBUTES: [&str; 6] = ["xUserId", "xAccountId", "bpId", "email", "name", "mobile"];
/// Clock skew the simulated SP tolerates.
const SKEW: Duration = Duration::minutes(2);
/// Largest SAMLResponse accepted.
const MAX_RESPONSE: usize = 256 * 1024;

/// One named check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Passed?
    pub ok: bool,
    /// What was found (or why it failed).
    pub detail: String,
}

/// What the SP expects of this Response.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The IdP registered for the partner.
    pub idp: &'a IdpDescriptor,
    /// Our entityID.
    pub entity_id: &'a str,
    /// Our ACS URL.
    pub acs: &'a str,
    /// The AuthnRequest ID we sent.
    pub request_id: &'a str,
    /// Now.
    pub now: OffsetDateTime,
}

/// A validated login.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Login {
    /// Attributes by name (first value).
    pub attributes: Vec<(String, String)>,
    /// NameID value.
    pub name_id: String,
    /// SessionIndex.
    pub session_index: String,
}

impl Login {
    /// An attribute's value.
    pub fn attribute(&self, name: &str) -> &str {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

struct Checker {
    checks: Vec<Check>,
}

impl Checker {
    fn check(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) -> bool {
        self.checks.push(Check {
            name,
            ok,
            detail: detail.into(),
        });
        ok
    }
    fn equal(&mut self, name: &'static str, got: Option<&str>, want: &str) -> bool {
        let got = got.unwrap_or("(missing)");
        self.check(
            name,
            got == want,
            if got == want {
                got.to_owned()
            } else {
                format!("{got:?}, expected {want:?}")
            },
        )
    }
}

fn one<'a>(el: &'a Element, ns: &'a str, local: &'a str) -> Option<&'a Element> {
    let mut it = el.children_named(ns, local);
    match (it.next(), it.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

fn time_attr(el: Option<&Element>, name: &str) -> Option<OffsetDateTime> {
    el.and_then(|e| e.attr(name)).and_then(xml_time::parse)
}

/// Validates `saml_response` (the base64 form value). Returns every check and, when all passed,
/// the login.
pub fn validate(saml_response: &str, expected: &Expected<'_>) -> (Vec<Check>, Option<Login>) {
    let mut c = Checker { checks: Vec::new() };
    let xml = match STANDARD.decode(saml_response.trim()) {
        Ok(x) if x.len() <= MAX_RESPONSE => x,
        _ => {
            c.check(
                "SAMLResponse is base64 of at most 256 KB",
                false,
                "not base64 or too large",
            );
            return (c.checks, None);
        }
    };
    let root = match inbound::parse(&xml) {
        Ok(r) => r,
        Err(e) => {
            c.check(
                "Response is well-formed XML without DOCTYPE",
                false,
                e.to_string(),
            );
            return (c.checks, None);
        }
    };
    let ok = run(&mut c, &xml, &root, expected);
    let all = ok && c.checks.iter().all(|ch| ch.ok);
    (c.checks, all.then(|| login(&root)).flatten())
}

// Each check label names the rule it checks: docs/protocol.md R1–R14.
fn run(c: &mut Checker, xml: &[u8], root: &Element, e: &Expected<'_>) -> bool {
    if !c.check(
        "root element is samlp:Response",
        root.is(ns::PROTOCOL, "Response"),
        root.local.clone(),
    ) {
        return false;
    }
    c.equal("Response Version", root.attr("Version"), "2.0");
    c.equal(
        "Response Destination = our ACS (R1)",
        root.attr("Destination"),
        e.acs,
    );
    c.equal(
        "Response InResponseTo = our request ID (R2)",
        root.attr("InResponseTo"),
        e.request_id,
    );
    let issuer = one(root, ns::ASSERTION, "Issuer").map(|i| i.trimmed_text());
    c.equal(
        "Response Issuer = IdP entityID (R3)",
        issuer,
        &e.idp.entity_id,
    );
    let status = one(root, ns::PROTOCOL, "Status")
        .and_then(|s| one(s, ns::PROTOCOL, "StatusCode"))
        .and_then(|s| s.attr("Value"));
    c.equal("Status is Success (R13)", status, ns::STATUS_SUCCESS);
    c.check(
        "no EncryptedAssertion (R14)",
        root.children_named(ns::ASSERTION, "EncryptedAssertion")
            .next()
            .is_none(),
        "",
    );
    let Some(assertion) = one(root, ns::ASSERTION, "Assertion") else {
        c.check("exactly one Assertion", false, "none or several");
        return false;
    };
    let id = assertion.attr("ID").unwrap_or_default();
    let signature = xmldsig::verify_enveloped(xml, id, &e.idp.certs);
    c.check(
        "Assertion signature verifies with the IdP metadata certificate (R7, R8)",
        signature.is_ok(),
        signature
            .err()
            .map_or_else(|| format!("Reference #{id}"), |err| err.to_string()),
    );
    let position_ok = assertion
        .children
        .first()
        .is_some_and(|f| f.is(ns::ASSERTION, "Issuer"))
        && assertion
            .children
            .get(1)
            .is_some_and(|s| s.is(ns::DSIG, "Signature"));
    c.check(
        "Signature placed right after the Assertion Issuer (R7)",
        position_ok,
        "",
    );
    let a_issuer = one(assertion, ns::ASSERTION, "Issuer").map(|i| i.trimmed_text());
    c.equal(
        "Assertion Issuer = IdP entityID (R3)",
        a_issuer,
        &e.idp.entity_id,
    );

    let subject = one(assertion, ns::ASSERTION, "Subject");
    let name_id = subject.and_then(|s| one(s, ns::ASSERTION, "NameID"));
    c.equal(
        "NameID Format transient (R6)",
        name_id.and_then(|n| n.attr("Format")),
        ns::NAMEID_TRANSIENT,
    );
    c.equal(
        "NameID NameQualifier = SP entityID (R4)",
        name_id.and_then(|n| n.attr("NameQualifier")),
        e.entity_id,
    );
    let confirmation = subject.and_then(|s| one(s, ns::ASSERTION, "SubjectConfirmation"));
    c.equal(
        "SubjectConfirmation Method bearer (R5)",
        confirmation.and_then(|s| s.attr("Method")),
        ns::CM_BEARER,
    );
    let data = confirmation.and_then(|s| one(s, ns::ASSERTION, "SubjectConfirmationData"));
    c.equal(
        "SubjectConfirmationData InResponseTo (R2)",
        data.and_then(|d| d.attr("InResponseTo")),
        e.request_id,
    );
    c.equal(
        "SubjectConfirmationData Recipient = ACS (R5)",
        data.and_then(|d| d.attr("Recipient")),
        e.acs,
    );
    let scd_end = time_attr(data, "NotOnOrAfter");
    c.check(
        "SubjectConfirmationData NotOnOrAfter in the future",
        scd_end.is_some_and(|t| t > e.now - SKEW),
        data.and_then(|d| d.attr("NotOnOrAfter"))
            .unwrap_or("(missing)"),
    );

    let conditions = one(assertion, ns::ASSERTION, "Conditions");
    let not_before = time_attr(conditions, "NotBefore");
    let not_after = time_attr(conditions, "NotOnOrAfter");
    c.check(
        "Conditions time window contains now (R12)",
        not_before.is_some_and(|t| t <= e.now + SKEW)
            && not_after.is_some_and(|t| t > e.now - SKEW),
        format!(
            "{} .. {}",
            conditions
                .and_then(|x| x.attr("NotBefore"))
                .unwrap_or("(missing)"),
            conditions
                .and_then(|x| x.attr("NotOnOrAfter"))
                .unwrap_or("(missing)")
        ),
    );
    let audience = conditions
        .and_then(|x| one(x, ns::ASSERTION, "AudienceRestriction"))
        .and_then(|a| one(a, ns::ASSERTION, "Audience"))
        .map(|a| a.trimmed_text());
    c.equal("Audience = SP entityID (R4)", audience, e.entity_id);

    let authn = one(assertion, ns::ASSERTION, "AuthnStatement");
    c.check(
        "AuthnStatement with SessionIndex",
        authn.and_then(|a| a.attr("SessionIndex")).is_some(),
        "",
    );
    let locality = authn
        .and_then(|a| one(a, ns::ASSERTION, "SubjectLocality"))
        .and_then(|l| l.attr("Address"));
    c.equal(
        "SubjectLocality Address = SP entityID (R4)",
        locality,
        e.entity_id,
    );

    let attrs = attribute_values(assertion);
    let names: Vec<&str> = attrs.iter().map(|(n, _)| n.as_str()).collect();
    c.check(
        "exactly the six attributes xUserId, xAccountId, bpId, email, name, mobile (R10)",
        names.len() == 6 && ATTRIBUTES.iter().all(|a| names.contains(a)),
        names.join(", "),
    );
    let formats_ok = one(assertion, ns::ASSERTION, "AttributeStatement").is_some_and(|s| {
        s.children_named(ns::ASSERTION, "Attribute").all(|a| {
            a.attr("NameFormat") == Some(ns::ATTRNAME_URI)
                && a.attr("FriendlyName") == a.attr("Name")
        })
    });
    c.check(
        "attributes use NameFormat uri and FriendlyName = Name (R10)",
        formats_ok,
        "",
    );
    let get = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    c.check(
        "xUserId is not empty",
        get("xUserId").is_some_and(|v| !v.is_empty()),
        get("xUserId").unwrap_or("(missing)"),
    );
    c.check(
        "xAccountId = xUserId (R11)",
        get("xAccountId") == get("xUserId"),
        get("xAccountId").unwrap_or("(missing)"),
    );
    true
}

fn attribute_values(assertion: &Element) -> Vec<(String, String)> {
    one(assertion, ns::ASSERTION, "AttributeStatement")
        .map(|s| {
            s.children_named(ns::ASSERTION, "Attribute")
                .map(|a| {
                    let value = a
                        .children_named(ns::ASSERTION, "AttributeValue")
                        .next()
                        .map(|v| v.text.clone())
                        .unwrap_or_default();
                    (a.attr("Name").unwrap_or_default().to_owned(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn login(root: &Element) -> Option<Login> {
    let assertion = one(root, ns::ASSERTION, "Assertion")?;
    let subject = one(assertion, ns::ASSERTION, "Subject")?;
    Some(Login {
        attributes: attribute_values(assertion),
        name_id: one(subject, ns::ASSERTION, "NameID")?.text.clone(),
        session_index: one(assertion, ns::ASSERTION, "AuthnStatement")?
            .attr("SessionIndex")?
            .to_owned(),
    })
}
