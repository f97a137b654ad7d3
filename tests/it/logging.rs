//! What reaches the log: a whole run with marker values in every personal field (an e-mail and
//! a phone number as partner user ids, names, e-mail, mobile, a bind notification), logged at
//! TRACE, and none of the markers may appear in any line.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::StatusCode;
use serde_json::json;

use crate::bind_result::{Over, bind, continue_url, notification};
use crate::support::*;

const EMAIL_ID: &str = "marker.user@example.com";
const PHONE_ID: &str = "13800138000";
const DISPLAY: &str = "MarkerDisplay显示名";
const NAME: &str = "markername01";
const EMAIL: &str = "marker.mail@example.org";
const MOBILE: &str = "0086-13912345678";
const DOMAIN: &str = "markerdomainid0001";

/// A `Write` into a shared buffer, for the subscriber's writer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide log capture (the bridge logs from worker threads and blocking tasks too, so
/// a thread-local subscriber would miss lines). Installed once; a test reads what it appended.
fn capture() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

async fn run_with_markers(b: Backend) -> String {
    let captured = capture();
    let from = captured.0.lock().unwrap().len();

    let env = TestEnv::new(b).await;
    // The API with ids in the path: created, read, refused, listed, removed.
    let res = env.put_mapping(EMAIL_ID, DOMAIN, "markerdomname").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let path = format!("/api/v1/sites/cn/mappings/{EMAIL_ID}");
    assert_eq!(env.api("GET", &path, None).await.status, StatusCode::OK);
    let missing = format!("/api/v1/sites/cn/mappings/{PHONE_ID}?x={MOBILE}");
    assert_eq!(
        env.api("GET", &missing, None).await.status,
        StatusCode::NOT_FOUND
    );
    let bad = json!({"x_user_id": format!(" {EMAIL_ID}"), "display_name": DISPLAY});
    let res = env
        .post_json("/api/v1/login-tickets", Some(API_KEY), &bad.to_string())
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    // Bodies serde refuses while quoting them: a value where an object belongs, a personal
    // value as a field name, a number where a string belongs.
    for body in [
        format!("\"{EMAIL}\""),
        format!("{{\"x_user_id\":\"u\",\"{MOBILE}\":1}}"),
        format!("{{\"x_user_id\":{}}}", &MOBILE[5..]),
    ] {
        let res = env
            .post_json("/api/v1/login-tickets", Some(API_KEY), &body)
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    }
    assert_eq!(env.api("DELETE", &path, None).await.status, StatusCode::OK);

    // A first login with every personal field, confirmed, answered, then bound by Huawei.
    let ticket = json!({
        "x_user_id": PHONE_ID, "display_name": DISPLAY, "name": NAME,
        "email": EMAIL, "mobile": MOBILE,
    });
    let cookie = env.login(ticket).await;
    env.fresh_sso(Some(&cookie)).await.saml_post();
    let (body, _) = notification(&env, &bind(PHONE_ID, DOMAIN), Over::Base64);
    let next = continue_url(&env.post_form("/huawei/cn/bind-result", &body, None).await);
    let landed = env.get(&next, Some(&cookie)).await;
    assert_eq!(landed.status, StatusCode::FOUND, "{}", landed.body);
    // The same notification again: refused, kept as an unconfirmed event.
    let next = continue_url(&env.post_form("/huawei/cn/bind-result", &body, None).await);
    assert_eq!(env.get(&next, None).await.status, StatusCode::CONFLICT);
    assert_eq!(
        env.api("GET", "/api/v1/events", None).await.status,
        StatusCode::OK
    );
    // Personal data put where a query parameter's name goes: refused without quoting it.
    let misplaced = format!("/api/v1/sites/cn/mappings?{EMAIL}=1&{MOBILE}=2");
    let res = env.api("GET", &misplaced, None).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !res.body.contains(EMAIL) && !res.body.contains(MOBILE),
        "{}",
        res.body
    );
    let sessions = format!("/api/v1/users/{PHONE_ID}/sessions");
    assert_eq!(
        env.api("DELETE", &sessions, None).await.status,
        StatusCode::OK
    );
    String::from_utf8(captured.0.lock().unwrap()[from..].to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_in_the_log() {
    for b in [Backend::Memory, Backend::Redis] {
        no_personal_data_in_the_log_of(b).await;
    }
}

async fn no_personal_data_in_the_log_of(b: Backend) {
    let log = run_with_markers(b).await;
    // The run was logged, with route templates in place of paths.
    assert!(
        log.contains("route=/api/v1/sites/{site}/mappings/{x_user_id}"),
        "{log}"
    );
    assert!(
        log.contains("route=/huawei/{site}/bind-result/continue"),
        "{log}"
    );
    assert!(log.contains("request refused"), "{log}");
    for marker in [
        EMAIL_ID,
        PHONE_ID,
        DISPLAY,
        NAME,
        EMAIL,
        MOBILE,
        DOMAIN,
        "markerdomname",
    ] {
        for line in log.lines() {
            assert!(!line.contains(marker), "{marker} logged: {line}");
        }
    }
    // Nor their parts (the local part of an address, a name without its script).
    for part in [
        "marker.user",
        "marker.mail",
        "MarkerDisplay",
        "markername",
        "显示名",
    ] {
        assert!(!log.contains(part), "{part} logged");
    }
}
