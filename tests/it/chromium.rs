//! End-to-end in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`,
//! installed by scripts/install-test-deps.sh) drives `sso-bridge demo` through WebDriver.
//! Screenshots of every step go to `target/e2e-screenshots/`; the assertions are on page content.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use huawei_sim::http_client;
use serde_json::{Value, json};

use crate::support::TempDir;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn screenshots_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo.join("target"));
    let dir = if target.is_absolute() {
        target
    } else {
        repo.join(target)
    }
    .join("e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo binary on free ports: (process, partner URL, bridge URL, simulator URL, API key).
fn start_demo() -> (Proc, String, String, String, String) {
    let ports = format!("{},{},{}", free_port(), free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sso-bridge"))
        .args(["demo", "--ports", &ports, "--ticket-ttl", "5"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut partner, mut bridge, mut sim) = (String::new(), String::new(), String::new());
    let mut api_key = String::new();
    while partner.is_empty() {
        let line = lines.next().expect("demo exited").unwrap();
        if let Some(rest) = line.trim().strip_prefix("partner API key") {
            api_key = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(|u| u.trim_end_matches('/').to_owned());
        match url {
            Some(u) if line.contains("sso-bridge") => {
                bridge = u.trim_end_matches("/saml/metadata").to_owned()
            }
            Some(u) if line.contains("Huawei simulator") => sim = u,
            Some(u) if line.starts_with("open ") => partner = u,
            _ => {}
        }
    }
    assert!(!api_key.is_empty(), "the demo printed no API key");
    (Proc(child), partner, bridge, sim, api_key)
}

/// A WebDriver session on headless Chromium.
struct Browser {
    driver: String,
    session: String,
    _chromedriver: Proc,
    _profile: TempDir,
    shots: PathBuf,
    prefix: &'static str,
}

/// Chromium's own processes (zygote, renderers) outlive a killed chromedriver; every one of them
/// carries this browser's unique profile directory on its command line, so they are killed by
/// it, also when a test fails.
impl Drop for Browser {
    fn drop(&mut self) {
        let profile = self._profile.path().display().to_string();
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &profile])
            .status();
    }
}

impl Browser {
    async fn start(prefix: &'static str, javascript: bool) -> Self {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: apt-get install chromium chromium-driver (scripts/test does it)"
            );
        }
        let port = free_port();
        let chromedriver = Proc(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let driver = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http_client::request("GET", &format!("{driver}/status"), &[], b"")
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = TempDir::new("chromium");
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--window-size=430,932".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM, "args": args, "prefs": {"intl.accept_languages": "en-US,en"}}}}});
        let mut b = Self {
            driver,
            session: String::new(),
            _chromedriver: chromedriver,
            _profile: profile,
            shots: screenshots_dir(),
            prefix,
        };
        let created = b.call("POST", "/session", Some(caps)).await;
        b.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        b
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = if path.starts_with("/session/") || path == "/session" {
            path.to_owned()
        } else {
            format!("/session/{}{path}", self.session)
        };
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let res = http_client::request(
            method,
            &format!("{}{path}", self.driver),
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await
        .unwrap();
        let v: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    async fn url(&self) -> String {
        self.call("GET", "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn text(&self) -> String {
        let body = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": "body"})),
            )
            .await;
        let id = body[ELEMENT].as_str().unwrap_or_default().to_owned();
        self.call("GET", &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until `css` matches, then returns the element id.
    async fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self
                .call(
                    "POST",
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {css} at {}:\n{}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        let id = self.wait_for(css).await;
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await;
    }

    async fn attribute(&self, css: &str, name: &str) -> String {
        let id = self.wait_for(css).await;
        self.call("GET", &format!("/element/{id}/attribute/{name}"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn shot(&self, step: &str) {
        let png = self.call("GET", "/screenshot", None).await;
        if let Some(b64) = png.as_str() {
            std::fs::write(
                self.shots.join(format!("{}-{step}.png", self.prefix)),
                STANDARD.decode(b64).unwrap(),
            )
            .unwrap();
        }
    }
}

async fn mapping(bridge: &str, api_key: &str, user: &str) -> (u16, Value) {
    let auth = format!("Bearer {api_key}");
    let res = http_client::request(
        "GET",
        &format!("{bridge}/api/v1/sites/cn/mappings/{user}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await
    .unwrap();
    (
        res.status,
        serde_json::from_slice(&res.body).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_journey_in_chromium() {
    let (_demo, partner, bridge, sim, api_key) = start_demo();
    let b = Browser::start("journey", true).await;

    b.goto(&format!("{partner}/")).await;
    b.wait_for("#login-demo-1001").await;
    b.shot("01-partner-login").await;
    b.click("#login-demo-1001").await;
    b.wait_for("#open-console").await;
    assert!(b.text().await.contains("Welcome"));
    b.shot("02-partner-home").await;

    // First jump: the bridge shows who is signing in and waits for the customer's click
    // (docs/security.md A16).
    b.click("#open-console").await;
    b.wait_for("#confirm-continue").await;
    let confirm = b.text().await;
    assert!(
        confirm.contains("Confirm sign-in to Huawei Cloud")
            && confirm.contains("张三 Zhang San")
            && confirm.contains("demo-1001")
            && confirm.contains("z***n@example.com"),
        "{confirm}"
    );
    assert!(b.url().await.starts_with(&format!("{bridge}/sso/start")));
    b.shot("03-bridge-confirm-first-login").await;
    b.click("#confirm-continue").await;

    // Huawei asks to create or link an account.
    b.wait_for("#create-account").await;
    assert!(b.text().await.contains("Create a new Huawei Cloud account"));
    b.shot("04-huawei-first-login-choice").await;

    // Create: the bind-result notification crosses the browser to the bridge, which sends the
    // customer on to the console.
    b.click("#create-account").await;
    b.wait_for("#x-user-id").await;
    let console = b.text().await;
    assert!(
        console.contains("demo-1001") && console.contains("isFirstLogin=true"),
        "{console}"
    );
    assert!(b.url().await.starts_with(&format!("{sim}/console")));
    b.shot("05-console-after-binding").await;
    let (status, m) = mapping(&bridge, &api_key, "demo-1001").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["source"], "bind_notification");

    // Second jump: straight in.
    b.goto(&format!("{partner}/")).await;
    b.click("#open-console").await;
    b.wait_for("#x-user-id").await;
    let console = b.text().await;
    assert!(console.contains("isFirstLogin=false"), "{console}");
    assert!(console.contains(m["domain_id"].as_str().unwrap()));
    b.shot("06-console-second-jump").await;

    // Log out at the console: single logout through the bridge.
    b.click("#logout").await;
    b.wait_for("#logout-result").await;
    assert!(b.text().await.contains("You have signed out"));
    b.shot("07-signed-out").await;
    // The IdP session is over: Huawei's next request lands on the partner login page.
    b.goto(&format!(
        "{sim}/authui/saml/login?xAccountType=demo-partner&isFirstLogin=false"
    ))
    .await;
    b.wait_for("#login-demo-1001").await;
    assert!(
        b.url()
            .await
            .starts_with(&format!("{partner}/login?resume="))
    );
    b.shot("08-login-required-again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_ticket_and_tampered_assertion_in_chromium() {
    let (_demo, partner, bridge, sim, api_key) = start_demo();

    // An expired ticket shows the bridge's error page (the demo runs with 5-second tickets).
    let b = Browser::start("errors", true).await;
    let auth = format!("Bearer {api_key}");
    let res = http_client::request(
        "POST",
        &format!("{bridge}/api/v1/login-tickets"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        br#"{"x_user_id":"demo-1003"}"#,
    )
    .await
    .unwrap();
    let url = serde_json::from_slice::<Value>(&res.body).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(6000)).await;
    b.goto(&url).await;
    let text = b.text().await;
    assert!(
        text.contains("This sign-in link has expired")
            && text.contains("ticket_expired")
            && text.contains("Request id"),
        "{text}"
    );
    b.shot("01-expired-ticket").await;

    // docs/security.md A16: someone sends the customer a ticket link for their own partner account.
    // The bridge shows whose account it is; "This is not me" ends that session, so Huawei's login
    // URL that the sender sends next gets no assertion either.
    let res = http_client::request(
        "POST",
        &format!("{bridge}/api/v1/login-tickets"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        br#"{"x_user_id":"demo-1003","display_name":"Wang Wu"}"#,
    )
    .await
    .unwrap();
    let url = serde_json::from_slice::<Value>(&res.body).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    b.goto(&url).await;
    b.wait_for("#confirm-cancel").await;
    let text = b.text().await;
    assert!(
        text.contains("Wang Wu") && text.contains("demo-1003"),
        "{text}"
    );
    b.shot("02-ticket-link-from-someone-else").await;
    b.click("#confirm-cancel").await;
    b.wait_for("#login-demo-1001").await;
    assert!(b.url().await.starts_with(&partner));
    b.goto(&format!(
        "{sim}/authui/saml/login?xAccountType=demo-partner&isFirstLogin=true"
    ))
    .await;
    b.wait_for("#login-demo-1001").await;
    assert!(
        b.url()
            .await
            .starts_with(&format!("{partner}/login?resume=")),
        "no session remains: {}",
        b.url().await
    );
    drop(b);

    // Without JavaScript the auto-POST page waits with a visible button; change one attribute
    // value in the assertion and post it: the simulated ACS refuses and says why.
    let b = Browser::start("tampered", false).await;
    b.goto(&format!("{partner}/")).await;
    b.click("#login-demo-1002").await;
    b.click("#open-console").await;
    b.click("#confirm-continue").await;
    b.wait_for("input[name=SAMLResponse]").await;
    assert!(b.text().await.contains("Continue"));
    b.shot("03-auto-post-without-javascript").await;
    let saml = b.attribute("input[name=SAMLResponse]", "value").await;
    let relay = b.attribute("input[name=RelayState]", "value").await;
    let xml = String::from_utf8(STANDARD.decode(&saml).unwrap()).unwrap();
    let tampered = STANDARD.encode(xml.replacen(">demo-1002<", ">demo-1001<", 2));
    let form = format!(
        "<form method=post action='{sim}/authui/saml/SAMLAssertionConsumer'><input type=hidden name=SAMLResponse value='{tampered}'><input type=hidden name=RelayState value='{relay}'><button id=send>send</button></form>"
    );
    b.goto(&format!(
        "data:text/html;charset=utf-8,{}",
        saml::redirect::uri_component(&form)
    ))
    .await;
    b.click("#send").await;
    b.wait_for("ul.checks").await;
    let text = b.text().await;
    assert!(
        text.contains("SAML Response rejected") && text.contains("digest does not match"),
        "{text}"
    );
    b.shot("04-tampered-assertion-rejected").await;
}
