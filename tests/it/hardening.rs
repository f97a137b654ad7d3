//! Defences found in review, each with a test that fails without it: two sites kept apart, HEAD
//! never consuming a login, IsPassive refused without writing, the Issuer Format check, the CSP
//! hash matching the one inline script, weak SP keys refused, the Redis idle timeout, secrets
//! stored only as digests.

use std::time::Duration as StdDuration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::both_backends;
use crate::support::*;

#[tokio::test]
async fn sites_are_kept_apart_and_resume_picks_the_site() {
    let (env, sp2) = TestEnv::two_sites(Backend::Memory).await;

    let sp2_request = |env: &TestEnv| {
        let mut spec = env.authn();
        spec.issuer = SP2_ENTITY.into();
        spec.acs_url = Some(SP2_ACS.into());
        signed_query(&sp2.key, &spec.xml(), None)
    };
    // A session opened for the China site does not answer the International SP.
    let cn_cookie = env.login(json!({"x_user_id": "u1"})).await;
    let parked = env
        .get(
            &format!("/saml/sso?{}", sp2_request(&env)),
            Some(&cn_cookie),
        )
        .await;
    assert_eq!(parked.status, StatusCode::FOUND);
    let resume = query_param(&parked.location(), "resume").unwrap();
    // The partner omits `site`: the parked request decides it.
    let start = env
        .ticket(json!({"x_user_id": "u1", "resume": resume}))
        .await;
    let (xml, _) = env.redeem(&start).await.0.saml_post();
    assert!(xml.contains(&format!("Destination=\"{SP2_ACS}\"")));
    assert!(xml.contains(&format!("<saml2:Audience>{SP2_ENTITY}</saml2:Audience>")));
    // Naming the other site for that state is refused.
    let parked = env
        .get(&format!("/saml/sso?{}", sp2_request(&env)), None)
        .await;
    let resume = query_param(&parked.location(), "resume").unwrap();
    let res = env
        .post_json(
            "/api/v1/login-tickets",
            Some(API_KEY),
            &json!({"x_user_id": "u1", "resume": resume, "site": "cn"}).to_string(),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("site:"));
    // A ticket for the second site goes to that site's login URL.
    let start = env.ticket(json!({"x_user_id": "u1", "site": "intl"})).await;
    assert!(
        env.redeem(&start)
            .await
            .0
            .location()
            .starts_with("https://auth-intl.sp.test/authui/saml/login?xAccountType=partnerIntl&")
    );
}

#[tokio::test]
async fn head_requests_consume_nothing() {
    let env = TestEnv::new(Backend::Memory).await;
    let start = env.ticket(json!({"x_user_id": "u"})).await;
    let query = env.signed(&env.authn(), None);
    for uri in [
        start.clone(),
        format!("/saml/sso?{query}"),
        "/saml/slo".into(),
    ] {
        let res = call(
            &env.router,
            Request::head(uri.as_str()).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
    }
    let redeemed = env.get(&start, None).await;
    assert_eq!(redeemed.status, StatusCode::OK, "ticket still valid");
    assert!(redeemed.body.contains("/sso/confirm"));
    assert_eq!(
        env.get(&format!("/saml/sso?{query}"), None).await.status,
        StatusCode::FOUND,
        "request ID unused"
    );
}

async fn passive_request_without_session_writes_nothing(b: Backend) {
    let env = TestEnv::new(b).await;
    let spec = env.authn();
    let passive = signed_query(
        &env.sp.key,
        &spec
            .xml()
            .replace("IsPassive=\"false\"", "IsPassive=\"true\""),
        None,
    );
    let before = env.snapshot().await;
    let res = env.get(&format!("/saml/sso?{passive}"), None).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "passive_not_possible")
    );
    assert_eq!(env.snapshot().await, before);
    // With a session the same request is answered.
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    assert_eq!(
        env.get(&format!("/saml/sso?{passive}"), Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
}
both_backends!(passive_request_without_session_writes_nothing);

#[tokio::test]
async fn issuer_format_must_be_entity() {
    let env = TestEnv::new(Backend::Memory).await;
    let spec = env.authn();
    let xml = spec.xml().replace("<saml2:Issuer xmlns:saml2", "<saml2:Issuer Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\" xmlns:saml2");
    let res = env
        .get(
            &format!("/saml/sso?{}", signed_query(&env.sp.key, &xml, None)),
            None,
        )
        .await;
    assert_eq!(res.error_code(), "unknown_issuer");
    let explicit = spec.xml().replace(
        "<saml2:Issuer xmlns:saml2",
        "<saml2:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\" xmlns:saml2",
    );
    let res = env
        .get(
            &format!("/saml/sso?{}", signed_query(&env.sp.key, &explicit, None)),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
}

#[tokio::test]
async fn csp_allows_exactly_the_inline_script() {
    let env = TestEnv::new(Backend::Memory).await;
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    let res = env.fresh_sso(Some(&cookie)).await;
    let start = res.body.find("<script>").unwrap() + 8;
    let end = res.body[start..].find("</script>").unwrap() + start;
    let hash = STANDARD.encode(openssl::sha::sha256(&res.body.as_bytes()[start..end]));
    let csp = res.header("content-security-policy").unwrap();
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}';")),
        "{csp}"
    );
    assert_eq!(
        csp.matches("'sha256-").count(),
        2,
        "one script and one style hash: {csp}"
    );
}

#[test]
fn weak_sp_keys_are_refused() {
    let dir = TempDir::new("weak-sp");
    let (key, cert) = sso_bridge::keys::generate(1024, 30, "weak sp").unwrap();
    let sp = TestSp { key, cert };
    let path = write_config(dir.path(), &sp.metadata(), "", Backend::Memory, "p");
    let e = sso_bridge::config::Settings::load(&path, &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("sites[0].sp_metadata_file:") && e.contains("2048"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_idle_timeout_is_refreshed_by_use() {
    let mut o = EnvOptions::new(Backend::Redis);
    o.edit = Some(Box::new(|c: String| {
        format!("{c}\n[sessions]\nidle_timeout_secs = 2\n")
    }));
    let env = TestEnv::with(o).await;
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    for _ in 0..2 {
        tokio::time::sleep(StdDuration::from_millis(1200)).await;
        let res = env.fresh_sso(Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::OK, "used within the idle timeout");
    }
    tokio::time::sleep(StdDuration::from_millis(3100)).await;
    let res = env.fresh_sso(Some(&cookie)).await;
    assert_eq!(
        res.status,
        StatusCode::FOUND,
        "idle session expired in Redis"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_holds_digests_not_secrets() {
    let env = TestEnv::new(Backend::Redis).await;
    let ticket_url = env.ticket(json!({"x_user_id": "u"})).await;
    let ticket = ticket_url.rsplit('=').next().unwrap().to_owned();
    let res = env.get(&ticket_url, None).await;
    let cookie = res.session_cookie().unwrap();
    let parked = env.fresh_sso(None).await;
    let state = query_param(&parked.location(), "resume").unwrap();
    let dump = redis_snapshot(&env.prefix).await.join("\n");
    for secret in [&ticket, &cookie, &state] {
        assert!(
            !dump.contains(secret.as_str()),
            "a secret is stored in clear"
        );
    }
    assert!(dump.contains(&sso_bridge::random::token_digest(&cookie)));
}

async fn refused_request_does_not_refresh_the_session(b: Backend) {
    // A replayed request is refused before it can restart the session's idle timer, and leaves
    // the store as it was. (The timer itself is checked on the memory clock here and with PTTL in
    // `redis_replay_does_not_restart_the_idle_timer`.)
    let mut o = EnvOptions::new(b);
    o.edit = Some(Box::new(|c: String| {
        format!("{c}\n[sessions]\nidle_timeout_secs = 60\n")
    }));
    let env = TestEnv::with(o).await;
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    let q = env.signed(&env.authn(), None);
    assert_eq!(
        env.get(&format!("/saml/sso?{q}"), Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    env.clock.advance(time::Duration::seconds(30));
    let before = env.snapshot().await;
    let replay = env.get(&format!("/saml/sso?{q}"), Some(&cookie)).await;
    assert_eq!(replay.error_code(), "replayed_request");
    assert_eq!(env.snapshot().await, before);
    if b == Backend::Memory {
        env.clock.advance(time::Duration::seconds(31));
        let res = env.fresh_sso(Some(&cookie)).await;
        assert_eq!(
            res.status,
            StatusCode::FOUND,
            "the replay must not have restarted the idle timer"
        );
    }
}
both_backends!(refused_request_does_not_refresh_the_session);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_replay_does_not_restart_the_idle_timer() {
    let env = TestEnv::new(Backend::Redis).await;
    let cookie = env.login(json!({"x_user_id": "u"})).await;
    let key = format!(
        "{}:session:{}",
        env.prefix,
        sso_bridge::random::token_digest(&cookie)
    );
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let q = env.signed(&env.authn(), None);
    assert_eq!(
        env.get(&format!("/saml/sso?{q}"), Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    let before: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        env.get(&format!("/saml/sso?{q}"), Some(&cookie))
            .await
            .error_code(),
        "replayed_request"
    );
    let after: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        after <= before,
        "replay restarted the idle timer: {before} -> {after}"
    );
    assert!(after < 1800 * 1000 - 1000);
}

async fn parked_requests_are_capped(b: Backend) {
    // A flood of validly signed, sessionless AuthnRequests (anyone can make Huawei mint them)
    // parks at most `max_parked_requests`; beyond it the answer is 503 and nothing is stored.
    let mut o = EnvOptions::new(b);
    o.edit = Some(Box::new(|c: String| {
        c.replace(
            "[partner]",
            "[sessions]\nmax_parked_requests = 100\n\n[partner]",
        )
    }));
    let env = TestEnv::with(o).await;
    let cookie = env.login(serde_json::json!({"x_user_id": "regular"})).await;
    let mut resume = String::new();
    for i in 0..100 {
        let res = env.fresh_sso(None).await;
        assert_eq!(res.status, StatusCode::FOUND, "request {i}: {}", res.body);
        resume = query_param(&res.location(), "resume").unwrap();
    }
    let before = env.snapshot().await;
    let full = env.fresh_sso(None).await;
    assert_eq!(
        (full.status, full.error_code().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "server_busy"),
        "{}",
        full.body
    );
    assert_eq!(full.header("retry-after").as_deref(), Some("30"));
    assert_eq!(
        env.snapshot().await,
        before,
        "a refused request stored something"
    );
    // A customer who just jumped from this bridge is still answered.
    assert_eq!(env.fresh_sso(Some(&cookie)).await.status, StatusCode::OK);
    // A parked request that is answered frees its slot at once.
    let start = env
        .ticket(serde_json::json!({"x_user_id": "resumed", "resume": resume}))
        .await;
    let (answered, _) = env.redeem(&start).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    assert_eq!(env.fresh_sso(None).await.status, StatusCode::FOUND);
    assert_eq!(
        env.fresh_sso(None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Slots free up when parked requests expire.
    env.clock
        .advance(env.settings.lifetimes.pending_request + time::Duration::seconds(1));
    assert_eq!(env.fresh_sso(None).await.status, StatusCode::FOUND);
}
both_backends!(parked_requests_are_capped);

async fn saml_requests_are_limited_per_client_address(b: Backend) {
    let mut o = EnvOptions::new(b);
    o.edit = Some(Box::new(|c: String| {
        c.replace(
            "[partner]",
            "[limits]\nsaml_requests_per_minute_per_client = 5\n\n[partner]",
        )
    }));
    let env = TestEnv::with(o).await;
    let from = |ip: [u8; 4], uri: &str| {
        Request::get(uri)
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                ip, 40000,
            ))))
            .body(Body::empty())
            .unwrap()
    };
    let sso = |env: &TestEnv| format!("/saml/sso?{}", env.signed(&env.authn(), None));
    for i in 0..5 {
        let res = call(&env.router, from([192, 0, 2, 1], &sso(&env))).await;
        assert_eq!(res.status, StatusCode::FOUND, "request {i}: {}", res.body);
    }
    let before = env.snapshot().await;
    let limited = call(&env.router, from([192, 0, 2, 1], &sso(&env))).await;
    assert_rate_limited(&limited);
    assert_eq!(
        env.snapshot().await,
        before,
        "a limited request stored something"
    );
    // Logout requests count against the same allowance; another address has its own.
    let slo = call(&env.router, from([192, 0, 2, 1], "/saml/slo")).await;
    assert_eq!(slo.status, StatusCode::TOO_MANY_REQUESTS);
    // So do bind-result notifications, refused before their body is read.
    let mut bind = from([192, 0, 2, 1], "/huawei/cn/bind-result");
    *bind.method_mut() = axum::http::Method::POST;
    assert_rate_limited(&call(&env.router, bind).await);
    let other = call(&env.router, from([192, 0, 2, 2], &sso(&env))).await;
    assert_eq!(other.status, StatusCode::FOUND, "{}", other.body);
}
both_backends!(saml_requests_are_limited_per_client_address);
