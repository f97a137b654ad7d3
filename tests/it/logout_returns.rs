//! Single logout and Huawei's return links.

use axum::http::StatusCode;
use serde_json::json;
use sso_bridge::saml::inbound;
use sso_bridge::saml::redirect::{MessageKind, split_query};

use crate::both_backends;
use crate::support::*;

/// A LogoutRequest like Huawei's SP would send.
fn logout_request(
    env: &TestEnv,
    id: &str,
    session_index: Option<&str>,
    destination: Option<&str>,
) -> String {
    let index = session_index
        .map(|s| format!("<samlp:SessionIndex>{s}</samlp:SessionIndex>"))
        .unwrap_or_default();
    let destination = destination
        .map(|d| format!(r#" Destination="{d}""#))
        .unwrap_or_default();
    format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"{destination} ID="{id}" IssueInstant="{}" Version="2.0"><saml:Issuer>{SP_ENTITY}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">_n</saml:NameID>{index}</samlp:LogoutRequest>"#,
        sso_bridge::saml::xml_time::format(env.now())
    )
}

/// Logs in and gets one assertion; returns (cookie, SessionIndex).
async fn session_with_index(env: &TestEnv, user: &str) -> (String, String) {
    let cookie = env.login(json!({"x_user_id": user})).await;
    let (xml, _) = env.fresh_sso(Some(&cookie)).await.saml_post();
    let start = xml.find("SessionIndex=\"").unwrap() + 14;
    let end = xml[start..].find('"').unwrap() + start;
    (cookie, xml[start..end].to_owned())
}

async fn is_alive(env: &TestEnv, cookie: &str) -> bool {
    env.fresh_sso(Some(cookie)).await.status == StatusCode::OK
}

async fn logout_request_ends_the_session_and_answers(b: Backend) {
    let env = TestEnv::new(b).await;
    let (cookie, index) = session_with_index(&env, "u1").await;
    let (other_cookie, _) = session_with_index(&env, "u2").await;
    let slo = format!("{PUBLIC_URL}/saml/slo");
    let q = signed_query(
        &env.sp.key,
        &logout_request(&env, "_lo1", Some(&index), Some(&slo)),
        Some("rs-1"),
    );
    // Huawei redirects the browser, but the session is found by SessionIndex even without a cookie.
    let res = env.get(&format!("/saml/slo?{q}"), None).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.body);
    let loc = res.location();
    let (base, query) = loc.split_once('?').unwrap();
    assert_eq!(base, "https://sp.test/slo-response");
    // Our LogoutResponse is signed over the query octets with our key.
    let signed = split_query(query, MessageKind::Response).unwrap();
    signed
        .verify(&[env.settings.idp.cert.public_key().unwrap()])
        .unwrap();
    assert_eq!(signed.relay_state.as_deref(), Some("rs-1"));
    let xml = signed.inflate().unwrap();
    let root = inbound::parse(&xml).unwrap();
    assert!(root.is("urn:oasis:names:tc:SAML:2.0:protocol", "LogoutResponse"));
    assert_eq!(root.attr("InResponseTo"), Some("_lo1"));
    assert_eq!(
        root.attr("Destination"),
        Some("https://sp.test/slo-response")
    );
    assert!(
        String::from_utf8(xml)
            .unwrap()
            .contains("urn:oasis:names:tc:SAML:2.0:status:Success")
    );
    assert!(!is_alive(&env, &cookie).await);
    assert!(
        is_alive(&env, &other_cookie).await,
        "another user's session stays"
    );

    // Replay: refused.
    let replay = env.get(&format!("/saml/slo?{q}"), None).await;
    assert_eq!(
        (replay.status, replay.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "replayed_request")
    );
}
both_backends!(logout_request_ends_the_session_and_answers);

async fn bad_logout_requests_end_nothing(b: Backend) {
    let env = TestEnv::new(b).await;
    let (cookie, index) = session_with_index(&env, "u1").await;
    let slo = format!("{PUBLIC_URL}/saml/slo");
    let stranger = TestSp::new();
    let good = signed_query(
        &env.sp.key,
        &logout_request(&env, "_lo2", Some(&index), Some(&slo)),
        None,
    );
    for (q, code) in [
        (
            signed_query(
                &stranger.key,
                &logout_request(&env, "_lo3", Some(&index), Some(&slo)),
                None,
            ),
            "bad_signature",
        ),
        (
            good.replace("&Signature=", "&RelayState=x&Signature="),
            "bad_signature",
        ),
        (
            signed_query(
                &env.sp.key,
                &logout_request(
                    &env,
                    "_lo4",
                    Some(&index),
                    Some("https://elsewhere.test/slo"),
                ),
                None,
            ),
            "wrong_destination",
        ),
        (
            signed_query(
                &env.sp.key,
                &logout_request(&env, "_lo5", Some(&index), None),
                None,
            ),
            "wrong_destination",
        ),
        (
            good.split("&SigAlg=").next().unwrap().to_owned(),
            "missing_parameter",
        ),
        (
            signed_query(&env.sp.key, &env.authn().xml(), None),
            "not_logout_request",
        ),
        (
            signed_query(
                &env.sp.key,
                &logout_request(&env, "_lo6", Some(&index), Some(&slo)).replace(
                    &sso_bridge::saml::xml_time::format(env.now()),
                    &sso_bridge::saml::xml_time::format(env.now() - time::Duration::hours(1)),
                ),
                None,
            ),
            "stale_request",
        ),
        (
            signed_query(
                &env.sp.key,
                &logout_request(&env, "_lo7", Some(&index), Some(&slo)),
                Some(&"r".repeat(81)),
            ),
            "relay_state_too_long",
        ),
    ] {
        let res = env.get(&format!("/saml/slo?{q}"), Some(&cookie)).await;
        assert_eq!(
            (res.status, res.error_code().as_str()),
            (StatusCode::BAD_REQUEST, code),
            "{}",
            res.body
        );
        assert!(res.header("set-cookie").is_none());
    }
    assert!(is_alive(&env, &cookie).await);
}
both_backends!(bad_logout_requests_end_nothing);

async fn plain_logout_goes_to_the_partner(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = env.login(json!({"x_user_id": "u1"})).await;
    let res = env.get("/saml/slo", Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.location(), PARTNER_LOGOUT);
    let cleared = res.header("set-cookie").unwrap();
    assert!(
        cleared.starts_with("__Host-sso_bridge_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert!(!is_alive(&env, &cookie).await);
    // Without a session it still lands on the partner's page.
    assert_eq!(env.get("/saml/slo", None).await.location(), PARTNER_LOGOUT);
}
both_backends!(plain_logout_goes_to_the_partner);

#[tokio::test]
async fn return_links_pass_only_allowed_parameters() {
    let env = TestEnv::new(Backend::Memory).await;
    let res = env.get("/return/cn/payment-success?orderId=CS2611&evil=https://x.test&amount=1%26b%3D2&orderId2=z", None).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(
        res.location(),
        format!("{PAYMENT_SUCCESS}&orderId=CS2611&amount=1%26b%3D2")
    );
    assert_eq!(
        env.get("/return/cn/recharge", None).await.location(),
        RECHARGE
    );
    let res = env
        .get("/return/cn/recharge?orderId=a%0d%0aSet-Cookie:x", None)
        .await;
    assert_eq!(res.location(), RECHARGE, "control characters are dropped");
    for bad in [
        "/return/cn/refund",
        "/return/mars/recharge",
        "/return/cn/recharge/../../evil",
    ] {
        let res = env.get(bad, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn unconfigured_return_link_is_not_found() {
    let mut o = EnvOptions::new(Backend::Memory);
    o.edit = Some(Box::new(|c: String| {
        c.replace(&format!("recharge_url = \"{RECHARGE}\"\n"), "")
    }));
    let env = TestEnv::with(o).await;
    assert_eq!(
        env.get("/return/cn/recharge", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.get("/return/cn/payment-success", None).await.status,
        StatusCode::FOUND
    );
}
