//! Verifying an enveloped XML-DSig signature the way a careful SP does: exactly one signature
//! on the element it references, fixed algorithms (exclusive c14n, RSA-SHA256, SHA-256), unique
//! IDs (no wrapping, docs/security.md A1), the key taken from metadata only
//! (docs/security.md A7). Used by the Huawei simulator's ACS; our own output is checked by xmlsec1
//! and pysaml2 in the tests.
//!
//! The canonicalizer implements exclusive XML canonicalization without comments
//! (xml-exc-c14n §3) over the raw document, so it also handles documents that are not already in
//! canonical form (other prefixes, whitespace, declarations on ancestors).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::{PKey, Public};
use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::PrefixDeclaration;

use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use saml::inbound::{self, Element};
use saml::ns;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Why a signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DsigError {
    /// The document is not acceptable XML.
    #[error("document: {0}")]
    Xml(String),
    /// IDs are not unique, or the referenced element is missing.
    #[error("ID {0:?} is missing or not unique")]
    Id(String),
    /// The element has no signature, or more than one.
    #[error("the element has no single enveloped signature")]
    NoSignature,
    /// The signature uses an algorithm or structure other than the one required.
    #[error("signature structure not accepted: {0}")]
    Structure(&'static str),
    /// The digest does not match the canonical element.
    #[error("digest does not match: the signed element was changed")]
    Digest,
    /// The signature value does not verify with the trusted keys.
    #[error("signature value does not verify with the trusted certificate")]
    Signature,
    /// The KeyInfo certificate is not the trusted one.
    #[error("KeyInfo carries a certificate other than the trusted one")]
    KeyInfo,
}

fn child<'a>(el: &'a Element, ns: &'a str, local: &'a str) -> Result<&'a Element, DsigError> {
    let mut it = el.children_named(ns, local);
    match (it.next(), it.next()) {
        (Some(one), None) => Ok(one),
        _ => Err(DsigError::Structure("expected exactly one child element")),
    }
}

fn collect_ids<'a>(el: &'a Element, out: &mut Vec<(&'a str, &'a Element)>) {
    for a in &el.attrs {
        if a.ns.is_empty() && a.local == "ID" {
            out.push((a.value.as_str(), el));
        }
    }
    for c in &el.children {
        collect_ids(c, out);
    }
}

/// Trusted signing certificates from metadata: DER (to compare with KeyInfo) and public key.
pub type Trusted = [(Vec<u8>, PKey<Public>)];

/// Verifies the enveloped signature of the element whose `ID` is `id`. `trusted` are the DER
/// certificates from metadata; their keys verify, and a KeyInfo certificate must be one of them.
pub fn verify_enveloped(doc: &[u8], id: &str, trusted: &Trusted) -> Result<(), DsigError> {
    let root = inbound::parse(doc).map_err(|e| DsigError::Xml(e.to_string()))?;
    let mut ids = Vec::new();
    collect_ids(&root, &mut ids);
    let mut matching = ids.iter().filter(|(v, _)| *v == id);
    let target = match (matching.next(), matching.next()) {
        (Some((_, el)), None) => *el,
        _ => return Err(DsigError::Id(id.to_owned())),
    };
    let mut all: Vec<&str> = ids.iter().map(|(v, _)| *v).collect();
    all.sort_unstable();
    if all.windows(2).any(|w| w.first() == w.get(1)) {
        return Err(DsigError::Id("duplicate".into()));
    }
    let signature = {
        let mut sigs = target.children_named(ns::DSIG, "Signature");
        match (sigs.next(), sigs.next()) {
            (Some(s), None) => s,
            _ => return Err(DsigError::NoSignature),
        }
    };
    let signed_info = child(signature, ns::DSIG, "SignedInfo")?;
    let canonicalization = child(signed_info, ns::DSIG, "CanonicalizationMethod")?;
    if canonicalization.attr("Algorithm") != Some(ns::EXC_C14N) {
        return Err(DsigError::Structure(
            "CanonicalizationMethod must be exclusive c14n",
        ));
    }
    let signed_info_prefixes = inclusive_prefixes(canonicalization);
    if child(signed_info, ns::DSIG, "SignatureMethod")?.attr("Algorithm") != Some(ns::RSA_SHA256) {
        return Err(DsigError::Structure("SignatureMethod must be RSA-SHA256"));
    }
    let reference = child(signed_info, ns::DSIG, "Reference")?;
    if reference.attr("URI") != Some(&format!("#{id}")) {
        return Err(DsigError::Structure(
            "Reference must point to the signed element",
        ));
    }
    let transforms: Vec<&Element> = child(reference, ns::DSIG, "Transforms")?
        .children_named(ns::DSIG, "Transform")
        .collect();
    let (enveloped, c14n) = match transforms.as_slice() {
        [a, b] => (a, b),
        _ => {
            return Err(DsigError::Structure(
                "Transforms must be enveloped-signature then exclusive c14n",
            ));
        }
    };
    if enveloped.attr("Algorithm") != Some(ns::ENVELOPED)
        || c14n.attr("Algorithm") != Some(ns::EXC_C14N)
    {
        return Err(DsigError::Structure(
            "Transforms must be enveloped-signature then exclusive c14n",
        ));
    }
    let prefixes = inclusive_prefixes(c14n);
    if child(reference, ns::DSIG, "DigestMethod")?.attr("Algorithm") != Some(ns::SHA256) {
        return Err(DsigError::Structure("DigestMethod must be SHA-256"));
    }
    let digest_value = STANDARD
        .decode(compact(&child(reference, ns::DSIG, "DigestValue")?.text))
        .map_err(|_| DsigError::Structure("DigestValue is not base64"))?;
    let signature_value = STANDARD
        .decode(compact(&child(signature, ns::DSIG, "SignatureValue")?.text))
        .map_err(|_| DsigError::Structure("SignatureValue is not base64"))?;
    if let Some(key_info) = signature.children_named(ns::DSIG, "KeyInfo").next() {
        for data in key_info.children_named(ns::DSIG, "X509Data") {
            for cert in data.children_named(ns::DSIG, "X509Certificate") {
                let der = STANDARD
                    .decode(compact(&cert.text))
                    .map_err(|_| DsigError::KeyInfo)?;
                if !trusted.iter().any(|(t, _)| *t == der) {
                    return Err(DsigError::KeyInfo);
                }
            }
        }
    }

    let text = std::str::from_utf8(doc).map_err(|e| DsigError::Xml(e.to_string()))?;
    let element = canonicalize(text, &Select::Element(id), &prefixes)?;
    if openssl::sha::sha256(element.as_bytes()).as_slice() != digest_value.as_slice() {
        return Err(DsigError::Digest);
    }
    let info = canonicalize(text, &Select::SignedInfoOf(id), &signed_info_prefixes)?;
    if trusted
        .iter()
        .any(|(_, key)| rsa_sha256_verifies(key, info.as_bytes(), &signature_value))
    {
        Ok(())
    } else {
        Err(DsigError::Signature)
    }
}

/// RSA-SHA256 (PKCS#1 v1.5) over `data` with an RSA key of at least 2048 bits. The key type is
/// checked because OpenSSL's verifier follows the key: an ECDSA signature labelled RSA-SHA256
/// would otherwise verify with an EC key from metadata.
pub(crate) fn rsa_sha256_verifies(key: &PKey<Public>, data: &[u8], signature: &[u8]) -> bool {
    key.rsa().is_ok()
        && key.bits() >= saml::certificate::MIN_RSA_BITS
        && Verifier::new(MessageDigest::sha256(), key)
            .and_then(|mut v| {
                v.update(data)?;
                v.verify(signature)
            })
            .unwrap_or(false)
}

/// Appends `value` with the escaping exclusive C14N prescribes (C14N 1.0 §2.3, which
/// xml-exc-c14n inherits): in text `&`, `<`, `>` and CR; in attribute values `&`, `<`, `"`,
/// TAB, LF and CR. Written here rather than shared with the bridge's writer, so the two sides
/// check each other.
fn push_escaped(out: &mut String, value: &str, in_attribute: bool) {
    for c in value.chars() {
        let reference = match (c, in_attribute) {
            ('&', _) => "&amp;",
            ('<', _) => "&lt;",
            ('\r', _) => "&#xD;",
            ('>', false) => "&gt;",
            ('"', true) => "&quot;",
            ('\t', true) => "&#x9;",
            ('\n', true) => "&#xA;",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(reference);
    }
}

/// The `InclusiveNamespaces PrefixList` under a c14n method element, if any.
fn inclusive_prefixes(method: &Element) -> Vec<String> {
    method
        .children_named(ns::EXC_C14N, "InclusiveNamespaces")
        .next()
        .and_then(|i| i.attr("PrefixList"))
        .map(|p| p.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_whitespace()).collect()
}

/// Which subtree to canonicalize.
#[derive(Debug)]
pub enum Select<'a> {
    /// The element with this `ID`, without its direct-child `ds:Signature` (enveloped transform).
    Element(&'a str),
    /// The `ds:SignedInfo` of the direct-child `ds:Signature` of the element with this `ID`.
    SignedInfoOf(&'a str),
}

/// Where the walk is relative to the selection.
#[derive(Debug, Default)]
struct Walk {
    depth: usize,
    /// Depth of the element with the wanted ID.
    target: Option<usize>,
    /// Depth of that element's direct-child Signature.
    signature: Option<usize>,
    /// Depth at which output started.
    capture: Option<usize>,
    /// Depth of a skipped subtree (the enveloped signature).
    skip: Option<usize>,
    done: bool,
}

/// Exclusive canonical form (without comments) of the selected subtree; `inclusive` is the
/// InclusiveNamespaces PrefixList (`#default` names the default namespace).
pub fn canonicalize(
    doc: &str,
    select: &Select<'_>,
    inclusive: &[String],
) -> Result<String, DsigError> {
    let mut reader = Reader::from_str(doc);
    reader.config_mut().check_end_names = true;
    let mut scopes: Vec<Vec<(String, String)>> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut rendered: Vec<BTreeMap<String, String>> = Vec::new();
    let mut out = String::new();
    let mut w = Walk::default();
    let id = match select {
        Select::Element(id) | Select::SignedInfoOf(id) => *id,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| DsigError::Xml(e.to_string()))?;
        match &event {
            Event::Start(start) | Event::Empty(start) => {
                w.depth += 1;
                scopes.push(declarations(start)?);
                let name = qname(start);
                let uri = resolve(&scopes, prefix_of(&name));
                let local = local_of(&name).to_owned();
                if w.target.is_none() && !w.done && has_id(start, id)? {
                    w.target = Some(w.depth);
                    if matches!(select, Select::Element(_)) {
                        w.capture = Some(w.depth);
                    }
                }
                let is_dsig = |l: &str| uri.as_deref() == Some(ns::DSIG) && local == l;
                if w.signature.is_none()
                    && w.target.is_some_and(|t| t + 1 == w.depth)
                    && is_dsig("Signature")
                {
                    w.signature = Some(w.depth);
                    if matches!(select, Select::Element(_)) {
                        w.skip = Some(w.depth);
                    }
                }
                if matches!(select, Select::SignedInfoOf(_))
                    && w.capture.is_none()
                    && w.signature.is_some_and(|s| s + 1 == w.depth)
                    && is_dsig("SignedInfo")
                {
                    w.capture = Some(w.depth);
                }
                if w.capture.is_some() && w.skip.is_none() {
                    open_element(&mut out, start, &scopes, &mut rendered, inclusive)?;
                }
                names.push(name);
            }
            Event::Text(t) if w.capture.is_some() && w.skip.is_none() => {
                push_escaped(&mut out, &t.xml10_content(), false)
            }
            Event::CData(t) if w.capture.is_some() && w.skip.is_none() => {
                push_escaped(&mut out, &t.xml10_content(), false)
            }
            Event::GeneralRef(r) if w.capture.is_some() && w.skip.is_none() => {
                push_escaped(&mut out, &resolve_reference(&r.xml10_content())?, false);
            }
            Event::DocType(_) | Event::PI(_) => {
                return Err(DsigError::Xml("DOCTYPE or processing instruction".into()));
            }
            Event::Eof => return Err(DsigError::Id(id.to_owned())),
            _ => {}
        }
        if matches!(event, Event::End(_) | Event::Empty(_)) {
            let name = names
                .pop()
                .ok_or_else(|| DsigError::Xml("unbalanced end tag".into()))?;
            if w.capture.is_some() && w.skip.is_none() {
                out.push_str("</");
                out.push_str(&name);
                out.push('>');
                rendered.pop();
            }
            if w.skip == Some(w.depth) {
                w.skip = None;
            }
            if w.capture == Some(w.depth) {
                return Ok(out);
            }
            if w.target == Some(w.depth) {
                w.done = true;
            }
            scopes.pop();
            w.depth = w.depth.saturating_sub(1);
        }
    }
}

fn qname(start: &BytesStart<'_>) -> String {
    start.name().as_ref().to_owned()
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(p, _)| p)
}

fn local_of(qname: &str) -> &str {
    qname.split_once(':').map_or(qname, |(_, l)| l)
}

/// The namespace bound to `prefix` in scope (`""` = default). `xml` is always bound.
fn resolve(scopes: &[Vec<(String, String)>], prefix: &str) -> Option<String> {
    if prefix == "xml" {
        return Some(XML_NS.into());
    }
    scopes
        .iter()
        .rev()
        .flat_map(|s| s.iter())
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.clone())
}

fn declarations(start: &BytesStart<'_>) -> Result<Vec<(String, String)>, DsigError> {
    let mut out = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| DsigError::Xml(e.to_string()))?;
        let prefix = match attr.key.as_namespace_binding() {
            Some(PrefixDeclaration::Default) => String::new(),
            Some(PrefixDeclaration::Named(p)) => p.to_owned(),
            None => continue,
        };
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| DsigError::Xml(e.to_string()))?;
        out.push((prefix, value.into_owned()));
    }
    Ok(out)
}

fn has_id(start: &BytesStart<'_>, id: &str) -> Result<bool, DsigError> {
    for attr in start.attributes() {
        let attr = attr.map_err(|e| DsigError::Xml(e.to_string()))?;
        if attr.key.as_ref() == "ID" {
            let v = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| DsigError::Xml(e.to_string()))?;
            return Ok(v == id);
        }
    }
    Ok(false)
}

fn resolve_reference(name: &str) -> Result<String, DsigError> {
    if let Some(v) = resolve_predefined_entity(name) {
        return Ok(v.to_owned());
    }
    let number = name
        .strip_prefix('#')
        .ok_or_else(|| DsigError::Xml("entity reference".into()))?;
    let code = match number.strip_prefix('x') {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => number.parse::<u32>(),
    }
    .map_err(|_| DsigError::Xml("bad character reference".into()))?;
    char::from_u32(code)
        .map(String::from)
        .ok_or_else(|| DsigError::Xml("bad character reference".into()))
}

/// Writes a canonical start tag and pushes the rendered-namespace map for it.
fn open_element(
    out: &mut String,
    start: &BytesStart<'_>,
    scopes: &[Vec<(String, String)>],
    rendered: &mut Vec<BTreeMap<String, String>>,
    inclusive: &[String],
) -> Result<(), DsigError> {
    let name = qname(start);
    let parent = rendered.last().cloned().unwrap_or_default();
    let mut used: Vec<String> = vec![prefix_of(&name).to_owned()];
    let mut attrs: Vec<(String, String, String, String)> = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| DsigError::Xml(e.to_string()))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let key = attr.key.as_ref().to_owned();
        let prefix = prefix_of(&key).to_owned();
        let uri = if prefix.is_empty() {
            String::new()
        } else {
            resolve(scopes, &prefix)
                .ok_or_else(|| DsigError::Xml(format!("unbound prefix {prefix}")))?
        };
        if !prefix.is_empty() {
            used.push(prefix);
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| DsigError::Xml(e.to_string()))?
            .into_owned();
        attrs.push((uri, local_of(&key).to_owned(), key, value));
    }
    for p in inclusive {
        let p = if p == "#default" {
            String::new()
        } else {
            p.clone()
        };
        if resolve(scopes, &p).is_some() {
            used.push(p);
        }
    }
    used.sort();
    used.dedup();
    let mut mine = parent.clone();
    let mut decls: Vec<(String, String)> = Vec::new();
    for p in used {
        if p == "xml" {
            continue;
        }
        let uri = resolve(scopes, &p).unwrap_or_default();
        if p.is_empty() && uri.is_empty() && parent.get("").is_none_or(String::is_empty) {
            continue;
        }
        if !p.is_empty() && uri.is_empty() {
            return Err(DsigError::Xml(format!("unbound prefix {p}")));
        }
        if parent.get(&p) != Some(&uri) {
            decls.push((p.clone(), uri.clone()));
            mine.insert(p, uri);
        }
    }
    attrs.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out.push('<');
    out.push_str(&name);
    for (p, uri) in &decls {
        if p.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push_str("=\"");
        }
        push_escaped(out, uri, true);
        out.push('"');
    }
    for (_, _, key, value) in &attrs {
        out.push(' ');
        out.push_str(key);
        out.push_str("=\"");
        push_escaped(out, value, true);
        out.push('"');
    }
    out.push('>');
    rendered.push(mine);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use saml::response::{self, HuaweiAttributes, ResponseParams};
    use saml::signer::XmlSigner;

    fn signed(sign_response: bool) -> (String, Box<Trusted>) {
        let (key, cert) = saml::certificate::self_signed(2048, 1, "idp").unwrap();
        let trusted: Box<Trusted> =
            vec![(cert.to_der().unwrap(), cert.public_key().unwrap())].into_boxed_slice();
        let signer = XmlSigner::new(key, &cert).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let attributes = HuaweiAttributes {
            x_user_id: "u<&>\"'\t中".into(),
            ..HuaweiAttributes::default()
        };
        let xml = response::build(
            &signer,
            &ResponseParams {
                idp_entity_id: "https://idp",
                sp_entity_id: "https://sp/",
                acs_url: "https://sp/acs",
                in_response_to: "_req",
                now,
                authn_instant: now,
                not_before_skew: time::Duration::minutes(1),
                lifetime: time::Duration::minutes(5),
                response_id: "_resp",
                assertion_id: "_assert",
                name_id: "_n",
                session_index: "_s",
                attributes: &attributes,
                sign_response,
            },
        )
        .unwrap();
        (xml, trusted)
    }

    #[test]
    fn verifies_our_signatures() {
        let (xml, trusted) = signed(true);
        verify_enveloped(xml.as_bytes(), "_assert", &trusted).unwrap();
        verify_enveloped(xml.as_bytes(), "_resp", &trusted).unwrap();
        let (xml, trusted) = signed(false);
        verify_enveloped(xml.as_bytes(), "_assert", &trusted).unwrap();
        assert_eq!(
            verify_enveloped(xml.as_bytes(), "_resp", &trusted),
            Err(DsigError::NoSignature)
        );
    }

    #[test]
    fn refuses_changes_other_keys_and_wrapping() {
        let (xml, trusted) = signed(false);
        let tampered = xml.replacen("u&lt;&amp;", "v&lt;&amp;", 1);
        assert_eq!(
            verify_enveloped(tampered.as_bytes(), "_assert", &trusted),
            Err(DsigError::Digest)
        );
        let (_, other) = signed(false);
        assert_eq!(
            verify_enveloped(xml.as_bytes(), "_assert", &other),
            Err(DsigError::KeyInfo)
        );
        let stripped_keyinfo = {
            let a = xml.find("<ds:KeyInfo>").unwrap();
            let b = xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
            format!("{}{}", &xml[..a], &xml[b..])
        };
        assert_eq!(
            verify_enveloped(stripped_keyinfo.as_bytes(), "_assert", &other),
            Err(DsigError::Signature)
        );
        // Wrapping: a second element with the same ID.
        let wrapped = xml.replacen(
            "<saml2p:Status>",
            "<saml2p:Extensions ID=\"_assert\"></saml2p:Extensions><saml2p:Status>",
            1,
        );
        assert!(matches!(
            verify_enveloped(wrapped.as_bytes(), "_assert", &trusted),
            Err(DsigError::Id(_))
        ));
        // Any duplicated ID in the document is refused, not only the referenced one.
        let twin_ids = xml.replacen("ID=\"_resp\"", "ID=\"_twin\"", 1).replacen(
            "<saml2p:Status>",
            "<saml2p:Status ID=\"_twin\">",
            1,
        );
        assert_eq!(
            verify_enveloped(twin_ids.as_bytes(), "_assert", &trusted),
            Err(DsigError::Id("duplicate".into()))
        );
        let sha1 = xml.replacen("xmldsig-more#rsa-sha256", "xmldsig-more#rsa-sha1", 1);
        assert!(matches!(
            verify_enveloped(sha1.as_bytes(), "_assert", &trusted),
            Err(DsigError::Structure(_))
        ));
    }

    #[test]
    fn canonicalizes_non_canonical_input() {
        let doc = "<r:root xmlns:r=\"urn:r\" xmlns:u=\"urn:unused\" xmlns:x=\"urn:x\">\n  <r:a ID=\"_1\" z=\"2\" x:b=\"1\" a=\"&amp;\"><!-- c --><r:b/>t&#xD;&lt;</r:a>\n</r:root>";
        let c = canonicalize(doc, &Select::Element("_1"), &[]).unwrap();
        assert_eq!(
            c,
            "<r:a xmlns:r=\"urn:r\" xmlns:x=\"urn:x\" ID=\"_1\" a=\"&amp;\" z=\"2\" x:b=\"1\"><r:b></r:b>t&#xD;&lt;</r:a>"
        );
        let with_unused = canonicalize(doc, &Select::Element("_1"), &["u".to_owned()]).unwrap();
        assert!(
            with_unused
                .starts_with("<r:a xmlns:r=\"urn:r\" xmlns:u=\"urn:unused\" xmlns:x=\"urn:x\"")
        );
    }
}
