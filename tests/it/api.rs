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
        (
            json!({"x_user_id": "u", "resume": "A".repeat(43)}),
            "resume",
        ),
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
