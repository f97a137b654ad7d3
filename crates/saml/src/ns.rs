//! Namespace and identifier URIs used by this crate.

/// SAML 2.0 assertion namespace.
pub const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 protocol namespace.
pub const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 metadata namespace.
pub const METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML-DSig namespace.
pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive canonicalization (and its InclusiveNamespaces element).
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// RSA PKCS#1 v1.5 with SHA-256.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// RSA PKCS#1 v1.5 with SHA-384.
pub const RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
/// RSA PKCS#1 v1.5 with SHA-512.
pub const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
/// SHA-256 digest.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// XML Schema namespace (`xsd:string`).
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
/// XML Schema instance namespace (`xsi:type`).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// HTTP-POST binding.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// Transient NameID format.
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
/// Entity NameID format (for Issuer).
pub const NAMEID_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
/// URI attribute name format.
pub const ATTRNAME_URI: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
/// Success status code.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Top-level status: the request could not be performed because of an error on the requester side.
pub const STATUS_REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
/// Second-level status: the responding provider does not recognise the principal.
pub const STATUS_UNKNOWN_PRINCIPAL: &str = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal";
/// Unspecified consent.
pub const CONSENT_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:consent:unspecified";
/// Bearer subject confirmation.
pub const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Unspecified authentication context class.
pub const AC_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified";
