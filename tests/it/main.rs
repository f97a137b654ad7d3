//! Integration tests: one binary for the whole suite (shorter link times).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod api_wire;
mod architecture;
mod binary;
mod bind_result;
#[cfg(feature = "demo")]
mod chromium;
mod config;
mod deploy;
mod fuzz_corpus;
mod golden;
mod hardening;
mod logging;
mod logout_returns;
mod mappings;
mod openapi;
mod pysaml2;
mod redis_ops;
mod schemathesis;
mod server;
#[cfg(feature = "demo")]
mod simulator;
mod sso_flow;
mod sso_rejections;
mod support;
mod xmlsec;
