//! The browser flow end to end through the router, in both backends.

use axum::http::StatusCode;
use saml::inbound::{self, Element};
use serde_json::json;
use sso_bridge::huawei::fields::XUserId;
use time::Duration;

use crate::both_backends;
use crate::support::*;

const A: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const P: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

fn child<'a>(el: &'a Element, ns: &'a str, name: &'a str) -> &'a Element {
    el.children_named(ns, name)
        .next()
        .unwrap_or_else(|| panic!("no {name} in {}", el.local))
}

/// The attributes of the response as name → value.
fn attributes(assertion: &Element) -> Vec<(String, String)> {
    child(assertion, A, "AttributeStatement")
        .children_named(A, "Attribute")
        .map(|a| {
            let v = child(a, A, "AttributeValue");
            assert_eq!(
                v.attrs.iter().find(|x| x.local == "type").unwrap().value,
                "xsd:string"
            );
            (a.attr("Name").unwrap().to_owned(), v.text.clone())
        })
        .collect()
}

async fn login_then_sso(b: Backend) {
    let env = TestEnv::new(b).await;
    let user = "用户<&>]]><!---->'\"";
    let start = env
        .ticket(json!({"x_user_id": user, "name": "zhang_san", "email": "a&b@example.com", "mobile": "0086-13812345678",
                       "service": "https://activity.sp.test/free?x=1&y='a%20b'"}))
        .await;
    let page = env.get(&start, None).await;
    // A first login asks the customer to confirm who they are (docs/security.md A16); the session
    // is set now.
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("action=\"/sso/confirm\""),
        "{}",
        page.body
    );
    let set_cookie = page.header("set-cookie").unwrap();
    assert!(set_cookie.starts_with("__Host-sso_bridge_session="));
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    let cookie = page.session_cookie().unwrap();
    // The login time is the AuthnInstant, however long the customer takes afterwards.
    let login_time = env.now();
    env.clock.advance(time::Duration::seconds(90));
    let res = env.confirm(&cookie, &page.body, "continue").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        res.header("set-cookie").is_none(),
        "the session stays the same"
    );
    let loc = res.location();
    assert!(
        loc.starts_with(&format!(
            "{LOGIN_URL}?xAccountType=partnerX&isFirstLogin=true&service="
        )),
        "{loc}"
    );
    // encodeURIComponent of the URL as parsed (the parser escapes the quotes).
    assert!(
        loc.ends_with(
            "service=https%3A%2F%2Factivity.sp.test%2Ffree%3Fx%3D1%26y%3D%2527a%2520b%2527"
        ),
        "{loc}"
    );
    env.clock.advance(time::Duration::seconds(30));
    let spec = env.authn();
    let res = env
        .get(
            &format!("/saml/sso?{}", env.signed(&spec, Some("rs<&>"))),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        res.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    let csp = res.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'sha256-") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(res.body.contains(&format!("action=\"{ACS}\"")));
    assert!(res.body.contains("<button type=\"submit\">"));
    let (xml, relay) = res.saml_post();
    assert_eq!(relay.as_deref(), Some("rs<&>"));

    let root = inbound::parse(xml.as_bytes()).unwrap();
    assert!(root.is(P, "Response"));
    assert_eq!(root.attr("Destination"), Some(ACS));
    assert_eq!(root.attr("InResponseTo"), Some(spec.id.as_str()));
    let issuer = child(&root, A, "Issuer");
    assert_eq!(issuer.text, env.settings.idp.entity_id);
    assert_eq!(
        issuer.attr("Format"),
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
    );
    assert_eq!(
        child(child(&root, P, "Status"), P, "StatusCode").attr("Value"),
        Some("urn:oasis:names:tc:SAML:2.0:status:Success")
    );
    let assertions: Vec<_> = root.children_named(A, "Assertion").collect();
    assert_eq!(assertions.len(), 1);
    let a = assertions[0];
    assert_eq!(a.children[0].local, "Issuer");
    assert_eq!(
        a.children[1].local, "Signature",
        "signature right after the Issuer"
    );
    let subject = child(a, A, "Subject");
    let name_id = child(subject, A, "NameID");
    assert_eq!(
        name_id.attr("Format"),
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
    );
    assert_eq!(name_id.attr("NameQualifier"), Some(SP_ENTITY));
    let scd = child(
        child(subject, A, "SubjectConfirmation"),
        A,
        "SubjectConfirmationData",
    );
    assert_eq!(scd.attr("InResponseTo"), Some(spec.id.as_str()));
    assert_eq!(scd.attr("Recipient"), Some(ACS));
    assert!(scd.attr("NotOnOrAfter").is_some());
    let conditions = child(a, A, "Conditions");
    assert_eq!(
        child(child(conditions, A, "AudienceRestriction"), A, "Audience").text,
        SP_ENTITY
    );
    let authn = child(a, A, "AuthnStatement");
    assert!(authn.attr("SessionIndex").is_some());
    assert_eq!(
        authn.attr("AuthnInstant"),
        Some(saml::xml_time::format(login_time.replace_nanosecond(0).unwrap()).as_str()),
        "AuthnInstant is when the customer logged in, not when the assertion was made"
    );
    assert_ne!(a.attr("IssueInstant"), authn.attr("AuthnInstant"));
    assert_eq!(
        child(authn, A, "SubjectLocality").attr("Address"),
        Some(SP_ENTITY)
    );
    assert_eq!(
        attributes(a),
        vec![
            ("xUserId".into(), user.into()),
            ("xAccountId".into(), user.into()),
            ("bpId".into(), "bp-<&>-伙伴".into()),
            ("email".into(), "a&b@example.com".into()),
            ("name".into(), "zhang_san".into()),
            ("mobile".into(), "0086-13812345678".into()),
        ]
    );

    // A second assertion in the same session carries the session's transient NameID (single
    // logout must name it, docs/security.md A24), in a new Assertion.
    let res2 = env.fresh_sso(Some(&cookie)).await;
    let (xml2, relay2) = res2.saml_post();
    assert_eq!(relay2, None);
    let a2 = inbound::parse(xml2.as_bytes()).unwrap();
    let a2 = child(&a2, A, "Assertion");
    assert_eq!(
        child(child(a2, A, "Subject"), A, "NameID").text,
        name_id.text
    );
    assert_ne!(a2.attr("ID"), a.attr("ID"));
    // A new login is a new session with a new NameID.
    let other = env.login(json!({"x_user_id": user})).await;
    let (xml3, _) = env.fresh_sso(Some(&other)).await.saml_post();
    let a3 = inbound::parse(xml3.as_bytes()).unwrap();
    assert_ne!(
        child(child(child(&a3, A, "Assertion"), A, "Subject"), A, "NameID").text,
        name_id.text
    );
}
both_backends!(login_then_sso);

async fn request_without_session_is_parked_and_resumed(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    let res = env
        .get(
            &format!("/saml/sso?{}", env.signed(&spec, Some("keep-me"))),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    let loc = res.location();
    assert!(
        loc.starts_with(&format!("{PARTNER_LOGIN}?resume=")),
        "{loc}"
    );
    let resume = query_param(&loc, "resume").unwrap();

    let start = env
        .ticket(json!({"x_user_id": "u-resume", "resume": resume}))
        .await;
    // u-resume has no mapping: the customer confirms first, then the parked request is answered.
    let (res, _) = env.redeem(&start).await;
    let (xml, relay) = res.saml_post();
    assert_eq!(relay.as_deref(), Some("keep-me"));
    assert!(xml.contains(&format!("InResponseTo=\"{}\"", spec.id)));
    assert!(xml.contains(">u-resume<"));

    // The parked request is answered once only.
    let again = env
        .post_json(
            "/api/v1/login-tickets",
            Some(API_KEY),
            &json!({"x_user_id": "u", "resume": resume}).to_string(),
        )
        .await;
    // The parked request was answered: a second ticket for it finds nothing.
    assert_eq!(
        (again.status, again.error_code().as_str()),
        (StatusCode::NOT_FOUND, "resume_not_found")
    );
}
both_backends!(request_without_session_is_parked_and_resumed);

async fn resume_expires(b: Backend) {
    let env = TestEnv::new(b).await;
    let res = env.fresh_sso(None).await;
    let resume = query_param(&res.location(), "resume").unwrap();
    // The partner creates the ticket just before the parked request (600 s) expires, and the
    // browser arrives just after: the ticket is valid, the request it resumes is not.
    env.clock.advance(Duration::seconds(590));
    let start = env
        .ticket(json!({"x_user_id": "u", "resume": resume}))
        .await;
    env.clock.advance(Duration::seconds(15));
    let res = env.get(&start, None).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "resume_expired")
    );
    assert!(res.header("set-cookie").is_none());
    let late = env
        .post_json(
            "/api/v1/login-tickets",
            Some(API_KEY),
            &json!({"x_user_id": "u", "resume": resume}).to_string(),
        )
        .await;
    assert_eq!(
        (late.status, late.error_code().as_str()),
        (StatusCode::NOT_FOUND, "resume_not_found")
    );
}
both_backends!(resume_expires);

async fn is_first_login_follows_the_mapping(b: Backend) {
    let env = TestEnv::new(b).await;
    let uid = XUserId::parse("mapped-user").unwrap();
    let start = env.ticket(json!({"x_user_id": "mapped-user"})).await;
    let loc = env.redeem(&start).await.0.location();
    assert_eq!(query_param(&loc, "isFirstLogin").as_deref(), Some("true"));
    assert_eq!(
        env.put_mapping("mapped-user", "d1", "name1").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        env.bridge
            .store
            .get_mapping(&sso_bridge::config::SiteName::parse("cn").unwrap(), &uid)
            .await
            .unwrap()
            .unwrap()
            .domain_id,
        "d1"
    );
    let start = env.ticket(json!({"x_user_id": "mapped-user"})).await;
    let loc = env.get(&start, None).await.location();
    assert_eq!(query_param(&loc, "isFirstLogin").as_deref(), Some("false"));
    assert_eq!(
        query_param(&loc, "service").as_deref(),
        Some("https://console.sp.test/")
    );
}
both_backends!(is_first_login_follows_the_mapping);

async fn tickets_are_single_use_and_expire(b: Backend) {
    let env = TestEnv::new(b).await;
    let start = env.ticket(json!({"x_user_id": "u"})).await;
    assert!(env.redeem(&start).await.0.status.is_redirection());
    let used = env.get_lang(&start, "en").await;
    assert_eq!(used.status, StatusCode::BAD_REQUEST);
    assert_eq!(used.error_code(), "ticket_unknown");
    assert!(used.body.contains("This sign-in link is not valid"));
    assert!(used.header("set-cookie").is_none());

    let start = env.ticket(json!({"x_user_id": "u"})).await;
    env.clock.advance(Duration::seconds(61));
    let expired = env.get_lang(&start, "zh-CN").await;
    assert_eq!(expired.error_code(), "ticket_expired");
    assert!(expired.body.contains("登录链接已过期"));

    for bad in [
        "/sso/start",
        "/sso/start?ticket=",
        "/sso/start?ticket=short",
        "/sso/start?ticket=%00%01",
    ] {
        let res = env.get(bad, None).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(res.error_code(), "ticket_unknown");
    }
}
both_backends!(tickets_are_single_use_and_expire);

async fn concurrent_redemption_wins_once(b: Backend) {
    let env = TestEnv::new(b).await;
    let start = env.ticket(json!({"x_user_id": "u"})).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let router = env.router.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            get_on(&router, &start, None).await.status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        // One redemption opens a session (the first-login confirmation page); the rest fail.
        if t.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}
both_backends!(concurrent_redemption_wins_once);

async fn new_login_replaces_the_old_session(b: Backend) {
    let env = TestEnv::new(b).await;
    let old = env.login(json!({"x_user_id": "first"})).await;
    let start = env.ticket(json!({"x_user_id": "second"})).await;
    let res = env.get(&start, Some(&old)).await;
    let new = res.session_cookie().unwrap();
    assert_ne!(old, new);
    env.confirm(&new, &res.body, "continue").await;
    // The old session is gone: a request with it is parked for login instead of answered.
    let res = env.fresh_sso(Some(&old)).await;
    assert_eq!(res.status, StatusCode::FOUND);
    let res = env.fresh_sso(Some(&new)).await;
    assert!(res.saml_post().0.contains(">second<"));
}
both_backends!(new_login_replaces_the_old_session);

async fn session_absolute_timeout(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    env.clock.advance(Duration::hours(8) + Duration::seconds(1));
    let res = env.fresh_sso(Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert!(res.location().starts_with(PARTNER_LOGIN));
}
both_backends!(session_absolute_timeout);

#[tokio::test]
async fn session_idle_timeout() {
    // The memory backend follows the test clock; Redis enforces the same idle TTL in real time.
    let env = TestEnv::new(Backend::Memory).await;
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    env.clock.advance(Duration::minutes(29));
    let res = env.fresh_sso(Some(&cookie)).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "activity restarts the idle timer"
    );
    env.clock.advance(Duration::minutes(31));
    let res = env.fresh_sso(Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::FOUND);
}

async fn acs_comes_from_metadata(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    let mut spec = env.authn();
    spec.acs_url = None;
    spec.acs_index = Some(1);
    let (xml, _) = env
        .get(
            &format!("/saml/sso?{}", env.signed(&spec, None)),
            Some(&cookie),
        )
        .await
        .saml_post();
    assert!(xml.contains(&format!("Destination=\"{ACS2}\"")));
    let mut spec = env.authn();
    spec.acs_url = None;
    spec.protocol_binding = None;
    let (xml, _) = env
        .get(
            &format!("/saml/sso?{}", env.signed(&spec, None)),
            Some(&cookie),
        )
        .await
        .saml_post();
    assert!(
        xml.contains(&format!("Destination=\"{ACS}\"")),
        "default ACS"
    );
}
both_backends!(acs_comes_from_metadata);

async fn force_authn_goes_back_to_the_partner(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    let mut spec = env.authn();
    spec.force_authn = true;
    let res = env
        .get(
            &format!("/saml/sso?{}", env.signed(&spec, None)),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert!(res.location().starts_with(PARTNER_LOGIN));
}
both_backends!(force_authn_goes_back_to_the_partner);

#[tokio::test]
async fn pages_follow_accept_language_and_never_reflect_input() {
    let env = TestEnv::new(Backend::Memory).await;
    let evil =
        "/saml/sso?SAMLRequest=%3Cscript%3Ealert(1)%3C/script%3E&SigAlg=%3Cb%3E&Signature=AAAA";
    let zh = env.get_lang(evil, "zh-CN,zh;q=0.9").await;
    assert!(zh.body.contains("lang=\"zh-CN\"") && zh.body.contains("请求编号"));
    let en = env.get_lang(evil, "en-US").await;
    assert!(en.body.contains("lang=\"en\"") && en.body.contains("Request id"));
    for page in [&zh.body, &en.body] {
        assert!(!page.contains("<script") && !page.contains("<b>") && !page.contains("alert"));
    }
    let missing = env.get_lang("/nope", "en").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "not_found");
}

#[tokio::test]
async fn metadata_and_health() {
    let env = TestEnv::new(Backend::Memory).await;
    let md = env.get("/saml/metadata", None).await;
    assert_eq!(md.status, StatusCode::OK);
    assert!(
        md.header("content-type")
            .unwrap()
            .starts_with("application/samlmetadata+xml")
    );
    let root = inbound::parse(md.body.as_bytes()).unwrap();
    assert_eq!(
        root.attr("entityID"),
        Some("https://idp.test/saml/metadata")
    );
    assert!(md.body.contains("Location=\"https://idp.test/saml/sso\""));
    assert!(md.body.contains("Location=\"https://idp.test/saml/slo\""));
    assert!(!md.body.contains("PRIVATE KEY"));
    assert_eq!(env.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(env.get("/readyz", None).await.json()["status"], "ready");
}

/// How many sessions the store's per-user index holds for `user`.
async fn user_index_len(env: &TestEnv, user: &str) -> usize {
    let user = sso_bridge::huawei::fields::XUserId::parse(user).unwrap();
    env.bridge.store.user_index_len(&user).await.unwrap()
}

async fn the_per_user_session_index_stays_bounded(b: Backend) {
    // The same browser logging in again and again: each login replaces the session, and the
    // index keeps only the live one (it used to keep every login).
    let env = TestEnv::new(b).await;
    let mut cookie = env.login(json!({"x_user_id": "repeat"})).await;
    for _ in 0..60 {
        let start = env.ticket(json!({"x_user_id": "repeat"})).await;
        let res = env.get(&start, Some(&cookie)).await;
        cookie = res.session_cookie().expect("session cookie");
    }
    assert_eq!(user_index_len(&env, "repeat").await, 1);
    // Many browsers at once: capped, the oldest sessions end, the newest live.
    let mut cookies = Vec::new();
    for _ in 0..40 {
        cookies.push(env.login(json!({"x_user_id": "many"})).await);
    }
    let cap = sso_bridge::store::MAX_SESSIONS_PER_USER;
    assert_eq!(user_index_len(&env, "many").await, cap);
    let oldest = env.fresh_sso(Some(&cookies[0])).await;
    assert_ne!(
        oldest.status,
        StatusCode::OK,
        "the oldest session must have ended"
    );
    let newest = env.fresh_sso(Some(cookies.last().unwrap())).await;
    assert_eq!(newest.status, StatusCode::OK, "{}", newest.body);
    // Ending them all touches at most the cap.
    let ended = env.api("DELETE", "/api/v1/users/many/sessions", None).await;
    assert_eq!(ended.json()["ended"], cap);
    assert_eq!(user_index_len(&env, "many").await, 0);
}
both_backends!(the_per_user_session_index_stays_bounded);
