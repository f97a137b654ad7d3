//! Writing XML that is already in exclusive canonical form (xml-exc-c14n, without comments).
//!
//! We never re-canonicalize our own output: every element is written the way exc-c14n would
//! print it, so the bytes we hash are the bytes we send, and a verifier that parses and
//! canonicalizes them gets the same octets. The rules that matter (W3C C14N 1.0 §2.3, exc-c14n §3):
//! - namespace declarations first, sorted by prefix, only where the prefix is visibly used
//!   (callers declare them where exc-c14n would render them);
//! - then attributes sorted by (namespace URI, local name), unqualified ones first;
//! - empty elements as a start and an end tag;
//! - text escapes `&`, `<`, `>` and CR; attribute values escape `&`, `<`, `"`, TAB, LF and CR.

/// One attribute: namespace URI (`""` for none), qualified name, value.
pub type Attr<'a> = (&'a str, &'a str, &'a str);

/// Appends `text` escaped as canonical character data.
pub fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            other => out.push(other),
        }
    }
}

/// Appends `value` escaped as a canonical attribute value (without the quotes).
pub fn push_attr_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            other => out.push(other),
        }
    }
}

/// Appends a start tag in canonical form. `ns` are `(prefix, uri)` declarations; both lists are
/// sorted here, so callers can list them in any order.
pub fn open(out: &mut String, name: &str, ns: &[(&str, &str)], attrs: &[Attr<'_>]) {
    out.push('<');
    out.push_str(name);
    let mut ns: Vec<&(&str, &str)> = ns.iter().collect();
    ns.sort_by(|a, b| a.0.cmp(b.0));
    for (prefix, uri) in ns {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        push_attr_value(out, uri);
        out.push('"');
    }
    let mut attrs: Vec<&Attr<'_>> = attrs.iter().collect();
    attrs.sort_by(|a, b| (a.0, local_name(a.1)).cmp(&(b.0, local_name(b.1))));
    for (_, name, value) in attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        push_attr_value(out, value);
        out.push('"');
    }
    out.push('>');
}

/// Appends an end tag.
pub fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Appends an element with only text content.
pub fn text_element(
    out: &mut String,
    name: &str,
    ns: &[(&str, &str)],
    attrs: &[Attr<'_>],
    text: &str,
) {
    open(out, name, ns, attrs);
    push_text(out, text);
    close(out, name);
}

/// Appends an element without content (as start and end tag, like c14n prints it).
pub fn empty_element(out: &mut String, name: &str, ns: &[(&str, &str)], attrs: &[Attr<'_>]) {
    open(out, name, ns, attrs);
    close(out, name);
}

fn local_name(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_c14n() {
        let mut out = String::new();
        push_text(&mut out, "a&b<c>]]>\r\n\"'");
        assert_eq!(out, "a&amp;b&lt;c&gt;]]&gt;&#xD;\n\"'");
        let mut out = String::new();
        push_attr_value(&mut out, "a&b<c>\"\t\n\r'");
        assert_eq!(out, "a&amp;b&lt;c>&quot;&#x9;&#xA;&#xD;'");
    }

    #[test]
    fn sorts_namespaces_and_attributes() {
        let mut out = String::new();
        open(
            &mut out,
            "saml2:AttributeValue",
            &[("xsi", "urn:xsi"), ("saml2", "urn:a")],
            &[
                ("urn:xsi", "xsi:type", "xsd:string"),
                ("", "Version", "2.0"),
                ("", "ID", "x"),
            ],
        );
        assert_eq!(
            out,
            r#"<saml2:AttributeValue xmlns:saml2="urn:a" xmlns:xsi="urn:xsi" ID="x" Version="2.0" xsi:type="xsd:string">"#
        );
    }
}
