//! Pure SAML 2.0: no axum, tokio or Redis in here. Time, ids and keys are parameters (only
//! [`certificate::self_signed`] reads the clock and the RNG, to make a new certificate).
//!
//! - [`redirect`]: the HTTP-Redirect binding (raw query parsing, signature over the received
//!   octets, base64 + bounded raw inflate).
//! - [`inbound`]: a strict reader for XML that arrives from outside (no DOCTYPE, no entities, no
//!   comments, UTF-8 only, namespace-checked).
//! - [`authn_request`]: the AuthnRequest and the checks of docs/protocol.md §Checks.
//! - [`sp_metadata`]: Huawei's SP metadata.
//! - [`idp_metadata`]: the metadata we publish.
//! - [`logout`]: single logout (LogoutRequest in, LogoutResponse out).
//! - [`response`] and [`signer`]: the signed Response, written directly in canonical form.
//! - [`certificate`]: the RSA floor and self-signed certificates.

pub mod authn_request;
pub mod canonical;
pub mod certificate;
pub mod idp_metadata;
pub mod inbound;
pub mod logout;
pub mod ns;
pub mod redirect;
pub mod response;
pub mod signer;
pub mod sp_metadata;
pub mod xml_time;
