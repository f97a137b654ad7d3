//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay test
//! (`tests/it/fuzz_corpus.rs`), so both run exactly the same code: every parser that reads
//! input from outside, called the way the service calls it. None may panic, whatever the input;
//! results are dropped.

use std::sync::OnceLock;

use saml::redirect::{self, MessageKind};
use saml::sp_metadata::ServiceProvider;
use saml::{authn_request, inbound, logout};

/// A fuzz entry point.
pub type Entry = fn(&[u8]);

/// The fuzz targets, by name (the names of `fuzz/fuzz_targets/*.rs` and `fuzz/corpus/*`).
pub const TARGETS: &[(&str, Entry)] = &[
    ("redirect_query", redirect_query),
    ("inbound_xml", inbound_xml),
    ("saml_requests", saml_requests),
    ("sp_metadata", sp_metadata),
    ("bind_notification", bind_notification),
    ("api_json", api_json),
];

/// A registered SP for the signature-first path: Huawei's China-site metadata as shipped.
fn huawei_sp() -> Option<&'static ServiceProvider> {
    static SP: OnceLock<Option<ServiceProvider>> = OnceLock::new();
    SP.get_or_init(|| {
        ServiceProvider::from_metadata(crate::config::HUAWEI_CN_SP_METADATA, false).ok()
    })
    .as_ref()
}

/// The HTTP-Redirect binding: query split, SigAlg, signature against a real SP key, inflate.
pub fn redirect_query(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    for kind in [MessageKind::Request, MessageKind::Response] {
        if let Ok(q) = redirect::split_query(&raw, kind) {
            drop(q.check_relay_state());
            drop(q.inflate());
            if let Some(sp) = huawei_sp() {
                drop(q.verify(&sp.signing_keys));
            }
        }
    }
    drop(redirect::inflate_bounded(
        data,
        redirect::MAX_INFLATED_BYTES,
    ));
    if let Some(sp) = huawei_sp() {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let freshness = authn_request::Freshness {
            max_age: time::Duration::seconds(300),
            skew: time::Duration::seconds(120),
        };
        let sps = std::slice::from_ref(sp);
        drop(authn_request::verify_redirect(
            &raw,
            sps,
            "https://x/saml/sso",
            now,
            freshness,
        ));
        drop(logout::verify_redirect(
            &raw,
            sps,
            "https://x/saml/slo",
            now,
            freshness,
        ));
    }
}

/// The strict inbound XML reader.
pub fn inbound_xml(data: &[u8]) {
    drop(inbound::parse(data));
}

/// AuthnRequest and LogoutRequest reading (what follows a verified signature).
pub fn saml_requests(data: &[u8]) {
    drop(authn_request::parse(data));
    drop(logout::parse(data));
}

/// SP metadata, in and outside dev mode.
pub fn sp_metadata(data: &[u8]) {
    drop(ServiceProvider::from_metadata(data, false));
    drop(ServiceProvider::from_metadata(data, true));
}

/// Huawei's bind-result form and its JSON payload.
pub fn bind_notification(data: &[u8]) {
    if let Ok(form) = crate::huawei::bind_notification::BindForm::parse(data)
        && let Some(sp) = huawei_sp()
    {
        drop(crate::huawei::bind_notification::verify(
            &form,
            &sp.signing_keys,
        ));
    }
    drop(crate::huawei::bind_notification::decode_payload(data));
}

/// The partner API's JSON bodies and the field rules behind them.
pub fn api_json(data: &[u8]) {
    use crate::huawei::fields;
    match serde_json::from_slice::<crate::flow::TicketRequest>(data) {
        Err(e) => drop(crate::json_error::describe(&e)),
        Ok(t) => {
            drop(fields::XUserId::parse(&t.x_user_id));
            drop(fields::XUserId::parse_existing(&t.x_user_id));
            let hosts = ["console.huaweicloud.com".to_owned()];
            if let Some(v) = t.email.as_deref() {
                drop(fields::email(v));
            }
            if let Some(v) = t.mobile.as_deref() {
                drop(fields::mobile(v));
            }
            if let Some(v) = t.display_name.as_deref() {
                drop(fields::display_name(v));
            }
            if let Some(v) = t.name.as_deref() {
                drop(fields::account_name("name", v));
            }
            if let Some(v) = t.service.as_deref() {
                drop(fields::service_url(v, &hosts));
            }
        }
    }
    if let Ok(m) = serde_json::from_slice::<crate::flow::mappings::MappingRequest>(data) {
        drop(crate::flow::mappings::validated(
            &m.domain_id,
            &m.domain_name,
            m.user_id,
            m.user_name,
        ));
    }
    if let Ok(l) = serde_json::from_slice::<crate::flow::mappings::ImportLine>(data) {
        drop(fields::XUserId::parse(&l.x_user_id));
        drop(crate::flow::mappings::validated(
            &l.domain_id,
            &l.domain_name,
            l.user_id,
            l.user_name,
        ));
    }
}
