//! One rejection test for every check of docs/protocol.md §Checks, in both backends. Each shows the
//! status and code, that no cookie was set and nothing in the store changed, and that the
//! untampered request with the same ID is still accepted afterwards (so the rejection consumed
//! nothing).

use axum::http::StatusCode;
use openssl::hash::MessageDigest;
use saml::redirect::uri_component;
use time::Duration;

use crate::both_backends;
use crate::support::*;

/// Asserts `query` is refused with `status`/`code`, changing nothing; then that `valid` (same
/// request ID) is still accepted.
async fn reject(env: &TestEnv, query: &str, status: StatusCode, code: &str, valid: Option<&str>) {
    let before = env.snapshot().await;
    let res = env.get(&format!("/saml/sso?{query}"), None).await;
    assert_eq!(res.status, status, "{query:.200}: {}", res.body);
    assert_eq!(res.error_code(), code);
    assert!(res.header("set-cookie").is_none());
    assert!(
        res.header("x-request-id")
            .is_some_and(|id| res.body.contains(&id))
    );
    assert_eq!(
        env.snapshot().await,
        before,
        "a rejected request changed the store"
    );
    if let Some(valid) = valid {
        let ok = env.get(&format!("/saml/sso?{valid}"), None).await;
        assert_eq!(ok.status, StatusCode::FOUND, "{}", ok.body);
        assert!(ok.location().starts_with(PARTNER_LOGIN));
    }
}

async fn query_too_long(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    let valid = env.signed(&spec, None);
    let long = format!("{valid}&pad={}", "a".repeat(17 * 1024));
    reject(
        &env,
        &long,
        StatusCode::URI_TOO_LONG,
        "query_too_long",
        Some(&valid),
    )
    .await;
}
both_backends!(query_too_long);

async fn missing_parameters(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    let valid = env.signed(&spec, None);
    let parts: Vec<&str> = valid.split('&').collect();
    for skip in ["SAMLRequest=", "SigAlg=", "Signature="] {
        let q: Vec<&str> = parts
            .iter()
            .copied()
            .filter(|p| !p.starts_with(skip))
            .collect();
        reject(
            &env,
            &q.join("&"),
            StatusCode::BAD_REQUEST,
            "missing_parameter",
            None,
        )
        .await;
    }
    reject(&env, "", StatusCode::BAD_REQUEST, "missing_parameter", None).await;
    let empty_sig = valid.split("&Signature=").next().unwrap().to_owned() + "&Signature=";
    reject(
        &env,
        &empty_sig,
        StatusCode::BAD_REQUEST,
        "bad_signature",
        Some(&valid),
    )
    .await;
}
both_backends!(missing_parameters);

async fn duplicated_parameters(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    let valid = env.signed(&spec, Some("r"));
    for dup in [
        "SAMLRequest=AAAA",
        "RelayState=other",
        "SigAlg=x",
        "Signature=AAAA",
    ] {
        reject(
            &env,
            &format!("{valid}&{dup}"),
            StatusCode::BAD_REQUEST,
            "duplicate_parameter",
            None,
        )
        .await;
        reject(
            &env,
            &format!("{dup}&{valid}"),
            StatusCode::BAD_REQUEST,
            "duplicate_parameter",
            None,
        )
        .await;
    }
    reject(
        &env,
        "SAMLRequest=%%%&SigAlg=a&Signature=AAAA",
        StatusCode::BAD_REQUEST,
        "sig_alg_not_allowed",
        Some(&valid),
    )
    .await;
}
both_backends!(duplicated_parameters);

async fn bad_base64_and_deflate(b: Backend) {
    let env = TestEnv::new(b).await;
    let sig_alg = uri_component(RSA_SHA256);
    // Unsigned: refused at the signature, before the message is decoded at all.
    reject(
        &env,
        &format!("SAMLRequest=%21%21%21&SigAlg={sig_alg}&Signature=AAAA"),
        StatusCode::BAD_REQUEST,
        "bad_signature",
        None,
    )
    .await;
    // Signed but not base64.
    let q = sign_query(
        &env.sp.key,
        &format!("SAMLRequest=%21%21%21&SigAlg={sig_alg}"),
        MessageDigest::sha256(),
    );
    reject(&env, &q, StatusCode::BAD_REQUEST, "bad_encoding", None).await;
    let not_deflate = uri_component(&base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"plain text, not deflate",
    ));
    let q = sign_query(
        &env.sp.key,
        &format!("SAMLRequest={not_deflate}&SigAlg={sig_alg}"),
        MessageDigest::sha256(),
    );
    reject(&env, &q, StatusCode::BAD_REQUEST, "bad_deflate", None).await;
}
both_backends!(bad_base64_and_deflate);

async fn unsigned_input_is_never_inflated_or_parsed(b: Backend) {
    // What used to cost seconds of an executor thread before any signature check: one element
    // with thousands of attributes (2,500 here, to fit the query cap). Unsigned (or signed by a key no configured SP has), it is refused
    // at the signature; signed by the SP, the reader refuses it at the attribute cap.
    let env = TestEnv::new(b).await;
    let attrs: String = (0..2500).map(|i| format!(" a{i}=''")).collect();
    let junk = deflate_b64(format!("<samlp:AuthnRequest{attrs}/>").as_bytes());
    let sig_alg = uri_component(RSA_SHA256);
    let unsigned = format!(
        "SAMLRequest={}&SigAlg={sig_alg}&Signature=AAAA",
        uri_component(&junk)
    );
    reject(
        &env,
        &unsigned,
        StatusCode::BAD_REQUEST,
        "bad_signature",
        None,
    )
    .await;
    let stranger = TestSp::new();
    let signed_by_stranger = sign_query(
        &stranger.key,
        &format!("SAMLRequest={}&SigAlg={sig_alg}", uri_component(&junk)),
        MessageDigest::sha256(),
    );
    reject(
        &env,
        &signed_by_stranger,
        StatusCode::BAD_REQUEST,
        "bad_signature",
        None,
    )
    .await;
    // A DEFLATE bomb that is not signed is never inflated either.
    let bomb = deflate_b64(&vec![b' '; 8 * 1024 * 1024]);
    let unsigned_bomb = format!(
        "SAMLRequest={}&SigAlg={sig_alg}&Signature=AAAA",
        uri_component(&bomb)
    );
    reject(
        &env,
        &unsigned_bomb,
        StatusCode::BAD_REQUEST,
        "bad_signature",
        None,
    )
    .await;
    let signed = sign_query(
        &env.sp.key,
        &format!("SAMLRequest={}&SigAlg={sig_alg}", uri_component(&junk)),
        MessageDigest::sha256(),
    );
    let started = std::time::Instant::now();
    reject(&env, &signed, StatusCode::BAD_REQUEST, "xml_rejected", None).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
both_backends!(unsigned_input_is_never_inflated_or_parsed);

async fn deflate_bomb(b: Backend) {
    let env = TestEnv::new(b).await;
    // A few KB of DEFLATE that would inflate to 8 MB.
    let bomb = deflate_b64(&vec![b' '; 8 * 1024 * 1024]);
    assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
    let q = sign_query(
        &env.sp.key,
        &format!(
            "SAMLRequest={}&SigAlg={}",
            uri_component(&bomb),
            uri_component(RSA_SHA256)
        ),
        MessageDigest::sha256(),
    );
    let started = std::time::Instant::now();
    reject(
        &env,
        &q,
        StatusCode::PAYLOAD_TOO_LARGE,
        "message_too_large",
        None,
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
both_backends!(deflate_bomb);

async fn doctype_and_entities(b: Backend) {
    let env = TestEnv::new(b).await;
    let mut spec = env.authn();
    spec.prolog =
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>"#.into();
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "xml_doctype",
        None,
    )
    .await;
    let mut spec = env.authn();
    spec.issuer = "&e;".into();
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "xml_doctype",
        None,
    )
    .await;
    let mut spec = env.authn();
    spec.issuer = format!("{SP_ENTITY}<!---->");
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "xml_rejected",
        None,
    )
    .await;
    let mut spec = env.authn();
    spec.prolog = r#"<?xml version="1.0" encoding="UTF-16"?>"#.into();
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "xml_rejected",
        None,
    )
    .await;
}
both_backends!(doctype_and_entities);

async fn not_an_authn_request(b: Backend) {
    let env = TestEnv::new(b).await;
    let xml = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{SP_ENTITY}</saml:Issuer></samlp:LogoutRequest>"#
    );
    reject(
        &env,
        &signed_query(&env.sp.key, &xml, None),
        StatusCode::BAD_REQUEST,
        "not_authn_request",
        None,
    )
    .await;
}
both_backends!(not_an_authn_request);

async fn wrong_version(b: Backend) {
    let env = TestEnv::new(b).await;
    let mut spec = env.authn();
    let valid = env.signed(&spec, None);
    spec.version = "1.1".into();
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "bad_version",
        Some(&valid),
    )
    .await;
}
both_backends!(wrong_version);

async fn unknown_issuer(b: Backend) {
    let env = TestEnv::new(b).await;
    let mut spec = env.authn();
    let valid = env.signed(&spec, None);
    spec.issuer = "https://evil.test/".into();
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "unknown_issuer",
        None,
    )
    .await;
    spec.issuer = SP_ENTITY.into();
    spec.issuer_ns = "urn:oasis:names:tc:SAML:2.0:protocol".into();
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "unknown_issuer",
        Some(&valid),
    )
    .await;
}
both_backends!(unknown_issuer);

async fn sig_alg_not_allowed(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    let valid = env.signed(&spec, None);
    let msg = format!(
        "SAMLRequest={}",
        uri_component(&deflate_b64(spec.xml().as_bytes()))
    );
    for (alg, md) in [
        (
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            MessageDigest::sha1(),
        ),
        (
            "HTTP://WWW.W3.ORG/2001/04/XMLDSIG-MORE#RSA-SHA256",
            MessageDigest::sha256(),
        ),
        (
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            MessageDigest::sha1(),
        ),
        ("urn:unknown", MessageDigest::sha256()),
    ] {
        let q = sign_query(
            &env.sp.key,
            &format!("{msg}&SigAlg={}", uri_component(alg)),
            md,
        );
        reject(
            &env,
            &q,
            StatusCode::BAD_REQUEST,
            "sig_alg_not_allowed",
            None,
        )
        .await;
    }
    // Stronger members of the allow-list verify.
    let q = sign_query(
        &env.sp.key,
        &format!(
            "{msg}&SigAlg={}",
            uri_component("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512")
        ),
        MessageDigest::sha512(),
    );
    let ok = env.get(&format!("/saml/sso?{q}"), None).await;
    assert_eq!(ok.status, StatusCode::FOUND, "{}", ok.body);
    let _ = valid;
}
both_backends!(sig_alg_not_allowed);

async fn bad_signatures(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    let valid = env.signed(&spec, Some("state-1"));
    // Signed by a key that is not in the SP metadata.
    let stranger = TestSp::new();
    reject(
        &env,
        &signed_query(&stranger.key, &spec.xml(), Some("state-1")),
        StatusCode::BAD_REQUEST,
        "bad_signature",
        None,
    )
    .await;
    // RelayState changed after signing.
    reject(
        &env,
        &valid.replace("RelayState=state-1", "RelayState=state-2"),
        StatusCode::BAD_REQUEST,
        "bad_signature",
        None,
    )
    .await;
    // Message changed after signing (same ID inside).
    let mut other = spec.clone();
    other.acs_url = Some(ACS2.into());
    let swapped = format!(
        "SAMLRequest={}&{}",
        uri_component(&deflate_b64(other.xml().as_bytes())),
        valid.split_once('&').unwrap().1
    );
    reject(
        &env,
        &swapped,
        StatusCode::BAD_REQUEST,
        "bad_signature",
        None,
    )
    .await;
    // Signature bytes flipped.
    let at = valid.find("&Signature=").unwrap() + "&Signature=".len();
    let first = &valid[at..at + 1];
    let flipped = format!(
        "{}{}{}",
        &valid[..at],
        if first == "A" { "B" } else { "A" },
        &valid[at + 1..]
    );
    reject(
        &env,
        &flipped,
        StatusCode::BAD_REQUEST,
        "bad_signature",
        Some(&valid),
    )
    .await;
}
both_backends!(bad_signatures);

async fn signature_covers_octets_as_received(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    // Huawei's docs print lower-case escapes (%2f); sign exactly those octets.
    let msg = uri_component(&deflate_b64(spec.xml().as_bytes()))
        .replace("%2F", "%2f")
        .replace("%2B", "%2b")
        .replace("%3D", "%3d");
    let alg = uri_component(RSA_SHA256)
        .replace("%2F", "%2f")
        .replace("%3A", "%3a");
    let q = sign_query(
        &env.sp.key,
        &format!("SAMLRequest={msg}&RelayState=a%2fb&SigAlg={alg}"),
        MessageDigest::sha256(),
    );
    let res = env.get(&format!("/saml/sso?{q}"), None).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.body);
}
both_backends!(signature_covers_octets_as_received);

async fn wrong_destination(b: Backend) {
    let env = TestEnv::new(b).await;
    let mut spec = env.authn();
    let valid = env.signed(&spec, None);
    spec.destination = Some("https://idp.test/saml/sso/other".into());
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "wrong_destination",
        None,
    )
    .await;
    // saml-bindings §3.4.5.2: a signed request must name its Destination.
    spec.destination = None;
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "wrong_destination",
        Some(&valid),
    )
    .await;
}
both_backends!(wrong_destination);

async fn stale_and_future_requests(b: Backend) {
    let env = TestEnv::new(b).await;
    let mut spec = env.authn();
    let valid = env.signed(&spec, None);
    // Defaults: max age 300 s, skew 120 s.
    spec.issue_instant = env.now() - Duration::seconds(421);
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "stale_request",
        None,
    )
    .await;
    spec.issue_instant = env.now() + Duration::seconds(121);
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "future_request",
        Some(&valid),
    )
    .await;
}
both_backends!(stale_and_future_requests);

async fn unlisted_acs(b: Backend) {
    let env = TestEnv::new(b).await;
    let mut spec = env.authn();
    let valid = env.signed(&spec, None);
    spec.acs_url = Some("https://evil.test/acs".into());
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "unlisted_acs",
        None,
    )
    .await;
    spec.acs_url = None;
    spec.acs_index = Some(7);
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "unlisted_acs",
        None,
    )
    .await;
    spec.acs_url = Some(ACS.into());
    spec.acs_index = Some(0);
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "unlisted_acs",
        Some(&valid),
    )
    .await;
}
both_backends!(unlisted_acs);

async fn unsupported_binding(b: Backend) {
    let env = TestEnv::new(b).await;
    let mut spec = env.authn();
    let valid = env.signed(&spec, None);
    spec.protocol_binding = Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact".into());
    reject(
        &env,
        &env.signed(&spec, None),
        StatusCode::BAD_REQUEST,
        "unsupported_binding",
        Some(&valid),
    )
    .await;
}
both_backends!(unsupported_binding);

async fn relay_state_too_long(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    let valid = env.signed(&spec, Some(&"r".repeat(80)));
    reject(
        &env,
        &env.signed(&spec, Some(&"r".repeat(81))),
        StatusCode::BAD_REQUEST,
        "relay_state_too_long",
        Some(&valid),
    )
    .await;
}
both_backends!(relay_state_too_long);

async fn replayed_request(b: Backend) {
    let env = TestEnv::new(b).await;
    let q = env.signed(&env.authn(), None);
    let first = env.get(&format!("/saml/sso?{q}"), None).await;
    assert_eq!(first.status, StatusCode::FOUND);
    reject(&env, &q, StatusCode::BAD_REQUEST, "replayed_request", None).await;
    // Also with a session: a replay is never answered.
    let cookie = env.login(serde_json::json!({"x_user_id": "u1"})).await;
    let res = env.get(&format!("/saml/sso?{q}"), Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.error_code(), "replayed_request");
}
both_backends!(replayed_request);

async fn huawei_sample_without_signature_is_refused(b: Backend) {
    let env = TestEnv::new(b).await;
    let sample = include_str!("../fixtures/huawei-authnrequest-sample.samlrequest").trim();
    reject(
        &env,
        &format!("SAMLRequest={sample}"),
        StatusCode::BAD_REQUEST,
        "missing_parameter",
        None,
    )
    .await;
}
both_backends!(huawei_sample_without_signature_is_refused);
