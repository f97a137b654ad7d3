//! Redis operations: several bridge processes sharing one Redis, and outages.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::http::StatusCode;
use serde_json::json;

use sso_bridge::clock::Clock;
use sso_bridge::flow::Bridge;
use sso_bridge::store::Store;
use sso_bridge::store::redis::RedisStore;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_are_interchangeable() {
    let env = TestEnv::new(Backend::Redis).await;
    let (_other_bridge, other) = env.sibling();
    // Ticket created on A, consumed on B; the session opened on B answers on A.
    let start = env.ticket(json!({"x_user_id": "shared-user"})).await;
    let res = get_on(&other, &start, None).await;
    assert_eq!(res.status, StatusCode::OK, "first-login confirmation");
    let cookie = res.session_cookie().unwrap();
    // The confirmation shown by B is accepted by A.
    let confirmed = env.confirm(&cookie, &res.body, "continue").await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    assert_eq!(
        env.get(&start, None).await.error_code(),
        "ticket_unknown",
        "used on B, refused on A"
    );

    let query = env.signed(&env.authn(), None);
    let answered = env.get(&format!("/saml/sso?{query}"), Some(&cookie)).await;
    assert!(answered.saml_post().0.contains(">shared-user<"));
    // The same AuthnRequest ID arriving at the other process is a replay.
    let replay = get_on(&other, &format!("/saml/sso?{query}"), Some(&cookie)).await;
    assert_eq!(
        (replay.status, replay.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "replayed_request")
    );

    // A request parked on B is resumed through A.
    let parked = get_on(
        &other,
        &format!("/saml/sso?{}", env.signed(&env.authn(), None)),
        None,
    )
    .await;
    let resume = query_param(&parked.location(), "resume").unwrap();
    let start = env
        .ticket(json!({"x_user_id": "resumed", "resume": resume}))
        .await;
    assert!(
        env.redeem(&start)
            .await
            .0
            .saml_post()
            .0
            .contains(">resumed<")
    );
}

/// A private redis-server on a free port, stopped on drop.
pub struct PrivateRedis {
    child: Option<Child>,
    pub port: u16,
    dir: TempDir,
    extra: Vec<String>,
}

impl PrivateRedis {
    pub fn start(extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = Self {
            child: None,
            port,
            dir: TempDir::new("redis"),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        r.restart();
        r
    }

    /// Starts (again) on the same port and directory.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(StdDuration::from_millis(50));
        }
        panic!("private redis-server did not start");
    }

    /// Kills the server (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_gives_503_and_recovers() {
    let mut redis = PrivateRedis::start(&["--appendonly", "no"]);
    let env = TestEnv::new(Backend::Memory).await;
    let store = Store::Redis(RedisStore::connect(&redis.url(), "outage").unwrap());
    let bridge = Arc::new(
        Bridge::new(
            env.settings.clone(),
            store,
            env.clock.clone() as Arc<dyn Clock>,
        )
        .unwrap(),
    );
    let router = sso_bridge::web::router(bridge);
    let body = json!({"x_user_id": "u"}).to_string();
    let ok = post_json(&router, "/api/v1/login-tickets", Some(API_KEY), &body).await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let start = ok.json()["url"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned();
    assert_eq!(
        get_on(&router, "/readyz", None).await.status,
        StatusCode::OK
    );

    redis.kill();
    let down = post_json(&router, "/api/v1/login-tickets", Some(API_KEY), &body).await;
    assert_eq!(
        (down.status, down.error_code().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    );
    let page = get_on(&router, &start, None).await;
    assert_eq!(
        (page.status, page.error_code().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    );
    assert!(page.header("set-cookie").is_none());
    assert!(page.body.contains("Service") || page.body.contains("服务暂时不可用"));
    let sso = get_on(
        &router,
        &format!("/saml/sso?{}", env.signed(&env.authn(), None)),
        None,
    )
    .await;
    assert_eq!(sso.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        get_on(&router, "/readyz", None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        get_on(&router, "/healthz", None).await.status,
        StatusCode::OK
    );

    // Redis comes back on the same port: the bridge recovers without a restart.
    redis.restart();
    let mut recovered = false;
    for _ in 0..50 {
        if get_on(&router, "/readyz", None).await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    assert!(recovered, "bridge did not recover after Redis came back");
    let again = post_json(&router, "/api/v1/login-tickets", Some(API_KEY), &body).await;
    assert_eq!(again.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_mapping_survives_redis_sigkill() {
    let mut redis = PrivateRedis::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let env = TestEnv::new(Backend::Memory).await;
    let url = redis.url();
    let connect = || {
        let store = Store::Redis(RedisStore::connect(&url, "durable").unwrap());
        let bridge = Arc::new(
            Bridge::new(
                env.settings.clone(),
                store,
                env.clock.clone() as Arc<dyn Clock>,
            )
            .unwrap(),
        );
        sso_bridge::web::router(bridge)
    };
    let router = connect();
    let body = json!({"domain_id": "durable-domain", "domain_name": "durable_01"}).to_string();
    let put = axum::http::Request::put("/api/v1/sites/cn/mappings/durable-user")
        .header("authorization", format!("Bearer {API_KEY}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let res = call(&router, put).await;
    assert_eq!(res.status, StatusCode::CREATED);
    let acknowledged = res.json();

    // SIGKILL: no chance to flush anything that was not already on disk.
    redis.kill();
    redis.restart();
    let router = connect();
    let get = |uri: &str| {
        axum::http::Request::get(uri)
            .header("authorization", format!("Bearer {API_KEY}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let mut found = None;
    for _ in 0..50 {
        let res = call(&router, get("/api/v1/sites/cn/mappings/durable-user")).await;
        if res.status != StatusCode::SERVICE_UNAVAILABLE {
            found = Some(res);
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let res = found.expect("Redis came back");
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json(), acknowledged);
    let reverse = call(
        &router,
        get("/api/v1/sites/cn/mappings?domain_id=durable-domain"),
    )
    .await
    .json();
    assert_eq!(reverse["mappings"][0]["x_user_id"], "durable-user");
    let events = call(&router, get("/api/v1/events")).await.json();
    assert_eq!(events["events"][0]["kind"], "bound");
}
