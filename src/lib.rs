//! sso-bridge: the SAML 2.0 identity provider a Huawei Cloud partner runs so that customers of its
//! sales platform can jump into the Huawei Cloud console with single sign-on.
//!
//! # Crate map
//! - [`config`]: the TOML configuration, environment overrides and start-up validation.
//! - [`keys`]: our signing key and certificates (load, check, `keygen`).
//! - `saml` (the `crates/saml` member): pure SAML, free of HTTP and storage: the HTTP-Redirect
//!   binding, AuthnRequest checks, SP metadata parsing, IdP metadata, and the signed Response.
//! - [`store`]: one seam over tickets, sessions, pending requests, replay ids and account
//!   mappings, with an in-memory and a Redis backend.
//! - [`flow`]: the SSO flow as plain functions over the store (ticket → session → request →
//!   response), with time and randomness passed in.
//! - [`web`]: the axum router, a thin layer that extracts input, calls [`flow`] and renders pages.
//! - [`huawei`]: Huawei's rules: field limits, the bind-result notification, the links we build.
//!
//! # The flow in a few lines
//! 1. The partner platform creates a login ticket (`POST /api/v1/login-tickets`).
//! 2. The browser redeems it at `/sso/start`: we open an IdP session and send the browser to
//!    Huawei's login URL with `xAccountType`, `isFirstLogin` and `service`.
//! 3. Huawei sends a signed AuthnRequest to `/saml/sso` (HTTP-Redirect); we check it step by step.
//! 4. With a session we answer with a signed assertion, auto-POSTed to Huawei's ACS; without one we
//!    park the request and send the browser to the partner's login page with `resume=<state>`.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod flow;
#[doc(hidden)]
pub mod fuzzing;
pub mod huawei;
pub mod ids;
pub mod json_error;
pub mod keys;
pub mod random;
pub mod rate_limit;
pub mod store;
pub mod web;
