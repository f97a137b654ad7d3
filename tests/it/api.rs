//! The login-ticket API: authentication, body limits and field rules.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::both_backends;
use crate::support::*;

async fn creates_tickets(b: Backend) {
    let env = TestEnv::new(b).await;
    let res = env
        .post_json(
            "/api/v1/login-tickets",
            Some(API_KEY),
            &json!({"x_user_id": "u1", "site": "cn"}).to_string(),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let body = res.json();
    let ticket = body["ticket"].as_str().unwrap();
    assert_eq!(ticket.len(), 43, "256-bit URL-safe token");
    assert_eq!(
        body["url"],
        format!("{PUBLIC_URL}/sso/start?ticket={ticket}")
    );
    assert_eq!(body["expires_in"], 60);
    // Tickets are stored only as digests.
    for key in env.snapshot().await {
        assert!(!key.contains(ticket));
    }
}
both_backends!(creates_tickets);

#[tokio::test]
async fn refuses_missing_or_wrong_keys() {
    let env = TestEnv::new(Backend::Memory).await;
    let body = json!({"x_user_id": "u"}).to_string();
    for key in [
        None,
        Some("wrong-key-0123456789"),
        Some(""),
        Some(&API_KEY[..API_KEY.len() - 1]),
    ] {
        let res = env.post_json("/api/v1/login-tickets", key, &body).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(res.error_code(), "unauthorized");
        assert_eq!(res.header("www-authenticate").as_deref(), Some("Bearer"));
        assert!(res.json()["error"]["request_id"].is_string());
    }
    let basic = Request::post("/api/v1/login-tickets")
        .header(header::AUTHORIZATION, format!("Basic {API_KEY}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(
        call(&env.router, basic).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refuses_bad_bodies() {
    let env = TestEnv::new(Backend::Memory).await;
    let big = json!({"x_user_id": "u", "name": "x".repeat(20_000)}).to_string();
    let res = env
        .post_json("/api/v1/login-tickets", Some(API_KEY), &big)
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.error_code(), "body_too_large");
    let res = env
        .post_json("/api/v1/login-tickets", Some(API_KEY), "{not json")
        .await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );
    let res = env
        .post_json(
            "/api/v1/login-tickets",
            Some(API_KEY),
            r#"{"x_user_id": "u", "admin": true}"#,
        )
        .await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field")
    );
    let res = env
        .post_json(
            "/api/v1/login-tickets",
            Some(API_KEY),
            r#"{"name": "abcdef"}"#,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let form = Request::post("/api/v1/login-tickets")
        .header(header::AUTHORIZATION, format!("Bearer {API_KEY}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("x_user_id=u"))
        .unwrap();
    let res = call(&env.router, form).await;
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
}

#[tokio::test]
async fn validates_fields_with_clear_messages() {
    let env = TestEnv::new(Backend::Memory).await;
    let cases = [
        (json!({"x_user_id": ""}), "x_user_id"),
        (json!({"x_user_id": "a".repeat(129)}), "x_user_id"),
        (json!({"x_user_id": "a\u{0}b"}), "x_user_id"),
        (json!({"x_user_id": "a\nb"}), "x_user_id"),
        (json!({"x_user_id": " u1"}), "x_user_id"),
        (json!({"x_user_id": "u1\u{3000}"}), "x_user_id"),
        (json!({"x_user_id": "admin\u{202E}gpj.exe"}), "x_user_id"),
        (json!({"x_user_id": "u\u{200B}1"}), "x_user_id"),
        (json!({"x_user_id": "cafe\u{301}"}), "x_user_id"),
        (
            json!({"x_user_id": "u", "display_name": "Li\u{202E}Lei"}),
            "display_name",
        ),
        (json!({"x_user_id": "u", "email": "not-an-email"}), "email"),
        (json!({"x_user_id": "u", "mobile": "13812345678"}), "mobile"),
        (json!({"x_user_id": "u", "name": "op_admin"}), "name"),
        (json!({"x_user_id": "u", "site": "mars"}), "site"),
        (
            json!({"x_user_id": "u", "service": "https://evil.test/"}),
            "service",
        ),
        (
            json!({"x_user_id": "u", "service": "http://console.sp.test/"}),
            "service",
        ),
        (
            json!({"x_user_id": "u", "service": "//evil.test"}),
            "service",
        ),
        (json!({"x_user_id": "u", "resume": "not-a-state"}), "resume"),
    ];
    for (body, field) in cases {
        let before = env.snapshot().await;
        let res = env
            .post_json("/api/v1/login-tickets", Some(API_KEY), &body.to_string())
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(res.error_code(), "invalid_field");
        let message = res.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(field), "{message}");
        assert_eq!(env.snapshot().await, before);
    }
    // A well-formed resume whose parked request is gone: the resource is not there.
    let gone = env
        .post_json(
            "/api/v1/login-tickets",
            Some(API_KEY),
            &json!({"x_user_id": "u", "resume": "A".repeat(43)}).to_string(),
        )
        .await;
    assert_eq!(
        (gone.status, gone.error_code().as_str()),
        (StatusCode::NOT_FOUND, "resume_not_found")
    );
    // 128 characters of any script pass, as do empty optional fields.
    let res = env
        .post_json(
            "/api/v1/login-tickets",
            Some(API_KEY),
            &json!({"x_user_id": "字".repeat(128), "email": "", "mobile": ""}).to_string(),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

/// An unauthenticated client cannot make the bridge wait for (and buffer) a body: the key is
/// checked from the headers and the 401 comes while the body is still being sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_is_checked_before_the_body_is_read() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let env = TestEnv::new(Backend::Memory).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, env.router.clone()).into_future());
    for (method, path, auth) in [
        ("POST", "/api/v1/sites/cn/mapping-imports", ""),
        (
            "POST",
            "/api/v1/login-tickets",
            "Authorization: Bearer wrong-key-0123456789\r\n",
        ),
        ("PUT", "/api/v1/sites/cn/mappings/u1", ""),
    ] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/x-ndjson\r\nContent-Length: 4000000\r\n\r\n{{\"x_user_id\":"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect(
                "no answer while the body was pending: the body is read before the key is checked",
            )
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{path}: {answer}");
    }
    server.abort();
}

async fn each_api_key_is_rate_limited_and_recorded_on_its_tickets(b: Backend) {
    let second = "second-api-key-0123456789";
    let hash = sso_bridge::random::hex(&openssl::sha::sha256(second.as_bytes()));
    let mut o = EnvOptions::new(b);
    o.edit = Some(Box::new(move |c: String| {
        let c = c.replace(
            "api_key_sha256 = [\"",
            &format!("api_key_sha256 = [\"{hash}\", \""),
        );
        c.replace(
            "[partner]",
            "[limits]\napi_requests_per_minute_per_key = 5\n\n[partner]",
        )
    }));
    let env = TestEnv::with(o).await;
    let body = json!({"x_user_id": "limited"}).to_string();
    let mut start = String::new();
    for i in 0..5 {
        let res = env
            .post_json("/api/v1/login-tickets", Some(API_KEY), &body)
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "request {i}: {}", res.body);
        start = res.json()["url"].as_str().unwrap().replace(PUBLIC_URL, "");
    }
    let limited = env
        .post_json("/api/v1/login-tickets", Some(API_KEY), &body)
        .await;
    assert_rate_limited(&limited);
    // Every operation counts; another key has its own allowance.
    assert_eq!(
        env.api("GET", "/api/v1/events", None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let other = env
        .post_json("/api/v1/login-tickets", Some(second), &body)
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
    // The key's id (never the key) is kept with the ticket and the session it opens.
    let res = env.get(&start, None).await;
    let cookie = res.session_cookie().unwrap();
    let digest = sso_bridge::random::SecretDigest::of(&cookie);
    let session = env
        .bridge
        .store
        .get_session(&digest)
        .await
        .unwrap()
        .unwrap();
    let key_hash = sso_bridge::random::hex(&openssl::sha::sha256(API_KEY.as_bytes()));
    assert_eq!(session.issued_by, Some(format!("api:{}", &key_hash[..8])));
}
both_backends!(each_api_key_is_rate_limited_and_recorded_on_its_tickets);
