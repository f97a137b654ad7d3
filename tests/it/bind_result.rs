//! Huawei's bind-result notification, in both backends.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::sign::Signer;
use saml::redirect::uri_component;
use serde_json::json;

use crate::both_backends;
use crate::support::*;

const URL: &str = "/huawei/cn/bind-result";

/// What the signature covers.
#[derive(Clone, Copy)]
pub(crate) enum Over {
    Base64,
    Json,
}

/// A form body as Huawei's browser redirect would POST it.
pub(crate) fn notification(
    env: &TestEnv,
    payload: &serde_json::Value,
    over: Over,
) -> (String, String) {
    let json = payload.to_string();
    let b64 = STANDARD.encode(json.as_bytes());
    let mut s = Signer::new(MessageDigest::sha256(), &env.sp.key).unwrap();
    s.update(match over {
        Over::Base64 => b64.as_bytes(),
        Over::Json => json.as_bytes(),
    })
    .unwrap();
    let sig = STANDARD.encode(s.sign_to_vec().unwrap());
    let body = format!(
        "bindRequest={}&SigAlg={}&Signature={}",
        uri_component(&b64),
        uri_component(RSA_SHA256),
        uri_component(&sig)
    );
    (body, b64)
}

pub(crate) fn bind(uid: &str, domain: &str) -> serde_json::Value {
    json!({"domainName": "huawei_name", "domainId": domain, "xUserId": uid, "bindAction": 0, "userName": "iam-user", "userId": "iam-id", "newField": {"x": 1}})
}

pub(crate) fn continue_url(res: &TestResponse) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let loc = res.location();
    assert!(
        loc.starts_with(&format!("{PUBLIC_URL}/huawei/cn/bind-result/continue?c=")),
        "{loc}"
    );
    assert!(res.header("set-cookie").is_none());
    loc.strip_prefix(PUBLIC_URL).unwrap().to_owned()
}

/// A customer who jumped to Huawei from this bridge: logged in, and an assertion issued (the
/// pending bind jump). Returns the session cookie.
async fn jumped(env: &TestEnv, body: serde_json::Value) -> String {
    let cookie = env.login(body).await;
    env.fresh_sso(Some(&cookie)).await.saml_post();
    cookie
}

/// Huawei's cross-site POST (no cookie, as a SameSite=Lax cookie is not sent with it), then the
/// same-site GET step with `cookie`.
async fn deliver(env: &TestEnv, body: &str, cookie: Option<&str>) -> TestResponse {
    let next = continue_url(&env.post_form(URL, body, None).await);
    env.get(&next, cookie).await
}

/// The events of kind `unconfirmed`.
async fn unconfirmed(env: &TestEnv) -> Vec<serde_json::Value> {
    let events = env.api("GET", "/api/v1/events", None).await.json();
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "unconfirmed")
        .cloned()
        .collect()
}

async fn mapping_status(env: &TestEnv, uid: &str) -> StatusCode {
    env.api("GET", &format!("/api/v1/sites/cn/mappings/{uid}"), None)
        .await
        .status
}

/// The GET step refused the notification: a page saying so, nothing changed but one
/// `unconfirmed` event with `reason`.
fn assert_unconfirmed(res: &TestResponse) {
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::CONFLICT, "bind_not_confirmed"),
        "{}",
        res.body
    );
    assert!(res.body.contains("请求编号") || res.body.contains("Request id"));
}

async fn bind_with_session_goes_to_service(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = jumped(
        &env,
        json!({"x_user_id": "buyer", "service": "https://activity.sp.test/promo"}),
    )
    .await;
    let (body, _) = notification(&env, &bind("buyer", "dom-buyer"), Over::Base64);
    // The POST alone changes nothing: it is not tied to any browser yet.
    let before = env.snapshot().await;
    let res = env.post_form(URL, &body, None).await;
    let next = continue_url(&res);
    assert_eq!(mapping_status(&env, "buyer").await, StatusCode::NOT_FOUND);
    let after = env.snapshot().await;
    let new: Vec<&String> = after.iter().filter(|k| !before.contains(k)).collect();
    assert!(new.iter().all(|k| k.contains("continuation")), "{new:?}");

    let landed = env.get(&next, Some(&cookie)).await;
    assert_eq!(landed.status, StatusCode::FOUND, "{}", landed.body);
    assert_eq!(landed.location(), "https://activity.sp.test/promo");

    let mapping = env
        .api("GET", "/api/v1/sites/cn/mappings/buyer", None)
        .await
        .json();
    assert_eq!(mapping["domain_id"], "dom-buyer");
    assert_eq!(mapping["domain_name"], "huawei_name");
    assert_eq!(
        (mapping["user_name"].as_str(), mapping["user_id"].as_str()),
        (Some("iam-user"), Some("iam-id"))
    );
    assert_eq!(mapping["source"], "bind_notification");
    let events = env.api("GET", "/api/v1/events", None).await.json();
    assert_eq!(events["events"][0]["kind"], "bound");
    assert_eq!(events["events"][0]["actor"], "huawei");
    assert_eq!(events["events"][0]["source"], "bind_notification");
    assert!(events["events"][0].get("reason").is_none());

    // The next jump is no longer a first login.
    let start = env.ticket(json!({"x_user_id": "buyer"})).await;
    let loc = env.get(&start, None).await.location();
    assert_eq!(query_param(&loc, "isFirstLogin").as_deref(), Some("false"));
}
both_backends!(bind_with_session_goes_to_service);

async fn notifications_not_tied_to_a_jump_change_nothing(b: Backend) {
    // docs/security.md A15: each way a verified notification can arrive without this bridge's jump
    // for that user in that browser. Each leaves the mapping alone and records one `unconfirmed`
    // event.
    let env = TestEnv::new(b).await;
    let mut expected = Vec::new();

    // No session at all (a notification obtained elsewhere, posted by anyone).
    let (body, _) = notification(&env, &bind("victim", "dom-attacker"), Over::Base64);
    assert_unconfirmed(&deliver(&env, &body, None).await);
    expected.push(("victim", "no_session", "bind"));

    // Another user's session, even one that just jumped.
    let other = jumped(&env, json!({"x_user_id": "someone-else"})).await;
    let (body, _) = notification(&env, &bind("victim", "dom-2"), Over::Json);
    assert_unconfirmed(&deliver(&env, &body, Some(&other)).await);
    expected.push(("victim", "other_user", "bind"));

    // The user's own session, but no assertion was issued in it (no pending jump).
    let no_jump = env.login(json!({"x_user_id": "victim"})).await;
    let (body, _) = notification(&env, &bind("victim", "dom-3"), Over::Base64);
    assert_unconfirmed(&deliver(&env, &body, Some(&no_jump)).await);
    expected.push(("victim", "no_pending_jump", "bind"));

    // An unbind is held to the same rule.
    assert_eq!(
        env.put_mapping("kept", "dom-kept", "kept_name")
            .await
            .status,
        StatusCode::CREATED
    );
    let mut unbind = bind("kept", "dom-kept");
    unbind["bindAction"] = json!(1);
    let (body, _) = notification(&env, &unbind, Over::Base64);
    assert_unconfirmed(&deliver(&env, &body, None).await);
    expected.push(("kept", "no_session", "unbind"));
    assert_eq!(mapping_status(&env, "kept").await, StatusCode::OK);

    assert_eq!(mapping_status(&env, "victim").await, StatusCode::NOT_FOUND);
    let events = unconfirmed(&env).await;
    let got: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["x_user_id"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = expected
        .into_iter()
        .map(|(u, r, a)| (u.into(), r.into(), a.into()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(events[0]["domain_id"], "dom-attacker");
    assert_eq!(events[0]["domain_name"], "huawei_name");
    assert_eq!(events[0]["actor"], "huawei");
    assert_eq!(events[0]["source"], "bind_notification");

    // The same notification posted again adds no second event (the log is bounded; one
    // captured notification must not push real events out of it).
    let (body, _) = notification(&env, &bind("victim", "dom-attacker"), Over::Base64);
    for _ in 0..3 {
        assert_unconfirmed(&deliver(&env, &body, None).await);
    }
    assert_eq!(unconfirmed(&env).await.len(), 4);
}
both_backends!(notifications_not_tied_to_a_jump_change_nothing);

async fn one_notification_per_jump_and_rebind_after_unbind(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = jumped(&env, json!({"x_user_id": "cycler"})).await;
    let first = bind("cycler", "dom-c");
    let (body_bind, _) = notification(&env, &first, Over::Base64);
    assert_eq!(
        deliver(&env, &body_bind, Some(&cookie)).await.status,
        StatusCode::FOUND
    );
    assert_eq!(mapping_status(&env, "cycler").await, StatusCode::OK);

    // The jump is used: a second notification in the same session is not applied.
    let mut unbind = first.clone();
    unbind["bindAction"] = json!(1);
    let (body_unbind, _) = notification(&env, &unbind, Over::Base64);
    assert_unconfirmed(&deliver(&env, &body_unbind, Some(&cookie)).await);
    assert_eq!(mapping_status(&env, "cycler").await, StatusCode::OK);
    assert_eq!(unconfirmed(&env).await[0]["reason"], "no_pending_jump");

    // A new jump: the unbind applies.
    env.fresh_sso(Some(&cookie)).await.saml_post();
    assert_eq!(
        deliver(&env, &body_unbind, Some(&cookie)).await.status,
        StatusCode::FOUND
    );
    assert_eq!(mapping_status(&env, "cycler").await, StatusCode::NOT_FOUND);

    // And a byte-identical copy of the first bind, with its own new jump, is a legitimate
    // re-bind (a content-digest replay memory would drop it).
    env.fresh_sso(Some(&cookie)).await.saml_post();
    assert_eq!(
        deliver(&env, &body_bind, Some(&cookie)).await.status,
        StatusCode::FOUND
    );
    assert_eq!(mapping_status(&env, "cycler").await, StatusCode::OK);
    let kinds: Vec<String> = env.api("GET", "/api/v1/events", None).await.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["bound", "unconfirmed", "unbound", "bound"]);
}
both_backends!(one_notification_per_jump_and_rebind_after_unbind);

async fn old_notification_replayed_later_changes_nothing(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = jumped(&env, json!({"x_user_id": "replayed"})).await;
    let (body, _) = notification(&env, &bind("replayed", "dom-r"), Over::Base64);
    assert_eq!(
        deliver(&env, &body, Some(&cookie)).await.status,
        StatusCode::FOUND
    );
    // The partner unbinds through the API; Huawei's old notification, replayed any time later
    // (also after any replay memory would have ended), must not bind again: it has no jump.
    assert_eq!(
        env.api("DELETE", "/api/v1/sites/cn/mappings/replayed", None)
            .await
            .status,
        StatusCode::OK
    );
    env.clock.advance(time::Duration::days(40));
    let fresh = env.login(json!({"x_user_id": "replayed"})).await;
    assert_unconfirmed(&deliver(&env, &body, Some(&fresh)).await);
    assert_unconfirmed(&deliver(&env, &body, None).await);
    assert_eq!(
        mapping_status(&env, "replayed").await,
        StatusCode::NOT_FOUND
    );
}
both_backends!(old_notification_replayed_later_changes_nothing);

#[tokio::test]
async fn pending_jump_expires_after_the_bind_window() {
    // The memory store follows the test clock; the Redis test below checks the key's TTL.
    let env = TestEnv::new(Backend::Memory).await;
    let cookie = jumped(&env, json!({"x_user_id": "slow"})).await;
    // Keep the session itself alive (30-minute idle timer) without a new assertion: a request
    // long after the jump is parked for confirmation, which counts as activity.
    env.clock.advance(time::Duration::minutes(20));
    let asked = env.fresh_sso(Some(&cookie)).await;
    assert!(asked.body.contains("/sso/confirm"), "{}", asked.body);
    env.clock.advance(time::Duration::minutes(11));
    let (body, _) = notification(&env, &bind("slow", "dom-slow"), Over::Base64);
    assert_unconfirmed(&deliver(&env, &body, Some(&cookie)).await);
    assert_eq!(unconfirmed(&env).await[0]["reason"], "no_pending_jump");
    assert_eq!(mapping_status(&env, "slow").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn redis_pending_jump_lives_for_the_bind_window() {
    let env = TestEnv::new(Backend::Redis).await;
    let cookie = jumped(&env, json!({"x_user_id": "ttl"})).await;
    let key = format!(
        "{}:bind-jump:{}",
        env.prefix,
        sso_bridge::random::token_digest(&cookie)
    );
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1790..=1800).contains(&ttl), "{ttl}");
    let site: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(site, "cn");
}

async fn two_notifications_race_for_one_jump(b: Backend) {
    // One jump, two different notifications whose GET steps arrive at once on two bridge
    // processes sharing the store: exactly one is applied.
    let env = TestEnv::new(b).await;
    // A sibling process shares the store only through Redis; in memory, one process races.
    let sibling = match b {
        Backend::Redis => env.sibling().1,
        Backend::Memory => env.router.clone(),
    };
    for round in 0..4 {
        let uid = format!("racer-{round}");
        let cookie = jumped(&env, json!({"x_user_id": uid})).await;
        let (a, _) = notification(&env, &bind(&uid, &format!("dom-a{round}")), Over::Base64);
        let (b2, _) = notification(&env, &bind(&uid, &format!("dom-b{round}")), Over::Json);
        let next_a = continue_url(&env.post_form(URL, &a, None).await);
        let next_b = continue_url(&env.post_form(URL, &b2, None).await);
        let (ra, rb) = tokio::join!(
            get_on(&env.router, &next_a, Some(&cookie)),
            get_on(&sibling, &next_b, Some(&cookie))
        );
        let applied = [&ra, &rb]
            .iter()
            .filter(|r| r.header("location").as_deref() == Some("https://console.sp.test/"))
            .count();
        assert_eq!(applied, 1, "{} {}", ra.status, rb.status);
        assert_eq!(mapping_status(&env, &uid).await, StatusCode::OK);
    }
    assert_eq!(unconfirmed(&env).await.len(), 4);
}
both_backends!(two_notifications_race_for_one_jump);

#[tokio::test]
async fn a_session_of_another_site_confirms_nothing() {
    let (env, sp2) = TestEnv::two_sites(Backend::Memory).await;
    // The customer jumped to the International site; a China-site notification for the same
    // user id does not ride on that jump.
    let intl = env
        .login(json!({"x_user_id": "both-sites", "site": "intl"}))
        .await;
    let mut spec = env.authn();
    spec.issuer = SP2_ENTITY.into();
    spec.acs_url = Some(SP2_ACS.into());
    let answered = env
        .get(
            &format!("/saml/sso?{}", signed_query(&sp2.key, &spec.xml(), None)),
            Some(&intl),
        )
        .await;
    answered.saml_post();
    let (body, _) = notification(&env, &bind("both-sites", "dom-x"), Over::Base64);
    assert_unconfirmed(&deliver(&env, &body, Some(&intl)).await);
    assert_eq!(unconfirmed(&env).await[0]["reason"], "other_site");
    assert_eq!(
        mapping_status(&env, "both-sites").await,
        StatusCode::NOT_FOUND
    );
}

async fn refused_notifications_change_nothing(b: Backend) {
    let env = TestEnv::new(b).await;
    let (good, b64) = notification(&env, &bind("victim", "dom-v"), Over::Base64);
    let sig = good.split("&Signature=").nth(1).unwrap().to_owned();
    let other_payload = STANDARD.encode(bind("attacker", "dom-v").to_string());
    let stranger = TestSp::new();
    let mut s = Signer::new(MessageDigest::sha256(), &stranger.key).unwrap();
    s.update(b64.as_bytes()).unwrap();
    let stranger_sig = uri_component(&STANDARD.encode(s.sign_to_vec().unwrap()));
    let sha1 = uri_component("http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    let alg = uri_component(RSA_SHA256);
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            format!(
                "bindRequest={}&SigAlg={alg}&Signature={sig}",
                uri_component(&other_payload)
            ),
            StatusCode::BAD_REQUEST,
            "bad_signature",
        ),
        (
            format!(
                "bindRequest={}&SigAlg={alg}&Signature={sig}",
                uri_component(&b64[..b64.len() - 8])
            ),
            StatusCode::BAD_REQUEST,
            "bad_signature",
        ),
        (
            format!(
                "bindRequest={}&SigAlg={alg}&Signature={sig}",
                uri_component(&b64[..b64.len() - 3])
            ),
            StatusCode::BAD_REQUEST,
            "notification_malformed",
        ),
        (
            format!(
                "bindRequest={}&SigAlg={alg}&Signature={stranger_sig}",
                uri_component(&b64)
            ),
            StatusCode::BAD_REQUEST,
            "bad_signature",
        ),
        (
            format!(
                "bindRequest={}&SigAlg={sha1}&Signature={sig}",
                uri_component(&b64)
            ),
            StatusCode::BAD_REQUEST,
            "sig_alg_not_allowed",
        ),
        (
            format!("bindRequest={}&SigAlg={alg}", uri_component(&b64)),
            StatusCode::BAD_REQUEST,
            "notification_incomplete",
        ),
        (
            format!(
                "bindRequest={}&SigAlg={alg}&Signature=",
                uri_component(&b64)
            ),
            StatusCode::BAD_REQUEST,
            "bad_signature",
        ),
        (
            format!("{good}&bindRequest=x"),
            StatusCode::BAD_REQUEST,
            "notification_malformed",
        ),
        (
            format!(
                "bindRequest={}&SigAlg={alg}&Signature={sig}",
                "A".repeat(9000)
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "notification_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let before = env.snapshot().await;
        let res = env.post_form(URL, &body, None).await;
        assert_eq!(
            (res.status, res.error_code().as_str()),
            (status, code),
            "{body:.120}"
        );
        assert!(res.header("location").is_none());
        assert_eq!(env.snapshot().await, before, "{code}");
    }
    // Incomplete payloads, correctly signed.
    for payload in [
        json!({"domainId": "d", "bindAction": 0}),
        json!({"xUserId": "u", "bindAction": 0}),
        json!({"xUserId": "u", "domainId": "d"}),
        json!({"xUserId": "u", "domainId": "d", "bindAction": 7}),
    ] {
        let (body, _) = notification(&env, &payload, Over::Base64);
        let res = env.post_form(URL, &body, None).await;
        assert_eq!(
            (res.status, res.error_code().as_str()),
            (StatusCode::BAD_REQUEST, "notification_incomplete"),
            "{payload}"
        );
    }
    // Wrong content type and unknown site.
    let res = call(
        &env.router,
        axum::http::Request::post(URL)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(good.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = env.post_form("/huawei/mars/bind-result", &good, None).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::NOT_FOUND, "unknown_site")
    );
    assert_eq!(
        env.api("GET", "/api/v1/sites/cn/mappings/victim", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
both_backends!(refused_notifications_change_nothing);

async fn continuation_expires(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = jumped(
        &env,
        json!({"x_user_id": "late", "service": "https://activity.sp.test/late"}),
    )
    .await;
    let (body, _) = notification(&env, &bind("late", "dom-late"), Over::Base64);
    let next = continue_url(&env.post_form(URL, &body, None).await);
    env.clock.advance(time::Duration::minutes(6));
    assert_eq!(
        env.get(&next, Some(&cookie)).await.location(),
        PARTNER_LANDING
    );
    // A continuation is for its own site only, single-use, and a forged one goes nowhere.
    let (body, _) = notification(&env, &bind("late", "dom-late"), Over::Json);
    let next = continue_url(&env.post_form(URL, &body, None).await);
    let other_site = next.replace("/huawei/cn/", "/huawei/intl/");
    assert_eq!(
        env.get(&other_site, Some(&cookie)).await.location(),
        PARTNER_LANDING
    );
    assert_eq!(
        env.get("/huawei/cn/bind-result/continue?c=forged", Some(&cookie))
            .await
            .location(),
        PARTNER_LANDING
    );
    assert_eq!(mapping_status(&env, "late").await, StatusCode::NOT_FOUND);
}
both_backends!(continuation_expires);

async fn conflicts_and_unbinds(b: Backend) {
    let env = TestEnv::new(b).await;
    assert_eq!(
        env.put_mapping("owner", "dom-owned", "owner_01")
            .await
            .status,
        StatusCode::CREATED
    );
    // A Huawei account bound to another user: refused, nothing changed (the jump stays for the
    // real notification, so a stale one cannot use it up).
    let intruder = jumped(&env, json!({"x_user_id": "intruder"})).await;
    let (body, _) = notification(&env, &bind("intruder", "dom-owned"), Over::Base64);
    let res = deliver(&env, &body, Some(&intruder)).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::CONFLICT, "domain_already_bound")
    );
    assert!(res.body.contains("请求编号") || res.body.contains("Request id"));
    assert_eq!(
        mapping_status(&env, "intruder").await,
        StatusCode::NOT_FOUND
    );
    let (body, _) = notification(&env, &bind("intruder", "dom-intruder"), Over::Base64);
    let res = deliver(&env, &body, Some(&intruder)).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.body);
    assert_eq!(mapping_status(&env, "intruder").await, StatusCode::OK);

    // Unbind naming another domain than the stored one: refused, nothing changed.
    let owner = jumped(&env, json!({"x_user_id": "owner"})).await;
    let mut unbind = bind("owner", "dom-other");
    unbind["bindAction"] = json!("1");
    let (body, _) = notification(&env, &unbind, Over::Base64);
    let res = deliver(&env, &body, Some(&owner)).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::CONFLICT, "mapping_mismatch")
    );
    assert_eq!(mapping_status(&env, "owner").await, StatusCode::OK);

    // Unbind of the stored domain (the refused one left the jump) removes it.
    unbind["domainId"] = json!("dom-owned");
    let (body, _) = notification(&env, &unbind, Over::Json);
    assert_eq!(
        deliver(&env, &body, Some(&owner)).await.status,
        StatusCode::FOUND
    );
    assert_eq!(mapping_status(&env, "owner").await, StatusCode::NOT_FOUND);
    let events = env.api("GET", "/api/v1/events", None).await.json();
    assert_eq!(events["events"][2]["kind"], "unbound");
    // Unbind of nothing, with a jump, is a no-op success.
    let never = jumped(&env, json!({"x_user_id": "never-bound"})).await;
    let mut absent = unbind.clone();
    absent["xUserId"] = json!("never-bound");
    let (body, _) = notification(&env, &absent, Over::Base64);
    assert_eq!(
        deliver(&env, &body, Some(&never)).await.status,
        StatusCode::FOUND
    );
}
both_backends!(conflicts_and_unbinds);

#[tokio::test]
async fn huawei_published_example_is_accepted() {
    // The only published example (docs/protocol.md §Bind-result); bindAction 1 = unbind of a
    // mapping that does not exist here, so it is a no-op success.
    let env = TestEnv::new(Backend::Memory).await;
    let example = "eyJkb21haW5OYW1lIjoieW9uZ3poaSIsImRvbWFpbklkIjoieW9uZ3poaWlkIiwieFVzZXJJZCI6Inlvbmd6aGl4IiwiYmluZEFjdGlvbiI6MX0=";
    let mut s = Signer::new(MessageDigest::sha256(), &env.sp.key).unwrap();
    s.update(example.as_bytes()).unwrap();
    let body = format!(
        "bindRequest={}&SigAlg={}&Signature={}",
        uri_component(example),
        uri_component(RSA_SHA256),
        uri_component(&STANDARD.encode(s.sign_to_vec().unwrap()))
    );
    assert_eq!(
        env.post_form(URL, &body, None).await.status,
        StatusCode::SEE_OTHER
    );
}

async fn a_jump_dies_with_its_session(b: Backend) {
    // The GET step checks the session, then applies: a logout landing in between must not let
    // the notification through. The store's check-and-consume requires the session itself.
    use sso_bridge::store::{BindOutcome, Change, MappingFields, MappingSource, UnbindOutcome};
    let env = TestEnv::new(b).await;
    let cookie = jumped(&env, json!({"x_user_id": "ended"})).await;
    let digest = sso_bridge::random::SecretDigest::of(&cookie);
    env.bridge.store.delete_session(&digest).await.unwrap();
    let (site, user) = (
        sso_bridge::config::SiteName::parse("cn").unwrap(),
        sso_bridge::huawei::fields::XUserId::parse("ended").unwrap(),
    );
    let change = Change {
        site: &site,
        x_user_id: &user,
        source: MappingSource::BindNotification,
        actor: "huawei",
        now: env.now().unix_timestamp(),
    };
    let fields = MappingFields {
        domain_id: sso_bridge::huawei::fields::DomainId::parse("dom-ended").unwrap(),
        domain_name: None,
        user_id: None,
        user_name: None,
    };
    let store = &env.bridge.store;
    assert!(matches!(
        store
            .bind_mapping(&change, &fields, Some(&digest))
            .await
            .unwrap(),
        BindOutcome::NoJump
    ));
    assert!(matches!(
        store
            .unbind_mapping(&change, None, Some(&digest))
            .await
            .unwrap(),
        UnbindOutcome::NoJump
    ));
    assert_eq!(mapping_status(&env, "ended").await, StatusCode::NOT_FOUND);
}
both_backends!(a_jump_dies_with_its_session);

async fn a_notification_posted_again_stores_nothing_more(b: Backend) {
    // A captured notification replayed in a loop: one continuation outstanding at a time (the
    // latest), so the store cannot be filled with it, and a copy posted ahead of the customer's
    // own POST cannot take the customer's place.
    let env = TestEnv::new(b).await;
    let cookie = jumped(&env, json!({"x_user_id": "looped"})).await;
    let (body, _) = notification(&env, &bind("looped", "dom-looped"), Over::Base64);
    let attacker = continue_url(&env.post_form(URL, &body, None).await);
    let keys = env.snapshot().await.len();
    for _ in 0..20 {
        continue_url(&env.post_form(URL, &body, None).await);
    }
    assert_eq!(env.snapshot().await.len(), keys, "resubmissions piled up");
    // The customer's own POST, then its GET step: applied.
    let customer = continue_url(&env.post_form(URL, &body, None).await);
    let landed = env.get(&customer, Some(&cookie)).await;
    assert_eq!(landed.status, StatusCode::FOUND, "{}", landed.body);
    assert_eq!(mapping_status(&env, "looped").await, StatusCode::OK);
    // The attacker's earlier continuation was replaced: it goes nowhere.
    assert_eq!(env.get(&attacker, None).await.location(), PARTNER_LANDING);
    // Random cookies in the GET step do not mint one unconfirmed event each.
    for _ in 0..5 {
        let next = continue_url(&env.post_form(URL, &body, None).await);
        let fake = sso_bridge::random::token().unwrap();
        assert_unconfirmed(&env.get(&next, Some(&fake)).await);
    }
    assert_eq!(unconfirmed(&env).await.len(), 1);
}
both_backends!(a_notification_posted_again_stores_nothing_more);
