//! Huawei's bind-result notification, in both backends.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::sign::Signer;
use serde_json::json;
use sso_bridge::saml::redirect::uri_component;

use crate::both_backends;
use crate::support::*;

const URL: &str = "/huawei/cn/bind-result";

/// What the signature covers.
#[derive(Clone, Copy)]
enum Over {
    Base64,
    Json,
}

/// A form body as Huawei's browser redirect would POST it.
fn notification(env: &TestEnv, payload: &serde_json::Value, over: Over) -> (String, String) {
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

fn bind(uid: &str, domain: &str) -> serde_json::Value {
    json!({"domainName": "huawei_name", "domainId": domain, "xUserId": uid, "bindAction": 0, "userName": "iam-user", "userId": "iam-id", "newField": {"x": 1}})
}

fn continue_url(res: &TestResponse) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let loc = res.location();
    assert!(
        loc.starts_with(&format!("{PUBLIC_URL}/huawei/cn/bind-result/continue?c=")),
        "{loc}"
    );
    assert!(res.header("set-cookie").is_none());
    loc.strip_prefix(PUBLIC_URL).unwrap().to_owned()
}

async fn bind_with_session_goes_to_service(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = env
        .login(json!({"x_user_id": "buyer", "service": "https://activity.sp.test/promo"}))
        .await;
    let (body, _) = notification(&env, &bind("buyer", "dom-buyer"), Over::Base64);
    // Huawei's cross-site POST carries no SameSite=Lax cookie.
    let res = env.post_form(URL, &body, None).await;
    let next = continue_url(&res);
    let landed = env.get(&next, Some(&cookie)).await;
    assert_eq!(landed.status, StatusCode::FOUND);
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

    // The next jump is no longer a first login.
    let start = env.ticket(json!({"x_user_id": "buyer"})).await;
    let loc = env.get(&start, None).await.location();
    assert_eq!(query_param(&loc, "isFirstLogin").as_deref(), Some("false"));
}
both_backends!(bind_with_session_goes_to_service);

async fn bind_without_matching_session_goes_to_landing(b: Backend) {
    let env = TestEnv::new(b).await;
    let (body, _) = notification(&env, &bind("nobody-here", "dom-x"), Over::Json);
    let next = continue_url(&env.post_form(URL, &body, None).await);
    let res = env.get(&next, None).await;
    assert_eq!(res.location(), PARTNER_LANDING);
    // A session of another user does not pick the target either.
    let other = env
        .login(json!({"x_user_id": "someone-else", "service": "https://activity.sp.test/x"}))
        .await;
    let (body, _) = notification(&env, &bind("nobody-here-2", "dom-y"), Over::Base64);
    let next = continue_url(&env.post_form(URL, &body, None).await);
    assert_eq!(
        env.get(&next, Some(&other)).await.location(),
        PARTNER_LANDING
    );
    // The continuation is single-use; a forged one goes to the landing page.
    assert_eq!(
        env.get(&next, Some(&other)).await.location(),
        PARTNER_LANDING
    );
    assert_eq!(
        env.get("/huawei/cn/bind-result/continue?c=forged", None)
            .await
            .location(),
        PARTNER_LANDING
    );
    assert_eq!(
        env.api("GET", "/api/v1/sites/cn/mappings/nobody-here", None)
            .await
            .status,
        StatusCode::OK
    );
}
both_backends!(bind_without_matching_session_goes_to_landing);

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

async fn replay_changes_nothing(b: Backend) {
    let env = TestEnv::new(b).await;
    let (body, _) = notification(&env, &bind("replayed", "dom-r"), Over::Base64);
    continue_url(&env.post_form(URL, &body, None).await);
    // The partner unbinds through the API; replaying Huawei's old notification must not re-bind.
    assert_eq!(
        env.api("DELETE", "/api/v1/sites/cn/mappings/replayed", None)
            .await
            .status,
        StatusCode::OK
    );
    let before = env.snapshot().await;
    let res = env.post_form(URL, &body, None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let after = env.snapshot().await;
    // Only the new continuation appears.
    let new: Vec<&String> = after.iter().filter(|k| !before.contains(k)).collect();
    assert!(new.iter().all(|k| k.contains("continuation")), "{new:?}");
    assert_eq!(
        env.api("GET", "/api/v1/sites/cn/mappings/replayed", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
both_backends!(replay_changes_nothing);

async fn replay_signed_over_json_changes_nothing(b: Backend) {
    // With the JSON-bytes reading of the signature the Base64 text's surroundings are unsigned:
    // neither appended whitespace nor a plain replay may bind again.
    let env = TestEnv::new(b).await;
    let (body, _) = notification(&env, &bind("json-signed", "dom-j"), Over::Json);
    continue_url(&env.post_form(URL, &body, None).await);
    assert_eq!(
        env.api("DELETE", "/api/v1/sites/cn/mappings/json-signed", None)
            .await
            .status,
        StatusCode::OK
    );
    let before = env.snapshot().await;
    let padded = body.replacen("&SigAlg=", "+&SigAlg=", 1);
    let res = env.post_form(URL, &padded, None).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "notification_malformed")
    );
    assert_eq!(env.snapshot().await, before);
    assert_eq!(
        env.post_form(URL, &body, None).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        env.api("GET", "/api/v1/sites/cn/mappings/json-signed", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
both_backends!(replay_signed_over_json_changes_nothing);

async fn continuation_expires(b: Backend) {
    let env = TestEnv::new(b).await;
    let cookie = env
        .login(json!({"x_user_id": "late", "service": "https://activity.sp.test/late"}))
        .await;
    let (body, _) = notification(&env, &bind("late", "dom-late"), Over::Base64);
    let next = continue_url(&env.post_form(URL, &body, None).await);
    env.clock.advance(time::Duration::minutes(6));
    assert_eq!(
        env.get(&next, Some(&cookie)).await.location(),
        PARTNER_LANDING
    );
    // A continuation is for its own site only.
    let (body, _) = notification(&env, &bind("late", "dom-late"), Over::Json);
    let next = continue_url(&env.post_form(URL, &body, None).await);
    let other_site = next.replace("/huawei/cn/", "/huawei/intl/");
    assert_eq!(
        env.get(&other_site, Some(&cookie)).await.location(),
        PARTNER_LANDING
    );
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
    let before = env.snapshot().await;
    let (body, _) = notification(&env, &bind("intruder", "dom-owned"), Over::Base64);
    let res = env.post_form(URL, &body, None).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::CONFLICT, "domain_already_bound")
    );
    assert!(res.body.contains("请求编号") || res.body.contains("Request id"));
    assert_eq!(env.snapshot().await, before);

    // Unbind naming another domain than the stored one: refused, nothing changed.
    let mut unbind = bind("owner", "dom-other");
    unbind["bindAction"] = json!("1");
    let (body, _) = notification(&env, &unbind, Over::Base64);
    let res = env.post_form(URL, &body, None).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::CONFLICT, "mapping_mismatch")
    );
    assert_eq!(env.snapshot().await, before);

    // Unbind of the stored domain removes it; unbind of nothing is a no-op success.
    unbind["domainId"] = json!("dom-owned");
    let (body, _) = notification(&env, &unbind, Over::Json);
    assert_eq!(
        env.post_form(URL, &body, None).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        env.api("GET", "/api/v1/sites/cn/mappings/owner", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let events = env.api("GET", "/api/v1/events", None).await.json();
    assert_eq!(events["events"][1]["kind"], "unbound");
    let mut absent = unbind.clone();
    absent["xUserId"] = json!("never-bound");
    let (body, _) = notification(&env, &absent, Over::Base64);
    assert_eq!(
        env.post_form(URL, &body, None).await.status,
        StatusCode::SEE_OTHER
    );
}
both_backends!(conflicts_and_unbinds);

#[tokio::test]
async fn huawei_published_example_is_accepted() {
    // The only published example (spec §5.4); bindAction 1 = unbind of a mapping that does not
    // exist here, so it is a no-op success.
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
