//! Huawei's side of the contract, in one place: the rules Huawei sets for what we send and
//! accept (docs/protocol.md), free of HTTP and storage like the SAML core.
//!
//! - [`fields`]: Huawei's limits on the partner-supplied fields (ids, e-mail, mobile, names).
//! - [`bind_notification`]: the signed bind-result form Huawei posts through the browser.
//! - [`links`]: the URLs we build towards Huawei and back: the login link, the partner's
//!   resume link and the return links.

pub mod bind_notification;
pub mod fields;
pub mod links;
