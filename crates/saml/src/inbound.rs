//! A strict reader for XML that arrives from outside (AuthnRequests, LogoutRequests, SP metadata).
//!
//! One parser makes every decision about an inbound document (docs/security.md A2), and it
//! refuses instead of repairing:
//! - UTF-8 only; an XML declaration may name no other encoding and no version but 1.0;
//! - no DOCTYPE, no entity references beyond the five predefined ones and character references
//!   (docs/security.md A4: nothing to expand);
//! - no comments or processing instructions (nothing to hide between two halves of a value,
//!   docs/security.md A3);
//! - every prefix must be declared; one root element; bounded depth and element count.
//!
//! The result is a small owned tree with namespace-resolved names, so later checks compare
//! `(namespace, local name)` and never a prefix.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// Deepest element nesting accepted; SAML messages are shallow.
const MAX_DEPTH: usize = 32;
/// Most elements accepted in one document; metadata with many endpoints stays far below.
const MAX_ELEMENTS: usize = 10_000;
/// Most attributes (namespace declarations included) on one element. A SAML element has about a
/// dozen; the cap is counted in one pass over the raw tag before anything else looks at it, so
/// no later check (quick-xml's or our duplicate check) sees more than this many.
pub const MAX_ATTRIBUTES: usize = 64;
/// Most character data in one element: a certificate in metadata is a few KB.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Largest document accepted: the biggest SP metadata stays far below.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Why an inbound document was refused. The text is for logs, never for the browser.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    /// Not UTF-8.
    #[error("document is not UTF-8")]
    NotUtf8,
    /// An XML declaration names another encoding or version.
    #[error("XML declaration names an unsupported encoding or version")]
    BadDeclaration,
    /// A DOCTYPE (docs/security.md A4).
    #[error("document has a DOCTYPE")]
    Doctype,
    /// An entity reference that is neither predefined nor a character reference
    /// (docs/security.md A4).
    #[error("document references an entity")]
    Entity,
    /// A comment or processing instruction (docs/security.md A3).
    #[error("document has a comment or processing instruction")]
    CommentOrPi,
    /// A prefix without a namespace declaration.
    #[error("document uses an undeclared namespace prefix")]
    UnboundPrefix,
    /// Too deep or too many elements.
    #[error("document is too large or too deep")]
    TooLarge,
    /// Not well-formed, or more than one root, or text outside the root.
    #[error("document is not well-formed: {0}")]
    Malformed(String),
    /// A character XML 1.0 does not allow.
    #[error("document has a character XML does not allow")]
    BadCharacter,
}

/// An attribute with a resolved name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI, `""` when unqualified.
    pub ns: String,
    /// Local name.
    pub local: String,
    /// Value after entity decoding and attribute-value normalization.
    pub value: String,
}

/// An element with a resolved name, its attributes, child elements and direct text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Namespace URI, `""` when unqualified.
    pub ns: String,
    /// Local name.
    pub local: String,
    /// Attributes other than namespace declarations.
    pub attrs: Vec<Attribute>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Concatenated direct character data.
    pub text: String,
}

impl Element {
    /// True when this element is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// The value of the unqualified attribute `local`.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// Child elements named `{ns}local`.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, local))
    }

    /// Direct text with surrounding XML whitespace removed.
    pub fn trimmed_text(&self) -> &str {
        self.text
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
    }
}

/// Parses `bytes` strictly into an [`Element`] tree.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(XmlError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| XmlError::NotUtf8)?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut first = true;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        let at_start = std::mem::replace(&mut first, false);
        match event {
            // The XML declaration may only open the document.
            Event::Decl(_) if !at_start => return Err(XmlError::CommentOrPi),
            Event::Decl(decl) => check_declaration(&decl)?,
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Comment(_) | Event::PI(_) => return Err(XmlError::CommentOrPi),
            Event::Start(start) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge);
                }
                if root.is_some() {
                    return Err(XmlError::Malformed("more than one root element".into()));
                }
                stack.push(element(&reader, &start)?);
            }
            Event::Empty(start) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge);
                }
                let el = element(&reader, &start)?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::Text(t) => {
                // XML 1.0 production CharData: "]]>" may not appear in text.
                if AsRef::<str>::as_ref(&t).contains("]]>") {
                    return Err(XmlError::Malformed("']]>' in text".into()));
                }
                push_text(&mut stack, &t.xml10_content())?
            }
            Event::CData(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let resolved = resolve_reference(&name)?;
                push_text(&mut stack, &resolved)?;
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unclosed element".into()));
    }
    root.ok_or_else(|| XmlError::Malformed("no root element".into()))
}

/// Adds a finished element to its parent, or makes it the root.
fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err(XmlError::Malformed("more than one root element".into())),
    }
    Ok(())
}

/// Appends character data to the open element; outside the root only whitespace may appear.
fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    if text.chars().any(is_forbidden_char) {
        return Err(XmlError::BadCharacter);
    }
    match stack.last_mut() {
        Some(el) if el.text.len() + text.len() > MAX_TEXT_BYTES => return Err(XmlError::TooLarge),
        Some(el) => el.text.push_str(text),
        None if text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) => {}
        None => return Err(XmlError::Malformed("text outside the root element".into())),
    }
    Ok(())
}

/// Resolves `&name;`: the five predefined entities and character references, nothing else.
fn resolve_reference(name: &str) -> Result<String, XmlError> {
    if let Some(value) = resolve_predefined_entity(name) {
        return Ok(value.to_owned());
    }
    let number = name.strip_prefix('#').ok_or(XmlError::Entity)?;
    let code = match number.strip_prefix('x') {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => number.parse::<u32>(),
    }
    .map_err(|_| XmlError::Malformed("bad character reference".into()))?;
    let c = char::from_u32(code).ok_or(XmlError::BadCharacter)?;
    if is_forbidden_char(c) {
        return Err(XmlError::BadCharacter);
    }
    Ok(c.to_string())
}

/// Characters outside XML 1.0's `Char` production.
fn is_forbidden_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Builds an element from a start tag, resolving every name against the declared namespaces.
fn element(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> Result<Element, XmlError> {
    // quick-xml is lenient where XML 1.0 is not; these are the well-formedness rules it leaves
    // to us (names, separated attributes, no '<' in values, no empty prefix bindings).
    if !is_qname(start.name().as_ref()) {
        return Err(XmlError::Malformed("invalid element name".into()));
    }
    check_attribute_syntax(start.attributes_raw())?;
    let (ns, local) = reader.resolver().resolve_element(start.name());
    let mut el = Element {
        ns: namespace(ns)?,
        local: local.as_ref().to_owned(),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
        if !is_qname(attr.key.as_ref()) {
            return Err(XmlError::Malformed("invalid attribute name".into()));
        }
        if attr.key.as_namespace_binding().is_some() {
            // Namespaces in XML 1.0 §3: a prefix may not be bound to the empty name.
            if attr.key.as_ref() != "xmlns" && attr.value.is_empty() {
                return Err(XmlError::Malformed(
                    "prefix bound to an empty namespace".into(),
                ));
            }
            continue;
        }
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| match e {
                quick_xml::Error::Escape(_) => XmlError::Entity,
                other => XmlError::Malformed(other.to_string()),
            })?;
        if value.chars().any(is_forbidden_char) {
            return Err(XmlError::BadCharacter);
        }
        let attribute = Attribute {
            ns: namespace(ns)?,
            local: local.as_ref().to_owned(),
            value: value.into_owned(),
        };
        el.attrs.push(attribute);
    }
    // Namespaces in XML 1.0 §6.3: no two attributes with the same expanded name. Sorted, so the
    // check stays O(n log n) even if the cap above is raised.
    let mut names: Vec<(&str, &str)> = el
        .attrs
        .iter()
        .map(|a| (a.ns.as_str(), a.local.as_str()))
        .collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(XmlError::Malformed("duplicate attribute".into()));
    }
    Ok(el)
}

/// A QName: NCName or NCName ':' NCName (ASCII letters, digits, `_ - .`, and non-ASCII letters).
fn is_qname(name: &str) -> bool {
    let mut parts = name.split(':');
    let ncname = |p: &str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
    };
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), None, None) => ncname(a),
        (Some(a), Some(b), None) => ncname(a) && ncname(b),
        _ => false,
    }
}

/// Checks the raw attribute list in one pass: whitespace before each attribute, `=` and a
/// quoted value, no `<` inside a value (XML 1.0 production AttValue), and at most
/// [`MAX_ATTRIBUTES`] attributes.
fn check_attribute_syntax(raw: &str) -> Result<(), XmlError> {
    let bad = |why: &str| Err(XmlError::Malformed(format!("attribute syntax: {why}")));
    let mut chars = raw.chars().peekable();
    let mut count = 0usize;
    loop {
        // Whitespace is required before every attribute.
        let mut spaced = false;
        while chars
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            chars.next();
            spaced = true;
        }
        let Some(&first) = chars.peek() else {
            return Ok(());
        };
        if first == '/' {
            return Ok(());
        }
        if !spaced {
            return bad("attributes must be separated by whitespace");
        }
        count += 1;
        if count > MAX_ATTRIBUTES {
            return Err(XmlError::TooLarge);
        }
        while chars
            .peek()
            .is_some_and(|c| !matches!(c, '=' | ' ' | '\t' | '\n' | '\r'))
        {
            chars.next();
        }
        while chars
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            chars.next();
        }
        if chars.next() != Some('=') {
            return bad("missing '='");
        }
        while chars
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            chars.next();
        }
        let quote = match chars.next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return bad("unquoted value"),
        };
        loop {
            match chars.next() {
                Some(c) if c == quote => break,
                Some('<') => return bad("'<' in a value"),
                Some(_) => {}
                None => return bad("unterminated value"),
            }
        }
    }
}

fn namespace(result: ResolveResult<'_>) -> Result<String, XmlError> {
    match result {
        ResolveResult::Bound(ns) => Ok(ns.as_ref().to_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(_) => Err(XmlError::UnboundPrefix),
    }
}

fn check_declaration(decl: &quick_xml::events::BytesDecl<'_>) -> Result<(), XmlError> {
    let version = decl.version().map_err(|_| XmlError::BadDeclaration)?;
    if version.as_ref() != "1.0" {
        return Err(XmlError::BadDeclaration);
    }
    if let Some(encoding) = decl.encoding() {
        let encoding = encoding.map_err(|_| XmlError::BadDeclaration)?;
        if !encoding.eq_ignore_ascii_case("UTF-8") {
            return Err(XmlError::BadDeclaration);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_attributes_and_text() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?><p:a xmlns:p="urn:p" x="1 &amp; 2"><p:b>t&lt;&#x4E2D;</p:b><c/></p:a>"#;
        let root = parse(doc).unwrap();
        assert!(root.is("urn:p", "a"));
        assert_eq!(root.attr("x"), Some("1 & 2"));
        assert_eq!(root.children.len(), 2);
        assert_eq!(root.children[0].text, "t<中");
        assert!(root.children[1].is("", "c"));
    }

    #[test]
    fn refuses_what_could_hide_or_expand() {
        let cases: &[(&[u8], XmlError)] = &[
            (
                b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
                XmlError::Doctype,
            ),
            (b"<a>&x;</a>", XmlError::Entity),
            (b"<a>x<!---->y</a>", XmlError::CommentOrPi),
            (b"<?pi x?><a/>", XmlError::CommentOrPi),
            (
                b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
                XmlError::BadDeclaration,
            ),
            (b"<p:a/>", XmlError::UnboundPrefix),
            (b"<a>&#1;</a>", XmlError::BadCharacter),
            (b"<a>\xff</a>", XmlError::NotUtf8),
        ];
        for (doc, expected) in cases {
            assert_eq!(
                parse(doc).as_ref().err(),
                Some(expected),
                "{:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    #[test]
    fn refuses_malformed_and_multiple_roots() {
        assert!(matches!(parse(b"<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse(b"<a/><b/>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse(b"<a/>text"), Err(XmlError::Malformed(_))));
        assert!(matches!(
            parse(b"<a x=\"1\" x=\"2\"/>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse(b""), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn refuses_what_xml_is_not() {
        for doc in [
            &b"<a x=\"<\"/>"[..],
            b"<a>]]></a>",
            b"<a><?xml version=\"1.0\"?></a>",
            b"<a xmlns:p=\"\"/>",
            b"<a xmlns:p=\"urn:x\" xmlns:q=\"urn:x\" p:b=\"1\" q:b=\"2\"/>",
            b"<a b='1'c='2'/>",
            b"<1a/>",
            b"<a b=1/>",
        ] {
            assert!(parse(doc).is_err(), "{}", String::from_utf8_lossy(doc));
        }
        assert!(parse(b"<a b='1' c=\"2\" xmlns=\"urn:d\">x &gt; y</a>").is_ok());
    }

    #[test]
    fn refuses_deep_nesting() {
        let doc = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert_eq!(parse(doc.as_bytes()), Err(XmlError::TooLarge));
    }

    #[test]
    fn caps_attributes_text_and_size() {
        let attrs = |n: usize| {
            let list: String = (0..n).map(|i| format!(" a{i}=\"v\"")).collect();
            format!("<r{list}/>")
        };
        assert!(parse(attrs(MAX_ATTRIBUTES).as_bytes()).is_ok());
        assert_eq!(
            parse(attrs(MAX_ATTRIBUTES + 1).as_bytes()),
            Err(XmlError::TooLarge)
        );
        // The reviewers' case: one element with 5,000 attributes, refused at the cap.
        assert_eq!(parse(attrs(5000).as_bytes()), Err(XmlError::TooLarge));
        let text = |n: usize| format!("<r>{}</r>", "x".repeat(n));
        assert!(parse(text(MAX_TEXT_BYTES).as_bytes()).is_ok());
        assert_eq!(
            parse(text(MAX_TEXT_BYTES + 1).as_bytes()),
            Err(XmlError::TooLarge)
        );
        // Split text (CDATA and references) counts as one.
        let split = format!(
            "<r>{}<![CDATA[x]]>&amp;</r>",
            "x".repeat(MAX_TEXT_BYTES - 1)
        );
        assert_eq!(parse(split.as_bytes()), Err(XmlError::TooLarge));
        let big = format!("<r>{}</r>", "<a/>".repeat(MAX_DOCUMENT_BYTES / 4));
        assert_eq!(parse(big.as_bytes()), Err(XmlError::TooLarge));
    }
}
