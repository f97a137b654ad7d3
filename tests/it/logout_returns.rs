//! Single logout and Huawei's return links.

use axum::http::StatusCode;
use saml::inbound;
use saml::redirect::{MessageKind, split_query, uri_component};
use serde_json::json;

use crate::both_backends;
use crate::support::*;

/// A LogoutRequest like Huawei's SP would send.
fn logout_request(
    env: &TestEnv,
    id: &str,
    name_id: &str,
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
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"{destination} ID="{id}" IssueInstant="{}" Version="2.0"><saml:Issuer>{SP_ENTITY}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">{name_id}</saml:NameID>{index}</samlp:LogoutRequest>"#,
        saml::xml_time::format(env.now())
    )
}

/// A logged-in session that got one assertion.
struct Signed {
    cookie: String,
    index: String,
    name_id: String,
}

fn between<'a>(xml: &'a str, start: &str, end: &str) -> &'a str {
    let s = xml.find(start).unwrap() + start.len();
    let e = xml[s..].find(end).unwrap() + s;
    &xml[s..e]
}

async fn session_with_index(env: &TestEnv, user: &str) -> Signed {
    let cookie = env.login(json!({"x_user_id": user})).await;
    let (xml, _) = env.fresh_sso(Some(&cookie)).await.saml_post();
    Signed {
        cookie,
        index: between(&xml, "SessionIndex=\"", "\"").to_owned(),
        name_id: between(&xml, "<saml2:NameID", "</saml2:NameID>")
            .split_once('>')
            .unwrap()
            .1
            .to_owned(),
    }
}

async fn is_alive(env: &TestEnv, cookie: &str) -> bool {
    env.fresh_sso(Some(cookie)).await.status == StatusCode::OK
}

/// Sends a signed LogoutRequest and returns (response, LogoutResponse XML).
async fn send_logout(
    env: &TestEnv,
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    xml: &str,
    cookie: Option<&str>,
) -> (TestResponse, String) {
    let q = signed_query(key, xml, None);
    let res = env.get(&format!("/saml/slo?{q}"), cookie).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.body);
    let loc = res.location();
    let query = loc.split_once('?').unwrap().1;
    let signed = split_query(query, MessageKind::Response).unwrap();
    signed
        .verify(&[env.settings.idp.cert.public_key().unwrap()])
        .unwrap();
    let xml = String::from_utf8(signed.inflate().unwrap()).unwrap();
    (res, xml)
}

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const UNKNOWN_PRINCIPAL: &str = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal";

async fn logout_request_ends_the_session_and_answers(b: Backend) {
    let env = TestEnv::new(b).await;
    let s1 = session_with_index(&env, "u1").await;
    let s2 = session_with_index(&env, "u2").await;
    let slo = format!("{PUBLIC_URL}/saml/slo");
    let q = signed_query(
        &env.sp.key,
        &logout_request(&env, "_lo1", &s1.name_id, Some(&s1.index), Some(&slo)),
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
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains(SUCCESS) && !xml.contains(UNKNOWN_PRINCIPAL));
    assert!(!is_alive(&env, &s1.cookie).await);
    assert!(
        is_alive(&env, &s2.cookie).await,
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

async fn logout_matches_name_id_session_index_and_site(b: Backend) {
    // docs/security.md A24: a LogoutRequest ends a session only when its NameID, SessionIndex and
    // issuing site all belong to that session; otherwise nothing ends and the LogoutResponse says
    // so.
    let (env, sp2) = TestEnv::two_sites(b).await;
    let victim = session_with_index(&env, "victim").await;
    let other = session_with_index(&env, "other").await;
    let slo = format!("{PUBLIC_URL}/saml/slo");
    let cases = [
        // Another browser's SessionIndex with some other NameID.
        (
            &env.sp.key,
            logout_request(
                &env,
                "_m1",
                "_not-the-name-id",
                Some(&victim.index),
                Some(&slo),
            ),
            None,
        ),
        // Another user's NameID with the victim's SessionIndex.
        (
            &env.sp.key,
            logout_request(&env, "_m2", &other.name_id, Some(&victim.index), Some(&slo)),
            None,
        ),
        // No SessionIndex: the browser's own session, but the NameID is another session's.
        (
            &env.sp.key,
            logout_request(&env, "_m3", &other.name_id, None, Some(&slo)),
            Some(victim.cookie.as_str()),
        ),
        // The International site's SP naming a China-site session exactly.
        (
            &sp2.key,
            logout_request(
                &env,
                "_m4",
                &victim.name_id,
                Some(&victim.index),
                Some(&slo),
            )
            .replace(SP_ENTITY, SP2_ENTITY),
            None,
        ),
    ];
    for (key, xml, cookie) in cases {
        let (_, response) = send_logout(&env, key, &xml, cookie).await;
        assert!(
            response.contains(UNKNOWN_PRINCIPAL) && !response.contains(SUCCESS),
            "{response}"
        );
        assert!(is_alive(&env, &victim.cookie).await, "{xml}");
        assert!(is_alive(&env, &other.cookie).await, "{xml}");
    }
    // The exact NameID without a SessionIndex ends the browser's own session.
    let (_, response) = send_logout(
        &env,
        &env.sp.key,
        &logout_request(&env, "_m5", &victim.name_id, None, Some(&slo)),
        Some(&victim.cookie),
    )
    .await;
    assert!(response.contains(SUCCESS), "{response}");
    assert!(!is_alive(&env, &victim.cookie).await);
    assert!(is_alive(&env, &other.cookie).await);
}
both_backends!(logout_matches_name_id_session_index_and_site);

async fn logout_request_ids_have_their_own_replay_namespace(b: Backend) {
    let env = TestEnv::new(b).await;
    let s = session_with_index(&env, "u1").await;
    // An AuthnRequest ID already used does not block a LogoutRequest with the same ID.
    let mut spec = env.authn();
    spec.id = "_shared-id".into();
    env.get(
        &format!("/saml/sso?{}", env.signed(&spec, None)),
        Some(&s.cookie),
    )
    .await
    .saml_post();
    let slo = format!("{PUBLIC_URL}/saml/slo");
    let xml = logout_request(&env, "_shared-id", &s.name_id, Some(&s.index), Some(&slo));
    let (_, response) = send_logout(&env, &env.sp.key, &xml, None).await;
    assert!(response.contains(SUCCESS), "{response}");
    // And the reverse: a used LogoutRequest ID does not make an AuthnRequest a replay.
    let fresh = env.login(json!({"x_user_id": "u2"})).await;
    let xml = logout_request(&env, "_other-shared", "_x", None, Some(&slo));
    send_logout(&env, &env.sp.key, &xml, None).await;
    let mut spec = env.authn();
    spec.id = "_other-shared".into();
    env.get(
        &format!("/saml/sso?{}", env.signed(&spec, None)),
        Some(&fresh),
    )
    .await
    .saml_post();
}
both_backends!(logout_request_ids_have_their_own_replay_namespace);

async fn bad_logout_requests_end_nothing(b: Backend) {
    let env = TestEnv::new(b).await;
    let Signed {
        cookie,
        index,
        name_id,
    } = session_with_index(&env, "u1").await;
    let slo = format!("{PUBLIC_URL}/saml/slo");
    let stranger = TestSp::new();
    let request = |id: &str, index: Option<&str>, destination: Option<&str>| {
        logout_request(&env, id, &name_id, index, destination)
    };
    let good = signed_query(
        &env.sp.key,
        &request("_lo2", Some(&index), Some(&slo)),
        None,
    );
    let expired = request("_lo8", Some(&index), Some(&slo)).replace(
        " Version=",
        &format!(
            " NotOnOrAfter=\"{}\" Version=",
            saml::xml_time::format(env.now() - time::Duration::minutes(3))
        ),
    );
    let without_name_id = request("_lo9", Some(&index), Some(&slo)).replace(
        &format!(
            "<saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\">{name_id}</saml:NameID>"
        ),
        "",
    );
    for (q, code) in [
        (
            signed_query(
                &stranger.key,
                &request("_lo3", Some(&index), Some(&slo)),
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
                &request("_lo4", Some(&index), Some("https://elsewhere.test/slo")),
                None,
            ),
            "wrong_destination",
        ),
        (
            signed_query(&env.sp.key, &request("_lo5", Some(&index), None), None),
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
                &request("_lo6", Some(&index), Some(&slo)).replace(
                    &saml::xml_time::format(env.now()),
                    &saml::xml_time::format(env.now() - time::Duration::hours(1)),
                ),
                None,
            ),
            "stale_request",
        ),
        (
            signed_query(
                &env.sp.key,
                &request("_lo7", Some(&index), Some(&slo)),
                Some(&"r".repeat(81)),
            ),
            "relay_state_too_long",
        ),
        (signed_query(&env.sp.key, &expired, None), "expired_request"),
        (
            signed_query(&env.sp.key, &without_name_id, None),
            "not_logout_request",
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
    // docs/security.md A20: a plain GET (a link or an image on any site) ends nothing; it asks.
    let page = env.get("/saml/slo", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("action=\"/saml/slo\""));
    assert!(page.header("set-cookie").is_none());
    assert!(is_alive(&env, &cookie).await);
    let csrf = form_value(&page.body, "csrf").unwrap();
    // A POST without the token, with another session's token, or without the cookie (a
    // cross-site form) ends nothing.
    let other = env.login(json!({"x_user_id": "u2"})).await;
    let other_csrf = form_value(&env.get("/saml/slo", Some(&other)).await.body, "csrf").unwrap();
    for (body, cookie_sent, code) in [
        ("".to_owned(), Some(cookie.as_str()), "csrf_mismatch"),
        (
            format!("csrf={other_csrf}"),
            Some(cookie.as_str()),
            "csrf_mismatch",
        ),
        (format!("csrf={csrf}"), None, "session_expired"),
    ] {
        let res = env.post_form("/saml/slo", &body, cookie_sent).await;
        assert_eq!(res.error_code(), code, "{body}");
        assert!(res.status.is_client_error());
        assert!(is_alive(&env, &cookie).await);
    }
    // The confirmation POST ends the session and clears the cookie.
    let res = env
        .post_form("/saml/slo", &format!("csrf={csrf}"), Some(&cookie))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), PARTNER_LOGOUT);
    let cleared = res.header("set-cookie").unwrap();
    assert!(
        cleared.starts_with("__Host-sso_bridge_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert!(!is_alive(&env, &cookie).await);
    assert!(is_alive(&env, &other).await);
    // Without a session it lands on the partner's page at once.
    assert_eq!(env.get("/saml/slo", None).await.location(), PARTNER_LOGOUT);
    assert_eq!(
        env.get("/saml/slo", Some(&cookie)).await.location(),
        PARTNER_LOGOUT
    );
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

async fn unsigned_logout_input_is_never_inflated_or_parsed(b: Backend) {
    // /saml/slo checks the signature before it decodes anything, like /saml/sso: a DEFLATE bomb
    // or junk XML that no configured SP signed is refused as a bad signature.
    let env = TestEnv::new(b).await;
    let sig_alg = uri_component(RSA_SHA256);
    let bomb = deflate_b64(&vec![b' '; 8 * 1024 * 1024]);
    let junk = deflate_b64(b"<samlp:LogoutRequest a='1' a='2'>");
    for message in [bomb, junk] {
        let q = format!(
            "SAMLRequest={}&SigAlg={sig_alg}&Signature=AAAA",
            uri_component(&message)
        );
        let res = env.get(&format!("/saml/slo?{q}"), None).await;
        assert_eq!(
            (res.status, res.error_code().as_str()),
            (StatusCode::BAD_REQUEST, "bad_signature"),
            "{}",
            res.body
        );
    }
}
both_backends!(unsigned_logout_input_is_never_inflated_or_parsed);

/// Every error page quotes the request id of its own response (read from the request-id layer,
/// not passed by each handler): the fallback 404, a return link's 404 and a flow error page.
#[tokio::test]
async fn error_pages_quote_their_own_request_id() {
    let env = TestEnv::new(Backend::Memory).await;
    for uri in [
        "/no/such/page",
        "/return/nosite/payment-success",
        "/saml/sso?SAMLRequest=x",
        "/sso/start?ticket=unknown",
    ] {
        let res = env.get(uri, None).await;
        assert!(res.status.is_client_error(), "{uri}: {}", res.status);
        let id = res.header("x-request-id").expect("x-request-id");
        assert_eq!(id.len(), 16, "{uri}");
        assert!(res.body.contains(&id), "{uri}: {}", res.body);
    }
}
